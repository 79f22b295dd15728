/**
 * The embedded default backend: each execution environment is a child process. Memory is enforced
 * by a per-environment memory cgroup where the host allows it (the kernel OOM-kills, as on Lambda),
 * else by watching RSS; CPU gets Lambda's share through the cpu controller where available.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import os from 'node:os'
import {lambdaCpuShare} from '../../spec/limits.js'
import type {Backend, BackendCapabilities, EnvironmentHandle, EnvironmentSpec, ExitInfo} from './backend.js'
import {openCgroups, type CgroupManager, type EnvironmentCgroup} from './cgroups.js'

const RSS_POLL_MS = 10
const HWM_READ_INTERVAL_MS = 250

export interface ProcessBackendOptions {
  sessionId: string
  /** Use cgroups when the host allows them (default true); false forces the RSS watch. */
  cgroups?: boolean
}


/** A field of /proc/PID/status in kB (0 once the process is gone); shared by every backend on this host. */
export function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

/** A line longer than this is passed on in pieces: a runtime that never writes a newline cannot exhaust memory. */
const MAX_LINE_CHARS = 256 * 1024

/** Splits a stream's text into lines for `onOutput`; shared by every backend. */
export class LineSplitter {
  private carry = ''
  constructor(private readonly emit: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.carry + chunk
    const lines = text.split('\n')
    this.carry = lines.pop() ?? ''
    for (const line of lines) this.emit(line)
    while (this.carry.length > MAX_LINE_CHARS) {
      this.emit(this.carry.slice(0, MAX_LINE_CHARS))
      this.carry = this.carry.slice(MAX_LINE_CHARS)
    }
  }
  flush(): void {
    if (this.carry) this.emit(this.carry)
    this.carry = ''
  }
}

export class ProcessBackend implements Backend {
  readonly capabilities: BackendCapabilities
  private readonly cgroups?: CgroupManager
  private readonly live = new Set<ProcessEnvironment>()
  private rssTimer?: NodeJS.Timeout
  private readonly hostCores = os.availableParallelism()

  constructor(options: ProcessBackendOptions) {
    const notes: string[] = []
    if (options.cgroups !== false) {
      const result = openCgroups(options.sessionId)
      if (result.ok) this.cgroups = result.manager
      else notes.push(`memory cgroups unavailable (${result.reason}): enforcing memory by watching RSS every ${RSS_POLL_MS} ms`)
    }
    if (this.cgroups && !this.cgroups.cpu) notes.push('the cpu cgroup controller is unavailable: environments are not limited to Lambda\'s CPU share')
    if (!this.cgroups) notes.push('no cgroups: environments are not limited to Lambda\'s CPU share; timings at low memory sizes are faster than on Lambda')
    this.capabilities = {
      name: 'process',
      memoryEnforcement: this.cgroups ? `cgroup v${this.cgroups.version} memory controller (kernel OOM kill)` : `RSS watch (every ${RSS_POLL_MS} ms)`,
      cpuEnforcement: this.cgroups?.cpu ? `cgroup v${this.cgroups.version} cpu quota (memory / 1769 MB vCPU, capped at ${this.hostCores} cores)` : null,
      notes,
    }
  }

  /** Lambda's CPU share for a memory size on this host, and whether the host's cores capped it. */
  cpuShare(memoryMb: number): {cores: number; capped: boolean; enforced: boolean} {
    return {...lambdaCpuShare(memoryMb, this.hostCores), enforced: Boolean(this.cgroups?.cpu)}
  }

  async start(spec: EnvironmentSpec): Promise<EnvironmentHandle> {
    const memoryBytes = spec.memoryMb * 1024 * 1024
    let cgroup: EnvironmentCgroup | undefined
    if (this.cgroups) cgroup = this.cgroups.create(spec.id, memoryBytes)
    const child = spawn(spec.command[0]!, spec.command.slice(1), {
      cwd: spec.taskRoot,
      env: spec.env,
      // Its own process group: Ctrl-C in the terminal reaches the emulator, which stops environments in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const spawned = await new Promise<{ok: true} | {ok: false; error: Error}>((resolve) => {
      child.once('spawn', () => resolve({ok: true}))
      child.once('error', (error) => resolve({ok: false, error}))
    })
    if (!spawned.ok) {
      await cgroup?.remove()
      throw spawned.error
    }
    const handle = new ProcessEnvironment(spec, child, memoryBytes, this.cpuShare(spec.memoryMb).cores, cgroup, () => this.live.delete(handle))
    this.live.add(handle)
    if (cgroup) {
      // Moving a process into a cgroup waits for an RCU grace period (~10 ms here): it happens while
      // node boots, off the cold start's path. What the process allocated before the move is charged
      // to the cgroup too (v1: move_charge_at_immigrate); if the move fails, RSS watching takes over.
      cgroup.join(child.pid!).catch(() => {
        handle.watchRssInstead()
        this.watchRss()
      })
    } else {
      this.watchRss()
    }
    return handle
  }

  private watchRss(): void {
    if (this.rssTimer) return
    this.rssTimer = setInterval(() => {
      for (const env of this.live) env.pollRss()
      if (this.live.size === 0) {
        clearInterval(this.rssTimer)
        this.rssTimer = undefined
      }
    }, RSS_POLL_MS)
    this.rssTimer.unref()
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((env) => env.stop()))
    await this.cgroups?.close()
  }
}

class ProcessEnvironment implements EnvironmentHandle {
  readonly id: string
  readonly exited: Promise<ExitInfo>
  private peakBytes = 0
  private rssWatched: boolean
  private hwmReadAt = -Infinity
  private killedForMemory = false
  private done = false

  constructor(
    spec: EnvironmentSpec,
    private readonly child: import('node:child_process').ChildProcess,
    private readonly memoryBytes: number,
    private readonly cpuCores: number,
    private readonly cgroup: EnvironmentCgroup | undefined,
    onGone: () => void,
  ) {
    this.id = spec.id
    this.rssWatched = cgroup === undefined
    const stdout = new LineSplitter((line) => spec.onOutput(line, 'stdout'))
    const stderr = new LineSplitter((line) => spec.onOutput(line, 'stderr'))
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
    // When the runtime exits, whatever it started goes too (Lambda discards the whole sandbox);
    // 'close' then follows once the pipes are drained.
    child.once('exit', () => this.kill())
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        stdout.flush()
        stderr.flush()
        this.peakBytes = this.peakMemoryBytes()
        const outOfMemory = this.killedForMemory || (signal === 'SIGKILL' && (this.cgroup?.oomKills() ?? 0) > 0)
        this.done = true
        resolve({code, signal, outOfMemory})
        // Removal waits for the kernel to empty the cgroup; nobody needs to wait for it.
        void (this.cgroup?.remove() ?? Promise.resolve()).finally(onGone)
      })
    })
  }

  /**
   * The larger of the cgroup's peak (the runtime, its children and its page cache) and the runtime's
   * peak RSS (which also counts the node binary's pages, shared with the host here but charged to
   * the sandbox on Lambda).
   */
  peakMemoryBytes(): number {
    if (this.done) return this.peakBytes
    // /proc/PID/status is costly to generate; the runtime's peak RSS moves little once warm (the
    // cgroup peak, read every time, catches an invoke's own allocations).
    const now = performance.now()
    if (now - this.hwmReadAt >= HWM_READ_INTERVAL_MS) {
      this.hwmReadAt = now
      this.peakBytes = Math.max(this.peakBytes, readStatusKb(this.child.pid!, 'VmHWM') * 1024)
    }
    this.peakBytes = Math.max(this.peakBytes, this.cgroup?.peakMemoryBytes() ?? 0)
    return this.peakBytes
  }

  initDone(): void {
    this.cgroup?.setCpu(this.cpuCores)
    // Sample now: a runtime that dies in its first invoke leaves no /proc entry to read.
    this.peakMemoryBytes()
  }

  /** RSS mode: kill the environment as soon as it is seen above its memory size. */
  pollRss(): void {
    if (this.done || this.killedForMemory || !this.rssWatched) return
    const rss = readStatusKb(this.child.pid!, 'VmRSS') * 1024
    this.peakBytes = Math.max(this.peakBytes, rss)
    if (rss > this.memoryBytes) {
      this.killedForMemory = true
      this.kill()
    }
  }

  watchRssInstead(): void {
    this.rssWatched = true
  }

  /** The whole process group stops, as Lambda's freezer stops a sandbox; the kernel keeps its sockets. */
  async freeze(): Promise<void> {
    if (!this.done) process.kill(-this.child.pid!, 'SIGSTOP')
  }

  async thaw(): Promise<void> {
    if (!this.done) process.kill(-this.child.pid!, 'SIGCONT')
  }

  private kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL')
    } catch {
      // the group is already gone
    }
  }

  async stop(): Promise<void> {
    if (!this.done) this.kill()
    await this.exited
  }
}
