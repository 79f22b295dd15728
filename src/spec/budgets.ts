/**
 * Performance budgets: `cold.p99: 1500ms`, `warm.p95: 50ms`, `errors: 0.1%`, in sai.yaml or as
 * `--budget metric=limit`. A budget names a metric bench measures and the limit it may not cross.
 */
import {closestWord} from './suggest.js'

export type BudgetUnit = 'ms' | '%' | 'MB' | 'req/s'

export interface Budget {
  metric: string
  /** The limit as written, and in the metric's unit. */
  limit: string
  value: number
  unit: BudgetUnit
  bound: 'upper' | 'lower'
  /** What has to be measured for the metric to exist. */
  needs: 'cold' | 'warm' | 'load' | 'any'
}

export const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'] as const

interface MetricFamily {
  describe: string
  unit: BudgetUnit
  bound: 'upper' | 'lower'
  needs: Budget['needs']
}

const latency = (what: string, needs: Budget['needs']): MetricFamily => ({describe: what, unit: 'ms', bound: 'upper', needs})

/** Every metric a budget may name. */
export const BUDGET_METRICS: Record<string, MetricFamily> = {
  ...Object.fromEntries(LATENCY_STATS.map((s) => [`cold.${s}`, latency('client latency of cold starts', 'cold')])),
  ...Object.fromEntries(LATENCY_STATS.map((s) => [`warm.${s}`, latency('client latency of warm invokes', 'warm')])),
  ...Object.fromEntries(LATENCY_STATS.map((s) => [`init.${s}`, latency('Init Duration of REPORT lines', 'cold')])),
  errors: {describe: 'share of invokes that failed', unit: '%', bound: 'upper', needs: 'any'},
  'memory.max': {describe: 'highest Max Memory Used of REPORT lines', unit: 'MB', bound: 'upper', needs: 'any'},
  throughput: {describe: 'warm invokes per second under load (a lower bound)', unit: 'req/s', bound: 'lower', needs: 'load'},
}

/** Units a limit may be written in, and the factor to the metric's unit. */
const UNITS: Record<BudgetUnit, Record<string, number>> = {
  ms: {us: 0.001, µs: 0.001, ms: 1, s: 1000},
  '%': {'%': 1},
  MB: {MB: 1, GB: 1024},
  'req/s': {'req/s': 1, rps: 1},
}

/** Thrown with a message that says what was expected and what was found; callers add where. */
export class BudgetSyntaxError extends Error {}

export function parseBudget(metric: string, limit: unknown): Budget {
  const family = BUDGET_METRICS[metric]
  if (!family) {
    const suggestion = closestWord(metric, Object.keys(BUDGET_METRICS))
    throw new BudgetSyntaxError(
      `unknown budget metric "${metric}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; expected cold.<stat>, warm.<stat> or init.<stat> (stat: ${LATENCY_STATS.join(', ')}), errors, memory.max or throughput`,
    )
  }
  const units = UNITS[family.unit]
  const text = typeof limit === 'number' ? `${limit}${family.unit === '%' ? '%' : family.unit}` : String(limit ?? '').trim()
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Zµ%/]+)?$/.exec(text)
  const unit = match?.[2] ?? family.unit
  if (!match || units[unit] === undefined) {
    throw new BudgetSyntaxError(`expected a number with one of the units ${Object.keys(units).join(', ')} (e.g. ${example(family.unit)}), found "${text}"`)
  }
  const value = Number(match[1]) * units[unit]!
  return {metric, limit: text, value, unit: family.unit, bound: family.bound, needs: family.needs}
}

/** `metric=limit`, as given to --budget. */
export function parseBudgetFlag(flag: string): Budget {
  const at = flag.indexOf('=')
  if (at <= 0) throw new BudgetSyntaxError(`expected metric=limit (e.g. cold.p99=1500ms), found "${flag}"`)
  return parseBudget(flag.slice(0, at).trim(), flag.slice(at + 1))
}

function example(unit: BudgetUnit): string {
  return {ms: '1500ms', '%': '0.1%', MB: '512MB', 'req/s': '50req/s'}[unit]
}
