/** The warm load phase: environments warmed first, then a closed or an open model for the duration. */
import {SaiError} from '../../errors/sai-error.js'
import type {PhaseContext} from '../cold/phases.js'
import {distribution, PhaseRecorder, type ClientOutcome} from '../collect.js'
import {invokePath} from '../invoker.js'
import type {LoadPhase} from '../result.js'
import {arrivals} from './arrivals.js'
import {runClosedLoop} from './closed-loop.js'
import {runClosedModel} from './closed-model.js'
import {runOpenModel, type Sender} from './open-model.js'
import {readTrace, TraceError, type Trace} from './trace.js'

export interface LoadOptions {
  /** Closed model: connections. Open model: environments warmed before it starts. */
  connections: number
  durationMs: number
  /** Open model at this rate; with neither rate nor trace, the closed model. */
  rate?: number
  arrival: 'constant' | 'poisson'
  ramp: boolean
  tracePath?: string
  maxInFlight: number
  seed?: number
}

export interface LoadTarget {
  /**
   * How requests travel: to the emulator's Invoke API over plain HTTP (autocannon drives the closed
   * model), or through a sender (bench --target: the AWS SDK, which signs each request).
   */
  via: {kind: 'http'; host: string; port: number} | {kind: 'sender'; sender: Sender}
  bodies: Buffer[]
  batchSize: number
  /** The function's timeout: a request is given that long (and a margin) to answer. */
  functionTimeoutMs: number
}

/** `trace`: the --trace file, read (and checked) before the run starts. */
export async function warmLoad(ctx: PhaseContext, options: LoadOptions, target: LoadTarget, trace?: Trace): Promise<LoadPhase> {
  const open = options.rate !== undefined || trace !== undefined
  // Warm-up: one invoke per connection at once, so the phase starts with that many warm environments.
  await ctx.invoker.concurrent(options.connections)
  ctx.events.clear()
  const recorder = new PhaseRecorder(ctx.events, ctx.run)
  const {via} = target
  const transport: {host: string; port: number; path: string; headers: Record<string, string>} | {sender: Sender} = via.kind === 'http' ? {host: via.host, port: via.port, path: invokePath(ctx.functionName), headers: {'Content-Type': 'application/json'}} : {sender: via.sender}
  const startedAt = performance.now()
  const durationMs = trace ? trace.durationMs : options.durationMs
  const progress = setInterval(() => ctx.progress(Math.min(durationMs, Math.round(performance.now() - startedAt)), durationMs), 250)
  let sends: LoadPhase['sends']
  let elapsedMs: number
  try {
    if (open) {
      const summary = await runOpenModel({
        ...transport,
        body: target.bodies,
        arrivals: trace
          ? arrivals({kind: 'trace', offsetsMs: trace.offsetsMs})
          : arrivals(options.arrival === 'poisson'
              ? {kind: 'poisson', rate: options.rate!, durationMs, ramp: options.ramp, seed: options.seed}
              : {kind: 'constant', rate: options.rate!, durationMs, ramp: options.ramp}),
        maxInFlight: options.maxInFlight,
        signal: ctx.signal,
        onResult: (result) => recorder.record(result),
      })
      sends = {lateness: summary.lateness, late: summary.late, dropped: summary.dropped}
      elapsedMs = summary.durationMs
    } else {
      const closed = {body: target.bodies, connections: options.connections, durationMs, signal: ctx.signal, onResult: (result: ClientOutcome) => void recorder.record(result)}
      const summary = 'sender' in transport
        ? await runClosedLoop({...closed, sender: transport.sender})
        : await runClosedModel({...transport, ...closed, timeoutMs: target.functionTimeoutMs + 5000})
      elapsedMs = summary.durationMs
    }
  } finally {
    clearInterval(progress)
  }
  ctx.progress(durationMs, durationMs)
  const {tally} = recorder
  const completed = tally.warm.count + tally.cold.count
  const perSecond = elapsedMs > 0 ? (1000 * completed) / elapsedMs : 0
  return {
    kind: open ? 'open' : 'closed',
    ...recorder.base(),
    connections: options.connections,
    durationMs,
    rate: open ? {target: options.rate ?? (trace ? (1000 * trace.offsetsMs.length) / Math.max(1, trace.durationMs) : 0), arrival: trace ? 'trace' : options.arrival, ramp: options.ramp, trace: options.tracePath} : undefined,
    sends,
    latency: distribution(tally.warm),
    cold: distribution(tally.cold),
    coldStarts: tally.coldStarts,
    throughput: {invokesPerSecond: round(perSecond), itemsPerSecond: round(perSecond * target.batchSize)},
  }
}

const round = (n: number) => Math.round(n * 100) / 100

/** Reads a --trace file, or fails with SAI_TRACE_INVALID saying where and why. */
export async function loadTrace(file: string): Promise<Trace> {
  try {
    const trace = await readTrace(file)
    if (trace.offsetsMs.length === 0) throw new TraceError(file, 1, 'at least one request timestamp', 'none')
    return trace
  } catch (error) {
    if (!(error instanceof TraceError)) throw error
    throw new SaiError('SAI_TRACE_INVALID', error.message, {hint: 'one timestamp per line: seconds or milliseconds from the start (say which in a header, e.g. "t_ms"), or ISO-8601 times; see the README'})
  }
}
