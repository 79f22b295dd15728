/**
 * The image config and manifest around built layers, optionally on top of a base image, and the
 * model every writer, reader and check shares. JSON is serialized canonically (sorted keys, no
 * whitespace) so the same inputs always give the same config and manifest digests.
 */
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {pipeline, type Readable, Transform} from 'node:stream'
import type {BuiltLayer} from './layer.js'
import {MEDIA_TYPES, type Descriptor, type ImageIndex, type ImageManifest, type Platform} from './types.js'

export type LambdaArchitecture = 'x86_64' | 'arm64'

export const OCI_ARCHITECTURE: Record<LambdaArchitecture, string> = {x86_64: 'amd64', arm64: 'arm64'}

export type {ImageIndex, ImageManifest, Platform} from './types.js'

export interface RuntimeConfig {
  Env?: string[]
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  WorkingDir?: string
  User?: string
  Labels?: Record<string, string> | null
  [field: string]: unknown
}

export interface HistoryEntry {
  created?: string
  created_by?: string
  comment?: string
  empty_layer?: boolean
  [field: string]: unknown
}

export interface ImageConfig {
  created?: string
  architecture: string
  os: string
  variant?: string
  config?: RuntimeConfig
  rootfs: {type: 'layers'; diff_ids: string[]}
  history?: HistoryEntry[]
  [field: string]: unknown
}

/**
 * Where blobs of an image we did not build come from: for a registry base,
 * `{open: (descriptor) => client.openBlob(repository, descriptor)}`. What it returns is verified
 * against the descriptor as it is read.
 */
export interface BlobSource {
  open(descriptor: Descriptor): Readable | Promise<Readable>
}

export interface ImageLayer {
  descriptor: Descriptor
  diffId: string
  /** Known for layers we built; for others only once a reader has counted it. */
  uncompressedSize?: number
  /** Built: from a LayerSpec; base: referenced from the base image; read: from an image on disk. */
  origin: 'built' | 'base' | 'read'
  name?: string
  /** Tar entry names, directories ending in "/", when known without reading the blob. */
  paths?: string[]
  /** The blob on this machine, when there is one: writers copy it instead of streaming. */
  file?: string
  /** The blob (compressed, as the descriptor describes it); verified against the digest as it is read. */
  open(): Promise<Readable>
}

export interface Image {
  manifest: {json: ImageManifest; bytes: Buffer; descriptor: Descriptor}
  config: {json: ImageConfig; bytes: Buffer; descriptor: Descriptor}
  layers: ImageLayer[]
  /** Set when the reference resolved to an index (multi-platform, or with attestation manifests). */
  index?: {json: ImageIndex; descriptor: Descriptor}
}

/** An image that cannot be used: malformed JSON, a missing blob, a digest that does not match. */
export class ImageFormatError extends Error {
  override name = 'ImageFormatError'
}

export interface BaseImage {
  manifest: ImageManifest
  config: ImageConfig
  blobs: BlobSource
  /** The reference it was resolved from and its manifest digest, recorded as OCI base-image annotations. */
  name?: string
  digest?: string
}

export interface ImageConfigInput {
  /** Merged into the base's Env: a name already there keeps its position and gets the new value. */
  env?: Record<string, string>
  /** Setting an entrypoint without a cmd clears the base's cmd, as a Dockerfile ENTRYPOINT does. */
  entrypoint?: string[]
  cmd?: string[]
  workingDir?: string
  user?: string
  labels?: Record<string, string>
}

export interface BuildImageOptions {
  /** The architecture of an image without a base; with a base, the base's own is kept (the Lambda rules compare it). */
  architecture: LambdaArchitecture
  layers: readonly BuiltLayer[]
  base?: BaseImage
  config?: ImageConfigInput
  sourceDateEpoch?: number
  /** OCI manifests only: Docker schema 2 has no annotations. */
  annotations?: Record<string, string>
}

/** An image config's Env ("NAME=value" strings) as a record; a value may itself contain "=". */
export function envRecord(env: readonly string[]): Record<string, string> {
  return Object.fromEntries(env.map((entry) => entry.split(/=(.*)/s, 2) as [string, string]))
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** JSON with keys sorted at every level and no whitespace: equal values give equal bytes. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(value)))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => [key, sortKeys(record[key])]),
  )
}

export function isDockerManifest(manifest: Pick<ImageManifest, 'mediaType' | 'config'>): boolean {
  return manifest.mediaType === MEDIA_TYPES.dockerManifest || (manifest.mediaType === undefined && manifest.config?.mediaType === MEDIA_TYPES.dockerConfig)
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList
}

export function epochToIso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

export function buildImage(options: BuildImageOptions): Image {
  const {base, layers} = options
  const created = epochToIso(options.sourceDateEpoch ?? 0)
  if (base) validateBase(base)
  const docker = base ? isDockerManifest(base.manifest) : false
  const layerMediaType = docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip

  const baseConfig = base?.config
  const runtime = mergeRuntimeConfig(baseConfig?.config ?? {}, options.config ?? {})
  const platform: Platform = baseConfig
    ? {architecture: baseConfig.architecture, os: baseConfig.os, variant: baseConfig.variant}
    : {architecture: OCI_ARCHITECTURE[options.architecture], os: 'linux', variant: options.architecture === 'arm64' ? 'v8' : undefined}
  const config: ImageConfig = {
    ...baseConfig,
    created,
    ...platform,
    config: runtime,
    rootfs: {type: 'layers', diff_ids: [...(baseConfig?.rootfs?.diff_ids ?? []), ...layers.map((layer) => layer.diffId)]},
    history: [...(baseConfig?.history ?? []), ...layers.map((layer) => ({created, created_by: `sai package: ${layer.name} layer`}))],
  }
  const configBytes = canonicalJson(config)
  const configDescriptor: Descriptor = {mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: sha256(configBytes), size: configBytes.length}

  const baseLayers: ImageLayer[] = (base?.manifest.layers ?? []).map((descriptor, index) => ({
    descriptor,
    diffId: base!.config.rootfs.diff_ids[index]!,
    origin: 'base',
    open: async () => verifiedBlob(await base!.blobs.open(descriptor), descriptor),
  }))
  const ownLayers: ImageLayer[] = layers.map((layer) => {
    const descriptor = {...layer.descriptor, mediaType: layerMediaType}
    return {
      descriptor,
      diffId: layer.diffId,
      uncompressedSize: layer.uncompressedSize,
      origin: 'built',
      name: layer.name,
      paths: layer.paths,
      file: layer.file,
      open: async () => createReadStream(layer.file),
    }
  })
  const allLayers = [...baseLayers, ...ownLayers]

  const annotations = docker ? undefined : {...baseAnnotations(base), ...options.annotations}
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest,
    config: configDescriptor,
    layers: allLayers.map((layer) => layer.descriptor),
    ...(annotations && Object.keys(annotations).length > 0 ? {annotations} : {}),
  }
  const manifestBytes = canonicalJson(manifest)
  return {
    manifest: {json: manifest, bytes: manifestBytes, descriptor: {mediaType: manifest.mediaType!, digest: sha256(manifestBytes), size: manifestBytes.length}},
    config: {json: config, bytes: configBytes, descriptor: configDescriptor},
    layers: allLayers,
  }
}

function validateBase(base: BaseImage): void {
  if (isIndexMediaType(base.manifest.mediaType) || 'manifests' in base.manifest) {
    throw new ImageFormatError('the base is an image index: resolve it to the manifest of one platform first')
  }
  const diffIds = base.config.rootfs?.diff_ids ?? []
  if (diffIds.length !== base.manifest.layers.length) {
    throw new ImageFormatError(`the base manifest lists ${base.manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`)
  }
}

function baseAnnotations(base: BaseImage | undefined): Record<string, string> {
  const annotations: Record<string, string> = {}
  if (base?.name) annotations['org.opencontainers.image.base.name'] = base.name
  if (base?.digest) annotations['org.opencontainers.image.base.digest'] = base.digest
  return annotations
}

function mergeRuntimeConfig(base: RuntimeConfig, input: ImageConfigInput): RuntimeConfig {
  const env = [...(base.Env ?? [])]
  for (const [name, value] of Object.entries(input.env ?? {})) {
    const entry = `${name}=${value}`
    const index = env.findIndex((existing) => existing.split('=', 1)[0] === name)
    if (index === -1) env.push(entry)
    else env[index] = entry
  }
  const labels = {...(base.Labels ?? {}), ...input.labels}
  return {
    ...base,
    Env: env.length > 0 ? env : undefined,
    Entrypoint: input.entrypoint ?? base.Entrypoint ?? undefined,
    Cmd: input.cmd ?? (input.entrypoint ? undefined : (base.Cmd ?? undefined)),
    WorkingDir: input.workingDir ?? base.WorkingDir,
    User: input.user ?? base.User,
    Labels: Object.keys(labels).length > 0 ? labels : undefined,
  }
}

/** Passes a blob through, failing the stream if its size or sha256 differ from the descriptor's. */
export function verifiedBlob(stream: Readable, descriptor: Descriptor): Readable {
  const hash = createHash('sha256')
  let size = 0
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      size += chunk.length
      if (size > descriptor.size) callback(new ImageFormatError(`blob ${descriptor.digest} is larger than its ${descriptor.size} bytes`))
      else callback(null, chunk)
    },
    flush(callback) {
      const digest = `sha256:${hash.digest('hex')}`
      if (size !== descriptor.size) callback(new ImageFormatError(`blob ${descriptor.digest} has ${size} bytes, not ${descriptor.size}`))
      else if (digest !== descriptor.digest) callback(new ImageFormatError(`blob ${descriptor.digest} has digest ${digest}`))
      else callback()
    },
  })
  // The callback only absorbs the error: pipeline destroys `check` with it, and its reader sees it.
  return pipeline(stream, check, () => {})
}

// ---------------------------------------------------------------------------------------------------
// OCI image layouts, on disk or inside a docker-archive tar

/** Files of a layout, wherever they live: a directory, or entries of an archive. */
export interface ImageFiles {
  /** The whole file, or undefined when it does not exist. */
  read(path: string): Promise<Buffer | undefined>
  open(path: string): Promise<Readable>
  /** Bytes of the file, without reading it, or undefined when it does not exist. */
  size(path: string): Promise<number | undefined>
}

export interface ReadImageOptions {
  /** Which image, when the layout or archive holds several: an org.opencontainers.image.ref.name or a repo tag. */
  ref?: string
  /** Which manifest of a multi-platform index. */
  architecture?: LambdaArchitecture
}

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'
/** Where containerd (and Docker 25+'s `docker save`) keep an image's full name in a layout. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name'

/** Docker's loader rejects a RepoTag without a tag. */
export function withTag(name: string): string {
  return name.includes('@') || /:[^/]+$/.test(name) ? name : `${name}:latest`
}

export function tagOf(name: string): string {
  return /:([^/]+)$/.exec(name)?.[1] ?? 'latest'
}

/** "foo:1" → "docker.io/library/foo:1", the fully qualified form containerd stores names in. */
export function normalizeDockerName(name: string): string {
  const [first, ...rest] = name.split('/')
  const hasRegistry = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost')
  if (hasRegistry) return name
  return rest.length === 0 ? `docker.io/library/${name}` : `docker.io/${name}`
}

export const OCI_LAYOUT_FILE = canonicalJson({imageLayoutVersion: '1.0.0'})

export function layoutIndexJson(manifest: Descriptor, annotations: Record<string, string> = {}): Buffer {
  const descriptor: Descriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(Object.keys(annotations).length > 0 ? {annotations} : {}),
  }
  return canonicalJson({schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [descriptor]})
}

export function blobPath(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest)
  if (!match) throw new ImageFormatError(`unsupported or malformed digest: ${JSON.stringify(digest)}`)
  return `blobs/sha256/${match[1]}`
}

export async function readLayoutImage(files: ImageFiles, options: ReadImageOptions = {}): Promise<Image> {
  const layoutFile = await files.read('oci-layout')
  if (!layoutFile) throw new ImageFormatError('no oci-layout file: not an OCI image layout')
  const index = parseJson<ImageIndex>(await files.read('index.json'), 'index.json')
  if (!Array.isArray(index.manifests)) throw new ImageFormatError('index.json has no manifests list')

  const candidates = options.ref
    ? index.manifests.filter((descriptor) => {
        const refName = descriptor.annotations?.[REF_NAME_ANNOTATION]
        const fullName = descriptor.annotations?.[CONTAINERD_NAME_ANNOTATION]
        return refName === options.ref || fullName === options.ref || (fullName !== undefined && fullName === normalizeDockerName(withTag(options.ref!)))
      })
    : index.manifests
  if (candidates.length !== 1) {
    const refs = index.manifests.map((descriptor) => descriptor.annotations?.[REF_NAME_ANNOTATION] ?? descriptor.digest)
    throw new ImageFormatError(
      candidates.length === 0
        ? `no image named ${options.ref} in the layout (it has: ${refs.join(', ') || 'none'})`
        : `the layout holds ${candidates.length} images (${refs.join(', ')}): name one`,
    )
  }
  let manifestDescriptor = candidates[0]!
  let nestedIndex: Image['index']
  if (isIndexMediaType(manifestDescriptor.mediaType)) {
    const json = parseJson<ImageIndex>(await readBlob(files, manifestDescriptor), manifestDescriptor.digest)
    nestedIndex = {json, descriptor: manifestDescriptor}
    manifestDescriptor = selectPlatformManifest(json, options.architecture)
  }
  const manifestBytes = await readBlob(files, manifestDescriptor)
  const manifest = parseJson<ImageManifest>(manifestBytes, manifestDescriptor.digest)
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new ImageFormatError(`${manifestDescriptor.digest} is not an image manifest`)
  const configBytes = await readBlob(files, manifest.config)
  const config = parseJson<ImageConfig>(configBytes, manifest.config.digest)
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length !== manifest.layers.length) {
    throw new ImageFormatError(`the manifest lists ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`)
  }
  const layers: ImageLayer[] = manifest.layers.map((descriptor, position) => ({
    descriptor,
    diffId: diffIds[position]!,
    origin: 'read',
    open: async () => verifiedBlob(await files.open(blobPath(descriptor.digest)), descriptor),
  }))
  return {
    manifest: {json: manifest, bytes: manifestBytes, descriptor: {mediaType: manifestDescriptor.mediaType, digest: manifestDescriptor.digest, size: manifestDescriptor.size}},
    config: {json: config, bytes: configBytes, descriptor: manifest.config},
    layers,
    ...(nestedIndex ? {index: nestedIndex} : {}),
  }
}

export function isAttestation(descriptor: ImageIndex['manifests'][number]): boolean {
  return descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || descriptor.platform?.os === 'unknown'
}

function selectPlatformManifest(index: ImageIndex, architecture: LambdaArchitecture | undefined): Descriptor {
  const images = index.manifests.filter((descriptor) => !isAttestation(descriptor))
  const wanted = architecture ? OCI_ARCHITECTURE[architecture] : undefined
  const match = wanted ? images.find((descriptor) => descriptor.platform?.architecture === wanted) : images.length === 1 ? images[0] : undefined
  if (!match) {
    const platforms = images.map((descriptor) => `${descriptor.platform?.os ?? '?'}/${descriptor.platform?.architecture ?? '?'}`)
    throw new ImageFormatError(
      wanted ? `the image index has no ${wanted} manifest (it has: ${platforms.join(', ') || 'none'})` : `the image index has several platforms (${platforms.join(', ')}): choose an architecture`,
    )
  }
  return match
}

export async function readBlob(files: ImageFiles, descriptor: Descriptor): Promise<Buffer> {
  const bytes = await files.read(blobPath(descriptor.digest))
  if (!bytes) throw new ImageFormatError(`blob ${descriptor.digest} is missing`)
  if (bytes.length !== descriptor.size || sha256(bytes) !== descriptor.digest) {
    throw new ImageFormatError(`blob ${descriptor.digest} does not match its descriptor (corrupt or truncated)`)
  }
  return bytes
}

export function parseJson<T>(bytes: Buffer | undefined, what: string): T {
  if (!bytes) throw new ImageFormatError(`${what} is missing`)
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch (error) {
    throw new ImageFormatError(`${what} is not valid JSON`, {cause: error})
  }
}
