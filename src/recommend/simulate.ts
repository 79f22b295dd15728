/**
 * A discrete-event simulator of one function's pool of execution environments on AWS Lambda, to
 * estimate what a configuration costs and how many requests meet a cold start before deploying it.
 *
 * It follows the same rules as the emulator's pool (src/emulator/pool/pool.ts), so a trace replayed
 * through `sai bench --trace` can check it:
 * - an invoke takes an idle provisioned environment first, else the most recently used idle
 *   on-demand one, else starts a new on-demand environment (a cold start);
 * - an idle on-demand environment is reaped `keepAliveMs` after its last invoke; provisioned
 *   environments stay;
 * - reserved concurrency caps the invokes in flight (excess is throttled), otherwise the account's
 *   concurrency does.
 * One more rule is Lambda's alone (REFERENCE.md §Scaling), which the emulator's pool does not
 * enforce, so a replay cannot check it: new environments are limited to 1,000 per 10 seconds per
 * function, refilled continuously; an invoke that needs one when none is left is throttled.
 * Durations are drawn from what bench measured: warm invokes from the warm distribution, cold ones
 * (init included) from the cold distribution. Time is in ms.
 */
import type {Distribution} from '../bench/result.js'
import {mulberry32, type Rng} from '../bench/random.js'
import {LatencyHistogram} from '../bench/stats/histogram.js'
import {LAMBDA_LIMITS} from '../spec/limits.js'

/** Lambda's scaling rate: new environments per function per 10 s, refilled continuously. */
const SCALING_ENVIRONMENTS_PER_10S = 1000

/** Draws a duration in ms. */
export type Sampler = (rng: Rng) => number

/** Samples a measured distribution: its recorded values, weighted by their counts. */
export function samplerFromHistogram(histogram: LatencyHistogram): Sampler {
  const buckets = histogram.buckets()
  if (buckets.length === 0) throw new RangeError('cannot sample an empty distribution')
  const values = Float64Array.from(buckets, (b) => b.valueUs / 1000)
  const cumulative = new Float64Array(buckets.length)
  let total = 0
  buckets.forEach((b, i) => (cumulative[i] = total += b.count))
  return (rng) => {
    const target = rng() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > target) hi = mid
      else lo = mid + 1
    }
    return values[lo]!
  }
}

export function samplerFromDistribution(distribution: Distribution): Sampler {
  return samplerFromHistogram(LatencyHistogram.decode(distribution.hdr))
}

export const constantSampler =
  (ms: number): Sampler =>
  () =>
    ms

export interface SimulationInput {
  /** Request arrival times, ms, ascending. */
  arrivalsMs: Float64Array
  /** How long a warm invoke holds its environment (and what the client waits), ms. */
  warm: Sampler
  /** The same for a cold start: init plus the first invoke. */
  cold: Sampler
  keepAliveMs: number
  provisionedConcurrency: number
  reservedConcurrency?: number
  /** Default: Lambda's default account concurrency. */
  accountConcurrency?: number
  /** Idle on-demand environments at time 0 (e.g. the one bench's preflight invoke leaves behind). */
  initialIdleOnDemand?: number
  /** Record latencies for percentiles (default true). */
  recordLatency?: boolean
  /** How many requests each simulated one stands for in the latency histogram (an hour sampled 1-in-k). */
  latencyWeight?: number
  seed: number
}

export interface SimulationResult {
  requests: number
  cold: number
  throttled: number
  /** Invokes served by provisioned environments. */
  servedByProvisioned: number
  /** Share of requests that met a cold start. */
  coldRate: number
  /** End-to-end latency of served requests (cold starts included). */
  latency?: LatencyHistogram
  /** Time environments spent busy, ms, by who served: on-demand warm, on-demand cold (init included), provisioned. */
  busyMs: {warm: number; cold: number; provisioned: number}
  /** Most invokes in flight at once. */
  peakConcurrency: number
  /** Most environments alive at once (busy or idle). */
  peakEnvironments: number
  /** On-demand environments alive at the end (the warm pool a next window starts with). */
  onDemandAliveAtEnd: number
}

/** A binary min-heap of completion times. */
class CompletionHeap {
  private readonly times: number[] = []
  private readonly provisioned: boolean[] = []

  get size(): number {
    return this.times.length
  }

  peek(): number {
    return this.times[0]!
  }

  push(time: number, isProvisioned: boolean): void {
    const t = this.times
    const p = this.provisioned
    let i = t.length
    t.push(time)
    p.push(isProvisioned)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (t[parent]! <= time) break
      t[i] = t[parent]!
      p[i] = p[parent]!
      i = parent
    }
    t[i] = time
    p[i] = isProvisioned
  }

  /** Removes the earliest completion; returns whether a provisioned environment made it. */
  pop(): boolean {
    const t = this.times
    const p = this.provisioned
    const wasProvisioned = p[0]!
    const lastTime = t.pop()!
    const lastProvisioned = p.pop()!
    if (t.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= t.length) break
        const right = left + 1
        const child = right < t.length && t[right]! < t[left]! ? right : left
        if (t[child]! >= lastTime) break
        t[i] = t[child]!
        p[i] = p[child]!
        i = child
      }
      t[i] = lastTime
      p[i] = lastProvisioned
    }
    return wasProvisioned
  }
}

export function simulate(input: SimulationInput): SimulationResult {
  const rng = mulberry32(input.seed)
  const accountConcurrency = input.accountConcurrency ?? LAMBDA_LIMITS.accountConcurrency
  const concurrencyCap = input.reservedConcurrency ?? accountConcurrency
  const tokensPerMs = SCALING_ENVIRONMENTS_PER_10S / 10_000
  const latency = input.recordLatency === false ? undefined : new LatencyHistogram()
  const weight = input.latencyWeight ?? 1
  // Idle on-demand environments as the times they went idle, oldest first: completions are processed
  // in time order, so pushing keeps it sorted; the most recently used is the last.
  const idleSince: number[] = []
  let idleHead = 0
  for (let i = 0; i < (input.initialIdleOnDemand ?? 0); i++) idleSince.push(0)
  let idleProvisioned = input.provisionedConcurrency
  let onDemandAlive = input.initialIdleOnDemand ?? 0
  let tokens = SCALING_ENVIRONMENTS_PER_10S
  let tokensAt = 0
  const completions = new CompletionHeap()
  const result: SimulationResult = {
    requests: input.arrivalsMs.length,
    cold: 0,
    throttled: 0,
    servedByProvisioned: 0,
    coldRate: 0,
    latency,
    busyMs: {warm: 0, cold: 0, provisioned: 0},
    peakConcurrency: 0,
    peakEnvironments: 0,
    onDemandAliveAtEnd: 0,
  }
  const reapBefore = (now: number) => {
    // Gone once keep-alive has fully passed: the emulator's timer fires keepAliveMs after release,
    // so an arrival at exactly release + keepAliveMs finds the environment reaped.
    while (idleHead < idleSince.length && now - idleSince[idleHead]! >= input.keepAliveMs) {
      idleHead++
      onDemandAlive--
    }
  }
  for (const now of input.arrivalsMs) {
    while (completions.size > 0 && completions.peek() <= now) {
      const at = completions.peek()
      // Reap what expired before this environment came back, so it is not mistaken for younger.
      reapBefore(at)
      if (completions.pop()) idleProvisioned++
      else idleSince.push(at)
    }
    reapBefore(now)
    if (idleHead > 4096 && idleHead * 2 > idleSince.length) {
      idleSince.splice(0, idleHead)
      idleHead = 0
    }
    if (completions.size >= concurrencyCap) {
      result.throttled++
      continue
    }
    let busy: number
    if (idleProvisioned > 0) {
      idleProvisioned--
      busy = input.warm(rng)
      result.servedByProvisioned++
      result.busyMs.provisioned += busy
      completions.push(now + busy, true)
    } else if (idleSince.length > idleHead) {
      idleSince.pop()
      busy = input.warm(rng)
      result.busyMs.warm += busy
      completions.push(now + busy, false)
    } else {
      tokens = Math.min(SCALING_ENVIRONMENTS_PER_10S, tokens + (now - tokensAt) * tokensPerMs)
      tokensAt = now
      if (tokens < 1) {
        result.throttled++
        continue
      }
      tokens--
      onDemandAlive++
      busy = input.cold(rng)
      result.cold++
      result.busyMs.cold += busy
      completions.push(now + busy, false)
    }
    latency?.record(busy, weight)
    if (completions.size > result.peakConcurrency) result.peakConcurrency = completions.size
    const environments = onDemandAlive + input.provisionedConcurrency
    if (environments > result.peakEnvironments) result.peakEnvironments = environments
  }
  const end = input.arrivalsMs.length > 0 ? input.arrivalsMs[input.arrivalsMs.length - 1]! : 0
  reapBefore(end)
  result.onDemandAliveAtEnd = onDemandAlive
  result.coldRate = result.requests === 0 ? 0 : result.cold / result.requests
  return result
}
