/**
 * A Runtime API that hands out one invocation and waits for its answer: enough to prove that a
 * packaged runtime (in a chroot, a container) initializes, takes an event and answers it.
 */
import {once} from 'node:events'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

export async function serveOneInvocation(event: Buffer, host = '127.0.0.1') {
  let answer: (body: string) => void
  const answered = new Promise<string>((resolve) => (answer = resolve))
  let served = false
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/2018-06-01/runtime/invocation/next') {
      if (served) return // the next /next waits, as Lambda's does, until the environment is stopped
      served = true
      response.writeHead(200, {'Lambda-Runtime-Aws-Request-Id': 'req-1', 'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30_000), 'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:f'})
      response.end(event)
      return
    }
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      response.writeHead(202).end('{}')
      if (request.url === '/2018-06-01/runtime/invocation/req-1/response') answer(Buffer.concat(chunks).toString())
      else answer(`${request.url}: ${Buffer.concat(chunks).toString()}`)
    })
  })
  server.listen(0, host)
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    answered,
    close() {
      server.closeAllConnections()
      server.close()
    },
  }
}
