/** AWS Lambda prices, us-east-1 (REFERENCE.md §Pricing; AWS Price List values). */

export type Architecture = 'x86_64' | 'arm64'

export interface PriceTable {
  region: string
  perRequest: number
  /** Duration price per GB-second by monthly volume tier: up to `upToGbSeconds`, then the next tier. */
  durationTiers: Record<Architecture, {upToGbSeconds: number; perGbSecond: number}[]>
  provisionedPerGbSecond: Record<Architecture, number>
  durationWhileProvisionedPerGbSecond: Record<Architecture, number>
  ephemeralStoragePerGbSecond: number
}

export const US_EAST_1: PriceTable = {
  region: 'us-east-1',
  perRequest: 0.2 / 1e6,
  durationTiers: {
    x86_64: [
      {upToGbSeconds: 6e9, perGbSecond: 0.0000166667},
      {upToGbSeconds: 15e9, perGbSecond: 0.000015},
      {upToGbSeconds: Infinity, perGbSecond: 0.0000133334},
    ],
    arm64: [
      {upToGbSeconds: 7.5e9, perGbSecond: 0.0000133334},
      {upToGbSeconds: 18.75e9, perGbSecond: 0.0000120001},
      {upToGbSeconds: Infinity, perGbSecond: 0.0000106667},
    ],
  },
  provisionedPerGbSecond: {x86_64: 0.0000041667, arm64: 0.0000033334},
  durationWhileProvisionedPerGbSecond: {x86_64: 0.0000097222, arm64: 0.0000077778},
  ephemeralStoragePerGbSecond: 0.0000000309,
}

/** GB as Lambda bills it: the memory size in MB / 1024. */
export const gigabytes = (memoryMb: number): number => memoryMb / 1024

/**
 * On-demand cost of one invoke at the first volume tier: the request plus its billed duration.
 * (Tiers depend on a month's total volume: `sai recommend` applies them to a traffic profile.)
 */
export function invokeCost(billedDurationMs: number, memoryMb: number, architecture: Architecture, prices: PriceTable = US_EAST_1): number {
  const perGbSecond = prices.durationTiers[architecture][0]!.perGbSecond
  return prices.perRequest + (billedDurationMs / 1000) * gigabytes(memoryMb) * perGbSecond
}
