/**
 * Where execution environments run. Written in sai's own types; callers never branch on the
 * implementation (process today, Docker later).
 */

export interface EnvironmentSpec {
  id: string
  functionName: string
  memoryMb: number
  ephemeralStorageMb: number
  /** argv of the runtime: the first element is the executable. */
  command: string[]
  /** The task root (LAMBDA_TASK_ROOT): the function's code and model. */
  taskRoot: string
  /**
   * The image this environment runs, for backends that run images (Docker): an engine reference
   * or image ID. Such a backend runs the image's own entrypoint with the image's paths, and takes
   * from `env` only what is not a path on this host. The process backend runs `command` in `taskRoot`.
   */
  image?: string
  /** The whole environment of the runtime: Lambda's variables and the function's own, nothing of the host's. */
  env: Record<string, string>
  /** Every line the runtime writes on stdout or stderr. */
  onOutput(line: string, stream: 'stdout' | 'stderr'): void
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
  /** The backend killed it for going over its memory size. */
  outOfMemory: boolean
}

export interface EnvironmentHandle {
  readonly id: string
  /** Resolves once, when the runtime has exited for any reason. */
  readonly exited: Promise<ExitInfo>
  /** Peak memory of the environment so far, in bytes: measured, never the configured size. */
  peakMemoryBytes(): number
  /**
   * When the runtime itself was started (epoch ms), when that is later than the spawn began: a
   * container is created before it starts. Init Duration counts from here, as on Lambda.
   */
  readonly startedAt?: number
  /** Steps of bringing the environment up before the runtime ran (epoch ms), e.g. {containerCreated, containerStarted}. */
  readonly startupMarks?: Record<string, number>
  /**
   * Resolves once output the runtime wrote before its answer has arrived, for backends whose
   * output travels separately (a container's, through the engine): a Tail log must hold it.
   * `totalBytes`: all the runtime had written by then, when it says (sai's runtime does).
   */
  outputSettled?(totalBytes?: number): Promise<void>
  /**
   * Between invokes, as Lambda freezes an idle sandbox (--freeze): `freeze` stops every process of
   * the environment, `thaw` lets them run again and resolves once they do.
   */
  freeze?(): Promise<void>
  thaw?(): Promise<void>
  /**
   * Init is over. Lambda does not throttle the CPU during init (a 128 MB function starts about as
   * fast as a 1 GB one), so backends apply the memory-proportional CPU share from here on.
   */
  initDone(): void
  /** Kills the environment and everything it started; idempotent. */
  stop(): Promise<void>
}

export interface BackendCapabilities {
  name: string
  /** How the memory size is enforced, e.g. "cgroup v1 memory controller" or "RSS watch (every 10 ms)". */
  memoryEnforcement: string
  /** How the CPU share is enforced, or null when it cannot be. */
  cpuEnforcement: string | null
  /** What the user should know (e.g. why CPU cannot be limited). */
  notes: string[]
}

export interface Backend {
  readonly capabilities: BackendCapabilities
  /** Where Runtime APIs must listen for this backend's environments to reach them (default 127.0.0.1). */
  readonly runtimeApiHost?: string
  /** Starts the runtime; resolves once the process exists (not once it is ready). */
  start(spec: EnvironmentSpec): Promise<EnvironmentHandle>
  /** Stops every environment this backend started. */
  close(): Promise<void>
}
