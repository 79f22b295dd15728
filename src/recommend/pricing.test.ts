import {describe, it, expect} from 'vitest'
import {billedGbSeconds, ephemeralGbSecondsAbove512, invokeCost, monthlyCost, provisionedGbSeconds, tieredDurationCost, US_EAST_1} from './pricing.js'

/** AWS's examples quote cents; comparing rounded cents exactly keeps the tests as strict as the page. */
const cents = (usd: number): number => Math.round(usd * 100) / 100

describe('invokeCost', () => {
  it('prices requests and GB-seconds: 3M invokes of 120 ms at 1,536 MB cost $9.60 before the free tier', () => {
    // AWS's example: 3,000,000 × 0.120 s × 1.5 GB = 540,000 GB-s × $0.0000166667 = $9.00; requests 3M × $0.20/M = $0.60.
    const total = 3e6 * invokeCost(120, 1536, 'x86_64')
    expect(total).toBeCloseTo(9.0 + 0.6, 2)
  })

  it('prices arm64 at its own rate', () => {
    expect(invokeCost(1000, 1024, 'arm64')).toBeCloseTo(US_EAST_1.perRequest + 0.0000133334, 12)
  })
})

describe('billedGbSeconds', () => {
  it('multiplies billed seconds by GB (MB / 1024), rounding duration up to 1 ms as Lambda does', () => {
    expect(billedGbSeconds(120, 1536)).toBeCloseTo(0.18, 12)
    expect(billedGbSeconds(1000, 128)).toBe(0.125)
    expect(billedGbSeconds(0.2, 1024)).toBe(0.001)
  })

  it('rejects negative or non-finite inputs instead of returning NaN', () => {
    expect(() => billedGbSeconds(-1, 128)).toThrow(RangeError)
    expect(() => billedGbSeconds(Number.NaN, 128)).toThrow(RangeError)
  })
})

describe('monthlyCost: AWS Lambda pricing page examples (us-east-1)', () => {
  it('mobile application backend, x86_64, free tier: 3M requests, 120 ms, 1,536 MB → $2.73', () => {
    // Page: 3M × 0.12 s × 1.5 GB = 540,000 GB-s; − 400,000 free = 140,000 × $0.0000166667 = $2.33;
    // requests (3M − 1M free) × $0.20/M = $0.40; total $2.73.
    const gbSeconds = 3e6 * billedGbSeconds(120, 1536)
    expect(gbSeconds).toBeCloseTo(540_000, 6)
    const bill = monthlyCost({requests: 3e6, gbSeconds, architecture: 'x86_64', freeTier: true})
    expect(cents(bill.duration)).toBe(2.33)
    expect(cents(bill.requests)).toBe(0.4)
    expect(bill.provisioned + bill.provisionedDuration + bill.storage).toBe(0)
    expect(cents(bill.total)).toBe(2.73)
  })

  it('the same mobile backend on arm64 (Graviton2) prices: 140,000 × $0.0000133334 = $1.87; total $2.27', () => {
    const bill = monthlyCost({requests: 3e6, gbSeconds: 540_000, architecture: 'arm64', freeTier: true})
    expect(cents(bill.duration)).toBe(1.87)
    expect(cents(bill.total)).toBe(2.27)
  })

  it('the same mobile backend without the free tier: $9.00 duration + $0.60 requests = $9.60', () => {
    const bill = monthlyCost({requests: 3e6, gbSeconds: 540_000, architecture: 'x86_64'})
    expect(cents(bill.duration)).toBe(9)
    expect(cents(bill.total)).toBe(9.6)
  })

  it('the free tier never makes a bill negative', () => {
    const bill = monthlyCost({requests: 10, gbSeconds: 5, architecture: 'x86_64', freeTier: true})
    expect(bill.total).toBe(0)
  })

  it('provisioned concurrency: 100 PC at 1,024 MB for a 30-day month plus 100M 1 s invokes served while provisioned', () => {
    // Allocated: 100 × 1 GB × 2,592,000 s = 259,200,000 GB-s × $0.0000041667 = $1,080.00864 → $1,080.01 on the bill.
    // Duration while provisioned: 100M × 1 s × 1 GB = 100,000,000 GB-s × $0.0000097222 = $972.22; requests 100M × $0.20/M = $20.00.
    const gbSecondsAllocated = provisionedGbSeconds(100, 1024, 30 * 86_400)
    expect(gbSecondsAllocated).toBe(259_200_000)
    const bill = monthlyCost({
      requests: 100e6, gbSeconds: 0, architecture: 'x86_64', freeTier: false,
      provisioned: {gbSecondsAllocated, gbSecondsUsed: 100e6 * billedGbSeconds(1000, 1024)},
    })
    expect(bill.provisioned).toBeCloseTo(1080.00864, 6)
    expect(cents(bill.provisioned)).toBe(1080.01)
    expect(cents(bill.provisionedDuration)).toBe(972.22)
    expect(cents(bill.requests)).toBe(20)
    expect(bill.duration).toBe(0)
    expect(cents(bill.total)).toBe(2072.23)
    // With the free tier asked for, only the requests get cheaper: PC charges are outside it.
    const withFree = monthlyCost({requests: 100e6, gbSeconds: 0, architecture: 'x86_64', freeTier: true, provisioned: {gbSecondsAllocated, gbSecondsUsed: 100e6}})
    expect(cents(withFree.requests)).toBe(19.8)
    expect(withFree.provisioned).toBe(bill.provisioned)
  })

  it('provisioned concurrency is billed in 5-minute increments from enable to disable', () => {
    expect(provisionedGbSeconds(10, 2048, 1)).toBe(10 * 2 * 300)
    expect(provisionedGbSeconds(10, 2048, 301)).toBe(10 * 2 * 600)
  })

  it('rejects provisioned duration beyond the allocation (spillover belongs on demand)', () => {
    expect(() => monthlyCost({requests: 1, gbSeconds: 0, architecture: 'x86_64', provisioned: {gbSecondsAllocated: 10, gbSecondsUsed: 11}})).toThrow(/spillover/)
  })

  it('tier crossing, x86_64: 20B GB-s = 6B × $0.0000166667 + 9B × $0.000015 + 5B × $0.0000133334 = $301,667.20', () => {
    // $100,000.20 + $135,000.00 + $66,667.00: only the GB-seconds beyond each boundary pay the lower price.
    expect(cents(monthlyCost({requests: 0, gbSeconds: 20e9, architecture: 'x86_64'}).duration)).toBe(301_667.2)
    expect(cents(tieredDurationCost(10e9, 'x86_64'))).toBe(160_000.2)
  })

  it('tier crossing, arm64: 20B GB-s = 7.5B × $0.0000133334 + 11.25B × $0.0000120001 + 1.25B × $0.0000106667 = $248,335.00', () => {
    expect(cents(tieredDurationCost(20e9, 'arm64'))).toBe(248_335)
  })

  it('duration cost is continuous and increasing across the 6B boundary', () => {
    const below = tieredDurationCost(6e9 - 1, 'x86_64')
    const at = tieredDurationCost(6e9, 'x86_64')
    const above = tieredDurationCost(6e9 + 1, 'x86_64')
    expect(at - below).toBeCloseTo(0.0000166667, 9)
    expect(above - at).toBeCloseTo(0.000015, 9)
  })

  it('ephemeral storage: 10,240 MB configured, 3M invokes of 1 s → (10 − 0.5) GB × 3M s × $0.0000000309 = $0.88', () => {
    const perInvoke = ephemeralGbSecondsAbove512(1000, 10_240)
    expect(perInvoke).toBe(9.5)
    expect(ephemeralGbSecondsAbove512(1000, 512)).toBe(0)
    const bill = monthlyCost({requests: 0, gbSeconds: 0, architecture: 'x86_64', ephemeralStorageGbSecondsAbove512: 3e6 * perInvoke})
    expect(cents(bill.storage)).toBe(0.88)
  })

  it('rejects bad usage with a message naming the field', () => {
    expect(() => monthlyCost({requests: -1, gbSeconds: 0, architecture: 'x86_64'})).toThrow(/requests/)
    expect(() => monthlyCost({requests: 1, gbSeconds: Infinity, architecture: 'x86_64'})).toThrow(/gbSeconds/)
    expect(() => monthlyCost({requests: 1, gbSeconds: 1, architecture: 'mips' as never})).toThrow(/architecture/)
  })
})
