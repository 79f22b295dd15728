/** `sai emulate` as a use-case: load specs, start the backend, the emulator and its endpoint. */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import type {Backend} from '../emulator/backends/backend.js'
import {Emulator} from '../emulator/emulator.js'
import {startServiceEndpoint, type ServiceEndpoint} from '../emulator/invoke-api/server.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'

export type BackendName = 'process'

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

async function createBackend(name: BackendName, sessionId: string, cgroups: boolean | undefined): Promise<Backend> {
  // Backends load lazily: the Docker one (later) pulls in its client only when chosen.
  switch (name) {
    case 'process': {
      const {ProcessBackend} = await import('../emulator/backends/process-backend.js')
      return new ProcessBackend({sessionId, cgroups})
    }
  }
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
    return await startWithSpecs(options, [...(options.specs ?? (options.specPaths?.length || !images ? loadSpecs(options.specPaths ?? ['sai.yaml']) : [])), ...(images?.specs ?? [])], images?.remove)
  } catch (error) {
    images?.remove()
    throw error
  }
}

async function startWithSpecs(options: EmulateOptions, specs: FunctionSpec[], cleanup?: () => void): Promise<RunningEmulator> {
  const sessionId = randomBytes(4).toString('hex')
  const backend = await createBackend(options.backend, sessionId, options.cgroups)
  const emulator = new Emulator({
    functions: specs,
    backend,
    sessionId,
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
