/**
 * A deterministic POSIX tar writer (ustar, with PAX records where ustar cannot say it) and a small
 * streaming reader. Layers must hash the same on every machine, so nothing from the build host leaks
 * in: fixed mtime, uid/gid 0, no user or group names, entries sorted, every parent directory listed.
 */
import {open as openFile} from 'node:fs/promises'
import {pipeline, Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'
import type {LayerEntry} from './types.js'

const BLOCK = 512
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK)
/** The largest number an 11-digit octal field holds (8 GiB - 1). Larger sizes go into a PAX record. */
const MAX_OCTAL_11 = 0o77777777777
/** Files up to this size are read whole and emitted with their header as one chunk; larger ones stream. */
const READ_CHUNK = 1 << 20
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/** A problem with the entries handed to the writer (duplicate paths, a file that changed while read). */
export class TarInputError extends Error {
  override name = 'TarInputError'
}

/** A byte stream that is not a tar archive this reader understands, or one cut short. */
export class TarFormatError extends Error {
  override name = 'TarFormatError'
}

export interface TarWriteOptions {
  /** Seconds since the epoch stamped on every entry (SOURCE_DATE_EPOCH). */
  mtime: number
}

/** An entry as it will be stored: relative path, directories ending in "/", parents made explicit. */
export interface PlannedEntry {
  name: string
  type: LayerEntry['type']
  mode: number
  source?: LayerEntry['source']
  linkTarget?: string
}

/**
 * Normalizes, completes and sorts entries. Byte order of the full path puts every directory before
 * its contents (a parent is a prefix of its children), which is all extractors need.
 */
export function planTar(entries: readonly LayerEntry[]): PlannedEntry[] {
  const byPath = new Map<string, PlannedEntry & {implied: boolean}>()
  for (const entry of entries) {
    const path = normalizeEntryPath(entry.path)
    validateEntry(entry, path)
    const existing = byPath.get(path)
    if (existing && !existing.implied) throw new TarInputError(`two entries for the same path: /${path}`)
    if (existing && entry.type !== 'directory') {
      throw new TarInputError(`/${path} is a ${entry.type} but other entries are inside it`)
    }
    byPath.set(path, {name: path, type: entry.type, mode: entry.mode, source: entry.source, linkTarget: entry.linkTarget, implied: false})
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash)
      const known = byPath.get(parent)
      if (!known) byPath.set(parent, {name: parent, type: 'directory', mode: 0o755, implied: true})
      else if (known.type !== 'directory') throw new TarInputError(`/${parent} is a ${known.type} but /${path} is inside it`)
    }
  }
  const keyed = [...byPath.values()].map((entry) => ({entry, key: Buffer.from(entry.name)}))
  keyed.sort((a, b) => Buffer.compare(a.key, b.key))
  return keyed.map(({entry: {implied: _implied, ...entry}}) => ({...entry, name: entry.type === 'directory' ? `${entry.name}/` : entry.name}))
}

function normalizeEntryPath(path: string): string {
  if (path.includes('\0')) throw new TarInputError(`path contains a NUL byte: ${JSON.stringify(path)}`)
  const parts = path.split('/').filter((part) => part !== '')
  if (parts.length === 0) throw new TarInputError(`entry path names the root or nothing: ${JSON.stringify(path)}`)
  if (parts.some((part) => part === '.' || part === '..')) throw new TarInputError(`entry path has "." or "..": ${path}`)
  return parts.join('/')
}

function validateEntry(entry: LayerEntry, path: string): void {
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw new TarInputError(`/${path}: mode ${entry.mode} is not permission bits (0 to 0o7777)`)
  }
  if (entry.type === 'file' && !entry.source) throw new TarInputError(`/${path}: a file needs a source`)
  if (entry.type === 'symlink' && !entry.linkTarget) throw new TarInputError(`/${path}: a symlink needs a linkTarget`)
  if (entry.linkTarget?.includes('\0')) throw new TarInputError(`/${path}: link target contains a NUL byte`)
}

/** The tar stream of `entries` (planned by planTar), ending with the end-of-archive marker. */
export async function* tarChunks(entries: readonly LayerEntry[], options: TarWriteOptions): AsyncGenerator<Buffer> {
  yield* plannedTarChunks(planTar(entries), options)
}

export async function* plannedTarChunks(plan: readonly PlannedEntry[], options: TarWriteOptions): AsyncGenerator<Buffer> {
  if (!Number.isInteger(options.mtime) || options.mtime < 0 || options.mtime > MAX_OCTAL_11) {
    throw new TarInputError(`mtime ${options.mtime} is not a whole number of seconds between 0 and ${MAX_OCTAL_11}`)
  }
  for (const entry of plan) yield* entryChunks(entry, options.mtime)
  yield END_OF_ARCHIVE
}

async function* entryChunks(entry: PlannedEntry, mtime: number): AsyncGenerator<Buffer> {
  const source = entry.type === 'file' ? entry.source : undefined
  if (!source) {
    yield headerBlocks(entry, 0, mtime)
    return
  }
  if ('bytes' in source) {
    yield Buffer.concat([headerBlocks(entry, source.bytes.length, mtime), source.bytes, padding(source.bytes.length)])
    return
  }
  if ('file' in source) {
    yield* fileChunks(entry, source.file, mtime)
    return
  }
  yield headerBlocks(entry, source.size, mtime)
  let written = 0
  for await (const chunk of await source.open()) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array)
    written += bytes.length
    if (written > source.size) throw new TarInputError(`/${entry.name}: the stream is longer than its declared ${source.size} bytes`)
    yield bytes
  }
  if (written !== source.size) throw new TarInputError(`/${entry.name}: the stream ended after ${written} of ${source.size} bytes`)
  yield padding(source.size)
}

async function* fileChunks(entry: PlannedEntry, file: string, mtime: number): AsyncGenerator<Buffer> {
  const handle = await openFile(file, 'r')
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new TarInputError(`/${entry.name}: ${file} is not a regular file`)
    const size = stat.size
    const header = headerBlocks(entry, size, mtime)
    let offset = 0
    const changed = () => new TarInputError(`/${entry.name}: ${file} changed size while it was being packaged`)
    if (size <= READ_CHUNK) {
      const content = Buffer.allocUnsafe(size)
      while (offset < size) {
        const {bytesRead} = await handle.read(content, offset, size - offset, offset)
        if (bytesRead === 0) throw changed()
        offset += bytesRead
      }
      yield Buffer.concat([header, content, padding(size)])
      return
    }
    yield header
    while (offset < size) {
      // A fresh buffer per chunk: downstream (gzip, hashing, file writes) may still hold the previous one.
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - offset))
      const {bytesRead} = await handle.read(chunk, 0, chunk.length, offset)
      if (bytesRead === 0) throw changed()
      offset += bytesRead
      yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead)
    }
    yield padding(size)
  } finally {
    await handle.close()
  }
}

function padding(size: number): Buffer {
  const remainder = size % BLOCK
  return remainder === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - remainder)
}

const TYPEFLAG: Record<LayerEntry['type'], string> = {file: '0', directory: '5', symlink: '2'}

/** The ustar header of an entry, preceded by a PAX extended header when a field does not fit. */
function headerBlocks(entry: PlannedEntry, size: number, mtime: number): Buffer {
  const pax: Array<[string, string]> = []
  const split = splitUstarName(entry.name)
  if (!split) pax.push(['path', entry.name])
  const link = entry.linkTarget ?? ''
  if (!PRINTABLE_ASCII.test(link) || Buffer.byteLength(link) > 100) pax.push(['linkpath', link])
  if (size > MAX_OCTAL_11) pax.push(['size', String(size)])

  const header = ustarHeader({
    name: split?.name ?? fallbackName(entry.name),
    prefix: split?.prefix ?? '',
    mode: entry.mode,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime,
    typeflag: TYPEFLAG[entry.type],
    linkname: pax.some(([key]) => key === 'linkpath') ? '' : link,
  })
  if (pax.length === 0) return header
  const records = Buffer.concat(pax.map(([key, value]) => paxRecord(key, value)))
  const paxHeader = ustarHeader({
    name: fallbackName(`PaxHeaders/${entry.name.replace(/\/$/, '').split('/').pop()}`),
    prefix: '',
    mode: 0o644,
    size: records.length,
    mtime,
    typeflag: 'x',
    linkname: '',
  })
  return Buffer.concat([paxHeader, records, padding(records.length), header])
}

/** ustar stores up to 255 bytes as prefix + "/" + name; anything else (or non-ASCII) needs PAX. */
function splitUstarName(name: string): {name: string; prefix: string} | undefined {
  if (!PRINTABLE_ASCII.test(name)) return undefined
  if (name.length <= 100) return {name, prefix: ''}
  // A directory's trailing slash must stay in the name part, so search for the split before it.
  for (let slash = name.lastIndexOf('/', name.length - 2); slash > 0; slash = name.lastIndexOf('/', slash - 1)) {
    if (slash > 155) continue
    const rest = name.slice(slash + 1)
    return rest.length <= 100 ? {prefix: name.slice(0, slash), name: rest} : undefined
  }
  return undefined
}

/** What a reader without PAX support sees: a printable, truncated stand-in. */
function fallbackName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(0, 100)
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`
  const bodyLength = Buffer.byteLength(body)
  // The record's length counts its own digits.
  let length = bodyLength + String(bodyLength).length
  if (String(length).length !== length - bodyLength) length = bodyLength + String(length).length
  return Buffer.from(`${length}${body}`)
}

interface UstarFields {
  name: string
  prefix: string
  mode: number
  size: number
  mtime: number
  typeflag: string
  linkname: string
}

function ustarHeader(fields: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(fields.name, 0, 100, 'utf8')
  writeOctal(block, 100, 8, fields.mode)
  writeOctal(block, 108, 8, 0)
  writeOctal(block, 116, 8, 0)
  writeOctal(block, 124, 12, fields.size)
  writeOctal(block, 136, 12, fields.mtime)
  block.write(fields.typeflag, 156, 1, 'latin1')
  block.write(fields.linkname, 157, 100, 'utf8')
  block.write('ustar\0', 257, 6, 'latin1')
  block.write('00', 263, 2, 'latin1')
  block.write(fields.prefix, 345, 155, 'utf8')
  block.fill(0x20, 148, 156)
  let checksum = 0
  for (const byte of block) checksum += byte
  block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
  return block
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1')
}

// ---------------------------------------------------------------------------------------------------
// Reading

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other'

export interface TarHeader {
  /** As stored (PAX and GNU long names applied): usually relative, directories often ending in "/". */
  path: string
  type: TarEntryType
  /** The raw typeflag, for types this reader folds into "other" (devices, FIFOs). */
  typeflag: string
  mode: number
  uid: number
  gid: number
  uname: string
  gname: string
  size: number
  mtime: number
  linkTarget?: string
}

export interface TarReadEntry extends TarHeader {
  /** Where the content starts in the (decompressed) stream: lets an indexed plain tar be read by seeking. */
  offset: number
  /** The content, streamed; read it before asking for the next entry, or it is skipped. */
  body(): AsyncGenerator<Buffer>
  buffer(): Promise<Buffer>
}

export type ByteSource = Readable | AsyncIterable<Uint8Array>

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
}

/** Peeks at the first bytes and gunzips when they are a gzip header. */
export async function decompressed(input: ByteSource): Promise<{gzip: boolean; chunks: AsyncGenerator<Buffer>}> {
  const iterator = (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const head: Buffer[] = []
  let headLength = 0
  let ended = false
  while (headLength < 2) {
    const next = await iterator.next()
    if (next.done) {
      ended = true
      break
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)
    head.push(chunk)
    headLength += chunk.length
  }
  const first = Buffer.concat(head)
  async function* raw(): AsyncGenerator<Buffer> {
    try {
      if (first.length > 0) yield first
      while (!ended) {
        const next = await iterator.next()
        if (next.done) return
        yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)
      }
    } finally {
      await iterator.return?.()
    }
  }
  if (!isGzip(first)) return {gzip: false, chunks: raw()}
  async function* gunzipped(): AsyncGenerator<Buffer> {
    const source = Readable.from(raw(), {objectMode: false})
    const gunzip = createGunzip()
    // pipeline's callback is only a sink for the error: it also destroys gunzip with it, and the loop throws.
    pipeline(source, gunzip, () => {})
    try {
      for await (const chunk of gunzip) yield chunk as Buffer
    } finally {
      gunzip.destroy()
      source.destroy()
    }
  }
  return {gzip: true, chunks: gunzipped()}
}

/**
 * Entries of a tar or tar.gz stream, in order. Content is streamed through each entry's body(), so
 * a layer of any size is read in constant memory. The stream is read to its end (so gzip's trailer
 * CRC is checked) and closed when iteration stops.
 */
export async function* readTar(input: ByteSource): AsyncGenerator<TarReadEntry> {
  const {chunks} = await decompressed(input)
  yield* readPlainTar(chunks)
}

export async function* readPlainTar(input: AsyncIterable<Uint8Array>): AsyncGenerator<TarReadEntry> {
  const iterator = input[Symbol.asyncIterator]()
  const reader = new ByteReader(iterator)
  let pax: Record<string, string> = {}
  let globalPax: Record<string, string> = {}
  let gnuLongName: string | undefined
  let gnuLongLink: string | undefined
  try {
    for (;;) {
      const block = await reader.exact(BLOCK)
      if (!block) return
      if (block.every((byte) => byte === 0)) {
        await reader.drain()
        return
      }
      const header = parseHeaderBlock(block, reader.position - BLOCK)
      const paxSize = pax.size ?? globalPax.size
      const dataSize = HEADER_ONLY_TYPES.has(header.typeflag) ? 0 : paxSize !== undefined ? Number(paxSize) : header.size
      if (header.typeflag === 'x' || header.typeflag === 'g' || header.typeflag === 'L' || header.typeflag === 'K') {
        const data = await reader.exact(header.size, true)
        await reader.skip(padding(header.size).length)
        if (header.typeflag === 'x') pax = {...pax, ...parsePax(data ?? Buffer.alloc(0))}
        else if (header.typeflag === 'g') globalPax = {...globalPax, ...parsePax(data ?? Buffer.alloc(0))}
        else if (header.typeflag === 'L') gnuLongName = cString(data ?? Buffer.alloc(0))
        else gnuLongLink = cString(data ?? Buffer.alloc(0))
        continue
      }
      const attributes = {...globalPax, ...pax}
      const path = attributes.path ?? gnuLongName ?? (header.prefix ? `${header.prefix}/${header.name}` : header.name)
      const linkTarget = attributes.linkpath ?? gnuLongLink ?? (header.linkname || undefined)
      pax = {}
      gnuLongName = undefined
      gnuLongLink = undefined

      let remaining = dataSize
      let started = false
      let finished = false
      const body = async function* (): AsyncGenerator<Buffer> {
        if (started) throw new TarFormatError(`the body of ${path} was already read`)
        if (finished) throw new TarFormatError(`the body of ${path} was read after moving to the next entry`)
        started = true
        for await (const chunk of reader.chunks(remaining)) {
          remaining -= chunk.length
          yield chunk
        }
      }
      yield {
        path,
        type: entryType(header.typeflag),
        typeflag: header.typeflag,
        mode: header.mode,
        uid: Number(attributes.uid ?? header.uid),
        gid: Number(attributes.gid ?? header.gid),
        uname: attributes.uname ?? header.uname,
        gname: attributes.gname ?? header.gname,
        size: dataSize,
        mtime: Math.floor(Number(attributes.mtime ?? header.mtime)),
        ...(linkTarget === undefined ? {} : {linkTarget}),
        offset: reader.position,
        body,
        buffer: async () => {
          const parts: Buffer[] = []
          for await (const chunk of body()) parts.push(chunk)
          return Buffer.concat(parts)
        },
      }
      finished = true
      await reader.skip(remaining + padding(dataSize).length)
    }
  } finally {
    await iterator.return?.()
  }
}

const HEADER_ONLY_TYPES = new Set(['1', '2', '3', '4', '5', '6'])

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file'
    case '5':
      return 'directory'
    case '2':
      return 'symlink'
    case '1':
      return 'hardlink'
    default:
      return 'other'
  }
}

interface RawHeader {
  name: string
  prefix: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  typeflag: string
  linkname: string
  uname: string
  gname: string
}

function parseHeaderBlock(block: Buffer, at: number): RawHeader {
  const stored = parseNumber(block.subarray(148, 156))
  let unsigned = 0
  let signed = 0
  for (let index = 0; index < BLOCK; index++) {
    const byte = index >= 148 && index < 156 ? 0x20 : block[index]!
    unsigned += byte
    signed += byte > 127 ? byte - 256 : byte
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError(`not a tar archive, or corrupt: bad header checksum at byte ${at}`)
  const magic = block.toString('latin1', 257, 263)
  const ustar = magic === 'ustar\0' || magic === 'ustar '
  return {
    name: cString(block.subarray(0, 100)),
    prefix: magic === 'ustar\0' ? cString(block.subarray(345, 500)) : '',
    mode: parseNumber(block.subarray(100, 108)),
    uid: parseNumber(block.subarray(108, 116)),
    gid: parseNumber(block.subarray(116, 124)),
    size: parseNumber(block.subarray(124, 136)),
    mtime: parseNumber(block.subarray(136, 148)),
    typeflag: String.fromCharCode(block[156]!),
    linkname: cString(block.subarray(157, 257)),
    uname: ustar ? cString(block.subarray(265, 297)) : '',
    gname: ustar ? cString(block.subarray(297, 329)) : '',
  }
}

/** Octal text, or GNU's base-256 (high bit set) for values octal cannot hold. */
function parseNumber(field: Buffer): number {
  if (field[0] !== undefined && field[0] & 0x80) {
    let value = field[0] & 0x7f
    for (const byte of field.subarray(1)) value = value * 256 + byte
    return value
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  return text === '' ? 0 : parseInt(text, 8)
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0)
  return bytes.toString('utf8', 0, end === -1 ? bytes.length : end)
}

function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {}
  let offset = 0
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset)
    const length = parseInt(data.toString('latin1', offset, space), 10)
    if (space === -1 || !Number.isFinite(length) || length <= 0) throw new TarFormatError('malformed PAX extended header')
    const record = data.toString('utf8', space + 1, offset + length - 1)
    const equals = record.indexOf('=')
    records[record.slice(0, equals)] = record.slice(equals + 1)
    offset += length
  }
  return records
}

/** Exact-size reads over a chunked stream, without copying more than a header at a time. */
class ByteReader {
  position = 0
  private pending: Buffer[] = []
  private pendingLength = 0
  private ended = false

  constructor(private readonly iterator: AsyncIterator<Uint8Array>) {}

  private async pull(): Promise<boolean> {
    if (this.ended) return false
    const next = await this.iterator.next()
    if (next.done) {
      this.ended = true
      return false
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)
    this.pending.push(chunk)
    this.pendingLength += chunk.length
    return true
  }

  /** `length` bytes, or undefined at a clean end of stream; a stream ending midway is an error. */
  async exact(length: number, required = false): Promise<Buffer | undefined> {
    while (this.pendingLength < length) {
      if (!(await this.pull())) {
        if (this.pendingLength === 0 && !required) return undefined
        throw new TarFormatError(`tar archive is truncated at byte ${this.position + this.pendingLength}`)
      }
    }
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)
    const result = all.subarray(0, length)
    const rest = all.subarray(length)
    this.pending = rest.length > 0 ? [rest] : []
    this.pendingLength = rest.length
    this.position += length
    return result
  }

  async *chunks(length: number): AsyncGenerator<Buffer> {
    let remaining = length
    while (remaining > 0) {
      if (this.pending.length === 0 && !(await this.pull())) {
        throw new TarFormatError(`tar archive is truncated at byte ${this.position}`)
      }
      const head = this.pending[0]!
      const piece = head.length <= remaining ? head : head.subarray(0, remaining)
      if (piece === head) this.pending.shift()
      else this.pending[0] = head.subarray(remaining)
      this.pendingLength -= piece.length
      this.position += piece.length
      remaining -= piece.length
      yield piece
    }
  }

  async skip(length: number): Promise<void> {
    for await (const _ of this.chunks(length));
  }

  async drain(): Promise<void> {
    while (await this.pull()) {
      this.position += this.pendingLength
      this.pending = []
      this.pendingLength = 0
    }
  }
}
