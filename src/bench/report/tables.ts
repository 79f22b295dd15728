/**
 * The bench result as tables: pure data (titles, headers, cells), rendered for the terminal by
 * ui/bench-output.ts and as Markdown for $GITHUB_STEP_SUMMARY by markdown.ts.
 */
import type {BenchResult, ColdStartSample, Distribution, LoadPhase, Phase, RunResult} from '../result.js'
import {compareQuantile} from '../stats/bootstrap.js'
import {LatencyHistogram} from '../stats/histogram.js'
import {ms, msRange, rate, share, usd} from './format.js'

export type Tone = 'good' | 'bad' | 'warn' | 'dim'
export type Cell = string | {text: string; tone: Tone}

export interface Table {
  title: string
  head: string[]
  rows: Cell[][]
  /** A line under the table: what the numbers mean or what they cannot say. */
  note?: string
}

const withCi = (value: number, ci: [number, number]) => `${ms(value)} (${msRange(ci[0], ci[1])})`

export const runLabel = (run: RunResult) => (run.id === 'base' ? `${run.memoryMb} MB${run.batchSize > 1 ? `, batch ${run.batchSize}` : ''}` : run.id.replace('=', ' '))

function phaseName(phase: Phase): string {
  switch (phase.kind) {
    case 'burst': return `burst ×${phase.size}`
    case 'cold-series': return `cold series ×${phase.coldStarts.length}`
    case 'idle-gaps': return 'idle gaps'
    case 'closed': return `closed, ${phase.connections} conn`
    case 'open': return `open, ${phase.rate?.arrival === 'trace' ? 'trace' : `${phase.rate?.target} req/s ${phase.rate?.arrival}${phase.rate?.ramp ? ' ramp' : ''}`}`
  }
}

function errorsCell(errors: {total: number; byType: Record<string, number>}, invokes: number): Cell {
  if (errors.total === 0) return '0'
  const types = Object.entries(errors.byType).map(([t, n]) => `${t} ×${n}`).join(', ')
  return {text: `${errors.total}/${invokes} (${types})`, tone: 'bad'}
}

function distributionRow(name: string, d: Distribution | undefined): Cell[] | undefined {
  if (!d) return undefined
  return [name, String(d.count), ms(d.p50), ms(d.p90), ms(d.p99), ms(d.p999), ms(d.max), ms(d.mean)]
}

/** The CPU the numbers were measured with, and whether it is what Lambda would give. */
export function cpuNote({cpu, memoryMb}: RunResult): string {
  const lambda = `Lambda gives ${memoryMb} MB ${cpu.lambdaVcpus.toFixed(2)} vCPU`
  if (cpu.enforcement === null) return `CPU: NOT limited (${lambda}; this backend cannot enforce it, so these latencies can be lower than on Lambda).`
  if (cpu.capped) return `CPU: ${cpu.vcpus} vCPU, all this host has (${lambda}).`
  return `CPU: ${cpu.vcpus.toFixed(2)} vCPU, as on Lambda (${cpu.enforcement}).`
}

/** Every phase's latency distributions, cold and warm apart, and the run's merged ones with CIs. */
export function latencyTable(run: RunResult): Table {
  const rows: Cell[][] = []
  for (const phase of run.phases) {
    const name = phaseName(phase)
    if (phase.kind === 'burst') {
      rows.push(distributionRow(`${name}: cold`, phase.cold)!, distributionRow(`${name}: warm`, phase.warm)!)
    } else if (phase.kind === 'cold-series') {
      rows.push(distributionRow(name, phase.cold)!)
    } else if (phase.kind === 'closed' || phase.kind === 'open') {
      rows.push(distributionRow(`${name}: warm`, phase.latency)!, distributionRow(`${name}: cold`, phase.cold)!)
    }
  }
  const merged: Cell[][] = []
  for (const [name, d] of [['all cold', run.cold], ['all warm', run.warm]] as const) {
    if (d) merged.push([{text: name, tone: 'dim'}, String(d.count), withCi(d.p50, d.ci.p50), '', withCi(d.p99, d.ci.p99), '', ms(d.max), ms(d.mean)])
  }
  return {
    title: `Latency — ${runLabel(run)}`,
    head: ['phase', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
    rows: [...rows.filter(Boolean), ...merged],
    note: [cpuNote(run), merged.length > 0 ? 'Client latency, send to last byte. "all" rows: 95% bootstrap confidence intervals in brackets.' : ''].filter(Boolean).join(' '),
  }
}

const created = (s: ColdStartSample) => s.backend?.containerCreated
const segments = (s: ColdStartSample) => ({
  // On Docker the spawn is a container's create, then its start by the engine.
  ...(created(s) !== undefined
    ? {'spawn → container created': created(s), 'container created → process start': s.processStartMs === undefined ? undefined : s.processStartMs - created(s)!}
    : {'spawn → process start': s.processStartMs}),
  'process start → runtime ready': s.runtimeReadyMs !== undefined && s.processStartMs !== undefined ? s.runtimeReadyMs - s.processStartMs : undefined,
  'runtime ready → init done': s.initDoneMs !== undefined && s.runtimeReadyMs !== undefined ? s.initDoneMs - s.runtimeReadyMs : undefined,
  'init done → first response': s.initDoneMs !== undefined && s.firstResponseMs !== undefined ? s.firstResponseMs - s.initDoneMs : undefined,
  'Init Duration (REPORT)': s.initDurationMs,
  'client latency': s.latencyMs,
})

function quantile(sorted: number[], q: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
}

/** Where a cold start's time goes, p50 and p99 of each step across every cold start of a run. */
export function coldPhasesTable(run: RunResult): Table | undefined {
  const samples = run.phases.flatMap((p) => ('coldStarts' in p ? p.coldStarts : []))
  if (samples.length === 0) return undefined
  const names = Object.keys(segments(samples[0]!)) as (keyof ReturnType<typeof segments>)[]
  // A remote target has no phase marks: only its REPORT figures and the client's latency.
  const rows = names.flatMap((name) => {
    const values = samples.map((s) => segments(s)[name]).filter((v): v is number => v !== undefined).sort((a, b) => a - b)
    return values.length === 0 ? [] : [[name, ms(quantile(values, 0.5)), ms(quantile(values, 0.99)), ms(values.at(-1))]]
  })
  const memory = Math.max(...samples.map((s) => s.maxMemoryUsedMb))
  const marked = samples.some((x) => x.firstResponseMs !== undefined)
  return {
    title: `Cold starts — ${runLabel(run)} (${samples.length})`,
    head: ['step', 'p50', 'p99', 'max'],
    rows,
    note: `Max Memory Used ${memory} MB of ${run.memoryMb} MB. ${
      marked ? `Init Duration runs from the ${samples.some((x) => created(x) !== undefined) ? "container's start" : 'spawn'} to the runtime's first /next.` : "Init Duration as the function's REPORT lines give it; the client latency includes the network."
    }`,
  }
}

/** Every configuration side by side: the memory and batch sweeps. */
export function sweepTable(result: BenchResult): Table | undefined {
  if (result.runs.length < 2) return undefined
  const fastest = [...result.runs].filter((r) => r.warm).sort((a, b) => a.warm!.p50 - b.warm!.p50)[0]
  const rows = result.runs.map((run): Cell[] => {
    const load = run.phases.find((p): p is LoadPhase => p.kind === 'closed' || p.kind === 'open')
    const cpu = `${run.cpu.vcpus.toFixed(2)}${run.cpu.enforcement === null ? ' (not enforced)' : run.cpu.capped ? ' (capped)' : ''}`
    let versus: Cell = '—'
    if (run.warm && fastest?.warm) {
      if (run === fastest) versus = {text: 'fastest', tone: 'good'}
      else {
        const check = compareQuantile(LatencyHistogram.decode(fastest.warm.hdr), LatencyHistogram.decode(run.warm.hdr), 0.5, {threshold: 0})
        versus = check.significant ? `+${((check.ratio - 1) * 100).toFixed(1)}%` : {text: 'no significant difference', tone: 'dim'}
      }
    }
    if (run.skipped) return [runLabel(run), cpu, {text: `skipped: ${run.skipped}`, tone: 'warn'}, '', '', '', '', '', '', '']
    return [
      runLabel(run),
      cpu,
      ms(run.warm?.p50),
      ms(run.warm?.p99),
      versus,
      load ? rate(load.throughput.itemsPerSecond) : '—',
      ms(run.report?.billedDurationMs.mean),
      usd(run.cost?.perThousandInvokes),
      usd(run.cost?.perThousandItems),
      errorsCell(run.errors, run.invokes),
    ]
  })
  const unenforced = result.runs.some((r) => r.cpu.enforcement === null)
  const capped = result.runs.some((r) => r.cpu.capped)
  return {
    title: 'Configurations',
    head: ['config', 'vCPU', 'warm p50', 'warm p99', 'p50 vs fastest', 'items/s', 'billed (mean)', '$ / 1k invokes', '$ / 1k items', 'errors'],
    rows,
    note: [
      `Cost: ${result.runs[0]?.cost?.pricing.region ?? 'us-east-1'} on-demand prices, mean Billed Duration of warm invokes. "p50 vs fastest": bootstrap test of the median.`,
      unenforced ? `CPU is NOT limited by this backend (${result.environment.backend.name}): every size ran with the host's CPU, so latencies do not show Lambda's CPU share.` : '',
      capped ? `Some sizes want more vCPUs than this host has (${result.environment.cores}): capped.` : '',
    ].filter(Boolean).join(' '),
  }
}

/** What the REPORT lines said: the figures Lambda bills and CloudWatch shows. */
export function reportTable(run: RunResult): Table | undefined {
  const report = run.report
  if (!report) return undefined
  const init = report.initDurationMs
  return {
    title: `REPORT lines — ${runLabel(run)}`,
    head: ['figure', 'mean', 'p50', 'p99', 'max'],
    rows: [
      ...(init ? [['Init Duration (cold starts)', ms(init.mean), ms(init.p50), ms(init.p99), ms(init.max)]] : []),
      ['Duration', ms(report.durationMs.mean), ms(report.durationMs.p50), ms(report.durationMs.p99), ms(report.durationMs.max)],
      ['Billed Duration', ms(report.billedDurationMs.mean), ms(report.billedDurationMs.p50), ms(report.billedDurationMs.p99), ms(report.billedDurationMs.max)],
      ['Max Memory Used', '', '', '', `${report.maxMemoryUsedMb} MB of ${run.memoryMb} MB`],
    ],
    note: run.cost ? `${usd(run.cost.perThousandInvokes)} per 1,000 invokes at ${run.memoryMb} MB (${run.cost.pricing.region}, ${run.cost.pricing.architecture}, mean Billed Duration of warm invokes).` : undefined,
  }
}

export function errorsTable(run: RunResult): Table | undefined {
  if (run.errors.total === 0) return undefined
  return {
    title: `Errors — ${runLabel(run)}`,
    head: ['error type', 'count', 'share'],
    rows: Object.entries(run.errors.byType).map(([type, n]) => [{text: type, tone: 'bad'}, String(n), share(n / run.invokes)]),
    note: 'Function errors are counted, never fatal: the run goes on.',
  }
}

export function idleGapsTable(run: RunResult): Table | undefined {
  const phase = run.phases.find((p) => p.kind === 'idle-gaps')
  if (!phase || phase.kind !== 'idle-gaps' || phase.probes.length === 0) return undefined
  return {
    title: `Idle gaps — ${runLabel(run)}`,
    head: ['idle gap', 'next invoke', 'latency', 'Init Duration'],
    rows: phase.probes.map((p) => [ms(p.gapMs), p.cold ? {text: 'cold', tone: 'warn'} : {text: 'warm', tone: 'good'}, ms(p.latencyMs), ms(p.initDurationMs)]),
    note:
      phase.keepAliveSeconds === undefined
        ? "Keep-alive: the target's own. AWS does not publish its keep-alive; it varies from minutes to hours."
        : `Keep-alive: ${phase.keepAliveSeconds} s (--keep-alive). AWS does not publish its keep-alive; it varies from minutes to hours.`,
  }
}

export function sendsTable(run: RunResult): Table | undefined {
  const rows = run.phases.flatMap((p): Cell[][] =>
    p.kind === 'open' && p.sends
      ? [[phaseName(p), String(p.invokes), rate(p.throughput.invokesPerSecond), ms(p.sends.lateness.p50), ms(p.sends.lateness.p99), p.sends.late > 0 ? {text: String(p.sends.late), tone: 'warn'} : '0', p.sends.dropped > 0 ? {text: String(p.sends.dropped), tone: 'bad'} : '0']]
      : [],
  )
  if (rows.length === 0) return undefined
  return {
    title: `Open-model sends — ${runLabel(run)}`,
    head: ['phase', 'sent', 'req/s', 'lateness p50', 'lateness p99', 'late (>1 ms)', 'dropped'],
    rows,
    note: 'Latency is measured from each request\'s intended send time, so a late send or a queue shows in it.',
  }
}

export function budgetsTable(result: BenchResult): Table | undefined {
  if (result.budgets.length === 0) return undefined
  return {
    title: 'Budgets',
    head: ['metric', 'limit', 'measured', 'result'],
    rows: result.budgets.map((b) => [
      b.metric,
      `${b.bound === 'upper' ? '≤' : '≥'} ${b.limit}`,
      b.actual === undefined ? 'not measured' : `${b.actual} ${b.unit}`,
      b.passed ? {text: 'pass', tone: 'good'} : {text: 'FAIL', tone: 'bad'},
    ]),
  }
}

export function baselineTable(result: BenchResult): Table | undefined {
  const comparison = result.baseline
  if (!comparison) return undefined
  return {
    title: `Baseline — ${comparison.file}`,
    head: ['metric', 'baseline', 'now', 'change', '95% CI', 'verdict'],
    rows: comparison.checks.map((c) => [
      c.metric,
      ms(c.baseline),
      ms(c.current),
      `${c.ratio >= 1 ? '+' : ''}${((c.ratio - 1) * 100).toFixed(1)}%`,
      `×${c.ci[0].toFixed(3)}–×${c.ci[1].toFixed(3)}`,
      c.failed ? {text: 'REGRESSION', tone: 'bad'} : c.verdict === 'regression' ? {text: `regression (under ${Math.round(comparison.threshold * 100)}%)`, tone: 'warn'} : c.verdict === 'improvement' ? {text: 'improvement', tone: 'good'} : {text: c.verdict, tone: 'dim'},
    ]),
    note: `Test: ${comparison.method}. A check fails when the regression is significant and above ${Math.round(comparison.threshold * 100)}%.`,
  }
}

/** Every table of a result, in reading order. */
export function benchTables(result: BenchResult): Table[] {
  const tables: (Table | undefined)[] = []
  // Sweeps add a row each to "Configurations"; the detail is the spec's own configuration's (all of it is in --json and --html).
  for (const run of result.runs.filter((r) => r.id === 'base')) {
    tables.push(latencyTable(run), coldPhasesTable(run), reportTable(run), idleGapsTable(run), sendsTable(run), errorsTable(run))
  }
  tables.push(sweepTable(result), budgetsTable(result), baselineTable(result))
  return tables.filter((t): t is Table => t !== undefined && t.rows.length > 0)
}
