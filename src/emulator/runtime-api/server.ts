/**
 * The host side of the Lambda Runtime API. Every execution environment gets its own listener, as
 * every Lambda sandbox has its own 127.0.0.1:9001: a runtime can only ever speak for itself.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {handleError, handleInitError, handleNext, handleResponse, type RuntimeApiTarget} from './handlers.js'
import {RUNTIME_API_PREFIX} from './wire.js'

const INVOCATION_ROUTE = new RegExp(`^${RUNTIME_API_PREFIX}/invocation/([^/]+)/(response|error)$`)

export interface RuntimeApiServer {
  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  readonly address: string
  /** The same API on a Unix socket, when asked for (cheaper than TCP for local runtimes). */
  readonly socketPath?: string
  close(): Promise<void>
}

function route(target: RuntimeApiTarget, req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void> {
  const url = req.url ?? ''
  const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url
  if (path === `${RUNTIME_API_PREFIX}/invocation/next`) {
    return req.method === 'GET' ? handleNext(target, req, res) : methodNotAllowed(req, res)
  }
  if (path === `${RUNTIME_API_PREFIX}/init/error`) {
    return req.method === 'POST' ? handleInitError(target, req, res) : methodNotAllowed(req, res)
  }
  const match = INVOCATION_ROUTE.exec(path)
  if (match) {
    if (req.method !== 'POST') return methodNotAllowed(req, res)
    const requestId = decodeURIComponent(match[1]!)
    return match[2] === 'response' ? handleResponse(target, requestId, req, res) : handleError(target, requestId, req, res)
  }
  req.resume()
  // What RIE's router (chi) answers for an unknown path.
  res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'})
  res.end('404 page not found\n')
}

function methodNotAllowed(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume()
  res.writeHead(405)
  res.end()
}

export async function startRuntimeApi(target: RuntimeApiTarget, host: string, socketPath?: string): Promise<RuntimeApiServer> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    Promise.resolve(route(target, req, res)).catch(() => {
      // A runtime that disconnects mid-request must never take the emulator down.
      if (!res.headersSent) {
        res.writeHead(500, {'Content-Type': 'application/json'})
        res.end(JSON.stringify({errorMessage: 'Internal Server Error', errorType: 'InternalServerError'}) + '\n')
      }
    })
  }
  const listen = async (address: {port: number; host: string} | {path: string}) => {
    const server = http.createServer({keepAliveTimeout: 0, requestTimeout: 0, headersTimeout: 0}, handler)
    // The long poll on /next never times out.
    server.timeout = 0
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(address, () => resolve())
    })
    return server
  }
  const servers = [await listen({port: 0, host})]
  if (socketPath) servers.push(await listen({path: socketPath}))
  const {port} = servers[0]!.address() as AddressInfo
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    socketPath,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        ),
      )
    },
  }
}
