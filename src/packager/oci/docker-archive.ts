/**
 * `docker load`-able archives. What is written is what `docker save` has written since Docker 25:
 * an OCI image layout (oci-layout, index.json, blobs/sha256/…) plus the legacy manifest.json that
 * every Docker version reads, both pointing at the same blobs. Layers stay gzipped: Docker's loader
 * decompresses each layer it is given (any of gzip, bzip2, xz, zstd) before checking its diff_id,
 * and containerd's importer does too, so nothing is stored twice or inflated.
 */
import {createHash, randomUUID} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {open as openFile, rename, rm} from 'node:fs/promises'
import {dirname, basename, join} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {
  blobPath,
  canonicalJson,
  CONTAINERD_NAME_ANNOTATION,
  type Image,
  type ImageConfig,
  type ImageFiles,
  ImageFormatError,
  type ImageLayer,
  type ImageManifest,
  layoutIndexJson,
  normalizeDockerName,
  OCI_LAYOUT_FILE,
  parseJson,
  readLayoutImage,
  type ReadImageOptions,
  REF_NAME_ANNOTATION,
  sha256,
  tagOf,
  verifiedBlob,
  withTag,
} from './image.js'
import {isGzip, readTar, tarChunks} from './tar.js'
import {MEDIA_TYPES, type Descriptor, type LayerEntry} from './types.js'

export interface WriteDockerArchiveOptions {
  /** Names `docker load` tags the image with, e.g. "my-function:latest" (":latest" is added when no tag is given). */
  repoTags?: string[]
}

/** One element of manifest.json, Docker's own description of an archive. */
interface DockerArchiveManifest {
  Config: string
  RepoTags?: string[] | null
  Layers: string[]
}

/** Writes the archive beside `file` and renames it into place, so a failure leaves nothing behind. */
export async function writeDockerArchive(image: Image, file: string, options: WriteDockerArchiveOptions = {}): Promise<void> {
  const repoTags = (options.repoTags ?? []).map(withTag)
  const layerPaths = image.layers.map((layer) => blobPath(layer.descriptor.digest))
  const manifestJson = canonicalJson([{Config: blobPath(image.config.descriptor.digest), RepoTags: repoTags, Layers: layerPaths} satisfies DockerArchiveManifest])

  // containerd's importer (Docker's containerd image store) names the image from index.json alone.
  const name = repoTags[0]
  const indexJson = layoutIndexJson(image.manifest.descriptor, name ? {[REF_NAME_ANNOTATION]: tagOf(name), [CONTAINERD_NAME_ANNOTATION]: normalizeDockerName(name)} : {})
  const entries: LayerEntry[] = [
    bytesEntry('oci-layout', OCI_LAYOUT_FILE),
    bytesEntry('index.json', indexJson),
    bytesEntry('manifest.json', manifestJson),
    bytesEntry(blobPath(image.config.descriptor.digest), image.config.bytes),
    bytesEntry(blobPath(image.manifest.descriptor.digest), image.manifest.bytes),
  ]
  const seen = new Set(entries.map((entry) => entry.path))
  for (const layer of image.layers) {
    const path = blobPath(layer.descriptor.digest)
    if (seen.has(path)) continue
    seen.add(path)
    entries.push({path, type: 'file', mode: 0o644, source: {size: layer.descriptor.size, open: () => layer.open()}})
  }

  const partial = join(dirname(file), `.${basename(file)}.${randomUUID()}.partial`)
  try {
    await pipeline(Readable.from(tarChunks(entries, {mtime: 0}), {objectMode: false}), createWriteStream(partial, {flags: 'wx'}))
    await rename(partial, file)
  } catch (error) {
    await rm(partial, {force: true})
    throw error
  }
}

function bytesEntry(path: string, bytes: Buffer): LayerEntry {
  return {path, type: 'file', mode: 0o644, source: {bytes}}
}

// ---------------------------------------------------------------------------------------------------
// Reading

interface ArchiveEntry {
  offset: number
  size: number
}

/**
 * Reads a docker-archive (plain or gzipped): through its OCI layout when it has one (ours, Docker
 * 25+), otherwise through manifest.json (older `docker save`, podman, skopeo).
 */
export async function readDockerArchive(file: string, options: ReadImageOptions = {}): Promise<Image> {
  const files = await archiveFiles(file)
  const hasLayout = (await files.size('oci-layout')) !== undefined && (await files.size('index.json')) !== undefined
  if (hasLayout) {
    try {
      return await readLayoutImage(files, options)
    } catch (error) {
      // A repo tag ("name:tag") is not always a layout ref name; manifest.json knows the tags.
      if (!options.ref || !(error instanceof ImageFormatError) || (await files.size('manifest.json')) === undefined) throw error
    }
  }
  return readLegacyArchive(files, options)
}

async function readLegacyArchive(files: ImageFiles, options: ReadImageOptions): Promise<Image> {
  const manifests = parseJson<DockerArchiveManifest[]>(await files.read('manifest.json'), 'manifest.json')
  if (!Array.isArray(manifests)) throw new ImageFormatError('manifest.json is not a list of images')
  const candidates = options.ref ? manifests.filter((entry) => (entry.RepoTags ?? []).some((tag) => tag === options.ref || tag === withTag(options.ref!))) : manifests
  if (candidates.length !== 1) {
    const tags = manifests.flatMap((entry) => entry.RepoTags ?? [])
    throw new ImageFormatError(
      candidates.length === 0 ? `no image tagged ${options.ref} in the archive (it has: ${tags.join(', ') || 'none'})` : `the archive holds ${candidates.length} images (${tags.join(', ')}): name one`,
    )
  }
  const entry = candidates[0]!
  const configBytes = await files.read(entry.Config)
  const config = parseJson<ImageConfig>(configBytes, entry.Config)
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length !== entry.Layers.length) {
    throw new ImageFormatError(`manifest.json lists ${entry.Layers.length} layers but the config lists ${diffIds.length} diff_ids`)
  }
  const layers: ImageLayer[] = []
  for (const [position, path] of entry.Layers.entries()) {
    const size = await files.size(path)
    if (size === undefined) throw new ImageFormatError(`layer ${path} is missing from the archive`)
    const diffId = diffIds[position]!
    const gzip = await startsWithGzip(await files.open(path))
    // An uncompressed layer's blob is its tar, so its digest is the diff_id; a compressed one must be hashed.
    const descriptor: Descriptor = gzip
      ? {mediaType: MEDIA_TYPES.dockerLayerGzip, digest: await hashStream(await files.open(path)), size}
      : {mediaType: MEDIA_TYPES.dockerLayer, digest: diffId, size}
    layers.push({descriptor, diffId, origin: 'read', open: async () => verifiedBlob(await files.open(path), descriptor)})
  }
  const configDescriptor: Descriptor = {mediaType: MEDIA_TYPES.dockerConfig, digest: sha256(configBytes!), size: configBytes!.length}
  const manifest: ImageManifest = {schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: configDescriptor, layers: layers.map((layer) => layer.descriptor)}
  const manifestBytes = canonicalJson(manifest)
  return {
    manifest: {json: manifest, bytes: manifestBytes, descriptor: {mediaType: MEDIA_TYPES.dockerManifest, digest: sha256(manifestBytes), size: manifestBytes.length}},
    config: {json: config, bytes: configBytes!, descriptor: configDescriptor},
    layers,
  }
}

async function startsWithGzip(stream: Readable): Promise<boolean> {
  // Leaving the loop destroys the stream.
  for await (const chunk of stream) return isGzip(chunk as Buffer)
  return false
}

async function hashStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of stream) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/**
 * The archive's files, located by one pass over it. A plain tar is then read by seeking to each
 * entry; a gzipped one cannot seek, so each open() decompresses from the start up to the entry.
 */
async function archiveFiles(file: string): Promise<ImageFiles> {
  const head = Buffer.alloc(2)
  const handle = await openFile(file, 'r').catch((error: unknown) => {
    throw new ImageFormatError(`cannot open ${file}: ${(error as Error).message}`, {cause: error})
  })
  try {
    await handle.read(head, 0, 2, 0)
  } finally {
    await handle.close()
  }
  const gzip = isGzip(head)
  const entries = new Map<string, ArchiveEntry>()
  try {
    for await (const entry of readTar(createReadStream(file))) {
      if (entry.type === 'file') entries.set(archivePath(entry.path), {offset: entry.offset, size: entry.size})
    }
  } catch (error) {
    throw new ImageFormatError(`${file} is neither an OCI image layout directory nor a docker-archive tar: ${(error as Error).message}`, {cause: error})
  }
  const located = (path: string): ArchiveEntry => {
    const entry = entries.get(archivePath(path))
    if (!entry) throw new ImageFormatError(`${path} is missing from ${file}`)
    return entry
  }
  const open = async (path: string): Promise<Readable> => {
    const entry = located(path)
    if (!gzip) return entry.size === 0 ? Readable.from([]) : createReadStream(file, {start: entry.offset, end: entry.offset + entry.size - 1})
    const wanted = archivePath(path)
    return Readable.from(
      (async function* () {
        for await (const candidate of readTar(createReadStream(file))) {
          if (candidate.type === 'file' && archivePath(candidate.path) === wanted) {
            yield* candidate.body()
            return
          }
        }
      })(),
      {objectMode: false},
    )
  }
  return {
    size: async (path) => entries.get(archivePath(path))?.size,
    open,
    read: async (path) => {
      if (!entries.has(archivePath(path))) return undefined
      const parts: Buffer[] = []
      for await (const chunk of await open(path)) parts.push(chunk as Buffer)
      return Buffer.concat(parts)
    },
  }
}

function archivePath(path: string): string {
  return path.replace(/^(\.?\/)+/, '')
}
