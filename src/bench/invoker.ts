/**
 * Single invokes through the Invoke API for the cold-start phases: one kept-alive connection per
 * concurrent invoke, as N separate clients would have. (Load phases have their own generators.)
 */
import {HttpConnection} from '../runtime/http-connection.js'
import type {ClientOutcome} from './collect.js'

export interface InvokeTarget {
  host: string
  port: number
  functionName: string
  /** Request bodies, used in turn. */
  bodies: Buffer[]
}

/** What the client saw, with the response body (the preflight reads the function's error message). */
export type InvokeOutcome = ClientOutcome & {body?: Buffer}

/** Single invokes as the cold-start phases (and the warm-up before a load) make them. */
export interface PhaseInvoker {
  /** One invoke on the client numbered `slot`; undefined when the run was interrupted. */
  invoke(slot?: number, body?: Buffer): Promise<InvokeOutcome | undefined>
  /** `n` invokes at once, each on its own client. */
  concurrent(n: number): Promise<(InvokeOutcome | undefined)[]>
}

export const invokePath = (functionName: string) => `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`

export class Invoker implements PhaseInvoker {
  private readonly connections: HttpConnection[] = []
  private readonly path: string
  private next = 0

  private readonly onAbort = () => this.close()

  constructor(private readonly target: InvokeTarget, private readonly signal?: AbortSignal) {
    this.path = invokePath(target.functionName)
    // Ctrl-C: invokes in flight are cut (their outcomes are dropped, not counted as errors).
    signal?.addEventListener('abort', this.onAbort, {once: true})
  }

  /** One invoke on the connection numbered `slot`; undefined when the run was interrupted. */
  async invoke(slot = 0, body = this.nextBody()): Promise<InvokeOutcome | undefined> {
    if (this.signal?.aborted) return undefined
    const connection = (this.connections[slot] ??= new HttpConnection({host: this.target.host, port: this.target.port}))
    const sentAt = performance.now()
    try {
      const response = await connection.request('POST', this.path, {'Content-Type': 'application/json'}, body)
      const latencyMs = performance.now() - sentAt
      return {requestId: response.headers['x-amzn-requestid'], status: response.status, latencyMs, body: response.body}
    } catch {
      return this.signal?.aborted ? undefined : {status: 0, latencyMs: performance.now() - sentAt}
    }
  }

  /** `n` invokes at once, each on its own connection. */
  async concurrent(n: number): Promise<(InvokeOutcome | undefined)[]> {
    return Promise.all(Array.from({length: n}, (_, slot) => this.invoke(slot)))
  }

  nextBody(): Buffer {
    const body = this.target.bodies[this.next % this.target.bodies.length]!
    this.next++
    return body
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort)
    for (const connection of this.connections) connection.close()
    this.connections.length = 0
  }
}
