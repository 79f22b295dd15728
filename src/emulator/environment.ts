/**
 * One execution environment: a runtime (from a backend), its own Runtime API listener, and the
 * state machine that decides every reply. Readiness is an event — the runtime's first /next.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Backend, EnvironmentHandle, EnvironmentSpec, ExitInfo} from './backends/backend.js'
import type {Clock, Timer} from './clock.js'
import {EnvironmentState} from './pool/environment-state.js'
import type {RuntimeApiTarget} from './runtime-api/handlers.js'
import {startRuntimeApi, type RuntimeApiServer} from './runtime-api/server.js'
import {
  ACCEPTED, invalidRequestId, invalidStateTransition, sendInvocation,
  type RuntimeApiReply, type RuntimeInvocation,
} from './runtime-api/wire.js'

export type InitType = 'on-demand' | 'provisioned-concurrency'

/**
 * replaced: its function's code or configuration changed; deleted: its function or version was
 * deleted; deprovisioned: provisioned concurrency was lowered or moved to another version.
 */
export type StopReason = 'reaped' | 'timeout' | 'exited' | 'init-failed' | 'init-timeout' | 'shutdown' | 'keep-alive-0' | 'unused' | 'replaced' | 'deleted' | 'deprovisioned'

/** Why an environment never became ready. */
export type InitFailure =
  | {kind: 'init-error'; body: Buffer; errorType: string}
  | {kind: 'entrypoint'; command: string; code?: string}
  | {kind: 'exit'; exit: ExitInfo}
  | {kind: 'timeout'}

export type InvocationOutcome =
  | {kind: 'response'; body: Buffer}
  | {kind: 'function-error'; body: Buffer; errorType: string}
  | {kind: 'too-large'}
  | {kind: 'timeout'}
  | {kind: 'exit'; exit: ExitInfo}

/** Epoch-ms marks of a cold start; the sai runtime reports the two in the middle. */
export interface ColdStartMarks {
  spawnStart: number
  /** Backend steps before the runtime ran, e.g. a container's create and start. */
  backend?: Record<string, number>
  /** The runtime process began (its performance.timeOrigin). */
  processStart?: number
  /** The runtime's own code was loaded, before the function's init. */
  runtimeReady?: number
  /** First /next: init is done. */
  initDone?: number
}

interface Current {
  invocation: RuntimeInvocation
  deliveredAt?: number
  settle(outcome: InvocationOutcome): void
  timer: Timer
}

export interface DispatchResult {
  result: InvocationOutcome
  /** When the runtime received the event: Duration starts here. Undefined if it never asked. */
  deliveredAt?: number
  /** When the runtime answered (or the platform gave up on it). */
  answeredAt: number
}

export interface EnvironmentOptions {
  id: string
  functionName: string
  initType: InitType
  backend: Backend
  clock: Clock
  /** Interface the Runtime API binds to. */
  host: string
  /** Also serve the Runtime API on this Unix socket (for runtimes on this host). */
  socketPath?: string
  spec: Omit<EnvironmentSpec, 'env' | 'onOutput' | 'id'> & {env: Record<string, string>}
  onOutput(env: Environment, line: string): void
  /** The runtime exited, whatever the reason (the environment is stopping). */
  onExit(env: Environment): void
  /** The runtime's first /next: init is done. */
  onReady(env: Environment): void
  /** Freeze the environment between invokes, as Lambda does (the backend's freeze/thaw). */
  freeze?: boolean
}

/** RIE's names for the runtime's states, used in its InvalidStateTransition messages. */
const RIE_STATE = {Starting: 'Started', Ready: 'Ready', Busy: 'Running', InitFailed: 'InitError', Stopping: 'Ready', Stopped: 'Ready'} as const

export class Environment implements RuntimeApiTarget {
  readonly id: string
  readonly functionName: string
  readonly initType: InitType
  readonly state = new EnvironmentState()
  readonly marks: ColdStartMarks
  invocations = 0
  /** The request being served, for log attribution. */
  currentRequestId?: string
  lastUsedAt = 0
  stopReason?: StopReason

  private api?: RuntimeApiServer
  private handle?: EnvironmentHandle
  private heldNext?: ServerResponse
  private current?: Current
  /** The last answered request id: a second answer is a refused transition, not an unknown id. */
  private answeredId?: string
  private initErrorBody?: {body: Buffer; errorType: string}
  private readyWaiters: {resolve(): void; reject(failure: InitFailure): void}[] = []
  private initFailure?: InitFailure
  private stopping?: Promise<void>
  /** Init ended (first /next) before the backend's start returned the handle. */
  private initDoneBeforeHandle = false
  /** Set while the environment is frozen between invokes (--freeze): resolves once the freeze took. */
  private frozen?: Promise<void>
  /** What the runtime said it had written to stdout/stderr when it last answered. */
  private outputBytesAtAnswer?: number

  private constructor(private readonly options: EnvironmentOptions) {
    this.id = options.id
    this.functionName = options.functionName
    this.initType = options.initType
    this.marks = {spawnStart: options.clock.now()}
  }

  /** Spawns the runtime; resolves once the process exists. Use `ready()` to wait for init. */
  static async spawn(options: EnvironmentOptions): Promise<Environment> {
    const env = new Environment(options)
    env.api = await startRuntimeApi(env, options.host, options.socketPath)
    const socket: Record<string, string> = env.api.socketPath ? {SAI_RUNTIME_API_SOCKET: env.api.socketPath} : {}
    try {
      env.handle = await options.backend.start({
        ...options.spec,
        id: options.id,
        env: {...options.spec.env, AWS_LAMBDA_RUNTIME_API: env.api.address, ...socket},
        onOutput: (line) => options.onOutput(env, line),
      })
    } catch (error) {
      // The runtime could not even start (a missing or non-executable bootstrap): an init failure
      // of this environment, reported to its invoke as Lambda does, not an emulator error.
      env.failInit({kind: 'entrypoint', command: options.spec.command[0]!, code: (error as NodeJS.ErrnoException).code})
      await env.stop('init-failed')
      return env
    }
    if (env.handle.startupMarks) env.marks.backend = env.handle.startupMarks
    if (env.initDoneBeforeHandle) env.handle.initDone()
    void env.handle.exited.then((exit) => env.onExit(exit))
    return env
  }

  /** Output written before the runtime's answer has arrived (see EnvironmentHandle.outputSettled). */
  outputSettled(): Promise<void> {
    return this.handle?.outputSettled?.(this.outputBytesAtAnswer) ?? Promise.resolve()
  }

  get runtimeApiAddress(): string {
    return this.api?.address ?? ''
  }

  /** Spawn (or, for a container, its start) → first /next: the Init Duration. */
  get initDurationMs(): number | undefined {
    return this.marks.initDone === undefined ? undefined : this.marks.initDone - (this.handle?.startedAt ?? this.marks.spawnStart)
  }

  peakMemoryMb(): number {
    return Math.ceil((this.handle?.peakMemoryBytes() ?? 0) / (1024 * 1024))
  }

  /** Resolves when the runtime calls /next for the first time; rejects on init error, exit or timeout. */
  ready(timeoutMs: number): Promise<void> {
    if (this.state.name !== 'Starting') {
      return this.initFailure ? Promise.reject(this.initFailure) : Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const timer = this.options.clock.setTimer(() => this.failInit({kind: 'timeout'}), timeoutMs)
      this.readyWaiters.push({
        resolve: () => (timer.cancel(), resolve()),
        reject: (failure) => (timer.cancel(), reject(failure)),
      })
    })
  }

  private failInit(failure: InitFailure): void {
    if (this.initFailure) return
    this.initFailure = failure
    if (this.state.can('InitFailed')) this.state.to('InitFailed')
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(failure)
  }

  /** Hands an invocation to a Ready environment; resolves with what became of it. */
  dispatch(invocation: RuntimeInvocation, timeoutMs: number): Promise<DispatchResult> {
    this.state.to('Busy')
    this.invocations++
    this.currentRequestId = invocation.requestId
    return new Promise((resolve) => {
      const current: Current = {
        invocation,
        timer: this.options.clock.setTimer(() => current.settle({kind: 'timeout'}), timeoutMs),
        settle: (outcome) => {
          if (this.current !== current) return
          const answeredAt = this.options.clock.now()
          current.timer.cancel()
          this.current = undefined
          this.answeredId = invocation.requestId
          // Lines the runtime wrote before answering may still be on their way (in its pipe, or through
          // a container engine): the invoke ends, and its log with it, once they have arrived.
          const finish = () =>
            setImmediate(() => {
              this.currentRequestId = undefined
              this.lastUsedAt = this.options.clock.now()
              if (outcome.kind !== 'timeout' && outcome.kind !== 'exit' && this.state.name === 'Busy') {
                this.state.to('Ready')
                if (this.options.freeze) this.frozen = this.handle?.freeze?.().catch(() => undefined)
              }
              resolve({result: outcome, deliveredAt: current.deliveredAt, answeredAt})
            })
          if (this.handle?.outputSettled && (outcome.kind === 'response' || outcome.kind === 'function-error')) void this.outputSettled().then(finish)
          else finish()
        },
      }
      this.current = current
      const frozen = this.frozen
      this.frozen = undefined
      const deliverHeld = () => {
        if (!this.heldNext || this.current !== current) return
        const res = this.heldNext
        this.heldNext = undefined
        this.deliver(res)
      }
      // A frozen environment is thawed first: its runtime cannot read the event until it runs.
      if (frozen) void frozen.then(() => this.handle?.thaw?.()).catch(() => undefined).then(deliverHeld)
      else deliverHeld()
    })
  }

  private deliver(res: ServerResponse): void {
    const current = this.current!
    current.deliveredAt ??= this.options.clock.now()
    sendInvocation(res, current.invocation)
  }

  // ---- Runtime API ---------------------------------------------------------------------------

  next(req: IncomingMessage, res: ServerResponse): void {
    if (this.state.name === 'Starting') {
      const now = this.options.clock.now()
      this.marks.initDone = now
      const header = (name: string) => Number(req.headers[name]) || undefined
      this.marks.processStart = header('sai-process-start-ms')
      this.marks.runtimeReady = header('sai-runtime-ready-ms')
      this.state.to('Ready')
      // A quick runtime (a container's) may finish init before the backend's start has returned:
      // the handle is then told as soon as it exists.
      if (this.handle) this.handle.initDone()
      else this.initDoneBeforeHandle = true
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve()
      this.options.onReady(this)
    }
    if (!this.state.alive || this.state.name === 'InitFailed') {
      res.destroy()
      return
    }
    if (this.current) {
      // RIE re-sends the outstanding event to a runtime that asks again.
      this.deliver(res)
      return
    }
    this.heldNext?.destroy()
    this.heldNext = res
    res.on('close', () => {
      if (this.heldNext === res) this.heldNext = undefined
    })
  }

  private answer(requestId: string, to: string): Current | RuntimeApiReply {
    const current = this.current
    if (current && current.invocation.requestId === requestId && current.deliveredAt !== undefined) return current
    if (requestId === this.answeredId) return invalidStateTransition('RuntimeResponseSentState', to)
    return invalidRequestId()
  }

  response(requestId: string, body: Buffer, outputBytes?: number): RuntimeApiReply {
    const current = this.answer(requestId, 'InvocationResponse')
    if ('status' in current) return current
    this.outputBytesAtAnswer = outputBytes
    current.settle({kind: 'response', body})
    return ACCEPTED
  }

  responseTooLarge(requestId: string): RuntimeApiReply {
    const current = this.answer(requestId, 'InvocationResponse')
    if ('status' in current) return current
    current.settle({kind: 'too-large'})
    return ACCEPTED
  }

  error(requestId: string, body: Buffer, errorTypeHeader: string | undefined, outputBytes?: number): RuntimeApiReply {
    const current = this.answer(requestId, 'InvocationErrorResponse')
    if ('status' in current) return current
    this.outputBytesAtAnswer = outputBytes
    current.settle({kind: 'function-error', body, errorType: errorTypeOf(body, errorTypeHeader)})
    return ACCEPTED
  }

  initError(body: Buffer, errorTypeHeader: string | undefined): RuntimeApiReply {
    if (this.state.name !== 'Starting') return invalidStateTransition(RIE_STATE[this.state.name], 'InitError')
    this.initErrorBody = {body, errorType: errorTypeOf(body, errorTypeHeader)}
    this.failInit({kind: 'init-error', ...this.initErrorBody})
    return ACCEPTED
  }

  // ---- Endings -------------------------------------------------------------------------------

  private onExit(exit: ExitInfo): void {
    this.failInit(this.initErrorBody ? {kind: 'init-error', ...this.initErrorBody} : {kind: 'exit', exit})
    this.current?.settle({kind: 'exit', exit})
    void this.stop('exited')
    this.options.onExit(this)
  }

  /** Kills the runtime and closes its Runtime API; idempotent. */
  stop(reason: StopReason): Promise<void> {
    if (this.stopping) return this.stopping
    this.stopReason = reason
    if (this.state.can('Stopping')) this.state.to('Stopping')
    this.failInit({kind: 'exit', exit: {code: null, signal: 'SIGKILL', outOfMemory: false}})
    this.stopping = (async () => {
      // Kill first: a runtime whose /next is cut while it still runs would log a spurious error.
      await this.handle?.stop()
      this.heldNext?.destroy()
      await this.api?.close()
      if (this.state.can('Stopped')) this.state.to('Stopped')
    })()
    return this.stopping
  }
}

/**
 * The error type of a function error: the runtime's header when it has Lambda's shape (RIE's rule),
 * else the body's errorType, else Lambda's default.
 */
function errorTypeOf(body: Buffer, header: string | undefined): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {errorType?: unknown}
    if (typeof parsed.errorType === 'string' && parsed.errorType) return parsed.errorType
  } catch {
    // not JSON: the header decides
  }
  if (header && /(Runtime|Function)\.[A-Z][a-zA-Z]+/.test(header)) return header
  return 'Runtime.Unknown'
}
