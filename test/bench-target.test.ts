/**
 * `sai bench --target lambda:NAME` end to end: a zip built by `sai package`, created on `sai emulate`
 * through its control plane with the real AWS SDK, then measured by the CLI through the Lambda API
 * — forced cold starts with their REPORT figures, warm load (closed and open), a memory sweep, a
 * qualifier — and the function's own configuration put back afterwards, even after Ctrl-C.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BenchResult, BurstPhase, ColdSeriesPhase, LoadPhase} from '../src/bench/result.js'
import {emulate, FIXTURES, runSai as sai, type SaiRun as Run} from './helpers.js'

const work = mkdtempSync(path.join(os.tmpdir(), 'sai-bench-target-'))
const ROLE = 'arn:aws:iam::000000000000:role/sai-test'
const VARIABLES = {GREETING: 'hi', MODE: 'bench-test'}

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as BenchResult
const errorOf = (run: Run) => (JSON.parse(run.stdout) as {error: {code: string; message: string; hint: string}}).error

describe('sai bench --target, against sai emulate through the Lambda API', () => {
  let env: Awaited<ReturnType<typeof emulate>>
  let url: string
  const configuration = () => env.client.send(new GetFunctionConfigurationCommand({FunctionName: 'noop'}))

  beforeAll(async () => {
    const zip = path.join(work, 'noop.zip')
    const packaged = await sai(['package', '--spec', path.join(FIXTURES, 'noop'), '--output', `zip:${zip}`])
    expect(packaged.code, packaged.stderr).toBe(0)
    // No startup functions: noop exists only because CreateFunction made it.
    env = await emulate([])
    url = env.endpoint.url
    await env.client.send(
      new CreateFunctionCommand({FunctionName: 'noop', Role: ROLE, PackageType: 'Zip', Runtime: 'nodejs22.x', Handler: 'sai-handler.handler', Code: {ZipFile: readFileSync(zip)}, MemorySize: 1024, Timeout: 3, Environment: {Variables: VARIABLES}}),
    )
    await waitUntilFunctionActiveV2({client: env.client, maxWaitTime: 60, minDelay: 1, maxDelay: 2}, {FunctionName: 'noop'})
  }, 120_000)

  afterAll(async () => {
    await env?.close()
    rmSync(work, {recursive: true, force: true})
  })

  it('forces K cold starts (REPORT with Init Duration), then warm load with REPORT figures; the environment is put back', async () => {
    const file = path.join(work, 'cold.json')
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--cold-samples', '3', '--connections', '2', '--duration', '2s', '--json', file])
    expect(run.code, run.stderr).toBe(0)
    const result = readResult(file)
    expect(result.schema).toBe('sai.bench/v1')
    expect(result.spec).toMatchObject({name: 'noop', specPath: 'lambda:noop', memory: 1024, timeout: 3, runtime: 'nodejs22.x', handler: 'sai-handler.handler'})
    expect(result.environment.backend.target).toEqual({
      kind: 'lambda',
      functionName: 'noop',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:noop',
      endpoint: url,
      region: 'us-east-1',
      local: true,
      packageType: 'Zip',
    })
    expect(result.options.keepAliveSeconds).toBeUndefined()
    const [base] = result.runs
    expect(base).toMatchObject({id: 'base', memoryMb: 1024, errors: {total: 0}})

    const series = base!.phases.find((p): p is ColdSeriesPhase => p.kind === 'cold-series')!
    expect(series.cold?.count).toBe(3)
    expect(series.coldStarts).toHaveLength(3)
    for (const sample of series.coldStarts) {
      expect(sample.initDurationMs).toBeGreaterThan(0)
      // INIT is billed on a cold start: ceil(Duration + Init Duration).
      expect(sample.billedDurationMs).toBeGreaterThanOrEqual(Math.floor(sample.initDurationMs!))
      expect(sample.maxMemoryUsedMb).toBeGreaterThan(10)
      expect(sample.latencyMs).toBeGreaterThan(sample.initDurationMs!)
      expect(sample.outcome).toBe('success')
      // The Invoke API does not name the environment, and there are no spawn marks from afar.
      expect(sample.envId).toBeUndefined()
      expect(sample.firstResponseMs).toBeUndefined()
    }
    expect(new Set(series.coldStarts.map((s) => s.requestId)).size).toBe(3)

    const load = base!.phases.find((p): p is LoadPhase => p.kind === 'closed')!
    expect(load.connections).toBe(2)
    expect(load.latency!.count).toBeGreaterThan(50)
    expect(load.throughput.invokesPerSecond).toBeGreaterThan(20)
    expect(load.report!.durationMs.p50).toBeGreaterThan(0)
    expect(load.report!.billedDurationMs.p50).toBeGreaterThanOrEqual(1)
    expect(load.report!.maxMemoryUsedMb).toBeGreaterThan(10)
    // Cold and warm never mixed: the REPORT Init Durations are exactly the cold starts'.
    expect(base!.report!.initDurationMs!.count).toBe(base!.cold!.count)
    expect(base!.warm!.count).toBe(load.latency!.count)
    expect(base!.cost!.perThousandInvokes).toBeGreaterThan(0)

    const after = await configuration()
    expect(after.Environment?.Variables).toEqual(VARIABLES)
    expect(after.MemorySize).toBe(1024)
    expect(after.LastUpdateStatus).toBe('Successful')
  }, 120_000)

  it('burst and a memory sweep: each size measured at that size, and the memory put back', async () => {
    const file = path.join(work, 'sweep.json')
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--burst', '2', '--memory', '512', '--json', file])
    expect(run.code, run.stderr).toBe(0)
    const result = readResult(file)
    expect(result.runs.map((r) => [r.id, r.memoryMb])).toEqual([
      ['base', 1024],
      ['memory=512', 512],
    ])
    for (const r of result.runs) {
      const burst = r.phases.find((p): p is BurstPhase => p.kind === 'burst')!
      expect(burst.cold?.count, r.id).toBe(2)
      expect(burst.warm?.count, r.id).toBe(2)
      expect(burst.unexpectedWarm).toBe(0)
      expect(r.cpu).toMatchObject({lambdaVcpus: r.memoryMb / 1769})
    }
    const after = await configuration()
    expect(after.MemorySize).toBe(1024)
    expect(after.Environment?.Variables).toEqual(VARIABLES)
  }, 120_000)

  it('the open model sends through the SDK at its own times', async () => {
    const file = path.join(work, 'open.json')
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--rate', '20', '--duration', '1s', '--json', file])
    expect(run.code, run.stderr).toBe(0)
    const open = readResult(file).runs[0]!.phases.find((p): p is LoadPhase => p.kind === 'open')!
    expect(open.invokes).toBe(20)
    expect(open.sends).toMatchObject({dropped: 0})
    expect(open.errors.total).toBe(0)
    expect(open.latency!.count + (open.cold?.count ?? 0)).toBe(20)
  }, 60_000)

  it('a published version through an alias: warm phases only, and cold phases refused before any call', async () => {
    const version = await env.client.send(new PublishVersionCommand({FunctionName: 'noop'}))
    await waitUntilPublishedVersionActive({client: env.client, maxWaitTime: 60, minDelay: 1, maxDelay: 2}, {FunctionName: 'noop', Qualifier: version.Version})
    await env.client.send(new CreateAliasCommand({FunctionName: 'noop', Name: 'live', FunctionVersion: version.Version}))

    const refused = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--qualifier', 'live', '--cold-samples', '3', '--json', '-'])
    expect(refused.code).toBe(1)
    const error = errorOf(refused)
    expect(error.code).toBe('SAI_BENCH_OPTIONS_INVALID')
    expect(error.message).toContain('noop:live')
    expect(error.message).toContain('published version')
    expect(error.hint).toContain('$LATEST')
    expect(error.hint).toContain('warm phases only')

    // With no phase flag, a qualifier gets the load alone (no cold samples).
    const file = path.join(work, 'alias.json')
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--qualifier', 'live', '--duration', '1s', '--json', file])
    expect(run.code, run.stderr).toBe(0)
    const result = readResult(file)
    expect(result.environment.backend.target).toMatchObject({qualifier: 'live'})
    expect(result.options.coldSamples).toBeUndefined()
    expect(result.runs[0]!.phases.map((p) => p.kind)).toEqual(['closed'])
    expect(result.runs[0]!.warm!.count).toBeGreaterThan(10)
  }, 120_000)

  it('budgets gate a target as they gate the emulator (exit 3); a SAI_BENCH_COLD left by a killed run is cleaned up', async () => {
    await env.client.send(new UpdateFunctionConfigurationCommand({FunctionName: 'noop', Environment: {Variables: {...VARIABLES, SAI_BENCH_COLD: 'left-by-a-killed-run'}}}))
    await waitUntilFunctionUpdatedV2({client: env.client, maxWaitTime: 60, minDelay: 1, maxDelay: 2}, {FunctionName: 'noop'})
    const file = path.join(work, 'gated.json')
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--cold-samples', '1', '--budget', 'cold.p99=1us', '--junit', path.join(work, 'junit.xml'), '--json', file])
    expect(run.code, run.stderr).toBe(3)
    const result = readResult(file)
    expect(result.passed).toBe(false)
    expect(result.budgets).toMatchObject([{metric: 'cold.p99', passed: false, source: 'flag'}])
    expect(readFileSync(path.join(work, 'junit.xml'), 'utf8')).toContain('cold.p99')
    expect((await configuration()).Environment?.Variables).toEqual(VARIABLES)
  }, 60_000)

  it('Ctrl-C stops the run (exit 130), writes what was measured, and still puts the environment back', async () => {
    const file = path.join(work, 'interrupted.json')
    let sent = false
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--cold-samples', '50', '--json', file], {onStderr: (stderr, child) => {
      // Interrupt mid-series, once at least one forced cold start has been measured (the first progress line).
      if (!sent && /cold series\.\.\./.test(stderr)) {
        sent = true
        child.kill('SIGINT')
      }
    }})
    expect(sent, run.stderr).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    const result = readResult(file)
    expect(result.interrupted).toBe(true)
    expect(result.runs[0]!.cold!.count).toBeLessThan(50)
    const after = await configuration()
    expect(after.Environment?.Variables).toEqual(VARIABLES)
    expect(after.LastUpdateStatus).toBe('Successful')
  }, 120_000)

  it('a missing function: exit 1, SAI_TARGET_NOT_FOUND naming it, the endpoint and the fix', async () => {
    const run = await sai(['bench', '--target', 'lambda:nope', '--endpoint-url', url, '--duration', '1s', '--json', '-'])
    expect(run.code).toBe(1)
    const error = errorOf(run)
    expect(error.code).toBe('SAI_TARGET_NOT_FOUND')
    expect(error.message).toContain('nope')
    expect(error.message).toContain(url)
    expect(error.hint).toContain('sai deploy')
  })
})

describe('sai bench --target: usage and unreachable endpoints', () => {
  it('an endpoint where nothing listens: exit 1, SAI_AWS_UNREACHABLE naming the URL', async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const url = `http://127.0.0.1:${port}`
    const run = await sai(['bench', '--target', 'lambda:noop', '--endpoint-url', url, '--duration', '1s', '--json', '-'])
    expect(run.code).toBe(1)
    const error = errorOf(run)
    expect(error.code).toBe('SAI_AWS_UNREACHABLE')
    expect(error.message).toContain(url)
    expect(error.hint).toContain('sai emulate')
  })

  it('--target cannot be combined with the emulator\'s options, nor --qualifier used without it (exit 2)', async () => {
    for (const args of [
      ['--target', 'lambda:noop', '--spec', 'fixtures/noop'],
      ['--target', 'lambda:noop', '--backend', 'docker'],
      ['--target', 'lambda:noop', '--keep-alive', '5'],
      ['--qualifier', 'live'],
    ]) {
      const run = await sai(['bench', ...args])
      expect(run.code, args.join(' ')).toBe(2)
    }
  })

  it('a --target that is not lambda:<name> is refused with the syntax', async () => {
    const run = await sai(['bench', '--target', 'noop', '--json', '-'])
    expect(run.code).toBe(1)
    expect(errorOf(run)).toMatchObject({code: 'SAI_BENCH_OPTIONS_INVALID'})
    expect(errorOf(run).hint).toContain('lambda:<function-name>')
  })
})
