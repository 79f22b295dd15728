/** `sai emulate` as a use-case: load specs, start the backend, the emulator and its endpoint. */
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import type {Backend} from '../emulator/backends/backend.js'
import type {DockerBackend} from '../emulator/backends/docker-backend.js'
import type {ImageStore} from '../emulator/backends/docker-images.js'
import {CodeLoadError, CodeRejectedError, FunctionRegistry, type CodeLoader, type PackagedSettings} from '../emulator/control-api/registry.js'
import {Emulator} from '../emulator/emulator.js'
import {startServiceEndpoint, type ServiceEndpoint} from '../emulator/invoke-api/server.js'
import {InvalidReferenceError, RegistryError} from '../packager/oci/registry.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'
import {functionSpecSchema} from '../spec/schema.js'

export type BackendName = 'process' | 'docker'

export interface EmulateOptions {
  specPaths?: string[]
  /** Packages built by `sai package` (OCI layouts, docker-archives, or .zip files): their own bytes are run. */
  imagePaths?: string[]
  /** Already-loaded specs (bench builds its own). */
  specs?: FunctionSpec[]
  /** Start with no functions at all (not even ./sai.yaml): they come through the control plane's CreateFunction. */
  empty?: boolean
  /** Shortest time a function created or updated through the control plane stays Pending or InProgress. */
  minTransitionMs?: number
  host: string
  port: number
  backend: BackendName
  keepAliveSeconds: number
  accountConcurrency?: number
  asyncRetryDelaysMs?: [number, number]
  /** false forces the RSS watch even where cgroups work. */
  cgroups?: boolean
  /** Docker backend: the network containers join (default: the host's, so the Runtime API stays on loopback). */
  dockerNetwork?: string
  /** Freeze environments between invokes, as Lambda does. */
  freeze?: boolean
  onInternalError?: (error: unknown) => void
}

export interface RunningEmulator {
  emulator: Emulator
  endpoint: ServiceEndpoint
  /** The control plane's functions, versions and aliases. */
  registry: FunctionRegistry
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export function loadSpecs(paths: string[]): FunctionSpec[] {
  const specs = paths.map((p) => loadSpec(p))
  const seen = new Map<string, string>()
  for (const spec of specs) {
    const other = seen.get(spec.name)
    if (other) {
      throw new SaiError('SAI_FUNCTION_NAME_CONFLICT', `two specs declare the function "${spec.name}": ${other} and ${spec.specPath}`, {
        hint: 'give each function a unique name field',
      })
    }
    seen.set(spec.name, spec.specPath)
  }
  return specs
}

async function createBackend(options: EmulateOptions, sessionId: string): Promise<Backend> {
  // Backends load lazily: the Docker one pulls in its client only when chosen.
  switch (options.backend) {
    case 'process': {
      const {ProcessBackend} = await import('../emulator/backends/process-backend.js')
      return new ProcessBackend({sessionId, cgroups: options.cgroups})
    }
    case 'docker': {
      const {DockerBackend} = await import('../emulator/backends/docker-backend.js')
      return DockerBackend.connect({sessionId, network: options.dockerNetwork})
    }
  }
}

/**
 * On the Docker backend every function runs as a container of its packaged image: a package given
 * with --image is loaded as it is (an OCI layout is turned into an archive first), or pulled by the
 * engine when it is a registry reference; a spec is packaged on this machine's base first (layers
 * come from the cache after the first time).
 */
async function withEngineImages(specs: FunctionSpec[], backend: Backend, tmpDir: string): Promise<FunctionSpec[]> {
  const {ensureImage} = await import('../emulator/backends/docker-images.js')
  const {inspectRegistryImage} = await import('../packager/unpack.js')
  const {packageFunction, defaultCacheDir} = await import('./package.js')
  const {readImage} = await import('../packager/oci/layout.js')
  const {writeDockerArchive} = await import('../packager/oci/docker-archive.js')
  const store = backend as DockerBackend
  return Promise.all(
    specs.map(async (spec, i) => {
      // Already in the engine (bench reuses it across configurations).
      if (spec.image !== undefined) return spec
      const source = spec.packageSource
      let archive = path.join(tmpDir, `${i}.tar`)
      if (source === undefined) {
        await packageFunction({specPath: spec.specPath, spec, base: 'host', sourceDateEpoch: 0, minCosine: 0.99, cacheDir: defaultCacheDir(), output: {kind: 'docker-archive', file: archive}})
      } else if (source.endsWith('.zip')) {
        throw new SaiError('SAI_IMAGE_UNSUPPORTED', `${source} is a zip package: the Docker backend runs images`, {hint: 'package an image (--output docker-archive:FILE or oci:DIR), or run the zip on the process backend'})
      } else if (existsSync(source) && statSync(source).isDirectory()) {
        await writeDockerArchive(await readImage(source), archive, {repoTags: [`${spec.name}:latest`]})
      } else if (existsSync(source)) {
        archive = source
      } else {
        // Not a file: a registry reference (as unpackImages read it). Pulled by the digest its tag
        // names now: an older image the engine holds under that tag is never run.
        const {pinned} = await inspectRegistryImage(source)
        return {...spec, image: await ensureImage(store, {pinned})}
      }
      return {...spec, image: await ensureImage(store, {archive})}
    }),
  )
}

/** Unpacks images (and zips, by their .zip name) into one temp directory; `remove` deletes it. */
export async function unpackImages(imagePaths: string[]): Promise<{specs: FunctionSpec[]; remove(): void}> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sai-image-'))
  const remove = () => rmSync(root, {recursive: true, force: true})
  try {
    const {unpackImage, unpackZip} = await import('../packager/unpack.js')
    const specs: FunctionSpec[] = []
    for (const [i, image] of imagePaths.entries()) {
      const dir = path.join(root, String(i))
      specs.push(image.endsWith('.zip') ? await unpackZip(image, dir) : await unpackImage(image, dir))
    }
    return {specs, remove}
  } catch (error) {
    remove()
    throw error
  }
}

export async function startEmulation(options: EmulateOptions): Promise<RunningEmulator> {
  const images = options.imagePaths?.length ? await unpackImages(options.imagePaths) : undefined
  try {
    // ./sai.yaml is the default only when nothing else was given to serve.
    const fromSpecs = options.specs ?? (options.specPaths?.length ? loadSpecs(options.specPaths) : images || options.empty ? [] : loadSpecs(['sai.yaml']))
    const specs = [...fromSpecs, ...(images?.specs ?? [])]
    return await startWithSpecs(options, specs, images?.remove)
  } catch (error) {
    images?.remove()
    throw error
  }
}

async function startWithSpecs(options: EmulateOptions, given: FunctionSpec[], cleanup?: () => void): Promise<RunningEmulator> {
  const sessionId = randomBytes(4).toString('hex')
  const backend = await createBackend(options, sessionId)
  let specs = given
  if (options.backend === 'docker') {
    const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'sai-docker-'))
    try {
      specs = await withEngineImages(given, backend, tmpDir)
    } catch (error) {
      await backend.close()
      throw error
    } finally {
      rmSync(tmpDir, {recursive: true, force: true})
    }
  }
  const emulator = new Emulator({
    functions: specs,
    backend,
    sessionId,
    // 127.0.0.1, except for containers on a Docker network of their own: its gateway (--docker-network).
    runtimeApiHost: backend.runtimeApiHost,
    freeze: options.freeze,
    keepAliveSeconds: options.keepAliveSeconds,
    accountConcurrency: options.accountConcurrency,
    asyncRetryDelaysMs: options.asyncRetryDelaysMs,
  })
  const onInternalError = options.onInternalError ?? ((e: unknown) => console.error(e))
  // Code created through the control plane is unpacked here, one directory per upload.
  const codeRoot = mkdtempSync(path.join(os.tmpdir(), 'sai-functions-'))
  const registry = new FunctionRegistry(emulator, {
    loader: functionCodeLoader(codeRoot, options.backend === 'docker' ? (backend as DockerBackend) : undefined),
    accountConcurrency: options.accountConcurrency ?? 1000,
    minTransitionMs: options.minTransitionMs,
    onInternalError,
  })
  const removeCode = () => rmSync(codeRoot, {recursive: true, force: true})
  let endpoint: ServiceEndpoint
  try {
    endpoint = await startServiceEndpoint(emulator, options.host, options.port, onInternalError, registry)
  } catch (error) {
    await emulator.close()
    removeCode()
    const code = (error as NodeJS.ErrnoException).code
    throw new SaiError('SAI_PORT_IN_USE', `cannot listen on ${options.host}:${options.port}: ${code ?? (error as Error).message}`, {
      hint: code === 'EADDRINUSE' ? 'another process (maybe another `sai emulate`) uses that port: stop it or pass --port' : 'check --host names an address of this machine',
      cause: error,
    })
  }
  try {
    await emulator.start()
  } catch (error) {
    registry.close()
    await Promise.all([endpoint.close(), emulator.close()])
    removeCode()
    throw error
  }
  const close = async () => {
    await endpoint.close()
    registry.close()
    await emulator.close()
    removeCode()
    cleanup?.()
  }
  return {emulator, endpoint, registry, close, [Symbol.asyncDispose]: close}
}

/** sai.yaml's defaults, from the schema that defines them. */
const SPEC_DEFAULTS = functionSpecSchema.parse({name: 'defaults', handler: 'index.handler'})

/** A package's settings from the fields `sai package` recorded (its label or .sai/function.json). */
function packagedSettings(fields: Record<string, unknown>, handler?: string): PackagedSettings {
  const pick = <T>(value: unknown, fallback: T, valid: (v: unknown) => boolean): T => (valid(value) ? (value as T) : fallback)
  const isInt = (v: unknown) => Number.isInteger(v)
  return {
    memory: pick(fields.memory, SPEC_DEFAULTS.memory, isInt),
    timeout: pick(fields.timeout, SPEC_DEFAULTS.timeout, isInt),
    ephemeralStorage: pick(fields.ephemeralStorage, SPEC_DEFAULTS.ephemeralStorage, isInt),
    architecture: pick(fields.architecture, SPEC_DEFAULTS.architecture, (v) => v === 'x86_64' || v === 'arm64'),
    runtime: pick(fields.runtime, SPEC_DEFAULTS.runtime, (v) => typeof v === 'string'),
    ...(handler === undefined ? {} : {handler}),
  }
}

const messageOf = (error: unknown) => {
  const e = error as Error & {hint?: string}
  return e.hint ? `${e.message} (${e.hint})` : e.message
}

/**
 * Code given to the control plane, made runnable as `sai emulate --zip` and `--image REF` make it:
 * a zip is extracted, an image's own layers are pulled from its registry (plain HTTP for loopback
 * registries) — and, given an engine (the Docker backend), the whole image is pulled into it too.
 * What sai cannot run is refused while CreateFunction waits; a pull or an extraction that fails
 * later fails the function.
 */
function functionCodeLoader(root: string, engine: ImageStore | undefined): CodeLoader {
  const directory = (prefix: string) => mkdtempSync(path.join(root, prefix))
  return {
    async inspect(code) {
      const {readZipFunction, inspectRegistryImage, unpackZip, unpackImage, ZIP_HANDLER_NAME} = await import('../packager/unpack.js')
      if (code.packageType === 'Zip') {
        if (engine) {
          throw new CodeRejectedError('sai emulate --backend docker runs images: zip functions run on the process backend (start sai emulate without --backend docker, or create the function with PackageType Image)')
        }
        const bytes = code.zipFile
        let fields: Record<string, unknown>
        try {
          fields = await readZipFunction(bytes)
        } catch (error) {
          if (error instanceof SaiError) throw new CodeRejectedError(`Could not unzip uploaded file: ${messageOf(error)}`)
          throw error
        }
        return {
          packageType: 'Zip',
          codeSha256: createHash('sha256').update(bytes).digest('base64'),
          codeSize: bytes.byteLength,
          packaged: packagedSettings(fields, ZIP_HANDLER_NAME),
          async load() {
            const dir = directory('zip-')
            const file = path.join(dir, 'code.zip')
            try {
              writeFileSync(file, bytes)
              const spec = await unpackZip(file, dir)
              rmSync(file)
              return {spec, remove: () => rmSync(dir, {recursive: true, force: true})}
            } catch (error) {
              rmSync(dir, {recursive: true, force: true})
              if (error instanceof SaiError) throw new CodeLoadError('InvalidZipFileException', messageOf(error))
              throw error
            }
          },
        }
      }
      const uri = code.imageUri
      let image: Awaited<ReturnType<typeof inspectRegistryImage>>
      try {
        image = await inspectRegistryImage(uri)
      } catch (error) {
        if (error instanceof InvalidReferenceError) throw new CodeRejectedError(`Source image ${uri} is not valid. Provide a valid source image. (${error.message})`)
        if (!(error instanceof SaiError)) throw error
        if (error.cause instanceof RegistryError && error.cause.category === 'not-found') throw new CodeRejectedError(`Source image ${uri} does not exist. Provide a valid source image.`)
        if (error.code === 'SAI_IMAGE_INVALID') throw new CodeRejectedError(`${messageOf(error)}. sai emulate runs images built by sai package.`)
        throw new CodeRejectedError(`sai emulate cannot pull the source image ${uri}: ${messageOf(error)}`)
      }
      return {
        packageType: 'Image',
        codeSha256: image.digest.slice(image.digest.indexOf(':') + 1),
        codeSize: 0,
        imageUri: uri,
        resolvedImageUri: image.pinned,
        packaged: packagedSettings(image.fields),
        async load() {
          const dir = directory('image-')
          try {
            // The digest accepted at CreateFunction, whatever the tag points at now.
            const spec = await unpackImage(image.pinned, dir)
            const remove = () => rmSync(dir, {recursive: true, force: true})
            if (!engine) return {spec, remove}
            const {ensureImage} = await import('../emulator/backends/docker-images.js')
            return {spec: {...spec, image: await ensureImage(engine, {pinned: image.pinned})}, remove}
          } catch (error) {
            rmSync(dir, {recursive: true, force: true})
            if (!(error instanceof SaiError)) throw error
            const cause = error.cause instanceof RegistryError ? error.cause.category : undefined
            const reason = error.code === 'SAI_REGISTRY_UNREACHABLE' || error.code === 'SAI_REGISTRY_UNAUTHORIZED' ? 'ImageAccessDenied' : cause === 'not-found' ? 'ImageDeleted' : 'InvalidImage'
            throw new CodeLoadError(reason, messageOf(error))
          }
        },
      }
    },
  }
}
