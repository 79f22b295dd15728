/**
 * `sai recommend` as a use-case: read one or more `sai bench --json` results, merge their runs, and
 * decide memory, batch size and provisioned concurrency for a traffic profile and objectives.
 */
import {readBenchResult} from '../bench/result-file.js'
import type {BenchResult, RunResult} from '../bench/result.js'
import {SaiError, isSaiError} from '../errors/sai-error.js'
import {
  compareAlwaysOn,
  DEFAULT_MAX_ERROR_RATE_PCT,
  recommendBatch,
  recommendMemory,
  recommendProvisioned,
  type DecideContext,
  type MemoryRecommendation,
} from '../recommend/decide.js'
import {loadPriceTable} from '../recommend/price-file.js'
import type {Candidate, MissingMeasurement, RecommendResult} from '../recommend/result.js'
import type {Architecture} from '../recommend/pricing.js'
import {readDailyProfile, trafficFromRates, trafficFromTrace, type TrafficProfile} from '../recommend/traffic.js'
import {writeRecommendReport} from './recommend-report.js'
import {applySpecSettings, APPLIED_COMMENT_MARKER} from '../spec/apply.js'
import {loadSpec} from '../spec/load.js'

export interface RecommendOptions {
  benchPaths: string[]
  /** Traffic: exactly one of rps (with an optional peak), a daily profile file, or a trace file. */
  rps?: number
  peakRps?: number
  profilePath?: string
  tracePath?: string
  sloP99Ms: number
  /** Percent of requests that may meet a cold start. */
  maxColdRatePct: number
  /** Percent of invokes that may time out or run out of memory before a configuration is rejected. */
  maxErrorRatePct?: number
  /** Idle seconds Lambda keeps an environment, as assumed by the simulation. */
  keepAliveSeconds: number
  /** Default: the architecture the bench ran for. */
  architecture?: Architecture
  region?: string
  pricesPath?: string
  freeTier?: boolean
  /** Write the recommended settings into the bench's sai.yaml. */
  apply?: boolean
  /** Write the bench report with a recommendation section here. */
  htmlPath?: string
  seed?: number
}

export type {Candidate, MissingMeasurement, RecommendResult} from '../recommend/result.js'


/** One result holding every run of the files; for a configuration measured twice, the run with more warm samples. */
export function mergeBenchResults(files: {file: string; result: BenchResult}[]): BenchResult {
  const [first, ...rest] = files
  if (!first) throw new SaiError('SAI_BENCH_RESULT_INVALID', 'no --bench file given', {hint: 'pass --bench FILE (from sai bench --json FILE)'})
  for (const {file, result} of rest)
    if (result.spec.name !== first.result.spec.name || result.spec.model !== first.result.spec.model)
      throw new SaiError('SAI_BENCH_RESULT_INVALID', `--bench ${file} measures ${result.spec.name} (${result.spec.model ?? 'no model'}), but ${first.file} measures ${first.result.spec.name} (${first.result.spec.model ?? 'no model'})`, {
        hint: 'pass results of one function and model only',
      })
  const byConfig = new Map<string, RunResult>()
  for (const {result} of files)
    for (const run of result.runs) {
      const key = `${run.memoryMb}/${run.batchSize}`
      const held = byConfig.get(key)
      if (!held || (run.warm?.count ?? 0) > (held.warm?.count ?? 0)) byConfig.set(key, run)
    }
  return {...first.result, runs: [...byConfig.values()]}
}

function tryDecision<T>(decision: MissingMeasurement['decision'], missing: MissingMeasurement[], decide: () => T): T | undefined {
  try {
    return decide()
  } catch (error) {
    if (!isSaiError(error) || error.code !== 'SAI_BENCH_DATA_MISSING') throw error
    missing.push({decision, message: error.message, hint: error.hint})
    return undefined
  }
}

export async function readTraffic(options: Pick<RecommendOptions, 'rps' | 'peakRps' | 'profilePath' | 'tracePath'>): Promise<TrafficProfile> {
  if (options.peakRps !== undefined && options.rps === undefined) throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', '--peak-rps needs --rps (the mean)', {hint: 'a --profile or --trace carries its own peak'})
  const given = [options.rps !== undefined && '--rps', options.profilePath !== undefined && '--profile', options.tracePath !== undefined && '--trace'].filter(Boolean)
  if (given.length !== 1)
    throw new SaiError('SAI_RECOMMEND_INPUT_INVALID', given.length === 0 ? 'no traffic given' : `traffic given ${given.length} ways (${given.join(', ')}): expected exactly one`, {
      hint: 'pass --rps MEAN [--peak-rps P], --profile diurnal.json (24 hourly rates) or --trace file.csv (request timestamps)',
    })
  if (options.profilePath !== undefined) return readDailyProfile(options.profilePath)
  if (options.tracePath !== undefined) return trafficFromTrace(options.tracePath)
  return trafficFromRates(options.rps!, options.peakRps)
}

export async function recommend(options: RecommendOptions): Promise<RecommendResult> {
  const files = options.benchPaths.map((file) => ({file, result: readBenchResult(file, '--bench')}))
  const merged = mergeBenchResults(files)
  const traffic = await readTraffic(options)
  const prices = loadPriceTable({region: options.region, file: options.pricesPath})
  const architecture = options.architecture ?? merged.spec.architecture ?? 'x86_64'
  const ctx: DecideContext = {
    traffic,
    sloP99Ms: options.sloP99Ms,
    maxColdRatePct: options.maxColdRatePct,
    maxErrorRatePct: options.maxErrorRatePct ?? DEFAULT_MAX_ERROR_RATE_PCT,
    keepAliveSeconds: options.keepAliveSeconds,
    reservedConcurrency: merged.spec.reservedConcurrency,
    pricing: {architecture, freeTier: options.freeTier, prices},
    seed: options.seed,
  }
  // Memory is the decision the others build on: without a sweep, there is nothing to recommend.
  const memory = recommendMemory(merged, ctx)
  const missing: MissingMeasurement[] = []
  const batch = tryDecision('batch', missing, () => recommendBatch(merged, ctx))
  const memoryMb = memory.recommended ?? memory.closest
  const provisioned = tryDecision('provisioned', missing, () => recommendProvisioned(merged, ctx, memoryMb))
  const alwaysOn = provisioned && compareAlwaysOn(merged, ctx, provisioned)
  const candidate = (o: MemoryRecommendation['options'][number]): Candidate => ({
    memoryMB: o.memoryMb,
    batchSize: 1,
    provisionedConcurrency: o.provisionedConcurrency,
    monthlyCostUSD: o.monthly.total,
    coldStartRate: o.coldStartRate,
    p99Ms: o.p99Ms,
    meetsSlo: o.meetsSlo && o.meetsColdTarget,
    risk: o.risk,
  })
  const chosen = memory.options.find((o) => o.memoryMb === memoryMb)
  const provisionedForChosen = provisioned?.memoryMb === memoryMb ? provisioned : undefined
  const schedule = provisionedForChosen?.schedule
  const recommendation: RecommendResult['recommendation'] = chosen && {
    ...candidate(chosen),
    batchSize: batch?.recommended ?? 1,
    // The flat plan (what sai deploy applies); a schedule's cost is beside it.
    monthlyCostUSD: chosen.monthly.total,
    scheduledMonthlyCostUSD: schedule?.monthly.total,
    sqs: batch?.sqs,
    autoScaling: provisionedForChosen?.autoScaling,
    schedule: schedule?.actions,
  }
  const result: RecommendResult = {
    function: merged.spec.name,
    benchFiles: options.benchPaths,
    traffic: {source: traffic.source, description: traffic.description, meanRps: traffic.meanRps, peakRps: traffic.peakRps, hourlyRps: traffic.hourlyRps, periodic: traffic.periodic},
    objectives: {sloP99Ms: ctx.sloP99Ms, maxColdRatePct: ctx.maxColdRatePct, maxErrorRatePct: ctx.maxErrorRatePct!, keepAliveSeconds: ctx.keepAliveSeconds},
    architecture,
    region: prices.region,
    freeTier: options.freeTier ?? false,
    recommendation,
    alternatives: memory.options.filter((o) => o !== chosen).map(candidate),
    memory,
    batch,
    provisioned,
    alwaysOn,
    missing,
  }
  if (options.apply) result.applied = applyRecommendation(merged.spec.specPath, result)
  if (options.htmlPath) writeRecommendReport(merged, result, options.htmlPath)
  return result
}

/** `--apply`: the recommended settings into the measured function's sai.yaml; refused when nothing meets the objectives. */
function applyRecommendation(specPath: string, result: RecommendResult): NonNullable<RecommendResult['applied']> {
  const r = result.recommendation
  if (!r || !r.meetsSlo)
    throw new SaiError('SAI_SLO_UNMET', `nothing written to ${specPath}: no measured configuration meets the ${result.objectives.sloP99Ms} ms p99 SLO and the ${result.objectives.maxColdRatePct}% cold-start target${r ? ` (closest: ${r.memoryMB} MB at ${r.p99Ms.toFixed(1)} ms, ${(100 * r.coldStartRate).toFixed(2)}% cold)` : ''}`, {
      hint: 'relax --slo-p99 or --max-cold-rate, or bench more memory sizes (sai bench --memory …) and run sai recommend again',
    })
  const date = new Date().toISOString().slice(0, 10)
  // Provisioned concurrency defaults to 0: a spec without it needs no line saying so.
  const current = loadSpec(specPath).provisionedConcurrency
  const settings = {
    memory: r.memoryMB,
    ...(r.provisionedConcurrency !== current ? {provisionedConcurrency: r.provisionedConcurrency} : {}),
    ...(result.batch?.recommended !== undefined ? {batch: result.batch.recommended} : {}),
  }
  const {changes, written} = applySpecSettings(specPath, settings, {
    comment: `${APPLIED_COMMENT_MARKER} ${date}: cheapest within the ${result.objectives.sloP99Ms} ms p99 SLO and ${result.objectives.maxColdRatePct}% cold starts at ${result.traffic.description}`,
  })
  return {specPath, changes, written}
}
