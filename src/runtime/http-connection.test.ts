import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {HttpConnection} from './http-connection.js'

let server: http.Server
let port: number
let connections = 0
const socketPath = path.join(os.tmpdir(), `sai-http-connection-${process.pid}.sock`)
let unixServer: http.Server

const handler: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString()
    switch (req.url) {
      case '/chunked':
        // No Content-Length: node:http answers chunked, as Go's net/http does for larger bodies.
        res.writeHead(200, {'Content-Type': 'application/json', 'X-Kind': 'chunked'})
        res.write('{"part":1,')
        setTimeout(() => res.end('"part2":"' + 'y'.repeat(10_000) + '"}'), 10)
        return
      case '/close':
        res.writeHead(200, {Connection: 'close', 'Content-Length': 2})
        return void res.end('ok')
      case '/hangup':
        return void req.socket.destroy()
      case '/slow':
        return void setTimeout(() => res.end('slow'), 30)
      default:
        res.writeHead(201, {'Content-Length': Buffer.byteLength(body), 'X-Echo-Header': String(req.headers['x-in'])})
        res.end(body)
    }
  })
}

beforeAll(async () => {
  server = http.createServer(handler)
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
  unixServer = http.createServer(handler)
  await new Promise<void>((r) => unixServer.listen(socketPath, r))
})
afterAll(() => {
  server.close()
  unixServer.close()
})

describe('HttpConnection', () => {
  it('sends headers and a body, reads status, lower-cased headers and a Content-Length body, over one connection', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    const before = connections
    for (let i = 0; i < 3; i++) {
      const r = await c.request('POST', '/echo', {'X-In': `v${i}`}, `{"i":${i}}`)
      expect(r.status).toBe(201)
      expect(r.headers['x-echo-header']).toBe(`v${i}`)
      expect(r.body.toString()).toBe(`{"i":${i}}`)
    }
    expect(connections - before).toBe(1)
    c.close()
  })

  it('sends a Buffer body, its length in bytes', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    const bytes = Buffer.from('{"text":"héllo €\r\n\r\n"}')
    const r = await c.request('POST', '/echo', {'X-In': 'buffer'}, bytes)
    expect(r.status).toBe(201)
    expect(r.headers['x-echo-header']).toBe('buffer')
    expect(r.body.equals(bytes)).toBe(true)
    expect((await c.request('POST', '/echo', {}, Buffer.alloc(0))).body.length).toBe(0)
    c.close()
  })

  it('decodes chunked bodies that arrive in pieces', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    const r = await c.request('GET', '/chunked')
    expect(r.headers['transfer-encoding']).toBe('chunked')
    expect(JSON.parse(r.body.toString())).toEqual({part: 1, part2: 'y'.repeat(10_000)})
    const next = await c.request('POST', '/echo', {}, 'after')
    expect(next.body.toString()).toBe('after')
    c.close()
  })

  it('reconnects after the server says Connection: close', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    const before = connections
    expect((await c.request('GET', '/close')).body.toString()).toBe('ok')
    expect((await c.request('POST', '/echo', {}, 'again')).body.toString()).toBe('again')
    expect(connections - before).toBe(2)
    c.close()
  })

  it('runs concurrent calls one after another, in order', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    const [a, b] = await Promise.all([c.request('GET', '/slow'), c.request('POST', '/echo', {}, 'second')])
    expect(a.body.toString()).toBe('slow')
    expect(b.body.toString()).toBe('second')
    c.close()
  })

  it('rejects when the server drops the connection, and works again afterwards', async () => {
    const c = new HttpConnection({host: '127.0.0.1', port})
    await expect(c.request('GET', '/hangup')).rejects.toThrow(/socket hang up|ECONNRESET/)
    expect((await c.request('POST', '/echo', {}, 'alive')).body.toString()).toBe('alive')
    c.close()
  })

  it('speaks over a Unix socket', async () => {
    const c = new HttpConnection({path: socketPath})
    expect((await c.request('POST', '/echo', {}, 'unix')).body.toString()).toBe('unix')
    c.close()
  })
})
