/**
 * What AWS Lambda rejects in a container image, checked before anything is written or pushed, and
 * reported all at once: Lambda itself stops at the first problem, one deploy at a time. Several of
 * these (indexes, uncompressed layers typed as Docker's, layer tars without parent directories)
 * are accepted by `docker run`, so they only surface at deploy time.
 */
import {type Image, type ImageLayer, isAttestation, isDockerManifest, isIndexMediaType, type LambdaArchitecture, OCI_ARCHITECTURE} from './image.js'
import {decompressed, readPlainTar} from './tar.js'
import {MEDIA_TYPES} from './types.js'

export type LambdaRule =
  | 'single-manifest'
  | 'media-types'
  | 'compressed-layers'
  | 'parent-directories'
  | 'workdir'
  | 'entrypoint'
  | 'architecture'
  | 'image-size'
  | 'environment-size'

export interface Violation {
  rule: LambdaRule
  found: string
  fix: string
  /** The layer at fault ("3 (sha256:…)" with its name when known), for layer rules. */
  layer?: string
}

export interface LambdaRuleOptions {
  architecture: LambdaArchitecture
  /** Lambda's limit on a function's environment variables. */
  envBytesLimit?: number
  /** Lambda's limit on the uncompressed image, all layers included. */
  imageBytesLimit?: number
  /**
   * Which layers without a known listing are read to check their tars: none, all but the base's
   * (default: a base from a registry would be pulled just to be checked), or all.
   */
  scanLayers?: 'none' | 'not-base' | 'all'
}

export const LAMBDA_ENV_BYTES_LIMIT = 4096
export const LAMBDA_IMAGE_BYTES_LIMIT = 10 * 1024 ** 3

interface LayerFacts {
  /** Entry names, directories ending in "/". */
  paths?: string[]
  uncompressedSize?: number
  /** What the blob's first bytes say, when it was read. */
  gzipBytes?: boolean
}

export async function checkLambdaRules(image: Image, options: LambdaRuleOptions): Promise<Violation[]> {
  const scan = options.scanLayers ?? 'not-base'
  const facts: LayerFacts[] = []
  for (const layer of image.layers) {
    const shouldScan = !layer.paths && (scan === 'all' || (scan === 'not-base' && layer.origin !== 'base'))
    facts.push(shouldScan ? await scanLayer(layer) : {paths: layer.paths, uncompressedSize: layer.uncompressedSize})
  }
  return [
    ...singleManifest(image),
    ...mediaTypes(image),
    ...image.layers.flatMap((layer, position) => compressedLayer(layer, facts[position]!, position)),
    ...image.layers.flatMap((layer, position) => parentDirectories(layer, facts[position]!, position)),
    ...workdir(image),
    ...entrypoint(image),
    ...architecture(image, options.architecture),
    ...imageSize(image, facts, options.imageBytesLimit ?? LAMBDA_IMAGE_BYTES_LIMIT),
    ...environmentSize(image, options.envBytesLimit ?? LAMBDA_ENV_BYTES_LIMIT),
  ]
}

async function scanLayer(layer: ImageLayer): Promise<LayerFacts> {
  const {gzip, chunks} = await decompressed(await layer.open())
  let uncompressedSize = 0
  const counted = async function* () {
    for await (const chunk of chunks) {
      uncompressedSize += chunk.length
      yield chunk
    }
  }
  const paths: string[] = []
  for await (const entry of readPlainTar(counted())) {
    paths.push(entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path)
  }
  return {paths, uncompressedSize, gzipBytes: gzip}
}

function layerLabel(layer: ImageLayer, position: number): string {
  return `${position + 1} (${layer.descriptor.digest.slice(0, 19)}…${layer.name ? `, ${layer.name}` : ''})`
}

function singleManifest(image: Image): Violation[] {
  if (!image.index && !isIndexMediaType(image.manifest.descriptor.mediaType)) return []
  const manifests = image.index?.json.manifests ?? []
  const attestations = manifests.filter(isAttestation).length
  return [
    {
      rule: 'single-manifest',
      found: `an image index with ${manifests.length} manifests${attestations ? `, ${attestations} of them attestation manifests (BuildKit provenance/SBOM)` : ''}`,
      fix: 'Deploy a single-platform image manifest: sai package builds one; with docker buildx, build with --platform linux/<arch> --provenance=false --sbom=false.',
    },
  ]
}

function mediaTypes(image: Image): Violation[] {
  const manifest = image.manifest.json
  const docker = isDockerManifest(manifest)
  const family = docker ? 'Docker v2 schema 2' : 'OCI'
  const wrong: string[] = []
  const manifestType = manifest.mediaType ?? image.manifest.descriptor.mediaType
  if (manifestType !== (docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest)) wrong.push(`manifest is ${manifestType}`)
  const configType = manifest.config.mediaType
  if (configType !== (docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig)) wrong.push(`config is ${configType}`)
  manifest.layers.forEach((descriptor, position) => {
    const fits = docker ? descriptor.mediaType.startsWith('application/vnd.docker.image.rootfs.') : descriptor.mediaType.startsWith('application/vnd.oci.image.layer.')
    if (!fits) wrong.push(`layer ${position + 1} is ${descriptor.mediaType}`)
  })
  if (wrong.length === 0) return []
  return [
    {
      rule: 'media-types',
      found: `a ${family} manifest mixing media types: ${wrong.join('; ')}`,
      fix: `Use ${family} media types throughout (the base's family): rebuild with sai package, or push with a tool that converts all of them (skopeo copy --format ${docker ? 'v2s2' : 'oci'}).`,
    },
  ]
}

const GZIP_LAYER_TYPES = new Set<string>([MEDIA_TYPES.dockerLayerGzip, MEDIA_TYPES.ociLayerGzip, 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'])

function compressedLayer(layer: ImageLayer, facts: LayerFacts, position: number): Violation[] {
  const declaredGzip = GZIP_LAYER_TYPES.has(layer.descriptor.mediaType)
  if (declaredGzip && facts.gzipBytes !== false) return []
  return [
    {
      rule: 'compressed-layers',
      layer: layerLabel(layer, position),
      found: declaredGzip ? `typed ${layer.descriptor.mediaType} but its bytes are an uncompressed tar` : `a layer of type ${layer.descriptor.mediaType}; Lambda takes gzip-compressed layers`,
      fix: 'Push gzip-compressed layers: sai package always does; for other images, re-push with skopeo copy (which compresses) or rebuild without zstd/uncompressed output.',
    },
  ]
}

function parentDirectories(layer: ImageLayer, facts: LayerFacts, position: number): Violation[] {
  if (!facts.paths) return []
  const missing = missingParents(facts.paths)
  if (missing.length === 0) return []
  const shown = missing.slice(0, 5).map((path) => `/${path}`)
  return [
    {
      rule: 'parent-directories',
      layer: layerLabel(layer, position),
      found: `the layer tar has no entry for ${missing.length} parent director${missing.length === 1 ? 'y' : 'ies'}: ${shown.join(', ')}${missing.length > shown.length ? ', …' : ''}`,
      fix: 'Every directory above a file must have its own entry in the same layer tar: build the layer with sai package, which adds them (tools that write bare files, e.g. some Bazel or `COPY --link` outputs, do not).',
    },
  ]
}

/** Directories some entry sits in that the layer has no entry for (the root needs none). */
export function missingParents(paths: readonly string[]): string[] {
  const clean = (path: string) => path.replace(/^(\.?\/)+/, '').replace(/\/+$/, '')
  const directories = new Set(paths.filter((path) => path.endsWith('/')).map(clean))
  const missing = new Set<string>()
  for (const path of paths) {
    const name = clean(path)
    for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
      const parent = name.slice(0, slash)
      if (!directories.has(parent)) missing.add(parent)
    }
  }
  return [...missing].sort()
}

function workdir(image: Image): Violation[] {
  const dir = image.config.json.config?.WorkingDir
  if (!dir || dir.startsWith('/')) return []
  return [{rule: 'workdir', found: `WORKDIR is ${JSON.stringify(dir)}, a relative path`, fix: 'Set an absolute working directory, e.g. /var/task (LAMBDA_TASK_ROOT).'}]
}

function entrypoint(image: Image): Violation[] {
  const runtime = image.config.json.config ?? {}
  const command = runtime.Entrypoint?.length ? runtime.Entrypoint : runtime.Cmd
  const program = command?.[0]
  if (program?.startsWith('/')) return []
  return [
    {
      rule: 'entrypoint',
      found: program ? `the image starts ${JSON.stringify(program)}, not an absolute path` : 'the image has no ENTRYPOINT or CMD',
      fix: 'Set ENTRYPOINT to an absolute path inside the image, e.g. ["/lambda-entrypoint.sh"] on AWS base images or the sai runtime\'s bootstrap.',
    },
  ]
}

function architecture(image: Image, expected: LambdaArchitecture): Violation[] {
  const config = image.config.json
  const wanted = OCI_ARCHITECTURE[expected]
  if (config.architecture === wanted && config.os === 'linux') return []
  return [
    {
      rule: 'architecture',
      found: `the image is ${config.os}/${config.architecture}${config.variant ? `/${config.variant}` : ''}, the function is ${expected} (linux/${wanted})`,
      fix: `Use a linux/${wanted} base image (or set the function's architecture to match the image).`,
    },
  ]
}

function imageSize(image: Image, facts: LayerFacts[], limit: number): Violation[] {
  let total = 0
  let estimated = false
  image.layers.forEach((layer, position) => {
    const size = facts[position]!.uncompressedSize ?? layer.uncompressedSize
    if (size === undefined) estimated = true
    total += size ?? layer.descriptor.size
  })
  if (total <= limit) return []
  return [
    {
      rule: 'image-size',
      found: `${estimated ? 'at least ' : ''}${formatBytes(total)} uncompressed, over Lambda's ${formatBytes(limit)}`,
      fix: 'Shrink the image: a smaller base (--base host), pruned dependencies, a quantized model (--quantize int8), or the model fetched from S3 at init.',
    },
  ]
}

function environmentSize(image: Image, limit: number): Violation[] {
  const env = image.config.json.config?.Env ?? []
  const bytes = env.reduce((sum, entry) => sum + Buffer.byteLength(entry), 0)
  if (bytes <= limit) return []
  const largest = [...env].sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a))[0] ?? ''
  return [
    {
      rule: 'environment-size',
      found: `${bytes} bytes of environment in ${env.length} variables (largest: ${largest.split('=', 1)[0]}, ${Buffer.byteLength(largest)} bytes), over Lambda's ${limit}`,
      fix: 'Move large values out of the environment: into a file in the image, or into SSM Parameter Store / Secrets Manager read at init.',
    },
  ]
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`
}
