/**
 * A client for the OCI distribution API, the protocol every registry speaks (ECR, GHCR, Docker Hub,
 * distribution itself): pull a manifest, its config and its layers; push blobs, then the manifest.
 */
import {SaiError} from '../../errors/sai-error.js'
import {createHash, type Hash} from 'node:crypto'
import {Readable} from 'node:stream'
import type {GetAuthorizationTokenCommandOutput} from '@aws-sdk/client-ecr'
import {MEDIA_TYPES, type Descriptor, type ImageIndex, type ImageManifest, type Platform} from './types.js'

// ───────────────────────────── references ─────────────────────────────

/** `host[:port]/repo[/more][:tag][@digest]`, split. A reference without tag or digest means tag `latest`. */
export interface ImageReference {
  registry: string
  repository: string
  tag?: string
  digest?: string
}

export class InvalidReferenceError extends Error {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`"${reference}" is not a registry image reference: ${reason}`)
    this.name = 'InvalidReferenceError'
  }
}

const HOST = /^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d{1,5})?$/
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^\w[\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/

export function parseReference(text: string): ImageReference {
  let rest = text.trim()
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(text, `"${digest}" is not a digest (expected sha256:<64 hex>)`)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw new InvalidReferenceError(text, `"${tag}" is not a valid tag`)
  }
  const slash = rest.indexOf('/')
  const host = slash < 0 ? '' : rest.slice(0, slash)
  // Docker's own rule: the first component is a registry host only if it looks like one.
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new InvalidReferenceError(text, `it names no registry host, and Docker Hub shorthand is not supported; write the host, e.g. docker.io/${rest.includes('/') ? rest : `library/${rest || 'NAME'}`}:${tag ?? 'latest'}`)
  }
  if (!HOST.test(host)) throw new InvalidReferenceError(text, `"${host}" is not a host[:port]`)
  const repository = rest.slice(slash + 1)
  if (!REPOSITORY.test(repository)) throw new InvalidReferenceError(text, `"${repository}" is not a repository name (lowercase letters, digits, separators . _ __ - and /)`)
  return {registry: host, repository, ...(tag === undefined && digest === undefined ? {tag: 'latest'} : {}), ...(tag === undefined ? {} : {tag}), ...(digest === undefined ? {} : {digest})}
}

export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

const isLoopback = (host: string) => /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/.test(host)

// ───────────────────────────── errors ─────────────────────────────

/**
 * unreachable: no HTTP answer (refused, unknown host, timeout, TLS); unauthorized: 401/403 after
 * authenticating; not-found: 404, or no image for the platform asked for; refused: any other 4xx;
 * server: 5xx; invalid: bytes that do not match their digest or size, or a manifest sai cannot read.
 */
export type RegistryErrorCategory = 'unreachable' | 'unauthorized' | 'not-found' | 'platform' | 'refused' | 'server' | 'invalid'

/** One entry of the distribution error body: `{"errors":[{"code","message","detail"}]}`. */
export interface DistributionError {
  code: string
  message: string
  detail?: unknown
}

const HINTS: Record<RegistryErrorCategory, string> = {
  unreachable: 'Check the host and port and that the registry is running; a registry without TLS needs the insecure option (loopback hosts use plain HTTP already).',
  unauthorized: 'Check the credentials and that they may pull from (or push to) this repository; for ECR, the AWS credentials need ecr:GetAuthorizationToken and access to the repository.',
  'not-found': 'Check the repository, tag or digest (and the platform, for a multi-platform image).',
  platform: 'Use an image built for the platform asked for (the function\'s architecture), or target the image\'s.',
  refused: 'The registry rejected the request; its error codes above say why.',
  server: 'The registry failed; try again later.',
  invalid: 'The bytes received or sent do not match their descriptor; try again, and check the content given to push.',
}

export class RegistryError extends Error {
  readonly category: RegistryErrorCategory
  readonly status?: number
  readonly registry: string
  readonly repository?: string
  /** What was being done, e.g. "upload blob sha256:… to 127.0.0.1:5000/fn". */
  readonly action: string
  readonly errors: DistributionError[]

  constructor(init: {category: RegistryErrorCategory; registry: string; repository?: string; action: string; reason: string; status?: number; errors?: DistributionError[]; cause?: unknown}) {
    super(`Could not ${init.action}: ${init.reason}`, init.cause === undefined ? undefined : {cause: init.cause})
    this.name = 'RegistryError'
    this.category = init.category
    this.status = init.status
    this.registry = init.registry
    this.repository = init.repository
    this.action = init.action
    this.errors = init.errors ?? []
  }

  get hint(): string {
    return HINTS[this.category]
  }
}

/** Node's fetch reports "fetch failed" and hides the reason in `cause` (sometimes two levels deep). */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`
  let cause: unknown = error
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const code = (cause as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): nothing listens there'
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `unknown host (${code})`
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return `connection timed out (${code})`
    if (code && /CERT|SSL|TLS/.test(code)) return `TLS failed (${code}: ${cause.message})`
    if (code) return `${cause.message} (${code})`
    if (cause.cause === undefined) return cause.message
    cause = cause.cause
  }
  return String(error)
}

// ───────────────────────────── auth ─────────────────────────────

export interface RegistryCredentials {
  username: string
  password: string
}

type Challenge = {scheme: 'basic'} | {scheme: 'bearer'; realm: string; service?: string; scope?: string}

function parseChallenge(header: string | null): Challenge | undefined {
  const match = header && /^\s*(\w+)\s*(.*)$/.exec(header)
  if (!match) return undefined
  const scheme = match[1]!.toLowerCase()
  if (scheme === 'basic') return {scheme}
  if (scheme !== 'bearer') return undefined
  const params: Record<string, string> = {}
  for (const [, key, quoted, bare] of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[key!.toLowerCase()] = quoted === undefined ? bare! : quoted.replace(/\\(.)/g, '$1')
  }
  return params.realm ? {scheme, realm: params.realm, service: params.service, scope: params.scope} : undefined
}

const pullScope = (repository: string) => `repository:${repository}:pull`
const pushScope = (repository: string) => `repository:${repository}:pull,push`

// ───────────────────────────── ECR ─────────────────────────────

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/

/** `<account>.dkr.ecr.<region>.amazonaws.com` (also -fips and .cn), the hosts whose credentials come from AWS. */
export function parseEcrHost(registry: string): {accountId: string; region: string} | undefined {
  const match = ECR_HOST.exec(registry.replace(/:443$/, ''))
  return match ? {accountId: match[1]!, region: match[2]!} : undefined
}

/** The part of `ECRClient` sai uses; tests pass a stub. */
export interface EcrTokenClient {
  send(command: object): Promise<Pick<GetAuthorizationTokenCommandOutput, 'authorizationData'>>
  destroy?(): void
}

/** ECR's GetAuthorizationToken answers base64("AWS:<password>"), valid for 12 hours, used as basic auth. */
export async function ecrCredentials(registry: string, client?: EcrTokenClient): Promise<RegistryCredentials & {expiresAt?: Date}> {
  const ecr = parseEcrHost(registry)
  if (!ecr) throw new Error(`${registry} is not an ECR registry host`)
  const sdk = await import('@aws-sdk/client-ecr')
  const owned = client ? undefined : new sdk.ECRClient({region: ecr.region})
  const action = `get an authorization token for ${registry} from ECR (${ecr.region})`
  try {
    const output = await (client ?? owned!).send(new sdk.GetAuthorizationTokenCommand({}))
    const data = output.authorizationData?.[0]
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, 'base64').toString('utf8') : ''
    const colon = decoded.indexOf(':')
    if (colon <= 0) throw new RegistryError({category: 'invalid', registry, action, reason: 'the answer holds no "user:password" token'})
    return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1), ...(data?.expiresAt ? {expiresAt: data.expiresAt} : {})}
  } catch (error) {
    if (error instanceof RegistryError) throw error
    throw new RegistryError({category: 'unauthorized', registry, action, reason: error instanceof Error ? error.message : String(error), cause: error})
  } finally {
    owned?.destroy()
  }
}

// ───────────────────────────── manifests ─────────────────────────────


/** A manifest as the registry sent it: the exact bytes (their digest is the image's identity) and their parse. */
export interface FetchedManifest<T = ImageManifest | ImageIndex> {
  descriptor: Descriptor
  bytes: Buffer
  json: T
}

export interface PulledImage {
  reference: ImageReference
  /** The index the manifest was chosen from, when the reference named a multi-platform image. */
  index?: FetchedManifest<ImageIndex>
  manifest: FetchedManifest<ImageManifest>
  config: {descriptor: Descriptor; bytes: Buffer}
  layers: Descriptor[]
}

const MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]
const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]
const ACCEPT_MANIFESTS = [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ')

const isIndex = (m: FetchedManifest): m is FetchedManifest<ImageIndex> => INDEX_TYPES.includes(m.descriptor.mediaType)
const formatPlatform = (p: Partial<Platform> | undefined) => (p?.os || p?.architecture ? [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/') : 'no platform')
const isAttestation = (m: ImageIndex['manifests'][number]) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'

// ───────────────────────────── push input ─────────────────────────────

/** A blob's bytes: in memory, or opened on demand (a file, another registry's blob) so large layers stream. */
export type BlobContent = Buffer | (() => Readable | Promise<Readable>)

export interface BlobToPush {
  descriptor: Descriptor
  content?: BlobContent
  /** Repositories of the same registry that may already hold this blob (a base image's repository). */
  mountFrom?: string[]
}

export interface PushProgress {
  digest: string
  size: number
  sent: number
  state: 'uploading' | 'exists' | 'mounted' | 'uploaded'
}

export interface PushOptions {
  /** Content for any blob the registry may lack; blobs the manifest references and that are not given must already be there or be mountable. */
  blobs?: BlobToPush[]
  /** Repositories of the same registry to mount any missing blob from. */
  mountFrom?: string[]
  onProgress?: (progress: PushProgress) => void
}

export interface PushedBlob {
  digest: string
  size: number
  outcome: 'exists' | 'mounted' | 'uploaded'
  mountedFrom?: string
}

export interface PushResult {
  reference: string
  manifest: Descriptor
  blobs: PushedBlob[]
  uploaded: number
  skipped: number
  mounted: number
  bytesUploaded: number
}

// ───────────────────────────── digests ─────────────────────────────

function hasher(digest: string): Hash {
  const algorithm = digest.slice(0, digest.indexOf(':'))
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new Error(`unsupported digest algorithm in ${digest}`)
  return createHash(algorithm)
}

const digestOf = (hash: Hash, like: string) => `${like.slice(0, like.indexOf(':'))}:${hash.digest('hex')}`
export const sha256Digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const short = (digest: string) => digest.slice(0, digest.indexOf(':') + 13)

// ───────────────────────────── the client ─────────────────────────────

export interface RegistryClientOptions {
  credentials?: RegistryCredentials
  /** Plain HTTP for a host that is not loopback (loopback hosts always use it). */
  insecure?: boolean
  /** Blobs larger than this go up in PATCH chunks of this size; smaller ones in one PUT. Default 32 MiB. */
  chunkSize?: number
  /** Blobs pushed at once. Default 3, as docker does. */
  concurrency?: number
  /** A request that makes no progress for this long fails as unreachable. Default 60 s. */
  timeoutMs?: number
  /** Where ECR credentials come from; by default an ECRClient for the host's region. */
  ecrClient?: EcrTokenClient
}

interface Call {
  method: string
  /** A path under the registry, or an absolute URL the registry gave (upload locations). */
  url: string
  repository?: string
  action: string
  scopes: string[]
  ok: number[]
  headers?: Record<string, string>
  body?: Buffer
  onSent?: (bytes: number) => void
}

const SLICE = 1 << 20
const USER_AGENT = 'sai (OCI distribution client)'

export class RegistryClient {
  readonly registry: string
  readonly baseUrl: string
  private readonly options: RegistryClientOptions
  private readonly chunkSize: number
  private readonly timeoutMs: number
  private challenge?: Challenge
  private discovery?: Promise<void>
  private credentials?: Promise<(RegistryCredentials & {expiresAt?: Date}) | undefined>
  private readonly tokens = new Map<string, {token: string; expiresAt: number}>()
  private readonly pendingTokens = new Map<string, Promise<string>>()

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry
    this.options = options
    this.chunkSize = options.chunkSize ?? 32 << 20
    this.timeoutMs = options.timeoutMs ?? 60_000
    // docker.io is Docker Hub's name in references; its API lives on another host.
    const apiHost = registry === 'docker.io' ? 'registry-1.docker.io' : registry
    this.baseUrl = `${options.insecure || isLoopback(registry) ? 'http' : 'https'}://${apiHost}`
  }

  /** `GET /v2/`: reachable, speaks the distribution API, and accepts these credentials. */
  async ping(): Promise<void> {
    await this.send({method: 'GET', url: '/v2/', action: `reach registry ${this.registry}`, scopes: [], ok: [200]}).then(drain)
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const action = `fetch manifest ${reference} from ${this.where(repository)}`
    const response = await this.send({method: 'GET', url: `/v2/${repository}/manifests/${reference}`, repository, action, scopes: [pullScope(repository)], ok: [200], headers: {accept: ACCEPT_MANIFESTS}})
    const bytes = Buffer.from(await response.arrayBuffer())
    const invalid = (reason: string) => new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason})
    let json: (ImageManifest | ImageIndex) & {mediaType?: string; schemaVersion?: number}
    try {
      json = JSON.parse(bytes.toString('utf8'))
    } catch {
      throw invalid('the manifest is not JSON')
    }
    const mediaType = json.mediaType ?? response.headers.get('content-type')?.split(';')[0]?.trim() ?? ''
    if (json.schemaVersion !== 2 || ![...MANIFEST_TYPES, ...INDEX_TYPES].includes(mediaType)) {
      throw invalid(`unsupported manifest (schemaVersion ${json.schemaVersion}, ${mediaType || 'no media type'}); sai reads OCI and Docker v2 schema 2 images`)
    }
    const header = response.headers.get('docker-content-digest')
    const expected = DIGEST.test(reference) ? reference : header?.startsWith('sha256:') ? header : undefined
    const digest = expected ? digestOf(hasher(expected).update(bytes), expected) : sha256Digest(bytes)
    if (expected && digest !== expected) throw invalid(`its bytes hash to ${digest}, not ${expected}`)
    return {descriptor: {mediaType, digest, size: bytes.length}, bytes, json}
  }

  /** Manifest, then (for an index) the platform's manifest, then the config; layers are only described. */
  async pull(ref: ImageReference, options: {platform?: Platform} = {}): Promise<PulledImage> {
    this.assertOwn(ref)
    const top = await this.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest')
    let index: FetchedManifest<ImageIndex> | undefined
    let manifest = top
    if (isIndex(top)) {
      index = top
      const wanted = options.platform ?? {os: 'linux', architecture: 'amd64'}
      const candidates = top.json.manifests.filter((m) => !isAttestation(m))
      const chosen = candidates.find((m) => m.platform?.os === wanted.os && m.platform.architecture === wanted.architecture && (!wanted.variant || !m.platform.variant || m.platform.variant === wanted.variant))
      if (!chosen) {
        const found = candidates.map((m) => formatPlatform(m.platform)).join(', ') || 'no image manifests'
        throw new RegistryError({category: 'platform', registry: this.registry, repository: ref.repository, action: `pull ${formatReference(ref)}`, reason: `it has no ${formatPlatform(wanted)} image; it has ${found}`})
      }
      manifest = await this.getManifest(ref.repository, chosen.digest)
    }
    if (isIndex(manifest)) throw new RegistryError({category: 'invalid', registry: this.registry, repository: ref.repository, action: `pull ${formatReference(ref)}`, reason: 'an index points at another index'})
    const image = manifest as FetchedManifest<ImageManifest>
    const config = await this.getBlob(ref.repository, image.json.config)
    if (options.platform) {
      let actual: Partial<Platform> = {}
      try {
        actual = JSON.parse(config.toString('utf8'))
      } catch {
        // Not JSON: reported below as an image of no platform.
      }
      if (actual.os !== options.platform.os || actual.architecture !== options.platform.architecture) {
        throw new RegistryError({category: 'platform', registry: this.registry, repository: ref.repository, action: `pull ${formatReference(ref)}`, reason: `it is a ${formatPlatform(actual)} image, not ${formatPlatform(options.platform)}`})
      }
    }
    return {reference: ref, ...(index ? {index} : {}), manifest: image, config: {descriptor: image.json.config, bytes: config}, layers: image.json.layers}
  }

  async hasBlob(repository: string, digest: string, access: 'pull' | 'push' = 'pull'): Promise<boolean> {
    const response = await this.send({method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, repository, action: `check for blob ${short(digest)} in ${this.where(repository)}`, scopes: [access === 'push' ? pushScope(repository) : pullScope(repository)], ok: [200, 404]})
    await drain(response)
    return response.status === 200
  }

  /**
   * A blob's bytes as a stream, checked against the descriptor while they flow: the stream errors
   * (RegistryError 'invalid') as soon as there are too many bytes, or at the end if the digest differs.
   */
  async openBlob(repository: string, descriptor: Descriptor): Promise<Readable> {
    const action = `download blob ${short(descriptor.digest)} from ${this.where(repository)}`
    const response = await this.send({method: 'GET', url: `/v2/${repository}/blobs/${descriptor.digest}`, repository, action, scopes: [pullScope(repository)], ok: [200], headers: {'accept-encoding': 'identity'}})
    const invalid = (reason: string) => new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason})
    const body = response.body as AsyncIterable<Uint8Array> | null
    const hash = hasher(descriptor.digest)
    async function* verified(): AsyncGenerator<Buffer> {
      let received = 0
      for await (const piece of body ?? []) {
        received += piece.length
        if (received > descriptor.size) throw invalid(`more than the ${descriptor.size} bytes its descriptor gives`)
        hash.update(piece)
        yield Buffer.from(piece.buffer, piece.byteOffset, piece.length)
      }
      if (received !== descriptor.size) throw invalid(`${received} bytes arrived, its descriptor gives ${descriptor.size}`)
      const digest = digestOf(hash, descriptor.digest)
      if (digest !== descriptor.digest) throw invalid(`its bytes hash to ${digest}`)
    }
    return Readable.from(verified(), {objectMode: false})
  }

  async getBlob(repository: string, descriptor: Descriptor): Promise<Buffer> {
    const pieces: Buffer[] = []
    for await (const piece of await this.openBlob(repository, descriptor)) pieces.push(piece as Buffer)
    return Buffer.concat(pieces)
  }

  /** PUT a manifest (or index) under a tag or its digest. Every blob it references must already be in the repository. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const action = `push manifest ${reference} to ${this.where(repository)}`
    const response = await this.send({method: 'PUT', url: `/v2/${repository}/manifests/${reference}`, repository, action, scopes: [pushScope(repository)], ok: [201], headers: {'content-type': mediaType}, body: bytes})
    await drain(response)
    const digest = sha256Digest(bytes)
    const answered = response.headers.get('docker-content-digest')
    if (answered && answered.startsWith('sha256:') && answered !== digest) {
      throw new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason: `the registry stored it as ${answered}, its bytes hash to ${digest}`})
    }
    return {mediaType, digest, size: bytes.length}
  }

  /**
   * Pushes an image manifest and the blobs it references, in the order that keeps the registry
   * consistent: every blob is present (already there, mounted, or uploaded) before the manifest is
   * PUT, so a push that fails leaves no tag pointing at missing blobs.
   */
  async push(ref: ImageReference, manifestBytes: Buffer, options: PushOptions = {}): Promise<PushResult> {
    this.assertOwn(ref)
    const {repository} = ref
    const reference = ref.tag ?? ref.digest ?? 'latest'
    const action = `push ${formatReference(ref)}`
    let manifest: ImageManifest
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8'))
    } catch {
      throw new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason: 'the manifest is not JSON'})
    }
    const mediaType = manifest.mediaType ?? MEDIA_TYPES.ociManifest
    if (!MANIFEST_TYPES.includes(mediaType) || !manifest.config || !Array.isArray(manifest.layers)) {
      throw new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason: `push takes a single-platform image manifest, not ${mediaType}`})
    }
    const sources = new Map<string, BlobToPush>()
    for (const descriptor of [manifest.config, ...manifest.layers]) if (!sources.has(descriptor.digest)) sources.set(descriptor.digest, {descriptor})
    for (const blob of options.blobs ?? []) sources.set(blob.descriptor.digest, {...sources.get(blob.descriptor.digest), ...blob})
    const blobs = await runLimited([...sources.values()], this.options.concurrency ?? 3, (source) =>
      this.pushBlob(repository, source, {mountFrom: [...(source.mountFrom ?? []), ...(options.mountFrom ?? [])], onProgress: options.onProgress}),
    )
    const pushed = await this.putManifest(repository, reference, manifestBytes, mediaType)
    const count = (outcome: PushedBlob['outcome']) => blobs.filter((b) => b.outcome === outcome).length
    return {
      reference: formatReference({...ref, digest: pushed.digest}),
      manifest: pushed,
      blobs,
      uploaded: count('uploaded'),
      skipped: count('exists'),
      mounted: count('mounted'),
      bytesUploaded: blobs.filter((b) => b.outcome === 'uploaded').reduce((sum, b) => sum + b.size, 0),
    }
  }

  /** HEAD (present? done), else mount from a sibling repository, else upload: one PUT, or PATCH chunks then PUT. */
  async pushBlob(repository: string, source: BlobToPush, options: {mountFrom?: string[]; onProgress?: (p: PushProgress) => void} = {}): Promise<PushedBlob> {
    const {digest, size} = source.descriptor
    const report = (state: PushProgress['state'], sent: number) => options.onProgress?.({digest, size, sent, state})
    if (await this.hasBlob(repository, digest, 'push')) {
      report('exists', 0)
      return {digest, size, outcome: 'exists'}
    }
    let location: string | undefined
    for (const from of new Set((options.mountFrom ?? []).filter((r) => r !== repository))) {
      // A registry that will not mount (no pull right on the source, mounting disabled) can still take an upload.
      const mount = await this.mount(repository, digest, from).catch((error: unknown) => {
        if (error instanceof RegistryError && ['unauthorized', 'not-found', 'refused'].includes(error.category)) return undefined
        throw error
      })
      if (!mount) continue
      if (mount.mounted) {
        report('mounted', 0)
        return {digest, size, outcome: 'mounted', mountedFrom: from}
      }
      // 202: the registry opened an upload session instead; use it when there is content to send.
      if (source.content) {
        location = mount.location
        break
      }
      await this.cancelUpload(repository, mount.location)
    }
    if (!source.content) {
      const tried = options.mountFrom?.length ? `, nor could it be mounted from ${[...new Set(options.mountFrom)].join(', ')}` : ''
      throw new RegistryError({category: 'not-found', registry: this.registry, repository, action: `push blob ${short(digest)} to ${this.where(repository)}`, reason: `the manifest references it, it is not in the repository${tried}, and no content was given for it`})
    }
    await this.upload(repository, source.descriptor, source.content, location, (sent) => report('uploading', sent))
    report('uploaded', size)
    return {digest, size, outcome: 'uploaded'}
  }

  private async mount(repository: string, digest: string, from: string): Promise<{mounted: true} | {mounted: false; location: string}> {
    const query = new URLSearchParams({mount: digest, from})
    const call = {method: 'POST', url: `/v2/${repository}/blobs/uploads/?${query}`, repository, action: `mount blob ${short(digest)} from ${from} into ${this.where(repository)}`, scopes: [pushScope(repository), pullScope(from)], ok: [201, 202]}
    const response = await this.send(call).then(drainKeepingHeaders)
    return response.status === 201 ? {mounted: true} : {mounted: false, location: this.location(response, call)}
  }

  private async upload(repository: string, descriptor: Descriptor, content: BlobContent, location: string | undefined, onSent: (sent: number) => void): Promise<void> {
    const action = `upload blob ${short(descriptor.digest)} to ${this.where(repository)}`
    const scopes = [pushScope(repository)]
    const fail = (reason: string) => new RegistryError({category: 'invalid', registry: this.registry, repository, action, reason})
    const hash = hasher(descriptor.digest)
    let sent = 0
    const take = (chunk: Buffer) => {
      if (sent + chunk.length > descriptor.size) throw fail(`the content is larger than the ${descriptor.size} bytes its descriptor gives`)
      hash.update(chunk)
      sent += chunk.length
    }
    const commit = async () => {
      if (sent !== descriptor.size) throw fail(`the content is ${sent} bytes, its descriptor gives ${descriptor.size}`)
      const digest = digestOf(hash, descriptor.digest)
      if (digest !== descriptor.digest) throw fail(`the content hashes to ${digest}`)
      const url = new URL(location!, this.baseUrl)
      url.searchParams.set('digest', descriptor.digest)
      return url.href
    }
    try {
      // Opened before the session starts, so content that cannot be read leaves nothing behind.
      const chunks = Buffer.isBuffer(content) ? sliceBuffer(content, this.chunkSize) : chunksOf(await content(), this.chunkSize)
      if (!location) {
        const start = {method: 'POST', url: `/v2/${repository}/blobs/uploads/`, repository, action, scopes, ok: [202]}
        location = this.location(await this.send(start).then(drainKeepingHeaders), start)
      }
      if (descriptor.size <= this.chunkSize) {
        const pieces: Buffer[] = []
        for await (const chunk of chunks) {
          take(chunk)
          pieces.push(chunk)
        }
        const body = Buffer.concat(pieces)
        await this.send({method: 'PUT', url: await commit(), repository, action, scopes, ok: [201], headers: {'content-type': 'application/octet-stream'}, body, onSent}).then(drain)
        return
      }
      for await (const chunk of chunks) {
        const offset = sent
        take(chunk)
        const patch = {method: 'PATCH', url: location, repository, action, scopes, ok: [202], body: chunk, onSent: (n: number) => onSent(offset + n), headers: {'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}`}}
        location = this.location(await this.send(patch).then(drainKeepingHeaders), patch)
      }
      await this.send({method: 'PUT', url: await commit(), repository, action, scopes, ok: [201], body: Buffer.alloc(0)}).then(drain)
    } catch (error) {
      if (location) await this.cancelUpload(repository, location)
      throw error
    }
  }

  /** Courtesy: registries purge abandoned sessions eventually; this frees the space now. */
  private async cancelUpload(repository: string, location: string): Promise<void> {
    await this.send({method: 'DELETE', url: location, repository, action: 'cancel an upload', scopes: [pushScope(repository)], ok: [204, 404]}).then(drain, () => undefined)
  }

  private location(response: Response, call: Call): string {
    const location = response.headers.get('location')
    if (!location) throw new RegistryError({category: 'invalid', registry: this.registry, repository: call.repository, action: call.action, reason: `the ${response.status} answer has no Location header`})
    return new URL(location, this.baseUrl).href
  }

  private where(repository: string) {
    return `${this.registry}/${repository}`
  }

  private assertOwn(ref: ImageReference) {
    if (ref.registry !== this.registry) throw new Error(`${formatReference(ref)} is not on ${this.registry}`)
  }

  // ───────── HTTP and authentication ─────────

  private async send(call: Call): Promise<Response> {
    await this.discoverAuth(call)
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.authorization(call)
      const response = await this.fetchOnce(call, authorization)
      // Sent credentials that failed will fail again; anything else (no auth yet, an expired token) earns one retry.
      if (response.status === 401 && attempt === 0 && !authorization?.startsWith('Basic ')) {
        const challenge = parseChallenge(response.headers.get('www-authenticate'))
        await drain(response)
        if (challenge) {
          await this.authenticate(challenge, call)
          continue
        }
      }
      if (call.ok.includes(response.status)) return response
      throw await this.httpError(call, response, authorization !== undefined)
    }
  }

  private async fetchOnce(call: Call, authorization: string | undefined): Promise<Response> {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), this.timeoutMs)
    const onSent = (sent: number) => {
      timer.refresh()
      call.onSent?.(sent)
    }
    const headers: Record<string, string> = {'user-agent': USER_AGENT, ...call.headers, ...(authorization ? {authorization} : {})}
    if (call.body) headers['content-length'] = String(call.body.length)
    try {
      return await fetch(new URL(call.url, this.baseUrl), {
        method: call.method,
        headers,
        // Slices let the timeout measure progress rather than the whole transfer, and feed the progress report.
        body: call.body?.length ? progressSlices(call.body, onSent) : call.body,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit)
    } catch (error) {
      const reason = networkReason(controller.signal.aborted ? controller.signal.reason : error, this.timeoutMs)
      throw new RegistryError({category: 'unreachable', registry: this.registry, repository: call.repository, action: call.action, reason: `${this.baseUrl} did not answer: ${reason}`, cause: error})
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * `GET /v2/` once, as docker and containerd do, to learn how the registry authenticates before
   * the first real request: otherwise concurrent blob pushes would each meet a 401 and fetch a token.
   */
  private async discoverAuth(call: Call): Promise<void> {
    this.discovery ??= this.fetchOnce({method: 'GET', url: '/v2/', repository: call.repository, action: call.action, scopes: [], ok: []}, undefined).then(
      async (response) => {
        await drain(response)
        const challenge = response.status === 401 ? parseChallenge(response.headers.get('www-authenticate')) : undefined
        // The ping's challenge carries no scope worth keeping: each request asks for its own.
        if (challenge) this.challenge = challenge.scheme === 'bearer' ? {scheme: 'bearer', realm: challenge.realm, service: challenge.service} : challenge
      },
      (error: unknown) => {
        this.discovery = undefined
        throw error
      },
    )
    await this.discovery
  }

  /** Once the registry has said how it authenticates, every request carries it from the start. */
  private async authorization(call: Call): Promise<string | undefined> {
    const challenge = this.challenge
    if (challenge?.scheme === 'basic') {
      const credentials = await this.resolveCredentials()
      return credentials && basicAuthorization(credentials)
    }
    if (challenge?.scheme !== 'bearer') return undefined
    const cached = this.tokens.get(scopeKey(call.scopes))
    return `Bearer ${cached && cached.expiresAt > Date.now() ? cached.token : await this.fetchToken(challenge, call, call.scopes)}`
  }

  /** Concurrent requests for the same scopes share one token request. */
  private fetchToken(challenge: Extract<Challenge, {scheme: 'bearer'}>, call: Call, scopes: string[]): Promise<string> {
    const key = scopeKey(call.scopes)
    let pending = this.pendingTokens.get(key)
    if (!pending) {
      pending = this.requestToken(challenge, call, scopes).finally(() => this.pendingTokens.delete(key))
      this.pendingTokens.set(key, pending)
    }
    return pending
  }

  private async authenticate(challenge: Challenge, call: Call): Promise<void> {
    if (challenge.scheme === 'basic') {
      this.challenge = challenge
      if (!(await this.resolveCredentials())) {
        throw new RegistryError({category: 'unauthorized', status: 401, registry: this.registry, repository: call.repository, action: call.action, reason: 'the registry asks for a username and password, and none were given'})
      }
      return
    }
    // The challenge's scope is what this one request lacked; later requests ask for their own.
    this.challenge = {scheme: 'bearer', realm: challenge.realm, service: challenge.service}
    await this.fetchToken(challenge, call, [...new Set([...call.scopes, ...(challenge.scope ? challenge.scope.split(' ') : [])])])
  }

  private async requestToken(challenge: Extract<Challenge, {scheme: 'bearer'}>, call: Call, scopes: string[]): Promise<string> {
    const url = new URL(challenge.realm)
    if (challenge.service) url.searchParams.set('service', challenge.service)
    for (const scope of scopes) url.searchParams.append('scope', scope)
    const credentials = await this.resolveCredentials()
    const action = `get a token from ${url.origin}${url.pathname} to ${call.action}`
    let response: Response
    try {
      response = await fetch(url, {headers: {'user-agent': USER_AGENT, ...(credentials ? {authorization: basicAuthorization(credentials)} : {})}, signal: AbortSignal.timeout(this.timeoutMs)})
    } catch (error) {
      throw new RegistryError({category: 'unreachable', registry: this.registry, repository: call.repository, action, reason: `the token server did not answer: ${networkReason(error, this.timeoutMs)}`, cause: error})
    }
    if (!response.ok) throw await this.httpError({...call, method: 'GET', action}, response, credentials !== undefined)
    const answer = (await response.json().catch(() => ({}))) as {token?: string; access_token?: string; expires_in?: number}
    const token = answer.token ?? answer.access_token
    if (!token) throw new RegistryError({category: 'invalid', registry: this.registry, repository: call.repository, action, reason: 'the answer holds no token'})
    // The spec's default lifetime is 60 s; renew a little early so a token never expires in flight.
    this.tokens.set(scopeKey(call.scopes), {token, expiresAt: Date.now() + Math.max(10, (answer.expires_in ?? 60) - 10) * 1000})
    return token
  }

  private resolveCredentials(): Promise<RegistryCredentials | undefined> {
    this.credentials ??= this.options.credentials
      ? Promise.resolve(this.options.credentials)
      : parseEcrHost(this.registry)
        ? ecrCredentials(this.registry, this.options.ecrClient)
        : Promise.resolve(undefined)
    return this.credentials.then(async (credentials): Promise<RegistryCredentials | undefined> => {
      if (credentials?.expiresAt && credentials.expiresAt.getTime() < Date.now() + 60_000) {
        this.credentials = undefined
        return this.resolveCredentials()
      }
      return credentials
    })
  }

  private async httpError(call: Call, response: Response, authenticated: boolean): Promise<RegistryError> {
    const text = call.method === 'HEAD' ? '' : await response.text().catch(() => '')
    let errors: DistributionError[] = []
    try {
      const parsed = JSON.parse(text) as {errors?: DistributionError[]}
      if (Array.isArray(parsed.errors)) errors = parsed.errors.filter((e) => e && typeof e.code === 'string')
    } catch {
      // Not the distribution error body (a proxy's HTML page, or nothing): the status says enough.
    }
    const status = response.status
    const category: RegistryErrorCategory = status === 401 || status === 403 ? 'unauthorized' : status === 404 ? 'not-found' : status >= 500 ? 'server' : 'refused'
    const detail = errors.length ? errors.map((e) => `${e.code}: ${e.message}`).join('; ') : text.trim().slice(0, 200) || response.statusText
    const credentialsNote = category === 'unauthorized' ? (authenticated ? ' (with the credentials given)' : ' (no credentials were given)') : ''
    return new RegistryError({category, status, errors, registry: this.registry, repository: call.repository, action: call.action, reason: `HTTP ${status}${detail ? ` ${detail}` : ''}${credentialsNote}`})
  }
}

const scopeKey = (scopes: string[]) => [...scopes].sort().join(' ')
const basicAuthorization = (c: RegistryCredentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`

async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined)
}

const drainKeepingHeaders = async (response: Response) => (await drain(response), response)

/** Reads a stream into buffers of exactly `size` bytes (the last one shorter): the unit of a chunked upload. */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  for await (const piece of stream as AsyncIterable<Buffer | string>) {
    let data = typeof piece === 'string' ? Buffer.from(piece) : piece
    while (pendingBytes + data.length >= size) {
      const take = size - pendingBytes
      pending.push(data.subarray(0, take))
      yield Buffer.concat(pending, size)
      data = data.subarray(take)
      pending = []
      pendingBytes = 0
    }
    if (data.length > 0) {
      pending.push(data)
      pendingBytes += data.length
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes)
}

function* sliceBuffer(bytes: Buffer, size: number): Generator<Buffer> {
  let offset = 0
  do {
    yield bytes.subarray(offset, offset + size)
    offset += size
  } while (offset < bytes.length)
}

async function* progressSlices(bytes: Buffer, onSent: (sent: number) => void): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += SLICE) {
    const slice = bytes.subarray(offset, offset + SLICE)
    yield slice
    onSent(offset + slice.length)
  }
}

/** Runs `work` on every item, `limit` at a time; after a failure starts nothing new, waits for what runs, and throws the first error. */
async function runLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  let failure: {error: unknown} | undefined
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++
      try {
        results[index] = await work(items[index]!)
      } catch (error) {
        failure ??= {error}
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, worker))
  if (failure) throw failure.error
  return results
}

/** Runs registry calls; their failures become errors the user can act on, named by what went wrong. */
export async function withRegistryErrors<T>(call: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    const code = ({unreachable: 'SAI_REGISTRY_UNREACHABLE', unauthorized: 'SAI_REGISTRY_UNAUTHORIZED', platform: 'SAI_ARCHITECTURE_MISMATCH'} as const)[error.category as string] ?? 'SAI_REGISTRY_ERROR'
    throw new SaiError(code, what ? `${what}: ${error.message}` : error.message, {hint: error.hint, cause: error})
  }
}
