import {describe, it, expect} from 'vitest'
import {erlangB, offeredLoad, serversForBlocking} from './erlang.js'

/** Independent check: the closed form evaluated in log space (log-sum-exp), so it cannot overflow either. */
function erlangBLogSpace(c: number, a: number): number {
  const logTerms: number[] = []
  let logFact = 0
  for (let k = 0; k <= c; k++) {
    if (k > 0) logFact += Math.log(k)
    logTerms.push(k * Math.log(a) - logFact)
  }
  const max = Math.max(...logTerms)
  const logSum = max + Math.log(logTerms.reduce((s, t) => s + Math.exp(t - max), 0))
  return Math.exp(logTerms[c]! - logSum)
}

describe('erlangB', () => {
  it('matches hand-computed and Erlang-B table values', () => {
    expect(erlangB(0, 3)).toBe(1)
    expect(erlangB(1, 1)).toBeCloseTo(0.5, 12)
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12)
    expect(erlangB(10, 5)).toBeCloseTo(0.01838, 5)
    expect(erlangB(5, 2)).toBeCloseTo(0.0367, 4)
    expect(erlangB(5, 2)).toBeCloseTo(0.036697, 6)
    expect(erlangB(3, 0)).toBe(0)
  })

  it('falls as servers are added and rises as load grows', () => {
    for (let c = 1; c < 60; c++) expect(erlangB(c, 20)).toBeLessThan(erlangB(c - 1, 20))
    for (let a = 1; a < 60; a++) expect(erlangB(20, a)).toBeGreaterThan(erlangB(20, a - 1))
  })

  it('handles large loads (A = 500) without overflow, agreeing with the log-space closed form', () => {
    for (const c of [100, 450, 500, 550, 600]) {
      const b = erlangB(c, 500)
      expect(Number.isFinite(b)).toBe(true)
      expect(b).toBeGreaterThanOrEqual(0)
      expect(b).toBeLessThanOrEqual(1)
      expect(b).toBeCloseTo(erlangBLogSpace(c, 500), 10)
    }
    // With as many environments as Erlangs of load, about sqrt(2 / (π·A)) ≈ 3.5% spill over.
    expect(erlangB(500, 500)).toBeGreaterThan(0.03)
    expect(erlangB(500, 500)).toBeLessThan(0.0357)
  })

  it('rejects non-integer servers and bad loads', () => {
    expect(() => erlangB(2.5, 1)).toThrow(RangeError)
    expect(() => erlangB(-1, 1)).toThrow(RangeError)
    expect(() => erlangB(2, Number.NaN)).toThrow(/offered load/)
    expect(() => erlangB(2, -1)).toThrow(/offered load/)
  })
})

describe('serversForBlocking', () => {
  it('finds the smallest c meeting the target (Erlang-B table: 5 E at 1% needs 11, B(10, 5) = 1.84%)', () => {
    expect(serversForBlocking(5, 0.01)).toBe(11)
    expect(serversForBlocking(5, 0.01838)).toBe(11)
    expect(serversForBlocking(5, 0.0184)).toBe(10)
    expect(serversForBlocking(1, 0.5)).toBe(1)
    expect(serversForBlocking(1, 0.2)).toBe(2)
    expect(serversForBlocking(3, 1)).toBe(0)
    expect(serversForBlocking(0, 0.01)).toBe(0)
  })

  it('is minimal and monotone in load and target, including A = 500', () => {
    for (const [a, target] of [[500, 0.01], [500, 1e-6], [37.5, 0.05], [0.3, 0.001]] as const) {
      const c = serversForBlocking(a, target)
      expect(erlangB(c, a)).toBeLessThanOrEqual(target)
      if (c > 0) expect(erlangB(c - 1, a)).toBeGreaterThan(target)
    }
    expect(serversForBlocking(500, 0.01)).toBeGreaterThan(500)
    expect(serversForBlocking(500, 1e-6)).toBeGreaterThan(serversForBlocking(500, 0.01))
    expect(serversForBlocking(400, 0.01)).toBeLessThan(serversForBlocking(500, 0.01))
  })

  it('sizes provisioned concurrency from a traffic rate: 50 req/s × 200 ms = 10 E', () => {
    const a = offeredLoad(50, 0.2)
    expect(a).toBeCloseTo(10, 12)
    expect(serversForBlocking(a, 0.05)).toBe(15)
  })

  it('rejects an unreachable or meaningless target', () => {
    expect(() => serversForBlocking(5, 0)).toThrow(/infinitely/)
    expect(() => serversForBlocking(5, 1.5)).toThrow(RangeError)
    expect(() => offeredLoad(-1, 0.2)).toThrow(RangeError)
  })
})
