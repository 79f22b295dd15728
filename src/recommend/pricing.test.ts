import {describe, it, expect} from 'vitest'
import {invokeCost, US_EAST_1} from './pricing.js'

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
