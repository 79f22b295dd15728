/**
 * A minimal HTTP/1.1 client over one kept-alive connection, for the Runtime API's strictly
 * sequential calls. node:http's client costs about 130 µs of CPU per call here; this costs a
 * fraction, which is the runtime's share of every warm invoke. It speaks what any HTTP/1.1 server
 * answers (Content-Length or chunked bodies, Connection: close), so it works against Lambda's own
 * Runtime API as well as sai's.
 */
import net from 'node:net'

export interface HttpResponse {
  status: number
  /** Header names in lower case. */
  headers: Record<string, string>
  body: Buffer
}

type Target = {host: string; port: number} | {path: string}

const CRLF_CRLF = Buffer.from('\r\n\r\n')

export class HttpConnection {
  private socket?: net.Socket
  private buffer: Buffer = Buffer.alloc(0)
  /** Chunks not yet joined into `buffer`, and their length: a large body is joined once, not per chunk. */
  private chunks: Buffer[] = []
  private chunkBytes = 0
  /** Bytes the response being read needs in all, once its head says so. */
  private needed = 0
  private pending?: {resolve(r: HttpResponse): void; reject(e: Error): void; socket: net.Socket}
  /** Requests are sent one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly target: Target, private readonly host = 'host' in target ? `${target.host}:${target.port}` : 'localhost') {}

  request(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<HttpResponse> {
    const run = () => this.send(method, path, headers, body)
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => undefined)
    return result
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<HttpResponse> {
    const socket = this.connection()
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n`
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
    if (body !== undefined) head += `Content-Length: ${typeof body === 'string' ? Buffer.byteLength(body) : body.length}\r\n`
    head += '\r\n'
    return new Promise((resolve, reject) => {
      this.pending = {resolve, reject, socket}
      // Referenced only while a call is out: an idle connection must not keep the process alive
      // (a handler whose promise never settles is detected by the event loop running dry).
      socket.ref()
      if (typeof body === 'object') {
        // A Buffer body (a tensor, an image) is written as it is, not copied into one string with
        // the head; corked, head and body still leave in one packet.
        socket.cork()
        socket.write(head)
        socket.write(body)
        socket.uncork()
      } else {
        socket.write(body === undefined ? head : head + body)
      }
      this.parse()
    })
  }

  private connection(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket
    const socket = 'path' in this.target ? net.connect(this.target.path) : net.connect(this.target.port, this.target.host)
    socket.setNoDelay(true)
    this.buffer = Buffer.alloc(0)
    this.chunks = []
    this.chunkBytes = 0
    this.needed = 0
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.chunkBytes += chunk.length
      if (this.buffer.length + this.chunkBytes >= this.needed) this.parse()
    })
    const fail = (error?: Error) => {
      if (this.socket === socket) this.socket = undefined
      // Only the call on this connection fails (an old one closing must not fail a new one).
      const pending = this.pending
      if (pending?.socket !== socket) return
      this.pending = undefined
      pending.reject(error ?? new Error('socket hang up: the Runtime API closed the connection'))
    }
    socket.on('error', fail)
    socket.on('close', () => fail())
    this.socket = socket
    return socket
  }

  /** Completes the pending request if the buffer holds a whole response. */
  private parse(): void {
    if (this.chunks.length > 0) {
      this.buffer = Buffer.concat([this.buffer, ...this.chunks])
      this.chunks = []
      this.chunkBytes = 0
    }
    if (!this.pending) return
    const headEnd = this.buffer.indexOf(CRLF_CRLF)
    if (headEnd < 0) return
    const lines = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n')
    const status = Number(lines[0]!.split(' ')[1])
    const headers: Record<string, string> = {}
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':')
      if (colon > 0) headers[lines[i]!.slice(0, colon).trim().toLowerCase()] = lines[i]!.slice(colon + 1).trim()
    }
    const start = headEnd + 4
    let body: Buffer
    let end: number
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const chunked = readChunked(this.buffer, start)
      if (!chunked) return
      ;({body, end} = chunked)
    } else {
      const length = Number(headers['content-length'] ?? 0)
      this.needed = start + length
      if (this.buffer.length < this.needed) return
      body = Buffer.from(this.buffer.subarray(start, start + length))
      end = start + length
    }
    this.buffer = this.buffer.subarray(end)
    this.needed = 0
    const pending = this.pending
    this.pending = undefined
    this.socket?.unref()
    if (headers.connection?.toLowerCase() === 'close') {
      this.socket?.destroy()
      this.socket = undefined
    }
    pending.resolve({status, headers, body})
  }

  close(): void {
    this.socket?.destroy()
  }
}

/** Decodes a chunked body starting at `offset`; undefined until all of it has arrived. */
function readChunked(buffer: Buffer, offset: number): {body: Buffer; end: number} | undefined {
  const parts: Buffer[] = []
  let at = offset
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at)
    if (lineEnd < 0) return undefined
    const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16)
    if (Number.isNaN(size)) throw new Error('malformed chunked response from the Runtime API')
    if (size === 0) {
      // Skip trailers up to the blank line that ends the message.
      const trailerEnd = buffer.indexOf(CRLF_CRLF, lineEnd)
      return trailerEnd < 0 ? undefined : {body: Buffer.concat(parts), end: trailerEnd + 4}
    }
    if (buffer.length < lineEnd + 2 + size + 2) return undefined
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}
