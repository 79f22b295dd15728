/**
 * The open model: requests leave at their intended times whether or not earlier ones have
 * answered, as independent users' requests do. Latency is measured from the intended send time,
 * so a late send (the generator's or the server's fault) is charged, never hidden (no coordinated
 * omission, as in wrk2 and k6's arrival-rate executors).
 *
 * Requests go through a Sender: by default a pool of kept-alive HttpConnections that grows up to
 * `maxInFlight` (the emulator's Invoke API); bench --target plugs in the AWS SDK instead. A request
 * due when `maxInFlight` are outstanding is dropped and counted, as k6 counts dropped_iterations:
 * queueing it instead would turn the open model into a closed one.
 *
 * Timing: Node's timers fire on a millisecond clock, up to 1 ms early or late. Waits run on a
 * worker thread instead (Atomics.wait takes a fractional timeout), which wakes this thread about
 * 0.2 ms before the intended time; setImmediate polling covers the rest. Polling the last 1-2 ms
 * after a setTimeout was as accurate here but cost twice the CPU (29% against 13% of a core at
 * 500 req/s, 50% against 22% at 1,000), and the server under test shares the cores.
 */
import {Worker} from 'node:worker_threads'
import {Int32Histogram} from 'hdr-histogram-js'
import {HttpConnection} from '../../runtime/http-connection.js'

/** One request as the client saw it; what the bench joins with the emulator's events by request id. */
export interface RequestResult {
  /** x-amzn-RequestId of the response; missing when no response came. */
  requestId?: string
  /** HTTP status, or 0 when the connection failed. */
  status: number
  /** The response carried X-Amz-Function-Error (the function failed). */
  functionError: boolean
  latencyMs: number
  /** Why no response came (a connection error). */
  error?: string
  /** The service's error name when the call failed (an SDK sender: e.g. TooManyRequestsException). */
  errorType?: string
}

/** How the open model's requests travel. */
export interface Sender {
  /** One request; never rejects: one that got no response resolves with status 0 and `error`. */
  send(body: Buffer): Promise<Omit<RequestResult, 'latencyMs'>>
  /** Clients it opened (connections), for the summary. */
  readonly opened: number
  close(): void
}

/** The default sender: kept-alive HttpConnections, one per request in flight, reused when idle. */
export class HttpSender implements Sender {
  private readonly idle: HttpConnection[] = []
  private readonly all: HttpConnection[] = []
  // Fixed for the run: resolved once, not per send.
  private readonly method: string
  private readonly headers: Record<string, string>

  constructor(private readonly target: {host: string; port: number; path: string; method?: string; headers?: Record<string, string>}) {
    this.method = target.method ?? 'POST'
    this.headers = target.headers ?? {}
  }

  get opened(): number {
    return this.all.length
  }

  // Not async: the request's own promise, one then, so an answer reaches the caller without extra ticks.
  send(body: Buffer): Promise<Omit<RequestResult, 'latencyMs'>> {
    let connection = this.idle.pop()
    if (!connection) {
      connection = new HttpConnection({host: this.target.host, port: this.target.port})
      this.all.push(connection)
    }
    const used = connection
    return used.request(this.method, this.target.path, this.headers, body).then(
      (response) => {
        this.idle.push(used)
        return {requestId: response.headers['x-amzn-requestid'], status: response.status, functionError: response.headers['x-amz-function-error'] !== undefined}
      },
      (error: unknown) => {
        this.idle.push(used)
        return {status: 0, functionError: false, error: (error as Error).message}
      },
    )
  }

  close(): void {
    for (const connection of this.all) connection.close()
  }
}

export interface OpenResult extends RequestResult {
  /** Intended send time, ms from the start of the run. */
  intendedMs: number
  /** Actual − intended send time, ms (never negative). */
  latenessMs: number
}

export interface OpenProgress {
  elapsedMs: number
  sent: number
  completed: number
  dropped: number
  inFlight: number
}

interface HttpTarget {
  host: string
  port: number
  path: string
  method?: string
  headers?: Record<string, string>
}

/** An HTTP target gets its own HttpSender, closed at the end; a `sender` given stays open (the caller's). */
export type OpenModelOptions = (HttpTarget | {sender: Sender}) & {
  /** The request body, or several used in turn (e.g. a function's sample events). */
  body: Buffer | Buffer[]
  /** Intended send times, ms from the start, ascending (see arrivals.ts). */
  arrivals: Iterable<number>
  /** Connections, and so requests in flight, at most. */
  maxInFlight: number
  signal?: AbortSignal
  onResult(result: OpenResult): void
  onProgress?(progress: OpenProgress): void
  progressIntervalMs?: number
}

export interface OpenModelSummary {
  /** Arrivals taken from the schedule: sent + dropped. */
  scheduled: number
  sent: number
  /** Requests that got an HTTP response (any status). */
  completed: number
  /** Requests that got no response (connection errors). */
  errors: number
  /** Never sent: all `maxInFlight` connections were busy at the intended time. */
  dropped: number
  /** Sent more than 1 ms after the intended time. */
  late: number
  /** Actual − intended send time of the requests sent, ms. */
  lateness: {p50: number; p99: number; max: number}
  connectionsOpened: number
  /** From the start until the last response (or the stop, when none was outstanding), ms. */
  durationMs: number
  aborted: boolean
}

/** Past this, a send counts as late. */
export const LATE_MS = 1
/** The worker wakes this thread this long before an intended time; setImmediate polling covers the rest. */
const WAKE_EARLY_MS = 0.2

export async function runOpenModel(options: OpenModelOptions): Promise<OpenModelSummary> {
  const {maxInFlight, signal, onResult, onProgress} = options
  const bodies = Array.isArray(options.body) ? options.body : [options.body]
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`)
  const arrivals = options.arrivals[Symbol.iterator]()
  const own = 'sender' in options ? undefined : new HttpSender(options)
  const sender = own ?? (options as {sender: Sender}).sender
  const lateness = new Int32Histogram(1, 60_000_000, 3)
  lateness.autoResize = true
  let sent = 0
  let completed = 0
  let errors = 0
  let dropped = 0
  let late = 0
  let inFlight = 0
  let stopped = false
  let aborted = false
  /** When the pool last stopped being full: a request due before it found every connection busy. */
  let capacitySince = -Infinity
  let immediate: NodeJS.Immediate | undefined
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))

  // Before the timer thread starts: a schedule that fails at once leaves nothing behind.
  let next = arrivals.next()
  const timer = await PreciseTimer.start(() => tick())
  const start = performance.now()

  const send = (intendedMs: number) => {
    inFlight++
    sent++
    const sentMs = performance.now() - start
    const latenessMs = Math.max(0, sentMs - intendedMs)
    lateness.recordValue(Math.round(latenessMs * 1000))
    if (latenessMs > LATE_MS) late++
    void sender.send(bodies[(sent - 1) % bodies.length]!).then((response) => {
      const latencyMs = performance.now() - start - intendedMs
      if (response.status === 0) errors++
      else completed++
      settle()
      onResult({...response, latencyMs, intendedMs, latenessMs})
    })
  }

  const settle = () => {
    const wasFull = inFlight === maxInFlight
    inFlight--
    if (stopped) {
      if (inFlight === 0) finish()
    } else if (wasFull) {
      // Nothing was scheduled while the pool was full: catch up from here.
      capacitySince = performance.now() - start
      tick()
    }
  }

  function tick(): void {
    if (immediate) clearImmediate(immediate)
    immediate = undefined
    if (stopped) return
    const now = performance.now() - start
    while (!next.done && next.value <= now) {
      if (inFlight >= maxInFlight || next.value < capacitySince) dropped++
      else send(next.value)
      next = arrivals.next()
    }
    if (next.done) return stop()
    // While the pool is full a response, not a timer, resumes the schedule.
    if (inFlight >= maxInFlight) return
    const remaining = next.value - (performance.now() - start)
    if (remaining > WAKE_EARLY_MS) timer.wakeAt(start + next.value - WAKE_EARLY_MS)
    else immediate = setImmediate(tick)
  }

  const stop = () => {
    if (stopped) return
    stopped = true
    if (immediate) clearImmediate(immediate)
    timer.close()
    if (inFlight === 0) finish()
  }

  const onAbort = () => {
    aborted = true
    stop()
  }
  signal?.addEventListener('abort', onAbort, {once: true})
  if (signal?.aborted) onAbort()
  const progress = onProgress && setInterval(() => onProgress({elapsedMs: performance.now() - start, sent, completed, dropped, inFlight}), options.progressIntervalMs ?? 1000)
  let durationMs = 0
  try {
    tick()
    await finished
    durationMs = performance.now() - start
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (progress) clearInterval(progress)
    timer.close()
    own?.close()
  }
  return {
    scheduled: sent + dropped,
    sent,
    completed,
    errors,
    dropped,
    late,
    lateness: sent === 0 ? {p50: 0, p99: 0, max: 0} : {p50: lateness.getValueAtPercentile(50) / 1000, p99: lateness.getValueAtPercentile(99) / 1000, max: lateness.maxValue / 1000},
    connectionsOpened: sender.opened,
    durationMs,
    aborted,
  }
}

/**
 * Wakes this thread at a performance.now() time, typically 0.1-0.2 ms after it, without polling: a
 * worker thread sleeps in Atomics.wait (fractional-ms timeouts) and posts a message when the time
 * comes. Should the worker die, setTimeout takes over: coarser, but the run goes on.
 */
class PreciseTimer {
  private readonly control: Int32Array
  /** The worker's deadline, on process.hrtime's clock (ms); Infinity when there is none. */
  private readonly deadline: Float64Array
  /** The same deadline on this thread's performance.now(). */
  private wakeTime = Infinity
  private worker?: Worker
  private fallback?: NodeJS.Timeout
  private closed = false

  private constructor(shared: SharedArrayBuffer, private readonly onWake: () => void) {
    this.control = new Int32Array(shared, 0, 2)
    this.deadline = new Float64Array(shared, 8, 1)
    this.deadline[0] = Infinity
  }

  static async start(onWake: () => void): Promise<PreciseTimer> {
    const shared = new SharedArrayBuffer(16)
    const timer = new PreciseTimer(shared, onWake)
    const worker = new Worker(TIMER_WORKER, {eval: true, workerData: shared})
    worker.on('message', (generation: number) => {
      if (!timer.closed && generation === Atomics.load(timer.control, 0)) onWake()
    })
    const lost = () => {
      if (timer.worker !== worker) return
      timer.worker = undefined
      if (timer.wakeTime !== Infinity) timer.wakeAt(timer.wakeTime)
    }
    worker.on('error', lost)
    worker.on('exit', lost)
    timer.worker = worker
    await new Promise((resolve) => worker.once('online', resolve).once('error', resolve))
    return timer
  }

  /** Replaces any earlier wake-up. */
  wakeAt(performanceNowMs: number): void {
    if (this.closed) return
    this.wakeTime = performanceNowMs
    if (this.worker) {
      // performance.now() is per thread, and its offset from process.hrtime (one clock for all
      // threads) shifts while Node starts up: convert the remaining time, not the instant.
      this.deadline[0] = Number(process.hrtime.bigint()) / 1e6 + (performanceNowMs - performance.now())
      Atomics.add(this.control, 0, 1)
      Atomics.notify(this.control, 0)
      return
    }
    clearTimeout(this.fallback)
    this.fallback = setTimeout(this.onWake, Math.max(0, Math.floor(performanceNowMs - performance.now())))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.fallback)
    Atomics.store(this.control, 1, 1)
    Atomics.add(this.control, 0, 1)
    Atomics.notify(this.control, 0)
    void this.worker?.terminate()
  }
}

// control[0]: generation, bumped with every new deadline (or stop); control[1]: stop. The worker
// posts the generation it fired for, so that a wake-up for a replaced deadline is ignored.
const TIMER_WORKER = `
const {workerData, parentPort} = require('node:worker_threads')
const control = new Int32Array(workerData, 0, 2)
const deadline = new Float64Array(workerData, 8, 1)
for (;;) {
  const generation = Atomics.load(control, 0)
  if (Atomics.load(control, 1)) break
  const wait = deadline[0] - Number(process.hrtime.bigint()) / 1e6
  if (wait > 0) {
    Atomics.wait(control, 0, generation, wait)
    continue
  }
  parentPort.postMessage(generation)
  Atomics.wait(control, 0, generation)
}
`
