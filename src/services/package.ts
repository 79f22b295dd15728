/**
 * `sai package` as a use-case: spec → layers (runtime and pruned dependencies, model, function) on a
 * base → an image checked against Lambda's rules → an OCI layout, a docker-archive, or a registry.
 * No Docker daemon: every byte is written here, reproducibly.
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import {hostBase} from '../packager/base/host.js'
import {functionLayer, MODEL_DIR, modelLayer, runtimeLayer, TASK_ROOT} from '../packager/function-layers.js'
import {writeDockerArchive} from '../packager/oci/docker-archive.js'
import {buildImage, envRecord, type BaseImage, type Image, type ImageConfigInput} from '../packager/oci/image.js'
import type {BuiltLayer} from '../packager/oci/layer.js'
import {buildLayerCached} from '../packager/oci/layer-cache.js'
export {defaultCacheDir} from '../packager/oci/layer-cache.js'
import {checkLambdaRules} from '../packager/oci/lambda-rules.js'
import {OutputExistsError, writeOciLayout} from '../packager/oci/layout.js'
import {InvalidReferenceError, parseEcrHost, parseReference, RegistryClient, withRegistryErrors, type RegistryCredentials} from '../packager/oci/registry.js'
import type {LayerEntry, LayerSpec} from '../packager/oci/types.js'
import {writeZip, ZIP_LIMITS} from '../packager/zip.js'
import {ZIP_HANDLER_NAME} from '../packager/unpack.js'
import {SAI_BOOTSTRAP} from '../emulator/emulator.js'
import {inspectModel} from '../packager/model/inspect.js'
import {optimizeModel} from '../packager/model/optimize.js'
import {quantizeModelFile, type QuantizeMode, type QuantizeReport} from '../packager/model/quantize.js'
import {verifyModel, type ModelCost, type OutputAgreement} from '../packager/model/verify.js'
import {bundleFunction, pruneDependencies} from '../packager/prune/dependencies.js'
import {splitHandler} from '../runtime/handler-loader.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'

export type Output = {kind: 'oci'; dir: string} | {kind: 'docker-archive'; file: string} | {kind: 'registry'; reference: string} | {kind: 'zip'; file: string}

export interface PackageOptions {
  specPath: string
  /** An already-loaded spec to package instead of reading specPath (the emulator's, for Docker). */
  spec?: FunctionSpec
  /** "host", or a registry reference such as public.ecr.aws/lambda/nodejs:22; default: see defaultBase. */
  base?: string
  architecture?: 'x86_64' | 'arm64'
  output: Output
  /** SOURCE_DATE_EPOCH: every mtime in every layer, and the config's dates. */
  sourceDateEpoch: number
  credentials?: RegistryCredentials
  /** onnxruntime's offline graph optimization (level extended: portable across CPUs). */
  optimize?: {format: 'onnx' | 'ort'}
  quantize?: QuantizeMode
  /** The accuracy gate on an optimized model: every output's cosine similarity at least this. */
  minCosine: number
  /** Where built layers are kept between builds; undefined: no cache. */
  cacheDir?: string
  /** Bundle the handler and its imports into one module (esbuild); onnxruntime-node and native packages stay external. */
  bundle?: boolean
  onProgress?(message: string): void
}

export interface ModelReport {
  original: {file: string; bytes: number}
  packaged: {name: string; bytes: number}
  quantize?: Pick<QuantizeReport, 'mode' | 'reduceRange' | 'bytesBefore' | 'bytesAfter' | 'sizeRatio' | 'gainsLittle' | 'summary' | 'left' | 'notes'> & {converted: number}
  optimize?: {level: string; format: string; bytesAfter: number}
  accuracy?: {inputs: 'requests' | 'random'; samples: number; minCosine: number; passed: boolean; outputs: OutputAgreement[]; before: ModelCost; after: ModelCost; notes: string[]}
}

export interface LayerReport {
  name: string
  digest: string
  /** Compressed, as stored and pulled. */
  bytes: number
  uncompressedBytes: number
  entries: number
  origin: 'base' | 'built'
  /** Reused from the layer cache, not rebuilt. */
  cached: boolean
}

export interface PackageResult {
  function: string
  format: 'image' | 'zip'
  architecture: 'x86_64' | 'arm64'
  /** Images: the base. Zips: the managed runtime they target. */
  base: string
  output: string
  /** Images only. */
  manifestDigest?: string
  mediaType?: string
  layers: LayerReport[]
  /** Zips only: what to configure on Lambda, and the sizes Lambda limits. */
  zip?: {handler: string; runtime: string; bytes: number; uncompressedBytes: number; entries: number}
  /** Which format should cold-start faster for this function, and why. */
  advice: string
  dependencies: {bytesBefore: number; bytesAfter: number; packages: {name: string; version: string; bytesBefore: number; bytesAfter: number}[]}
  /** Layers sai added, compressed: what a deploy uploads on top of the base. */
  addedBytes: number
  /** --bundle: the one module that replaced the function's JS files. */
  bundled?: {module: string; bytes: number; sourceBytes: number; inputs: number}
  model?: ModelReport
  pushed?: {uploaded: number; skipped: number; mounted: number; bytesUploaded: number}
}

/** `oci:DIR`, `docker-archive:FILE`, `registry:HOST/REPO:TAG` or `zip:FILE`; `format`, when given, must agree. */
export function parseOutput(text: string, format?: 'image' | 'zip'): Output {
  const output = parseOutputKind(text)
  if (format !== undefined && (output.kind === 'zip') !== (format === 'zip')) {
    throw new SaiError('SAI_OUTPUT_INVALID', `--format ${format} cannot be written to --output ${text}`, {
      hint: format === 'zip' ? 'give a zip file: --output zip:FILE' : 'give an image output: oci:DIR, docker-archive:FILE or registry:HOST/REPO:TAG',
    })
  }
  return output
}

function parseOutputKind(text: string): Output {
  const at = text.indexOf(':')
  const [kind, rest] = at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
  if (rest && kind === 'oci') return {kind, dir: path.resolve(rest)}
  if (rest && kind === 'docker-archive') return {kind, file: path.resolve(rest)}
  if (rest && kind === 'registry') return {kind, reference: rest}
  if (rest && kind === 'zip') return {kind, file: path.resolve(rest)}
  throw new SaiError('SAI_OUTPUT_INVALID', `--output ${text}: expected oci:DIR, docker-archive:FILE, registry:HOST/REPO:TAG or zip:FILE`, {
    hint: 'e.g. --output oci:build/image, --output docker-archive:image.tar, --output registry:127.0.0.1:5000/det:latest, --output zip:det.zip',
  })
}

/**
 * AWS's own base when the image goes to ECR (what Lambda caches best, with the spec's Node major),
 * else this machine's: offline, and the smallest image.
 */
export function defaultBase(spec: FunctionSpec, output: Output): string {
  const toEcr = output.kind === 'registry' && parseEcrHost(output.reference.split('/')[0]!) !== undefined
  return toEcr ? `public.ecr.aws/lambda/nodejs:${/nodejs(\d+)/.exec(spec.runtime)![1]}` : 'host'
}

/** The environment the image gives the runtime: the function's variables and sai's. */
function imageEnvironment(spec: FunctionSpec, modelName: string | undefined): Record<string, string> {
  const env: Record<string, string> = {...spec.environment}
  if (modelName !== undefined) env.SAI_MODEL = `${path.posix.relative(TASK_ROOT, MODEL_DIR)}/${modelName}`
  if (spec.batch !== undefined) env.SAI_BATCH_LIMIT = String(spec.batch)
  if (spec.intraOpNumThreads !== undefined) env.SAI_INTRA_OP_THREADS = String(spec.intraOpNumThreads)
  return env
}

async function resolveBase(options: ImageOptions, architecture: 'x86_64' | 'arm64', tmpDir: string) {
  if (options.base === 'host') {
    options.onProgress?.('base: this machine (node, its libraries, CA certificates)')
    const host = await hostBase()
    if (host.architecture !== architecture) {
      throw new SaiError('SAI_ARCHITECTURE_MISMATCH', `--base host builds for this machine's architecture, ${host.architecture}; the function targets ${architecture}`, {
        hint: `build on a ${architecture} machine, or use a registry base for ${architecture}`,
      })
    }
    const layer = await buildLayerCached(host.layer, {sourceDateEpoch: options.sourceDateEpoch, tmpDir, cacheDir: options.cacheDir})
    const config: ImageConfigInput = {env: envRecord(host.config.Env), entrypoint: host.config.Entrypoint, workingDir: host.config.WorkingDir, user: host.config.User}
    return {layers: [layer], config, base: undefined, description: `host (node ${host.node.version}, glibc ${host.glibc})`}
  }
  const reference = parseReferenceOrFail(options.base, '--base')
  options.onProgress?.(`base: ${options.base}`)
  const client = new RegistryClient(reference.registry, {credentials: options.credentials})
  const pulled = await withRegistryErrors(() => client.pull(reference, {platform: {os: 'linux', architecture: architecture === 'x86_64' ? 'amd64' : 'arm64'}}), options.base)
  const base: BaseImage = {
    manifest: JSON.parse(pulled.manifest.bytes.toString('utf8')),
    config: JSON.parse(pulled.config.bytes.toString('utf8')),
    blobs: {open: (descriptor) => client.openBlob(reference.repository, descriptor)},
    name: options.base,
    digest: pulled.manifest.descriptor.digest,
  }
  return {layers: [] as BuiltLayer[], config: {entrypoint: ['/var/lang/bin/node', '/var/runtime/sai/bootstrap.js']} as ImageConfigInput, base, description: options.base}
}

function parseReferenceOrFail(text: string, flag: string) {
  try {
    return parseReference(text)
  } catch (error) {
    if (!(error instanceof InvalidReferenceError)) throw error
    throw new SaiError('SAI_OUTPUT_INVALID', `${flag} ${text}: ${error.message}`, {hint: 'write the full reference: HOST[:PORT]/REPOSITORY[:TAG]'})
  }
}

export async function packageFunction(options: PackageOptions): Promise<PackageResult> {
  const spec = options.spec ?? loadSpec(options.specPath)
  const architecture = options.architecture ?? spec.architecture
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'sai-package-'))
  try {
    if (options.output.kind === 'zip') return await packageZip(spec, architecture, options, options.output.file, tmpDir)
    return await packageImage(spec, architecture, {...options, base: options.base ?? defaultBase(spec, options.output)}, tmpDir)
  } finally {
    rmSync(tmpDir, {recursive: true, force: true})
  }
}

type ImageOptions = PackageOptions & {base: string}

/**
 * The function's code and its dependencies: its directory and what it imports, or — with --bundle —
 * one module in place of its JS files, and only the packages the bundle leaves external.
 */
async function functionContent(spec: FunctionSpec, architecture: 'x86_64' | 'arm64', options: PackageOptions, runtimeDir?: null) {
  options.onProgress?.('dependencies: pruning production packages')
  if (!options.bundle || spec.handler === undefined) {
    const dependencies = await pruneDependencies({dir: spec.dir, modelPath: spec.modelPath, handler: spec.handler, architecture, runtimeDir})
    return {dependencies, code: functionLayer(spec), bundled: undefined}
  }
  const {modulePath} = splitHandler(spec.handler)
  const source = ['.js', '.mjs', '.cjs'].map((ext) => path.join(spec.dir, modulePath + ext)).find((file) => existsSync(file))!
  options.onProgress?.(`bundling ${path.relative(spec.dir, source)}`)
  const bundle = await bundleFunction(source, {external: ['onnxruntime-node']})
  const packages = bundle.externals.filter((name) => name !== 'onnxruntime-node')
  const dependencies = await pruneDependencies({dir: spec.dir, modelPath: spec.modelPath, architecture, runtimeDir, packages})
  const layer = functionLayer(spec)
  const bundledPath = `${TASK_ROOT}/${modulePath}.mjs`
  const code: LayerSpec = {
    name: layer.name,
    entries: [...layer.entries.filter((e) => !/\.(m|c)?js$/.test(e.path)), {path: bundledPath, type: 'file', mode: 0o644, source: {bytes: bundle.code}}],
  }
  const before = layer.entries.filter((e) => /\.(m|c)?js$/.test(e.path) && e.source && 'file' in e.source).reduce((sum, e) => sum + statSync((e.source as {file: string}).file).size, 0)
  return {dependencies, code, bundled: {module: bundledPath, bytes: bundle.code.length, sourceBytes: before, inputs: bundle.inputs.length}}
}

async function packageImage(spec: FunctionSpec, architecture: 'x86_64' | 'arm64', options: ImageOptions, tmpDir: string): Promise<PackageResult> {
  const base = await resolveBase(options, architecture, tmpDir)
  const {dependencies, code, bundled} = await functionContent(spec, architecture, options)
  const model = spec.modelPath === undefined ? undefined : await prepareModel(spec, spec.modelPath, options, tmpDir)
  const modelName = model?.packaged.name
  const specs: LayerSpec[] = [runtimeLayer(dependencies.layer), ...(model ? [modelLayer(model.file, model.packaged.name)] : []), code]
  const built: BuiltLayer[] = []
  for (const layerSpec of specs) {
    options.onProgress?.(`layer: ${layerSpec.name} (${layerSpec.entries.length} entries)`)
    built.push(await buildLayerCached(layerSpec, {sourceDateEpoch: options.sourceDateEpoch, tmpDir, cacheDir: options.cacheDir}))
  }
  const image = buildImage({
    architecture,
    layers: [...base.layers, ...built],
    base: base.base,
    sourceDateEpoch: options.sourceDateEpoch,
    config: {
      ...base.config,
      env: {...base.config.env, ...imageEnvironment(spec, modelName)},
      cmd: spec.handler ? [spec.handler] : undefined,
      workingDir: TASK_ROOT,
      labels: {'dev.sai.function': JSON.stringify(specLabel(spec))},
    },
  })
  const violations = await checkLambdaRules(image, {architecture})
  if (violations.length > 0) {
    throw new SaiError('SAI_IMAGE_INVALID', `the image breaks ${violations.length} of AWS Lambda's rules:\n${violations.map((v) => `  - ${v.rule}${v.layer ? ` (layer ${v.layer})` : ''}: ${v.found}; fix: ${v.fix}`).join('\n')}`, {
      hint: 'Lambda would refuse this image at deploy time; fix each rule above (all are listed, not just the first)',
    })
  }
  const pushed = await writeOutput(image, options, spec)
  const cachedDigests = new Set([...base.layers, ...built].filter((l) => 'cached' in l && l.cached).map((l) => l.descriptor.digest))
  const layers: LayerReport[] = image.layers.map((layer) => ({
    name: layer.name ?? (layer.origin === 'base' ? 'base' : 'layer'),
    digest: layer.descriptor.digest,
    bytes: layer.descriptor.size,
    uncompressedBytes: layer.uncompressedSize ?? 0,
    entries: layer.paths?.length ?? 0,
    origin: layer.origin === 'base' ? 'base' : 'built',
    cached: cachedDigests.has(layer.descriptor.digest),
  }))
  const compressed = built.reduce((sum, layer) => sum + layer.descriptor.size, 0)
  const uncompressed = built.reduce((sum, layer) => sum + layer.uncompressedSize, 0)
  return {
    function: spec.name,
    format: 'image',
    advice: formatAdvice('image', compressed, uncompressed),
    architecture,
    base: base.description,
    output: describeOutput(options.output),
    manifestDigest: image.manifest.descriptor.digest,
    mediaType: image.manifest.descriptor.mediaType,
    layers,
    dependencies: {
      bytesBefore: dependencies.bytesBefore,
      bytesAfter: dependencies.bytesAfter,
      packages: dependencies.packages.map(({name, version, bytesBefore, bytesAfter}) => ({name, version, bytesBefore, bytesAfter})),
    },
    addedBytes: built.reduce((sum, layer) => sum + layer.descriptor.size, 0),
    model: model && {original: model.original, packaged: model.packaged, quantize: model.quantize, optimize: model.optimize, accuracy: model.accuracy},
    bundled,
    pushed,
  }
}

/**
 * The model that ships: as it is, or quantized and/or optimized — then checked against the original
 * on the function's sample events (or valid random inputs), and refused below --min-cosine.
 */
async function prepareModel(spec: FunctionSpec, modelPath: string, options: PackageOptions, tmpDir: string): Promise<ModelReport & {file: string}> {
  const name = path.basename(modelPath)
  const original = {file: modelPath, bytes: statSync(modelPath).size}
  // A model onnxruntime cannot load would only fail on Lambda, at its first cold start: refuse it here.
  options.onProgress?.(`model: loading ${name} with onnxruntime`)
  const inspected = await inspectModel(modelPath)
  await inspected.session.release()
  if (!options.quantize && !options.optimize) return {file: modelPath, original, packaged: {name, bytes: original.bytes}}
  let file = modelPath
  const report: ModelReport = {original, packaged: {name, bytes: 0}}
  if (options.quantize) {
    options.onProgress?.(`model: quantizing (${options.quantize})`)
    const quantized = path.join(tmpDir, `quantized-${name}`)
    const q = await quantizeModelFile(file, quantized, {mode: options.quantize})
    const {mode, reduceRange, bytesBefore, bytesAfter, sizeRatio, gainsLittle, summary, left, notes} = q
    report.quantize = {mode, reduceRange, bytesBefore, bytesAfter, sizeRatio, gainsLittle, summary, left, notes, converted: q.converted.length}
    file = quantized
  }
  if (options.optimize) {
    options.onProgress?.(`model: optimizing (extended, ${options.optimize.format})`)
    const optimized = path.join(tmpDir, `optimized-${name.replace(/\.onnx$/, '')}.${options.optimize.format}`)
    const o = await optimizeModel(file, optimized, {level: 'extended', format: options.optimize.format})
    report.optimize = {level: o.level, format: o.format, bytesAfter: o.bytesAfter}
    file = optimized
  }
  options.onProgress?.('model: checking accuracy against the original')
  const verified = await verifyModel(modelPath, file, {requests: sampleRequests(spec)})
  const passed = verified.passes(options.minCosine)
  report.accuracy = {inputs: verified.inputs, samples: verified.samples, minCosine: options.minCosine, passed, outputs: verified.outputs, before: verified.before, after: verified.after, notes: verified.notes}
  if (!passed) {
    const worst = [...verified.outputs].sort((a, b) => a.cosine - b.cosine)[0]
    throw new SaiError('SAI_ACCURACY_GATE', `the ${[options.quantize, options.optimize && 'optimized'].filter(Boolean).join(' + ')} model disagrees with the original: output ${worst?.name} has cosine similarity ${worst?.cosine.toFixed(5)} (at least ${options.minCosine} required; max abs error ${worst?.maxAbsError.toPrecision(3)})`, {
      hint: 'package without this optimization, try another --quantize mode (fp16 keeps accuracy best), or lower --min-cosine if the error is acceptable',
    })
  }
  const packagedName = file === modelPath ? name : `${name.replace(/\.onnx$/, '')}.${options.optimize?.format ?? 'onnx'}`
  report.packaged = {name: packagedName, bytes: statSync(file).size}
  return {...report, file}
}

/** The function's sample events, when it has any: the accuracy gate runs on real requests. */
function sampleRequests(spec: FunctionSpec): unknown[] | undefined {
  const dir = path.join(spec.dir, 'events')
  if (!existsSync(dir)) return undefined
  const requests = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as unknown)
  return requests.length > 0 ? requests : undefined
}

/** The handler Lambda is configured with for a zip package: the generated module at its root. */
export const ZIP_HANDLER = ZIP_HANDLER_NAME
const ZIP_HANDLER_BUNDLE = path.join(path.dirname(SAI_BOOTSTRAP), 'zip-handler.js')

/**
 * Zip on AWS's managed runtime: lambda-perf measures nodejs20.x zip inits at ≈141 ms p50 against
 * ≈262 ms for images (REFERENCE.md), for small functions; beyond the zip limits only an image works.
 */
function formatAdvice(format: 'image' | 'zip', compressedBytes: number, uncompressedBytes: number): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
  const fits = compressedBytes <= ZIP_LIMITS.zippedBytes && uncompressedBytes <= ZIP_LIMITS.unzippedBytes
  if (format === 'zip') return `zip: Lambda initializes zip packages of small Node functions about twice as fast as images (lambda-perf, nodejs20.x: Init Duration p50 ≈141 ms zip vs ≈262 ms image); this one is ${mb(compressedBytes)} zipped (limit 50 MB) and ${mb(uncompressedBytes)} unzipped (limit 250 MB)`
  if (fits) return `this function would fit a zip package (≈${mb(compressedBytes)} compressed, ${mb(uncompressedBytes)} uncompressed): zip inits are about twice as fast as images for small Node functions (lambda-perf: ≈141 vs ≈262 ms p50) — try --output zip:FILE`
  return `an image is the only choice: ${mb(uncompressedBytes)} uncompressed is beyond a zip's limits (50 MB zipped, 250 MB unzipped); Lambda loads image chunks lazily, so bytes never read at init cost little`
}

async function packageZip(spec: FunctionSpec, architecture: 'x86_64' | 'arm64', options: PackageOptions, file: string, tmpDir: string): Promise<PackageResult> {
  // No runtime directory: on the managed runtime, sai's handler module sits in the task root beside node_modules.
  const {dependencies, code, bundled} = await functionContent(spec, architecture, options, null)
  const model = spec.modelPath === undefined ? undefined : await prepareModel(spec, spec.modelPath, options, tmpDir)
  const settings = {model: model && `${path.posix.relative(TASK_ROOT, MODEL_DIR)}/${model.packaged.name}`, handler: spec.handler, batchLimit: spec.batch, intraOpNumThreads: spec.intraOpNumThreads}
  const shim = `// Generated by sai package. Lambda's handler setting: "${ZIP_HANDLER}".\nimport {createHandler} from './.sai/zip-handler.mjs'\n\nexport const handler = await createHandler(${JSON.stringify(settings)})\n`
  const entries: LayerEntry[] = [
    ...dependencies.layer.entries,
    ...(model ? modelLayer(model.file, model.packaged.name).entries : []),
    ...code.entries,
    {path: `${TASK_ROOT}/.sai/zip-handler.mjs`, type: 'file', mode: 0o644, source: {file: ZIP_HANDLER_BUNDLE}},
    {path: `${TASK_ROOT}/.sai/function.json`, type: 'file', mode: 0o644, source: {bytes: Buffer.from(JSON.stringify({...specLabel(spec), environment: spec.environment}))}},
    {path: `${TASK_ROOT}/sai-handler.mjs`, type: 'file', mode: 0o644, source: {bytes: Buffer.from(shim)}},
  ]
  const unzipped = entries.reduce((sum, e) => sum + (e.source && 'file' in e.source ? statSync(e.source.file).size : e.source && 'bytes' in e.source ? e.source.bytes.length : 0), 0)
  if (unzipped > ZIP_LIMITS.unzippedBytes) {
    throw new SaiError('SAI_ZIP_TOO_LARGE', `${spec.name} is ${(unzipped / 1e6).toFixed(1)} MB unzipped; a Lambda zip package may hold 250 MB (262,144,000 bytes) at most`, {
      hint: 'package it as an image (--output oci:DIR, docker-archive:FILE or registry:REF): images may be 10 GB',
    })
  }
  options.onProgress?.(`writing ${file}`)
  const written = await writeZip(entries, file, options.sourceDateEpoch)
  if (written.bytes > ZIP_LIMITS.zippedBytes) {
    rmSync(file, {force: true})
    throw new SaiError('SAI_ZIP_TOO_LARGE', `${spec.name} is ${(written.bytes / 1e6).toFixed(1)} MB zipped; Lambda accepts a zip of 50 MB (52,428,800 bytes) at most for direct upload`, {
      hint: 'package it as an image instead (--output oci:DIR, docker-archive:FILE or registry:REF), or quantize the model (--quantize int8)',
    })
  }
  return {
    function: spec.name,
    format: 'zip',
    architecture,
    base: `AWS managed runtime ${spec.runtime}`,
    output: `zip:${file}`,
    layers: [],
    zip: {handler: ZIP_HANDLER, runtime: spec.runtime, bytes: written.bytes, uncompressedBytes: written.uncompressedBytes, entries: written.entries},
    advice: formatAdvice('zip', written.bytes, written.uncompressedBytes),
    dependencies: {
      bytesBefore: dependencies.bytesBefore,
      bytesAfter: dependencies.bytesAfter,
      packages: dependencies.packages.map(({name, version, bytesBefore, bytesAfter}) => ({name, version, bytesBefore, bytesAfter})),
    },
    addedBytes: written.bytes,
    bundled,
    model: model && {original: model.original, packaged: model.packaged, quantize: model.quantize, optimize: model.optimize, accuracy: model.accuracy},
  }
}

/** The spec's settings, carried in the image so `sai emulate --image` runs it as configured. */
function specLabel(spec: FunctionSpec) {
  const {name, memory, timeout, ephemeralStorage, architecture, runtime, reservedConcurrency, provisionedConcurrency, batch, budgets} = spec
  return {name, memory, timeout, ephemeralStorage, architecture, runtime, reservedConcurrency, provisionedConcurrency, batch, budgets: Object.fromEntries(budgets.map((b) => [b.metric, b.limit]))}
}

const describeOutput = (output: Output) => (output.kind === 'oci' ? `oci:${output.dir}` : output.kind === 'docker-archive' ? `docker-archive:${output.file}` : output.kind === 'zip' ? `zip:${output.file}` : `registry:${output.reference}`)

async function writeOutput(image: Image, options: ImageOptions, spec: FunctionSpec): Promise<PackageResult['pushed']> {
  const {output} = options
  try {
    if (output.kind === 'oci') {
      options.onProgress?.(`writing ${output.dir}`)
      await writeOciLayout(image, output.dir, {refName: 'latest'})
      return undefined
    }
    if (output.kind === 'docker-archive') {
      options.onProgress?.(`writing ${output.file}`)
      await writeDockerArchive(image, output.file, {repoTags: [`${spec.name}:latest`]})
      return undefined
    }
  } catch (error) {
    if (!(error instanceof OutputExistsError)) throw error
    throw new SaiError('SAI_FILE_EXISTS', error.message, {hint: 'remove it, or choose another --output path'})
  }
  if (output.kind !== 'registry') throw new Error(`unexpected output kind ${output.kind}`)
  const reference = parseReferenceOrFail(output.reference, '--output registry:')
  const client = new RegistryClient(reference.registry, {credentials: options.credentials})
  const baseReference = options.base === 'host' ? undefined : parseReference(options.base)
  // A base in the same registry is mounted from its repository, never uploaded again.
  const mountFrom = baseReference && baseReference.registry === reference.registry && baseReference.repository !== reference.repository ? [baseReference.repository] : []
  options.onProgress?.(`pushing to ${output.reference}`)
  const result = await withRegistryErrors(
    () =>
      client.push(reference, image.manifest.bytes, {
        blobs: [
          {descriptor: image.config.descriptor, content: image.config.bytes},
          ...image.layers.map((layer) => ({descriptor: layer.descriptor, content: () => layer.open()})),
        ],
        mountFrom,
      }),
    `pushing ${output.reference}`,
  )
  return {uploaded: result.uploaded, skipped: result.skipped, mounted: result.mounted, bytesUploaded: result.bytesUploaded}
}
