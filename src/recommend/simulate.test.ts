import {describe, expect, it} from 'vitest'
import {LatencyHistogram} from '../bench/stats/histogram.js'
import {mulberry32} from '../bench/random.js'
import {erlangB} from './erlang.js'
import {constantSampler, samplerFromHistogram, simulate, type Sampler, type SimulationInput} from './simulate.js'

const at = (...times: number[]) => Float64Array.from(times)
const base = {warm: constantSampler(50), cold: constantSampler(300), keepAliveMs: 1000, provisionedConcurrency: 0, seed: 1}
const run = (input: Partial<SimulationInput> & {arrivalsMs: Float64Array}) => simulate({...base, ...input})

describe('simulate', () => {
  it('reuses one warm environment for sequential requests', () => {
    const r = run({arrivalsMs: at(0, 400, 500, 600, 700)})
    expect(r.cold).toBe(1)
    expect(r.busyMs).toEqual({cold: 300, warm: 200, provisioned: 0})
    expect(r.peakEnvironments).toBe(1)
  })

  it('reaps an environment idle for the keep-alive', () => {
    // Idle from 300 to 1299: kept; from 1350 to 2350: reaped.
    expect(run({arrivalsMs: at(0, 1299, 2350)}).cold).toBe(2)
    expect(run({arrivalsMs: at(0), keepAliveMs: 0}).cold).toBe(1)
    // Keep-alive 0: every invoke is cold, as in the emulator.
    expect(run({arrivalsMs: at(0, 1000, 2000), keepAliveMs: 0}).cold).toBe(3)
  })

  it('serves from provisioned environments first and spills over to on-demand cold starts', () => {
    const r = run({arrivalsMs: at(0, 0, 0), provisionedConcurrency: 2})
    expect(r.servedByProvisioned).toBe(2)
    expect(r.cold).toBe(1)
    expect(r.busyMs.provisioned).toBe(100)
    expect(r.peakEnvironments).toBe(3)
    // A provisioned environment never expires.
    expect(run({arrivalsMs: at(0, 100_000), provisionedConcurrency: 1}).cold).toBe(0)
  })

  it('takes the most recently used idle environment, so surplus ones age out', () => {
    // Two cold starts at 0; then one request every 500 ms reuses the same environment and the
    // other is reaped at 1300. A pair at 5000 needs one new environment.
    const steady = Array.from({length: 9}, (_, i) => 500 + 500 * i)
    const r = run({arrivalsMs: at(0, 0, ...steady, 5000, 5000)})
    expect(r.cold).toBe(3)
  })

  it('throttles past reserved concurrency and past the account concurrency', () => {
    expect(run({arrivalsMs: at(0, 0, 0), reservedConcurrency: 2}).throttled).toBe(1)
    expect(run({arrivalsMs: at(0, 0, 0), accountConcurrency: 1}).throttled).toBe(2)
  })

  it('starts at most 1,000 environments per 10 seconds, refilled continuously', () => {
    const burst = new Float64Array(1500)
    const r = run({arrivalsMs: burst, accountConcurrency: 5000, cold: constantSampler(60_000)})
    expect(r.cold).toBe(1000)
    expect(r.throttled).toBe(500)
    // One second later, 100 more tokens.
    const later = run({arrivalsMs: Float64Array.from([...burst, ...new Float64Array(200).fill(1000)]), accountConcurrency: 5000, cold: constantSampler(60_000)})
    expect(later.cold).toBe(1100)
  })

  it('starts from idle on-demand environments when asked (what bench\'s preflight leaves)', () => {
    expect(run({arrivalsMs: at(10), initialIdleOnDemand: 1}).cold).toBe(0)
  })

  it('records end-to-end latency, cold starts included, with weights', () => {
    const r = run({arrivalsMs: at(0, 400, 500, 600), latencyWeight: 3})
    expect(r.latency!.count).toBe(12)
    expect(r.latency!.percentileUs(99) / 1000).toBeCloseTo(300, 0)
    expect(run({arrivalsMs: at(0), recordLatency: false}).latency).toBeUndefined()
  })

  it('agrees with Erlang-B when every on-demand invoke is cold (keep-alive 0)', () => {
    // Poisson arrivals, exponential durations: the spill share of c provisioned environments is B(c, A).
    const rng = mulberry32(7)
    const ratePerMs = 20 / 1000
    const meanMs = 200
    const n = 200_000
    const arrivals = new Float64Array(n)
    let t = 0
    for (let i = 0; i < n; i++) arrivals[i] = t += -Math.log(1 - rng()) / ratePerMs
    const exponential: Sampler = (r) => -meanMs * Math.log(1 - r())
    for (const c of [2, 4, 6, 8]) {
      const r = run({arrivalsMs: arrivals, warm: exponential, cold: exponential, keepAliveMs: 0, provisionedConcurrency: c, seed: c})
      const expected = erlangB(c, 20 * 0.2)
      expect(r.coldRate).toBeGreaterThan(expected * 0.9)
      expect(r.coldRate).toBeLessThan(expected * 1.1)
    }
  })

  it('samples a measured distribution by its counts', () => {
    const h = LatencyHistogram.from([...Array(900).fill(10), ...Array(100).fill(100)])
    const sample = samplerFromHistogram(h)
    const rng = mulberry32(3)
    let slow = 0
    for (let i = 0; i < 10_000; i++) if (sample(rng) > 50) slow++
    expect(slow).toBeGreaterThan(850)
    expect(slow).toBeLessThan(1150)
    expect(() => samplerFromHistogram(new LatencyHistogram())).toThrow(/empty/)
  })
})
