/**
 * `sai bench` as a use-case: plan the configurations (the spec's own, then each sweep point), run
 * each in a fresh in-process emulator through the selected phases, and gate the result. With a
 * target (bench --target lambda:NAME) the same phases run against a deployed function instead,
 * through the Lambda API, and produce the same result.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'
import {burst, coldSeries, idleGaps, type Environments, type PhaseContext} from '../bench/cold/phases.js'
import {distribution, InvokeEvents, Tally, type InvokeRecords} from '../bench/collect.js'
import {checkBudgets, compareWithBaseline, type SourcedBudget} from '../bench/gates.js'
import {Invoker, type PhaseInvoker} from '../bench/invoker.js'
import {loadTrace, warmLoad, type LoadOptions, type LoadTarget} from '../bench/load/warm-phase.js'
import type {Trace} from '../bench/load/trace.js'
import {parseTarget} from '../bench/remote/target.js'
import {renderHtmlReport} from '../bench/report/html.js'
import {renderJunit} from '../bench/report/junit.js'
import {renderMarkdown} from '../bench/report/markdown.js'
import {BENCH_SCHEMA, type BenchResult, type CpuShare, type Phase, type RunResult} from '../bench/result.js'
import {SaiError} from '../errors/sai-error.js'
import {invokeCost, US_EAST_1} from '../recommend/pricing.js'
import type {Budget} from '../spec/budgets.js'
import {lambdaCpuShare} from '../spec/limits.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'
import {isLocalEndpoint, LOCAL_CREDENTIALS} from '../aws/endpoint.js'
import {readPayload} from './invoke.js'
import {startEmulation, unpackImages, type BackendName} from './emulate.js'

export {parseTarget}

/** bench --target: a function deployed on AWS Lambda, or on `sai emulate` (the same API). */
export interface TargetOptions {
  /** As written: lambda:NAME, lambda:NAME:QUALIFIER or lambda:ARN. */
  target: string
  qualifier?: string
  /** Default: the standard AWS chain (AWS_REGION, ~/.aws/config). */
  region?: string
  endpointUrl?: string
}

export interface BenchOptions {
  specPath: string
  /** An image built by `sai package` to bench instead of the spec's directory: the bytes that ship. */
  imagePath?: string
  /** A deployed function to measure instead of the spec: the emulator's own options do not apply. */
  target?: TargetOptions
  backend: BackendName
  burst?: number
  coldSamples?: number
  idleGapsMs?: number[]
  keepAliveSeconds: number
  /** Provisioned environments to run with (default: the spec's provisionedConcurrency). */
  provisionedConcurrency?: number
  /** Warm load; undefined when no load phase was asked for. */
  load?: LoadOptions
  memorySizes?: number[]
  batchSizes?: number[]
  /** Inline JSON or @file; default: the function's events/*.json. */
  payload?: string
  budgets: SourcedBudget[]
  baselinePath?: string
  regressionThreshold: number
  cgroups?: boolean
  /** Docker backend: the network containers join (default: the host's). */
  dockerNetwork?: string
  /** Freeze environments between invokes, as Lambda does. */
  freeze?: boolean
  signal: AbortSignal
  onProgress?(update: {label: string; done: number; total: number}): void
  onNote?(message: string): void
}

interface RunPlan {
  id: string
  memoryMb: number
  batchSize: number
}

const require = createRequire(import.meta.url)
const packageVersion = (name: string): string | undefined => {
  try {
    return (require(`${name}/package.json`) as {version: string}).version
  } catch {
    return undefined
  }
}

/** The spec's budgets, then --budget (which replaces the spec's budget of the same metric); each must be measured by a selected phase. */
function gatherBudgets(specBudgets: Budget[], specPath: string, options: BenchOptions): SourcedBudget[] {
  const budgets = new Map<string, SourcedBudget>()
  for (const b of specBudgets) budgets.set(b.metric, {...b, source: 'spec'})
  for (const b of options.budgets) budgets.set(b.metric, b)
  const measures = {
    cold: (options.burst ?? 0) > 0 || (options.coldSamples ?? 0) > 0,
    warm: (options.burst ?? 0) > 0 || options.load !== undefined,
    load: options.load !== undefined,
  }
  for (const budget of budgets.values()) {
    if (budget.needs !== 'any' && !measures[budget.needs]) {
      const how = {cold: '--burst N or --cold-samples K', warm: '--burst N or a load phase (--connections/--duration, --rate or --trace)', load: 'a load phase (--connections/--duration, --rate or --trace)'}[budget.needs]
      throw new SaiError('SAI_BUDGET_INVALID', `the budget ${budget.metric} (${budget.source === 'spec' ? specPath : '--budget'}) needs ${budget.needs} measurements, and no selected phase makes them`, {
        hint: `add ${how}, or drop the budget`,
      })
    }
  }
  return [...budgets.values()]
}

/** The base configuration (the function's memory, one item per invoke), then each sweep point. */
function planRuns(baseMemoryMb: number, options: BenchOptions): RunPlan[] {
  const plans: RunPlan[] = [{id: 'base', memoryMb: baseMemoryMb, batchSize: 1}]
  for (const memoryMb of options.memorySizes ?? []) if (memoryMb !== baseMemoryMb) plans.push({id: `memory=${memoryMb}`, memoryMb, batchSize: 1})
  for (const batchSize of options.batchSizes ?? []) if (batchSize !== 1) plans.push({id: `batch=${batchSize}`, memoryMb: baseMemoryMb, batchSize})
  return plans
}

/** Everything checked before the first environment starts, so a bad option costs no time. */
async function prepare(options: BenchOptions, imageSpec: FunctionSpec | undefined) {
  const loaded = imageSpec ?? loadSpec(options.specPath)
  const provisioned = options.provisionedConcurrency ?? loaded.provisionedConcurrency
  if (loaded.reservedConcurrency !== undefined && provisioned > loaded.reservedConcurrency)
    throw new SaiError('SAI_BENCH_OPTIONS_INVALID', `--provisioned-concurrency ${provisioned} exceeds the function's reservedConcurrency of ${loaded.reservedConcurrency} (${loaded.specPath})`, {
      hint: `provisioned concurrency cannot exceed reserved concurrency: raise reservedConcurrency in the spec, or use at most ${loaded.reservedConcurrency}`,
    })
  const spec = {...loaded, provisionedConcurrency: provisioned}
  const budgets = gatherBudgets(spec.budgets, spec.specPath, options)
  for (const size of options.batchSizes ?? []) {
    if (spec.batch !== undefined && size > spec.batch) {
      throw new SaiError('SAI_BENCH_OPTIONS_INVALID', `--batch ${size} exceeds the function's batch limit of ${spec.batch} (batch in ${spec.specPath})`, {
        hint: `raise batch in the spec, or sweep sizes up to ${spec.batch}`,
      })
    }
  }
  const plans = planRuns(spec.memory, options)
  const requests = loadRequests(spec, options.payload)
  const baseline = options.baselinePath === undefined ? undefined : readBaseline(options.baselinePath)
  const trace = options.load?.tracePath === undefined ? undefined : await loadTrace(options.load.tracePath)
  return {spec, requests, budgets, plans, baseline, trace}
}

/** The requests bench sends: --payload, else every events/*.json next to the spec. */
function loadRequests(spec: FunctionSpec, payload: string | undefined): {source: string; bodies: unknown[]} {
  if (payload !== undefined) return {source: '--payload', bodies: [JSON.parse(Buffer.from(readPayload(payload)!).toString('utf8'))]}
  const dir = path.join(spec.dir, 'events')
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []
  if (files.length === 0) {
    throw new SaiError('SAI_PAYLOAD_MISSING', `the function ${spec.name} has no sample event (${path.join(dir, '*.json')}) and no --payload was given`, {
      hint: 'pass --payload @event.json (or inline JSON), or add events/sample.json next to the spec (`sai init` writes one for a model)',
    })
  }
  const bodies = files.map((file) => {
    const full = path.join(dir, file)
    try {
      return JSON.parse(readFileSync(full, 'utf8')) as unknown
    } catch (error) {
      throw new SaiError('SAI_PAYLOAD_INVALID', `the sample event ${full} is not valid JSON: ${(error as Error).message}`, {hint: 'fix or remove the file'})
    }
  })
  return {source: files.map((f) => path.join('events', f)).join(', '), bodies}
}

/** A request of `size` items: the sample as it is for 1, else sai's batch format. */
function batchBody(sample: unknown, size: number): Buffer {
  return Buffer.from(JSON.stringify(size === 1 ? sample : {batch: Array.from({length: size}, () => sample)}))
}

function readBaseline(file: string): BenchResult {
  let parsed: Partial<BenchResult>
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<BenchResult>
  } catch (error) {
    throw new SaiError('SAI_BASELINE_INVALID', `cannot read the baseline ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'pass a file written by `sai bench --json <file>`',
    })
  }
  if (parsed.schema !== BENCH_SCHEMA || !Array.isArray(parsed.runs)) {
    throw new SaiError('SAI_BASELINE_INVALID', `the baseline ${file} is not a sai bench result: expected schema "${BENCH_SCHEMA}", found ${JSON.stringify(parsed.schema ?? null)}`, {
      hint: 'pass a file written by `sai bench --json <file>` (of this sai version)',
    })
  }
  return parsed as BenchResult
}

const PAYLOAD_ERRORS = /^Sai\.(InvalidInput|BatchTooLarge)$/

export async function bench(options: BenchOptions): Promise<BenchResult> {
  if (options.target) return benchTarget(options, options.target)
  const image = options.imagePath === undefined ? undefined : await unpackImages([options.imagePath])
  try {
    return await benchSpec(options, image?.specs[0])
  } finally {
    image?.remove()
  }
}

async function benchSpec(options: BenchOptions, imageSpec: FunctionSpec | undefined): Promise<BenchResult> {
  const prepared = await prepare(options, imageSpec)
  const {spec, requests, budgets, plans, baseline} = prepared
  const startedAt = new Date().toISOString()
  const runs: RunResult[] = []
  let backend: BenchResult['environment']['backend'] | undefined
  let engineImage: string | undefined
  for (const plan of plans) {
    if (options.signal.aborted) break
    // On the Docker backend the image is loaded for the first configuration and reused by the others.
    const result = await runConfiguration(options, {...spec, memory: plan.memoryMb, image: engineImage}, plan, requests.bodies, prepared.trace)
    backend ??= result.backend
    engineImage ??= result.image
    runs.push(result.run)
  }
  return assembleResult(options, {
    startedAt,
    runs,
    budgets,
    baseline,
    payload: requests.source,
    backend: backend ?? {name: options.backend, memoryEnforcement: 'not started', cpuEnforcement: null, notes: []},
    spec: {
      name: spec.name,
      specPath: spec.specPath,
      memory: spec.memory,
      timeout: spec.timeout,
      provisionedConcurrency: spec.provisionedConcurrency,
      reservedConcurrency: spec.reservedConcurrency,
      architecture: spec.architecture,
      runtime: spec.runtime,
      batch: spec.batch,
      model: spec.modelPath,
      handler: spec.handler,
    },
  })
}

interface ResultParts {
  startedAt: string
  runs: RunResult[]
  budgets: SourcedBudget[]
  baseline?: BenchResult
  payload: string
  backend: BenchResult['environment']['backend']
  spec: BenchResult['spec']
}

/** The gates, checked against the base run, and the result around the runs. */
function assembleResult(options: BenchOptions, parts: ResultParts): BenchResult {
  const {runs, baseline} = parts
  const base = runs.find((r) => r.id === 'base')
  const budgetOutcomes = base ? checkBudgets(parts.budgets, base) : []
  const comparison = baseline && base ? compareWithBaseline(baseline, base, options.baselinePath!, options.regressionThreshold) : undefined
  const interrupted = options.signal.aborted
  return {
    schema: BENCH_SCHEMA,
    startedAt: parts.startedAt,
    finishedAt: new Date().toISOString(),
    interrupted,
    environment: {
      hostname: os.hostname(),
      platform: process.platform,
      arch: process.arch,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.availableParallelism(),
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      backend: parts.backend,
    },
    versions: {sai: readOwnVersion(), node: process.version, onnxruntime: packageVersion('onnxruntime-node'), autocannon: packageVersion('autocannon') ?? 'unknown'},
    spec: parts.spec,
    options: {
      burst: options.burst,
      coldSamples: options.coldSamples,
      idleGapsMs: options.idleGapsMs,
      // A target keeps its environments as long as Lambda does: the emulator's setting does not apply.
      keepAliveSeconds: options.target ? undefined : options.keepAliveSeconds,
      connections: options.load?.connections,
      durationMs: options.load?.durationMs,
      rate: options.load?.rate,
      arrival: options.load?.arrival,
      ramp: options.load?.ramp,
      trace: options.load?.tracePath,
      memorySizes: options.memorySizes,
      batchSizes: options.batchSizes,
      payload: parts.payload,
    },
    runs,
    budgets: budgetOutcomes,
    baseline: comparison,
    passed: !interrupted && budgetOutcomes.every((b) => b.passed) && !(comparison?.checks.some((c) => c.failed) ?? false),
  }
}

function readOwnVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
}

/** How one configuration is driven: the emulator's Invoke API in this process, or a remote target through the SDK. */
interface Driver {
  functionName: string
  environments: Environments
  invoker: PhaseInvoker
  events: InvokeRecords
  loadTarget: LoadTarget
  /** The emulator's keep-alive, reported with idle gaps; undefined for a remote target. */
  keepAliveSeconds?: number
  /** After the preflight: the emulator stops its environment so the phases start from none. */
  afterPreflight(): Promise<void>
}

/** The selected phases, in order, on one configuration. */
async function runPhases(options: BenchOptions, driver: Driver, plan: RunPlan, trace: Trace | undefined): Promise<{phases: Phase[]; tally: Tally; skipped?: string}> {
  const tally = new Tally()
  const phases: Phase[] = []
  const label = plan.id === 'base' ? `${plan.memoryMb} MB` : plan.id.replace('=', ' ')
  const context = (phase: string): PhaseContext => ({
    functionName: driver.functionName,
    environments: driver.environments,
    invoker: driver.invoker,
    events: driver.events,
    run: tally,
    signal: options.signal,
    progress: (done, total) => options.onProgress?.({label: `${label} · ${phase}`, done, total}),
  })
  let skipped: string | undefined
  try {
    await preflight(driver, plan, options)
  } catch (error) {
    // The spec's own configuration must work; a sweep point the function rejects (e.g. a batch
    // size its model cannot stack) is reported as skipped, and the other points still run.
    if (plan.id === 'base' || !(error instanceof SaiError) || error.code !== 'SAI_PAYLOAD_MISMATCH') throw error
    skipped = error.message
    options.onNote?.(`${plan.id}: skipped — ${error.message}`)
  }
  const measuring = () => skipped === undefined && !options.signal.aborted
  if (options.burst && measuring()) phases.push(await burst(context(`burst ×${options.burst}`), options.burst))
  if (options.coldSamples && measuring()) phases.push(await coldSeries(context('cold series'), options.coldSamples))
  if (options.idleGapsMs?.length && measuring()) phases.push(await idleGaps(context('idle gaps'), options.idleGapsMs, driver.keepAliveSeconds))
  if (options.load && measuring()) {
    driver.events.clear()
    phases.push(await warmLoad(context(options.load.rate !== undefined || options.load.tracePath ? 'open model' : 'closed model'), options.load, driver.loadTarget, trace))
  }
  return {phases, tally, skipped}
}

/** A run's result from its tally: distributions, REPORT figures, and the cost at the configuration's memory. */
function runResult(plan: RunPlan, measured: {phases: Phase[]; tally: Tally; skipped?: string}, cpu: CpuShare, architecture: 'x86_64' | 'arm64'): RunResult {
  const {tally} = measured
  const meanBilled = tally.meanBilledMs()
  const perInvoke = meanBilled === undefined ? undefined : invokeCost(meanBilled, plan.memoryMb, architecture)
  return {
    id: plan.id,
    skipped: measured.skipped,
    memoryMb: plan.memoryMb,
    batchSize: plan.batchSize,
    cpu,
    phases: measured.phases,
    cold: distribution(tally.cold),
    warm: distribution(tally.warm),
    errors: tally.errors,
    invokes: tally.invokes,
    report: tally.report(),
    cost:
      perInvoke === undefined
        ? undefined
        : {
            perThousandInvokes: perInvoke * 1000,
            perThousandItems: (perInvoke * 1000) / plan.batchSize,
            pricing: {region: US_EAST_1.region, architecture, perGbSecond: US_EAST_1.durationTiers[architecture][0]!.perGbSecond, perRequest: US_EAST_1.perRequest},
          },
  }
}

/** The CPU a configuration had: Lambda's share where the backend enforces it, else the host's cores. */
function cpuShare(memoryMb: number, enforcement: string | null): CpuShare {
  const share = lambdaCpuShare(memoryMb, os.availableParallelism())
  return {lambdaVcpus: Math.min(6, memoryMb / 1769), vcpus: enforcement === null ? os.availableParallelism() : share.cores, capped: share.capped, enforcement}
}

async function runConfiguration(options: BenchOptions, spec: FunctionSpec, plan: RunPlan, samples: unknown[], trace: Trace | undefined) {
  const running = await startEmulation({specs: [spec], host: '127.0.0.1', port: 0, backend: options.backend, keepAliveSeconds: options.keepAliveSeconds, cgroups: options.cgroups, dockerNetwork: options.dockerNetwork, freeze: options.freeze})
  const {emulator, endpoint} = running
  const image = emulator.functionSpecs()[0]?.image
  const events = new InvokeEvents(emulator)
  const bodies = samples.map((sample) => batchBody(sample, plan.batchSize))
  const invoker = new Invoker({host: '127.0.0.1', port: endpoint.port, functionName: spec.name, bodies}, options.signal)
  const reap = async () => void (await emulator.reapIdle(spec.name))
  let measured
  try {
    measured = await runPhases(
      options,
      {
        functionName: spec.name,
        environments: {retire: reap, release: reap},
        invoker,
        events,
        loadTarget: {via: {kind: 'http', host: '127.0.0.1', port: endpoint.port}, bodies, batchSize: plan.batchSize, functionTimeoutMs: spec.timeout * 1000},
        keepAliveSeconds: options.keepAliveSeconds,
        afterPreflight: reap,
      },
      plan,
      trace,
    )
  } finally {
    invoker.close()
    events.close()
    await running.close()
  }
  const caps = emulator.backend.capabilities
  const run = runResult(plan, measured, cpuShare(plan.memoryMb, caps.cpuEnforcement), spec.architecture)
  return {run, image, backend: {name: caps.name, memoryEnforcement: caps.memoryEnforcement, cpuEnforcement: caps.cpuEnforcement, notes: caps.notes}}
}

/**
 * One invoke before measuring: a payload the function rejects as invalid input makes every number
 * meaningless, so it stops the run with the function's own message. Any other failure is the
 * function's behaviour, and is measured and counted like the rest. Not counted itself.
 */
async function preflight(driver: Driver, plan: RunPlan, options: BenchOptions): Promise<void> {
  const outcome = await driver.invoker.invoke()
  if (!outcome) return
  const event = driver.events.take(outcome.requestId)
  if (event?.errorType && PAYLOAD_ERRORS.test(event.errorType)) {
    const message = outcome.body ? (JSON.parse(outcome.body.toString('utf8')) as {errorMessage?: string}).errorMessage : undefined
    throw new SaiError('SAI_PAYLOAD_MISMATCH', `${driver.functionName} rejects the bench payload${plan.batchSize > 1 ? ` in batches of ${plan.batchSize}` : ''} (${event.errorType}): ${message ?? 'no message'}`, {
      hint: 'pass a --payload the model accepts (`sai invoke` shows the function\'s answer), or regenerate events/sample.json with `sai init`',
    })
  }
  if (event && event.status !== 'success') options.onNote?.(`note: the first invoke failed (${event.errorType ?? event.status}); bench goes on and counts every failure`)
  else if (!event && outcome.status !== 200) options.onNote?.(`note: the first invoke failed (${outcome.errorType ?? `HTTP ${outcome.status}`}); bench goes on and counts every failure`)
  await driver.afterPreflight()
}

// --- bench --target: a deployed function, through the Lambda API ---


/** The requests for a target: --payload, else {} (a target has no events/ directory next to it). */
function targetRequests(payload: string | undefined): {source: string; bodies: unknown[]} {
  if (payload !== undefined) return {source: '--payload', bodies: [JSON.parse(Buffer.from(readPayload(payload)!).toString('utf8'))]}
  return {source: '{} (no --payload)', bodies: [{}]}
}

/** What sai emulate says about its backend (GET /sai/health), so a local target's CPU note is right. */
async function emulatorBackend(endpoint: string): Promise<{name: string; memoryEnforcement: string; cpuEnforcement: string | null; notes: string[]} | undefined> {
  try {
    const response = await fetch(new URL('/sai/health', endpoint), {signal: AbortSignal.timeout(2000)})
    if (!response.ok) return undefined
    return ((await response.json()) as {backend?: {name: string; memoryEnforcement: string; cpuEnforcement: string | null; notes: string[]}}).backend
  } catch {
    return undefined
  }
}

async function benchTarget(options: BenchOptions, targetOptions: TargetOptions): Promise<BenchResult> {
  const parsed = parseTarget(targetOptions.target)
  if (parsed.qualifier !== undefined && targetOptions.qualifier !== undefined && parsed.qualifier !== targetOptions.qualifier)
    throw new SaiError('SAI_BENCH_OPTIONS_INVALID', `--target ${targetOptions.target} names the qualifier ${parsed.qualifier}, and --qualifier says ${targetOptions.qualifier}`, {hint: 'give the qualifier once'})
  const qualifier = targetOptions.qualifier ?? parsed.qualifier
  const qualified = `${parsed.functionName}${qualifier === undefined ? '' : `:${qualifier}`}`
  const forcesCold = (options.burst ?? 0) > 0 || (options.coldSamples ?? 0) > 0
  const sweepsMemory = (options.memorySizes ?? []).length > 0
  const changes = [forcesCold ? 'forcing cold starts (--burst, --cold-samples)' : '', sweepsMemory ? 'a memory sweep (--memory)' : ''].filter(Boolean).join(' and ')
  const refuse = (why: string) =>
    new SaiError('SAI_BENCH_OPTIONS_INVALID', `${changes} changes the function's configuration, and ${why}`, {
      hint: qualifier !== undefined && qualifier !== '$LATEST'
        ? `bench $LATEST for cold starts and memory (drop --qualifier ${qualifier}), or measure ${qualified} with warm phases only (--connections/--duration, --rate, --trace, --idle-gaps)`
        : 'measure it with warm phases only (--connections/--duration, --rate, --trace, --idle-gaps)',
    })
  // Before any call: a published version or an alias cannot change, whatever the endpoint says.
  if (changes && qualifier !== undefined && qualifier !== '$LATEST') throw refuse(`${qualified} is a published version or an alias: a published version cannot change`)
  const budgets = gatherBudgets([], targetOptions.target, options)
  const requests = targetRequests(options.payload)
  const baseline = options.baselinePath === undefined ? undefined : readBaseline(options.baselinePath)
  const trace = options.load?.tracePath === undefined ? undefined : await loadTrace(options.load.tracePath)
  const local = isLocalEndpoint(targetOptions.endpointUrl)
  const open = options.load !== undefined && (options.load.rate !== undefined || options.load.tracePath !== undefined)
  // The AWS SDK loads only for --target: a local bench does not pay for it at start-up.
  const {LambdaTarget} = await import('../bench/remote/lambda-target.js')
  const remote = await LambdaTarget.connect({
    functionName: parsed.functionName,
    qualifier,
    region: targetOptions.region ?? parsed.region ?? (local ? 'us-east-1' : undefined),
    endpointUrl: targetOptions.endpointUrl,
    // sai emulate checks no signature: never reach for real credentials to talk to it.
    credentials: local ? LOCAL_CREDENTIALS : undefined,
    bodies: requests.bodies.map((sample) => batchBody(sample, 1)),
    maxConcurrency: Math.max(1, options.burst ?? 0, options.load?.connections ?? 0, open ? options.load!.maxInFlight : 0),
    signal: options.signal,
  })
  const startedAt = new Date().toISOString()
  const {target, configuration} = remote
  const notes = [
    `lambda:${qualified} at ${target.endpoint}${local ? '' : ` (${target.region})`}, through @aws-sdk/client-lambda: latency is the client's, network and request signing included`,
  ]
  const runs: RunResult[] = []
  let emulated: Awaited<ReturnType<typeof emulatorBackend>>
  try {
    const why = changes ? remote.whyImmutable() : undefined
    if (why) throw refuse(why)
    if (forcesCold) notes.push('cold starts forced by a new configuration (environment variable SAI_BENCH_COLD), as AWS Lambda Power Tuning does')
    if (sweepsMemory) notes.push('memory sweep: MemorySize changed for each configuration')
    // An endpoint without GetFunctionConfiguration: its REPORT lines still say the memory size.
    let baseMemory = configuration?.MemorySize
    if (baseMemory === undefined) {
      const probe = await remote.invoke()
      baseMemory = remote.take(probe?.requestId)?.report.memorySizeMb ?? 0
      notes.push(`${target.endpoint} serves only the Invoke API: timeout, architecture and runtime are unknown`)
    }
    emulated = local ? await emulatorBackend(target.endpoint) : undefined
    const enforcement = local ? (emulated?.cpuEnforcement ?? null) : 'AWS Lambda'
    const architecture = configuration?.Architectures?.[0] ?? 'x86_64'
    for (const plan of planRuns(baseMemory, options)) {
      if (options.signal.aborted) break
      // Without a configuration to change, sweeps were refused: every plan has the base memory.
      if (configuration) await remote.setMemory(plan.memoryMb)
      const bodies = requests.bodies.map((sample) => batchBody(sample, plan.batchSize))
      remote.useBodies(bodies)
      const measured = await runPhases(
        options,
        {
          functionName: qualified,
          environments: remote,
          invoker: remote,
          events: remote,
          loadTarget: {via: {kind: 'sender', sender: remote}, bodies, batchSize: plan.batchSize, functionTimeoutMs: (configuration?.Timeout ?? 900) * 1000},
          afterPreflight: async () => {},
        },
        plan,
        trace,
      )
      runs.push(runResult(plan, measured, local ? cpuShare(plan.memoryMb, enforcement) : {lambdaVcpus: Math.min(6, plan.memoryMb / 1769), vcpus: Math.min(6, plan.memoryMb / 1769), capped: false, enforcement}, architecture))
    }
  } finally {
    try {
      await remote.restore()
      if (changes) notes.push("the function's own environment variables and memory were put back at the end")
    } catch (error) {
      // The measurements stand; the user must know the function was left changed.
      const message = `could not put back ${qualified}'s configuration (memory ${configuration?.MemorySize} MB, its own environment variables without SAI_BENCH_COLD): ${(error as Error).message}. Restore it by hand, or run sai deploy again.`
      notes.push(`WARNING: ${message}`)
      options.onNote?.(`WARNING: ${message}`)
    }
    remote.destroy()
  }
  return assembleResult(options, {
    startedAt,
    runs,
    budgets,
    baseline,
    payload: requests.source,
    backend: {
      name: local ? `sai emulate${emulated ? ` (${emulated.name})` : ''}, remote` : 'AWS Lambda',
      memoryEnforcement: local ? (emulated?.memoryEnforcement ?? 'unknown') : 'AWS Lambda',
      cpuEnforcement: local ? (emulated?.cpuEnforcement ?? null) : 'AWS Lambda',
      notes: [...notes, ...(emulated?.notes ?? [])],
      target,
    },
    spec: {
      name: configuration?.FunctionName ?? parsed.functionName,
      specPath: targetOptions.target,
      memory: configuration?.MemorySize ?? runs[0]?.memoryMb ?? 0,
      timeout: configuration?.Timeout ?? 0,
      architecture: configuration?.Architectures?.[0] ?? 'x86_64',
      runtime: configuration?.Runtime ?? (configuration?.PackageType === 'Image' ? 'container image' : 'unknown'),
      handler: configuration?.Handler,
    },
  })
}

export interface OutputFiles {
  json?: string
  html?: string
  junit?: string
  /** $GITHUB_STEP_SUMMARY: appended to, as GitHub expects. */
  stepSummary?: string
}

export function writeBenchOutputs(result: BenchResult, files: OutputFiles): string[] {
  const written: string[] = []
  const write = (file: string | undefined, content: () => string, append = false) => {
    if (!file || file === '-') return
    writeFileSync(file, content(), append ? {flag: 'a'} : undefined)
    written.push(file)
  }
  write(files.json, () => JSON.stringify(result, null, 2) + '\n')
  write(files.html, () => renderHtmlReport(result))
  write(files.junit, () => renderJunit(result))
  write(files.stepSummary, () => renderMarkdown(result) + '\n', true)
  return written
}
