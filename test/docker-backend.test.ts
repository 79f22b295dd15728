/**
 * The Docker backend against a real engine: packaged images run as containers with Lambda's
 * sandbox, driven through the real SDK. (.ci/run starts an engine; without one this fails, never skips.)
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DockerBackend} from '../src/emulator/backends/docker-backend.js'
import {ensureImage, type ImageStore} from '../src/emulator/backends/docker-images.js'
import {Emulator} from '../src/emulator/emulator.js'
import {startServiceEndpoint} from '../src/emulator/invoke-api/server.js'
import {SaiError} from '../src/errors/sai-error.js'
import {unpackImage} from '../src/packager/unpack.js'
import {packageFunction} from '../src/services/package.js'
import type {FunctionSpec} from '../src/spec/load.js'
import {emulate, FIXTURES, functionDir, invoke, parseReport, sdkClient} from './helpers.js'

const run = promisify(execFile)
const docker = async (...args: string[]) => (await run('docker', args, {maxBuffer: 16 * 1024 * 1024})).stdout.trim()
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-docker-backend-'))
const cacheDir = path.join(work, 'cache')
const MiB = 1024 * 1024

/** A function whose invoke does a fixed amount of CPU work on two threads: its time shows the CPU share. */
const spinDir = functionDir({
  'sai.yaml': 'name: spin\nhandler: handler.handler\nmemory: 1769\ntimeout: 60\n',
  'handler.mjs': `import {Worker} from 'node:worker_threads'
const work = 'let x = 0; for (let i = 0; i < 300_000_000; i++) x = (x + i) | 0; require("node:worker_threads").parentPort.postMessage(x)'
export const handler = async () => {
  const started = performance.now()
  await Promise.all([0, 1].map(() => new Promise((resolve, reject) => new Worker(work, {eval: true}).once('message', resolve).once('error', reject))))
  return {elapsedMs: performance.now() - started}
}
`,
})

let backend: DockerBackend
beforeAll(async () => {
  backend = await DockerBackend.connect({sessionId: 'images'})
})
afterAll(async () => {
  await backend?.close()
  rmSync(work, {recursive: true, force: true})
  rmSync(spinDir, {recursive: true, force: true})
})

const archives = new Map<string, Promise<string>>()
/** A docker-archive of a function, built once per file. */
function archiveOf(dir: string): Promise<string> {
  let archive = archives.get(dir)
  if (!archive) {
    const file = path.join(work, `${path.basename(dir)}-${archives.size}.tar`)
    archive = packageFunction({specPath: dir, base: 'host', sourceDateEpoch: 0, minCosine: 0.99, cacheDir, output: {kind: 'docker-archive', file}}).then(() => file)
    archives.set(dir, archive)
  }
  return archive
}

/** The function's spec as the image describes it, run from the image in the engine. */
async function imageSpec(dir: string, overrides: Partial<FunctionSpec> = {}): Promise<FunctionSpec> {
  const archive = await archiveOf(dir)
  const image = await ensureImage(backend, {archive})
  const spec = await unpackImage(archive, mkdtempSync(path.join(work, 'root-')))
  return {...spec, image, ...overrides}
}

async function dockerEmulator(specs: FunctionSpec[]) {
  const sessionId = randomBytes(4).toString('hex')
  const dockerBackend = await DockerBackend.connect({sessionId})
  const emulator = new Emulator({functions: specs, backend: dockerBackend, sessionId, keepAliveSeconds: 600})
  const endpoint = await startServiceEndpoint(emulator, '127.0.0.1', 0, (error) => console.error(error))
  await emulator.start()
  const client = sdkClient(endpoint.url)
  return {
    emulator,
    client,
    sessionId,
    close: async () => {
      client.destroy()
      await endpoint.close()
      await emulator.close()
    },
  }
}

const containersOf = async (label: string) => (await docker('ps', '-a', '-q', '--filter', `label=${label}`)).split('\n').filter(Boolean)

interface Inspected {
  Config: {User: string; Labels: Record<string, string>}
  HostConfig: {
    Memory: number; MemorySwap: number; NanoCpus: number; PidsLimit: number; ReadonlyRootfs: boolean; NetworkMode: string
    Tmpfs: Record<string, string>; Ulimits: {Name: string; Soft: number; Hard: number}[]
  }
}
const inspect = async (id: string) => (JSON.parse(await docker('inspect', id)) as [Inspected])[0]

describe('the Docker backend', () => {
  it('says clearly when no engine answers', async () => {
    const saved = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = `unix://${path.join(work, 'no-engine.sock')}`
    try {
      const error = await DockerBackend.connect({sessionId: 'none'}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SaiError)
      expect(error).toMatchObject({code: 'SAI_DOCKER_UNAVAILABLE'})
      expect((error as SaiError).message).toContain('no-engine.sock')
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = saved
    }
  })

  it('loads an archive only when the engine lacks its image', async () => {
    const archive = await archiveOf(spinDir)
    const manifest = JSON.parse(await run('tar', ['-xOf', archive, 'manifest.json']).then((r) => r.stdout)) as [{Config: string}]
    const digest = `sha256:${path.basename(manifest[0].Config)}`
    // Built reproducibly, the image may be there from an earlier run: start without it.
    await docker('rmi', '-f', digest).catch(() => undefined)
    let loads = 0
    const counting: ImageStore = {imageId: (r) => backend.imageId(r), loadArchive: (a) => (loads++, backend.loadArchive(a)), pull: (r) => backend.pull(r)}
    expect(await ensureImage(counting, {archive})).toBe(digest)
    expect(loads).toBe(1)
    const started = performance.now()
    expect(await ensureImage(counting, {archive})).toBe(digest)
    expect(loads).toBe(1)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('invokes through the SDK: echo, throw, context; REPORT has the Init Duration and the measured peak', async () => {
    const running = await dockerEmulator([await imageSpec(path.join(FIXTURES, 'faults'))])
    try {
      const echo = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'echo', n: 1}, LogType: 'Tail'})
      expect(echo.FunctionError).toBeUndefined()
      expect(echo.json).toEqual({echo: {action: 'echo', n: 1}})
      const cold = parseReport(echo.log)
      expect(cold.initDuration).toBeGreaterThan(0)
      expect(cold.memorySize).toBe(256)
      expect(cold.maxMemoryUsed).toBeGreaterThan(10)
      expect(cold.maxMemoryUsed).toBeLessThan(160)

      const thrown = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'throw', message: 'nope'}, LogType: 'Tail'})
      expect(thrown.FunctionError).toBe('Unhandled')
      expect(thrown.json).toMatchObject({errorType: 'TypeError', errorMessage: 'nope'})
      expect(parseReport(thrown.log).initDuration).toBeUndefined()

      const context = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'context'}})
      const env = context.json!.env as Record<string, string>
      expect(context.json).toMatchObject({functionName: 'faults', memoryLimitInMB: '256', cwd: '/var/task'})
      expect(env).toMatchObject({AWS_LAMBDA_FUNCTION_NAME: 'faults', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256', LAMBDA_TASK_ROOT: '/var/task', _HANDLER: 'handler.handler'})
      expect(env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(env.SAI_RUNTIME_API_SOCKET).toBeUndefined()
      expect(running.emulator.environments('faults')).toHaveLength(1)

      // Both streams, demultiplexed: the engine keeps no log of its own (log driver none).
      const lines: string[] = []
      running.emulator.on('log', (event) => event.source === 'function' && lines.push(event.line))
      await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'log'}})
      await expect.poll(() => lines.join('\n')).toMatch(/hello from faults[^]*an error line|an error line[^]*hello from faults/)
      const exited = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'exit', code: 3}})
      expect(exited.json).toMatchObject({errorType: 'Runtime.ExitError', errorMessage: expect.stringContaining('exit status 3')})
    } finally {
      await running.close()
    }
  })

  it("gives each container Lambda's sandbox (docker inspect), with the CPU share from the end of init", async () => {
    const running = await dockerEmulator([await imageSpec(path.join(FIXTURES, 'faults'))])
    try {
      await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'echo'}})
      const [env] = running.emulator.environments('faults')
      const [id] = await containersOf(`sai.environment=${env!.id}`)
      expect(id).toBeDefined()
      const nanoCpus = Math.round((256 / 1769) * 1e9)
      await expect.poll(async () => (await inspect(id!)).HostConfig.NanoCpus, {timeout: 3000}).toBe(nanoCpus)
      const inspected = await inspect(id!)
      expect(inspected.HostConfig).toMatchObject({
        Memory: 256 * MiB,
        MemorySwap: 256 * MiB,
        PidsLimit: 1024,
        ReadonlyRootfs: true,
        NetworkMode: 'host',
        Tmpfs: {'/tmp': 'rw,size=512m,mode=1777'},
        Ulimits: [{Name: 'nofile', Soft: 1024, Hard: 1024}],
      })
      expect(inspected.Config.User).toBe('993:990')
      expect(inspected.Config.Labels).toMatchObject({
        'sai.backend': 'docker', 'sai.session': running.sessionId, 'sai.function': 'faults', 'sai.environment': env!.id, 'sai.pid': String(process.pid),
      })
    } finally {
      await running.close()
    }
  })

  it('OOM-kills an allocation above the memory size: Runtime.OutOfMemory, then a cold start', async () => {
    // 256 MB is 0.14 vCPU: on a busy host, touching 400 MB can take longer than the fixture's 2 s timeout.
    const running = await dockerEmulator([await imageSpec(path.join(FIXTURES, 'faults'), {timeout: 20})])
    try {
      await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'echo'}})
      const [first] = running.emulator.environments('faults')
      const oom = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'alloc', mb: 400}, LogType: 'Tail'})
      expect(oom.FunctionError).toBe('Unhandled')
      expect(oom.json).toMatchObject({errorType: 'Runtime.OutOfMemory'})
      expect(parseReport(oom.log).maxMemoryUsed).toBe(256)
      const next = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'echo'}, LogType: 'Tail'})
      expect(next.FunctionError).toBeUndefined()
      expect(parseReport(next.log).initDuration).toBeGreaterThan(0)
      expect(await containersOf(`sai.environment=${first!.id}`)).toEqual([])
    } finally {
      await running.close()
    }
  })

  it('kills the container of a timed-out invoke: the next invoke is cold', async () => {
    const running = await dockerEmulator([await imageSpec(path.join(FIXTURES, 'faults'), {timeout: 1})])
    try {
      const hung = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'hang'}})
      expect(hung.json).toMatchObject({errorType: 'Sandbox.Timedout'})
      const next = await invoke(running.client, {FunctionName: 'faults', Payload: {action: 'echo'}, LogType: 'Tail'})
      expect(next.json).toEqual({echo: {action: 'echo'}})
      expect(parseReport(next.log).initDuration).toBeGreaterThan(0)
      expect(await containersOf(`sai.session=${running.sessionId}`)).toHaveLength(1)
    } finally {
      await running.close()
    }
  })

  it("answers ocr-det as the process backend does, on the same image and payload", async () => {
    const dir = path.join(FIXTURES, 'ocr-det')
    const payload = readFileSync(path.join(dir, 'events/sample.json'))
    const running = await dockerEmulator([await imageSpec(dir)])
    const processRun = await emulate([], {imagePaths: [await archiveOf(dir)]})
    try {
      const inDocker = await invoke(running.client, {FunctionName: 'ocr-det', Payload: payload})
      const inProcess = await invoke(processRun.client, {FunctionName: 'ocr-det', Payload: payload})
      expect(inDocker.FunctionError).toBeUndefined()
      expect(Object.values((inDocker.json!.outputs ?? {}) as Record<string, {dims: number[]}>)[0]?.dims).toEqual([1, 1, 32, 32])
      expect(inDocker.json).toEqual(inProcess.json)
    } finally {
      await Promise.all([running.close(), processRun.close()])
    }
  })

  it("holds CPU-bound work to Lambda's share: 1 vCPU at 1769 MB, 2 at 3538 MB (a 2-core host)", async () => {
    // Read from the containers' own cgroups (cpuacct usage against wall time), which holds whatever
    // else this shared host runs; the wall-clock ratio (≈2× on a quiet host) is a benchmark's job.
    const spec = await imageSpec(spinDir)
    const running = await dockerEmulator([{...spec, name: 'spin-1769', memory: 1769}, {...spec, name: 'spin-3538', memory: 3538}])
    try {
      const cores = async (name: string) => {
        await invoke(running.client, {FunctionName: name, Payload: {}}) // cold start: init runs unthrottled
        const [id] = await containersOf(`sai.function=${name}`)
        const full = await docker('inspect', '--format', '{{.Id}}', id!)
        const usage = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${full}/cpuacct.usage`, 'utf8'))
        const readQuota = () => Number(readFileSync(`/sys/fs/cgroup/cpu/docker/${full}/cpu.cfs_quota_us`, 'utf8')) / Number(readFileSync(`/sys/fs/cgroup/cpu/docker/${full}/cpu.cfs_period_us`, 'utf8'))
        // Applied when init ends (directly, and again through the engine, which may answer late on a busy host).
        await expect.poll(readQuota, {timeout: 10_000}).toBeGreaterThan(0)
        const quota = readQuota()
        const before = usage()
        const elapsedMs = (await invoke(running.client, {FunctionName: name, Payload: {}})).json!.elapsedMs as number
        return {quota, used: (usage() - before) / 1e6 / elapsedMs, elapsedMs}
      }
      const small = await cores('spin-1769')
      const large = await cores('spin-3538')
      expect(small.quota).toBeCloseTo(1, 2)
      expect(large.quota).toBeCloseTo(2, 2)
      // Two busy threads never get more than the quota (a little slack for the period boundaries).
      expect(small.used, JSON.stringify({small, large})).toBeLessThan(1.15)
      expect(large.used, JSON.stringify({small, large})).toBeLessThan(2.15)
    } finally {
      await running.close()
    }
  })

  it('leaves no container behind after close()', async () => {
    const running = await dockerEmulator([await imageSpec(path.join(FIXTURES, 'faults'))])
    await Promise.all([0, 1].map(() => invoke(running.client, {FunctionName: 'faults', Payload: {action: 'context', sleepMs: 300}})))
    expect(await containersOf(`sai.session=${running.sessionId}`)).toHaveLength(2)
    await running.close()
    expect(await containersOf(`sai.session=${running.sessionId}`)).toEqual([])
  })

  it('close() during a cold start stops the container being started', async () => {
    const sessionId = randomBytes(4).toString('hex')
    const dockerBackend = await DockerBackend.connect({sessionId})
    const spec = await imageSpec(path.join(FIXTURES, 'faults'))
    const starting = dockerBackend.start({
      id: 'closing-1', functionName: 'faults', memoryMb: 256, ephemeralStorageMb: 512, command: [], taskRoot: '/', image: spec.image,
      env: {AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9'}, onOutput: () => undefined,
    })
    await dockerBackend.close()
    await expect(starting).resolves.toBeDefined()
    expect(await containersOf(`sai.session=${sessionId}`)).toEqual([])
    await expect(dockerBackend.start({} as never)).rejects.toThrow(/closed/)
  })

  it('sweeps the containers of an emulator that died, and leaves a live one\'s', async () => {
    const image = await ensureImage(backend, {archive: await archiveOf(path.join(FIXTURES, 'faults'))})
    const session = `sweep-${randomBytes(4).toString('hex')}`
    const create = (pid: number) =>
      docker('create', '--label', 'sai.backend=docker', '--label', `sai.session=${session}`, '--label', `sai.pid=${pid}`, '--label', `sai.host=${os.hostname()}`, image)
    // Above any pid_max: no process has it.
    const dead = await create(99_999_999)
    const live = await create(process.pid)
    try {
      expect(await DockerBackend.sweep()).toBeGreaterThanOrEqual(1)
      const left = await containersOf(`sai.session=${session}`)
      expect(left).toHaveLength(1)
      expect(live.startsWith(left[0]!)).toBe(true)
      expect(left.some((id) => dead.startsWith(id))).toBe(false)
    } finally {
      await docker('rm', '-f', dead, live).catch(() => undefined)
    }
  })
})
