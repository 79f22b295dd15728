/**
 * Latency histograms: HdrHistogram at microsecond resolution, so that a `sai bench` result can carry every
 * distribution compactly and a later run can compare against it exactly (the `hdr` field of a Distribution).
 */
// hdr-histogram-js is CommonJS; Node's ESM loader detects these named exports statically, so they work compiled and
// under vitest alike. Import from the package root: it is what attaches JsHistogram.decode.
import {Int32Histogram, JsHistogram, decodeFromCompressedBase64, encodeIntoCompressedBase64} from 'hdr-histogram-js'
import type {Distribution} from '../result.js'
import {type HistogramBucket, type RecordedDistribution, DEFAULT_ITERATIONS, DEFAULT_SEED, quantileCi, quantileRank} from './bootstrap.js'

export type {HistogramBucket} from './bootstrap.js'

const LOWEST_US = 1
/** The starting range; a longer latency grows the histogram rather than failing. */
const HIGHEST_US = 3_600_000_000
const SIGNIFICANT_DIGITS = 3

const usToMs = (us: number): number => Math.round(us) / 1000

export class LatencyHistogram implements RecordedDistribution {
  private histogram: JsHistogram = LatencyHistogram.empty()

  private static empty(): JsHistogram {
    const histogram = new Int32Histogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
    histogram.autoResize = true
    return histogram
  }

  static from(latenciesMs: Iterable<number>): LatencyHistogram {
    const histogram = new LatencyHistogram()
    for (const ms of latenciesMs) histogram.record(ms)
    return histogram
  }

  /** Reads a Distribution's `hdr` back, e.g. from a baseline result. */
  static decode(hdr: string): LatencyHistogram {
    let decoded: unknown
    try {
      decoded = decodeFromCompressedBase64(hdr, 32, false)
    } catch (error) {
      throw new Error('Not an HdrHistogram compressed base64 (V2) encoding', {cause: error})
    }
    if (!(decoded instanceof JsHistogram)) throw new Error('hdr-histogram-js decoded into an unexpected histogram type')
    // The encoding carries the range it was recorded with, not autoResize; merging into it must still grow.
    decoded.autoResize = true
    const histogram = new LatencyHistogram()
    histogram.histogram = decoded
    return histogram
  }

  /** A latency in ms (`count` times); anything under 1 µs (a clock's granularity) counts as 1 µs. */
  record(ms: number, count = 1): void {
    if (!Number.isFinite(ms)) throw new RangeError(`A latency must be a finite number of ms, got ${ms}`)
    this.histogram.recordValueWithCount(Math.max(LOWEST_US, Math.round(ms * 1000)), count)
  }

  /** Merges another histogram's values into this one. */
  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram)
  }

  get count(): number {
    return this.histogram.totalCount
  }

  /** The value (µs) at a percentile (99.9 for p99.9), as HdrHistogram reports it: the highest value equivalent to the recorded one. */
  percentileUs(percentile: number): number {
    return this.histogram.getValueAtPercentile(percentile)
  }

  /** Recorded values, ascending, each with the value percentiles report for it. For resampling and charts. */
  buckets(): HistogramBucket[] {
    const buckets: HistogramBucket[] = []
    for (let index = 0; index < this.histogram.countsArrayLength; index++) {
      const count = this.histogram.getCountAtIndex(index)
      if (count > 0) buckets.push({valueUs: this.histogram.highestEquivalentValue(this.histogram.valueFromIndex(index)), count})
    }
    return buckets
  }

  encode(): string {
    return encodeIntoCompressedBase64(this.histogram)
  }

  /**
   * Min and max follow HdrHistogram's own (Java, Rust) reading, the bucket's lowest and highest equivalent value,
   * rather than the raw extremes: a percentile then never exceeds the max, and a decoded `hdr` yields the same
   * Distribution as the live histogram did.
   */
  toDistribution(options: {iterations?: number; seed?: number} = {}): Distribution {
    const hdr = this.encode()
    if (this.count === 0) {
      return {count: 0, min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, ci: {p50: [0, 0], p99: [0, 0]}, hdr}
    }
    const {iterations = DEFAULT_ITERATIONS, seed = DEFAULT_SEED} = options
    const histogram = this.histogram
    return {
      count: this.count,
      min: usToMs(histogram.lowestEquivalentValue(histogram.minNonZeroValue)),
      mean: usToMs(histogram.mean),
      stddev: usToMs(histogram.stdDeviation),
      p50: usToMs(this.percentileUs(50)),
      p90: usToMs(this.percentileUs(90)),
      p95: usToMs(this.percentileUs(95)),
      p99: usToMs(this.percentileUs(99)),
      p999: usToMs(this.percentileUs(99.9)),
      max: usToMs(histogram.highestEquivalentValue(histogram.maxValue)),
      ci: {p50: quantileCi(this, 0.5, {iterations, seed}), p99: quantileCi(this, 0.99, {iterations, seed})},
      hdr,
    }
  }
}

/**
 * Mean, nearest-rank p50 and p99, and max of plain figures (REPORT lines' Duration, Billed Duration), in their
 * own unit; all zero when there are none.
 */
export function summarizeNumbers(values: readonly number[]): {mean: number; p50: number; p99: number; max: number} {
  if (values.length === 0) return {mean: 0, p50: 0, p99: 0, max: 0}
  const sorted = [...values].sort((a, b) => a - b)
  const nearestRank = (q: number): number => sorted[quantileRank(q, sorted.length) - 1]!
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length
  return {mean: Math.round(mean * 1000) / 1000, p50: nearestRank(0.5), p99: nearestRank(0.99), max: sorted[sorted.length - 1]!}
}
