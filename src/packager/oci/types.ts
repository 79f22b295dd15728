import type {Readable} from 'node:stream'

/**
 * What `sai package` assembles: layers described as filesystem entries, turned into OCI blobs by
 * oci/layer.ts and into an image by oci/image.ts. Shared by prune/, base/ and the registry client.
 */

/** One entry of a layer, as it appears in the image's filesystem. */
export interface LayerEntry {
  /** Absolute POSIX path inside the image, e.g. /var/task/handler.mjs (no trailing slash). */
  path: string
  type: 'file' | 'directory' | 'symlink'
  /** Permission bits, e.g. 0o644, 0o755. */
  mode: number
  /**
   * Files only: the bytes, a file on this machine to read them from, or a stream of a known size (a
   * blob fetched from a registry while an archive is written); a stream of another size is an error.
   */
  source?: {bytes: Buffer} | {file: string} | {size: number; open: () => Readable | Promise<Readable>}
  /** Symlinks only. */
  linkTarget?: string
}

/** A layer before it is built: a name for reports ("dependencies", "model", "function") and its entries. */
export interface LayerSpec {
  name: string
  entries: LayerEntry[]
}

/** A content-addressed blob (layer, config, manifest) as registries and layouts name it. */
export interface Descriptor {
  mediaType: string
  /** "sha256:<hex>" */
  digest: string
  size: number
  annotations?: Record<string, string>
}

/** The JSON documents of an image, as registries and layouts store them. */
export interface Platform {
  architecture: string
  os: string
  variant?: string
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Array<Descriptor & {platform?: Platform}>
  annotations?: Record<string, string>
}

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Uncompressed Docker layer: what a legacy `docker save` archive holds; Lambda rejects it. */
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const
