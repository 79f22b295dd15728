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

/** The monthly free tier: it covers requests and on-demand duration, never provisioned concurrency. */
export const FREE_TIER = {requests: 1e6, gbSeconds: 400_000} as const

/** GB as Lambda bills it: the memory size in MB / 1024. */
export const gigabytes = (memoryMb: number): number => memoryMb / 1024

/**
 * On-demand cost of one invoke at the first volume tier: the request plus its billed duration.
 * (Tiers depend on a month's total volume: `monthlyCost` applies them to a month's aggregate.)
 */
export function invokeCost(billedDurationMs: number, memoryMb: number, architecture: Architecture, prices: PriceTable = US_EAST_1): number {
  const perGbSecond = prices.durationTiers[architecture][0]!.perGbSecond
  return prices.perRequest + (billedDurationMs / 1000) * gigabytes(memoryMb) * perGbSecond
}

/** A cost model that silently returns NaN misprices everything downstream: reject bad inputs loudly. */
function check(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`)
  return value
}

/** GB-seconds of one invoke. Lambda rounds duration up to the next 1 ms, so fractional measurements round up too. */
export function billedGbSeconds(billedDurationMs: number, memoryMb: number): number {
  return (Math.ceil(check('billedDurationMs', billedDurationMs)) / 1000) * gigabytes(check('memoryMb', memoryMb))
}

/**
 * GB-seconds allocated by provisioned concurrency kept enabled for `enabledSeconds`.
 * Lambda bills PC from enable to disable rounded up to 5 minutes, so a short window still costs 300 s.
 */
export function provisionedGbSeconds(concurrency: number, memoryMb: number, enabledSeconds: number): number {
  const billedSeconds = Math.ceil(check('enabledSeconds', enabledSeconds) / 300) * 300
  return check('concurrency', concurrency) * gigabytes(check('memoryMb', memoryMb)) * billedSeconds
}

/** GB-seconds of ephemeral storage charged: only the part configured above the free 512 MB, for the billed duration. */
export function ephemeralGbSecondsAbove512(billedDurationMs: number, ephemeralStorageMb: number): number {
  return billedGbSeconds(billedDurationMs, Math.max(0, check('ephemeralStorageMb', ephemeralStorageMb) - 512))
}

/**
 * Duration cost of `gbSeconds` of on-demand use in one month. The tiers are marginal, like tax brackets:
 * only the GB-seconds beyond 6B (x86_64) pay the second price, so the cost stays continuous at the boundary.
 */
export function tieredDurationCost(gbSeconds: number, architecture: Architecture, prices: PriceTable = US_EAST_1): number {
  let remaining = check('gbSeconds', gbSeconds)
  let floor = 0
  let cost = 0
  for (const tier of prices.durationTiers[architecture]) {
    const inTier = Math.min(remaining, tier.upToGbSeconds - floor)
    cost += inTier * tier.perGbSecond
    remaining -= inTier
    floor = tier.upToGbSeconds
    if (remaining <= 0) break
  }
  return cost
}

export interface MonthlyUsage {
  /** All invocations in the month, on-demand and provisioned alike: each pays the request price. */
  requests: number
  /** GB-seconds of duration on on-demand environments (including spillover from provisioned concurrency). */
  gbSeconds: number
  architecture: Architecture
  provisioned?: {
    /** GB-seconds of PC kept enabled (concurrency × GB × enabled seconds; see `provisionedGbSeconds`). */
    gbSecondsAllocated: number
    /** GB-seconds of duration served by provisioned environments, billed at the lower while-provisioned price. */
    gbSecondsUsed: number
  }
  ephemeralStorageGbSecondsAbove512?: number
  freeTier?: boolean
  prices?: PriceTable
}

export interface MonthlyCost {
  requests: number
  duration: number
  provisioned: number
  provisionedDuration: number
  storage: number
  total: number
}

/**
 * One month's bill in USD, unrounded (round for display only: summing rounded parts drifts).
 * The free tier is subtracted before tiering, from requests and on-demand duration only; the volume tiers
 * count on-demand duration only, since AWS prices duration while provisioned at its own flat rate.
 */
export function monthlyCost(usage: MonthlyUsage): MonthlyCost {
  const prices = usage.prices ?? US_EAST_1
  const arch = usage.architecture
  if (!(arch in prices.durationTiers)) throw new RangeError(`unknown architecture ${String(arch)}: use x86_64 or arm64`)
  const freeRequests = usage.freeTier ? FREE_TIER.requests : 0
  const freeGbSeconds = usage.freeTier ? FREE_TIER.gbSeconds : 0
  const requests = Math.max(0, check('requests', usage.requests) - freeRequests) * prices.perRequest
  const duration = tieredDurationCost(Math.max(0, check('gbSeconds', usage.gbSeconds) - freeGbSeconds), arch, prices)
  const pc = usage.provisioned
  const provisioned = pc ? check('provisioned.gbSecondsAllocated', pc.gbSecondsAllocated) * prices.provisionedPerGbSecond[arch] : 0
  // Provisioned environments cannot run longer than they exist: anything beyond is spillover, billed on demand.
  if (pc && check('provisioned.gbSecondsUsed', pc.gbSecondsUsed) > pc.gbSecondsAllocated)
    throw new RangeError('provisioned.gbSecondsUsed exceeds gbSecondsAllocated: count spillover in gbSeconds (on-demand)')
  const provisionedDuration = pc ? pc.gbSecondsUsed * prices.durationWhileProvisionedPerGbSecond[arch] : 0
  const storage = check('ephemeralStorageGbSecondsAbove512', usage.ephemeralStorageGbSecondsAbove512 ?? 0) * prices.ephemeralStoragePerGbSecond
  return {requests, duration, provisioned, provisionedDuration, storage, total: requests + duration + provisioned + provisionedDuration + storage}
}
