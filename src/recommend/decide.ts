/**
 * The decisions `sai recommend` makes from a bench result: memory size, batch size and provisioned
 * concurrency. Pure: no I/O, no clock; everything comes from the measured runs and the traffic profile.
 */
import type {BenchResult, Distribution, LoadPhase, RunResult} from '../bench/result.js'
import {compareQuantile} from '../bench/stats/bootstrap.js'
import {LatencyHistogram} from '../bench/stats/histogram.js'
import {SaiError} from '../errors/sai-error.js'
import {LAMBDA_LIMITS} from '../spec/limits.js'
import {erlangB, offeredLoad, serversForBlocking} from './erlang.js'
import {billedGbSeconds, gigabytes, invokeCost, monthlyCost, provisionedGbSeconds, US_EAST_1, type Architecture, type MonthlyCost} from './pricing.js'
import {measuredDurations, project, projectionCost, SECONDS_PER_MONTH, type CostOptions, type MeasuredDurations, type Projection} from './project.js'
import type {TrafficProfile} from './traffic.js'

/** Lambda's longest batching window for SQS event sources. */
export const MAX_BATCHING_WINDOW_SECONDS = 300
/** Errors that disqualify a configuration: it ran out of memory, or ran past its timeout. */
export const DISQUALIFYING_ERRORS = ['Runtime.OutOfMemory', 'Sandbox.Timedout'] as const
/** Above this share of invokes (percent), those errors reject a configuration; below, they are a risk. */
export const DEFAULT_MAX_ERROR_RATE_PCT = 0.1

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
  /** A warm invoke's projected duration, ms: from the low end of p50's 95% interval to the high end of p99's. */
  projectedDurationMs: {lower: number; upper: number}
  /** Provisioned environments this size needs to keep the cold-start share under the target (0: keep-alive suffices). */
  provisionedConcurrency: number
  /** Projected share of requests that meet a cold start, with that provisioned concurrency (0–1). */
  coldStartRate: number
  /** Projected end-to-end p99, cold starts included, ms. */
  p99Ms: number
  throttleRate: number
  monthly: MonthlyCost
  /** USD per 1,000 inferences: the month's bill over its requests. */
  perThousand: number
  meetsSlo: boolean
  meetsColdTarget: boolean
  /** Share of the SLO the projected p99 uses. */
  sloUsed: number
  risk: Risk
  riskReasons: string[]
  /** Memory sizes whose warm p99 is within noise of this one (the bootstrap finds no significant difference). */
  equivalentTo?: number[]
  /** Saving per month against the most expensive option, USD. */
  savingsMonthly: number
  /** Cold starts borrowed from another run (this one measured none): its id, or "none" when no run measured any. */
  coldFrom?: string
}

export interface MemoryRecommendation {
  sloP99Ms: number
  architecture: Architecture
  /** Cheapest per 1,000 inferences first. */
  options: MemoryOption[]
  recommended?: number
  /** No option meets the SLO: the one with the lowest projected p99. */
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

export interface ProvisionedPoint {
  provisionedConcurrency: number
  coldStartRate: number
  p99Ms: number
  monthlyCostUSD: number
}

export interface ScheduledAction {
  /** Application Auto Scaling scheduled action: name, cron schedule (UTC), and the capacity it sets. */
  name: string
  schedule: string
  /** The UTC hour of day (0–23) the schedule fires at. */
  hour: number
  minCapacity: number
  maxCapacity: number
}

export interface ProvisionedRecommendation {
  memoryMb: number
  maxColdRatePct: number
  keepAliveSeconds: number
  peakRps: number
  meanDurationMs: number
  /** Erlangs at the peak: mean busy environments. */
  offeredLoad: number
  /** The loss model's answer at the peak (every spilled request counted cold: an upper bound). */
  erlangB: {provisionedConcurrency: number; spillRate: number}
  /** The smallest provisioned concurrency the simulation finds meets the cold-start target (and the SLO when it can). */
  provisionedConcurrency: number
  coldStartRate: number
  p99Ms: number
  monthly: MonthlyCost
  onDemand: {coldStartRate: number; p99Ms: number; monthly: MonthlyCost}
  /** Cold share and cost against provisioned concurrency, simulated. */
  curve: ProvisionedPoint[]
  /** Application Auto Scaling target tracking on LambdaProvisionedConcurrencyUtilization. */
  autoScaling?: {metric: 'LambdaProvisionedConcurrencyUtilization'; targetValue: number; minCapacity: number; maxCapacity: number}
  /** For a periodic profile: capacity by hour of day, as scheduled actions, and what that plan projects. */
  schedule?: {actions: ScheduledAction[]; byHour: number[]; coldStartRate: number; monthly: MonthlyCost}
  /**
   * Provisioned concurrency pays when its environments are busy more than `utilization` of the time
   * (allocated price / (on-demand price − while-provisioned price)); `actualUtilization` is this plan's.
   */
  breakEven: {utilization: number; actualUtilization: number}
}

export interface AlwaysOnComparison {
  /** Environments kept on all month to serve the peak within the cold-start target (Erlang-B at the peak). */
  environments: number
  monthly: MonthlyCost
  /** The recommended serverless plan's monthly cost. */
  serverlessMonthlyUSD: number
  /** Mean traffic at which the always-on fleet and on-demand cost the same, for this peak, req/s. */
  breakEvenRps: number
  cheaper: 'serverless' | 'always-on'
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
export function rejectionReason(run: RunResult, maxErrorRatePct = DEFAULT_MAX_ERROR_RATE_PCT): string | undefined {
  if (run.skipped) return `skipped in bench: ${run.skipped}`
  const reasons = DISQUALIFYING_ERRORS.filter((type) => (run.errors.byType[type] ?? 0) > (maxErrorRatePct / 100) * run.invokes).map((type) => {
    const n = run.errors.byType[type]!
    const share = `${((100 * n) / run.invokes).toPrecision(2)}% > ${maxErrorRatePct}%`
    return type === 'Runtime.OutOfMemory' ? `ran out of memory (${n} × Runtime.OutOfMemory in ${run.invokes} invokes, ${share})` : `timed out (${n} × Sandbox.Timedout in ${run.invokes} invokes, ${share})`
  })
  if (reasons.length > 0) return reasons.join('; ')
  if (!run.warm || run.warm.count === 0) return `no warm invokes measured (${BENCH_SWEEP_HINT.warm})`
  return undefined
}

/** Disqualifying errors below the rejection threshold: not a reason to reject, but a risk. */
function errorRisks(run: RunResult): string[] {
  return DISQUALIFYING_ERRORS.filter((type) => (run.errors.byType[type] ?? 0) > 0).map((type) => `${run.errors.byType[type]} × ${type} in ${run.invokes} invokes`)
}

function decode(d: Distribution): LatencyHistogram | undefined {
  try {
    return LatencyHistogram.decode(d.hdr)
  } catch {
    return undefined
  }
}

export interface DecideContext {
  traffic: TrafficProfile
  sloP99Ms: number
  /** Percent of requests that may meet a cold start. */
  maxColdRatePct: number
  /** Percent of invokes that may time out or run out of memory before a configuration is rejected. */
  maxErrorRatePct?: number
  /** How long Lambda keeps an idle environment: AWS does not publish it. */
  keepAliveSeconds: number
  reservedConcurrency?: number
  pricing: CostOptions
  seed?: number
}

function checkContext(ctx: DecideContext): void {
  checkPositive('SLO p99', ctx.sloP99Ms)
  if (!(ctx.maxColdRatePct > 0 && ctx.maxColdRatePct <= 100))
    throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', `--max-cold-rate must be in (0, 100] percent, got ${ctx.maxColdRatePct}`, {hint: '0 would need infinitely many environments: use e.g. --max-cold-rate 0.1'})
  if (!(ctx.keepAliveSeconds >= 0 && Number.isFinite(ctx.keepAliveSeconds))) throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', `--keep-alive must be ≥ 0 seconds, got ${ctx.keepAliveSeconds}`)
}

/** The run whose cold starts stand in for a run without any: the nearest memory size that measured some. */
function coldFallback(runs: RunResult[], run: RunResult): RunResult | undefined {
  return runs
    .filter((r) => r.cold && r.cold.count > 0 && r.batchSize === run.batchSize)
    .sort((a, b) => Math.abs(a.memoryMb - run.memoryMb) - Math.abs(b.memoryMb - run.memoryMb))[0]
}

interface Sizing {
  provisioned: number
  projection: Projection
  monthly: MonthlyCost
  erlang: {provisionedConcurrency: number; spillRate: number; offeredLoad: number}
  evaluate(provisioned: number | number[]): {projection: Projection; monthly: MonthlyCost}
}

/**
 * The smallest provisioned concurrency whose simulated month keeps the cold-start share under the
 * target and the end-to-end p99 within the SLO (or, when no amount meets the SLO, just the cold-start
 * target). Erlang-B at the peak bounds the search: it counts every spilled request as cold.
 */
function sizeProvisioned(ctx: DecideContext, durations: MeasuredDurations): Sizing {
  const plan = {keepAliveMs: ctx.keepAliveSeconds * 1000, reservedConcurrency: ctx.reservedConcurrency}
  const cache = new Map<string, {projection: Projection; monthly: MonthlyCost}>()
  const evaluate = (provisioned: number | number[]) => {
    const key = String(provisioned)
    let hit = cache.get(key)
    if (!hit) {
      const projection = project(ctx.traffic, durations, {...plan, provisioned}, {seed: ctx.seed})
      hit = {projection, monthly: projectionCost(projection, durations, ctx.pricing)}
      cache.set(key, hit)
    }
    return hit
  }
  const target = ctx.maxColdRatePct / 100
  const load = offeredLoad(ctx.traffic.peakRps, durations.warmMeanMs / 1000)
  // Erlang-B's loss model: the environments that keep the share of requests finding all of them busy under the target.
  const erlangServers = serversForBlocking(load, target)
  const erlang = {provisionedConcurrency: erlangServers, spillRate: erlangB(erlangServers, load), offeredLoad: load}
  const coldOk = (p: Projection) => p.coldRate <= target
  const allOk = (p: Projection) => coldOk(p) && p.p99Ms <= ctx.sloP99Ms
  const done = (provisioned: number) => ({provisioned, ...evaluate(provisioned), erlang, evaluate})
  if (allOk(evaluate(0).projection)) return done(0)
  // Provisioned concurrency cannot exceed reserved concurrency, nor the account's concurrency.
  const {accountConcurrency} = LAMBDA_LIMITS
  const ceiling = Math.min(ctx.reservedConcurrency ?? accountConcurrency, accountConcurrency)
  const high = Math.min(ceiling, Math.max(1, serversForBlocking(load, Math.min(target, 1e-4))))
  const ok = allOk(evaluate(high).projection) ? allOk : coldOk
  if (!ok(evaluate(high).projection)) return done(high)
  let lo = 0
  let hi = high
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (ok(evaluate(mid).projection)) hi = mid
    else lo = mid
  }
  return done(hi)
}

/** Per context, each run's durations and sizing: the memory, provisioned-concurrency and always-on decisions share one simulation. */
const sizings = new WeakMap<DecideContext, Map<RunResult, {durations: MeasuredDurations; sizing: Sizing}>>()

function sized(ctx: DecideContext, runs: RunResult[], run: RunResult): {durations: MeasuredDurations; sizing: Sizing} {
  let byRun = sizings.get(ctx)
  if (!byRun) sizings.set(ctx, (byRun = new Map()))
  let hit = byRun.get(run)
  if (!hit) {
    const durations = measuredDurations(run, coldFallback(runs, run))!
    hit = {durations, sizing: sizeProvisioned(ctx, durations)}
    byRun.set(run, hit)
  }
  return hit
}

function riskOf(option: Pick<MemoryOption, 'sloUsed' | 'meetsSlo' | 'meetsColdTarget' | 'warmP99Ci' | 'coldP99'>, sloP99Ms: number, errors: string[]): {risk: Risk; reasons: string[]} {
  const reasons: string[] = []
  if (!option.meetsSlo) reasons.push('projected p99 misses the SLO')
  if (!option.meetsColdTarget) reasons.push('cold-start share above the target')
  if (option.sloUsed > 0.8) reasons.push(`p99 uses ${Math.round(100 * option.sloUsed)}% of the SLO`)
  if (option.warmP99Ci[1] > sloP99Ms) reasons.push('the warm p99\'s 95% interval reaches past the SLO')
  const high = reasons.length > 0
  if (option.sloUsed > 0.5 && option.sloUsed <= 0.8) reasons.push(`p99 uses ${Math.round(100 * option.sloUsed)}% of the SLO`)
  if (option.coldP99 !== undefined && option.coldP99 > sloP99Ms) reasons.push('a cold start alone exceeds the SLO')
  reasons.push(...errors)
  return {risk: high ? 'high' : reasons.length > 0 ? 'medium' : 'low', reasons}
}

export function recommendMemory(result: BenchResult, ctx: DecideContext): MemoryRecommendation {
  checkContext(ctx)
  const candidates = result.runs.filter((r) => r.batchSize === 1)
  if (new Set(candidates.map((r) => r.memoryMb)).size < 2) throw missing('memory sweep (runs at two or more memory sizes, batch 1)', BENCH_SWEEP_HINT.memory)
  const rejected: Rejected[] = []
  const measured: RunResult[] = []
  for (const run of candidates) {
    const reason = rejectionReason(run, ctx.maxErrorRatePct)
    if (reason) rejected.push({memoryMb: run.memoryMb, batchSize: 1, runId: run.id, reason})
    else measured.push(run)
  }
  const options: MemoryOption[] = measured.map((run) => {
    const warm = run.warm!
    const {durations, sizing} = sized(ctx, candidates, run)
    const p = sizing.projection
    const served = p.requests - p.throttled
    const meetsSlo = p.p99Ms <= ctx.sloP99Ms
    const meetsColdTarget = p.coldRate <= ctx.maxColdRatePct / 100
    const option = {
      memoryMb: run.memoryMb,
      runId: run.id,
      warmP99: warm.p99,
      warmP99Ci: warm.ci.p99,
      coldP99: run.cold?.p99,
      meanBilledDurationMs: durations.warmBilledMs,
      projectedDurationMs: {lower: warm.ci.p50[0], upper: warm.ci.p99[1]},
      provisionedConcurrency: sizing.provisioned,
      coldStartRate: p.coldRate,
      p99Ms: p.p99Ms,
      throttleRate: p.throttleRate,
      monthly: sizing.monthly,
      perThousand: served > 0 ? (1000 * sizing.monthly.total) / served : 0,
      meetsSlo,
      meetsColdTarget,
      sloUsed: p.p99Ms / ctx.sloP99Ms,
      savingsMonthly: 0,
      coldFrom: durations.coldFrom,
    }
    const {risk, reasons} = riskOf(option, ctx.sloP99Ms, errorRisks(run))
    return {...option, risk, riskReasons: reasons}
  })
  // Within noise: the bootstrap of the p99 ratio finds no significant difference.
  const histograms = new Map(measured.map((run) => [run.id, decode(run.warm!)]))
  for (const a of options)
    for (const b of options) {
      if (a === b || a.memoryMb === b.memoryMb) continue
      const ha = histograms.get(a.runId)
      const hb = histograms.get(b.runId)
      if (!ha || !hb || ha.count === 0 || hb.count === 0) continue
      if (!compareQuantile(ha, hb, 0.99).significant) (a.equivalentTo ??= []).push(b.memoryMb)
    }
  options.sort((a, b) => a.perThousand - b.perThousand || a.memoryMb - b.memoryMb)
  const mostExpensive = Math.max(0, ...options.map((o) => o.monthly.total))
  for (const o of options) o.savingsMonthly = mostExpensive - o.monthly.total
  const recommended = options.find((o) => o.meetsSlo && o.meetsColdTarget)?.memoryMb
  const closest = recommended === undefined && options.length > 0 ? [...options].sort((a, b) => a.p99Ms - b.p99Ms)[0]!.memoryMb : undefined
  return {sloP99Ms: ctx.sloP99Ms, architecture: ctx.pricing.architecture, options, recommended, closest, rejected}
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

const meanBilled = (run: RunResult): number => run.report?.billedDurationMs.mean ?? run.warm!.mean

export function recommendBatch(result: BenchResult, ctx: DecideContext): BatchRecommendation {
  checkContext(ctx)
  const rps = ctx.traffic.meanRps
  const prices = ctx.pricing.prices ?? US_EAST_1
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
    const reason = rejectionReason(run, ctx.maxErrorRatePct)
    if (reason) {
      rejected.push({memoryMb, batchSize: run.batchSize, runId: run.id, reason})
      continue
    }
    const perThousandItems = (1000 * invokeCost(Math.ceil(meanBilled(run)), memoryMb, ctx.pricing.architecture, prices)) / run.batchSize
    batchOptions.push({
      batchSize: run.batchSize,
      memoryMb,
      runId: run.id,
      warmP99: run.warm!.p99,
      meetsSlo: run.warm!.p99 <= ctx.sloP99Ms,
      itemsPerSecond: itemsPerSecond(run),
      perThousandItems,
      itemsPerDollar: 1000 / perThousandItems,
    })
  }
  const meeting = batchOptions.filter((o) => o.meetsSlo)
  const recommended = meeting.length > 0 ? Math.max(...meeting.map((o) => o.batchSize)) : undefined
  const window = recommended === undefined ? undefined : batchingWindowSeconds(recommended, rps)
  const chosen = batchOptions.find((o) => o.batchSize === recommended)
  const note =
    chosen && window !== undefined && window > 0 && window * 1000 + chosen.warmP99 > ctx.sloP99Ms
      ? `A full batch waits up to ${window} s for items at ${rps} req/s: end to end that exceeds the ${ctx.sloP99Ms} ms SLO, so use this for asynchronous (queued) work only.`
      : undefined
  return {
    sloP99Ms: ctx.sloP99Ms,
    memoryMb,
    options: batchOptions,
    recommended,
    rejected,
    sqs: recommended === undefined ? undefined : {BatchSize: recommended, MaximumBatchingWindowInSeconds: window!},
    note,
  }
}

/** The run to size provisioned concurrency on: the chosen memory size's, else the spec's. */
function provisionedRun(result: BenchResult, ctx: DecideContext, memoryMb: number | undefined): RunResult {
  const usable = result.runs.filter((r) => r.batchSize === 1 && !rejectionReason(r, ctx.maxErrorRatePct))
  const run = usable.find((r) => r.memoryMb === memoryMb) ?? usable.find((r) => r.memoryMb === result.spec.memory)
  if (!run) throw missing(`usable warm measurements at ${memoryMb ?? result.spec.memory} MB`, BENCH_SWEEP_HINT.warm)
  return run
}

const cron = (hour: number): string => `cron(0 ${hour} * * ? *)`

/**
 * Capacity by hour for a periodic profile: the flat answer scaled by each hour's Erlang-B need, then
 * raised one environment at a time (at most 5) until the simulated month meets the cold-start target.
 */
function schedule(ctx: DecideContext, durations: MeasuredDurations, sizing: Sizing, minCapacity: number): ProvisionedRecommendation['schedule'] {
  const target = ctx.maxColdRatePct / 100
  const need = ctx.traffic.hourlyRps.map((rps) => serversForBlocking(offeredLoad(rps, durations.warmMeanMs / 1000), target))
  const peakNeed = Math.max(1, ...need)
  let byHour = need.map((n) => Math.min(sizing.provisioned, Math.max(minCapacity, Math.ceil((sizing.provisioned * n) / peakNeed))))
  let evaluated = sizing.evaluate(byHour)
  for (let step = 0; step < 5 && evaluated.projection.coldRate > target; step++) {
    byHour = byHour.map((c) => Math.min(sizing.provisioned, c + 1))
    evaluated = sizing.evaluate(byHour)
  }
  const actions: ScheduledAction[] = []
  byHour.forEach((c, hour) => {
    if (hour === 0 || c !== byHour[hour - 1])
      actions.push({name: `sai-${String(hour).padStart(2, '0')}00-utc`, schedule: cron(hour), hour, minCapacity: c, maxCapacity: sizing.provisioned})
  })
  return {actions, byHour, coldStartRate: evaluated.projection.coldRate, monthly: evaluated.monthly}
}

export function recommendProvisioned(result: BenchResult, ctx: DecideContext, memoryMb?: number): ProvisionedRecommendation {
  checkContext(ctx)
  const run = provisionedRun(result, ctx, memoryMb)
  const {durations, sizing} = sized(ctx, result.runs, run)
  const prices = ctx.pricing.prices ?? US_EAST_1
  const arch = ctx.pricing.architecture
  const onDemand = sizing.evaluate(0)
  const top = Math.max(sizing.provisioned + 2, sizing.erlang.provisionedConcurrency)
  const stride = Math.max(1, Math.ceil(top / 10))
  const points = new Set<number>([0, sizing.provisioned, sizing.erlang.provisionedConcurrency])
  for (let c = 0; c <= top; c += stride) points.add(c)
  const curve = [...points]
    .sort((a, b) => a - b)
    .map((c) => {
      const {projection, monthly} = sizing.evaluate(c)
      return {provisionedConcurrency: c, coldStartRate: projection.coldRate, p99Ms: projection.p99Ms, monthlyCostUSD: monthly.total}
    })
  const c = sizing.provisioned
  const p = sizing.projection
  const utilizationAtPeak = c > 0 ? Math.min(1, sizing.erlang.offeredLoad / c) : 0
  const target = ctx.maxColdRatePct / 100
  const quietest = Math.min(...ctx.traffic.hourlyRps)
  const minCapacity = Math.max(1, Math.min(c, serversForBlocking(offeredLoad(quietest, durations.warmMeanMs / 1000), target)))
  const busySeconds = p.servedByProvisioned * (durations.warmBilledMs / 1000)
  return {
    memoryMb: run.memoryMb,
    maxColdRatePct: ctx.maxColdRatePct,
    keepAliveSeconds: ctx.keepAliveSeconds,
    peakRps: ctx.traffic.peakRps,
    meanDurationMs: durations.warmMeanMs,
    offeredLoad: sizing.erlang.offeredLoad,
    erlangB: {provisionedConcurrency: sizing.erlang.provisionedConcurrency, spillRate: sizing.erlang.spillRate},
    provisionedConcurrency: c,
    coldStartRate: p.coldRate,
    p99Ms: p.p99Ms,
    monthly: sizing.monthly,
    onDemand: {coldStartRate: onDemand.projection.coldRate, p99Ms: onDemand.projection.p99Ms, monthly: onDemand.monthly},
    curve,
    autoScaling:
      c > 0
        ? {
            metric: 'LambdaProvisionedConcurrencyUtilization',
            // The utilization the peak runs at with this many environments: tracking it keeps the same headroom as load moves.
            targetValue: Math.round(100 * Math.min(0.9, Math.max(0.1, utilizationAtPeak))) / 100,
            minCapacity,
            maxCapacity: c,
          }
        : undefined,
    schedule: c > 0 && ctx.traffic.periodic && !ctx.traffic.trace ? schedule(ctx, durations, sizing, minCapacity) : undefined,
    breakEven: {
      utilization: prices.provisionedPerGbSecond[arch] / (prices.durationTiers[arch][0]!.perGbSecond - prices.durationWhileProvisionedPerGbSecond[arch]),
      actualUtilization: c > 0 ? busySeconds / (p.meanProvisioned * SECONDS_PER_MONTH) : 0,
    },
  }
}

/**
 * The same peak served by environments kept on all month (what a fleet of always-on instances does):
 * as many as Erlang-B says keep the cold-start target at the peak, priced as provisioned concurrency.
 */
export function compareAlwaysOn(result: BenchResult, ctx: DecideContext, provisioned: ProvisionedRecommendation): AlwaysOnComparison {
  const run = provisionedRun(result, ctx, provisioned.memoryMb)
  const {durations} = sized(ctx, result.runs, run)
  const prices = ctx.pricing.prices ?? US_EAST_1
  const arch = ctx.pricing.architecture
  const environments = Math.max(1, provisioned.erlangB.provisionedConcurrency)
  const requests = ctx.traffic.meanRps * SECONDS_PER_MONTH
  const perInvokeGbs = billedGbSeconds(durations.warmBilledMs, run.memoryMb)
  const allocated = provisionedGbSeconds(environments, run.memoryMb, SECONDS_PER_MONTH)
  const monthly = monthlyCost({
    requests,
    gbSeconds: 0,
    architecture: arch,
    freeTier: ctx.pricing.freeTier,
    prices,
    provisioned: {gbSecondsAllocated: allocated, gbSecondsUsed: Math.min(allocated, requests * perInvokeGbs)},
  })
  const saving = perInvokeGbs * (prices.durationTiers[arch][0]!.perGbSecond - prices.durationWhileProvisionedPerGbSecond[arch])
  const breakEvenRps = (environments * gigabytes(run.memoryMb) * prices.provisionedPerGbSecond[arch]) / saving
  const serverless = provisioned.schedule?.monthly.total ?? provisioned.monthly.total
  return {environments, monthly, serverlessMonthlyUSD: serverless, breakEvenRps, cheaper: serverless <= monthly.total ? 'serverless' : 'always-on'}
}
