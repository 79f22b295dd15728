/**
 * Joins what the client saw (latency, status) with what the function side knows about the same
 * invoke (cold or warm, error type, REPORT), by request id. For the in-process emulator that is its
 * invoke-end event, in the index before the response reaches the client; for a remote target
 * (bench --target), the REPORT line of the response's log tail.
 */
import type {Emulator} from '../emulator/emulator.js'
import type {InvokeEndEvent} from '../emulator/events.js'
import type {ColdStartSample, Distribution, ErrorCounts, PhaseBase, ReportSummary} from './result.js'
import {LatencyHistogram, summarizeNumbers} from './stats/histogram.js'

/** One request as the client saw it. */
export interface ClientOutcome {
  /** x-amzn-RequestId of the response; missing when no response came. */
  requestId?: string
  /** HTTP status, or 0 when the connection failed. */
  status: number
  latencyMs: number
  /** The service's error name when the call itself failed (e.g. TooManyRequestsException), as an SDK client learns it. */
  errorType?: string
}

/** What the function side says about one invoke: all bench needs of the emulator's invoke-end event. */
export type InvokeRecord = Pick<InvokeEndEvent, 'requestId' | 'cold' | 'status' | 'errorType' | 'coldStart' | 'report'> & {
  /** The environment that ran it; a remote target's Invoke API does not say. */
  envId?: string
}

/** Records by request id, each taken once. */
export interface InvokeRecords {
  take(requestId: string | undefined): InvokeRecord | undefined
  /** Records no client outcome claimed (a client that lost its response): dropped between phases. */
  clear(): void
}

export class InvokeEvents implements InvokeRecords {
  private readonly byRequest = new Map<string, InvokeEndEvent>()
  private readonly listener = (event: InvokeEndEvent) => void this.byRequest.set(event.requestId, event)

  constructor(private readonly emulator: Emulator) {
    emulator.on('invoke-end', this.listener)
  }

  take(requestId: string | undefined): InvokeEndEvent | undefined {
    if (requestId === undefined) return undefined
    const event = this.byRequest.get(requestId)
    this.byRequest.delete(requestId)
    return event
  }

  /** Events no client outcome claimed (a client that lost its response): dropped between phases. */
  clear(): void {
    this.byRequest.clear()
  }

  close(): void {
    this.emulator.off('invoke-end', this.listener)
  }
}

/** An invoke that failed, by Lambda's error type or the client's view of it. */
function errorTypeOf(outcome: ClientOutcome, event: InvokeRecord | undefined): string | undefined {
  if (event) return event.status === 'success' ? undefined : event.errorType ?? event.status
  if (outcome.errorType) return outcome.errorType
  if (outcome.status === 429) return 'TooManyRequestsException'
  if (outcome.status === 0) return 'Connection'
  return `Http.${outcome.status}`
}

/** A cold start as measured; the phase marks only where the environment ran in this process. */
export function coldStartSample(event: InvokeRecord, latencyMs: number): ColdStartSample {
  const marks = event.coldStart
  const since = (at: number | undefined) => (at === undefined || marks === undefined ? undefined : round(at - marks.spawnStart))
  return {
    requestId: event.requestId,
    envId: event.envId,
    latencyMs: round(latencyMs),
    processStartMs: since(marks?.processStart),
    backend: marks?.backend && Object.fromEntries(Object.entries(marks.backend).map(([step, at]) => [step, since(at)!])),
    runtimeReadyMs: since(marks?.runtimeReady),
    initDoneMs: since(marks?.initDone),
    firstResponseMs: since(marks?.firstResponse),
    initDurationMs: event.report.initDurationMs,
    billedDurationMs: event.report.billedDurationMs,
    maxMemoryUsedMb: event.report.maxMemoryUsedMb,
    outcome: event.status === 'success' ? 'success' : event.errorType ?? event.status,
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

/** What a set of invokes measured; cold and warm are kept apart from the first sample. */
export class Tally {
  readonly cold = new LatencyHistogram()
  readonly warm = new LatencyHistogram()
  readonly coldStarts: ColdStartSample[] = []
  readonly errors: ErrorCounts = {total: 0, byType: {}}
  invokes = 0
  private readonly init = new LatencyHistogram()
  private readonly billed: number[] = []
  private warmBilledSum = 0
  private warmBilledCount = 0
  private readonly durations: number[] = []
  private maxMemoryUsedMb = 0

  add(outcome: ClientOutcome, event: InvokeRecord | undefined): void {
    this.invokes++
    const errorType = errorTypeOf(outcome, event)
    if (errorType !== undefined) {
      this.errors.total++
      this.errors.byType[errorType] = (this.errors.byType[errorType] ?? 0) + 1
    }
    // Only invokes that reached an environment have a latency worth keeping (a 429 says nothing about the function).
    if (!event) return
    if (event.cold) {
      this.cold.record(outcome.latencyMs)
      this.coldStarts.push(coldStartSample(event, outcome.latencyMs))
    } else {
      this.warm.record(outcome.latencyMs)
      this.warmBilledSum += event.report.billedDurationMs
      this.warmBilledCount++
    }
    const {report} = event
    if (report.initDurationMs !== undefined) this.init.record(report.initDurationMs)
    this.billed.push(report.billedDurationMs)
    this.durations.push(report.durationMs)
    this.maxMemoryUsedMb = Math.max(this.maxMemoryUsedMb, report.maxMemoryUsedMb)
  }

  /** Mean Billed Duration of warm invokes (what steady traffic pays), else of all. */
  meanBilledMs(): number | undefined {
    if (this.warmBilledCount > 0) return this.warmBilledSum / this.warmBilledCount
    return this.billed.length === 0 ? undefined : this.billed.reduce((a, b) => a + b, 0) / this.billed.length
  }

  report(): ReportSummary | undefined {
    if (this.billed.length === 0) return undefined
    return {
      initDurationMs: distribution(this.init),
      billedDurationMs: summarizeNumbers(this.billed),
      durationMs: summarizeNumbers(this.durations),
      maxMemoryUsedMb: this.maxMemoryUsedMb,
    }
  }
}

/** One phase's tally, also counted in its run's. */
export class PhaseRecorder {
  readonly tally = new Tally()
  private readonly startedAt = performance.now()

  constructor(private readonly events: InvokeRecords, private readonly run: Tally) {}

  /** Files one outcome; returns the function side's record of it, if the invoke reached a function. */
  record(outcome: ClientOutcome): InvokeRecord | undefined {
    const event = this.events.take(outcome.requestId)
    this.tally.add(outcome, event)
    this.run.add(outcome, event)
    return event
  }

  base(): PhaseBase {
    const {tally} = this
    return {wallMs: round(performance.now() - this.startedAt), errors: tally.errors, invokes: tally.invokes, report: tally.report()}
  }
}

export const distribution = (histogram: LatencyHistogram): Distribution | undefined => (histogram.count > 0 ? histogram.toDistribution() : undefined)
