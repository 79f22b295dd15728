/**
 * Images built by `sai package`, made available to a Docker engine: an archive is loaded, or an image
 * in a registry pulled, only when the engine does not have the image yet, so repeated runs start at once.
 */
import {createReadStream} from 'node:fs'
import {SaiError} from '../../errors/sai-error.js'
import {readTar} from '../../packager/oci/tar.js'

/** What an engine offers for images (the Docker backend is one). */
export interface ImageStore {
  /** The engine's ID for an image ID, digest or name; undefined when it does not have it. */
  imageId(reference: string): Promise<string | undefined>
  /** Loads a docker-archive into the engine. */
  loadArchive(archive: NodeJS.ReadableStream): Promise<void>
  /** Has the engine pull an image from its registry. */
  pull(reference: string): Promise<void>
}

export type ImageSource =
  /** A docker-archive (plain or gzipped), as `sai package --output docker-archive:FILE` writes. */
  | {archive: string}
  /**
   * An image in a registry, pinned to its manifest (`registry/repository@sha256:…`): the engine pulls
   * it itself (Docker takes plain HTTP from registries on 127.0.0.0/8).
   */
  | {pinned: string}

/**
 * The image's ID in the engine, loading the archive first when the engine lacks it. The key is the
 * image's own digest, not a tag: a tag may name another build, a digest cannot.
 */
export async function ensureImage(store: ImageStore, source: ImageSource): Promise<string> {
  if ('pinned' in source) return ensurePulled(store, source.pinned)
  const digests = await archiveDigests(source.archive)
  const find = async () => {
    for (const digest of digests) {
      const id = await store.imageId(digest)
      if (id) return id
    }
    return undefined
  }
  const present = await find()
  if (present) return present
  await store.loadArchive(createReadStream(source.archive))
  const loaded = await find()
  if (!loaded) {
    throw new SaiError('SAI_IMAGE_INVALID', `the engine loaded ${source.archive} but has no image ${digests.join(' or ')}`, {
      hint: 'rebuild the archive with `sai package --output docker-archive:FILE`',
    })
  }
  return loaded
}

async function ensurePulled(store: ImageStore, pinned: string): Promise<string> {
  const present = await store.imageId(pinned)
  if (present) return present
  await store.pull(pinned)
  const pulled = await store.imageId(pinned)
  if (!pulled) {
    throw new SaiError('SAI_IMAGE_INVALID', `the engine pulled ${pinned} but has no image by that name`, {hint: 'check the engine can reach the registry (`docker pull REF`)'})
  }
  return pulled
}

/**
 * The digests an engine may know the archive's image by: its config's (the image ID of Docker's own
 * image store) and, when the archive has an OCI index, its manifest's (the containerd image store's).
 * Read from the archive's first entries: manifest.json names the config by its digest, and
 * `sai package` writes both before the layers, so a large archive is not read to its end.
 */
async function archiveDigests(archive: string): Promise<string[]> {
  let manifestDigest: string | undefined
  try {
    for await (const entry of readTar(createReadStream(archive))) {
      const name = entry.path.replace(/^(\.?\/)+/, '')
      if (name === 'index.json') {
        const index = JSON.parse((await entry.buffer()).toString('utf8')) as {manifests?: {digest?: string}[]}
        if (index.manifests?.length === 1) manifestDigest = index.manifests[0]!.digest
      } else if (name === 'manifest.json') {
        const images = JSON.parse((await entry.buffer()).toString('utf8')) as {Config?: string}[]
        if (!Array.isArray(images) || images.length !== 1) throw new Error(`manifest.json describes ${Array.isArray(images) ? images.length : 'no'} images, not one`)
        // "blobs/sha256/<hex>" (Docker 25+, sai) or "<hex>.json" (older `docker save`, podman, skopeo).
        const hex = /([0-9a-f]{64})(\.json)?$/.exec(images[0]!.Config ?? '')?.[1]
        if (!hex) throw new Error(`manifest.json names its config ${images[0]!.Config}, not by a digest`)
        return [`sha256:${hex}`, ...(manifestDigest ? [manifestDigest] : [])]
      }
    }
    throw new Error('it has no manifest.json')
  } catch (error) {
    throw new SaiError('SAI_IMAGE_INVALID', `cannot read the docker-archive ${archive}: ${(error as Error).message}`, {
      hint: 'pass a docker-archive written by `sai package --output docker-archive:FILE` (or `docker save`)',
      cause: error,
    })
  }
}
