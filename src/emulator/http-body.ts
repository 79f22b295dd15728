import type {IncomingMessage} from 'node:http'

export type BodyResult = {ok: true; body: Buffer} | {ok: false; size: number}

/**
 * Reads a request body up to `limit` bytes. Past the limit it keeps draining (so the client sees our
 * answer rather than a reset) but stops storing, and reports the size it saw.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? -1)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength
      if (size <= limit && declared <= limit) chunks.push(chunk)
    })
    req.on('end', () => resolve(size <= limit && declared <= limit ? {ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)} : {ok: false, size: Math.max(size, declared)}))
    req.on('error', reject)
  })
}
