/** `sai recommend` as a user runs it: bin/run.js on the built dist, a bench result on disk. */
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {syntheticBenchResult} from './fixtures-bench.js'
import {ROOT} from './helpers.js'

const BIN = path.join(ROOT, 'bin/run.js')

function run(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env: {...process.env, NO_COLOR: '1'}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-recommend-'))
const benchFile = path.join(dir, 'bench.json')
writeFileSync(benchFile, JSON.stringify(syntheticBenchResult()))

describe('sai recommend', () => {
  it('recommends memory, batch size and provisioned concurrency as JSON', async () => {
    const {code, stdout, stderr} = await run(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '500', '--json'])
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(result.function).toBe('ocr-detect')
    expect(result.summary).toMatchObject({memoryMB: 2048, batchSize: 2, meetsSlo: true})
    expect(result.summary.provisionedConcurrency).toBeGreaterThan(0)
    expect(result.summary.monthlyCostUSD).toBeGreaterThan(0)
    expect(result.summary.coldStartRate).toBeLessThanOrEqual(0.01)
    expect(result.memory.rejected).toContainEqual(expect.objectContaining({memoryMb: 1024, reason: expect.stringContaining('Sandbox.Timedout')}))
    expect(result.batch.sqs).toEqual({BatchSize: 2, MaximumBatchingWindowInSeconds: 1})
    expect(result.missing).toEqual([])
  }, 60_000)

  it('prints tables on stderr without --json', async () => {
    const {code, stdout, stderr} = await run(['recommend', '--bench', benchFile, '--rps', '10', '--slo-p99', '500'])
    expect(code, stderr).toBe(0)
    expect(stdout).toBe('')
    expect(stderr).toContain('2048 MB ★')
    expect(stderr).toContain('MaximumBatchingWindowInSeconds 1')
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
    const {code, stdout, stderr} = await run(['recommend', '--bench', file, '--rps', '10', '--slo-p99', '500', '--json'])
    expect(code, stderr).toBe(0)
    const json = JSON.parse(stdout)
    expect(json.summary.memoryMB).toBe(2048)
    expect(json.missing).toEqual([expect.objectContaining({decision: 'batch', hint: expect.stringContaining('--batch 1,2,4,8')})])
  }, 60_000)
})
