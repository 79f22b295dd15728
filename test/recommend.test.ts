/** `sai recommend` as a user runs it: bin/run.js on the built dist, a bench result on disk. */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {syntheticBenchResult} from './fixtures-bench.js'
import {runSai as run} from './helpers.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-recommend-'))
const benchFile = path.join(dir, 'bench.json')
writeFileSync(benchFile, JSON.stringify(syntheticBenchResult()))

const traceFile = path.join(dir, 'trace.csv')
// Ten bursts of 20 requests, 10 minutes apart: past any keep-alive, so each burst starts cold.
writeFileSync(traceFile, 't_s\n' + Array.from({length: 200}, (_, i) => (Math.floor(i / 20) * 600 + (i % 20) * 0.05).toFixed(2)).join('\n') + '\n')

const json = async (args: string[]) => {
  const {code, stdout, stderr} = await run([...args, '--json'])
  expect(code, stderr).toBe(0)
  return JSON.parse(stdout)
}

describe('sai recommend', () => {
  it('recommends memory, batch size and provisioned concurrency as JSON, with each alternative', async () => {
    const result = await json(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '500'])
    expect(result.function).toBe('ocr-detect')
    expect(result.recommendation).toMatchObject({memoryMB: 2048, batchSize: 2, meetsSlo: true, sqs: {BatchSize: 2, MaximumBatchingWindowInSeconds: 1}})
    expect(result.alternatives.length).toBeGreaterThan(0)
    for (const candidate of [result.recommendation, ...result.alternatives]) {
      for (const field of ['memoryMB', 'batchSize', 'provisionedConcurrency', 'monthlyCostUSD', 'coldStartRate', 'p99Ms']) expect(Number.isFinite(candidate[field]), field).toBe(true)
    }
    expect(result.recommendation.coldStartRate).toBeLessThanOrEqual(0.01)
    expect(result.memory.rejected).toContainEqual(expect.objectContaining({memoryMb: 1024, reason: expect.stringContaining('Sandbox.Timedout')}))
    expect(result.alwaysOn.cheaper).toBe('serverless')
    expect(result.missing).toEqual([])
  }, 60_000)

  it('prints the recommendation first, then the ranked alternatives, on stderr without --json', async () => {
    const {code, stdout, stderr} = await run(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '500'])
    expect(code, stderr).toBe(0)
    expect(stdout).toBe('')
    expect(stderr.indexOf('Recommendation for ocr-detect')).toBeLessThan(stderr.indexOf('Memory, cheapest per 1,000 inferences first'))
    expect(stderr).toContain('2048 MB ★')
    expect(stderr).toContain('MaximumBatchingWindowInSeconds 1')
  }, 60_000)

  it('sizes provisioned concurrency for a bursty trace, and a schedule for a daily profile', async () => {
    const bursty = await json(['recommend', '--bench', benchFile, '--trace', traceFile, '--slo-p99', '5000', '--max-cold-rate', '2'])
    expect(bursty.traffic).toMatchObject({source: 'trace'})
    expect(bursty.provisioned.onDemand.coldStartRate).toBeGreaterThan(0.02)
    expect(bursty.recommendation.provisionedConcurrency).toBeGreaterThan(0)
    expect(bursty.recommendation.coldStartRate).toBeLessThanOrEqual(0.02)
    const profile = path.join(dir, 'diurnal.json')
    writeFileSync(profile, JSON.stringify({hourlyRps: Array.from({length: 24}, (_, h) => (h >= 8 && h < 20 ? 0.5 : 0.005))}))
    const daily = await json(['recommend', '--bench', benchFile, '--profile', profile, '--slo-p99', '5000', '--max-cold-rate', '0.2'])
    expect(daily.traffic.periodic).toBe(true)
    expect(daily.recommendation.provisionedConcurrency).toBeGreaterThan(0)
    expect(daily.recommendation.schedule.length).toBeGreaterThan(0)
    expect(daily.recommendation.autoScaling.metric).toBe('LambdaProvisionedConcurrencyUtilization')
  }, 60_000)

  it('--apply writes the settings into the measured sai.yaml, keeping its comments', async () => {
    const fnDir = mkdtempSync(path.join(os.tmpdir(), 'sai-apply-'))
    const specFile = path.join(fnDir, 'sai.yaml')
    writeFileSync(specFile, '# my function\nname: ocr-detect\nhandler: handler.handler\nmemory: 1024 # tuned by hand\n')
    writeFileSync(path.join(fnDir, 'handler.mjs'), 'export const handler = async () => ({})\n')
    const file = path.join(dir, 'with-spec.json')
    writeFileSync(file, JSON.stringify({...syntheticBenchResult(), spec: {...syntheticBenchResult().spec, specPath: specFile}}))
    const result = await json(['recommend', '--bench', file, '--rps', '10', '--slo-p99', '500', '--apply'])
    expect(result.applied.written).toBe(true)
    const text = readFileSync(specFile, 'utf8')
    expect(text).toMatch(/^# my function\nname: ocr-detect\nhandler: handler.handler\nmemory: 2048 # tuned by hand; set by sai recommend/)
    expect(text).toMatch(/\nbatch: 2 # set by sai recommend/)
    // Nothing meets a 50 ms SLO: refused with exit 3, and the file is left alone.
    const {code, stdout} = await run(['recommend', '--bench', file, '--rps', '10', '--slo-p99', '50', '--apply', '--json'])
    expect(code).toBe(3)
    expect(stdout).toContain('SAI_SLO_UNMET')
    expect(readFileSync(specFile, 'utf8')).toBe(text)
  }, 60_000)

  it('with an SLO nothing meets, says so and shows the closest', async () => {
    const result = await json(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '50'])
    expect(result.recommendation.meetsSlo).toBe(false)
    expect(result.memory.closest).toBe(result.recommendation.memoryMB)
    const {stderr} = await run(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '50'])
    expect(stderr).toContain('closest: no measured size meets the objectives')
  }, 60_000)

  it.each([
    [['--rps', '10', '--trace', traceFile], 'SAI_RECOMMEND_INPUT_INVALID', 'expected exactly one'],
    [['--peak-rps', '10'], 'SAI_RECOMMEND_INPUT_INVALID', '--peak-rps needs --rps'],
    [['--rps', '10', '--peak-rps', '5'], 'SAI_RECOMMEND_INPUT_INVALID', '--peak-rps'],
    [['--rps', '5000000'], 'SAI_RECOMMEND_INPUT_INVALID', 'per second'],
    [['--rps', '10', '--region', 'eu-west-1'], 'SAI_PRICES_MISSING', '--prices'],
  ])('bad traffic or pricing %j exits 1 with %s', async (args, code, text) => {
    const {code: exit, stdout} = await run(['recommend', '--bench', benchFile, '--slo-p99', '500', ...args, '--json'])
    expect(exit).toBe(1)
    expect(stdout).toContain(code)
    expect(stdout).toContain(text)
  }, 60_000)

  it('an empty trace exits 1 with SAI_TRACE_INVALID; a negative rate is a usage error', async () => {
    const empty = path.join(dir, 'empty.csv')
    writeFileSync(empty, '')
    const {code, stdout} = await run(['recommend', '--bench', benchFile, '--trace', empty, '--slo-p99', '500', '--json'])
    expect(code).toBe(1)
    expect(stdout).toContain('SAI_TRACE_INVALID')
    expect((await run(['recommend', '--bench', benchFile, '--rps', '-3', '--slo-p99', '500'])).code).toBe(2)
  }, 60_000)

  it('results of two different models are refused', async () => {
    const other = path.join(dir, 'other.json')
    writeFileSync(other, JSON.stringify({...syntheticBenchResult(), spec: {...syntheticBenchResult().spec, model: 'models/other.onnx'}}))
    const {code, stdout} = await run(['recommend', '--bench', benchFile, '--bench', other, '--rps', '10', '--slo-p99', '500', '--json'])
    expect(code).toBe(1)
    expect(stdout).toContain('SAI_BENCH_RESULT_INVALID')
    expect(stdout).toContain('models/other.onnx')
  }, 60_000)

  it('a file that is not a bench result exits 1 with SAI_BENCH_RESULT_INVALID', async () => {
    const bad = path.join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({schema: 'sai.bench/v0', runs: []}))
    const {code, stdout} = await run(['recommend', '--bench', bad, '--rps', '10', '--slo-p99', '500', '--json'])
    expect(code).toBe(1)
    const error = JSON.parse(stdout)
    expect(JSON.stringify(error)).toContain('SAI_BENCH_RESULT_INVALID')
    expect(JSON.stringify(error)).toContain('bad.json')
  }, 60_000)

  it('names the bench flags for a missing batch sweep and still decides memory', async () => {
    const result = syntheticBenchResult()
    const file = path.join(dir, 'memory-only.json')
    writeFileSync(file, JSON.stringify({...result, runs: result.runs.filter((r) => r.batchSize === 1)}))
    const json_ = await json(['recommend', '--bench', file, '--rps', '10', '--slo-p99', '500'])
    expect(json_.recommendation.memoryMB).toBe(2048)
    expect(json_.missing).toEqual([expect.objectContaining({decision: 'batch', hint: expect.stringContaining('--batch 1,2,4,8')})])
  }, 60_000)
})
