/**
 * The result of `sai bench`, as written by `--json` and read back by `--baseline` and
 * `sai recommend`. Versioned: a change that breaks a reader bumps BENCH_SCHEMA. Documented field by
 * field in docs/bench-result.md.
 *
 * Units: every latency and duration is in milliseconds (floats); histograms record microseconds.
 */

export const BENCH_SCHEMA = 'sai.bench/v1'

/** A latency distribution: an HDR histogram (µs) and what it says. */
export interface Distribution {
  count: number
  min: number
  mean: number
  stddev: number
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
  /** 95% bootstrap confidence intervals, [low, high]. */
  ci: {p50: [number, number]; p99: [number, number]}
  /** The histogram itself: HdrHistogram's compressed base64 encoding (V2), values in microseconds. */
  hdr: string
}

/** Invokes that failed, by type: Lambda's error type (e.g. Sai.InvalidInput, Sandbox.Timedout), or a client-side one (Throttled, Http.<status>, Connection). */
export interface ErrorCounts {
  total: number
  byType: Record<string, number>
}

/** Figures from the REPORT lines of the invokes a distribution covers. */
export interface ReportSummary {
  /** Cold starts only (REPORT has Init Duration only on an environment's first invoke). */
  initDurationMs?: Distribution
  billedDurationMs: {mean: number; p50: number; p99: number; max: number}
  durationMs: {mean: number; p50: number; p99: number; max: number}
  /** Highest Max Memory Used of any invoke, MB. */
  maxMemoryUsedMb: number
}

/**
 * One cold start, kept raw: the client's latency and the environment's phases, all from the spawn.
 * A remote target (bench --target) gives only the client's latency and the REPORT figures.
 */
export interface ColdStartSample {
  requestId: string
  /** Absent for a remote target: its Invoke API does not name the environment. */
  envId?: string
  /** What the client waited, send to last byte. */
  latencyMs: number
  /** Marks after the spawn, ms: process start, sai runtime loaded, init done (first /next), first response. */
  processStartMs?: number
  /** Backend steps before the runtime ran, after the spawn, ms (Docker: containerCreated, containerStarted). */
  backend?: Record<string, number>
  runtimeReadyMs?: number
  initDoneMs?: number
  /** Absent for a remote target. */
  firstResponseMs?: number
  initDurationMs?: number
  billedDurationMs: number
  maxMemoryUsedMb: number
  /** 'success' or the error type. */
  outcome: string
}

export interface PhaseBase {
  /** Wall time of the phase, ms. */
  wallMs: number
  errors: ErrorCounts
  /** Invokes that returned, successful or not. */
  invokes: number
  report?: ReportSummary
}

/** --burst N: N concurrent invokes from zero environments (N cold starts), then the same N again warm. */
export interface BurstPhase extends PhaseBase {
  kind: 'burst'
  size: number
  cold?: Distribution
  warm?: Distribution
  coldStarts: ColdStartSample[]
  /** Invokes of the first round that found a warm environment (should be none). */
  unexpectedWarm: number
}

/** --cold-samples K: K cold starts one after another, each in a fresh environment. */
export interface ColdSeriesPhase extends PhaseBase {
  kind: 'cold-series'
  cold?: Distribution
  coldStarts: ColdStartSample[]
}

/** --idle-gaps: one invoke after each idle gap, on an environment that was warm before it. */
export interface IdleGapsPhase extends PhaseBase {
  kind: 'idle-gaps'
  /** The emulator's keep-alive; absent for a remote target, whose keep-alive is Lambda's own. */
  keepAliveSeconds?: number
  probes: {gapMs: number; cold: boolean; latencyMs: number; initDurationMs?: number; outcome: string}[]
}

/** Sends that an open model could not make on time. */
export interface SendAccuracy {
  /** |actual - intended| send time, ms. */
  lateness: {p50: number; p99: number; max: number}
  /** Sent more than 1 ms after their intended time. */
  late: number
  /** Never sent: every connection was busy (the max in-flight limit was reached). */
  dropped: number
}

/** Warm load: closed model (autocannon, C connections) or open model (sai's scheduler, a rate or a trace). */
export interface LoadPhase extends PhaseBase {
  kind: 'closed' | 'open'
  connections: number
  durationMs: number
  /** Open model only. */
  rate?: {target: number; arrival: 'constant' | 'poisson' | 'trace'; ramp: boolean; trace?: string}
  sends?: SendAccuracy
  /** Warm invokes only; a cold start met during the phase goes to `cold`. */
  latency?: Distribution
  cold?: Distribution
  coldStarts: ColdStartSample[]
  /** Completed invokes per second, and items per second (invokes × batch size). */
  throughput: {invokesPerSecond: number; itemsPerSecond: number}
}

export type Phase = BurstPhase | ColdSeriesPhase | IdleGapsPhase | LoadPhase

/** The CPU a configuration ran with. */
export interface CpuShare {
  /** Lambda's share for the memory size: memory / 1769 vCPU, at most 6. */
  lambdaVcpus: number
  /** What the environments got: the share, or the host's cores when that is less. */
  vcpus: number
  capped: boolean
  /** How it was enforced, or null when the backend cannot (then the figure is not what Lambda would give). */
  enforcement: string | null
}

export interface Cost {
  /** USD, at the region's on-demand prices, from the mean Billed Duration. */
  perThousandInvokes: number
  perThousandItems: number
  pricing: {region: string; architecture: 'x86_64' | 'arm64'; perGbSecond: number; perRequest: number}
}

/** One configuration: the spec's own, or one point of a memory or batch sweep. */
export interface RunResult {
  /** "base", "memory=512", "batch=8". */
  id: string
  /** Why nothing was measured: the function rejected this sweep point's requests as invalid input. */
  skipped?: string
  memoryMb: number
  /** Items per invoke (1 when not batched). */
  batchSize: number
  cpu: CpuShare
  phases: Phase[]
  /** Every cold start of this run, and every warm invoke, merged across phases (never mixed). */
  cold?: Distribution
  warm?: Distribution
  errors: ErrorCounts
  invokes: number
  report?: ReportSummary
  cost?: Cost
}

export interface BudgetOutcome {
  /** As written: "cold.p99". */
  metric: string
  /** The limit, as written ("1500ms") and in the metric's unit. */
  limit: string
  limitValue: number
  /** upper: the value must not exceed the limit; lower: must not fall below it (throughput). */
  bound: 'upper' | 'lower'
  unit: 'ms' | '%' | 'MB' | 'req/s'
  /** undefined when the run measured nothing for this metric. */
  actual?: number
  passed: boolean
  source: 'spec' | 'flag'
}

export interface RegressionCheck {
  /** "warm.p99", "cold.p50". */
  metric: string
  baseline: number
  current: number
  /** current / baseline, with its 95% bootstrap interval. */
  ratio: number
  ci: [number, number]
  significant: boolean
  verdict: 'regression' | 'improvement' | 'no significant difference'
  /** A significant regression above the threshold. */
  failed: boolean
}

export interface BaselineComparison {
  file: string
  threshold: number
  method: string
  checks: RegressionCheck[]
}

/** bench --target: the deployed function measured, instead of environments bench started itself. */
export interface RemoteTarget {
  kind: 'lambda'
  /** As given to --target (a name or an ARN). */
  functionName: string
  /** From GetFunctionConfiguration; absent when the endpoint does not serve it. */
  functionArn?: string
  /** Absent: the unqualified function, $LATEST. */
  qualifier?: string
  /** The Lambda API endpoint: https://lambda.<region>.amazonaws.com, or --endpoint-url. */
  endpoint: string
  region: string
  /** A loopback --endpoint-url (sai emulate): signed with dummy credentials. */
  local: boolean
  packageType?: 'Zip' | 'Image'
}

export interface BenchResult {
  schema: typeof BENCH_SCHEMA
  startedAt: string
  finishedAt: string
  /** Ctrl-C stopped the run: what it holds is what was measured until then. */
  interrupted: boolean
  environment: {
    hostname: string
    platform: string
    arch: string
    cpuModel: string
    cores: number
    memoryMb: number
    backend: {name: string; memoryEnforcement: string; cpuEnforcement: string | null; notes: string[]; target?: RemoteTarget}
  }
  versions: {sai: string; node: string; onnxruntime?: string; autocannon: string}
  spec: {
    name: string
    specPath: string
    memory: number
    timeout: number
    /** Provisioned environments the runs had (the spec's, or --provisioned-concurrency). */
    provisionedConcurrency?: number
    reservedConcurrency?: number
    architecture: 'x86_64' | 'arm64'
    runtime: string
    batch?: number
    model?: string
    handler?: string
  }
  options: {
    burst?: number
    coldSamples?: number
    idleGapsMs?: number[]
    /** The emulator's keep-alive; absent for a remote target. */
    keepAliveSeconds?: number
    connections?: number
    durationMs?: number
    rate?: number
    arrival?: 'constant' | 'poisson'
    ramp?: boolean
    trace?: string
    memorySizes?: number[]
    batchSizes?: number[]
    /** Where requests came from: "events/sample.json" or "--payload". */
    payload: string
  }
  runs: RunResult[]
  budgets: BudgetOutcome[]
  baseline?: BaselineComparison
  /** Budgets and the baseline gate together: false means exit code 3. */
  passed: boolean
}
