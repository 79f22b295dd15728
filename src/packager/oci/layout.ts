/**
 * OCI image-layout directories (github.com/opencontainers/image-spec/blob/main/image-layout.md),
 * and readImage, which opens either output format for `sai emulate --image`.
 */
import {randomUUID} from 'node:crypto'
import {constants, createReadStream, createWriteStream} from 'node:fs'
import {copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {readDockerArchive} from './docker-archive.js'
import {blobPath, type Image, type ImageFiles, ImageFormatError, layoutIndexJson, OCI_LAYOUT_FILE, readLayoutImage, type ReadImageOptions, REF_NAME_ANNOTATION} from './image.js'

export interface WriteOciLayoutOptions {
  /** org.opencontainers.image.ref.name of the manifest in index.json, e.g. "latest" or "my-fn:1.2". */
  refName?: string
}

/** The output exists and is not something sai would replace (an OCI layout or an empty directory). */
export class OutputExistsError extends Error {
  override name = 'OutputExistsError'
}

/** Layers copied (or fetched from the base's registry) at once. */
const BLOB_CONCURRENCY = 4

/**
 * Writes the layout into a sibling temp directory and swaps it in at the end, so a failure leaves
 * neither a partial layout nor a damaged previous one. A previous layout at `dir` is replaced.
 */
export async function writeOciLayout(image: Image, dir: string, options: WriteOciLayoutOptions = {}): Promise<void> {
  await assertReplaceable(dir)
  const partial = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.partial`)
  try {
    await mkdir(join(partial, 'blobs', 'sha256'), {recursive: true})
    await writeFile(join(partial, blobPath(image.config.descriptor.digest)), image.config.bytes)
    await writeFile(join(partial, blobPath(image.manifest.descriptor.digest)), image.manifest.bytes)
    const unique = [...new Map(image.layers.map((layer) => [layer.descriptor.digest, layer])).values()]
    await forEachConcurrently(unique, BLOB_CONCURRENCY, async (layer) => {
      const target = join(partial, blobPath(layer.descriptor.digest))
      // Our own blobs were hashed as they were written; a clone or copy is enough. Others are verified as they stream.
      if (layer.file) await copyFile(layer.file, target, constants.COPYFILE_FICLONE)
      else await pipeline(await layer.open(), createWriteStream(target))
    })
    await writeFile(join(partial, 'oci-layout'), OCI_LAYOUT_FILE)
    await writeFile(join(partial, 'index.json'), layoutIndexJson(image.manifest.descriptor, options.refName ? {[REF_NAME_ANNOTATION]: options.refName} : {}))
    await swapIn(partial, dir)
  } catch (error) {
    await rm(partial, {recursive: true, force: true})
    throw error
  }
}

async function assertReplaceable(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined)
  if (!existing) return
  if (!existing.isDirectory()) throw new OutputExistsError(`${dir} exists and is not a directory`)
  const names = await readdir(dir)
  if (names.length > 0 && !names.includes('oci-layout')) throw new OutputExistsError(`${dir} exists and is not an OCI image layout; not replacing it`)
}

async function swapIn(partial: string, dir: string): Promise<void> {
  await assertReplaceable(dir)
  const previous = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.previous`)
  const hadPrevious = await rename(dir, previous).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false
      throw error
    },
  )
  await rename(partial, dir)
  if (hadPrevious) await rm(previous, {recursive: true, force: true})
}

/** Settles every started task before rejecting, so cleanup never races a write still in flight. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  const results = await Promise.allSettled(Array.from({length: Math.min(limit, items.length)}, worker))
  const rejected = results.find((result) => result.status === 'rejected')
  if (rejected) throw rejected.reason
}

export async function readOciLayout(dir: string, options: ReadImageOptions = {}): Promise<Image> {
  return readLayoutImage(directoryFiles(dir), options)
}

function directoryFiles(dir: string): ImageFiles {
  const missing = (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  }
  return {
    read: (path) => readFile(join(dir, path)).catch(missing),
    size: async (path) => (await stat(join(dir, path)).catch(missing))?.size,
    open: async (path): Promise<Readable> => {
      await stat(join(dir, path)).catch(() => {
        throw new ImageFormatError(`${path} is missing from ${dir}`)
      })
      return createReadStream(join(dir, path))
    },
  }
}

/** An OCI layout directory or a docker-archive file (plain or gzipped), whichever `path` is. */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<Image> {
  const found = await stat(path).catch((error: unknown) => {
    throw new ImageFormatError(`cannot read image ${path}: ${(error as Error).message}`, {cause: error})
  })
  return found.isDirectory() ? readOciLayout(path, options) : readDockerArchive(path, options)
}
