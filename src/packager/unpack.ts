/**
 * A packaged image, made runnable by the process backend: the layers sai added (not the base) are
 * extracted under a directory, and the function is described from the image itself — its label,
 * environment and CMD — so `sai emulate --image` runs exactly the bytes that ship.
 */
import {createWriteStream, existsSync, mkdirSync, readFileSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {SaiError} from '../errors/sai-error.js'
import {parseSpec, type FunctionSpec} from '../spec/load.js'
import {SAI_RUNTIME_IMAGE_PATH} from './base/host.js'
import {TASK_ROOT} from './function-layers.js'
import {envRecord, type ImageConfig} from './oci/image.js'
import {readImage} from './oci/layout.js'
import {formatReference, parseReference, RegistryClient, withRegistryErrors, type ImageReference} from './oci/registry.js'
import {readTar} from './oci/tar.js'
import {extractZip, readZipEntry} from './zip.js'

/** The generated handler module of a zip package (sai package writes it at the zip's root). */
export const ZIP_HANDLER_NAME = 'sai-handler.handler'

export const FUNCTION_LABEL = 'dev.sai.function'

/** Variables sai's package sets for its runtime; the rest of the image's Env is the function's own. */
const PACKAGE_VARIABLES = new Set(['SAI_MODEL', 'SAI_BATCH_LIMIT', 'SAI_INTRA_OP_THREADS', 'PATH', 'LANG', 'TZ', 'LD_LIBRARY_PATH', 'SSL_CERT_FILE', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'NODE_PATH'])

/** An image's config and a way to read each layer: from a layout, an archive, or a registry. */
interface ImageSource {
  config: ImageConfig
  layers: {open(): Promise<NodeJS.ReadableStream> | NodeJS.ReadableStream}[]
}

async function openImage(source: string): Promise<ImageSource> {
  if (!existsSync(source) && /^[\w.-]+(:\d+)?\/[^:@]+([:@].+)?$/.test(source)) {
    // Not a path: a registry reference. Only the layers sai added are downloaded.
    const reference = parseReference(source)
    const client = new RegistryClient(reference.registry)
    const pulled = await withRegistryErrors(() => client.pull(reference))
    return {config: JSON.parse(pulled.config.bytes.toString('utf8')) as ImageConfig, layers: pulled.layers.map((descriptor) => ({open: () => client.openBlob(reference.repository, descriptor)}))}
  }
  try {
    const image = await readImage(source)
    return {config: image.config.json, layers: image.layers}
  } catch (error) {
    const reason = (error as Error).message
    // The image readers' own messages usually name the image already.
    throw new SaiError('SAI_IMAGE_INVALID', reason.includes(source) ? reason : `cannot read the image ${source}: ${reason}`, {
      hint: 'pass an OCI layout directory, a docker-archive or a registry reference written by `sai package`',
      cause: error,
    })
  }
}

export async function unpackImage(source: string, root: string): Promise<FunctionSpec> {
  const image = await openImage(source)
  const config = image.config.config ?? {}
  const label = config.Labels?.[FUNCTION_LABEL]
  if (label === undefined) {
    throw new SaiError('SAI_IMAGE_INVALID', `${source} was not built by \`sai package\`: its config has no ${FUNCTION_LABEL} label`, {
      hint: 'package the function with `sai package --output oci:DIR` (or docker-archive:FILE), then pass that',
    })
  }
  // sai's layers are the last ones, named in the history; the base's stay in the base.
  const history = (image.config.history ?? []).filter((h) => !h.empty_layer)
  const ours = image.layers.filter((_, i) => history[i]?.created_by?.startsWith('sai package: ') && !history[i]!.created_by!.includes(': base layer'))
  for (const layer of ours) await extractLayer(await layer.open(), root)

  const env = envRecord(config.Env ?? [])
  const taskRoot = path.join(root, TASK_ROOT)
  const fields = JSON.parse(label) as Record<string, unknown>
  const handler = env._HANDLER ?? config.Cmd?.[0]
  const spec = parseSpec(
    {
      ...fields,
      ...(env.SAI_MODEL ? {model: env.SAI_MODEL} : {}),
      ...(handler ? {handler} : {}),
      // The runtime that shipped in the image, run with this machine's node.
      bootstrap: [process.execPath, path.join(root, SAI_RUNTIME_IMAGE_PATH)],
      environment: Object.fromEntries(Object.entries(env).filter(([k]) => !PACKAGE_VARIABLES.has(k) && !k.startsWith('AWS_') && k !== '_HANDLER')),
    },
    path.join(taskRoot, 'sai.yaml'),
  )
  return {...spec, packageSource: source}
}

/**
 * A zip built by `sai package`, extracted as Lambda's /var/task and run as the managed runtime would:
 * sai's runtime stands in for AWS's runtime client and calls the zip's generated handler module.
 */
export async function unpackZip(file: string, root: string): Promise<FunctionSpec> {
  const taskRoot = path.join(root, TASK_ROOT)
  try {
    await extractZip(file, taskRoot)
  } catch (error) {
    throw new SaiError('SAI_IMAGE_INVALID', `cannot read the zip ${file}: ${(error as Error).message}`, {hint: 'pass a zip written by `sai package --output zip:FILE`', cause: error})
  }
  let fields: Record<string, unknown>
  try {
    fields = JSON.parse(readFileSync(path.join(taskRoot, '.sai/function.json'), 'utf8')) as Record<string, unknown>
  } catch {
    throw new SaiError('SAI_IMAGE_INVALID', `${file} was not built by \`sai package\`: it has no .sai/function.json`, {hint: 'package the function with `sai package --output zip:FILE`'})
  }
  return {...parseSpec({...fields, handler: ZIP_HANDLER_NAME}, path.join(taskRoot, 'sai.yaml')), packageSource: file}
}

/** What `sai package` recorded about the function in a zip (.sai/function.json), read without extracting it. */
export async function readZipFunction(bytes: Buffer): Promise<Record<string, unknown>> {
  let json: Buffer | undefined
  try {
    json = await readZipEntry(bytes, '.sai/function.json')
  } catch (error) {
    throw new SaiError('SAI_IMAGE_INVALID', `not a zip file: ${(error as Error).message}`, {hint: 'pass a zip written by `sai package --output zip:FILE`', cause: error})
  }
  const notSai = () => new SaiError('SAI_IMAGE_INVALID', 'the zip was not built by `sai package`: it has no .sai/function.json', {hint: 'package the function with `sai package --output zip:FILE`'})
  if (json === undefined) throw notSai()
  try {
    const fields: unknown = JSON.parse(json.toString('utf8'))
    if (typeof fields === 'object' && fields !== null && !Array.isArray(fields)) return fields as Record<string, unknown>
  } catch {
    // reported below
  }
  throw notSai()
}

/**
 * An image in a registry, checked without downloading its layers: its manifest digest, the reference
 * pinned to it (`registry/repository@sha256:…`), and the function fields of sai's label.
 */
export async function inspectRegistryImage(source: string): Promise<{reference: ImageReference; pinned: string; digest: string; fields: Record<string, unknown>}> {
  const reference = parseReference(source)
  const client = new RegistryClient(reference.registry)
  const pulled = await withRegistryErrors(() => client.pull(reference))
  const config = JSON.parse(pulled.config.bytes.toString('utf8')) as ImageConfig
  const label = config.config?.Labels?.[FUNCTION_LABEL]
  if (label === undefined) {
    throw new SaiError('SAI_IMAGE_INVALID', `${source} was not built by \`sai package\`: its config has no ${FUNCTION_LABEL} label`, {
      hint: 'package the function with `sai package --output registry:HOST/REPO:TAG`, then pass that',
    })
  }
  const digest = pulled.manifest.descriptor.digest
  const pinned = formatReference({registry: reference.registry, repository: reference.repository, digest})
  let fields: unknown
  try {
    fields = JSON.parse(label)
  } catch {
    // reported below
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new SaiError('SAI_IMAGE_INVALID', `${source}: its ${FUNCTION_LABEL} label is not a JSON object`, {hint: 'rebuild the image with `sai package`'})
  }
  return {reference, pinned, digest, fields: fields as Record<string, unknown>}
}

/** Writes a layer's entries under `root`; paths are confined to it (a hostile "../" entry is refused). */
async function extractLayer(blob: NodeJS.ReadableStream, root: string): Promise<void> {
  for await (const entry of readTar(blob as never)) {
    const target = path.resolve(root, entry.path)
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw new SaiError('SAI_IMAGE_INVALID', `a layer entry escapes the image root: ${entry.path}`, {hint: 'rebuild the image with `sai package`'})
    }
    if (entry.type === 'directory') mkdirSync(target, {recursive: true, mode: 0o755})
    else if (entry.type === 'symlink') {
      mkdirSync(path.dirname(target), {recursive: true})
      symlinkSync(entry.linkTarget!, target)
    } else if (entry.type === 'file') {
      mkdirSync(path.dirname(target), {recursive: true})
      await pipeline(entry.body(), createWriteStream(target, {mode: entry.mode & 0o777}))
    }
  }
}
