/**
 * Joins what the client saw (latency, status) with what the emulator knows about the same invoke
 * (cold or warm, error type, REPORT), by request id. The emulator runs in this process, so its
 * invoke-end event is in the index before the response reaches the client.
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
}

export class InvokeEvents {
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
function errorTypeOf(outcome: ClientOutcome, event: InvokeEndEvent | undefined): string | undefined {
  if (event) return event.status === 'success' ? undefined : event.errorType ?? event.status
  if (outcome.status === 429) return 'TooManyRequestsException'
  if (outcome.status === 0) return 'Connection'
  return `Http.${outcome.status}`
}

export function coldStartSample(event: InvokeEndEvent, latencyMs: number): ColdStartSample {
  const marks = event.coldStart!
  const since = (at: number | undefined) => (at === undefined ? undefined : round(at - marks.spawnStart))
  return {
    requestId: event.requestId,
    envId: event.envId,
    latencyMs: round(latencyMs),
    processStartMs: since(marks.processStart),
    backend: marks.backend && Object.fromEntries(Object.entries(marks.backend).map(([step, at]) => [step, since(at)!])),
    runtimeReadyMs: since(marks.runtimeReady),
    initDoneMs: since(marks.initDone),
    firstResponseMs: since(marks.firstResponse)!,
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

  add(outcome: ClientOutcome, event: InvokeEndEvent | undefined): void {
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
      if (event.coldStart) this.coldStarts.push(coldStartSample(event, outcome.latencyMs))
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

  constructor(private readonly events: InvokeEvents, private readonly run: Tally) {}

  /** Files one outcome; returns the emulator's event for it, if the invoke reached a function. */
  record(outcome: ClientOutcome): InvokeEndEvent | undefined {
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
