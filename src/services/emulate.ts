/** `sai emulate` as a use-case: load specs, start the backend, the emulator and its endpoint. */
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import type {Backend} from '../emulator/backends/backend.js'
import type {DockerBackend} from '../emulator/backends/docker-backend.js'
import {Emulator} from '../emulator/emulator.js'
import {startServiceEndpoint, type ServiceEndpoint} from '../emulator/invoke-api/server.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'

export type BackendName = 'process' | 'docker'

export interface EmulateOptions {
  specPaths?: string[]
  /** Packages built by `sai package` (OCI layouts, docker-archives, or .zip files): their own bytes are run. */
  imagePaths?: string[]
  /** Already-loaded specs (bench builds its own). */
  specs?: FunctionSpec[]
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
 * with --image is loaded as it is (an OCI layout is turned into an archive first); a spec is packaged
 * on this machine's base first (layers come from the cache after the first time).
 */
async function withEngineImages(specs: FunctionSpec[], backend: Backend, tmpDir: string): Promise<FunctionSpec[]> {
  const {ensureImage} = await import('../emulator/backends/docker-images.js')
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
        throw new SaiError('SAI_IMAGE_UNSUPPORTED', `${source}: the Docker backend takes a docker-archive or an OCI layout, not a registry reference`, {hint: 'package the function to a file the engine can load (`sai package --output docker-archive:FILE`), or run the registry image on the process backend'})
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
    const fromSpecs = options.specs ?? (options.specPaths?.length ? loadSpecs(options.specPaths) : images ? [] : loadSpecs(['sai.yaml']))
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
  let endpoint: ServiceEndpoint
  try {
    endpoint = await startServiceEndpoint(emulator, options.host, options.port, options.onInternalError ?? ((e) => console.error(e)))
  } catch (error) {
    await emulator.close()
    const code = (error as NodeJS.ErrnoException).code
    throw new SaiError('SAI_PORT_IN_USE', `cannot listen on ${options.host}:${options.port}: ${code ?? (error as Error).message}`, {
      hint: code === 'EADDRINUSE' ? 'another process (maybe another `sai emulate`) uses that port: stop it or pass --port' : 'check --host names an address of this machine',
      cause: error,
    })
  }
  try {
    await emulator.start()
  } catch (error) {
    await Promise.all([endpoint.close(), emulator.close()])
    throw error
  }
  const close = async () => {
    await endpoint.close()
    await emulator.close()
    cleanup?.()
  }
  return {emulator, endpoint, close, [Symbol.asyncDispose]: close}
}
