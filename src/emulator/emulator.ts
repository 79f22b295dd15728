/**
 * The emulator: functions, their pools of execution environments, and the invoke path that ties
 * them together. HTTP lives in invoke-api/; this class is what `sai bench` drives in-process.
 */
import {randomBytes, randomUUID} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {mkdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {FunctionSpec} from '../spec/load.js'
import {LAMBDA_LIMITS} from '../spec/limits.js'
import type {Backend} from './backends/backend.js'
import {systemClock, type Clock, type Timer} from './clock.js'
import {Environment, type DispatchResult, type InitFailure, type InitType, type InvocationOutcome} from './environment.js'
import type {EmulatorEventMap, InvokeEndEvent, InvokeStatus} from './events.js'
import {
  eventTooLarge, functionArn, invalidRequestContent, LambdaServiceError, requestTooLarge, resourceNotFound, tooManyRequests,
} from './invoke-api/aws-errors.js'
import {invalidEntrypoint, platformErrorBody, responseTooLarge, runtimeExited, timedOut, type PlatformError} from './platform-errors.js'
import {AccountConcurrency, FunctionPool} from './pool/pool.js'
import {billedDuration, endLine, initReportLine, reportLine, startLine, type ReportFields} from './report.js'

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun'

export interface InvokeRequest {
  /** A name, `name:qualifier`, a full or partial ARN. */
  functionName: string
  qualifier?: string
  invocationType?: InvocationType
  logType?: 'None' | 'Tail'
  /** X-Amz-Client-Context: base64 of a JSON object. */
  clientContext?: string
  /**
   * The event. A promise lets a synchronous invoke start its cold start while the body is still
   * arriving (the HTTP layer passes the body it is reading; a rejection is the caller's error).
   */
  payload?: Buffer | Promise<Buffer>
}

export interface InvokeResult {
  requestId: string
  status: 200 | 202 | 204
  payload?: Buffer
  functionError?: 'Unhandled'
  executedVersion?: string
  /** Base64 of the last 4 KB of the invoke's log, when Tail was asked for. */
  logResult?: string
}

export interface EmulatorOptions {
  functions: FunctionSpec[]
  backend: Backend
  /** Interface the per-environment Runtime APIs bind to. */
  runtimeApiHost?: string
  region?: string
  accountId?: string
  /** Idle seconds before an on-demand environment is reaped (0 = every invoke is cold). */
  keepAliveSeconds?: number
  accountConcurrency?: number
  /** Delays before the two retries of a failed Event invoke (Lambda: about 1 and 2 minutes). */
  asyncRetryDelaysMs?: [number, number]
  clock?: Clock
  /** Identifies this emulator's environments and temp files. */
  sessionId?: string
  /** Freeze environments between invokes, as Lambda does (background work stops). */
  freeze?: boolean
}

interface FunctionEntry {
  spec: FunctionSpec
  pool: FunctionPool<Environment>
  arn: string
}

/** What the sai runtime's entry point is, next to this file in dist/. */
export const SAI_BOOTSTRAP = fileURLToPath(new URL('../../dist/runtime/bootstrap.js', import.meta.url))

const VERSION = '$LATEST'
/** Lines kept per invoke for X-Amz-Log-Result (4 KB): START plus the latest ones. */
const MAX_TAIL_LINES = 4096

export class Emulator extends EventEmitter<EmulatorEventMap> {
  readonly region: string
  readonly accountId: string
  readonly sessionId: string
  private readonly functions = new Map<string, FunctionEntry>()
  private readonly clock: Clock
  private readonly tmpRoot: string
  private readonly logs = new Map<string, string[]>()
  private readonly asyncTimers = new Set<Timer>()
  private closing?: Promise<void>
  private envCounter = 0
  /** Event invokes accepted and not yet finished (including those waiting for a retry). */
  pendingEvents = 0

  constructor(private readonly options: EmulatorOptions) {
    super()
    this.clock = options.clock ?? systemClock
    this.region = options.region ?? 'us-east-1'
    this.accountId = options.accountId ?? '000000000000'
    this.sessionId = options.sessionId ?? randomBytes(4).toString('hex')
    this.tmpRoot = path.join(os.tmpdir(), `sai-${this.sessionId}`)
    const reservedTotal = options.functions.reduce((sum, f) => sum + (f.reservedConcurrency ?? 0), 0)
    const accountBudget = new AccountConcurrency(Math.max(0, (options.accountConcurrency ?? LAMBDA_LIMITS.accountConcurrency) - reservedTotal))
    for (const spec of options.functions) {
      const pool: FunctionPool<Environment> = new FunctionPool<Environment>({
        clock: this.clock,
        keepAliveMs: (options.keepAliveSeconds ?? 600) * 1000,
        reservedConcurrency: spec.reservedConcurrency,
        accountBudget,
        onReap: (env) => void this.stopEnvironment(env, options.keepAliveSeconds === 0 ? 'keep-alive-0' : 'reaped'),
      })
      this.functions.set(spec.name, {spec, pool, arn: functionArn(this.region, this.accountId, spec.name)})
    }
  }

  get backend(): Backend {
    return this.options.backend
  }

  functionSpecs(): FunctionSpec[] {
    return [...this.functions.values()].map((f) => f.spec)
  }

  /** Starts the provisioned environments and waits until they are ready (or failed). */
  async start(): Promise<void> {
    const starts: Promise<unknown>[] = []
    for (const entry of this.functions.values()) {
      for (let i = 0; i < entry.spec.provisionedConcurrency; i++) starts.push(this.provision(entry))
    }
    await Promise.all(starts)
  }

  /** Function name and qualifier from a name, `name:qualifier`, or an ARN. */
  private resolve(functionName: string, qualifier: string | undefined): FunctionEntry {
    let name = functionName
    let nameQualifier: string | undefined
    const arn = /^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?function:([\w-]+)(?::([\w$-]+))?$/.exec(functionName)
    if (arn) {
      name = arn[1]!
      nameQualifier = arn[2]
    } else if (functionName.includes(':')) {
      ;[name, nameQualifier] = functionName.split(':', 2) as [string, string]
    }
    const wanted = qualifier ?? nameQualifier
    const entry = this.functions.get(name)
    if (!entry || (wanted !== undefined && wanted !== VERSION)) {
      throw resourceNotFound(functionArn(this.region, this.accountId, name, wanted))
    }
    return entry
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const entry = this.resolve(request.functionName, request.qualifier)
    const type = request.invocationType ?? 'RequestResponse'
    const clientContext = request.clientContext === undefined ? undefined : decodeClientContext(request.clientContext)
    const requestId = randomUUID()
    const payload = Promise.resolve(request.payload).then((body) => checkPayload(body, type))
    // Rejections are handled where the payload is awaited; an invoke refused first (429) never awaits it.
    payload.catch(() => undefined)
    if (type === 'RequestResponse') {
      return this.invokeSync(entry, {requestId, payload, clientContext, tail: request.logType === 'Tail', invocationType: 'RequestResponse'})
    }
    const event = await payload
    if (type === 'DryRun') return {requestId, status: 204}
    this.enqueueEvent(entry, event, clientContext, requestId)
    return {requestId, status: 202}
  }

  private async invokeSync(
    entry: FunctionEntry,
    call: {requestId: string; payload: Buffer | Promise<Buffer>; clientContext?: string; tail: boolean; invocationType: 'RequestResponse' | 'Event'},
  ): Promise<InvokeResult> {
    const {spec, pool} = entry
    const {requestId} = call
    const arrivedAt = this.clock.now()
    const admission = pool.admit()
    if (!admission.ok) {
      this.emit('invoke-throttled', {functionName: spec.name, requestId, reason: admission.reason, at: arrivedAt})
      throw tooManyRequests(admission.reason)
    }
    this.emit('invoke-start', {functionName: spec.name, requestId, invocationType: call.invocationType, at: arrivedAt})
    // The invoke's own log is kept only for a Tail; lines are built only when someone reads them.
    const log = call.tail ? [] : undefined
    if (log) this.logs.set(requestId, log)
    try {
      const timeoutMs = spec.timeout * 1000
      let env: Environment
      let cold: boolean
      let reportInit = true
      let outcome: DispatchResult
      let startLogged = false
      for (;;) {
        const idle = pool.takeIdle()
        if (idle && idle.state.name !== 'Ready') {
          // It died while idle and is on its way out: never hand it an invoke.
          this.forget(entry, idle)
          continue
        }
        cold = idle === undefined
        // A cold start begins at once; the event may still be arriving (and may yet prove invalid).
        const starting = idle ? undefined : this.coldStart(entry, log)
        if (!(call.payload instanceof Buffer)) {
          try {
            call.payload = await call.payload
          } catch (error) {
            if (idle) pool.release(idle)
            if (starting) void this.discardUnused(entry, starting)
            throw error
          }
        }
        if (idle) {
          env = idle
        } else {
          const started = await starting!
          if ('failure' in started) return this.finishInitFailure(entry, call, started, arrivedAt, log)
          env = started.env
          reportInit = !started.suppressed
        }
        if (!startLogged) this.platformLog(entry, log, () => startLine(requestId, VERSION), requestId, env.id)
        startLogged = true
        outcome = await env.dispatch(
          {
            requestId,
            payload: call.payload as Buffer,
            deadlineMs: Date.now() + timeoutMs,
            invokedFunctionArn: entry.arn,
            traceId: traceId(),
            clientContext: call.clientContext,
          },
          timeoutMs,
        )
        // A warm environment whose runtime died before it took the event (it crashed after its last
        // answer): the function never saw this invoke, so it goes to a fresh environment.
        if (!cold && outcome.result.kind === 'exit' && outcome.deliveredAt === undefined) {
          this.forget(entry, env)
          continue
        }
        break
      }
      const endedAt = this.clock.now()
      // After a suppressed init, the second init is part of the invoke's Duration, as on Lambda.
      const durationStart = cold && !reportInit ? env.marks.spawnStart : outcome.deliveredAt ?? endedAt
      const initDurationMs = cold && reportInit && env.initType === 'on-demand' ? env.initDurationMs : undefined
      const durationMs = outcome.result.kind === 'timeout' ? timeoutMs : Math.max(0, outcome.answeredAt - durationStart)
      const {payload, functionError, status, platform} = this.interpret(outcome.result, requestId, spec.timeout)
      const report: ReportFields = {
        requestId,
        durationMs,
        billedDurationMs: billedDuration(durationMs, initDurationMs),
        memorySizeMb: spec.memory,
        maxMemoryUsedMb: env.peakMemoryMb(),
        initDurationMs,
        ...(platform ? {status: outcome.result.kind === 'timeout' ? 'timeout' : 'error', errorType: platform.errorType} : {}),
      }
      if (outcome.result.kind === 'timeout') void this.stopEnvironment(env, 'timeout')
      if (env.state.name === 'Ready') pool.release(env)
      else this.forget(entry, env)
      const event: InvokeEndEvent = {
        functionName: spec.name,
        requestId,
        invocationType: call.invocationType,
        envId: env.id,
        initType: env.initType,
        cold,
        status,
        errorType: platform?.errorType ?? (outcome.result.kind === 'function-error' ? outcome.result.errorType : undefined),
        arrivedAt,
        endedAt,
        coldStart: cold ? {...env.marks, firstResponse: outcome.answeredAt} : undefined,
        report,
      }
      return this.finish(entry, event, log, payload, functionError)
    } finally {
      pool.finish()
      if (log) this.logs.delete(requestId)
    }
  }

  /** What an invocation's outcome means for the caller. */
  private interpret(result: InvocationOutcome, requestId: string, timeoutSeconds: number) {
    const platformError = (error: PlatformError, status: InvokeStatus) => ({
      payload: platformErrorBody(error),
      functionError: 'Unhandled' as const,
      status,
      platform: error,
    })
    switch (result.kind) {
      case 'response':
        return {payload: result.body, functionError: undefined, status: 'success' as InvokeStatus, platform: undefined}
      case 'function-error':
        return {payload: result.body, functionError: 'Unhandled' as const, status: 'function-error' as InvokeStatus, platform: undefined}
      case 'too-large':
        return platformError(responseTooLarge(), 'function-error')
      case 'timeout':
        return platformError(timedOut(requestId, timeoutSeconds), 'timeout')
      case 'exit':
        return platformError(runtimeExited(requestId, result.exit), result.exit.outOfMemory ? 'out-of-memory' : 'crash')
    }
  }

  /**
   * Starts an on-demand environment for one invoke. An init over 10 s is cut and retried once inside
   * the invoke, bounded by the function timeout (Lambda's "suppressed init").
   */
  private async coldStart(
    entry: FunctionEntry,
    log: string[] | undefined,
  ): Promise<{env: Environment; suppressed: boolean} | {failure: InitFailure; env: Environment; suppressed: boolean}> {
    const env = await this.spawn(entry, 'on-demand')
    try {
      await env.ready(LAMBDA_LIMITS.initTimeoutMs)
      return {env, suppressed: false}
    } catch (failure) {
      if ((failure as InitFailure).kind !== 'timeout') return {failure: failure as InitFailure, env, suppressed: false}
      this.platformLog(entry, log, () => initReportLine(LAMBDA_LIMITS.initTimeoutMs, 'init', 'timeout'), '', env.id)
      void this.stopEnvironment(env, 'init-timeout')
      this.forget(entry, env)
    }
    const retry = await this.spawn(entry, 'on-demand')
    try {
      await retry.ready(entry.spec.timeout * 1000)
      return {env: retry, suppressed: true}
    } catch (failure) {
      return {failure: failure as InitFailure, env: retry, suppressed: true}
    }
  }

  /** A cold start begun for an invoke that was then refused (bad JSON, too large): no trace is left. */
  private async discardUnused(entry: FunctionEntry, starting: ReturnType<Emulator['coldStart']>): Promise<void> {
    const {env} = await starting
    this.forget(entry, env, false)
    await this.stopEnvironment(env, 'unused')
  }

  private finishInitFailure(
    entry: FunctionEntry,
    call: {requestId: string; tail: boolean; invocationType: 'RequestResponse' | 'Event'},
    started: {failure: InitFailure; env: Environment; suppressed: boolean},
    arrivedAt: number,
    log: string[] | undefined,
  ): InvokeResult {
    const {spec} = entry
    const {failure, env} = started
    const endedAt = this.clock.now()
    const initMs = endedAt - env.marks.spawnStart
    let error: PlatformError
    let payload: Buffer
    let status: InvokeStatus = 'init-error'
    if (failure.kind === 'init-error') {
      error = {errorType: failure.errorType, errorMessage: ''}
      payload = failure.body
    } else if (failure.kind === 'entrypoint') {
      error = invalidEntrypoint(call.requestId, failure.command, failure.code)
      payload = platformErrorBody(error)
    } else if (failure.kind === 'exit') {
      error = runtimeExited(call.requestId, failure.exit)
      payload = platformErrorBody(error)
      if (failure.exit.outOfMemory) status = 'out-of-memory'
    } else {
      error = timedOut(call.requestId, spec.timeout)
      payload = platformErrorBody(error)
      status = 'timeout'
    }
    const phase = started.suppressed ? 'invoke' : 'init'
    this.platformLog(entry, log, () => startLine(call.requestId, VERSION), call.requestId, env.id)
    this.platformLog(entry, log, () => initReportLine(initMs, phase, failure.kind === 'timeout' ? 'timeout' : 'error', error.errorType), call.requestId, env.id)
    void this.stopEnvironment(env, failure.kind === 'timeout' ? 'init-timeout' : 'init-failed')
    this.forget(entry, env)
    const report: ReportFields = {
      requestId: call.requestId,
      durationMs: 0,
      billedDurationMs: billedDuration(0, initMs),
      memorySizeMb: spec.memory,
      maxMemoryUsedMb: env.peakMemoryMb(),
      status: failure.kind === 'timeout' ? 'timeout' : 'error',
      errorType: error.errorType,
    }
    const event: InvokeEndEvent = {
      functionName: spec.name,
      requestId: call.requestId,
      invocationType: call.invocationType,
      envId: env.id,
      initType: env.initType,
      cold: true,
      status,
      errorType: error.errorType,
      arrivedAt,
      endedAt,
      coldStart: {...env.marks, firstResponse: endedAt},
      report,
    }
    return this.finish(entry, event, log, payload, 'Unhandled')
  }

  /** Writes END and REPORT, emits invoke-end, builds the result. */
  private finish(entry: FunctionEntry, event: InvokeEndEvent, log: string[] | undefined, payload: Buffer, functionError?: 'Unhandled'): InvokeResult {
    const {requestId} = event
    this.platformLog(entry, log, () => endLine(requestId), requestId, event.envId)
    this.platformLog(entry, log, () => reportLine(event.report), requestId, event.envId)
    this.emit('invoke-end', event)
    return {
      requestId,
      status: 200,
      payload,
      functionError,
      executedVersion: VERSION,
      logResult: log ? logTail(log) : undefined,
    }
  }

  private platformLog(entry: FunctionEntry, log: string[] | undefined, line: () => string, requestId: string, envId: string): void {
    if (!log && this.listenerCount('log') === 0) return
    const text = line()
    log?.push(text)
    this.emit('log', {functionName: entry.spec.name, envId, requestId, line: text, source: 'platform'})
  }

  private enqueueEvent(entry: FunctionEntry, payload: Buffer, clientContext: string | undefined, requestId: string): void {
    this.pendingEvents++
    const delays = this.options.asyncRetryDelaysMs ?? [60_000, 120_000]
    const attempt = (retry: number, throttles: number): void => {
      this.invokeSync(entry, {requestId, payload, clientContext, tail: false, invocationType: 'Event'}).then(
        (result) => {
          if (result.functionError && retry < delays.length) return later(() => attempt(retry + 1, throttles), delays[retry]!)
          this.pendingEvents--
        },
        (error: unknown) => {
          // Throttled Event invokes wait and try again (Lambda keeps them for up to 6 hours).
          if (error instanceof LambdaServiceError && error.status === 429) return later(() => attempt(retry, throttles + 1), Math.min(60_000, 1000 * 2 ** throttles))
          this.pendingEvents--
          this.emit('log', {functionName: entry.spec.name, requestId, line: `sai: Event invoke failed: ${(error as Error).message}`, source: 'platform'})
        },
      )
    }
    const later = (callback: () => void, delayMs: number): void => {
      const timer = this.clock.setTimer(() => {
        this.asyncTimers.delete(timer)
        callback()
      }, delayMs)
      this.asyncTimers.add(timer)
    }
    setImmediate(() => attempt(0, 0))
  }

  private async provision(entry: FunctionEntry): Promise<void> {
    if (this.closing) return
    let env: Environment
    try {
      env = await this.spawn(entry, 'provisioned-concurrency')
    } catch (error) {
      this.emit('log', {functionName: entry.spec.name, line: `sai: cannot start a provisioned environment: ${(error as Error).message}`, source: 'platform'})
      return
    }
    try {
      await env.ready(LAMBDA_LIMITS.provisionedInitTimeoutMs)
      entry.pool.release(env)
    } catch (failure) {
      const f = failure as InitFailure
      const why =
        f.kind === 'init-error' ? f.body.toString('utf8')
        : f.kind === 'exit' ? runtimeExited(undefined, f.exit).errorMessage
        : f.kind === 'entrypoint' ? `cannot start ${f.command} (${f.code})`
        : 'init timed out'
      this.emit('log', {functionName: entry.spec.name, envId: env.id, line: `sai: provisioned environment failed to initialize: ${why}`, source: 'platform'})
      void this.stopEnvironment(env, 'init-failed')
      this.forget(entry, env, false)
    }
  }

  /** An environment left the pool for good; a provisioned one is replaced. */
  private forget(entry: FunctionEntry, env: Environment, replace = true): void {
    if (!entry.pool.remove(env)) return
    if (replace && env.initType === 'provisioned-concurrency' && env.initDurationMs !== undefined && !this.closing) void this.provision(entry)
  }

  private async spawn(entry: FunctionEntry, initType: InitType): Promise<Environment> {
    const {spec} = entry
    const id = `${spec.name}-${this.sessionId}-${++this.envCounter}`
    const tmp = path.join(this.tmpRoot, id)
    mkdirSync(tmp, {recursive: true})
    let env: Environment
    try {
      env = await Environment.spawn({
        id,
        functionName: spec.name,
        initType,
        backend: this.options.backend,
        clock: this.clock,
        host: this.options.runtimeApiHost ?? '127.0.0.1',
        // sai's own runtime may take the Runtime API over a Unix socket: same HTTP, no TCP stack.
        // (Socket paths are limited to 108 bytes: keep it short.)
        socketPath: spec.bootstrap ? undefined : path.join(this.tmpRoot, `${this.envCounter}.sock`),
        spec: {
          functionName: spec.name,
          memoryMb: spec.memory,
          ephemeralStorageMb: spec.ephemeralStorage,
          command: runtimeCommand(spec),
          taskRoot: spec.dir,
          image: spec.image,
          env: this.environmentVariables(spec, initType, tmp),
        },
        freeze: this.options.freeze,
        onExit: (environment) => this.forget(entry, environment),
        onReady: (environment) =>
          this.emit('environment-ready', {
            functionName: spec.name,
            envId: environment.id,
            initType,
            at: environment.marks.initDone!,
            initDurationMs: environment.initDurationMs!,
            marks: environment.marks,
          }),
        onOutput: (environment, line) => {
          const requestId = environment.currentRequestId
          if (requestId) {
            const log = this.logs.get(requestId)
            // Only the tail is ever returned: a function that logs without end keeps a bounded log here.
            if (log) {
              log.push(line.length > LAMBDA_LIMITS.logTailBytes ? line.slice(-LAMBDA_LIMITS.logTailBytes) : line)
              if (log.length > 2 * MAX_TAIL_LINES) log.splice(1, log.length - MAX_TAIL_LINES)
            }
          }
          this.emit('log', {functionName: spec.name, envId: environment.id, requestId, line, source: 'function'})
        },
      })
    } catch (error) {
      rmSync(tmp, {recursive: true, force: true})
      throw error
    }
    entry.pool.add(env)
    this.emit('environment-spawned', {functionName: spec.name, envId: id, initType, at: env.marks.spawnStart})
    // A backend that runs the function's image runs the node inside it, not this machine's.
    const runtime = spec.image === undefined ? `nodejs:${process.versions.node} (host node` : `${spec.runtime} (the image's node`
    const line = `INIT_START Runtime Version: ${runtime}, ${this.options.backend.capabilities.name} backend)`
    this.emit('log', {functionName: spec.name, envId: id, line, source: 'platform'})
    return env
  }

  private environmentVariables(spec: FunctionSpec, initType: InitType, tmp: string): Record<string, string> {
    const date = new Date().toISOString().slice(0, 10).replaceAll('-', '/')
    const vars: Record<string, string> = {
      ...spec.environment,
      PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: tmp,
      LAMBDA_TASK_ROOT: spec.dir,
      LAMBDA_RUNTIME_DIR: path.dirname(SAI_BOOTSTRAP),
      AWS_REGION: this.region,
      AWS_DEFAULT_REGION: this.region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memory),
      AWS_LAMBDA_FUNCTION_VERSION: VERSION,
      AWS_LAMBDA_INITIALIZATION_TYPE: initType,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${date}/[${VERSION}]${randomBytes(16).toString('hex')}`,
    }
    if (spec.handler) vars._HANDLER = spec.handler
    if (spec.modelPath) vars.SAI_MODEL = spec.modelPath
    if (spec.batch !== undefined) vars.SAI_BATCH_LIMIT = String(spec.batch)
    if (spec.intraOpNumThreads !== undefined) vars.SAI_INTRA_OP_THREADS = String(spec.intraOpNumThreads)
    // The execution role's credentials on Lambda; here, the caller's own, if any (as SAM CLI does).
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const) {
      const value = process.env[key]
      if (value) vars[key] = value
    }
    return vars
  }

  private async stopEnvironment(env: Environment, reason: Parameters<Environment['stop']>[0]): Promise<void> {
    const first = env.stopReason === undefined
    await env.stop(reason)
    rmSync(path.join(this.tmpRoot, env.id), {recursive: true, force: true})
    if (first) {
      this.emit('environment-stopped', {functionName: env.functionName, envId: env.id, initType: env.initType, at: this.clock.now(), reason, invocations: env.invocations})
    }
  }

  /**
   * Stops a function's idle on-demand environments now, as an expired keep-alive would: the next
   * invoke is cold. Bench uses it to start each cold-start sample from zero.
   */
  async reapIdle(functionName: string): Promise<number> {
    const entry = this.resolve(functionName, undefined)
    const reaped = entry.pool.reapIdle()
    await Promise.all(reaped.map((env) => this.stopEnvironment(env, 'reaped')))
    return reaped.length
  }

  /** Live environments of a function, for status and tests. */
  environments(functionName: string): Environment[] {
    return this.functions.get(functionName)?.pool.all() ?? []
  }

  /** Stops every environment and drops queued Event invokes; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.asyncTimers) timer.cancel()
      this.asyncTimers.clear()
      const all = [...this.functions.values()].flatMap((entry) => entry.pool.all().map((env) => ({entry, env})))
      await Promise.all(all.map(({entry, env}) => (entry.pool.remove(env), this.stopEnvironment(env, 'shutdown'))))
      await this.options.backend.close()
      rmSync(this.tmpRoot, {recursive: true, force: true})
    })()
    return this.closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

function runtimeCommand(spec: FunctionSpec): string[] {
  if (spec.bootstrap) return spec.handler ? [...spec.bootstrap, spec.handler] : spec.bootstrap
  return [process.execPath, SAI_BOOTSTRAP]
}

/** The event as Lambda accepts it: within the size limit of its invocation type, valid JSON; empty means {}. */
function checkPayload(body: Buffer | undefined, type: InvocationType): Buffer {
  if (!body || body.byteLength === 0) return Buffer.from('{}')
  const limit = type === 'Event' ? LAMBDA_LIMITS.asyncPayloadBytes : LAMBDA_LIMITS.syncPayloadBytes
  if (body.byteLength > limit) throw type === 'Event' ? eventTooLarge(body.byteLength, limit) : requestTooLarge(limit)
  try {
    JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw invalidRequestContent(`Could not parse request body into json: Could not parse payload into json: ${(error as Error).message}`)
  }
  return body
}

function decodeClientContext(value: string): string {
  const invalid = () => invalidRequestContent('Client context must be a valid Base64-encoded JSON object.')
  if (value.length > LAMBDA_LIMITS.clientContextBytes || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw invalid()
  const text = Buffer.from(value, 'base64').toString('utf8')
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid()
  } catch {
    throw invalid()
  }
  return text
}

/** An X-Ray trace header, as Lambda passes it to the runtime: unique per invoke, cheap to make. */
const tracePrefix = randomBytes(6).toString('hex')
let traceCounter = 0
function traceId(): string {
  const count = (++traceCounter).toString(16).padStart(12, '0')
  const epoch = Math.floor(Date.now() / 1000).toString(16)
  return `Root=1-${epoch}-${tracePrefix}${count};Parent=${count}${tracePrefix.slice(0, 4)};Sampled=0`
}

/** The last 4 KB of the invoke's log, base64, as X-Amz-Log-Result carries it. */
function logTail(lines: string[]): string {
  const text = Buffer.from(lines.join('\n') + '\n', 'utf8')
  return text.subarray(Math.max(0, text.byteLength - LAMBDA_LIMITS.logTailBytes)).toString('base64')
}
