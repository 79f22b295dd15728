/**
 * Projects a month of traffic through the pool simulator for one measured configuration: how many
 * requests meet a cold start or a throttle, the end-to-end latency they see, and what the month costs.
 *
 * A day is simulated hour by hour at each hour's rate, the pool carried from one hour to the next,
 * after one uncounted hour (the day's last) that warms the pool up, as a month of days would find it.
 * A busy hour is sampled: at most `maxArrivalsPerHour` requests, each standing for k real ones, so a
 * recommendation over many candidates stays fast. A trace is replayed once, as it is, and scaled up.
 */
import type {Distribution, RunResult} from '../bench/result.js'
import {LatencyHistogram} from '../bench/stats/histogram.js'
import {billedGbSeconds, monthlyCost, provisionedGbSeconds, type Architecture, type MonthlyCost, type PriceTable} from './pricing.js'
import {samplerFromDistribution, simulate, type Sampler, type SimulationResult} from './simulate.js'
import {arrivalTimesMs, type TrafficProfile} from './traffic.js'

export const SECONDS_PER_MONTH = 30 * 24 * 3600
const HOURS = 24
const DAYS_PER_MONTH = 30

/** What one configuration's invokes take, from bench: what the simulator draws, and what Lambda bills. */
export interface MeasuredDurations {
  memoryMb: number
  warm: Sampler
  cold: Sampler
  warmMeanMs: number
  /** Mean Billed Duration of a warm invoke. */
  warmBilledMs: number
  /** Mean Billed Duration of a cold start: INIT is billed too (ceil(Duration + Init Duration)). */
  coldBilledMs: number
  /** The run whose cold starts were used, when this configuration measured none of its own. */
  coldFrom?: string
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length

function coldStartBilled(run: RunResult): number[] {
  return run.phases.flatMap((p) => ('coldStarts' in p ? p.coldStarts.map((c) => c.billedDurationMs) : []))
}

/**
 * The durations of a run; its cold starts, or when it has none, those of `coldFallback` (another
 * run of the same function). Undefined when the run has no warm invokes.
 */
export function measuredDurations(run: RunResult, coldFallback?: RunResult): MeasuredDurations | undefined {
  if (!run.warm || run.warm.count === 0) return undefined
  const own = run.cold && run.cold.count > 0
  const coldRun = own ? run : coldFallback?.cold && coldFallback.cold.count > 0 ? coldFallback : undefined
  const warmBilledMs = run.report?.billedDurationMs.mean ?? run.warm.mean
  const billed = coldRun ? coldStartBilled(coldRun) : []
  // Without any cold start measured, a cold start is priced and timed as a warm invoke: the
  // recommendation says so (see `coldFrom`), and bench --cold-samples fixes it.
  const cold: Distribution = coldRun ? coldRun.cold! : run.warm
  return {
    memoryMb: run.memoryMb,
    warm: samplerFromDistribution(run.warm),
    cold: samplerFromDistribution(cold),
    warmMeanMs: run.warm.mean,
    warmBilledMs,
    coldBilledMs: billed.length > 0 ? mean(billed) : (coldRun?.cold?.mean ?? warmBilledMs),
    coldFrom: own ? undefined : (coldRun?.id ?? 'none'),
  }
}

export interface PoolPlan {
  keepAliveMs: number
  /** Provisioned environments: one number all day, or one per UTC hour (a schedule). */
  provisioned: number | number[]
  reservedConcurrency?: number
  accountConcurrency?: number
}

export interface Projection {
  /** Per month. */
  requests: number
  cold: number
  throttled: number
  servedByProvisioned: number
  coldRate: number
  throttleRate: number
  p50Ms: number
  p99Ms: number
  peakConcurrency: number
  peakEnvironments: number
  /** Requests the simulator actually ran (the rest are scaled from them). */
  simulatedRequests: number
  /** Average provisioned environments over the day (for PC's allocated cost). */
  meanProvisioned: number
}

const provisionedAt = (plan: PoolPlan, hour: number): number => (typeof plan.provisioned === 'number' ? plan.provisioned : plan.provisioned[hour]!)

export function project(profile: TrafficProfile, durations: MeasuredDurations, plan: PoolPlan, options: {seed?: number; maxArrivalsPerHour?: number} = {}): Projection {
  const seed = options.seed ?? 1
  const common = {warm: durations.warm, cold: durations.cold, keepAliveMs: plan.keepAliveMs, reservedConcurrency: plan.reservedConcurrency, accountConcurrency: plan.accountConcurrency}
  const latency = new LatencyHistogram()
  const totals = {requests: 0, cold: 0, throttled: 0, servedByProvisioned: 0, peakConcurrency: 0, peakEnvironments: 0, simulated: 0}
  const add = (r: SimulationResult, weight: number) => {
    totals.requests += r.requests * weight
    totals.cold += r.cold * weight
    totals.throttled += r.throttled * weight
    totals.servedByProvisioned += r.servedByProvisioned * weight
    totals.peakConcurrency = Math.max(totals.peakConcurrency, r.peakConcurrency)
    totals.peakEnvironments = Math.max(totals.peakEnvironments, r.peakEnvironments)
    totals.simulated += r.requests
    if (r.latency) latency.add(r.latency)
  }
  let scale: number
  let meanProvisioned: number
  if (profile.trace) {
    const provisioned = typeof plan.provisioned === 'number' ? plan.provisioned : Math.max(...plan.provisioned)
    add(simulate({...common, arrivalsMs: profile.trace.offsetsMs, provisionedConcurrency: provisioned, seed}), 1)
    // A trace is a sample of the month: scale by its length (a trace of one request has none).
    scale = SECONDS_PER_MONTH / Math.max(1, profile.trace.durationMs / 1000)
    meanProvisioned = provisioned
  } else {
    const cap = options.maxArrivalsPerHour ?? 10_000
    let alive = 0
    // Hour 23 first, uncounted: the day starts with the pool the previous day left.
    for (const [index, hour] of [HOURS - 1, ...Array.from({length: HOURS}, (_, h) => h)].entries()) {
      const expected = profile.hourlyRps[hour]! * 3600
      const k = Math.max(1, Math.ceil(expected / cap))
      const arrivals = arrivalTimesMs(profile, {startSecond: hour * 3600, durationSeconds: 3600 / k, seed: seed * 7919 + index})
      const r = simulate({...common, arrivalsMs: arrivals, provisionedConcurrency: provisionedAt(plan, hour), initialIdleOnDemand: alive, latencyWeight: k, recordLatency: index > 0, seed: seed + index})
      alive = r.onDemandAliveAtEnd
      if (index > 0) add(r, k)
    }
    scale = DAYS_PER_MONTH
    meanProvisioned = mean(Array.from({length: HOURS}, (_, h) => provisionedAt(plan, h)))
  }
  const served = totals.requests - totals.throttled
  return {
    requests: totals.requests * scale,
    cold: totals.cold * scale,
    throttled: totals.throttled * scale,
    servedByProvisioned: totals.servedByProvisioned * scale,
    coldRate: totals.requests === 0 ? 0 : totals.cold / totals.requests,
    throttleRate: totals.requests === 0 ? 0 : totals.throttled / totals.requests,
    p50Ms: served > 0 ? latency.percentileUs(50) / 1000 : 0,
    p99Ms: served > 0 ? latency.percentileUs(99) / 1000 : 0,
    peakConcurrency: totals.peakConcurrency,
    peakEnvironments: totals.peakEnvironments,
    simulatedRequests: totals.simulated,
    meanProvisioned,
  }
}

export interface CostOptions {
  architecture: Architecture
  freeTier?: boolean
  prices?: PriceTable
  ephemeralStorageMb?: number
}

/**
 * The month's bill for a projection: every served request pays the request price; on-demand warm
 * invokes their billed duration; cold starts their billed duration with INIT; invokes on provisioned
 * environments the lower while-provisioned price; and the provisioned environments their allocation.
 */
export function projectionCost(projection: Projection, durations: MeasuredDurations, options: CostOptions): MonthlyCost {
  const served = projection.requests - projection.throttled
  const warmOnDemand = Math.max(0, served - projection.cold - projection.servedByProvisioned)
  const warmGbs = billedGbSeconds(durations.warmBilledMs, durations.memoryMb)
  const coldGbs = billedGbSeconds(durations.coldBilledMs, durations.memoryMb)
  const allocated = provisionedGbSeconds(projection.meanProvisioned, durations.memoryMb, SECONDS_PER_MONTH)
  const used = Math.min(allocated, projection.servedByProvisioned * warmGbs)
  const storageMb = Math.max(0, (options.ephemeralStorageMb ?? 512) - 512)
  const onDemandSeconds = warmOnDemand * (Math.ceil(durations.warmBilledMs) / 1000) + projection.cold * (Math.ceil(durations.coldBilledMs) / 1000)
  return monthlyCost({
    requests: served,
    gbSeconds: warmOnDemand * warmGbs + projection.cold * coldGbs,
    architecture: options.architecture,
    freeTier: options.freeTier,
    prices: options.prices,
    provisioned: projection.meanProvisioned > 0 ? {gbSecondsAllocated: allocated, gbSecondsUsed: used} : undefined,
    // Ephemeral storage above 512 MB is billed per GB-second of duration, on demand and provisioned alike.
    ephemeralStorageGbSecondsAbove512: (storageMb / 1024) * (onDemandSeconds + projection.servedByProvisioned * (Math.ceil(durations.warmBilledMs) / 1000)),
  })
}
