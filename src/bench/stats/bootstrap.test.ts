import {describe, expect, it} from 'vitest'
import {COMPARISON_METHOD, compareQuantile, createRandom, differsSignificantly, quantileCi, quantileRank, type RecordedDistribution} from './bootstrap.js'
import {LatencyHistogram} from './histogram.js'

/** Log-normal latencies around `medianMs`, the usual shape of a service's latency. */
function logNormalSample(count: number, seed: number, medianMs = 20, sigma = 0.5): number[] {
  const random = createRandom(seed)
  return Array.from({length: count}, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    return medianMs * Math.exp(sigma * normal)
  })
}

const Z_99 = 2.326_347_874
const width = ([low, high]: [number, number]): number => high - low

function binomialTail(n: number, p: number, atLeast: number): number {
  let total = 0
  let coefficient = 1
  for (let k = 0; k <= n; k++) {
    if (k >= atLeast) total += coefficient * p ** k * (1 - p) ** (n - k)
    coefficient = (coefficient * (n - k)) / (k + 1)
  }
  return total
}

describe('createRandom', () => {
  it('repeats its sequence for a seed and stays within [0, 1)', () => {
    const first = createRandom(42)
    const second = createRandom(42)
    const values = Array.from({length: 10_000}, () => first())
    expect(values.slice(0, 5)).toEqual(Array.from({length: 5}, () => second()))
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
    expect(values.reduce((a, b) => a + b) / values.length).toBeCloseTo(0.5, 1)
    expect(createRandom(43)()).not.toBe(values[0])
  })
})

describe('quantileRank', () => {
  it('rounds q × n up like HdrHistogram, without counting the last ulp', () => {
    expect(quantileRank(0.99, 1000)).toBe(990)
    expect(quantileRank(0.999, 1000)).toBe(999)
    expect(quantileRank(0.5, 3)).toBe(2)
    expect(quantileRank(0, 10)).toBe(1)
    expect(quantileRank(1, 10)).toBe(10)
  })
})

describe('quantileCi', () => {
  it('resamples exactly: its bounds are the quantiles of the exact bootstrap distribution of a histogram', () => {
    // The r-th smallest of N values drawn with replacement is ≤ bucket b with probability P(Binomial(N, cum_b / N) ≥ r).
    const counts = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    const total = counts.reduce((a, b) => a + b)
    const histogram: RecordedDistribution = {count: total, buckets: () => counts.map((count, i) => ({valueUs: (i + 1) * 1000, count}))}
    const exactCdf = (ms: number, q: number): number => {
      const cumulative = counts.slice(0, ms).reduce((a, b) => a + b, 0)
      return binomialTail(total, cumulative / total, quantileRank(q, total))
    }
    for (const q of [0.5, 0.9]) {
      for (const confidence of [0.5, 0.8, 0.95]) {
        const [low, high] = quantileCi(histogram, q, {iterations: 20_000, confidence})
        const tail = (1 - confidence) / 2
        // Each bound is the first value whose exact CDF reaches its level, give or take the Monte Carlo error.
        expect(exactCdf(low, q)).toBeGreaterThanOrEqual(tail - 0.006)
        expect(exactCdf(low - 1, q)).toBeLessThanOrEqual(tail + 0.006)
        expect(exactCdf(high, q)).toBeGreaterThanOrEqual(1 - tail - 0.006)
        expect(exactCdf(high - 1, q)).toBeLessThanOrEqual(1 - tail + 0.006)
      }
    }
  })

  it('contains the true p50 and p99 of a large log-normal sample', () => {
    const histogram = LatencyHistogram.from(logNormalSample(100_000, 1))
    const [p50Low, p50High] = quantileCi(histogram, 0.5)
    const [p99Low, p99High] = quantileCi(histogram, 0.99)
    expect(p50Low).toBeLessThanOrEqual(20)
    expect(p50High).toBeGreaterThanOrEqual(20)
    expect(p99Low).toBeLessThanOrEqual(20 * Math.exp(0.5 * Z_99))
    expect(p99High).toBeGreaterThanOrEqual(20 * Math.exp(0.5 * Z_99))
    expect(width([p50Low, p50High]) / 20).toBeLessThan(0.02)
  })

  it('covers the true median in about 95% of repeated experiments', () => {
    let covered = 0
    const experiments = 200
    for (let seed = 1; seed <= experiments; seed++) {
      const [low, high] = quantileCi(LatencyHistogram.from(logNormalSample(1000, seed * 7919)), 0.5, {seed})
      if (low <= 20 && high >= 20) covered++
    }
    expect(covered / experiments).toBeGreaterThan(0.9)
    expect(covered / experiments).toBeLessThan(0.99)
  })

  it('narrows as the sample grows, roughly as 1/√N', () => {
    const small = quantileCi(LatencyHistogram.from(logNormalSample(1000, 5)), 0.99)
    const large = quantileCi(LatencyHistogram.from(logNormalSample(100_000, 5)), 0.99)
    expect(width(large)).toBeLessThan(width(small) / 5)
  })

  it('gives the same interval for the same seed, and another for another seed', () => {
    const histogram = LatencyHistogram.from(logNormalSample(2000, 9))
    expect(quantileCi(histogram, 0.99, {seed: 1})).toEqual(quantileCi(histogram, 0.99, {seed: 1}))
    expect(quantileCi(histogram, 0.99, {seed: 1})).not.toEqual(quantileCi(histogram, 0.99, {seed: 2}))
  })

  it('bootstraps 1,000 resamples of a 50,000-invoke histogram quickly', () => {
    const histogram = LatencyHistogram.from(logNormalSample(50_000, 13))
    const started = performance.now()
    quantileCi(histogram, 0.99)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('rejects an empty histogram and a quantile outside [0, 1]', () => {
    expect(() => quantileCi(new LatencyHistogram(), 0.5)).toThrow(RangeError)
    expect(() => quantileCi(LatencyHistogram.from([1]), 99)).toThrow(RangeError)
  })
})

describe('compareQuantile', () => {
  const baseline = LatencyHistogram.from(logNormalSample(2000, 100))

  it('finds no significant difference between a histogram and itself', () => {
    const check = compareQuantile(baseline, baseline, 0.99)
    expect(check.ratio).toBe(1)
    expect(check.ci[0]).toBeLessThan(1)
    expect(check.ci[1]).toBeGreaterThan(1)
    expect(check).toMatchObject({significant: false, verdict: 'no significant difference', failed: false})
  })

  it('finds no significant difference between two samples of the same distribution', () => {
    const rerun = LatencyHistogram.from(logNormalSample(2000, 200))
    for (const q of [0.5, 0.99]) {
      expect(compareQuantile(baseline, rerun, q)).toMatchObject({significant: false, verdict: 'no significant difference', failed: false})
    }
  })

  it('fails a 30% slowdown of 2,000 invokes at a 10% threshold', () => {
    const slower = LatencyHistogram.from(logNormalSample(2000, 300).map((ms) => ms * 1.3))
    for (const q of [0.5, 0.99]) {
      const check = compareQuantile(baseline, slower, q, {threshold: 0.1})
      expect(check).toMatchObject({significant: true, verdict: 'regression', failed: true})
      expect(check.ratio).toBeGreaterThan(1.15)
      expect(check.ratio).toBeCloseTo(check.current / check.baseline, 2)
    }
  })

  it('reports a significant 5% slowdown as a regression that passes a 10% threshold', () => {
    const before = LatencyHistogram.from(logNormalSample(20_000, 400))
    const after = LatencyHistogram.from(logNormalSample(20_000, 500).map((ms) => ms * 1.05))
    const check = compareQuantile(before, after, 0.5, {threshold: 0.1})
    expect(check).toMatchObject({significant: true, verdict: 'regression', failed: false})
    expect(check.ratio).toBeGreaterThan(1.03)
    expect(check.ratio).toBeLessThan(1.07)
    expect(compareQuantile(before, after, 0.5, {threshold: 0.02}).failed).toBe(true)
  })

  it('reports a speed-up as an improvement, never a failure', () => {
    const faster = LatencyHistogram.from(logNormalSample(2000, 600).map((ms) => ms * 0.7))
    const check = compareQuantile(baseline, faster, 0.99, {threshold: 0})
    expect(check).toMatchObject({significant: true, verdict: 'improvement', failed: false})
    expect(check.ci[1]).toBeLessThan(1)
  })

  it('is reproducible with a seed', () => {
    const other = LatencyHistogram.from(logNormalSample(2000, 700))
    expect(compareQuantile(baseline, other, 0.99, {seed: 5})).toEqual(compareQuantile(baseline, other, 0.99, {seed: 5}))
    expect(compareQuantile(baseline, other, 0.99, {seed: 5}).ci).not.toEqual(compareQuantile(baseline, other, 0.99, {seed: 6}).ci)
  })

  it('says which test it used', () => {
    expect(COMPARISON_METHOD).toBe('bootstrap 95% CI of the ratio of percentiles, current / baseline (1,000 resamples)')
  })
})

describe('differsSignificantly', () => {
  it('tells two configurations apart only when their percentiles really differ', () => {
    const memory512 = LatencyHistogram.from(logNormalSample(2000, 800, 30))
    const memory1024 = LatencyHistogram.from(logNormalSample(2000, 900, 30))
    const memory2048 = LatencyHistogram.from(logNormalSample(2000, 1000, 15))
    expect(differsSignificantly(memory512, memory1024, 0.99)).toBe(false)
    expect(differsSignificantly(memory512, memory2048, 0.99)).toBe(true)
  })
})
