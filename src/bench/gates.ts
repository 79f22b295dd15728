/** CI gates: budgets checked against the spec's own configuration, and regressions against a baseline. */
import type {Budget} from '../spec/budgets.js'
import type {BaselineComparison, BenchResult, BudgetOutcome, Distribution, RunResult} from './result.js'
import {COMPARISON_METHOD, compareQuantile} from './stats/bootstrap.js'
import {LatencyHistogram} from './stats/histogram.js'

export type SourcedBudget = Budget & {source: 'spec' | 'flag'}

const STAT_FIELD: Record<string, keyof Distribution> = {p50: 'p50', p90: 'p90', p95: 'p95', p99: 'p99', 'p99.9': 'p999', max: 'max', mean: 'mean'}

/** The measured value of a budget's metric in a run, or undefined when the run did not measure it. */
export function metricValue(metric: string, run: RunResult): number | undefined {
  const [family, stat] = [metric.slice(0, metric.indexOf('.')), metric.slice(metric.indexOf('.') + 1)]
  if (metric === 'errors') return run.invokes === 0 ? undefined : (100 * run.errors.total) / run.invokes
  if (metric === 'memory.max') return run.report?.maxMemoryUsedMb
  if (metric === 'throughput') {
    const rates = run.phases.flatMap((p) => (p.kind === 'closed' || p.kind === 'open' ? [p.throughput.invokesPerSecond] : []))
    return rates.length === 0 ? undefined : Math.max(...rates)
  }
  const distribution = family === 'cold' ? run.cold : family === 'warm' ? run.warm : run.report?.initDurationMs
  return distribution?.[STAT_FIELD[stat]!] as number | undefined
}

export function checkBudgets(budgets: SourcedBudget[], run: RunResult): BudgetOutcome[] {
  return budgets.map((budget) => {
    const actual = metricValue(budget.metric, run)
    const passed = actual !== undefined && (budget.bound === 'upper' ? actual <= budget.value : actual >= budget.value)
    return {
      metric: budget.metric,
      limit: budget.limit,
      limitValue: budget.value,
      bound: budget.bound,
      unit: budget.unit,
      actual: actual === undefined ? undefined : Math.round(actual * 1000) / 1000,
      passed,
      source: budget.source,
    }
  })
}

const COMPARED = [
  {family: 'cold', q: 0.5},
  {family: 'cold', q: 0.99},
  {family: 'warm', q: 0.5},
  {family: 'warm', q: 0.99},
] as const

/**
 * The base runs of two results compared percentile by percentile. A check fails only when the
 * regression is both significant (its bootstrap interval excludes 1) and above the threshold.
 */
export function compareWithBaseline(baseline: BenchResult, current: RunResult, file: string, threshold: number): BaselineComparison {
  const before = baseline.runs.find((r) => r.id === 'base')
  const checks: BaselineComparison['checks'] = []
  for (const {family, q} of COMPARED) {
    const a = before?.[family]
    const b = current[family]
    if (!a || !b) continue
    const check = compareQuantile(LatencyHistogram.decode(a.hdr), LatencyHistogram.decode(b.hdr), q, {threshold})
    checks.push({metric: `${family}.p${q * 100}`, ...check})
  }
  return {file, threshold, method: COMPARISON_METHOD, checks}
}
