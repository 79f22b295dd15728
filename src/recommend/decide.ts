/**
 * The decisions `sai recommend` makes from a bench result: memory size, batch size and provisioned
 * concurrency. Pure: no I/O, no clock; everything comes from the measured runs and the traffic profile.
 */
import type {BenchResult, Distribution, LoadPhase, RunResult} from '../bench/result.js'
import {compareQuantile} from '../bench/stats/bootstrap.js'
import {LatencyHistogram} from '../bench/stats/histogram.js'
import {SaiError} from '../errors/sai-error.js'
import {erlangB, offeredLoad, serversForBlocking} from './erlang.js'
import {billedGbSeconds, invokeCost, monthlyCost, provisionedGbSeconds, US_EAST_1, type Architecture, type MonthlyCost, type PriceTable} from './pricing.js'

export const SECONDS_PER_MONTH = 30 * 24 * 3600
/** Lambda's longest batching window for SQS event sources. */
export const MAX_BATCHING_WINDOW_SECONDS = 300
/** Errors that disqualify a configuration: it ran out of memory, or ran past its timeout. */
export const DISQUALIFYING_ERRORS = ['Runtime.OutOfMemory', 'Sandbox.Timedout'] as const

export type Risk = 'low' | 'medium' | 'high'

export interface Rejected {
  memoryMb: number
  batchSize: number
  runId: string
  reason: string
}

export interface MemoryOption {
  memoryMb: number
  runId: string
  /** Warm p99, ms, with its 95% interval. */
  warmP99: number
  warmP99Ci: [number, number]
  coldP99?: number
  meanBilledDurationMs: number
  /** USD per 1,000 inferences at the first volume tier. */
  perThousand: number
  monthly: MonthlyCost
  meetsSlo: boolean
  /** Share of the SLO the warm p99 uses. */
  sloUsed: number
  risk: Risk
  /** Memory sizes whose warm p99 is within noise of this one (the bootstrap finds no significant difference). */
  equivalentTo?: number[]
  /** Saving per month against the most expensive option, USD. */
  savingsMonthly: number
}

export interface MemoryRecommendation {
  rps: number
  sloP99Ms: number
  architecture: Architecture
  /** Cheapest first. */
  options: MemoryOption[]
  recommended?: number
  /** No option meets the SLO: the one with the lowest warm p99. */
  closest?: number
  rejected: Rejected[]
}

export interface BatchOption {
  batchSize: number
  memoryMb: number
  runId: string
  warmP99: number
  meetsSlo: boolean
  itemsPerSecond?: number
  perThousandItems: number
  /** Items per USD: the throughput-per-dollar curve. */
  itemsPerDollar: number
}

export interface BatchRecommendation {
  sloP99Ms: number
  memoryMb: number
  options: BatchOption[]
  recommended?: number
  rejected: Rejected[]
  /** The SQS event source mapping for the recommended batch (undefined when none meets the SLO). */
  sqs?: {BatchSize: number; MaximumBatchingWindowInSeconds: number}
  note?: string
}

export interface ProvisionedRecommendation {
  rps: number
  memoryMb: number
  maxColdRatePct: number
  meanDurationMs: number
  /** Erlangs: mean number of busy environments. */
  offeredLoad: number
  provisionedConcurrency: number
  /** Erlang-B share of requests that spill over to on-demand (an upper bound on the cold share), %. */
  coldRatePct: {withProvisioned: number; withoutProvisioned: number}
  monthly: {onDemand: MonthlyCost; withProvisioned: MonthlyCost}
}

export interface PricingOptions {
  architecture: Architecture
  freeTier?: boolean
  prices?: PriceTable
}

const BENCH_SWEEP_HINT = {
  memory: 'run sai bench --memory 512,1024,2048,3008 --json FILE (with a load phase, e.g. --connections 2 --duration 30s) and pass it with --bench FILE',
  batch: 'run sai bench --batch 1,2,4,8 --json FILE (with a load phase) and pass it with --bench FILE',
  warm: 'run sai bench with a warm load phase (--connections C --duration D, or --rate R) and --json FILE',
} as const

function missing(what: string, hint: string): SaiError {
  return new SaiError('SAI_BENCH_DATA_MISSING', `the bench results hold no ${what}`, {hint})
}

function checkPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', `${name} must be a positive number, got ${value}`)
}

/** Why a run cannot be recommended, or undefined when it can. */
export function rejectionReason(run: RunResult): string | undefined {
  if (run.skipped) return `skipped in bench: ${run.skipped}`
  const reasons = DISQUALIFYING_ERRORS.filter((type) => (run.errors.byType[type] ?? 0) > 0).map((type) => {
    const n = run.errors.byType[type]!
    return type === 'Runtime.OutOfMemory' ? `ran out of memory (${n} × Runtime.OutOfMemory in ${run.invokes} invokes)` : `timed out (${n} × Sandbox.Timedout in ${run.invokes} invokes)`
  })
  if (reasons.length > 0) return reasons.join('; ')
  if (!run.warm || run.warm.count === 0) return `no warm invokes measured (${BENCH_SWEEP_HINT.warm})`
  return undefined
}

const meanBilled = (run: RunResult): number => run.report?.billedDurationMs.mean ?? run.warm!.mean

function risk(sloUsed: number, coldP99: number | undefined, sloP99Ms: number): Risk {
  let level: Risk = sloUsed > 0.8 ? 'high' : sloUsed > 0.5 ? 'medium' : 'low'
  // Cold starts past the SLO breach it for every request that meets one.
  if (level === 'low' && coldP99 !== undefined && coldP99 > sloP99Ms) level = 'medium'
  return level
}

function decode(d: Distribution): LatencyHistogram | undefined {
  try {
    return LatencyHistogram.decode(d.hdr)
  } catch {
    return undefined
  }
}

/** Monthly on-demand bill of `rps` invokes per second at this billed duration and memory. */
export function monthlyOnDemand(rps: number, billedDurationMs: number, memoryMb: number, pricing: PricingOptions): MonthlyCost {
  const requests = rps * SECONDS_PER_MONTH
  return monthlyCost({requests, gbSeconds: requests * billedGbSeconds(billedDurationMs, memoryMb), architecture: pricing.architecture, freeTier: pricing.freeTier, prices: pricing.prices})
}

export function recommendMemory(result: BenchResult, options: {rps: number; sloP99Ms: number} & PricingOptions): MemoryRecommendation {
  checkPositive('rps', options.rps)
  checkPositive('SLO p99', options.sloP99Ms)
  const prices = options.prices ?? US_EAST_1
  const candidates = result.runs.filter((r) => r.batchSize === 1)
  if (new Set(candidates.map((r) => r.memoryMb)).size < 2) throw missing('memory sweep (runs at two or more memory sizes, batch 1)', BENCH_SWEEP_HINT.memory)
  const rejected: Rejected[] = []
  const measured: RunResult[] = []
  for (const run of candidates) {
    const reason = rejectionReason(run)
    if (reason) rejected.push({memoryMb: run.memoryMb, batchSize: 1, runId: run.id, reason})
    else measured.push(run)
  }
  const options_: MemoryOption[] = measured.map((run) => {
    const warm = run.warm!
    const billed = meanBilled(run)
    const sloUsed = warm.p99 / options.sloP99Ms
    return {
      memoryMb: run.memoryMb,
      runId: run.id,
      warmP99: warm.p99,
      warmP99Ci: warm.ci.p99,
      coldP99: run.cold?.p99,
      meanBilledDurationMs: billed,
      perThousand: 1000 * invokeCost(Math.ceil(billed), run.memoryMb, options.architecture, prices),
      monthly: monthlyOnDemand(options.rps, billed, run.memoryMb, options),
      meetsSlo: warm.p99 <= options.sloP99Ms,
      sloUsed,
      risk: warm.p99 <= options.sloP99Ms ? risk(sloUsed, run.cold?.p99, options.sloP99Ms) : 'high',
      savingsMonthly: 0,
    }
  })
  // Within noise: the bootstrap of the p99 ratio finds no significant difference.
  const histograms = new Map(measured.map((run) => [run.id, decode(run.warm!)]))
  for (const a of options_)
    for (const b of options_) {
      if (a === b || a.memoryMb === b.memoryMb) continue
      const ha = histograms.get(a.runId)
      const hb = histograms.get(b.runId)
      if (!ha || !hb || ha.count === 0 || hb.count === 0) continue
      if (!compareQuantile(ha, hb, 0.99).significant) (a.equivalentTo ??= []).push(b.memoryMb)
    }
  options_.sort((a, b) => a.perThousand - b.perThousand || a.memoryMb - b.memoryMb)
  const mostExpensive = Math.max(0, ...options_.map((o) => o.monthly.total))
  for (const o of options_) o.savingsMonthly = mostExpensive - o.monthly.total
  const meeting = options_.filter((o) => o.meetsSlo)
  const recommended = meeting[0]?.memoryMb
  const closest = recommended === undefined && options_.length > 0 ? [...options_].sort((a, b) => a.warmP99 - b.warmP99)[0]!.memoryMb : undefined
  return {rps: options.rps, sloP99Ms: options.sloP99Ms, architecture: options.architecture, options: options_, recommended, closest, rejected}
}

/** Items per second the run sustained: the best load phase's throughput. */
function itemsPerSecond(run: RunResult): number | undefined {
  const loads = run.phases.filter((p): p is LoadPhase => p.kind === 'closed' || p.kind === 'open')
  if (loads.length === 0) return undefined
  return Math.max(...loads.map((p) => p.throughput.itemsPerSecond))
}

export function batchingWindowSeconds(batchSize: number, rps: number): number {
  if (batchSize <= 1) return 0
  return Math.min(MAX_BATCHING_WINDOW_SECONDS, Math.ceil(batchSize / rps))
}

export function recommendBatch(result: BenchResult, options: {sloP99Ms: number; rps: number} & PricingOptions): BatchRecommendation {
  checkPositive('rps', options.rps)
  checkPositive('SLO p99', options.sloP99Ms)
  const prices = options.prices ?? US_EAST_1
  const batched = result.runs.filter((r) => r.batchSize > 1)
  if (batched.length === 0) throw missing('batch sweep (runs with batch sizes above 1)', BENCH_SWEEP_HINT.batch)
  // The sweep runs at one memory size (the spec's): compare batch sizes at that size, batch 1 included.
  const counts = new Map<number, number>()
  for (const r of batched) counts.set(r.memoryMb, (counts.get(r.memoryMb) ?? 0) + 1)
  const memoryMb = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0]
  const runs = result.runs.filter((r) => r.memoryMb === memoryMb).sort((a, b) => a.batchSize - b.batchSize)
  const rejected: Rejected[] = []
  const batchOptions: BatchOption[] = []
  for (const run of runs) {
    const reason = rejectionReason(run)
    if (reason) {
      rejected.push({memoryMb, batchSize: run.batchSize, runId: run.id, reason})
      continue
    }
    const perThousandItems = (1000 * invokeCost(Math.ceil(meanBilled(run)), memoryMb, options.architecture, prices)) / run.batchSize
    batchOptions.push({
      batchSize: run.batchSize,
      memoryMb,
      runId: run.id,
      warmP99: run.warm!.p99,
      meetsSlo: run.warm!.p99 <= options.sloP99Ms,
      itemsPerSecond: itemsPerSecond(run),
      perThousandItems,
      itemsPerDollar: 1000 / perThousandItems,
    })
  }
  const meeting = batchOptions.filter((o) => o.meetsSlo)
  const recommended = meeting.length > 0 ? Math.max(...meeting.map((o) => o.batchSize)) : undefined
  const window = recommended === undefined ? undefined : batchingWindowSeconds(recommended, options.rps)
  const chosen = batchOptions.find((o) => o.batchSize === recommended)
  const note =
    chosen && window !== undefined && window > 0 && window * 1000 + chosen.warmP99 > options.sloP99Ms
      ? `A full batch waits up to ${window} s for items at ${options.rps} req/s: end to end that exceeds the ${options.sloP99Ms} ms SLO, so use this for asynchronous (queued) work only.`
      : undefined
  return {
    sloP99Ms: options.sloP99Ms,
    memoryMb,
    options: batchOptions,
    recommended,
    rejected,
    sqs: recommended === undefined ? undefined : {BatchSize: recommended, MaximumBatchingWindowInSeconds: window!},
    note,
  }
}

export function recommendProvisioned(result: BenchResult, options: {rps: number; maxColdRatePct: number; memoryMb?: number} & PricingOptions): ProvisionedRecommendation {
  checkPositive('rps', options.rps)
  if (!(options.maxColdRatePct > 0 && options.maxColdRatePct <= 100))
    throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', `--max-cold-rate must be in (0, 100] percent, got ${options.maxColdRatePct}`, {hint: '0 would need infinitely many environments: use e.g. --max-cold-rate 0.1'})
  const usable = result.runs.filter((r) => r.batchSize === 1 && !rejectionReason(r))
  const run =
    usable.find((r) => r.memoryMb === options.memoryMb) ??
    usable.find((r) => r.memoryMb === result.spec.memory) ??
    result.runs.find((r) => r.batchSize === 1 && r.warm && r.warm.count > 0 && r.memoryMb === (options.memoryMb ?? result.spec.memory))
  if (!run?.warm) throw missing(`warm measurements at ${options.memoryMb ?? result.spec.memory} MB`, BENCH_SWEEP_HINT.warm)
  const meanDurationMs = run.warm.mean
  const load = offeredLoad(options.rps, meanDurationMs / 1000)
  const target = options.maxColdRatePct / 100
  const c = serversForBlocking(load, target)
  const spill = erlangB(c, load)
  const billed = meanBilled(run)
  const requests = options.rps * SECONDS_PER_MONTH
  const perInvokeGbs = billedGbSeconds(billed, run.memoryMb)
  const allocated = provisionedGbSeconds(c, run.memoryMb, SECONDS_PER_MONTH)
  const used = Math.min(allocated, requests * (1 - spill) * perInvokeGbs)
  const withProvisioned = monthlyCost({
    requests,
    gbSeconds: requests * perInvokeGbs - used,
    architecture: options.architecture,
    freeTier: options.freeTier,
    prices: options.prices,
    provisioned: c > 0 ? {gbSecondsAllocated: allocated, gbSecondsUsed: used} : undefined,
  })
  return {
    rps: options.rps,
    memoryMb: run.memoryMb,
    maxColdRatePct: options.maxColdRatePct,
    meanDurationMs,
    offeredLoad: load,
    provisionedConcurrency: c,
    coldRatePct: {withProvisioned: 100 * spill, withoutProvisioned: 100 * erlangB(0, load)},
    monthly: {onDemand: monthlyOnDemand(options.rps, billed, run.memoryMb, options), withProvisioned},
  }
}
