/**
 * bench --target: a function deployed on AWS Lambda (or on `sai emulate`, which speaks the same
 * API), measured through `@aws-sdk/client-lambda` instead of environments bench starts itself.
 *
 * Every invoke asks for the log tail (LogType Tail): the REPORT line in it gives Duration, Billed
 * Duration, Memory Size, Max Memory Used and, on a cold start, Init Duration. Latency is the
 * client's, around the SDK call (it includes SigV4 signing and the network).
 *
 * Cold starts are forced as AWS Lambda Power Tuning and lambda-perf force them: a configuration
 * change (here an environment variable, SAI_BENCH_COLD=<nonce>, beside the function's own) makes
 * Lambda retire every environment of the old configuration, so the next invoke starts a new one.
 * Only $LATEST can change; the original configuration is put back when the bench ends.
 */
import {randomBytes} from 'node:crypto'
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda'
import type {InvokeStatus} from '../../emulator/events.js'
import {parseReportLine, type ReportFields} from '../../emulator/report.js'
import {lambdaEndpointUrl, resolveRegion} from '../../aws/endpoint.js'
import {awsCallError, type SdkError} from '../../aws/errors.js'
import {SaiError} from '../../errors/sai-error.js'
import type {Environments} from '../cold/phases.js'
import type {InvokeRecord, InvokeRecords} from '../collect.js'
import type {InvokeOutcome, PhaseInvoker} from '../invoker.js'
import type {RequestResult, Sender} from '../load/open-model.js'
import type {RemoteTarget} from '../result.js'

/** The variable whose new value forces the next invoke onto a new environment. */
export const COLD_VARIABLE = 'SAI_BENCH_COLD'

export interface LambdaTargetOptions {
  /** A function name or ARN, without a qualifier. */
  functionName: string
  qualifier?: string
  region?: string
  endpointUrl?: string
  /** Dummy credentials for a local endpoint (it checks no signature); otherwise the standard AWS chain. */
  credentials?: {accessKeyId: string; secretAccessKey: string}
  /** Request bodies, used in turn. */
  bodies: Buffer[]
  /** Invokes in flight at most (the SDK's socket pool is sized to it). */
  maxConcurrency: number
  /** Seconds to wait for a configuration change to be applied. */
  updateTimeoutSeconds?: number
  /** Stops new invokes; those in flight finish. Never stops restoring the configuration. */
  signal: AbortSignal
}

export {parseTarget} from './target.js'

/** The REPORT line of a log tail, tolerant of fields sai does not know (XRAY TraceId, SegmentId, …). */
export function reportFromLog(log: string): ReportFields | undefined {
  const line = log.split('\n').reverse().find((l) => l.startsWith('REPORT RequestId: '))
  if (!line) return undefined
  const fields = line.replace(/\r$/, '').split('\t').filter((f) => f !== '')
  const core = fields.filter((f) => /^(REPORT RequestId|Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): /.test(f))
  const status = fields.filter((f) => /^(Status|Error Type): /.test(f))
  return parseReportLine(`${core.join('\t')}\t${status.join('\t')}`)
}

/** What the function side says about one invoke, from its response: the REPORT line, and the error the function raised. */
export function invokeRecord(requestId: string, output: {LogResult?: string; FunctionError?: string; Payload?: Uint8Array}): InvokeRecord | undefined {
  const report = output.LogResult ? reportFromLog(Buffer.from(output.LogResult, 'base64').toString('utf8')) : undefined
  if (!report) return undefined
  let status: InvokeStatus = 'success'
  let errorType: string | undefined
  if (report.status === 'timeout') {
    status = 'timeout'
    errorType = report.errorType ?? 'Sandbox.Timedout'
  } else if (output.FunctionError) {
    status = report.errorType === 'Runtime.OutOfMemory' ? 'out-of-memory' : report.status === 'error' ? 'crash' : 'function-error'
    errorType = payloadErrorType(output.Payload) ?? report.errorType ?? `Function.${output.FunctionError}`
  }
  return {requestId, cold: report.initDurationMs !== undefined, status, errorType, report}
}

function payloadErrorType(payload: Uint8Array | undefined): string | undefined {
  if (!payload || payload.byteLength === 0) return undefined
  try {
    const parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as {errorType?: unknown}
    return typeof parsed?.errorType === 'string' ? parsed.errorType : undefined
  } catch {
    return undefined
  }
}

export class LambdaTarget implements PhaseInvoker, InvokeRecords, Environments, Sender {
  private readonly records = new Map<string, InvokeRecord>()
  private readonly nonce = randomBytes(4).toString('hex')
  private coldStarts = 0
  private memoryMb?: number
  /** The configuration was changed: restore() has something to put back. */
  private changed = false
  private inFlight = 0
  private peak = 0
  private next = 0

  private constructor(
    private options: LambdaTargetOptions,
    private readonly control: LambdaClient,
    private readonly invokes: LambdaClient,
    readonly target: RemoteTarget,
    /** Undefined when the endpoint serves only the Invoke API. */
    readonly configuration: FunctionConfiguration | undefined,
  ) {
    this.memoryMb = configuration?.MemorySize
  }

  /** Reads the function's configuration (it must exist), waiting if it is still being created or updated. */
  static async connect(options: LambdaTargetOptions): Promise<LambdaTarget> {
    const local = options.credentials !== undefined
    const common = {region: options.region, endpoint: options.endpointUrl, credentials: options.credentials}
    // Configuration calls are retried (throttling, 5xx); invokes never are: a 429 is a measurement.
    const control = new LambdaClient({...common, maxAttempts: 3})
    const region = await resolveRegion(control, `--target lambda:${options.functionName}`).catch((error) => {
      control.destroy()
      throw error
    })
    const endpoint = lambdaEndpointUrl(options.endpointUrl, region)
    const target: RemoteTarget = {kind: 'lambda', functionName: options.functionName, qualifier: options.qualifier, endpoint, region, local}
    let configuration: FunctionConfiguration | undefined
    try {
      configuration = await control.send(new GetFunctionConfigurationCommand({FunctionName: options.functionName, Qualifier: options.qualifier}))
      const waiter = {client: control, maxWaitTime: options.updateTimeoutSeconds ?? 300, minDelay: 1, maxDelay: 5}
      if (configuration.State === 'Pending') await waitUntilFunctionActiveV2(waiter, {FunctionName: options.functionName, Qualifier: options.qualifier})
      if (configuration.LastUpdateStatus === 'InProgress') await waitUntilFunctionUpdatedV2(waiter, {FunctionName: options.functionName, Qualifier: options.qualifier})
      if (configuration.State === 'Pending' || configuration.LastUpdateStatus === 'InProgress')
        configuration = await control.send(new GetFunctionConfigurationCommand({FunctionName: options.functionName, Qualifier: options.qualifier}))
    } catch (error) {
      // An endpoint that serves only the Invoke API (e.g. AWS's Runtime Interface Emulator): warm phases still work.
      if ((error as Error).name !== 'UnknownOperationException') {
        control.destroy()
        throw targetError(error, target)
      }
    }
    if (configuration?.State === 'Failed' || configuration?.State === 'Inactive') {
      control.destroy()
      throw new SaiError('SAI_AWS_ERROR', `${options.functionName} is ${configuration.State} at ${endpoint}${configuration.StateReason ? `: ${configuration.StateReason}` : ''}`, {
        hint: configuration.State === 'Inactive' ? 'invoke it once to wake it, or deploy it again with sai deploy' : 'fix the cause and deploy it again with sai deploy',
      })
    }
    const timeoutMs = (configuration?.Timeout ?? 900) * 1000
    const sockets = {keepAlive: true, maxSockets: options.maxConcurrency}
    const invokes = new LambdaClient({
      ...common,
      region,
      maxAttempts: 1,
      // One socket per concurrent invoke (the SDK's default pool holds 50); an invoke is given the function's timeout and a margin.
      requestHandler: {httpAgent: sockets, httpsAgent: sockets, requestTimeout: timeoutMs + 5000, throwOnRequestTimeout: true},
    })
    return new LambdaTarget(options, control, invokes, {...target, functionArn: configuration?.FunctionArn, packageType: configuration?.PackageType}, configuration)
  }

  /** Why the configuration cannot be changed (forced cold starts, memory sweeps), or undefined when it can. */
  whyImmutable(): string | undefined {
    const {qualifier} = this.options
    if (qualifier !== undefined && qualifier !== '$LATEST') return `${this.options.functionName}:${qualifier} is a published version or an alias, and a published version cannot change`
    if (!this.configuration) return `${this.target.endpoint} does not serve GetFunctionConfiguration, so bench cannot read or change the function's configuration`
    if (this.configuration.Environment?.Error)
      return `bench cannot read ${this.options.functionName}'s environment variables (${this.configuration.Environment.Error.ErrorCode ?? 'error'}), so it could not put them back`
    return undefined
  }

  // --- Environments: a new configuration retires every environment of the old one ---

  async retire(): Promise<void> {
    await this.update({Environment: {Variables: {...this.ownVariables(), [COLD_VARIABLE]: `${this.nonce}-${++this.coldStarts}`}}})
  }

  async release(): Promise<void> {}

  /** Memory sweep: also a new configuration, so the next invoke is cold. */
  async setMemory(memoryMb: number): Promise<void> {
    if (memoryMb === this.memoryMb) return
    await this.update({MemorySize: memoryMb})
    this.memoryMb = memoryMb
  }

  /** Puts the function's own environment variables and memory back; idempotent. Not stopped by the signal. */
  async restore(): Promise<void> {
    if (!this.changed || !this.configuration) return
    await this.update({MemorySize: this.configuration.MemorySize, Environment: {Variables: this.ownVariables()}})
    this.memoryMb = this.configuration.MemorySize
    this.changed = false
  }

  /** The function's own variables; a SAI_BENCH_COLD left by a bench that was killed is not one of them. */
  private ownVariables(): Record<string, string> {
    const {[COLD_VARIABLE]: _leftover, ...own} = this.configuration?.Environment?.Variables ?? {}
    return own
  }

  private async update(change: {MemorySize?: number; Environment?: {Variables: Record<string, string>}}): Promise<void> {
    const why = this.whyImmutable()
    if (why) throw new Error(`bench cannot change the configuration: ${why}`)
    const {functionName} = this.options
    try {
      await this.control.send(new UpdateFunctionConfigurationCommand({FunctionName: functionName, ...change}))
      this.changed = true
      await waitUntilFunctionUpdatedV2({client: this.control, maxWaitTime: this.options.updateTimeoutSeconds ?? 300, minDelay: 1, maxDelay: 5}, {FunctionName: functionName})
    } catch (error) {
      const mapped = targetError(error, this.target)
      if (mapped !== error) throw mapped
      // The waiter's own failures: the update failed, or did not finish in time.
      throw new SaiError('SAI_AWS_ERROR', `changing ${functionName}'s configuration (${Object.keys(change).join(', ')}) at ${this.target.endpoint} did not complete: ${(error as Error).message}`, {
        hint: "see the function's LastUpdateStatusReason (aws lambda get-function-configuration); bench puts back what it changed",
        cause: error,
      })
    }
  }

  // --- PhaseInvoker ---

  async invoke(_slot = 0, body = this.nextBody()): Promise<InvokeOutcome | undefined> {
    if (this.options.signal.aborted) return undefined
    const sentAt = performance.now()
    const sent = await this.call(body)
    return {...sent, latencyMs: performance.now() - sentAt}
  }

  async concurrent(n: number): Promise<(InvokeOutcome | undefined)[]> {
    return Promise.all(Array.from({length: n}, (_, slot) => this.invoke(slot)))
  }

  // --- Sender (the load models) ---

  get opened(): number {
    return this.peak
  }

  send(body: Buffer): Promise<Omit<RequestResult, 'latencyMs'>> {
    return this.call(body)
  }

  /** Owned by the bench: the load models leave it open. */
  close(): void {}

  // --- InvokeRecords ---

  take(requestId: string | undefined): InvokeRecord | undefined {
    if (requestId === undefined) return undefined
    const record = this.records.get(requestId)
    this.records.delete(requestId)
    return record
  }

  clear(): void {
    this.records.clear()
  }

  destroy(): void {
    this.control.destroy()
    this.invokes.destroy()
  }

  /** The requests of the next configuration (a batch sweep point's). */
  useBodies(bodies: Buffer[]): void {
    this.options = {...this.options, bodies}
    this.next = 0
  }

  private nextBody(): Buffer {
    return this.options.bodies[this.next++ % this.options.bodies.length]!
  }

  /** One invoke; never rejects. Its REPORT is filed under the request id for the recorder to take. */
  private async call(body: Buffer): Promise<Omit<RequestResult, 'latencyMs'> & {body?: Buffer}> {
    this.inFlight++
    this.peak = Math.max(this.peak, this.inFlight)
    try {
      const output = await this.invokes.send(new InvokeCommand({FunctionName: this.options.functionName, Qualifier: this.options.qualifier, LogType: 'Tail', Payload: body}))
      const record = invokeRecord(output.$metadata.requestId ?? '', output)
      const requestId = output.$metadata.requestId ?? record?.report.requestId
      if (record && requestId) this.records.set(requestId, {...record, requestId})
      return {requestId, status: output.StatusCode ?? 200, functionError: output.FunctionError !== undefined, body: output.Payload && Buffer.from(output.Payload)}
    } catch (error) {
      const e = error as SdkError
      // A service error (429 TooManyRequestsException, 5xx…) is an answer; anything else never got one.
      if (e.$metadata?.httpStatusCode) return {requestId: e.$metadata.requestId, status: e.$metadata.httpStatusCode, functionError: false, errorType: e.name}
      return {status: 0, functionError: false, errorType: e.name === 'TimeoutError' ? 'ClientTimeout' : 'Connection', error: e.message}
    } finally {
      this.inFlight--
    }
  }
}

/** SDK failures the user can fix, as SaiErrors naming the function and the endpoint; anything else passes through. */
export function targetError(error: unknown, target: RemoteTarget): unknown {
  const where = target.local ? target.endpoint : `${target.endpoint} (region ${target.region})`
  const qualified = `${target.functionName}${target.qualifier ? `:${target.qualifier}` : ''}`
  if ((error as SdkError)?.name === 'ResourceNotFoundException')
    return new SaiError('SAI_TARGET_NOT_FOUND', `the function ${qualified} does not exist at ${where}`, {
      hint: `deploy it first (sai deploy${target.local ? ` --endpoint-url ${target.endpoint}` : ` --region ${target.region}`}), or check the function name${target.qualifier ? ', the qualifier' : ''} and the region`,
      cause: error,
    })
  return awsCallError(error, {
    ...target,
    where,
    refusedHint: /AccessDenied|Unrecognized|Signature|Token/.test((error as SdkError)?.name ?? '')
      ? 'bench --target needs lambda:GetFunctionConfiguration, lambda:InvokeFunction and, for cold starts or a memory sweep, lambda:UpdateFunctionConfiguration and lambda:GetFunction'
      : 'see the message; sai deploy --dry-run shows the function as the API sees it',
  })
}
