/**
 * `sai bench` as a use-case: plan the configurations (the spec's own, then each sweep point), run
 * each in a fresh in-process emulator through the selected phases, and gate the result.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'
import {burst, coldSeries, idleGaps, type PhaseContext} from '../bench/cold/phases.js'
import {distribution, InvokeEvents, Tally} from '../bench/collect.js'
import {checkBudgets, compareWithBaseline, type SourcedBudget} from '../bench/gates.js'
import {Invoker} from '../bench/invoker.js'
import {loadTrace, warmLoad, type LoadOptions} from '../bench/load/warm-phase.js'
import type {Trace} from '../bench/load/trace.js'
import {renderHtmlReport} from '../bench/report/html.js'
import {renderJunit} from '../bench/report/junit.js'
import {renderMarkdown} from '../bench/report/markdown.js'
import {BENCH_SCHEMA, type BenchResult, type Phase, type RunResult} from '../bench/result.js'
import type {Emulator} from '../emulator/emulator.js'
import {SaiError} from '../errors/sai-error.js'
import {invokeCost, US_EAST_1} from '../recommend/pricing.js'
import {lambdaCpuShare} from '../spec/limits.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'
import {readPayload} from './invoke.js'
import {startEmulation, unpackImages, type BackendName} from './emulate.js'

export interface BenchOptions {
  specPath: string
  /** An image built by `sai package` to bench instead of the spec's directory: the bytes that ship. */
  imagePath?: string
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

/** Everything checked before the first environment starts, so a bad option costs no time. */
async function prepare(options: BenchOptions, imageSpec: FunctionSpec | undefined) {
  const loaded = imageSpec ?? loadSpec(options.specPath)
  const provisioned = options.provisionedConcurrency ?? loaded.provisionedConcurrency
  if (loaded.reservedConcurrency !== undefined && provisioned > loaded.reservedConcurrency)
    throw new SaiError('SAI_BENCH_OPTIONS_INVALID', `--provisioned-concurrency ${provisioned} exceeds the function's reservedConcurrency of ${loaded.reservedConcurrency} (${loaded.specPath})`, {
      hint: `provisioned concurrency cannot exceed reserved concurrency: raise reservedConcurrency in the spec, or use at most ${loaded.reservedConcurrency}`,
    })
  const spec = {...loaded, provisionedConcurrency: provisioned}
  const budgets = new Map<string, SourcedBudget>()
  for (const b of spec.budgets) budgets.set(b.metric, {...b, source: 'spec'})
  // A --budget for a metric the spec also budgets replaces it for this run.
  for (const b of options.budgets) budgets.set(b.metric, b)
  const measures = {
    cold: (options.burst ?? 0) > 0 || (options.coldSamples ?? 0) > 0,
    warm: (options.burst ?? 0) > 0 || options.load !== undefined,
    load: options.load !== undefined,
  }
  for (const budget of budgets.values()) {
    if (budget.needs !== 'any' && !measures[budget.needs]) {
      const how = {cold: '--burst N or --cold-samples K', warm: '--burst N or a load phase (--connections/--duration, --rate or --trace)', load: 'a load phase (--connections/--duration, --rate or --trace)'}[budget.needs]
      throw new SaiError('SAI_BUDGET_INVALID', `the budget ${budget.metric} (${budget.source === 'spec' ? spec.specPath : '--budget'}) needs ${budget.needs} measurements, and no selected phase makes them`, {
        hint: `add ${how}, or drop the budget`,
      })
    }
  }
  for (const size of options.batchSizes ?? []) {
    if (spec.batch !== undefined && size > spec.batch) {
      throw new SaiError('SAI_BENCH_OPTIONS_INVALID', `--batch ${size} exceeds the function's batch limit of ${spec.batch} (batch in ${spec.specPath})`, {
        hint: `raise batch in the spec, or sweep sizes up to ${spec.batch}`,
      })
    }
  }
  const plans: RunPlan[] = [{id: 'base', memoryMb: spec.memory, batchSize: 1}]
  for (const memoryMb of options.memorySizes ?? []) if (memoryMb !== spec.memory) plans.push({id: `memory=${memoryMb}`, memoryMb, batchSize: 1})
  for (const batchSize of options.batchSizes ?? []) if (batchSize !== 1) plans.push({id: `batch=${batchSize}`, memoryMb: spec.memory, batchSize})
  const requests = loadRequests(spec, options.payload)
  const baseline = options.baselinePath === undefined ? undefined : readBaseline(options.baselinePath)
  const trace = options.load?.tracePath === undefined ? undefined : await loadTrace(options.load.tracePath)
  return {spec, requests, budgets: [...budgets.values()], plans, baseline, trace}
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
  const base = runs.find((r) => r.id === 'base')
  const budgetOutcomes = base ? checkBudgets(budgets, base) : []
  const comparison = baseline && base ? compareWithBaseline(baseline, base, options.baselinePath!, options.regressionThreshold) : undefined
  const interrupted = options.signal.aborted
  return {
    schema: BENCH_SCHEMA,
    startedAt,
    finishedAt: new Date().toISOString(),
    interrupted,
    environment: {
      hostname: os.hostname(),
      platform: process.platform,
      arch: process.arch,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.availableParallelism(),
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      backend: backend ?? {name: options.backend, memoryEnforcement: 'not started', cpuEnforcement: null, notes: []},
    },
    versions: {sai: readOwnVersion(), node: process.version, onnxruntime: packageVersion('onnxruntime-node'), autocannon: packageVersion('autocannon') ?? 'unknown'},
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
    options: {
      burst: options.burst,
      coldSamples: options.coldSamples,
      idleGapsMs: options.idleGapsMs,
      keepAliveSeconds: options.keepAliveSeconds,
      connections: options.load?.connections,
      durationMs: options.load?.durationMs,
      rate: options.load?.rate,
      arrival: options.load?.arrival,
      ramp: options.load?.ramp,
      trace: options.load?.tracePath,
      memorySizes: options.memorySizes,
      batchSizes: options.batchSizes,
      payload: requests.source,
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

async function runConfiguration(options: BenchOptions, spec: FunctionSpec, plan: RunPlan, samples: unknown[], trace: Trace | undefined) {
  const running = await startEmulation({specs: [spec], host: '127.0.0.1', port: 0, backend: options.backend, keepAliveSeconds: options.keepAliveSeconds, cgroups: options.cgroups, dockerNetwork: options.dockerNetwork, freeze: options.freeze})
  const {emulator, endpoint} = running
  const image = emulator.functionSpecs()[0]?.image
  const events = new InvokeEvents(emulator)
  const bodies = samples.map((sample) => batchBody(sample, plan.batchSize))
  const invoker = new Invoker({host: '127.0.0.1', port: endpoint.port, functionName: spec.name, bodies}, options.signal)
  const tally = new Tally()
  const phases: Phase[] = []
  const label = plan.id === 'base' ? `${plan.memoryMb} MB` : plan.id.replace('=', ' ')
  const context = (phase: string): PhaseContext => ({
    emulator,
    functionName: spec.name,
    invoker,
    events,
    run: tally,
    signal: options.signal,
    progress: (done, total) => options.onProgress?.({label: `${label} · ${phase}`, done, total}),
  })
  let skipped: string | undefined
  try {
    try {
      await preflight(emulator, invoker, events, spec, plan, options)
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
    if (options.idleGapsMs?.length && measuring()) phases.push(await idleGaps(context('idle gaps'), options.idleGapsMs, options.keepAliveSeconds))
    if (options.load && measuring()) {
      events.clear()
      const target = {host: '127.0.0.1', port: endpoint.port, bodies, batchSize: plan.batchSize, functionTimeoutMs: spec.timeout * 1000}
      phases.push(await warmLoad(context(options.load.rate !== undefined || options.load.tracePath ? 'open model' : 'closed model'), options.load, target, trace))
    }
  } finally {
    invoker.close()
    events.close()
    await running.close()
  }
  const cpuShare = lambdaCpuShare(plan.memoryMb, os.availableParallelism())
  const caps = emulator.backend.capabilities
  const meanBilled = tally.meanBilledMs()
  const perInvoke = meanBilled === undefined ? undefined : invokeCost(meanBilled, plan.memoryMb, spec.architecture)
  const run: RunResult = {
    id: plan.id,
    skipped,
    memoryMb: plan.memoryMb,
    batchSize: plan.batchSize,
    cpu: {lambdaVcpus: Math.min(6, plan.memoryMb / 1769), vcpus: caps.cpuEnforcement === null ? os.availableParallelism() : cpuShare.cores, capped: cpuShare.capped, enforcement: caps.cpuEnforcement},
    phases,
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
            pricing: {region: US_EAST_1.region, architecture: spec.architecture, perGbSecond: US_EAST_1.durationTiers[spec.architecture][0]!.perGbSecond, perRequest: US_EAST_1.perRequest},
          },
  }
  return {run, image, backend: {name: caps.name, memoryEnforcement: caps.memoryEnforcement, cpuEnforcement: caps.cpuEnforcement, notes: caps.notes}}
}

/**
 * One invoke before measuring: a payload the function rejects as invalid input makes every number
 * meaningless, so it stops the run with the function's own message. Any other failure is the
 * function's behaviour, and is measured and counted like the rest. Not counted itself.
 */
async function preflight(emulator: Emulator, invoker: Invoker, events: InvokeEvents, spec: FunctionSpec, plan: RunPlan, options: BenchOptions): Promise<void> {
  const outcome = await invoker.invoke()
  if (!outcome) return
  const event = events.take(outcome.requestId)
  if (event?.errorType && PAYLOAD_ERRORS.test(event.errorType)) {
    const message = outcome.body ? (JSON.parse(outcome.body.toString('utf8')) as {errorMessage?: string}).errorMessage : undefined
    throw new SaiError('SAI_PAYLOAD_MISMATCH', `${spec.name} rejects the bench payload${plan.batchSize > 1 ? ` in batches of ${plan.batchSize}` : ''} (${event.errorType}): ${message ?? 'no message'}`, {
      hint: 'pass a --payload the model accepts (`sai invoke` shows the function\'s answer), or regenerate events/sample.json with `sai init`',
    })
  }
  if (event && event.status !== 'success') options.onNote?.(`note: the first invoke failed (${event.errorType ?? event.status}); bench goes on and counts every failure`)
  await emulator.reapIdle(spec.name)
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
