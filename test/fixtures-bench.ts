/**
 * A realistic BenchResult without running a bench: latencies drawn from seeded log-normals shaped
 * like an ONNX function on Lambda (latency falls with the CPU share up to one vCPU, cold starts are
 * dominated by the model load), recorded into real HDR histograms the way the bench records them.
 */
import {build, encodeIntoCompressedBase64} from 'hdr-histogram-js'
import {BENCH_SCHEMA, type BenchResult, type ColdStartSample, type Distribution, type ErrorCounts, type LoadPhase, type Phase, type ReportSummary, type RunResult} from '../src/bench/result.js'
import {mulberry32, type Rng} from '../src/bench/random.js'

const HOST_CORES = 2
const PRICING = {region: 'us-east-1', architecture: 'x86_64' as const, perGbSecond: 0.0000166667, perRequest: 0.0000002}

const logNormal = (rng: Rng, medianMs: number, sigma: number) => medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()))
/** Mostly log-normal, with a small share of slow outliers (GC, a noisy neighbour) as real runs have. */
const latency = (rng: Rng, medianMs: number) => logNormal(rng, medianMs, 0.16) * (rng() < 0.004 ? 1.6 + rng() * 1.4 : 1)

export function distribution(samplesMs: number[]): Distribution | undefined {
  if (samplesMs.length === 0) return undefined
  const histogram = build({lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3})
  for (const ms of samplesMs) histogram.recordValue(Math.max(1, Math.round(ms * 1000)))
  const at = (p: number) => histogram.getValueAtPercentile(p) / 1000
  const sorted = [...samplesMs].sort((a, b) => a - b)
  // Distribution-free interval for a quantile: the order statistics ±1.96 binomial standard deviations around its rank.
  const ci = (q: number): [number, number] => {
    const spread = 1.96 * Math.sqrt(sorted.length * q * (1 - q))
    const rank = (r: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(r)))]!
    return [rank(sorted.length * q - spread - 1), rank(sorted.length * q + spread)]
  }
  return {
    count: histogram.totalCount,
    min: histogram.minNonZeroValue / 1000,
    mean: histogram.mean / 1000,
    stddev: histogram.stdDeviation / 1000,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: at(100),
    ci: {p50: ci(0.5), p99: ci(0.99)},
    hdr: encodeIntoCompressedBase64(histogram),
  }
}

const lambdaVcpus = (memoryMb: number) => Math.min(6, memoryMb / 1769)
/** Single-threaded inference: faster with more CPU up to one core, then flat. */
const warmMedianMs = (memoryMb: number, batch: number) => 22 + (95 / Math.min(1, lambdaVcpus(memoryMb))) * batch ** 0.78

function coldStart(rng: Rng, run: {memoryMb: number; batchSize: number}, id: string, contention = 1): ColdStartSample {
  const cpu = Math.min(1, lambdaVcpus(run.memoryMb))
  const processStartMs = logNormal(rng, 26, 0.25) * contention
  const runtimeReadyMs = processStartMs + logNormal(rng, 55 / Math.sqrt(cpu), 0.2) * contention
  const initDoneMs = runtimeReadyMs + logNormal(rng, 380 / cpu, 0.14) * contention
  const firstResponseMs = initDoneMs + latency(rng, warmMedianMs(run.memoryMb, run.batchSize) * 1.35)
  // Since 2025-08-01 INIT is billed too: ceil(Duration + Init Duration).
  const billedDurationMs = Math.ceil(firstResponseMs - initDoneMs + (initDoneMs - processStartMs))
  return {
    requestId: `req-${id}`,
    envId: `env-${id}`,
    latencyMs: firstResponseMs + logNormal(rng, 2.5, 0.3),
    processStartMs,
    runtimeReadyMs,
    initDoneMs,
    firstResponseMs,
    initDurationMs: initDoneMs - processStartMs,
    billedDurationMs,
    maxMemoryUsedMb: Math.round(140 + 60 * run.batchSize ** 0.5 + rng() * 12),
    outcome: 'success',
  }
}

function errorCounts(byType: Record<string, number>): ErrorCounts {
  return {total: Object.values(byType).reduce((sum, n) => sum + n, 0), byType}
}

interface Measured {
  phase: Phase
  cold: number[]
  warm: number[]
  coldStarts: ColdStartSample[]
}

function reportSummary(warmMs: number[], coldStarts: ColdStartSample[], memoryMb: number): ReportSummary {
  const durations = warmMs.map((ms) => ms - 1.8)
  const billed = [...durations.map(Math.ceil), ...coldStarts.map((c) => c.billedDurationMs)]
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
    return {mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length), p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0}
  }
  return {
    initDurationMs: distribution(coldStarts.flatMap((c) => (c.initDurationMs === undefined ? [] : [c.initDurationMs]))),
    billedDurationMs: stats(billed),
    durationMs: stats(durations),
    maxMemoryUsedMb: Math.min(memoryMb, Math.max(0, ...coldStarts.map((c) => c.maxMemoryUsedMb)) + 9),
  }
}

function burst(rng: Rng, run: RunSetup, size: number): Measured {
  // Concurrent starts share the host's cores, so each phase takes longer than in a series.
  const coldStarts = Array.from({length: size}, (_, i) => coldStart(rng, run, `${run.id}-burst-${i}`, 1 + size / (4 * HOST_CORES)))
  const warm = Array.from({length: size}, () => latency(rng, warmMedianMs(run.memoryMb, run.batchSize)) * 1.3)
  const cold = coldStarts.map((c) => c.latencyMs)
  const wallMs = Math.max(...cold) + Math.max(...warm) + 40
  return {
    phase: {kind: 'burst', size, wallMs, errors: errorCounts({}), invokes: size * 2, cold: distribution(cold), warm: distribution(warm), coldStarts, unexpectedWarm: 0, report: reportSummary(warm, coldStarts, run.memoryMb)},
    cold,
    warm,
    coldStarts,
  }
}

function coldSeries(rng: Rng, run: RunSetup, samples: number): Measured {
  const coldStarts = Array.from({length: samples}, (_, i) => coldStart(rng, run, `${run.id}-series-${i}`))
  const cold = coldStarts.map((c) => c.latencyMs)
  return {
    phase: {kind: 'cold-series', wallMs: cold.reduce((s, v) => s + v + 60, 0), errors: errorCounts({}), invokes: samples, cold: distribution(cold), coldStarts, report: reportSummary([], coldStarts, run.memoryMb)},
    cold,
    warm: [],
    coldStarts,
  }
}

function closed(rng: Rng, run: RunSetup, connections: number, durationMs: number, errors: Record<string, number> = {}): Measured {
  // Connections beyond the host's cores queue for CPU, which shows up as latency.
  const median = warmMedianMs(run.memoryMb, run.batchSize) * Math.max(1, (connections * Math.min(1, lambdaVcpus(run.memoryMb))) / HOST_CORES)
  const warm: number[] = []
  for (let elapsed = 0; elapsed < durationMs * connections; ) {
    const ms = latency(rng, median)
    warm.push(ms)
    elapsed += ms
  }
  const failed = errorCounts(errors)
  const invokesPerSecond = warm.length / (durationMs / 1000)
  return {
    phase: {
      kind: 'closed',
      connections,
      durationMs,
      wallMs: durationMs + 180,
      errors: failed,
      invokes: warm.length + failed.total,
      latency: distribution(warm),
      coldStarts: [],
      throughput: {invokesPerSecond, itemsPerSecond: invokesPerSecond * run.batchSize},
      report: reportSummary(warm, [], run.memoryMb),
    },
    cold: [],
    warm,
    coldStarts: [],
  }
}

function open(rng: Rng, run: RunSetup, target: number, durationMs: number): Measured {
  const warm = Array.from({length: Math.round((target * durationMs) / 1000) - 1}, () => latency(rng, warmMedianMs(run.memoryMb, run.batchSize)))
  const invokesPerSecond = warm.length / (durationMs / 1000)
  return {
    phase: {
      kind: 'open',
      connections: 16,
      durationMs,
      wallMs: durationMs + 220,
      rate: {target, arrival: 'poisson', ramp: false},
      sends: {lateness: {p50: 0.08, p99: 0.9, max: 3.4}, late: 3, dropped: 1},
      errors: errorCounts({}),
      invokes: warm.length,
      latency: distribution(warm),
      coldStarts: [],
      throughput: {invokesPerSecond, itemsPerSecond: invokesPerSecond * run.batchSize},
      report: reportSummary(warm, [], run.memoryMb),
    },
    cold: [],
    warm,
    coldStarts: [],
  }
}

function idleGaps(rng: Rng, run: RunSetup, gapsMs: number[], keepAliveSeconds: number): Measured {
  const probes = gapsMs.map((gapMs, i) => {
    if (gapMs < keepAliveSeconds * 1000) return {gapMs, cold: false, latencyMs: latency(rng, warmMedianMs(run.memoryMb, run.batchSize)), outcome: 'success'}
    const start = coldStart(rng, run, `${run.id}-gap-${i}`)
    return {gapMs, cold: true, latencyMs: start.latencyMs, initDurationMs: start.initDurationMs, outcome: 'success'}
  })
  return {
    phase: {kind: 'idle-gaps', keepAliveSeconds, probes, wallMs: gapsMs.reduce((s, g) => s + g, 0) + 4000, errors: errorCounts({}), invokes: probes.length},
    cold: probes.filter((p) => p.cold).map((p) => p.latencyMs),
    warm: probes.filter((p) => !p.cold).map((p) => p.latencyMs),
    coldStarts: [],
  }
}

interface RunSetup {
  id: string
  memoryMb: number
  batchSize: number
}

function run(setup: RunSetup, measured: Measured[], enforcement: string | null): RunResult {
  const cold = measured.flatMap((m) => m.cold)
  const warm = measured.flatMap((m) => m.warm)
  const coldStarts = measured.flatMap((m) => m.coldStarts)
  const byType: Record<string, number> = {}
  for (const m of measured) for (const [type, n] of Object.entries(m.phase.errors.byType)) byType[type] = (byType[type] ?? 0) + n
  const report = reportSummary(warm, coldStarts, setup.memoryMb)
  const perThousandInvokes = 1000 * ((report.billedDurationMs.mean / 1000) * (setup.memoryMb / 1024) * PRICING.perGbSecond + PRICING.perRequest)
  const share = lambdaVcpus(setup.memoryMb)
  return {
    ...setup,
    cpu: {lambdaVcpus: share, vcpus: Math.min(share, HOST_CORES), capped: share > HOST_CORES, enforcement},
    phases: measured.map((m) => m.phase),
    cold: distribution(cold),
    warm: distribution(warm),
    errors: errorCounts(byType),
    invokes: measured.reduce((s, m) => s + m.phase.invokes, 0),
    report,
    cost: {perThousandInvokes, perThousandItems: perThousandInvokes / setup.batchSize, pricing: PRICING},
  }
}

export interface SyntheticOptions {
  name?: string
  seed?: number
  /** null: a backend that cannot limit CPU (the process backend). */
  cpuEnforcement?: string | null
  interrupted?: boolean
}

export function syntheticBenchResult(options: SyntheticOptions = {}): BenchResult {
  const rng = mulberry32(options.seed ?? 20261127)
  const enforcement = options.cpuEnforcement === undefined ? 'cgroup cpu.max (docker --cpus)' : options.cpuEnforcement
  const memories = [512, 1024, 2048, 3008]
  const batches = [1, 2, 4, 8]
  const baseSetup = {id: 'base', memoryMb: 1024, batchSize: 1}
  const base = run(
    baseSetup,
    [
      burst(rng, baseSetup, 10),
      coldSeries(rng, baseSetup, 8),
      closed(rng, baseSetup, 4, 30_000, {'Sandbox.Timedout': 1, Throttled: 2}),
      open(rng, baseSetup, 12, 20_000),
      idleGaps(rng, baseSetup, [1_000, 60_000, 300_000, 900_000], 600),
    ],
    enforcement,
  )
  // As the service plans them: the base run is the sweeps' shared point (1024 MB, batch 1), not repeated.
  const memoryRuns = memories.filter((m) => m !== baseSetup.memoryMb).map((memoryMb) => {
    const setup = {id: `memory=${memoryMb}`, memoryMb, batchSize: 1}
    return run(setup, [coldSeries(rng, setup, 5), closed(rng, setup, 2, 15_000)], enforcement)
  })
  const batchRuns = batches.filter((b) => b !== 1).map((batchSize) => {
    const setup = {id: `batch=${batchSize}`, memoryMb: 1024, batchSize}
    return run(setup, [closed(rng, setup, 2, 15_000, batchSize === 8 ? {'Sai.InvalidInput': 1} : {})], enforcement)
  })
  const warmP99 = base.warm!.p99
  const throughput = base.phases.find((p): p is LoadPhase => p.kind === 'closed')!.throughput.invokesPerSecond
  const coldP99 = base.cold!.p99
  const budgets: BenchResult['budgets'] = [
    {metric: 'cold.p99', limit: '2s', limitValue: 2000, bound: 'upper', unit: 'ms', actual: coldP99, passed: coldP99 <= 2000, source: 'spec'},
    {metric: 'warm.p99', limit: '450ms', limitValue: 450, bound: 'upper', unit: 'ms', actual: warmP99, passed: warmP99 <= 450, source: 'spec'},
    {metric: 'errors', limit: '0.1%', limitValue: 0.1, bound: 'upper', unit: '%', actual: (100 * base.errors.total) / base.invokes, passed: base.errors.total / base.invokes <= 0.001, source: 'flag'},
    {metric: 'throughput', limit: '15req/s', limitValue: 15, bound: 'lower', unit: 'req/s', actual: throughput, passed: throughput >= 15, source: 'flag'},
  ]
  const check = (metric: string, current: number, ratio: number, ci: [number, number]): NonNullable<BenchResult['baseline']>['checks'][number] => {
    const significant = ci[0] > 1 || ci[1] < 1
    const verdict = !significant ? 'no significant difference' : ratio > 1 ? 'regression' : 'improvement'
    return {metric, baseline: current / ratio, current, ratio, ci, significant, verdict, failed: verdict === 'regression' && ratio > 1.1}
  }
  const baseline = {
    file: 'bench/baseline.json',
    threshold: 0.1,
    method: 'bootstrap of the quantile ratio, 2000 resamples',
    checks: [check('warm.p50', base.warm!.p50, 1.02, [0.98, 1.06]), check('warm.p99', warmP99, 1.24, [1.12, 1.37]), check('cold.p50', base.cold!.p50, 0.91, [0.84, 0.97])],
  }
  const runs = [base, ...memoryRuns, ...batchRuns]
  return {
    schema: BENCH_SCHEMA,
    startedAt: '2026-11-27T14:02:11.412Z',
    finishedAt: '2026-11-27T14:41:57.090Z',
    interrupted: options.interrupted ?? false,
    environment: {
      hostname: 'bench-01',
      platform: 'linux',
      arch: 'x64',
      cpuModel: 'AMD EPYC 7B13',
      cores: HOST_CORES,
      memoryMb: 7936,
      backend: {
        name: enforcement ? 'docker' : 'process',
        memoryEnforcement: enforcement ? 'cgroup memory.max (docker --memory)' : 'RLIMIT_AS on the runtime process',
        cpuEnforcement: enforcement,
        notes: enforcement ? ['Environments share the host network (--network host).'] : ['The process backend cannot limit CPU: every size gets all host cores.'],
      },
    },
    versions: {sai: '0.1.0', node: 'v20.20.2', onnxruntime: '1.30.0', autocannon: '9.0.0'},
    spec: {name: options.name ?? 'ocr-detect', specPath: 'functions/ocr-detect/sai.yaml', memory: 1024, timeout: 30, architecture: 'x86_64', runtime: 'nodejs20.x', model: 'models/ch_PP-OCRv4_det_infer.onnx'},
    options: {burst: 10, coldSamples: 8, idleGapsMs: [1_000, 60_000, 300_000, 900_000], keepAliveSeconds: 600, connections: 4, durationMs: 30_000, rate: 12, arrival: 'poisson', memorySizes: memories, batchSizes: batches, payload: 'events/sample.json'},
    runs,
    budgets,
    baseline,
    passed: budgets.every((b) => b.passed) && !baseline.checks.some((c) => c.failed),
  }
}
