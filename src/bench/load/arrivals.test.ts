import {describe, expect, it} from 'vitest'
import {mulberry32} from '../random.js'
import {arrivals, constantArrivals, expectedArrivals, poissonArrivals, traceArrivals} from './arrivals.js'

const take = (iterable: Iterable<number>, n: number) => {
  const out: number[] = []
  for (const t of iterable) {
    if (out.length === n) break
    out.push(t)
  }
  return out
}

/** Arrivals in each of `parts` equal slices of the duration. */
const perSlice = (times: number[], durationMs: number, parts: number) => {
  const counts = new Array<number>(parts).fill(0)
  for (const t of times) counts[Math.floor((t / durationMs) * parts)]!++
  return counts
}

describe('constant arrivals', () => {
  it('are evenly spaced from 0 and number rate × duration', () => {
    const times = [...constantArrivals({rate: 500, durationMs: 2000})]
    expect(times).toHaveLength(1000)
    expect(times[0]).toBe(0)
    expect(times[1]).toBe(2)
    expect(times.at(-1)).toBe(1998)
    expect(expectedArrivals({rate: 500, durationMs: 2000})).toBe(1000)
  })

  it('ramp from 0 to the rate: half as many, and the rate rises linearly', () => {
    const times = [...constantArrivals({rate: 1000, durationMs: 10_000, ramp: true})]
    expect(times).toHaveLength(5000)
    // Λ(t) = R·t²/2D: the four quarters hold 1/16, 3/16, 5/16 and 7/16 of the arrivals.
    expect(perSlice(times, 10_000, 4)).toEqual([313, 937, 1563, 2187])
    // Near the end the gap is 1000/R ms.
    expect(times.at(-1)! - times.at(-2)!).toBeCloseTo(1, 1)
  })

  it('are generated lazily (a schedule of 10^12 yields its first few at once)', () => {
    expect(take(constantArrivals({rate: 1e6, durationMs: 1e9}), 3)).toEqual([0, 0.001, 0.002])
  })
})

describe('poisson arrivals', () => {
  it('have the mean rate and exponential gaps (coefficient of variation ≈ 1)', () => {
    const times = [...poissonArrivals({rate: 1000, durationMs: 60_000, seed: 42})]
    // 60,000 expected, standard deviation √60000 ≈ 245: 1% is four of them.
    expect(Math.abs(times.length - 60_000)).toBeLessThan(600)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length)
    expect(mean).toBeCloseTo(1, 1)
    expect(sd / mean).toBeGreaterThan(0.97)
    expect(sd / mean).toBeLessThan(1.03)
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true)
  })

  it('are the same for the same seed, different for another', () => {
    const a = [...poissonArrivals({rate: 200, durationMs: 1000, seed: 7})]
    const b = [...poissonArrivals({rate: 200, durationMs: 1000, seed: 7})]
    const c = [...poissonArrivals({rate: 200, durationMs: 1000, seed: 8})]
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    expect([...arrivals({kind: 'poisson', rate: 200, durationMs: 1000, rng: mulberry32(7)})]).toEqual(a)
  })

  it('ramp like the constant kind, on average', () => {
    const times = [...poissonArrivals({rate: 2000, durationMs: 20_000, ramp: true, seed: 3})]
    expect(Math.abs(times.length - 20_000)).toBeLessThan(600)
    const quarters = perSlice(times, 20_000, 4).map((n) => n / times.length)
    ;[1 / 16, 3 / 16, 5 / 16, 7 / 16].forEach((share, i) => expect(Math.abs(quarters[i]! - share)).toBeLessThan(0.01))
  })
})

describe('mulberry32', () => {
  it('is uniform in [0, 1)', () => {
    const rng = mulberry32(1)
    const values = Array.from({length: 100_000}, rng)
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
    const buckets = new Array<number>(10).fill(0)
    for (const u of values) buckets[Math.floor(u * 10)]!++
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500)
  })
})

describe('trace arrivals', () => {
  it('replay the offsets, cut at the duration', () => {
    expect([...traceArrivals([0, 5, 10, 20])]).toEqual([0, 5, 10, 20])
    expect([...arrivals({kind: 'trace', offsetsMs: Float64Array.of(0, 5, 10, 20), durationMs: 15})]).toEqual([0, 5, 10])
  })
})

it('rejects a rate that is not positive', () => {
  expect(() => [...constantArrivals({rate: 0, durationMs: 1000})]).toThrow(/rate must be a positive number/)
  expect(() => [...poissonArrivals({rate: Number.NaN, durationMs: 1000})]).toThrow(/rate must be a positive number/)
})
