/**
 * Bootstrap confidence intervals for latency percentiles, and the regression test built on them.
 *
 * Latency is skewed and multi-modal (cold starts, GC, queueing), so a t-test on means says little about a p99.
 * The percentile bootstrap assumes no shape: resample the recorded latencies with replacement, take the
 * percentile of each resample, and read the interval off the spread of those percentiles.
 */
import {mulberry32} from '../random.js'
import type {RegressionCheck} from '../result.js'

/** One histogram bucket: its count and the value HdrHistogram reports for it (the bucket's highest equivalent value). */
export interface HistogramBucket {
  valueUs: number
  count: number
}

/** Anything that can list its recorded values as buckets, ascending. LatencyHistogram is one. */
export interface RecordedDistribution {
  readonly count: number
  buckets(): HistogramBucket[]
}

export interface BootstrapOptions {
  iterations?: number
  confidence?: number
  seed?: number
}

export interface ComparisonOptions extends BootstrapOptions {
  /** A significant regression fails the gate only when current/baseline exceeds 1 + threshold. */
  threshold?: number
}

export const DEFAULT_SEED = 0x5a1_b3c4
export const DEFAULT_ITERATIONS = 1000
export const DEFAULT_CONFIDENCE = 0.95
export const DEFAULT_THRESHOLD = 0.1

export function describeComparison(iterations = DEFAULT_ITERATIONS, confidence = DEFAULT_CONFIDENCE): string {
  return `bootstrap ${confidence * 100}% CI of the ratio of percentiles, current / baseline (${iterations.toLocaleString('en-US')} resamples)`
}

/** What a BaselineComparison's `method` says when the defaults were used. */
export const COMPARISON_METHOD = describeComparison()

/** Seeded, so a benchmark's intervals are reproducible. */
export const createRandom = (seed = DEFAULT_SEED): (() => number) => mulberry32(seed)

/**
 * The 1-based rank of the q-quantile among n values, as HdrHistogram's getValueAtPercentile computes it: round up,
 * but forgive the last-ulp error of q * n so that 0.99 × 1000 is rank 990, not 991.
 */
export function quantileRank(q: number, n: number): number {
  const exact = q * n
  const ulp = exact > 0 ? 2 ** (Math.floor(Math.log2(exact)) - 52) : 0
  return Math.min(n, Math.max(1, Math.ceil(exact - ulp)))
}

/**
 * The recorded distribution as cumulative counts, to find the value at a rank and to resample quantiles.
 *
 * Resampling N values with replacement and taking the r-th smallest is the same, in distribution, as drawing the
 * r-th smallest of N uniforms — a Beta(r, N − r + 1) variate — and reading the histogram's inverse CDF there
 * (the inverse CDF is monotone, so it maps order statistics to order statistics). That is exact for a histogram
 * and costs O(log buckets) per resample instead of O(N), so even millions of invokes bootstrap at full size:
 * no cap on the resample size, which would have widened the intervals of large runs.
 */
class QuantileResampler {
  readonly total: number
  private readonly cumulative: Float64Array
  private readonly valuesUs: Float64Array

  constructor(distribution: RecordedDistribution) {
    const buckets = distribution.buckets()
    this.cumulative = new Float64Array(buckets.length)
    this.valuesUs = new Float64Array(buckets.length)
    let total = 0
    buckets.forEach((bucket, index) => {
      total += bucket.count
      this.cumulative[index] = total
      this.valuesUs[index] = bucket.valueUs
    })
    this.total = total
    if (total === 0) throw new RangeError('Cannot bootstrap an empty histogram')
  }

  valueAtRank(rank: number): number {
    let low = 0
    let high = this.cumulative.length - 1
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.cumulative[middle]! >= rank) high = middle
      else low = middle + 1
    }
    return this.valuesUs[low]!
  }

  quantileUs(q: number): number {
    return this.valueAtRank(quantileRank(q, this.total))
  }

  /** The q-quantile of one resample of `total` values drawn with replacement. */
  resampledQuantileUs(q: number, random: () => number): number {
    const rank = quantileRank(q, this.total)
    const uniform = sampleBeta(rank, this.total - rank + 1, random)
    const drawnIndex = Math.min(this.total - 1, Math.floor(uniform * this.total))
    return this.valueAtRank(drawnIndex + 1)
  }
}

/** Box–Muller; 1 − u keeps the logarithm finite. */
function sampleNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

/** Marsaglia & Tsang (2000), valid for shape ≥ 1, which is all a rank ever needs. */
function sampleGamma(shape: number, random: () => number): number {
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = sampleNormal(random)
    const v = (1 + c * x) ** 3
    if (v <= 0) continue
    const u = 1 - random()
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

function sampleBeta(a: number, b: number, random: () => number): number {
  const x = sampleGamma(a, random)
  return x / (x + sampleGamma(b, random))
}

/** The percentile interval: drop (1 − confidence)/2 of the resampled statistics at each end. */
function percentileInterval(statistics: Float64Array, confidence: number): [number, number] {
  statistics.sort()
  const dropped = Math.floor(((1 - confidence) / 2) * statistics.length + 1e-9)
  return [statistics[dropped]!, statistics[statistics.length - 1 - dropped]!]
}

function validate(q: number, iterations: number, confidence: number): void {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`)
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`)
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be within (0, 1), got ${confidence}`)
}

const usToMs = (us: number): number => Math.round(us) / 1000

/** Percentile bootstrap interval of the q-quantile (0.99 for p99), in ms. */
export function quantileCi(distribution: RecordedDistribution, q: number, options: BootstrapOptions = {}): [number, number] {
  const {iterations = DEFAULT_ITERATIONS, confidence = DEFAULT_CONFIDENCE, seed = DEFAULT_SEED} = options
  validate(q, iterations, confidence)
  const resampler = new QuantileResampler(distribution)
  const random = createRandom(seed)
  const statistics = new Float64Array(iterations)
  for (let i = 0; i < iterations; i++) statistics[i] = resampler.resampledQuantileUs(q, random)
  const [low, high] = percentileInterval(statistics, confidence)
  return [usToMs(low), usToMs(high)]
}

/**
 * Has the q-quantile moved from baseline to current? Both are resampled independently and the ratio of their
 * quantiles bootstrapped; the change is significant when the ratio's interval excludes 1.
 */
export function compareQuantile(
  baseline: RecordedDistribution,
  current: RecordedDistribution,
  q: number,
  options: ComparisonOptions = {},
): Omit<RegressionCheck, 'metric'> {
  const {iterations = DEFAULT_ITERATIONS, confidence = DEFAULT_CONFIDENCE, seed = DEFAULT_SEED, threshold = DEFAULT_THRESHOLD} = options
  validate(q, iterations, confidence)
  const baselineResampler = new QuantileResampler(baseline)
  const currentResampler = new QuantileResampler(current)
  const random = createRandom(seed)
  const ratios = new Float64Array(iterations)
  for (let i = 0; i < iterations; i++) {
    const resampledBaselineUs = baselineResampler.resampledQuantileUs(q, random)
    ratios[i] = currentResampler.resampledQuantileUs(q, random) / resampledBaselineUs
  }
  const ci = percentileInterval(ratios, confidence)
  const baselineUs = baselineResampler.quantileUs(q)
  const currentUs = currentResampler.quantileUs(q)
  const ratio = currentUs / baselineUs
  // The interval, not the point ratio, says which way: the two agree except on ties the histogram's resolution makes.
  const verdict = ci[0] > 1 ? 'regression' : ci[1] < 1 ? 'improvement' : 'no significant difference'
  return {
    baseline: usToMs(baselineUs),
    current: usToMs(currentUs),
    ratio,
    ci,
    significant: verdict !== 'no significant difference',
    verdict,
    failed: verdict === 'regression' && ratio > 1 + threshold,
  }
}

/** For comparing two configurations (two memory sizes, two batch sizes): does their q-quantile differ? */
export function differsSignificantly(a: RecordedDistribution, b: RecordedDistribution, q: number, options: BootstrapOptions = {}): boolean {
  return compareQuantile(a, b, q, options).significant
}
