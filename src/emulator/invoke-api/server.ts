/**
 * The emulator's service endpoint: the Invoke API and the control plane on one port, where
 * `@aws-sdk/client-lambda` with `endpoint: http://127.0.0.1:9001` finds them.
 */
import {randomUUID} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {handleControlPlane} from '../control-api/handlers.js'
import type {FunctionRegistry} from '../control-api/registry.js'
import type {Emulator} from '../emulator.js'
import {LambdaServiceError, sendServiceError, serviceException, unknownOperation} from './aws-errors.js'
import {handleInvoke} from './invoke.js'

const INVOKE_ROUTE = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/

export interface ServiceEndpoint {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

async function route(emulator: Emulator, registry: FunctionRegistry | undefined, req: http.IncomingMessage, res: http.ServerResponse, requestId: () => string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const invoke = INVOKE_ROUTE.exec(url.pathname)
  if (invoke && req.method === 'POST') return handleInvoke(emulator, decodeURIComponent(invoke[1]!), url.searchParams, req, res)
  if (registry && (await handleControlPlane(registry, req, res, url, requestId()))) return
  if (url.pathname === '/sai/health' && req.method === 'GET') {
    const body = JSON.stringify({
      status: 'running',
      backend: emulator.backend.capabilities,
      functions: emulator.functionSpecs().map((f) => ({name: f.name, memory: f.memory, environments: emulator.environments(f.name).length})),
    })
    res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)})
    return void res.end(body)
  }
  req.resume()
  throw unknownOperation(req.method ?? 'GET', url.pathname)
}

/** The control plane is served when a registry is given (sai emulate always gives one). */
export async function startServiceEndpoint(emulator: Emulator, host: string, port: number, onInternalError: (error: unknown) => void, registry?: FunctionRegistry): Promise<ServiceEndpoint> {
  const server = http.createServer({keepAliveTimeout: 60_000}, (req, res) => {
    // Made when first needed: an invoke that succeeds gets its id from the emulator, so no UUID is spent on it here.
    let id: string | undefined
    const requestId = () => (id ??= randomUUID())
    route(emulator, registry, req, res, requestId).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy()
      if (error instanceof LambdaServiceError) return sendServiceError(res, error, requestId())
      // A bug in the emulator: the client gets Lambda's ServiceException, the operator the stack.
      onInternalError(error)
      sendServiceError(res, serviceException(`sai internal error: ${(error as Error).message}`), requestId())
    })
  })
  server.requestTimeout = 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
