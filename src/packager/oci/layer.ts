/**
 * Turns a LayerSpec into a gzipped layer blob on disk, hashing the tar (diff_id) and the gzip
 * (digest) as they stream past: a model of hundreds of MB is never held in memory.
 */
import {createHash, randomUUID} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {rename, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'
import {planTar, plannedTarChunks, TarInputError} from './tar.js'
import {MEDIA_TYPES, type Descriptor, type LayerSpec} from './types.js'

/**
 * zlib's default trade-off. The level is part of the bytes: changing it changes every digest, so
 * it is fixed rather than tuned per machine.
 */
export const GZIP_LEVEL = 6

/**
 * zlib writes OS=3 (Unix) on Unix and 10 on Windows; 255 ("unknown") is what Go's compress/gzip
 * writes, so layers from containerd, BuildKit, ko and sai share a header. MTIME is already 0
 * (zlib's gzip wrapper never stamps a time) and XFL follows the fixed level.
 */
const GZIP_OS_UNKNOWN = 0xff
const GZIP_OS_OFFSET = 9

export interface BuildLayerOptions {
  /** Seconds since the epoch for every entry's mtime; see sourceDateEpochFromEnv. */
  sourceDateEpoch?: number
  /** Where the blob is written; created by the caller. */
  tmpDir: string
  /** The descriptor's media type; image.ts retypes layers to match the base anyway. */
  mediaType?: typeof MEDIA_TYPES.ociLayerGzip | typeof MEDIA_TYPES.dockerLayerGzip
}

export interface BuiltLayer {
  name: string
  descriptor: Descriptor
  /** sha256 of the uncompressed tar: what the image config's rootfs lists. */
  diffId: string
  uncompressedSize: number
  /** The gzipped blob, named after its digest. */
  file: string
  /** Number of tar entries, implied parent directories included. */
  entries: number
  /** Tar entry names in order, directories ending in "/": what the Lambda rules check without re-reading the blob. */
  paths: string[]
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org), or 0 when unset. */
export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.SOURCE_DATE_EPOCH?.trim()
  if (value === undefined || value === '') return 0
  if (!/^\d+$/.test(value)) throw new TarInputError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${JSON.stringify(value)}`)
  return Number(value)
}

export async function buildLayer(spec: LayerSpec, options: BuildLayerOptions): Promise<BuiltLayer> {
  const plan = planTar(spec.entries)
  const diffHash = createHash('sha256')
  const digestHash = createHash('sha256')
  let uncompressedSize = 0
  let compressedSize = 0
  const partial = join(options.tmpDir, `.layer-${randomUUID()}.partial`)
  try {
    await pipeline(
      Readable.from(plannedTarChunks(plan, {mtime: options.sourceDateEpoch ?? 0}), {objectMode: false}),
      async function* hashTar(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          diffHash.update(chunk)
          uncompressedSize += chunk.length
          yield chunk
        }
      },
      createGzip({level: GZIP_LEVEL, chunkSize: 1 << 16}),
      async function* normalizeAndHash(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          if (compressedSize <= GZIP_OS_OFFSET && compressedSize + chunk.length > GZIP_OS_OFFSET) {
            chunk[GZIP_OS_OFFSET - compressedSize] = GZIP_OS_UNKNOWN
          }
          digestHash.update(chunk)
          compressedSize += chunk.length
          yield chunk
        }
      },
      createWriteStream(partial, {flags: 'wx'}),
    )
    const digest = `sha256:${digestHash.digest('hex')}`
    const file = join(options.tmpDir, `${digest.replace(':', '-')}.tar.gz`)
    await rename(partial, file)
    return {
      name: spec.name,
      descriptor: {mediaType: options.mediaType ?? MEDIA_TYPES.ociLayerGzip, digest, size: compressedSize},
      diffId: `sha256:${diffHash.digest('hex')}`,
      uncompressedSize,
      file,
      entries: plan.length,
      paths: plan.map((entry) => entry.name),
    }
  } catch (error) {
    await rm(partial, {force: true})
    throw error
  }
}
