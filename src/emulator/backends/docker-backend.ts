/**
 * Each execution environment is a container of the function's packaged image, with the sandbox
 * AWS Lambda imposes: the memory size without swap (the kernel OOM-kills), Lambda's CPU share from
 * the end of init, 1024 processes and open files, a read-only root with /tmp a tmpfs of the
 * ephemeral storage size, a non-root user. Containers carry labels, so a later emulator can remove
 * those an emulator killed outright left behind.
 */
import {closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import Docker from 'dockerode'
import {SaiError} from '../../errors/sai-error.js'
import {lambdaCpuShare} from '../../spec/limits.js'
import type {Backend, BackendCapabilities, EnvironmentHandle, EnvironmentSpec, ExitInfo} from './backend.js'
import type {ImageStore} from './docker-images.js'
import {LineSplitter, readStatusKb} from './process-backend.js'

export interface DockerBackendOptions {
  sessionId: string
  /** The containers' network mode: 'host' (default) keeps every byte on the host's loopback. */
  network?: string
}

const MiB = 1024 * 1024
const PING_TIMEOUT_MS = 5000
/** The output of a container that exited arrives a moment after its exit is reported. */
const OUTPUT_DRAIN_MS = 1000
/**
 * A container's output travels through the engine and arrives up to ~1 ms after the runtime's
 * answer (p99 0.6 ms measured here): it has all arrived once none came for this long.
 */
const OUTPUT_QUIET_MS = 2
/** How long to wait for output the runtime says it wrote (a cap: a lost byte must not hold an answer). */
const OUTPUT_EXACT_MAX_MS = 1000
/** A runtime that never stops writing does not hold an invoke's answer longer than this. */
const OUTPUT_SETTLE_MAX_MS = 20
const CPU_PERIOD_US = 100_000
const HWM_READ_INTERVAL_MS = 250
/** The user `sai package` gives its images, for an image that names none: Lambda never runs as root. */
const FALLBACK_USER = '993:990'
/** Paths of this host, or variables the image sets for itself (its CMD carries the handler). */
const HOST_VARIABLES = new Set(['PATH', 'TMPDIR', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'SAI_MODEL', 'SAI_RUNTIME_API_SOCKET', '_HANDLER'])

const LABEL = {
  backend: 'sai.backend',
  session: 'sai.session',
  function: 'sai.function',
  environment: 'sai.environment',
  pid: 'sai.pid',
  host: 'sai.host',
} as const

interface Engine {
  version: string
  cgroupVersion: 1 | 2
  cgroupDriver: string
  cores: number
}

export class DockerBackend implements Backend, ImageStore {
  readonly capabilities: BackendCapabilities
  /** Where the Runtime API must listen for containers on this network to reach it. */
  readonly runtimeApiHost: string
  /** Containers of dead emulators removed when this backend connected. */
  readonly swept: number
  private readonly live = new Set<DockerEnvironment>()
  private readonly starting = new Set<Promise<unknown>>()
  private closed = false
  private readonly users = new Map<string, Promise<string>>()
  private readonly network: string

  private constructor(
    private readonly docker: Docker,
    private readonly sessionId: string,
    private readonly engine: Engine,
    network: {name: string; runtimeApiHost: string},
    swept: number,
  ) {
    this.network = network.name
    this.runtimeApiHost = network.runtimeApiHost
    this.swept = swept
    this.capabilities = {
      name: 'docker',
      memoryEnforcement: `container memory limit (cgroup v${engine.cgroupVersion}, kernel OOM kill, no swap)`,
      cpuEnforcement: `NanoCpus = memory / 1769 MB vCPU, capped at ${engine.cores} cores, applied after init`,
      notes: [
        `Docker engine ${engine.version} (cgroup v${engine.cgroupVersion}, ${engine.cgroupDriver} driver)`,
        network.name === 'host' ? 'network: host (the runtime reaches the Runtime API on 127.0.0.1)' : `network: ${network.name} (the runtime reaches the Runtime API on ${network.runtimeApiHost})`,
      ],
    }
  }

  /** Connects to the engine at DOCKER_HOST (or the default socket) and removes what dead emulators left. */
  static async connect(options: DockerBackendOptions): Promise<DockerBackend> {
    const docker = await openEngine()
    const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<{CgroupVersion?: string; CgroupDriver?: string; NCPU?: number}>])
    const network = options.network ?? 'host'
    let runtimeApiHost = '127.0.0.1'
    if (network !== 'host') {
      const inspected = (await docker.getNetwork(network).inspect().catch((error: unknown) => {
        throw new SaiError('SAI_DOCKER_UNAVAILABLE', `the Docker network ${network} cannot be used: ${(error as Error).message}`, {
          hint: 'create it (`docker network create NAME`) or leave the network at host',
          cause: error,
        })
      })) as {IPAM?: {Config?: {Gateway?: string}[]}}
      const gateway = inspected.IPAM?.Config?.find((c) => c.Gateway)?.Gateway
      if (!gateway) throw new SaiError('SAI_DOCKER_UNAVAILABLE', `the Docker network ${network} has no gateway the emulator could listen on`, {hint: 'use a bridge network, or the host network'})
      runtimeApiHost = gateway
    }
    const engine: Engine = {
      version: version.Version,
      cgroupVersion: info.CgroupVersion === '2' ? 2 : 1,
      cgroupDriver: info.CgroupDriver ?? 'unknown',
      cores: info.NCPU ?? os.availableParallelism(),
    }
    const swept = await sweepDeadEmulators(docker)
    return new DockerBackend(docker, options.sessionId, engine, {name: network, runtimeApiHost}, swept)
  }

  /**
   * Removes the containers of emulators on this machine that died without cleaning up (SIGKILL, a
   * crash): their `sai.pid` is no live process. Returns how many were removed.
   */
  static async sweep(): Promise<number> {
    return sweepDeadEmulators(await openEngine())
  }

  /** Lambda's CPU share for a memory size on this engine, and whether its cores capped it. */
  cpuShare(memoryMb: number): {cores: number; capped: boolean; enforced: boolean} {
    return {...lambdaCpuShare(memoryMb, this.engine.cores), enforced: true}
  }

  async imageId(reference: string): Promise<string | undefined> {
    try {
      return ((await this.docker.getImage(reference).inspect()) as {Id: string}).Id
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return undefined
      throw error
    }
  }

  async loadArchive(archive: NodeJS.ReadableStream): Promise<void> {
    const progress = await this.docker.loadImage(archive, {quiet: true})
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(progress, (error: Error | null) => (error ? reject(error) : resolve())))
  }

  async pull(reference: string): Promise<void> {
    try {
      const progress = await this.docker.pull(reference)
      // A failed pull is told in the progress stream, not by the request's status.
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(progress, (error: Error | null) => (error ? reject(error) : resolve())))
    } catch (error) {
      const reason = (error as {json?: {message?: string}}).json?.message ?? (error as Error).message
      // The engine's words are all there is to tell why: it reached the registry, or it did not.
      const code = /unauthorized|authentication required|denied/i.test(reason) ? 'SAI_REGISTRY_UNAUTHORIZED' : /connection refused|no such host|i\/o timeout|dial tcp/i.test(reason) ? 'SAI_REGISTRY_UNREACHABLE' : 'SAI_REGISTRY_ERROR'
      throw new SaiError(code, `the Docker engine cannot pull ${reference}: ${reason.trim()}`, {
        hint: 'the engine pulls the image itself: it must reach the registry, over plain HTTP only for 127.0.0.0/8 and its --insecure-registry list',
        cause: error,
      })
    }
  }

  start(spec: EnvironmentSpec): Promise<EnvironmentHandle> {
    if (this.closed) return Promise.reject(new Error('the docker backend is closed'))
    const starting = this.startContainer(spec)
    this.starting.add(starting)
    starting.then(() => this.starting.delete(starting), () => this.starting.delete(starting))
    return starting
  }

  private async startContainer(spec: EnvironmentSpec): Promise<EnvironmentHandle> {
    if (!spec.image) {
      throw new Error(`the docker backend runs images, and ${spec.functionName} has none: package it with \`sai package\` and pass the image`)
    }
    const memoryBytes = spec.memoryMb * MiB
    const container = await this.docker.createContainer({
      name: `sai-${this.sessionId}-${spec.id}`.replace(/[^a-zA-Z0-9_.-]/g, '-'),
      Image: spec.image,
      User: await this.imageUser(spec.image),
      Env: Object.entries(spec.env).filter(([key]) => !HOST_VARIABLES.has(key)).map(([key, value]) => `${key}=${value}`),
      AttachStdout: true,
      AttachStderr: true,
      Labels: {
        [LABEL.backend]: 'docker',
        [LABEL.session]: this.sessionId,
        [LABEL.function]: spec.functionName,
        [LABEL.environment]: spec.id,
        [LABEL.pid]: String(process.pid),
        [LABEL.host]: os.hostname(),
      },
      HostConfig: {
        NetworkMode: this.network,
        Memory: memoryBytes,
        MemorySwap: memoryBytes,
        // No NanoCpus yet: Lambda does not throttle init (initDone applies the share).
        PidsLimit: 1024,
        // Not nproc: that limit counts every process of the user id on the host, across containers;
        // PidsLimit is the per-sandbox count Lambda means.
        Ulimits: [{Name: 'nofile', Soft: 1024, Hard: 1024}],
        ReadonlyRootfs: true,
        Tmpfs: {'/tmp': `rw,size=${spec.ephemeralStorageMb}m,mode=1777`},
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        // The output is read through attach: a log file on the engine's disk would only duplicate it.
        LogConfig: {Type: 'none', Config: {}},
      },
    })
    const containerCreated = Date.now()
    let handle: DockerEnvironment
    try {
      // Attached before it starts, so the first lines are not lost.
      const output = await container.attach({stream: true, stdout: true, stderr: true})
      handle = new DockerEnvironment(spec, container, output, memoryBytes, this.cpuShare(spec.memoryMb).cores, this.engine, containerCreated, {
        onGone: () => this.live.delete(handle),
        onNoCgroup: () => this.noteOnce(`the containers' cgroups are not on this machine: peak memory comes from the engine's stats API (about once a second)`),
      })
    } catch (error) {
      await container.remove({force: true}).catch(() => undefined)
      throw error
    }
    this.live.add(handle)
    try {
      await handle.begin()
    } catch (error) {
      await handle.stop()
      throw error
    }
    return handle
  }

  private noteOnce(note: string): void {
    if (!this.capabilities.notes.includes(note)) this.capabilities.notes.push(note)
  }

  private imageUser(image: string): Promise<string> {
    let user = this.users.get(image)
    if (!user) {
      user = this.docker.getImage(image).inspect().then((inspected) => inspected.Config.User || FALLBACK_USER)
      user.catch(() => this.users.delete(image))
      this.users.set(image, user)
    }
    return user
  }

  async close(): Promise<void> {
    this.closed = true
    // A container still being created would escape the stop below.
    await Promise.allSettled([...this.starting])
    await Promise.all([...this.live].map((env) => env.stop()))
  }
}

async function openEngine(): Promise<Docker> {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  try {
    const docker = new Docker()
    // dockerode takes an abort signal here; its types do not say so. Without it, an engine that
    // accepts the connection and never answers would hang the emulator's start.
    const ping = docker.ping as unknown as (options: {abortSignal: AbortSignal}) => Promise<unknown>
    await ping.call(docker, {abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS)})
    return docker
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new SaiError('SAI_DOCKER_UNAVAILABLE', `no Docker engine answers at ${where} (${reason})`, {
      hint: 'start Docker (e.g. `sudo systemctl start docker`, or `dockerd --bridge=none --iptables=false`), or point DOCKER_HOST at a running engine; `--backend process` needs none',
      cause: error,
    })
  }
}

async function sweepDeadEmulators(docker: Docker): Promise<number> {
  const containers = await docker.listContainers({all: true, filters: {label: [`${LABEL.backend}=docker`, `${LABEL.host}=${os.hostname()}`]}})
  const dead = containers.filter((c) => !isAlive(Number(c.Labels[LABEL.pid])))
  const removed = await Promise.all(dead.map((c) => docker.getContainer(c.Id).remove({force: true}).then(() => 1, () => 0)))
  return removed.reduce<number>((sum, n) => sum + n, 0)
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The container's own cgroup files, when the engine runs on this machine: the peak is read with one
 * pread of a file kept open, and the CPU share is written the moment init ends.
 */
interface ContainerCgroup {
  /**
   * The larger of the cgroup's peak and the runtime's peak RSS, as the process backend measures:
   * the node binary's pages are charged to whichever container first read them here, but to every
   * sandbox on Lambda.
   */
  peakMemoryBytes(): number
  setCpu(cores: number): void
  /** Freezes or thaws every process of the container through its freezer cgroup; false when there is none. */
  setFrozen(frozen: boolean): boolean
  close(): void
}

function openContainerCgroup(engine: Engine, id: string): ContainerCgroup | undefined {
  const root = '/sys/fs/cgroup'
  // The cgroupfs driver's parent, then the systemd driver's.
  const parents = [`docker/${id}`, `system.slice/docker-${id}.scope`]
  const find = (controllerRoot: string) => parents.map((p) => path.join(controllerRoot, p)).find((dir) => existsSync(dir))
  const memoryDir = find(engine.cgroupVersion === 1 ? path.join(root, 'memory') : root)
  if (!memoryDir) return undefined
  const cpuDir = engine.cgroupVersion === 1 ? find(path.join(root, 'cpu')) : memoryDir
  const peakFile = engine.cgroupVersion === 1 ? 'memory.max_usage_in_bytes' : existsSync(path.join(memoryDir, 'memory.peak')) ? 'memory.peak' : 'memory.current'
  let fd: number | undefined = openSync(path.join(memoryDir, peakFile), 'r')
  const buffer = Buffer.alloc(32)
  // Right after the start, the runtime is the container's only process.
  const runtimePid = Number(readFileSync(path.join(memoryDir, 'cgroup.procs'), 'utf8').split('\n')[0]) || undefined
  let hwmBytes = 0
  let hwmReadAt = -Infinity
  return {
    peakMemoryBytes() {
      if (fd === undefined) return 0
      // /proc/PID/status is costly to generate and the peak RSS moves little once warm; the cgroup
      // peak, read every time, catches an invoke's own allocations.
      const now = performance.now()
      if (runtimePid && now - hwmReadAt >= HWM_READ_INTERVAL_MS) {
        hwmReadAt = now
        hwmBytes = Math.max(hwmBytes, readStatusKb(runtimePid, 'VmHWM') * 1024)
      }
      try {
        const n = readSync(fd, buffer, 0, buffer.length, 0)
        return Math.max(hwmBytes, Number(buffer.toString('latin1', 0, n).trim()) || 0)
      } catch {
        // The cgroup is gone with the container.
        return hwmBytes
      }
    },
    setCpu(cores) {
      if (!cpuDir) return
      const quota = Math.round(cores * CPU_PERIOD_US)
      try {
        if (engine.cgroupVersion === 2) writeFileSync(path.join(cpuDir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`)
        else {
          writeFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US))
          writeFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), String(quota))
        }
      } catch {
        // The engine's update, which follows, applies it too.
      }
    },
    setFrozen(frozen) {
      // The engine's pause/unpause does the same through its API, at tens of ms a call.
      const dir = engine.cgroupVersion === 1 ? find(path.join(root, 'freezer')) : memoryDir
      if (!dir) return false
      try {
        if (engine.cgroupVersion === 1) writeFileSync(path.join(dir, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED')
        else writeFileSync(path.join(dir, 'cgroup.freeze'), frozen ? '1' : '0')
        return true
      } catch {
        return false
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd)
      fd = undefined
    },
  }
}

class DockerEnvironment implements EnvironmentHandle {
  readonly id: string
  readonly exited: Promise<ExitInfo>
  readonly startupMarks: Record<string, number>
  startedAt?: number
  private settleExit!: (exit: ExitInfo) => void
  private readonly removed: Promise<void>
  private readonly outputDone: Promise<void>
  private readonly splitters: LineSplitter[]
  private cgroup?: ContainerCgroup
  private statsStream?: NodeJS.ReadableStream & {destroy?(): void}
  private peakBytes = 0
  private lastOutputAt = 0
  /** Bytes of output received, to compare with what the runtime says it wrote. */
  private receivedBytes = 0
  private onBytes?: () => void
  private hasExited = false
  private stopping?: Promise<void>

  constructor(
    spec: EnvironmentSpec,
    private readonly container: Docker.Container,
    private readonly output: NodeJS.ReadWriteStream,
    private readonly memoryBytes: number,
    private readonly cpuCores: number,
    private readonly engine: Engine,
    containerCreated: number,
    private readonly events: {onGone(): void; onNoCgroup(): void},
  ) {
    this.id = spec.id
    this.startupMarks = {containerCreated}
    this.exited = new Promise((resolve) => (this.settleExit = resolve))
    const stdout = new LineSplitter((line) => spec.onOutput(line, 'stdout'))
    const stderr = new LineSplitter((line) => spec.onOutput(line, 'stderr'))
    this.splitters = [stdout, stderr]
    const streams = [new PassThrough(), new PassThrough()] as const
    // Counted after decoding: a character split across chunks counts once it is whole.
    const received = (chunk: string, splitter: LineSplitter) => {
      this.lastOutputAt = performance.now()
      splitter.push(chunk)
      this.receivedBytes += Buffer.byteLength(chunk)
      this.onBytes?.()
    }
    streams[0].setEncoding('utf8').on('data', (chunk: string) => received(chunk, stdout))
    streams[1].setEncoding('utf8').on('data', (chunk: string) => received(chunk, stderr))
    container.modem.demuxStream(output, streams[0], streams[1])
    this.outputDone = new Promise((resolve) => {
      for (const event of ['end', 'close', 'error']) output.on(event, () => resolve())
    })
    // A container whose removal fails is left to the sweep of a later emulator, once this one is gone.
    this.removed = this.exited.then(() => this.remove()).catch(() => undefined).finally(() => events.onGone())
  }

  /** Starts the container and watches for its exit. */
  async begin(): Promise<void> {
    // Marked when the start is asked for: the runtime may reach its first /next before the engine's
    // answer to the start request arrives, and Init Duration must never come out negative.
    const startRequested = Date.now()
    try {
      await this.container.start()
    } catch (error) {
      this.settle({code: null, signal: null, outOfMemory: false})
      throw error
    }
    this.startedAt = startRequested
    this.startupMarks.containerStarted = startRequested
    this.cgroup = openContainerCgroup(this.engine, this.container.id)
    if (!this.cgroup) {
      this.events.onNoCgroup()
      void this.watchStats()
    }
    void this.watchExit()
  }

  private async watchExit(): Promise<void> {
    let status: number | null = null
    try {
      status = ((await this.container.wait()) as {StatusCode: number}).StatusCode
    } catch {
      // The engine went away: the exit is all that can be told.
    }
    await Promise.race([this.outputDone, new Promise((resolve) => setTimeout(resolve, OUTPUT_DRAIN_MS).unref())])
    for (const splitter of this.splitters) splitter.flush()
    const state = await this.container.inspect().then((inspected) => inspected.State, () => undefined)
    const outOfMemory = state?.OOMKilled === true
    // The cgroup is gone by the time the exit is reported: an OOM kill means the limit was reached.
    if (outOfMemory) this.peakBytes = Math.max(this.peakBytes, this.memoryBytes)
    const code = state?.ExitCode ?? status
    // The engine reports a death by signal as 128 + the signal's number, as a shell does.
    const signal = code !== null && code > 128 ? signalName(code - 128) : null
    this.settle(signal ? {code: null, signal, outOfMemory} : {code, signal: null, outOfMemory})
  }

  private settle(exit: ExitInfo): void {
    if (this.hasExited) return
    this.peakMemoryBytes()
    this.hasExited = true
    this.settleExit(exit)
  }

  /** Engines elsewhere (a VM, another host): the stats API's peak, about once a second. */
  private async watchStats(): Promise<void> {
    try {
      const stream = (await this.container.stats({stream: true})) as NodeJS.ReadableStream & {destroy?(): void}
      this.statsStream = stream
      let carry = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        const lines = (carry + chunk).split('\n')
        carry = lines.pop() ?? ''
        for (const line of lines.filter(Boolean)) {
          const memory = (JSON.parse(line) as {memory_stats?: {max_usage?: number; usage?: number}}).memory_stats
          this.peakBytes = Math.max(this.peakBytes, memory?.max_usage ?? memory?.usage ?? 0)
        }
      })
      stream.on('error', () => undefined)
    } catch {
      // No stats: the peak stays what was seen.
    }
  }

  /**
   * Resolves once what the runtime wrote before its answer has reached `onOutput`: exactly, when it
   * said how much that was; else once the output has been quiet for a moment.
   */
  outputSettled(totalBytes?: number): Promise<void> {
    if (totalBytes !== undefined) {
      if (this.receivedBytes >= totalBytes || this.hasExited) return Promise.resolve()
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(cap)
          this.onBytes = undefined
          resolve()
        }
        const cap = setTimeout(done, OUTPUT_EXACT_MAX_MS)
        this.onBytes = () => {
          if (this.receivedBytes >= totalBytes) done()
        }
      })
    }
    const calledAt = performance.now()
    return new Promise((resolve) => {
      const check = () => {
        const now = performance.now()
        const quietFor = now - Math.max(calledAt, this.lastOutputAt)
        if (quietFor >= OUTPUT_QUIET_MS || now - calledAt >= OUTPUT_SETTLE_MAX_MS || this.hasExited) resolve()
        else setTimeout(check, OUTPUT_QUIET_MS - quietFor)
      }
      setTimeout(check, OUTPUT_QUIET_MS)
    })
  }

  async freeze(): Promise<void> {
    if (this.hasExited) return
    if (!this.cgroup?.setFrozen(true)) await this.container.pause()
  }

  async thaw(): Promise<void> {
    if (this.hasExited) return
    if (!this.cgroup?.setFrozen(false)) await this.container.unpause()
  }

  peakMemoryBytes(): number {
    if (!this.hasExited && this.cgroup) this.peakBytes = Math.max(this.peakBytes, this.cgroup.peakMemoryBytes())
    return this.peakBytes
  }

  initDone(): void {
    // Written to the container's cgroup at once where the engine is local (the engine's update
    // takes tens of ms, and the first invoke would run unthrottled meanwhile), and through the
    // engine, so that it knows the limit (docker inspect shows it) and keeps it.
    this.cgroup?.setCpu(this.cpuCores)
    this.container.update({NanoCpus: Math.round(this.cpuCores * 1e9)}).catch(() => undefined)
    // Sample now: a runtime that dies in its first invoke leaves no cgroup to read.
    this.peakMemoryBytes()
  }

  private async remove(): Promise<void> {
    this.cgroup?.close()
    this.statsStream?.destroy?.()
    ;(this.output as NodeJS.ReadWriteStream & {destroy?(): void}).destroy?.()
    await this.container.remove({force: true}).catch((error: {statusCode?: number}) => {
      // Gone already, or being removed by another call.
      if (error.statusCode !== 404 && error.statusCode !== 409) throw error
    })
  }

  private async kill(): Promise<void> {
    // A frozen task takes even SIGKILL only once thawed.
    if (!this.hasExited && !this.cgroup?.setFrozen(false)) await this.container.unpause().catch(() => undefined)
    if (!this.hasExited) await this.container.kill({signal: 'SIGKILL'}).catch(() => undefined)
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.kill()
      await this.exited
      await this.removed
    })()
    return this.stopping
  }
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === number)
  return entry ? (entry[0] as NodeJS.Signals) : null
}
