// The baseline: a plain node:http server that calls a Lambda handler in its own process (no isolation at all).
import http from 'node:http'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

const [file, exportName = 'handler'] = process.argv.slice(2)
const handler = (await import(pathToFileURL(path.resolve(file)).href))[exportName]
const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', async () => {
    const event = JSON.parse(Buffer.concat(chunks).toString() || '{}')
    const body = JSON.stringify(await handler(event, {}))
    res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)})
    res.end(body)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({url: `http://127.0.0.1:${server.address().port}`})))
process.on('SIGTERM', () => process.exit(0))
