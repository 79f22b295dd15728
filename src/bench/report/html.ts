/**
 * The bench result as one self-contained HTML file: inline CSS and SVG, no script, no fonts, no
 * images, nothing fetched (a Content-Security-Policy forbids it too), so it can be attached to a CI
 * run or mailed and still open anywhere.
 */
import {decodeFromCompressedBase64, type Histogram} from 'hdr-histogram-js'
import type {BenchResult, ColdStartSample, CpuShare, Distribution, ErrorCounts, LoadPhase, Phase, RunResult} from '../result.js'
import {fixed, ms, msNumber, rate, rps, share, usd} from './format.js'
import {escapeXml, formatTick, lineChart, stackedBarChart, type Point, type Series} from './svg.js'

/** Markup that is already safe; everything else interpolated into `html` is escaped. */
export class Markup {
  constructor(readonly value: string) {}
}
export const raw = (markup: string) => new Markup(markup)
export type Piece = Markup | string | number | undefined | null | false | Piece[]

export function html(strings: TemplateStringsArray, ...values: Piece[]): Markup {
  const render = (v: Piece): string =>
    v instanceof Markup ? v.value : Array.isArray(v) ? v.map(render).join('') : v === undefined || v === null || v === false ? '' : escapeXml(String(v))
  return raw(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]!) : ''), ''))
}

export const usdTick = (v: number) => `$${formatTick(v)}`
const percent = (part: number, whole: number) => (whole > 0 ? share(part / whole) : '—')
const duration = (seconds: number) =>
  !Number.isFinite(seconds) ? '' : seconds < 120 ? `${fixed(seconds, 1)} s` : seconds < 7200 ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : `${fixed(seconds / 3600, 1)} h`
const slug = (id: string) => `run-${id.replace(/[^a-zA-Z0-9]+/g, '-')}`

/** The curve of a distribution: (latency ms, percentile), from its HDR histogram. Empty when it holds nothing. */
export function cdfPoints(distribution: Distribution): Point[] {
  let histogram: Histogram
  try {
    histogram = decodeFromCompressedBase64(distribution.hdr, 32, false)
  } catch {
    return []
  }
  if (histogram.totalCount === 0) return []
  const percentiles = [...Array.from({length: 199}, (_, i) => i * 0.5), 99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 100]
  const points = percentiles.map((p) => ({x: histogram.getValueAtPercentile(p) / 1000, y: p}))
  // Percentiles that land in the same bucket give the same value: keep only the two ends of each flat run.
  return points.filter((p, i) => p.x !== points[i - 1]?.x || p.x !== points[i + 1]?.x)
}

const COLD_PHASES = [
  {name: 'spawn → process', mark: 'processStartMs', color: '#94a3b8'},
  {name: 'process → runtime ready', mark: 'runtimeReadyMs', color: '#f59e0b'},
  {name: 'runtime → init done', mark: 'initDoneMs', color: '#7c3aed'},
  {name: 'init → first response', mark: 'firstResponseMs', color: '#059669'},
] as const

/** Time between consecutive marks; a missing mark folds its phase into the next one. */
function phaseDurations(sample: ColdStartSample): number[] {
  let previous = 0
  return COLD_PHASES.map(({mark}) => {
    const at = sample[mark]
    if (at === undefined) return 0
    const span = Math.max(0, at - previous)
    previous = at
    return span
  })
}

const nearestRank = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
const loadPhases = (run: RunResult) => run.phases.filter((p): p is LoadPhase => p.kind === 'closed' || p.kind === 'open')

function itemsPerSecond(run: RunResult): number | undefined {
  const main = loadPhases(run).sort((a, b) => b.invokes - a.invokes)[0]
  if (!main) return undefined
  return main.throughput.itemsPerSecond > 0 ? main.throughput.itemsPerSecond : main.throughput.invokesPerSecond * run.batchSize
}

/** Why a configuration's latency may not be what Lambda would show, or undefined when it is enforced as on Lambda. */
function cpuCaveat(cpu: CpuShare): string | undefined {
  if (cpu.enforcement === null) return `CPU not limited by this backend (Lambda: ${fixed(cpu.lambdaVcpus, 2)} vCPU)`
  if (cpu.capped) return `capped at ${fixed(cpu.vcpus, 2)} host cores (Lambda: ${fixed(cpu.lambdaVcpus, 2)} vCPU)`
  return undefined
}

export function table(headers: Piece[], rows: Piece[][], className = ''): Markup {
  return html`<div class="table-wrap"><table class="${className}"><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows.map(
    (row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`,
  )}</tbody></table></div>`
}

export const figure = (title: string, chart: string, note?: Piece) => html`<figure><figcaption>${title}</figcaption>${raw(chart)}${note ? html`<p class="note">${note}</p>` : ''}</figure>`
const withCi = (value: number, ci: [number, number]) => html`${msNumber(value)} <span class="ci">${msNumber(ci[0])}–${msNumber(ci[1])}</span>`

function distributionTable(rows: [string, Distribution | undefined][]): Markup {
  const present = rows.filter((r): r is [string, Distribution] => r[1] !== undefined && r[1].count > 0)
  if (present.length === 0) return html`<p class="note">No latency was measured.</p>`
  return table(
    ['latency (ms)', 'count', html`p50 <span class="ci">95% CI</span>`, 'p90', html`p99 <span class="ci">95% CI</span>`, 'p99.9', 'max', 'mean ± sd'],
    present.map(([name, d]) => [html`<strong>${name}</strong>`, d.count, withCi(d.p50, d.ci.p50), msNumber(d.p90), withCi(d.p99, d.ci.p99), msNumber(d.p999), msNumber(d.max), `${msNumber(d.mean)} ± ${msNumber(d.stddev)}`]),
    'dist',
  )
}

function errorsBlock(errors: ErrorCounts, invokes: number): Markup {
  if (errors.total === 0) return html`<p class="ok-text">No errors in ${invokes.toLocaleString('en-US')} invokes.</p>`
  const rows = Object.entries(errors.byType).sort((a, b) => b[1] - a[1])
  return table(['error type', 'count', 'share of invokes'], [...rows.map(([type, count]) => [html`<code>${type}</code>`, count, percent(count, invokes)]), [html`<strong>total</strong>`, errors.total, percent(errors.total, invokes)]])
}

function cdfChart(run: RunResult): Markup | undefined {
  const series: Series[] = [
    {name: 'cold', distribution: run.cold, color: '#dc2626'},
    {name: 'warm', distribution: run.warm, color: '#2563eb'},
  ].flatMap(({name, distribution, color}) => {
    const points = distribution ? cdfPoints(distribution) : []
    return points.length ? [{name: `${name} (n=${distribution!.count.toLocaleString('en-US')})`, points, color}] : []
  })
  if (series.length === 0) return undefined
  const chart = lineChart(series, {
    id: `cdf-${run.id}`,
    title: `Latency CDF, ${run.id}: cold vs warm`,
    x: {title: 'latency (ms, log scale)', log: true},
    y: {title: 'percentile', min: 0, max: 100, ticks: [0, 25, 50, 75, 90, 100], format: (v) => (v === 100 ? 'max' : `p${v}`)},
  })
  return figure('Latency distribution (cold vs warm)', chart, 'Client-side latency, send to last byte. Read across at a percentile to get its latency.')
}

function coldPhaseChart(run: RunResult): Markup | undefined {
  const samples = run.phases.flatMap((phase) => ('coldStarts' in phase ? phase.coldStarts.map((sample, i) => ({sample, label: `${phase.kind} #${i + 1}`})) : []))
  // A remote target's cold starts have no phase marks to chart.
  if (!samples.some(({sample}) => sample.firstResponseMs !== undefined)) return undefined
  const perSample = samples.length <= 20
  const bars = perSample
    ? samples.map(({sample, label}) => ({label, values: phaseDurations(sample)}))
    : [50, 90, 99].map((p) => {
        const durations = samples.map(({sample}) => phaseDurations(sample))
        return {label: `p${p} of each phase`, values: COLD_PHASES.map((_, i) => nearestRank(durations.map((d) => d[i]!).sort((a, b) => a - b), p))}
      })
  const chart = stackedBarChart({
    id: `cold-phases-${run.id}`,
    title: `Cold start phases, ${run.id}`,
    segments: COLD_PHASES.map(({name, color}) => ({name, color})),
    bars,
    x: {title: 'ms since the environment was spawned'},
  })
  const note = perSample
    ? `Each bar is one cold start (${samples.length}); hover a segment for its duration. A missing mark folds its phase into the next.`
    : `${samples.length} cold starts; each phase's percentile on its own, so a bar's total is not that percentile of the whole.`
  return figure('Cold start breakdown', chart, note)
}

function idleGapsBlock(run: RunResult): Markup | undefined {
  const phases = run.phases.filter((p) => p.kind === 'idle-gaps')
  if (phases.length === 0) return undefined
  return html`${phases.map(
    (phase) => html`<h4>Idle gaps <span class="note">keep-alive ${phase.keepAliveSeconds === undefined ? "the target's own" : `${phase.keepAliveSeconds} s`}</span></h4>${table(
      ['idle gap', 'result', 'latency', 'init duration', 'outcome'],
      phase.probes.map((probe) => [
        probe.gapMs >= 1000 ? `${fixed(probe.gapMs / 1000, probe.gapMs % 1000 ? 1 : 0)} s` : `${probe.gapMs} ms`,
        probe.cold ? html`<span class="tag cold">cold</span>` : html`<span class="tag warm">warm</span>`,
        ms(probe.latencyMs),
        ms(probe.initDurationMs),
        probe.outcome === 'success' ? probe.outcome : html`<span class="bad-text">${probe.outcome}</span>`,
      ]),
    )}`,
  )}`
}

function sendAccuracyBlock(run: RunResult): Markup | undefined {
  const open = loadPhases(run).filter((p) => p.kind === 'open' && p.sends)
  if (open.length === 0) return undefined
  return html`<h4>Open-model send accuracy</h4>${table(
    ['target', 'arrival', 'sent', 'late (>1 ms)', 'dropped', 'lateness p50', 'p99', 'max'],
    open.map((p) => {
      const sends = p.sends!
      const intended = p.invokes + sends.dropped
      return [
        p.rate ? `${rps(p.rate.target)}${p.rate.ramp ? ' (ramp)' : ''}` : '—',
        p.rate ? p.rate.arrival + (p.rate.trace ? ` ${p.rate.trace}` : '') : '—',
        p.invokes,
        html`${sends.late} <span class="ci">${percent(sends.late, intended)}</span>`,
        sends.dropped > 0 ? html`<span class="bad-text">${sends.dropped}</span> <span class="ci">${percent(sends.dropped, intended)}</span>` : '0',
        ms(sends.lateness.p50),
        ms(sends.lateness.p99),
        ms(sends.lateness.max),
      ]
    }),
  )}<p class="note">Late or dropped sends mean the client, not the function, shaped the load: latencies are then optimistic.</p>`
}

function phaseLabel(phase: Phase): string {
  switch (phase.kind) {
    case 'burst':
      return `burst of ${phase.size}`
    case 'cold-series':
      return `cold series (${phase.coldStarts.length})`
    case 'idle-gaps':
      return `idle gaps (${phase.probes.length})`
    default:
      return phase.kind === 'closed' ? `closed, ${phase.connections} connections` : `open, ${phase.rate ? rps(phase.rate.target) : 'trace'}`
  }
}

function phasesTable(run: RunResult): Markup {
  return table(
    ['phase', 'invokes', 'wall', 'throughput (req/s)', 'cold p50', 'cold p99', 'warm p50', 'warm p99', 'errors'],
    run.phases.map((phase) => {
      const cold = 'cold' in phase ? phase.cold : undefined
      const warm = phase.kind === 'burst' ? phase.warm : phase.kind === 'closed' || phase.kind === 'open' ? phase.latency : undefined
      return [
        phaseLabel(phase),
        phase.invokes,
        `${fixed(phase.wallMs / 1000, 1)} s`,
        phase.kind === 'closed' || phase.kind === 'open' ? rate(phase.throughput.invokesPerSecond) : '—',
        msNumber(cold?.p50),
        msNumber(cold?.p99),
        msNumber(warm?.p50),
        msNumber(warm?.p99),
        phase.errors.total ? html`<span class="bad-text">${phase.errors.total}</span>` : '0',
      ]
    }),
  )
}

function runSection(run: RunResult, open: boolean): Markup {
  const caveat = cpuCaveat(run.cpu)
  const report = run.report
  const charts = [cdfChart(run), coldPhaseChart(run)].filter((c) => c !== undefined)
  const extras = [idleGapsBlock(run), sendAccuracyBlock(run)].filter((c) => c !== undefined)
  return html`<details class="run" id="${slug(run.id)}"${raw(open ? ' open' : '')}>
<summary><span class="run-id">${run.id}</span> <span class="note">${run.memoryMb} MB · batch ${run.batchSize} · ${fixed(run.cpu.vcpus, 2)} vCPU · ${run.invokes.toLocaleString('en-US')} invokes</span>${caveat ? html` <span class="tag warn">${caveat}</span>` : ''}</summary>
<div class="run-body">
${distributionTable([
  ['cold', run.cold],
  ['warm', run.warm],
])}
${report ? html`<p class="note">From REPORT lines: init duration p50 ${ms(report.initDurationMs?.p50)}, p99 ${ms(report.initDurationMs?.p99)} · billed duration mean ${ms(report.billedDurationMs.mean)}, p99 ${ms(report.billedDurationMs.p99)} · max memory used ${report.maxMemoryUsedMb} of ${run.memoryMb} MB${run.cost ? ` · ${usd(run.cost.perThousandInvokes)} per 1k invokes` : ''}</p>` : ''}
${charts.length ? html`<div class="charts">${charts}</div>` : ''}
<h4>Phases</h4>${phasesTable(run)}
<h4>Errors</h4>${errorsBlock(run.errors, run.invokes)}
${extras}
</div></details>`
}

/**
 * The points of a sweep: the base run (the spec's memory, one item per invoke) is the point both
 * sweeps share, so it is in each; the other points are the runs named after the sweep.
 */
function sweepRuns(result: BenchResult, sweep: 'memory' | 'batch'): RunResult[] {
  const asked = sweep === 'memory' ? result.options.memorySizes : result.options.batchSizes
  if (!asked?.length) return []
  const key = (r: RunResult) => (sweep === 'memory' ? r.memoryMb : r.batchSize)
  const points = result.runs.filter((r) => r.id.startsWith(`${sweep}=`) || (r.id === 'base' && asked.includes(key(r))))
  // One point is not a sweep (e.g. a run interrupted before the second configuration).
  return points.length < 2 ? [] : points.sort((a, b) => key(a) - key(b))
}

const point = (x: number, y: number | undefined, hollow = false, label?: string): Point[] => (y === undefined || !Number.isFinite(y) ? [] : [{x, y, hollow, label}])
const dropEmpty = (series: Series[]) => series.filter((s) => s.points.length > 0)

function memorySweep(result: BenchResult): Markup | undefined {
  const sweep = sweepRuns(result, 'memory')
  if (sweep.length === 0) return undefined
  const sizes = sweep.map((r) => r.memoryMb)
  const x = {title: 'memory (MB, log scale)', log: true, ticks: sizes, format: String}
  const hollow = (r: RunResult) => cpuCaveat(r.cpu) !== undefined
  const latency = dropEmpty([
    {name: 'warm p50', color: '#2563eb', markers: true, points: sweep.flatMap((r) => point(r.memoryMb, r.warm?.p50, hollow(r)))},
    {name: 'warm p99', color: '#7c3aed', markers: true, points: sweep.flatMap((r) => point(r.memoryMb, r.warm?.p99, hollow(r)))},
  ])
  const cold = dropEmpty([
    {name: 'cold p50', color: '#dc2626', markers: true, points: sweep.flatMap((r) => point(r.memoryMb, r.cold?.p50, hollow(r)))},
    {name: 'cold p99', color: '#d97706', markers: true, points: sweep.flatMap((r) => point(r.memoryMb, r.cold?.p99, hollow(r)))},
  ])
  const cost = dropEmpty([{name: 'per 1k invokes', color: '#059669', markers: true, points: sweep.flatMap((r) => point(r.memoryMb, r.cost?.perThousandInvokes, hollow(r), `${r.memoryMb} MB: ${usd(r.cost?.perThousandInvokes)}`))}])
  const caveats = sweep.some(hollow) ? 'Open circles: the CPU share was not enforced or was capped at that size, so its latency is not what Lambda would show.' : undefined
  const charts = [
    latency.length ? figure('Warm latency vs memory', lineChart(latency, {id: 'memory-latency', title: 'Warm latency vs memory', x, y: {title: 'latency (ms)'}}), caveats) : undefined,
    cold.length ? figure('Cold start latency vs memory', lineChart(cold, {id: 'memory-cold', title: 'Cold start latency vs memory', x, y: {title: 'latency (ms)'}}), caveats) : undefined,
    cost.length ? figure('Cost vs memory', lineChart(cost, {id: 'memory-cost', title: 'Cost per 1,000 invokes vs memory', x, y: {title: 'USD per 1k invokes', format: usdTick}}), caveats) : undefined,
  ]
  return html`<section id="memory-sweep"><h2>Memory sweep</h2><div class="charts">${charts}</div>${table(
    ['memory', 'vCPU (Lambda)', 'vCPU (got)', 'CPU enforcement', 'warm p50', 'warm p99', 'cold p50', 'per 1k invokes'],
    sweep.map((r) => {
      const caveat = cpuCaveat(r.cpu)
      return [
        html`<a href="#${slug(r.id)}">${r.memoryMb} MB</a>`,
        fixed(r.cpu.lambdaVcpus, 2),
        fixed(r.cpu.vcpus, 2),
        caveat ? html`<span class="tag warn">${caveat}</span>` : (r.cpu.enforcement ?? ''),
        ms(r.warm?.p50),
        ms(r.warm?.p99),
        ms(r.cold?.p50),
        html`${usd(r.cost?.perThousandInvokes)}${caveat ? html` <span class="warn-text" title="${caveat}">⚠</span>` : ''}`,
      ]
    }),
  )}</section>`
}

function batchSweep(result: BenchResult): Markup | undefined {
  const sweep = sweepRuns(result, 'batch')
  if (sweep.length === 0) return undefined
  const x = {title: 'batch size (items per invoke, log scale)', log: true, ticks: sweep.map((r) => r.batchSize), format: String}
  const throughput = dropEmpty([{name: 'items/s', color: '#059669', markers: true, points: sweep.flatMap((r) => point(r.batchSize, itemsPerSecond(r)))}])
  const latency = dropEmpty([
    {name: 'warm p50', color: '#2563eb', markers: true, points: sweep.flatMap((r) => point(r.batchSize, r.warm?.p50))},
    {name: 'warm p99', color: '#7c3aed', markers: true, points: sweep.flatMap((r) => point(r.batchSize, r.warm?.p99))},
  ])
  const cost = dropEmpty([{name: 'per 1k items', color: '#d97706', markers: true, points: sweep.flatMap((r) => point(r.batchSize, r.cost?.perThousandItems, false, `batch ${r.batchSize}: ${usd(r.cost?.perThousandItems)}`))}])
  const charts = [
    throughput.length ? figure('Throughput vs batch size', lineChart(throughput, {id: 'batch-throughput', title: 'Throughput (items/s) vs batch size', x, y: {title: 'items per second', min: 0}})) : undefined,
    latency.length ? figure('Latency vs batch size', lineChart(latency, {id: 'batch-latency', title: 'Warm latency vs batch size', x, y: {title: 'latency per invoke (ms)', min: 0}})) : undefined,
    cost.length ? figure('Cost per item vs batch size', lineChart(cost, {id: 'batch-cost', title: 'Cost per 1,000 items vs batch size', x, y: {title: 'USD per 1k items', format: usdTick}})) : undefined,
  ]
  return html`<section id="batch-sweep"><h2>Batch sweep</h2><div class="charts">${charts}</div>${table(
    ['batch', 'items/s', 'warm p50', 'warm p99', 'per 1k invokes', 'per 1k items'],
    sweep.map((r) => [html`<a href="#${slug(r.id)}">${r.batchSize}</a>`, rate(itemsPerSecond(r)), ms(r.warm?.p50), ms(r.warm?.p99), usd(r.cost?.perThousandInvokes), usd(r.cost?.perThousandItems)]),
  )}</section>`
}

function gates(result: BenchResult): Markup | undefined {
  if (result.budgets.length === 0 && !result.baseline) return undefined
  const value = (v: number | undefined, unit: string) => (v === undefined ? '—' : unit === 'ms' ? ms(v) : `${rate(v)}${unit === '%' ? '' : ' '}${unit}`)
  const budgets = result.budgets.length
    ? html`<h3>Budgets</h3>${table(
        ['metric', 'limit', 'actual', 'result', 'from'],
        result.budgets.map((b) => [
          html`<code>${b.metric}</code>`,
          `${b.bound === 'upper' ? '≤' : '≥'} ${b.limit}`,
          b.actual === undefined ? html`<span class="note">not measured</span>` : value(b.actual, b.unit),
          b.passed ? html`<span class="tag pass">pass</span>` : html`<span class="tag fail">fail</span>`,
          b.source === 'spec' ? 'sai.yaml' : 'flag',
        ]),
      )}`
    : ''
  const baseline = result.baseline
  const comparison = baseline
    ? html`<h3>Compared with baseline</h3><p class="note"><code>${baseline.file}</code> · ${baseline.method} · fails on a significant regression of more than ${fixed(baseline.threshold * 100, 0)}%</p>${table(
        ['metric', 'baseline', 'now', 'ratio', '95% CI', 'verdict'],
        baseline.checks.map((c) => [
          html`<code>${c.metric}</code>`,
          ms(c.baseline),
          ms(c.current),
          `${fixed(c.ratio, 2)}×`,
          `${fixed(c.ci[0], 2)}–${fixed(c.ci[1], 2)}`,
          html`<span class="tag ${c.failed ? 'fail' : c.verdict === 'improvement' ? 'pass' : c.verdict === 'regression' ? 'warn' : 'neutral'}">${c.verdict}${c.failed ? ' (gate)' : ''}</span>`,
        ]),
      )}`
    : ''
  return html`<section id="gates"><h2>Gates</h2>${budgets}${comparison}</section>`
}

function overview(runs: RunResult[]): Markup {
  return html`<section id="runs"><h2>Runs</h2>${table(
    ['run', 'memory', 'batch', 'vCPU', 'cold p50', 'cold p99', 'warm p50', 'warm p99', 'items/s', 'errors', 'per 1k invokes', 'per 1k items'],
    runs.map((r) => {
      const caveat = cpuCaveat(r.cpu)
      return [
        r.skipped ? html`${r.id} <span class="tag warn" title="${r.skipped}">skipped</span>` : html`<a href="#${slug(r.id)}">${r.id}</a>`,
        `${r.memoryMb} MB`,
        r.batchSize,
        html`${fixed(r.cpu.vcpus, 2)}${caveat ? html` <span class="warn-text" title="${caveat}">⚠</span>` : ''}`,
        ms(r.cold?.p50),
        ms(r.cold?.p99),
        ms(r.warm?.p50),
        ms(r.warm?.p99),
        rate(itemsPerSecond(r)),
        r.errors.total ? html`<span class="bad-text">${r.errors.total}</span> <span class="ci">${percent(r.errors.total, r.invokes)}</span>` : '0',
        usd(r.cost?.perThousandInvokes),
        usd(r.cost?.perThousandItems),
      ]
    }),
  )}</section>`
}

function header(result: BenchResult): Markup {
  const {spec, environment: env, versions} = result
  const backend = env.backend
  const seconds = (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000
  const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')
  const gated = result.budgets.length > 0 || result.baseline !== undefined
  const item = (term: string, detail: Piece) => html`<div><dt>${term}</dt><dd>${detail}</dd></div>`
  return html`<header>
<div class="title"><h1>sai bench · ${spec.name}</h1>${gated ? html`<span class="tag big ${result.passed ? 'pass' : 'fail'}">${result.passed ? 'passed' : 'failed'}</span>` : ''}</div>
<p class="note">${when(result.startedAt)} · ${duration(seconds)} · <code>${spec.specPath}</code></p>
${result.interrupted ? html`<div class="banner" role="alert"><strong>Interrupted.</strong> The run was stopped before it finished; this report holds what was measured until ${when(result.finishedAt)}.</div>` : ''}
<dl class="meta">
${item('Function', html`${spec.memory} MB · ${spec.timeout} s timeout · ${spec.architecture} · ${spec.runtime}${spec.batch ? ` · batch ${spec.batch}` : ''}`)}
${spec.model || spec.handler ? item(spec.model ? 'Model' : 'Handler', html`<code>${spec.model ?? spec.handler}</code>`) : ''}
${item('Backend', html`${backend.name} · memory: ${backend.memoryEnforcement} · CPU: ${backend.cpuEnforcement ?? html`<span class="warn-text">not enforced</span>`}${backend.notes.map((note) => html`<br><span class="note">${note}</span>`)}`)}
${backend.target ? item('Target', html`<code>${spec.specPath}</code>${backend.target.qualifier ? ` · qualifier ${backend.target.qualifier}` : ''} · ${backend.target.endpoint}${backend.target.local ? '' : ` · ${backend.target.region}`}`) : ''}
${item(backend.target ? 'Client' : 'Machine', `${env.hostname} · ${env.platform}/${env.arch} · ${env.cpuModel} · ${env.cores} cores · ${fixed(env.memoryMb / 1024, 1)} GB`)}
${item('Versions', `sai ${versions.sai} · node ${versions.node}${versions.onnxruntime ? ` · onnxruntime ${versions.onnxruntime}` : ''} · autocannon ${versions.autocannon}`)}
${item('Payload', result.options.payload)}
</dl>
</header>`
}

const CSS = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff;--ok:#047857;--bad:#b91c1c;--warn:#b45309;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:1280px;margin:0 auto;padding:28px 20px 64px}
h1{font-size:24px;margin:0;letter-spacing:-.01em}
h2{font-size:18px;margin:36px 0 12px}
h3{font-size:15px;margin:20px 0 8px}
h4{font-size:14px;margin:20px 0 6px;color:#374151}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
header .title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
nav{margin-top:14px;display:flex;gap:6px 14px;flex-wrap:wrap;font-size:13px}
dl.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:10px 28px;margin:16px 0 0;padding:14px 18px;background:var(--card);border:1px solid var(--line);border-radius:10px}
dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em}
dd{margin:0}
.note{color:var(--muted);font-size:12.5px}
.ci{color:var(--muted);font-size:11.5px}
.banner{margin:14px 0;padding:10px 14px;background:#fef3c7;border:1px solid #f59e0b;border-radius:8px;color:#78350f}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px;margin:8px 0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:7px 12px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
tr:last-child td{border-bottom:none}
th:first-child,td:first-child{text-align:left}
thead th{color:var(--muted);font-weight:600;font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;background:#fafafa}
tbody tr:hover{background:#f9fafb}
.charts{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));gap:16px;margin:12px 0}
figure{margin:0;padding:14px 16px 10px;background:var(--card);border:1px solid var(--line);border-radius:10px;min-width:0}
figcaption{font-weight:600;margin-bottom:6px}
figure .note{margin:6px 0 0}
.tag{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.tag.big{font-size:13px;padding:3px 12px;text-transform:uppercase;letter-spacing:.05em}
.tag.pass{background:#d1fae5;color:var(--ok)}
.tag.fail{background:#fee2e2;color:var(--bad)}
.tag.warn{background:#fef3c7;color:var(--warn)}
.tag.neutral{background:#f3f4f6;color:#4b5563}
.tag.cold{background:#fee2e2;color:var(--bad)}
.tag.warm{background:#dbeafe;color:#1d4ed8}
.bad-text{color:var(--bad);font-weight:600}
.warn-text{color:var(--warn)}
.ok-text{color:var(--ok)}
details.run{margin:14px 0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:4px 18px}
details.run>summary{cursor:pointer;padding:10px 0;list-style-position:outside}
details.run[open]>summary{border-bottom:1px solid var(--line);margin-bottom:8px}
.run-id{font-size:16px;font-weight:700}
.run-body .table-wrap,.run-body figure{border-color:#eef0f3}
table.kv th,table.kv td{text-align:left}
table.kv td{white-space:normal}
table.kv td:first-child{color:var(--muted);white-space:nowrap;width:1%}
ul.reasons{margin:6px 0;padding-left:20px;color:var(--muted);font-size:12.5px}
@media print{details.run{break-inside:avoid}body{background:#fff}}
`

export interface HtmlReportOptions {
  /** A section rendered elsewhere (e.g. by `sai recommend --html`), already safe HTML: placed first, after the nav. */
  recommendation?: string
}

export function renderHtmlReport(result: BenchResult, options: HtmlReportOptions = {}): string {
  const runs = [...result.runs].sort((a, b) => Number(b.id === 'base') - Number(a.id === 'base'))
  const [gateSection, memorySection, batchSection] = [gates(result), memorySweep(result), batchSweep(result)]
  const nav = html`<nav>${[
    options.recommendation !== undefined && html`<a href="#recommendation">Recommendation</a>`,
    gateSection && html`<a href="#gates">Gates</a>`,
    html`<a href="#runs">Runs</a>`,
    memorySection && html`<a href="#memory-sweep">Memory sweep</a>`,
    batchSection && html`<a href="#batch-sweep">Batch sweep</a>`,
    runs.filter((r) => !r.skipped).map((r) => html`<a href="#${slug(r.id)}">${r.id}</a>`),
  ]}</nav>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>sai bench · ${result.spec.name}</title>
<style>${raw(CSS)}</style>
</head>
<body><main>
${header(result)}
${nav}
${options.recommendation !== undefined ? raw(options.recommendation) : ''}
${gateSection}${overview(runs)}${memorySection}${batchSection}
<section id="details"><h2>Runs in detail</h2>${runs.filter((r) => !r.skipped).map((run, i) => runSection(run, i === 0))}</section>
<p class="note">Generated by sai ${result.versions.sai} · ${result.schema}</p>
</main></body>
</html>
`.value
}
