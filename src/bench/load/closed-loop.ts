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
  /** The request bodies: each loop sends them in turn. */
  body: Buffer[]
  connections: number
  durationMs: number
  signal?: AbortSignal
  onResult(result: RequestResult): void
}

export interface ClosedLoopSummary {
  /** From the first send to the last answer: an answer after the end still counts. */
  durationMs: number
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopSummary> {
  const {sender, body: bodies, connections, durationMs, signal, onResult} = options
  const start = performance.now()
  const end = start + durationMs
  const loop = async (slot: number) => {
    for (let n = 0; performance.now() < end && !signal?.aborted; n++) {
      const sentAt = performance.now()
      const response = await sender.send(bodies[(slot + n) % bodies.length]!)
      // An answer that arrives after the end still counts: it was sent within the duration.
      onResult({...response, latencyMs: performance.now() - sentAt})
    }
  }
  await Promise.all(Array.from({length: connections}, (_, slot) => loop(slot)))
  return {durationMs: performance.now() - start}
}
