/**
 * `sai recommend` as a use-case: read one or more `sai bench --json` results, merge their runs, and
 * decide memory, batch size and provisioned concurrency for a traffic profile and objectives.
 */
import {readFileSync} from 'node:fs'
import {BENCH_SCHEMA, type BenchResult, type RunResult} from '../bench/result.js'
import {SaiError, isSaiError} from '../errors/sai-error.js'
import {
  recommendBatch,
  recommendMemory,
  recommendProvisioned,
  type BatchRecommendation,
  type MemoryRecommendation,
  type ProvisionedRecommendation,
} from '../recommend/decide.js'
import type {Architecture} from '../recommend/pricing.js'

export interface RecommendOptions {
  benchPaths: string[]
  rps: number
  sloP99Ms: number
  /** Percent of requests that may meet a cold start. */
  maxColdRatePct: number
  /** Default: the architecture the bench ran for. */
  architecture?: Architecture
  freeTier?: boolean
}

/** A decision the results cannot support, and the bench flags that would make it possible. */
export interface MissingMeasurement {
  decision: 'batch' | 'provisioned'
  message: string
  hint?: string
}

export interface RecommendResult {
  function: string
  benchFiles: string[]
  rps: number
  sloP99Ms: number
  architecture: Architecture
  freeTier: boolean
  /** The headline: what to configure. */
  summary: {
    memoryMB?: number
    batchSize?: number
    provisionedConcurrency?: number
    monthlyCostUSD?: number
    coldStartRate?: number
    p99Ms?: number
    meetsSlo: boolean
  }
  memory: MemoryRecommendation
  batch?: BatchRecommendation
  provisioned?: ProvisionedRecommendation
  missing: MissingMeasurement[]
}

export function readBenchResult(file: string): BenchResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `--bench ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'write one with sai bench --json FILE',
      cause: error,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `--bench ${file}: not JSON (${(error as Error).message})`, {hint: 'pass the file sai bench --json FILE wrote', cause: error})
  }
  const schema = (parsed as {schema?: unknown} | null)?.schema
  if (schema !== BENCH_SCHEMA)
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `--bench ${file}: schema is ${schema === undefined ? 'missing' : JSON.stringify(schema)}, expected "${BENCH_SCHEMA}"`, {
      hint: 'pass a result written by this version of sai bench --json FILE (re-run the bench if it is from another version)',
    })
  const result = parsed as BenchResult
  if (!Array.isArray(result.runs) || typeof result.spec?.name !== 'string')
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `--bench ${file}: no runs[] or spec.name: the file is truncated or not a bench result`, {hint: 'write it again with sai bench --json FILE'})
  return result
}

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

export function recommend(options: RecommendOptions): RecommendResult {
  const files = options.benchPaths.map((file) => ({file, result: readBenchResult(file)}))
  const merged = mergeBenchResults(files)
  const architecture = options.architecture ?? merged.spec.architecture ?? 'x86_64'
  const pricing = {architecture, freeTier: options.freeTier}
  // Memory is the decision the others build on: without a sweep, there is nothing to recommend.
  const memory = recommendMemory(merged, {rps: options.rps, sloP99Ms: options.sloP99Ms, ...pricing})
  const missing: MissingMeasurement[] = []
  const batch = tryDecision('batch', missing, () => recommendBatch(merged, {rps: options.rps, sloP99Ms: options.sloP99Ms, ...pricing}))
  const memoryMb = memory.recommended ?? memory.closest
  const provisioned = tryDecision('provisioned', missing, () => recommendProvisioned(merged, {rps: options.rps, maxColdRatePct: options.maxColdRatePct, memoryMb, ...pricing}))
  const chosen = memory.options.find((o) => o.memoryMb === memoryMb)
  const usePc = provisioned && provisioned.memoryMb === memoryMb && provisioned.provisionedConcurrency > 0
  return {
    function: merged.spec.name,
    benchFiles: options.benchPaths,
    rps: options.rps,
    sloP99Ms: options.sloP99Ms,
    architecture,
    freeTier: options.freeTier ?? false,
    summary: {
      memoryMB: memoryMb,
      batchSize: batch?.recommended,
      provisionedConcurrency: provisioned?.provisionedConcurrency,
      monthlyCostUSD: usePc ? provisioned.monthly.withProvisioned.total : chosen?.monthly.total,
      coldStartRate: provisioned ? provisioned.coldRatePct.withProvisioned / 100 : undefined,
      p99Ms: chosen?.warmP99,
      meetsSlo: memory.recommended !== undefined,
    },
    memory,
    batch,
    provisioned,
    missing,
  }
}
