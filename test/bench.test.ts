/**
 * `sai bench` end to end on real functions: the phases, cold and warm kept apart, REPORT figures,
 * sweeps, gates, bad input, and Ctrl-C — through the service, and through the CLI for exit codes
 * and files.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import type {BenchResult, BurstPhase, ColdSeriesPhase, IdleGapsPhase, LoadPhase} from '../src/bench/result.js'
import {bench, type BenchOptions} from '../src/services/bench.js'
import {BIN, FIXTURES, functionDir, ROOT, runSai} from './helpers.js'

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sai-bench-test-'))

function options(overrides: Partial<BenchOptions>): BenchOptions {
  return {
    specPath: path.join(FIXTURES, 'faults'),
    backend: 'process',
    keepAliveSeconds: 600,
    budgets: [],
    regressionThreshold: 0.1,
    signal: new AbortController().signal,
    payload: '{"action": "echo"}',
    ...overrides,
  }
}

const load = (overrides: Partial<NonNullable<BenchOptions['load']>> = {}): NonNullable<BenchOptions['load']> => ({
  connections: 1,
  durationMs: 1000,
  arrival: 'constant',
  ramp: false,
  maxInFlight: 64,
  ...overrides,
})

const run = (args: string[], env: Record<string, string> = {}) => runSai(['bench', ...args], {env})

/**
 * Processes still alive that this process started (bench must leave none), with their command lines;
 * a process on its way out (a zombie, or one exiting this instant) gets a moment to go.
 */
async function leftoverProcesses(): Promise<string[]> {
  const alive = () =>
    readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).flatMap((pid) => {
      try {
        if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return []
        return [`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`]
      } catch {
        return []
      }
    })
  for (let i = 0; i < 20 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
  return alive()
}

describe('sai bench phases', () => {
  it('burst: N cold starts with their phases, then N warm; cold series; closed load — never mixed', async () => {
    const result = await bench(options({burst: 3, coldSamples: 2, load: load({connections: 2})}))
    expect(result.schema).toBe('sai.bench/v1')
    const [base] = result.runs
    expect(base!.id).toBe('base')
    const burst = base!.phases.find((p): p is BurstPhase => p.kind === 'burst')!
    expect(burst.cold?.count).toBe(3)
    expect(burst.warm?.count).toBe(3)
    expect(burst.unexpectedWarm).toBe(0)
    expect(new Set(burst.coldStarts.map((s) => s.envId)).size).toBe(3)
    for (const s of burst.coldStarts) {
      // spawn → process start → runtime ready → init done → first response, in order, all measured.
      expect(s.processStartMs).toBeGreaterThanOrEqual(0)
      expect(s.runtimeReadyMs!).toBeGreaterThanOrEqual(s.processStartMs!)
      expect(s.initDoneMs!).toBeGreaterThanOrEqual(s.runtimeReadyMs!)
      expect(s.firstResponseMs).toBeGreaterThanOrEqual(s.initDoneMs!)
      expect(s.latencyMs).toBeGreaterThanOrEqual(s.firstResponseMs! - s.processStartMs!)
      expect(s.initDurationMs).toBeGreaterThan(0)
      expect(s.maxMemoryUsedMb).toBeGreaterThan(10)
      expect(s.outcome).toBe('success')
    }
    const series = base!.phases.find((p): p is ColdSeriesPhase => p.kind === 'cold-series')!
    expect(series.cold?.count).toBe(2)
    const closed = base!.phases.find((p): p is LoadPhase => p.kind === 'closed')!
    expect(closed.latency!.count).toBeGreaterThan(50)
    expect(closed.cold).toBeUndefined()
    expect(closed.throughput.invokesPerSecond).toBeGreaterThan(50)
    // The run's merged distributions: every cold start, and every warm invoke.
    expect(base!.cold!.count).toBe(5)
    expect(base!.warm!.count).toBe(3 + closed.latency!.count)
    expect(base!.errors.total).toBe(0)
    expect(base!.report!.initDurationMs!.count).toBe(5)
    expect(base!.report!.maxMemoryUsedMb).toBeLessThanOrEqual(256)
    expect(base!.warm!.ci.p50[0]).toBeLessThanOrEqual(base!.warm!.p50)
    expect(base!.warm!.ci.p50[1]).toBeGreaterThanOrEqual(base!.warm!.p50)
    expect(base!.cost!.perThousandInvokes).toBeGreaterThan(0.0002)
    expect(await leftoverProcesses()).toEqual([])
  })

  it('open model at a rate: latency from intended send times, sends accounted', async () => {
    const result = await bench(options({load: load({rate: 50, durationMs: 2000})}))
    const open = result.runs[0]!.phases.find((p): p is LoadPhase => p.kind === 'open')!
    expect(open.invokes).toBeGreaterThanOrEqual(95)
    expect(open.invokes).toBeLessThanOrEqual(101)
    expect(open.sends!.dropped).toBe(0)
    expect(open.rate).toMatchObject({target: 50, arrival: 'constant'})
    expect(open.throughput.invokesPerSecond).toBeGreaterThan(40)
  })

  it('idle gaps: warm within keep-alive, cold after it', async () => {
    const result = await bench(options({keepAliveSeconds: 1, idleGapsMs: [100, 1600]}))
    const phase = result.runs[0]!.phases.find((p): p is IdleGapsPhase => p.kind === 'idle-gaps')!
    expect(phase.probes.map((p) => [p.gapMs, p.cold])).toEqual([
      [100, false],
      [1600, true],
    ])
    expect(phase.probes[1]!.initDurationMs).toBeGreaterThan(0)
  })

  it('memory and batch sweeps: one configuration each, CPU share and cost per item', async () => {
    const result = await bench(options({specPath: path.join(FIXTURES, 'ocr-det'), payload: undefined, memorySizes: [1024, 2048], batchSizes: [1, 2], coldSamples: 1, load: load({durationMs: 1000})}))
    expect(result.runs.map((r) => r.id)).toEqual(['base', 'memory=1024', 'batch=2'])
    const [base, small, batched] = result.runs
    expect(base!.memoryMb).toBe(2048)
    expect(small!.memoryMb).toBe(1024)
    expect(small!.cpu.lambdaVcpus).toBeCloseTo(1024 / 1769, 3)
    expect(batched!.batchSize).toBe(2)
    for (const run of result.runs) expect(run.errors.total).toBe(0)
    // Two items per invoke: each costs half an invoke.
    expect(batched!.cost!.perThousandItems).toBeCloseTo(batched!.cost!.perThousandInvokes / 2, 10)
    const load2 = batched!.phases.find((p): p is LoadPhase => p.kind === 'closed')!
    expect(load2.throughput.itemsPerSecond).toBeCloseTo(2 * load2.throughput.invokesPerSecond, 1)
    expect(result.options.payload).toBe(path.join('events', 'sample.json'))
  })

  it('a sweep point the function rejects as invalid input is skipped, the others still run', async () => {
    const dir = functionDir({
      'sai.yaml': 'name: unbatched\nhandler: handler.handler\nmemory: 512\n',
      'handler.mjs': "export const handler = async (event) => { if (event.batch) { const e = new Error('this model cannot stack a batch'); e.name = 'Sai.InvalidInput'; throw e } return {ok: true} }\n",
      'events/sample.json': '{"x": 1}',
    })
    const result = await bench(options({specPath: dir, payload: undefined, batchSizes: [1, 2], coldSamples: 1}))
    expect(result.runs.map((r) => [r.id, r.skipped])).toEqual([
      ['base', undefined],
      ['batch=2', 'unbatched rejects the bench payload in batches of 2 (Sai.InvalidInput): this model cannot stack a batch'],
    ])
    expect(result.runs[0]!.cold!.count).toBe(1)
  })

  it('a function that fails every invoke: errors are counted by type, and the run completes', async () => {
    const result = await bench(options({payload: '{"action": "throw"}', burst: 2, load: load({durationMs: 500})}))
    const base = result.runs[0]!
    expect(base.errors.total).toBe(base.invokes)
    expect(base.errors.byType).toEqual({TypeError: base.invokes})
    expect(base.cold!.count).toBe(2)
  })
})

describe('sai bench gates', () => {
  it('budgets pass and fail against what was measured; baselines compare by bootstrap', async () => {
    const dir = tmp()
    const fast = await bench(options({payload: '{"action": "context", "sleepMs": 2}', load: load({durationMs: 1500}), budgets: [
      {metric: 'warm.p50', limit: '1s', value: 1000, unit: 'ms', bound: 'upper', needs: 'warm', source: 'flag'},
      {metric: 'warm.p99', limit: '1us', value: 0.001, unit: 'ms', bound: 'upper', needs: 'warm', source: 'flag'},
      {metric: 'errors', limit: '0%', value: 0, unit: '%', bound: 'upper', needs: 'any', source: 'flag'},
    ]}))
    expect(fast.budgets.map((b) => [b.metric, b.passed])).toEqual([['warm.p50', true], ['warm.p99', false], ['errors', true]])
    expect(fast.passed).toBe(false)
    writeFileSync(path.join(dir, 'fast.json'), JSON.stringify(fast))

    const same = await bench(options({payload: '{"action": "context", "sleepMs": 2}', load: load({durationMs: 1500}), baselinePath: path.join(dir, 'fast.json')}))
    const slow = await bench(options({payload: '{"action": "context", "sleepMs": 12}', load: load({durationMs: 1500}), baselinePath: path.join(dir, 'fast.json')}))
    const warm50 = (r: BenchResult) => r.baseline!.checks.find((c) => c.metric === 'warm.p50')!
    expect(warm50(same).failed).toBe(false)
    expect(warm50(slow)).toMatchObject({verdict: 'regression', significant: true, failed: true})
    expect(warm50(slow).ratio).toBeGreaterThan(2)
    expect(slow.baseline!.method).toMatch(/bootstrap/)
    expect(slow.passed).toBe(false)
  })
})

describe('sai bench CLI', () => {
  it('a broken budget exits 3 and writes --json, --junit and the GitHub step summary', async () => {
    const dir = tmp()
    const summary = path.join(dir, 'summary.md')
    const out = await run(['--spec', 'fixtures/faults', '--payload', '{"action":"echo"}', '--burst', '2', '--budget', 'cold.p99=1us', '--budget', 'errors=1%', '--json', path.join(dir, 'r.json'), '--junit', path.join(dir, 'junit.xml'), '--html', path.join(dir, 'r.html')], {GITHUB_STEP_SUMMARY: summary})
    expect(out.code, out.stderr).toBe(3)
    expect(out.stderr).toMatch(/Budgets/)
    expect(out.stderr).toMatch(/FAIL/)
    const result = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as BenchResult
    expect(result.budgets.map((b) => b.passed)).toEqual([false, true])
    const junit = readFileSync(path.join(dir, 'junit.xml'), 'utf8')
    expect(junit).toContain('tests="2" failures="1"')
    expect(junit).toMatch(/<failure message="cold.p99 is [\d.]+ ms, the budget is at most 1us"/)
    expect(readFileSync(summary, 'utf8')).toMatch(/## sai bench: faults — ❌ 1 gate\(s\) failed/)
    const html = readFileSync(path.join(dir, 'r.html'), 'utf8')
    for (const chart of ['cdf-base', 'cold-phases-base']) expect(html).toContain(`data-chart="${chart}"`)
    expect(out.stderr).toMatch(/CPU: 0\.14 vCPU, as on Lambda|CPU: NOT limited/)
  })

  it('--json - prints the result on stdout; an unknown budget metric or unit is a clear error (exit 1)', async () => {
    const ok = await run(['--spec', 'fixtures/faults', '--payload', '{}', '--cold-samples', '1', '--json', '-'])
    expect(ok.code, ok.stderr).toBe(0)
    expect((JSON.parse(ok.stdout) as BenchResult).runs[0]!.cold!.count).toBe(1)

    const metric = await run(['--spec', 'fixtures/faults', '--budget', 'cold.p98=1s'])
    expect(metric.code).toBe(1)
    expect(metric.stderr).toMatch(/unknown budget metric "cold.p98" \(did you mean "cold.p90"\?\)/)
    expect(metric.stderr).toMatch(/SAI_BUDGET_INVALID/)
    const unit = await run(['--spec', 'fixtures/faults', '--budget', 'warm.p99=3 parsecs', '--json', '-'])
    expect(unit.code).toBe(1)
    expect(JSON.parse(unit.stdout)).toMatchObject({error: {code: 'SAI_BUDGET_INVALID'}})
    const unmeasured = await run(['--spec', 'fixtures/faults', '--burst', '1', '--budget', 'throughput=10req/s'])
    expect(unmeasured.code).toBe(1)
    expect(unmeasured.stderr).toMatch(/needs load measurements/)
  })

  it('a payload that does not match the model stops with the function\'s own message', async () => {
    const out = await run(['--spec', 'fixtures/ocr-det', '--payload', '{"inputs": {"x": {"dims": [1, 3], "data": [1, 2, 3]}}}', '--cold-samples', '1'])
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/SAI_PAYLOAD_MISMATCH/)
    expect(out.stderr).toMatch(/ocr-det rejects the bench payload \(Sai.InvalidInput\)/)
  })

  it('Ctrl-C stops the run, leaves no environment, and writes the partial result (exit 130)', async () => {
    const dir = tmp()
    const file = path.join(dir, 'partial.json')
    const child = spawn(process.execPath, [BIN, 'bench', '--spec', 'fixtures/faults', '--payload', '{"action":"context","sleepMs":5}', '--connections', '2', '--duration', '60s', '--json', file], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const pids = new Set<string>()
    // Wait until the load phase runs, noting the runtimes it started.
    for (let i = 0; i < 200 && !/closed model/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 700))
    for (const pid of readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)) if (pid) pids.add(pid)
    expect(pids.size).toBeGreaterThan(0)
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(130)
    const partial = JSON.parse(readFileSync(file, 'utf8')) as BenchResult
    expect(partial.interrupted).toBe(true)
    expect(partial.runs[0]!.warm!.count).toBeGreaterThan(0)
    for (const pid of pids) expect(existsSync(`/proc/${pid}`) && !/ Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false)
  })
})
