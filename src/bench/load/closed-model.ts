/**
 * The closed model: C connections, each sending its next request as soon as the last one answers,
 * driven by autocannon (never with `rate`: its rate mode bursts and invents samples, see
 * REFERENCE.md). autocannon's histograms hold whole milliseconds, too coarse for warm inference, so
 * each response is reported on its own, with autocannon's float latency (process.hrtime from the
 * write) and the request id that ties it to the emulator's events.
 */
import autocannon from 'autocannon'
import type {RequestResult} from './open-model.js'

export type {RequestResult} from './open-model.js'

export interface ClosedModelOptions {
  host: string
  port: number
  path: string
  method?: 'POST' | 'GET' | 'PUT'
  /** The request body, or several: each connection sends them in turn. */
  body: Buffer | Buffer[]
  headers?: Record<string, string>
  connections: number
  durationMs: number
  /** A request without a response after this long is cut and its connection reopened (autocannon's default: 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
  onResult(result: RequestResult): void
}

export interface ClosedModelSummary {
  /** Requests written, including those cut by the end of the run. */
  sent: number
  /** Responses, any status. */
  completed: number
  non2xx: number
  /** Connection errors and timeouts, as autocannon counts them. */
  errors: number
  timeouts: number
  durationMs: number
  aborted: boolean
}

/** Ticks of autocannon's sampler: the run ends (and an abort takes effect) on the first tick after it is due. */
const SAMPLE_INTERVAL_MS = 100

interface ParsedHead {
  /** Alternating names and values, as the HTTP parser read them. */
  headers: string[]
}

export function runClosedModel(options: ClosedModelOptions): Promise<ClosedModelSummary> {
  const {host, port, path, method = 'POST', body, headers = {}, connections, durationMs, timeoutMs, signal, onResult} = options
  const clients: autocannon.Client[] = []
  const setupClient = (client: autocannon.Client) => {
    clients.push(client)
    // 'request', 'timeout' and 'connError' are autocannon's too, but missing from its types.
    const events = client as NodeJS.EventEmitter
    let requestId: string | undefined
    let functionError = false
    let sentAt = 0
    events.on('request', () => {
      sentAt = performance.now()
      requestId = undefined
      functionError = false
    })
    // The types say IncomingHttpHeaders; autocannon passes the parser's head, with the headers as a raw array.
    events.on('headers', (head: ParsedHead) => {
      const raw = head.headers
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!
        if (name.length === 16 && name.toLowerCase() === 'x-amzn-requestid') requestId = raw[i + 1]
        else if (name.length === 20 && name.toLowerCase() === 'x-amz-function-error') functionError = true
      }
    })
    events.on('response', (status: number, _bytes: number, latencyMs: number) => onResult({requestId, status, functionError, latencyMs}))
    events.on('timeout', () => onResult({status: 0, functionError: false, latencyMs: performance.now() - sentAt, error: 'timed out'}))
    events.on('connError', (error: Error) => onResult({status: 0, functionError: false, latencyMs: performance.now() - sentAt, error: error.message}))
  }

  return new Promise((resolve, reject) => {
    let aborted = false
    const start = performance.now()
    const instance = autocannon(
      {
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
        method,
        headers,
        // autocannon cycles through `requests` on every connection.
        requests: (Array.isArray(body) ? body : [body]).map((b) => ({method, path, body: b, headers})),
        connections,
        duration: durationMs / 1000,
        ...(timeoutMs === undefined ? {} : {timeout: timeoutMs / 1000}),
        sampleInt: SAMPLE_INTERVAL_MS,
        setupClient,
      },
      (error: unknown, result: autocannon.Result) => {
        signal?.removeEventListener('abort', onAbort)
        if (error) return reject(error instanceof Error ? error : new Error(String(error)))
        resolve({
          sent: result.requests.sent,
          completed: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          durationMs: performance.now() - start,
          aborted,
        })
      },
    )
    function onAbort() {
      aborted = true
      instance.stop()
      // stop() takes effect on the next sampler tick; closing the connections now sends nothing more meanwhile.
      for (const client of clients) (client as autocannon.Client & {destroy(): void}).destroy()
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    if (signal?.aborted) onAbort()
  })
}
