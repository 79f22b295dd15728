import {describe, expect, it} from 'vitest'
import {syntheticBenchResult} from '../../test/fixtures-bench.js'
import type {BenchResult} from '../bench/result.js'
import {SaiError} from '../errors/sai-error.js'
import {batchingWindowSeconds, compareAlwaysOn, recommendBatch, recommendMemory, recommendProvisioned, type DecideContext} from './decide.js'
import {erlangB, offeredLoad, serversForBlocking} from './erlang.js'
import {measuredDurations, project, projectionCost} from './project.js'
import {parseDailyProfile, trafficFromRates} from './traffic.js'

const bench = syntheticBenchResult()
const pricing = {architecture: 'x86_64' as const}
const ctx = (over: Partial<DecideContext> = {}): DecideContext => ({traffic: trafficFromRates(10), sloP99Ms: 500, maxColdRatePct: 1, keepAliveSeconds: 300, pricing, ...over})

function withRuns(result: BenchResult, keep: (id: string) => boolean): BenchResult {
  return {...result, runs: result.runs.filter((r) => keep(r.id))}
}

describe('recommendMemory', () => {
  const rec = recommendMemory(bench, ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))

  it('recommends the cheapest size per 1,000 inferences whose warm p99 meets the SLO', () => {
    const meeting = rec.options.filter((o) => o.meetsSlo)
    expect(meeting.length).toBeGreaterThan(0)
    const cheapest = meeting.reduce((a, b) => (b.perThousand < a.perThousand ? b : a))
    expect(rec.recommended).toBe(cheapest.memoryMb)
    expect(rec.recommended).toBe(2048)
    // 512 MB is cheaper but its p99 is past the SLO.
    const small = rec.options.find((o) => o.memoryMb === 512)!
    expect(small.meetsSlo).toBe(false)
    expect(small.perThousand).toBeLessThan(cheapest.perThousand)
    expect(small.risk).toBe('high')
    // Ranked cheapest first.
    expect(rec.options.map((o) => o.perThousand)).toEqual([...rec.options.map((o) => o.perThousand)].sort((a, b) => a - b))
  })

  it('prices the projected month: requests, warm and cold (INIT billed) duration, and the provisioned concurrency each size needs', () => {
    const o = rec.options.find((x) => x.memoryMb === 2048)!
    const run = bench.runs.find((r) => r.memoryMb === 2048 && r.batchSize === 1)!
    const durations = measuredDurations(run)!
    const projection = project(trafficFromRates(10), durations, {keepAliveMs: 300_000, provisioned: o.provisionedConcurrency})
    expect(o.monthly.total).toBeCloseTo(projectionCost(projection, durations, pricing).total, 9)
    // 10 req/s for 30 days, within sampling noise of the Poisson arrivals.
    expect(projection.requests / (10 * 30 * 86_400)).toBeGreaterThan(0.99)
    expect(projection.requests / (10 * 30 * 86_400)).toBeLessThan(1.01)
    // A cold start bills INIT: it costs more than a warm invoke.
    expect(durations.coldBilledMs).toBeGreaterThan(durations.warmBilledMs + 100)
    const free = recommendMemory(bench, ctx({pricing: {...pricing, freeTier: true}})).options.find((x) => x.memoryMb === 2048)!
    expect(free.monthly.total).toBeLessThan(o.monthly.total)
    expect(Number.isFinite(o.perThousand) && o.perThousand > 0).toBe(true)
    expect(o.projectedDurationMs.lower).toBeLessThan(o.projectedDurationMs.upper)
  })

  it('rejects a configuration that timed out, saying so', () => {
    // The base run (1024 MB) met one Sandbox.Timedout under load.
    expect(rec.rejected).toContainEqual(expect.objectContaining({memoryMb: 1024, reason: expect.stringContaining('Sandbox.Timedout')}))
    expect(rec.options.map((o) => o.memoryMb)).not.toContain(1024)
  })

  it('rejects a configuration that ran out of memory, saying so', () => {
    const oom = structuredClone(bench)
    const run = oom.runs.find((r) => r.id === 'memory=512')!
    run.errors = {total: 3, byType: {'Runtime.OutOfMemory': 3}}
    const r = recommendMemory(oom, ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))
    const rejected = r.rejected.find((x) => x.memoryMb === 512)
    expect(rejected?.reason).toMatch(/ran out of memory .*Runtime\.OutOfMemory/)
    expect(r.options.map((o) => o.memoryMb)).not.toContain(512)
  })

  it('rejects skipped runs', () => {
    const skipped = structuredClone(bench)
    skipped.runs.find((r) => r.id === 'memory=3008')!.skipped = 'Sai.InvalidInput'
    expect(recommendMemory(skipped, ctx({traffic: trafficFromRates(10), sloP99Ms: 500})).rejected).toContainEqual(expect.objectContaining({memoryMb: 3008, reason: expect.stringContaining('skipped')}))
  })

  it('groups sizes whose p99 is within noise', () => {
    // Above one vCPU a single-threaded model gets no faster: 2048 and 3008 MB measure the same.
    expect(rec.options.find((o) => o.memoryMb === 2048)!.equivalentTo).toContain(3008)
    expect(rec.options.find((o) => o.memoryMb === 512)!.equivalentTo ?? []).not.toContain(2048)
  })

  it('rates risk by how much of the SLO the p99 uses', () => {
    const tight = recommendMemory(bench, ctx({traffic: trafficFromRates(10), sloP99Ms: 220}))
    expect(tight.options.find((o) => o.memoryMb === 2048)!.risk).toBe('high')
    const loose = recommendMemory(bench, ctx({traffic: trafficFromRates(10), sloP99Ms: 5000}))
    expect(loose.options.find((o) => o.memoryMb === 2048)!.risk).toBe('low')
  })

  it('with an SLO nothing meets, recommends nothing and names the closest', () => {
    const r = recommendMemory(bench, ctx({traffic: trafficFromRates(10), sloP99Ms: 50}))
    expect(r.recommended).toBeUndefined()
    expect(r.closest).toBe([...r.options].sort((a, b) => a.p99Ms - b.p99Ms)[0]!.memoryMb)
  })

  it('without a memory sweep, names the bench flags that produce one', () => {
    expect(() => recommendMemory(withRuns(bench, (id) => id === 'base'), ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))).toThrow(/memory sweep/)
    try {
      recommendMemory(withRuns(bench, (id) => !id.startsWith('memory=')), ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(SaiError)
      expect((error as SaiError).code).toBe('SAI_BENCH_DATA_MISSING')
      expect((error as SaiError).hint).toContain('sai bench --memory 512,1024,2048,3008 --json FILE')
    }
  })

  it('refuses absurd inputs instead of returning NaN', () => {
    expect(() => recommendMemory(bench, ctx({traffic: trafficFromRates(-1), sloP99Ms: 500}))).toThrow(/rps/)
    expect(() => recommendMemory(bench, ctx({traffic: trafficFromRates(1), sloP99Ms: Number.NaN}))).toThrow(/SLO/)
    expect(() => recommendMemory(bench, ctx({keepAliveSeconds: -1}))).toThrow(/keep-alive/)
  })
})

describe('recommendBatch', () => {
  const rec = recommendBatch(bench, ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))

  it('picks the largest batch whose warm p99 meets the SLO, with throughput per dollar', () => {
    expect(rec.memoryMb).toBe(1024)
    const meeting = rec.options.filter((o) => o.meetsSlo).map((o) => o.batchSize)
    expect(rec.recommended).toBe(Math.max(...meeting))
    expect(rec.recommended).toBe(2)
    expect(rec.options.find((o) => o.batchSize === 8)!.meetsSlo).toBe(false)
    for (const o of rec.options) {
      expect(o.itemsPerDollar).toBeCloseTo(1000 / o.perThousandItems, 6)
      expect(o.itemsPerSecond).toBeGreaterThan(0)
    }
    // Bigger batches amortize the fixed cost: more items per dollar.
    const byBatch = [...rec.options].sort((a, b) => a.batchSize - b.batchSize)
    expect(byBatch.at(-1)!.itemsPerDollar).toBeGreaterThan(byBatch[0]!.itemsPerDollar)
  })

  it('maps to an SQS event source: BatchSize and a window that fills a batch at the rate', () => {
    expect(rec.sqs).toEqual({BatchSize: 2, MaximumBatchingWindowInSeconds: 1})
    const generous = recommendBatch(bench, ctx({traffic: trafficFromRates(0.5), sloP99Ms: 5000}))
    expect(generous.recommended).toBe(8)
    expect(generous.sqs).toEqual({BatchSize: 8, MaximumBatchingWindowInSeconds: 16})
    expect(batchingWindowSeconds(1000, 0.1)).toBe(300)
    expect(batchingWindowSeconds(1, 5)).toBe(0)
  })

  it('without a batch sweep, names the bench flags that produce one', () => {
    expect(() => recommendBatch(withRuns(bench, (id) => !id.startsWith('batch=')), ctx({traffic: trafficFromRates(10), sloP99Ms: 500}))).toThrow(
      expect.objectContaining({code: 'SAI_BENCH_DATA_MISSING', hint: expect.stringContaining('--batch 1,2,4,8')}),
    )
  })
})

describe('recommendProvisioned', () => {
  // Spiky traffic: a quiet mean with a busy peak hour, so keep-alive alone leaves cold starts.
  const spiky = ctx({traffic: trafficFromRates(0.01, 0.2), maxColdRatePct: 0.5})
  const rec = recommendProvisioned(bench, spiky, 2048)

  it('finds by simulation the fewest environments that meet the cold-start target, bounded by Erlang-B', () => {
    const run = bench.runs.find((r) => r.id === 'memory=2048')!
    const a = offeredLoad(0.2, run.warm!.mean / 1000)
    expect(rec.offeredLoad).toBeCloseTo(a, 12)
    expect(rec.erlangB.provisionedConcurrency).toBe(serversForBlocking(a, 0.005))
    expect(rec.erlangB.spillRate).toBeCloseTo(erlangB(rec.erlangB.provisionedConcurrency, a), 12)
    expect(rec.onDemand.coldStartRate).toBeGreaterThan(0.005)
    expect(rec.provisionedConcurrency).toBeGreaterThan(0)
    expect(rec.coldStartRate).toBeLessThanOrEqual(0.005)
    // One fewer misses the target: the curve holds the simulated points.
    const fewer = rec.curve.find((p) => p.provisionedConcurrency === rec.provisionedConcurrency - 1)
    if (fewer) expect(fewer.coldStartRate).toBeGreaterThan(0.005)
    expect(rec.monthly.provisioned).toBeGreaterThan(0)
    expect(rec.curve[0]).toMatchObject({provisionedConcurrency: 0})
  })

  it('sets Application Auto Scaling target tracking and a schedule for a periodic profile', () => {
    expect(rec.autoScaling).toMatchObject({metric: 'LambdaProvisionedConcurrencyUtilization', maxCapacity: rec.provisionedConcurrency})
    expect(rec.autoScaling!.targetValue).toBeGreaterThan(0)
    expect(rec.autoScaling!.targetValue).toBeLessThanOrEqual(0.9)
    expect(rec.schedule).toBeDefined()
    expect(rec.schedule!.byHour).toHaveLength(24)
    expect(Math.max(...rec.schedule!.byHour)).toBeLessThanOrEqual(rec.provisionedConcurrency)
    expect(rec.schedule!.actions[0]).toMatchObject({schedule: 'cron(0 0 * * ? *)', hour: 0})
    for (const action of rec.schedule!.actions) expect(action.schedule).toBe(`cron(0 ${action.hour} * * ? *)`)
    expect(rec.schedule!.monthly.provisioned).toBeLessThanOrEqual(rec.monthly.provisioned)
    // No schedule for flat traffic.
    expect(recommendProvisioned(bench, ctx({traffic: parseDailyProfile(JSON.stringify(Array(24).fill(1)), 'flat.json'), maxColdRatePct: 0.01}), 2048).schedule).toBeUndefined()
  })

  it('states the utilization at which provisioned concurrency pays', () => {
    // x86_64: $0.0000041667 / ($0.0000166667 − $0.0000097222) = 60%.
    expect(rec.breakEven.utilization).toBeCloseTo(0.6, 3)
    expect(rec.breakEven.actualUtilization).toBeGreaterThan(0)
    expect(rec.breakEven.actualUtilization).toBeLessThan(1)
  })

  it('compares an always-on fleet sized for the peak, with the break-even traffic', () => {
    const alwaysOn = compareAlwaysOn(bench, spiky, rec)
    expect(alwaysOn.environments).toBe(Math.max(1, rec.erlangB.provisionedConcurrency))
    expect(alwaysOn.cheaper).toBe('serverless')
    expect(alwaysOn.breakEvenRps).toBeGreaterThan(0.01)
    // At the break-even mean, the two cost the same (first tier, no cold starts): check the algebra.
    const run = bench.runs.find((r) => r.id === 'memory=2048')!
    const gbs = (Math.ceil(measuredDurations(run)!.warmBilledMs) / 1000) * 2
    const perSecondOnDemand = alwaysOn.breakEvenRps * gbs * 0.0000166667
    const perSecondAlwaysOn = alwaysOn.environments * 2 * 0.0000041667 + alwaysOn.breakEvenRps * gbs * 0.0000097222
    expect(perSecondOnDemand).toBeCloseTo(perSecondAlwaysOn, 12)
  })

  it('refuses a cold-share target of 0', () => {
    expect(() => recommendProvisioned(bench, ctx({maxColdRatePct: 0}))).toThrow(/max-cold-rate/)
  })
})
