/**
 * The closed model over any Sender: C loops, each sending its next request as soon as the last one
 * answered, for the duration. bench --target uses it because its requests go through the AWS SDK:
 * Lambda's Invoke API wants SigV4-signed requests, and autocannon (the emulator's closed model)
 * sends the same bytes every time, so it cannot sign them.
 */
import type {RequestResult, Sender} from './open-model.js'

export interface ClosedLoopOptions {
  /** Stays open: it belongs to the caller. */
  sender: Sender
  /** The request body, or several: each loop sends them in turn. */
  body: Buffer | Buffer[]
  connections: number
  durationMs: number
  signal?: AbortSignal
  onResult(result: RequestResult): void
}

export interface ClosedLoopSummary {
  sent: number
  /** Requests that got a response (any status). */
  completed: number
  /** Requests that got none. */
  errors: number
  durationMs: number
  aborted: boolean
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopSummary> {
  const {sender, connections, durationMs, signal, onResult} = options
  const bodies = Array.isArray(options.body) ? options.body : [options.body]
  const start = performance.now()
  const end = start + durationMs
  let sent = 0
  let completed = 0
  let errors = 0
  const loop = async (slot: number) => {
    for (let n = 0; performance.now() < end && !signal?.aborted; n++) {
      sent++
      const sentAt = performance.now()
      const response = await sender.send(bodies[(slot + n) % bodies.length]!)
      if (response.status === 0) errors++
      else completed++
      // An answer that arrives after the end still counts: it was sent within the duration.
      onResult({...response, latencyMs: performance.now() - sentAt})
    }
  }
  await Promise.all(Array.from({length: connections}, (_, slot) => loop(slot)))
  return {sent, completed, errors, durationMs: performance.now() - start, aborted: signal?.aborted ?? false}
}
