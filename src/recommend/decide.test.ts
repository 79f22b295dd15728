import {describe, expect, it} from 'vitest'
import {syntheticBenchResult} from '../../test/fixtures-bench.js'
import type {BenchResult} from '../bench/result.js'
import {SaiError} from '../errors/sai-error.js'
import {batchingWindowSeconds, recommendBatch, recommendMemory, recommendProvisioned, SECONDS_PER_MONTH} from './decide.js'
import {erlangB, offeredLoad, serversForBlocking} from './erlang.js'
import {billedGbSeconds, monthlyCost} from './pricing.js'

const bench = syntheticBenchResult()
const pricing = {architecture: 'x86_64' as const}

function withRuns(result: BenchResult, keep: (id: string) => boolean): BenchResult {
  return {...result, runs: result.runs.filter((r) => keep(r.id))}
}

describe('recommendMemory', () => {
  const rec = recommendMemory(bench, {rps: 10, sloP99Ms: 500, ...pricing})

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

  it('prices a month as rps × 30 days at the mean billed duration', () => {
    const o = rec.options.find((x) => x.memoryMb === 2048)!
    const requests = 10 * SECONDS_PER_MONTH
    const expected = monthlyCost({requests, gbSeconds: requests * billedGbSeconds(o.meanBilledDurationMs, 2048), architecture: 'x86_64'})
    expect(o.monthly.total).toBeCloseTo(expected.total, 9)
    const free = recommendMemory(bench, {rps: 10, sloP99Ms: 500, ...pricing, freeTier: true}).options.find((x) => x.memoryMb === 2048)!
    expect(free.monthly.total).toBeLessThan(o.monthly.total)
    expect(Number.isFinite(o.perThousand) && o.perThousand > 0).toBe(true)
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
    const r = recommendMemory(oom, {rps: 10, sloP99Ms: 500, ...pricing})
    const rejected = r.rejected.find((x) => x.memoryMb === 512)
    expect(rejected?.reason).toMatch(/ran out of memory .*Runtime\.OutOfMemory/)
    expect(r.options.map((o) => o.memoryMb)).not.toContain(512)
  })

  it('rejects skipped runs', () => {
    const skipped = structuredClone(bench)
    skipped.runs.find((r) => r.id === 'memory=3008')!.skipped = 'Sai.InvalidInput'
    expect(recommendMemory(skipped, {rps: 10, sloP99Ms: 500, ...pricing}).rejected).toContainEqual(expect.objectContaining({memoryMb: 3008, reason: expect.stringContaining('skipped')}))
  })

  it('groups sizes whose p99 is within noise', () => {
    // Above one vCPU a single-threaded model gets no faster: 2048 and 3008 MB measure the same.
    expect(rec.options.find((o) => o.memoryMb === 2048)!.equivalentTo).toContain(3008)
    expect(rec.options.find((o) => o.memoryMb === 512)!.equivalentTo ?? []).not.toContain(2048)
  })

  it('rates risk by how much of the SLO the p99 uses', () => {
    const tight = recommendMemory(bench, {rps: 10, sloP99Ms: 220, ...pricing})
    expect(tight.options.find((o) => o.memoryMb === 2048)!.risk).toBe('high')
    const loose = recommendMemory(bench, {rps: 10, sloP99Ms: 5000, ...pricing})
    expect(loose.options.find((o) => o.memoryMb === 2048)!.risk).toBe('low')
  })

  it('with an SLO nothing meets, recommends nothing and names the closest', () => {
    const r = recommendMemory(bench, {rps: 10, sloP99Ms: 50, ...pricing})
    expect(r.recommended).toBeUndefined()
    expect(r.closest).toBe([...r.options].sort((a, b) => a.warmP99 - b.warmP99)[0]!.memoryMb)
  })

  it('without a memory sweep, names the bench flags that produce one', () => {
    expect(() => recommendMemory(withRuns(bench, (id) => id === 'base'), {rps: 10, sloP99Ms: 500, ...pricing})).toThrow(/memory sweep/)
    try {
      recommendMemory(withRuns(bench, (id) => !id.startsWith('memory=')), {rps: 10, sloP99Ms: 500, ...pricing})
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(SaiError)
      expect((error as SaiError).code).toBe('SAI_BENCH_DATA_MISSING')
      expect((error as SaiError).hint).toContain('sai bench --memory 512,1024,2048,3008 --json FILE')
    }
  })

  it('refuses absurd inputs instead of returning NaN', () => {
    expect(() => recommendMemory(bench, {rps: -1, sloP99Ms: 500, ...pricing})).toThrow(/rps/)
    expect(() => recommendMemory(bench, {rps: 1, sloP99Ms: Number.NaN, ...pricing})).toThrow(/SLO/)
  })
})

describe('recommendBatch', () => {
  const rec = recommendBatch(bench, {rps: 10, sloP99Ms: 500, ...pricing})

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
    const generous = recommendBatch(bench, {rps: 0.5, sloP99Ms: 5000, ...pricing})
    expect(generous.recommended).toBe(8)
    expect(generous.sqs).toEqual({BatchSize: 8, MaximumBatchingWindowInSeconds: 16})
    expect(batchingWindowSeconds(1000, 0.1)).toBe(300)
    expect(batchingWindowSeconds(1, 5)).toBe(0)
  })

  it('without a batch sweep, names the bench flags that produce one', () => {
    expect(() => recommendBatch(withRuns(bench, (id) => !id.startsWith('batch=')), {rps: 10, sloP99Ms: 500, ...pricing})).toThrow(
      expect.objectContaining({code: 'SAI_BENCH_DATA_MISSING', hint: expect.stringContaining('--batch 1,2,4,8')}),
    )
  })
})

describe('recommendProvisioned', () => {
  it('sizes provisioned concurrency by Erlang-B for the cold-share target', () => {
    const rec = recommendProvisioned(bench, {rps: 10, maxColdRatePct: 1, memoryMb: 2048, ...pricing})
    const run = bench.runs.find((r) => r.id === 'memory=2048')!
    const a = offeredLoad(10, run.warm!.mean / 1000)
    expect(rec.offeredLoad).toBeCloseTo(a, 12)
    expect(rec.provisionedConcurrency).toBe(serversForBlocking(a, 0.01))
    expect(erlangB(rec.provisionedConcurrency, a)).toBeLessThanOrEqual(0.01)
    expect(erlangB(rec.provisionedConcurrency - 1, a)).toBeGreaterThan(0.01)
    expect(rec.coldRatePct.withProvisioned).toBeCloseTo(100 * erlangB(rec.provisionedConcurrency, a), 9)
    expect(rec.coldRatePct.withoutProvisioned).toBe(100)
    expect(rec.monthly.withProvisioned.provisioned).toBeGreaterThan(0)
    // A stricter target needs more environments.
    expect(recommendProvisioned(bench, {rps: 10, maxColdRatePct: 0.01, memoryMb: 2048, ...pricing}).provisionedConcurrency).toBeGreaterThan(rec.provisionedConcurrency)
  })

  it('refuses a cold-share target of 0', () => {
    expect(() => recommendProvisioned(bench, {rps: 10, maxColdRatePct: 0, ...pricing})).toThrow(/max-cold-rate/)
  })
})
