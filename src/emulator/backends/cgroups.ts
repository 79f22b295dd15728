/**
 * Per-environment Linux cgroups for the process backend: a memory limit (the kernel OOM-kills the
 * environment, as on Lambda), the measured peak, and Lambda's CPU share. Supports cgroup v1 (memory
 * and cpu controllers) and v2. When neither can be used, `openCgroups` says why and the backend
 * falls back to watching RSS.
 */
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, rmdirSync, writeFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

interface Mount {
  version: 1 | 2
  controllers: string[]
  mountPoint: string
  root: string
}

export interface EnvironmentCgroup {
  /** Moves a process (and so, from then on, its children) into the cgroups. */
  join(pid: number): Promise<void>
  peakMemoryBytes(): number
  oomKills(): number
  /** Lifts the CPU limit (Lambda does not throttle init) or sets the function's share. */
  setCpu(cores: number | 'unlimited'): void
  /** Kills whatever is still inside, then removes the cgroups. */
  remove(): Promise<void>
}

export interface CgroupManager {
  readonly version: 1 | 2
  readonly cpu: boolean
  /** A cgroup for one environment, with the memory limit set and the CPU not yet limited. */
  create(id: string, memoryBytes: number): EnvironmentCgroup
  close(): Promise<void>
}

export type CgroupResult = {ok: true; manager: CgroupManager} | {ok: false; reason: string}

const CPU_PERIOD_US = 100_000

function readMounts(): Mount[] {
  const mounts: Mount[] = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ')
    if (!left || !right) continue
    const fields = left.split(' ')
    const [fsType, , superOptions = ''] = right.split(' ')
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue
    mounts.push({
      version: fsType === 'cgroup2' ? 2 : 1,
      controllers: fsType === 'cgroup2' ? [] : superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro'),
      mountPoint: fields[4] ?? '',
      root: fields[3] ?? '/',
    })
  }
  return mounts
}

/** This process's cgroup per v1 controller, and its v2 path under the key "". */
function readOwnCgroups(): Map<string, string> {
  const own = new Map<string, string>()
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers = '', cgroupPath = '/'] = line.split(':')
    for (const controller of controllers.split(',')) own.set(controller, cgroupPath)
  }
  return own
}

function dirFor(mount: Mount, cgroupPath: string): string {
  const relative = path.relative(mount.root, cgroupPath)
  return path.join(mount.mountPoint, relative.startsWith('..') ? cgroupPath : relative)
}

/**
 * A cgroup counter read on every invoke: the file stays open and is re-read from offset 0 (the
 * kernel regenerates it), one syscall instead of open + read + close.
 */
function counterReader(file: string): {read(): number; close(): void} {
  let fd: number | undefined
  const buffer = Buffer.alloc(32)
  return {
    read() {
      try {
        fd ??= openSync(file, 'r')
        const n = readSync(fd, buffer, 0, buffer.length, 0)
        return Number(buffer.toString('latin1', 0, n).trim()) || 0
      } catch {
        return 0
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd)
      fd = undefined
    },
  }
}

const readKeyed = (file: string, key: string): number => {
  try {
    const match = readFileSync(file, 'utf8').match(new RegExp(`^${key} (\\d+)$`, 'm'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value)
    return true
  } catch {
    return false
  }
}

async function killAndRemove(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {
          // already gone
        }
      }
      rmdirSync(dir)
      return
    } catch {
      // Processes take a moment to leave a cgroup after SIGKILL.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

/**
 * Removes the cgroups of emulators that died without cleaning up (SIGKILL, a crash), killing any
 * runtime still inside. Their names carry the emulator's pid; a live emulator's are left alone.
 */
function sweepDeadSessions(parent: string): void {
  let entries: string[]
  try {
    entries = readdirSync(parent)
  } catch {
    return
  }
  for (const name of entries) {
    const pid = /^sai-[0-9a-f]+-(\d+)$/.exec(name)?.[1]
    if (!pid || isAlive(Number(pid))) continue
    const dir = path.join(parent, name)
    let children: string[] = []
    try {
      children = readdirSync(dir, {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name))
    } catch {
      continue
    }
    void Promise.all(children.map(killAndRemove)).then(() => killAndRemove(dir))
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function openCgroups(sessionId: string): CgroupResult {
  if (process.platform !== 'linux') return {ok: false, reason: 'cgroups exist only on Linux'}
  let mounts: Mount[]
  let own: Map<string, string>
  try {
    mounts = readMounts()
    own = readOwnCgroups()
  } catch (error) {
    return {ok: false, reason: `cannot read /proc/self/cgroup: ${(error as Error).message}`}
  }
  // The emulator's pid in the name lets a later emulator tell a dead session's cgroups from a live one's.
  const sessionDir = `sai-${sessionId}-${process.pid}`
  const v1Memory = mounts.find((m) => m.version === 1 && m.controllers.includes('memory'))
  if (v1Memory && own.has('memory')) {
    sweepDeadSessions(dirFor(v1Memory, own.get('memory')!))
    const memoryParent = path.join(dirFor(v1Memory, own.get('memory')!), sessionDir)
    try {
      mkdirSync(memoryParent, {recursive: true})
    } catch (error) {
      return {ok: false, reason: `cannot create a memory cgroup under ${path.dirname(memoryParent)}: ${(error as Error).message}`}
    }
    const v1Cpu = mounts.find((m) => m.version === 1 && m.controllers.includes('cpu'))
    let cpuParent: string | undefined
    if (v1Cpu && own.has('cpu')) {
      try {
        sweepDeadSessions(dirFor(v1Cpu, own.get('cpu')!))
        cpuParent = path.join(dirFor(v1Cpu, own.get('cpu')!), sessionDir)
        mkdirSync(cpuParent, {recursive: true})
      } catch {
        cpuParent = undefined
      }
    }
    return {ok: true, manager: v1Manager(memoryParent, cpuParent)}
  }
  const v2 = mounts.find((m) => m.version === 2)
  if (v2 && own.has('')) {
    const ownDir = dirFor(v2, own.get('')!)
    sweepDeadSessions(ownDir)
    const parent = path.join(ownDir, sessionDir)
    try {
      if (!readFileSync(path.join(ownDir, 'cgroup.controllers'), 'utf8').includes('memory')) {
        return {ok: false, reason: `the cgroup v2 memory controller is not delegated to ${ownDir}`}
      }
      mkdirSync(parent, {recursive: true})
      // Enabling controllers for children fails while this cgroup holds processes (cgroup v2's "no internal processes" rule).
      writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+memory')
      const cpu = tryWrite(path.join(parent, 'cgroup.subtree_control'), '+cpu')
      return {ok: true, manager: v2Manager(parent, cpu)}
    } catch (error) {
      void killAndRemove(parent)
      return {ok: false, reason: `cannot delegate cgroup v2 controllers under ${ownDir}: ${(error as Error).message}`}
    }
  }
  return {ok: false, reason: 'no writable memory cgroup controller (v1 or v2) is mounted'}
}

function v1Manager(memoryParent: string, cpuParent: string | undefined): CgroupManager {
  return {
    version: 1,
    cpu: cpuParent !== undefined,
    create(id, memoryBytes) {
      const memoryDir = path.join(memoryParent, id)
      mkdirSync(memoryDir)
      writeFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), String(memoryBytes))
      // No swap, as on Lambda: where the kernel accounts swap, cap memory+swap at the same size.
      tryWrite(path.join(memoryDir, 'memory.memsw.limit_in_bytes'), String(memoryBytes))
      tryWrite(path.join(memoryDir, 'memory.swappiness'), '0')
      // Pages the runtime touched before it joined move with it.
      tryWrite(path.join(memoryDir, 'memory.move_charge_at_immigrate'), '1')
      const dirs = [memoryDir]
      const cpuDir = cpuParent && path.join(cpuParent, id)
      if (cpuDir) {
        mkdirSync(cpuDir)
        writeFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US))
        dirs.push(cpuDir)
      }
      const peak = counterReader(path.join(memoryDir, 'memory.max_usage_in_bytes'))
      return {
        join: async (pid) => void (await Promise.all(dirs.map((d) => writeFile(path.join(d, 'cgroup.procs'), String(pid))))),
        peakMemoryBytes: () => peak.read(),
        oomKills: () => readKeyed(path.join(memoryDir, 'memory.oom_control'), 'oom_kill'),
        setCpu: (cores) => {
          if (cpuDir) tryWrite(path.join(cpuDir, 'cpu.cfs_quota_us'), cores === 'unlimited' ? '-1' : String(Math.round(cores * CPU_PERIOD_US)))
        },
        remove: async () => {
          peak.close()
          await Promise.all(dirs.map(killAndRemove))
        },
      }
    },
    close: async () => void (await Promise.all([memoryParent, cpuParent].filter((d) => d !== undefined).map(killAndRemove))),
  }
}

function v2Manager(parent: string, cpu: boolean): CgroupManager {
  return {
    version: 2,
    cpu,
    create(id, memoryBytes) {
      const dir = path.join(parent, id)
      mkdirSync(dir)
      writeFileSync(path.join(dir, 'memory.max'), String(memoryBytes))
      tryWrite(path.join(dir, 'memory.swap.max'), '0')
      const peak = counterReader(path.join(dir, existsSync(path.join(dir, 'memory.peak')) ? 'memory.peak' : 'memory.current'))
      return {
        join: (pid) => writeFile(path.join(dir, 'cgroup.procs'), String(pid)),
        peakMemoryBytes: () => peak.read(),
        oomKills: () => readKeyed(path.join(dir, 'memory.events'), 'oom_kill'),
        setCpu: (cores) => {
          if (cpu) tryWrite(path.join(dir, 'cpu.max'), `${cores === 'unlimited' ? 'max' : Math.round(cores * CPU_PERIOD_US)} ${CPU_PERIOD_US}`)
        },
        remove: async () => {
          peak.close()
          tryWrite(path.join(dir, 'cgroup.kill'), '1')
          await killAndRemove(dir)
        },
      }
    },
    close: () => killAndRemove(parent),
  }
}
