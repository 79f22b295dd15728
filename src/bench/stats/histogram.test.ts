import {build} from 'hdr-histogram-js'
import {describe, expect, it} from 'vitest'
import {createRandom} from './bootstrap.js'
import {LatencyHistogram, summarizeNumbers} from './histogram.js'

const range = (from: number, to: number): number[] => Array.from({length: to - from + 1}, (_, i) => from + i)

describe('LatencyHistogram', () => {
  it('reports the percentiles of 1..1000 ms within HdrHistogram’s 3 significant digits', () => {
    const d = LatencyHistogram.from(range(1, 1000)).toDistribution()
    expect(d.count).toBe(1000)
    expect(d.min).toBe(1)
    expect(Math.abs(d.p50 / 500 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.p90 / 900 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.p95 / 950 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.p99 / 990 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.p999 / 999 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.max / 1000 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.mean / 500.5 - 1)).toBeLessThan(0.001)
    expect(Math.abs(d.stddev / 288.675 - 1)).toBeLessThan(0.001)
    expect(d.p999).toBeLessThanOrEqual(d.max)
  })

  it('reports exactly what HdrHistogram’s getValueAtPercentile does, in ms rounded to the µs', () => {
    const random = createRandom(7)
    const latencies = Array.from({length: 5000}, () => Math.exp(3 + random()))
    const reference = build({lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3})
    for (const ms of latencies) reference.recordValue(Math.round(ms * 1000))
    const d = LatencyHistogram.from(latencies).toDistribution()
    expect([d.p50, d.p90, d.p95, d.p99, d.p999]).toEqual([50, 90, 95, 99, 99.9].map((p) => reference.getValueAtPercentile(p) / 1000))
    for (const value of [d.p50, d.p99, d.mean, d.stddev, d.max]) expect(Math.round(value * 1000) / 1000).toBe(value)
  })

  it('keeps microsecond resolution below 2 ms and counts anything under 1 µs as 1 µs', () => {
    const d = LatencyHistogram.from([0.387]).toDistribution()
    expect([d.min, d.p50, d.p99, d.max, d.mean]).toEqual([0.387, 0.387, 0.387, 0.387, 0.387])
    expect(LatencyHistogram.from([1.2344]).toDistribution().p50).toBe(1.234)
    expect(LatencyHistogram.from([1.2346]).toDistribution().p50).toBe(1.235)
    const tiny = LatencyHistogram.from([0, 0.0001, -3]).toDistribution()
    expect([tiny.count, tiny.min, tiny.max]).toEqual([3, 0.001, 0.001])
  })

  it('rejects a latency that is not a number', () => {
    expect(() => new LatencyHistogram().record(Number.NaN)).toThrow(RangeError)
  })

  it('grows past its initial one-hour range', () => {
    const histogram = LatencyHistogram.from([5, 2 * 3_600_000])
    expect(Math.abs(histogram.toDistribution().max / 7_200_000 - 1)).toBeLessThan(0.001)
  })

  it('merges: two halves added together equal the whole', () => {
    const whole = LatencyHistogram.from(range(1, 1000))
    const merged = LatencyHistogram.from(range(1, 500))
    merged.add(LatencyHistogram.from(range(501, 1000)))
    expect(merged.count).toBe(1000)
    expect(merged.toDistribution()).toEqual(whole.toDistribution())
  })

  it('round-trips through its hdr encoding to the same Distribution, and the decoded one still merges and grows', () => {
    const random = createRandom(3)
    const original = LatencyHistogram.from(Array.from({length: 2000}, () => 0.2 + 40 * random() ** 3))
    const distribution = original.toDistribution()
    const decoded = LatencyHistogram.decode(distribution.hdr)
    expect(decoded.toDistribution()).toEqual(distribution)
    decoded.add(LatencyHistogram.from([3 * 3_600_000]))
    expect(decoded.count).toBe(2001)
  })

  it('rejects an encoding that is not a histogram', () => {
    expect(() => LatencyHistogram.decode('bm90IGEgaGlzdG9ncmFt')).toThrow(/HdrHistogram/)
  })

  it('lists its buckets ascending, with every recorded value counted once', () => {
    const histogram = LatencyHistogram.from([0.387, 0.387, 5, 12.5, 12.5, 12.5])
    expect(histogram.buckets()).toEqual([
      {valueUs: 387, count: 2},
      // Above 2,048 µs a bucket spans several µs (4 at 5 ms, 8 at 12.5 ms): each reports its highest value.
      {valueUs: 5003, count: 1},
      {valueUs: 12_503, count: 3},
    ])
  })

  it('describes an empty histogram with zeros and a decodable hdr', () => {
    const d = new LatencyHistogram().toDistribution()
    expect(d).toMatchObject({count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0, ci: {p50: [0, 0], p99: [0, 0]}})
    expect(LatencyHistogram.decode(d.hdr).count).toBe(0)
  })

  it('includes bootstrap intervals around p50 and p99', () => {
    const random = createRandom(11)
    const d = LatencyHistogram.from(Array.from({length: 3000}, () => 10 + 20 * random())).toDistribution()
    expect(d.ci.p50[0]).toBeLessThanOrEqual(d.p50)
    expect(d.ci.p50[1]).toBeGreaterThanOrEqual(d.p50)
    expect(d.ci.p50[1] - d.ci.p50[0]).toBeGreaterThan(0.3)
    expect(d.ci.p50[1] - d.ci.p50[0]).toBeLessThan(2)
    expect(d.ci.p99[0]).toBeLessThanOrEqual(d.p99)
    expect(d.ci.p99[1]).toBeGreaterThanOrEqual(d.p99)
  })
})

describe('summarizeNumbers', () => {
  it('gives nearest-rank percentiles, the mean and the max', () => {
    const values = range(1, 100).reverse()
    expect(summarizeNumbers(values)).toEqual({mean: 50.5, p50: 50, p99: 99, max: 100})
    expect(values[0]).toBe(100)
  })

  it('handles one value and none', () => {
    expect(summarizeNumbers([12.3])).toEqual({mean: 12.3, p50: 12.3, p99: 12.3, max: 12.3})
    expect(summarizeNumbers([])).toEqual({mean: 0, p50: 0, p99: 0, max: 0})
  })
})
