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
import {Environment, type DispatchResult, type InitFailure, type InitType, type InvocationOutcome, type StopReason} from './environment.js'
import type {EmulatorEventMap, InvokeEndEvent, InvokeStatus} from './events.js'
import {
  eventTooLarge, functionArn, functionNotReady, invalidParameterValue, invalidRequestContent, LambdaServiceError, requestTooLarge,
  resourceNotFound, tooManyRequests,
} from './invoke-api/aws-errors.js'
import {invalidEntrypoint, platformErrorBody, responseTooLarge, runtimeExited, timedOut, type PlatformError} from './platform-errors.js'
import {AccountConcurrency, FunctionConcurrency, FunctionPool} from './pool/pool.js'
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

/** One version of a function ($LATEST or a published number) and its own pool of environments. */
interface FunctionEntry {
  spec: FunctionSpec
  version: string
  pool: FunctionPool<Environment>
  /** The function's unqualified ARN. */
  arn: string
  /** Provisioned environments this version keeps (provisioned concurrency, or a spec's provisionedConcurrency). */
  provisionedTarget: number
  /** Provisioned environments being spawned (not in the pool yet). */
  provisionStarts: number
  /** Why a provisioned environment failed to initialize; no more are started until the target is set again. */
  provisionFailure?: string
  /** Replaced or deleted: its environments finish their invokes, then stop. */
  retired?: 'replaced' | 'deleted'
  /** Resolved when a retired entry's last environment is gone. */
  drained?: {promise: Promise<void>; resolve(): void}
}

/** A function: its versions, its aliases, and the concurrency they share. */
interface FunctionRecord {
  name: string
  arn: string
  concurrency: FunctionConcurrency
  versions: Map<string, FunctionEntry>
  /** Alias name → version. */
  aliases: Map<string, string>
  /** Versions that exist but cannot run (Pending, Failed): invokes are refused with that state. */
  unavailable: Map<string, string>
}

export interface ProvisionedStatus {
  /** Environments asked for. */
  target: number
  /** Provisioned environments initialized (idle or busy), at most the target. */
  allocated: number
  /** Why initialization failed, when it did. */
  failure?: string
}

/** What the sai runtime's entry point is, next to this file in dist/. */
export const SAI_BOOTSTRAP = fileURLToPath(new URL('../../dist/runtime/bootstrap.js', import.meta.url))

export const LATEST = '$LATEST'
/** Lines kept per invoke for X-Amz-Log-Result (4 KB): START plus the latest ones. */
const MAX_TAIL_LINES = 4096

export class Emulator extends EventEmitter<EmulatorEventMap> {
  readonly region: string
  readonly accountId: string
  readonly sessionId: string
  private readonly functions = new Map<string, FunctionRecord>()
  /** Replaced or deleted versions whose environments are still finishing an invoke. */
  private readonly retiring = new Set<FunctionEntry>()
  private readonly accountBudget: AccountConcurrency
  private readonly accountLimit: number
  private readonly clock: Clock
  private readonly tmpRoot: string
  private readonly logs = new Map<string, string[]>()
  private readonly asyncTimers = new Set<Timer>()
  /** Environments being stopped, in a pool or not: close() waits for every one. */
  private readonly stopping = new Set<Promise<void>>()
  private readonly spawning = new Set<Promise<Environment>>()
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
    this.accountLimit = options.accountConcurrency ?? LAMBDA_LIMITS.accountConcurrency
    this.accountBudget = new AccountConcurrency(this.accountLimit)
    for (const spec of options.functions) {
      const record = this.declareFunction(spec.name, spec.reservedConcurrency)
      const entry = this.newEntry(record, spec, LATEST)
      entry.provisionedTarget = spec.provisionedConcurrency
      record.versions.set(LATEST, entry)
    }
  }

  private newEntry(record: FunctionRecord, spec: FunctionSpec, version: string): FunctionEntry {
    const {keepAliveSeconds} = this.options
    const pool: FunctionPool<Environment> = new FunctionPool<Environment>({
      clock: this.clock,
      keepAliveMs: (keepAliveSeconds ?? 600) * 1000,
      concurrency: record.concurrency,
      accountBudget: this.accountBudget,
      onReap: (env) => void this.stopEnvironment(env, keepAliveSeconds === 0 ? 'keep-alive-0' : 'reaped'),
    })
    return {spec, version, pool, arn: record.arn, provisionedTarget: 0, provisionStarts: 0}
  }

  get backend(): Backend {
    return this.options.backend
  }

  /** The $LATEST spec of every function that has one. */
  functionSpecs(): FunctionSpec[] {
    return [...this.functions.values()].flatMap((f) => {
      const latest = f.versions.get(LATEST)
      return latest ? [latest.spec] : []
    })
  }

  /** Starts the provisioned environments and waits until they are ready (or failed). */
  async start(): Promise<void> {
    await Promise.all([...this.functions.values()].flatMap((f) => [...f.versions.values()].map((entry) => this.reconcileProvisioned(entry))))
  }

  /** The function and version an invoke names (a name, `name:qualifier`, an ARN; the qualifier a version or an alias). */
  private resolve(functionName: string, qualifier: string | undefined): {entry: FunctionEntry; invokedArn: string} {
    const parsed = parseFunctionName(functionName)
    if (qualifier !== undefined && parsed.qualifier !== undefined && qualifier !== parsed.qualifier) {
      throw invalidParameterValue('The derived qualifier from the function name does not match the specified qualifier.')
    }
    const wanted = qualifier ?? parsed.qualifier
    const record = this.functions.get(parsed.name)
    if (!record) throw resourceNotFound(functionArn(this.region, this.accountId, parsed.name, wanted))
    const version = wanted === undefined ? LATEST : record.aliases.get(wanted) ?? wanted
    const entry = record.versions.get(version)
    if (!entry) {
      const state = record.unavailable.get(version)
      if (state) throw functionNotReady(state)
      throw resourceNotFound(functionArn(this.region, this.accountId, parsed.name, wanted))
    }
    // A version or an alias shows in the ARN the function sees; $LATEST is the unqualified name's
    // (the record's, built once).
    const invokedArn = wanted === undefined || wanted === LATEST ? record.arn : functionArn(this.region, this.accountId, parsed.name, wanted)
    return {entry, invokedArn}
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const {entry, invokedArn} = this.resolve(request.functionName, request.qualifier)
    const type = request.invocationType ?? 'RequestResponse'
    const clientContext = request.clientContext === undefined ? undefined : decodeClientContext(request.clientContext)
    const requestId = randomUUID()
    const payload = Promise.resolve(request.payload).then((body) => checkPayload(body, type))
    // Rejections are handled where the payload is awaited; an invoke refused first (429) never awaits it.
    payload.catch(() => undefined)
    if (type === 'RequestResponse') {
      return this.invokeSync(entry, {requestId, payload, clientContext, invokedArn, tail: request.logType === 'Tail', invocationType: 'RequestResponse'})
    }
    const event = await payload
    if (type === 'DryRun') return {requestId, status: 204}
    this.enqueueEvent(entry, event, clientContext, requestId, invokedArn)
    return {requestId, status: 202}
  }

  private async invokeSync(
    entry: FunctionEntry,
    call: {requestId: string; payload: Buffer | Promise<Buffer>; clientContext?: string; invokedArn: string; tail: boolean; invocationType: 'RequestResponse' | 'Event'},
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
            if (idle) this.release(entry, idle)
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
        if (!startLogged) this.platformLog(entry, log, () => startLine(requestId, entry.version), requestId, env.id)
        startLogged = true
        outcome = await env.dispatch(
          {
            requestId,
            payload: call.payload as Buffer,
            deadlineMs: Date.now() + timeoutMs,
            invokedFunctionArn: call.invokedArn,
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
      if (env.state.name === 'Ready') this.release(entry, env)
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
    this.platformLog(entry, log, () => startLine(call.requestId, entry.version), call.requestId, env.id)
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
      executedVersion: entry.version,
      logResult: log ? logTail(log) : undefined,
    }
  }

  private platformLog(entry: FunctionEntry, log: string[] | undefined, line: () => string, requestId: string, envId: string): void {
    if (!log && this.listenerCount('log') === 0) return
    const text = line()
    log?.push(text)
    this.emit('log', {functionName: entry.spec.name, envId, requestId, line: text, source: 'platform'})
  }

  private enqueueEvent(entry: FunctionEntry, payload: Buffer, clientContext: string | undefined, requestId: string, invokedArn: string): void {
    this.pendingEvents++
    const delays = this.options.asyncRetryDelaysMs ?? [60_000, 120_000]
    const attempt = (retry: number, throttles: number): void => {
      this.invokeSync(entry, {requestId, payload, clientContext, invokedArn, tail: false, invocationType: 'Event'}).then(
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

  /** Starts one provisioned environment and waits until it is ready (or failed). */
  private async provision(entry: FunctionEntry): Promise<void> {
    if (this.closing) return
    let env: Environment
    entry.provisionStarts++
    try {
      env = await this.spawn(entry, 'provisioned-concurrency')
    } catch (error) {
      const why = `cannot start a provisioned environment: ${(error as Error).message}`
      entry.provisionFailure ??= why
      this.emit('log', {functionName: entry.spec.name, line: `sai: ${why}`, source: 'platform'})
      return
    } finally {
      entry.provisionStarts--
      this.checkDrained(entry)
    }
    try {
      await env.ready(LAMBDA_LIMITS.provisionedInitTimeoutMs)
      // Its version may have been replaced, or its provisioned concurrency lowered, meanwhile.
      this.release(entry, env)
    } catch (failure) {
      if (env.stopReason !== undefined && DELIBERATE_STOPS.has(env.stopReason)) return void this.forget(entry, env, false)
      const f = failure as InitFailure
      const why =
        f.kind === 'init-error' ? f.body.toString('utf8')
        : f.kind === 'exit' ? runtimeExited(undefined, f.exit).errorMessage
        : f.kind === 'entrypoint' ? `cannot start ${f.command} (${f.code})`
        : 'init timed out'
      entry.provisionFailure ??= why
      this.emit('log', {functionName: entry.spec.name, envId: env.id, line: `sai: provisioned environment failed to initialize: ${why}`, source: 'platform'})
      void this.stopEnvironment(env, 'init-failed')
      this.forget(entry, env, false)
    }
  }

  /** Provisioned environments a version has or is starting (those on their way out not counted). */
  private provisionedCount(entry: FunctionEntry): number {
    let n = entry.provisionStarts
    for (const env of entry.pool.each()) if (env.initType === 'provisioned-concurrency' && env.state.alive && env.state.name !== 'InitFailed') n++
    return n
  }

  /** More provisioned environments than the target? O(1) when the pool's provisioned members (an upper bound) are within it: every release asks. */
  private provisionedSurplus(entry: FunctionEntry): boolean {
    if (entry.provisionStarts + entry.pool.countByType('provisioned-concurrency') <= entry.provisionedTarget) return false
    return this.provisionedCount(entry) > entry.provisionedTarget
  }

  /**
   * Starts or stops provisioned environments until the version has its target: surplus idle and
   * starting ones stop now, busy ones when their invoke ends. Resolves when those started are ready
   * or failed. After a failed init nothing more is started until the target is set again.
   */
  private reconcileProvisioned(entry: FunctionEntry): Promise<void> {
    if (this.closing) return Promise.resolve()
    const target = entry.retired ? 0 : entry.provisionedTarget
    let count = this.provisionedCount(entry)
    if (count > target) {
      const surplus = count - target
      const idle = entry.pool.removeIdle((env) => env.initType === 'provisioned-concurrency', surplus)
      const starting = entry.pool.all().filter((env) => env.initType === 'provisioned-concurrency' && env.state.name === 'Starting').slice(0, surplus - idle.length)
      for (const env of starting) entry.pool.remove(env)
      for (const env of [...idle, ...starting]) void this.stopEnvironment(env, 'deprovisioned')
      this.checkDrained(entry)
      return Promise.resolve()
    }
    if (entry.provisionFailure !== undefined) return Promise.resolve()
    const starts: Promise<void>[] = []
    for (; count < target; count++) starts.push(this.provision(entry))
    return Promise.all(starts).then(() => undefined)
  }

  /** A healthy environment finished an invoke (or its init): it waits for the next, unless its version no longer wants it. */
  private release(entry: FunctionEntry, env: Environment): void {
    const surplus = env.initType === 'provisioned-concurrency' && this.provisionedSurplus(entry)
    if (entry.retired || surplus) {
      this.forget(entry, env, false)
      void this.stopEnvironment(env, entry.retired ?? 'deprovisioned')
      return
    }
    entry.pool.release(env)
  }

  /** An environment left the pool for good; a provisioned one that had initialized is replaced. */
  private forget(entry: FunctionEntry, env: Environment, replace = true): void {
    if (!entry.pool.remove(env)) return
    this.checkDrained(entry)
    if (replace && env.initType === 'provisioned-concurrency' && env.initDurationMs !== undefined) void this.reconcileProvisioned(entry)
  }

  private checkDrained(entry: FunctionEntry): void {
    if (!entry.retired || entry.pool.size > 0 || entry.provisionStarts > 0) return
    this.retiring.delete(entry)
    entry.drained?.resolve()
  }

  /**
   * Takes a version out of service: idle and starting provisioned environments stop now, busy ones
   * once their invoke ends. Resolves when the last one is gone.
   */
  private retire(entry: FunctionEntry, reason: 'replaced' | 'deleted'): Promise<void> {
    if (entry.drained) return entry.drained.promise
    entry.retired = reason
    this.retiring.add(entry)
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    entry.drained = {promise, resolve}
    const idle = entry.pool.removeIdle(() => true)
    const starting = entry.pool.all().filter((env) => env.initType === 'provisioned-concurrency' && env.state.name === 'Starting')
    for (const env of starting) entry.pool.remove(env)
    for (const env of [...idle, ...starting]) void this.stopEnvironment(env, reason)
    this.checkDrained(entry)
    return promise
  }

  /** A function record, made on first use. */
  private declareFunction(name: string, reservedConcurrency?: number): FunctionRecord {
    let record = this.functions.get(name)
    if (!record) {
      record = {name, arn: functionArn(this.region, this.accountId, name), concurrency: new FunctionConcurrency(reservedConcurrency), versions: new Map(), aliases: new Map(), unavailable: new Map()}
      this.functions.set(name, record)
      if (reservedConcurrency !== undefined) this.resizeAccountBudget()
    }
    return record
  }

  private resizeAccountBudget(): void {
    let reserved = 0
    for (const record of this.functions.values()) reserved += record.concurrency.reserved ?? 0
    this.accountBudget.resize(Math.max(0, this.accountLimit - reserved))
  }

  // ---- Functions that change at run time (the control plane) -----------------------------------

  /** Marks a version that exists but cannot run (Pending, Failed), or clears the mark: invokes of it are refused, naming that state. */
  setUnavailable(name: string, version: string, state: string | undefined): void {
    const record = this.declareFunction(name)
    if (state === undefined) record.unavailable.delete(version)
    else record.unavailable.set(version, state)
  }

  /**
   * Adds a version of a function, or replaces one ($LATEST after a code or configuration change):
   * new invokes start from the new spec; the replaced version's idle environments stop now and busy
   * ones once their invoke ends. A replaced version keeps its provisioned target. Resolves when the
   * replaced version's last environment is gone (its files may then be removed).
   */
  putVersion(spec: FunctionSpec, version: string = LATEST): Promise<void> {
    const record = this.declareFunction(spec.name)
    const old = record.versions.get(version)
    const entry = this.newEntry(record, spec, version)
    if (old) entry.provisionedTarget = old.provisionedTarget
    record.versions.set(version, entry)
    record.unavailable.delete(version)
    void this.reconcileProvisioned(entry)
    return old ? this.retire(old, 'replaced') : Promise.resolve()
  }

  /**
   * Removes one version, or the whole function: invokes of it are refused from now on, idle
   * environments stop at once. Resolves once its last environment is gone (busy ones finish first).
   */
  removeFunction(name: string, version?: string): Promise<void> {
    const record = this.functions.get(name)
    if (!record) return Promise.resolve()
    let entries: FunctionEntry[]
    if (version === undefined) {
      entries = [...record.versions.values()]
      this.functions.delete(name)
      this.resizeAccountBudget()
    } else {
      const entry = record.versions.get(version)
      entries = entry ? [entry] : []
      record.versions.delete(version)
      record.unavailable.delete(version)
    }
    return Promise.all(entries.map((entry) => this.retire(entry, 'deleted'))).then(() => undefined)
  }

  /** Points an alias at a version (undefined removes it): invoking `name:alias` runs that version. */
  setAlias(name: string, alias: string, version: string | undefined): void {
    const record = this.declareFunction(name)
    if (version === undefined) record.aliases.delete(alias)
    else record.aliases.set(alias, version)
  }

  /** The function's reserved concurrency (undefined: it shares the account's unreserved concurrency). */
  setReservedConcurrency(name: string, reserved: number | undefined): void {
    this.declareFunction(name).concurrency.reserved = reserved
    this.resizeAccountBudget()
  }

  /**
   * How many provisioned environments a version keeps (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`):
   * more are started, surplus ones stopped. A new target (or `retry`) clears a past init failure.
   */
  setProvisionedConcurrency(name: string, version: string, count: number, options: {retry?: boolean} = {}): void {
    const entry = this.functions.get(name)?.versions.get(version)
    if (!entry) return
    if (count !== entry.provisionedTarget || options.retry) entry.provisionFailure = undefined
    entry.provisionedTarget = count
    void this.reconcileProvisioned(entry)
  }

  provisionedStatus(name: string, version: string): ProvisionedStatus | undefined {
    const entry = this.functions.get(name)?.versions.get(version)
    if (!entry) return undefined
    let ready = 0
    for (const env of entry.pool.all()) if (env.initType === 'provisioned-concurrency' && (env.state.name === 'Ready' || env.state.name === 'Busy')) ready++
    return {target: entry.provisionedTarget, allocated: Math.min(ready, entry.provisionedTarget), failure: entry.provisionFailure}
  }

  /** Starts an environment; close() waits for every start under way, so none outlives the emulator. */
  private spawn(entry: FunctionEntry, initType: InitType): Promise<Environment> {
    if (this.closing) return Promise.reject(new Error('the emulator is shutting down'))
    const spawning = this.spawnEnvironment(entry, initType)
    this.spawning.add(spawning)
    void spawning.finally(() => this.spawning.delete(spawning)).catch(() => undefined)
    return spawning
  }

  private async spawnEnvironment(entry: FunctionEntry, initType: InitType): Promise<Environment> {
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
          env: this.environmentVariables(spec, entry.version, initType, tmp),
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

  private environmentVariables(spec: FunctionSpec, version: string, initType: InitType, tmp: string): Record<string, string> {
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
      AWS_LAMBDA_FUNCTION_VERSION: version,
      AWS_LAMBDA_INITIALIZATION_TYPE: initType,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${date}/[${version}]${randomBytes(16).toString('hex')}`,
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

  private stopEnvironment(env: Environment, reason: Parameters<Environment['stop']>[0]): Promise<void> {
    const stopping = (async () => {
      const first = env.stopReason === undefined
      await env.stop(reason)
      rmSync(path.join(this.tmpRoot, env.id), {recursive: true, force: true})
      if (first) {
        this.emit('environment-stopped', {functionName: env.functionName, envId: env.id, initType: env.initType, at: this.clock.now(), reason, invocations: env.invocations})
      }
    })()
    // close() waits for stops already under way too (a reaped or replaced environment is no longer in any pool).
    this.stopping.add(stopping)
    void stopping.finally(() => this.stopping.delete(stopping)).catch(() => undefined)
    return stopping
  }

  /**
   * Stops a function's idle on-demand environments now, as an expired keep-alive would: the next
   * invoke is cold. Bench uses it to start each cold-start sample from zero.
   */
  async reapIdle(functionName: string): Promise<number> {
    const {entry} = this.resolve(functionName, undefined)
    const reaped = entry.pool.reapIdle()
    await Promise.all(reaped.map((env) => this.stopEnvironment(env, 'reaped')))
    return reaped.length
  }

  /** Live environments of a function (of one version, if given), for status and tests. */
  environments(functionName: string, version?: string): Environment[] {
    const record = this.functions.get(functionName)
    if (!record) return []
    const entries = version === undefined ? [...record.versions.values()] : [record.versions.get(version)].filter((e) => e !== undefined)
    return entries.flatMap((entry) => entry.pool.all())
  }

  /** Stops every environment and drops queued Event invokes; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.asyncTimers) timer.cancel()
      this.asyncTimers.clear()
      // An environment still starting joins its pool when its start returns: wait for that, then stop it with the rest.
      await Promise.allSettled([...this.spawning])
      const entries = [...[...this.functions.values()].flatMap((record) => [...record.versions.values()]), ...this.retiring]
      const all = entries.flatMap((entry) => entry.pool.all().map((env) => ({entry, env})))
      await Promise.all(all.map(({entry, env}) => (entry.pool.remove(env), this.stopEnvironment(env, 'shutdown'))))
      await Promise.allSettled([...this.stopping])
      await this.options.backend.close()
      rmSync(this.tmpRoot, {recursive: true, force: true})
    })()
    return this.closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** Stops made on purpose: an environment stopped this way during init did not fail. */
const DELIBERATE_STOPS = new Set<StopReason>(['deprovisioned', 'replaced', 'deleted', 'shutdown'])

/** `name`, `name:qualifier`, a full ARN or a partial one (`123456789012:function:name[:qualifier]`). */
export function parseFunctionName(text: string): {name: string; qualifier?: string} {
  // A plain name (the usual invoke) has no colon, so neither form below can match it.
  if (!text.includes(':')) return {name: text}
  const arn = /^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?function:([\w-]+)(?::([\w$-]+))?$/.exec(text)
  if (arn) return {name: arn[1]!, ...(arn[2] === undefined ? {} : {qualifier: arn[2]})}
  const colon = text.indexOf(':')
  return colon < 0 ? {name: text} : {name: text.slice(0, colon), qualifier: text.slice(colon + 1)}
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
