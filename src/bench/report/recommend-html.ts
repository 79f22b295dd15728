/**
 * The "Recommendation" section `sai recommend --html` adds to the bench report: what to configure,
 * why (cost vs memory, cold-start share vs provisioned concurrency), and what else was considered.
 * Same rules as the rest of the report: inline SVG, every value escaped, nothing fetched.
 */
import type {MemoryOption, Risk} from '../../recommend/decide.js'
import type {Candidate, RecommendResult} from '../../recommend/result.js'
import {fixed, ms, rate, rps, share, usd} from './format.js'
import {figure, html, table, usdTick, type Markup, type Piece} from './html.js'
import {lineChart, type Point, type Series} from './svg.js'

const COLORS = {cost: '#059669', chosen: '#dc2626', p99: '#7c3aed', warm: '#2563eb', limit: '#6b7280', erlang: '#d97706', cold: '#2563eb'} as const

const verdict = (ok: boolean, yes = 'meets', no = 'misses') => html`<span class="tag ${ok ? 'pass' : 'fail'}">${ok ? yes : no}</span>`
const riskTag = (risk: Risk) => html`<span class="tag ${risk === 'low' ? 'pass' : risk === 'medium' ? 'warn' : 'fail'}">${risk} risk</span>`
const count = (n: number) => n.toLocaleString('en-US')

function missingNote(result: RecommendResult, decision: 'batch' | 'provisioned', fallback: string): Markup {
  const entries = result.missing.filter((m) => m.decision === decision)
  if (entries.length === 0) return html`<p class="note">${fallback}</p>`
  return html`${entries.map((m) => html`<p class="note">Not decided: ${m.message}.${m.hint ? html` Try: <code>${m.hint}</code>` : ''}</p>`)}`
}

function headline(result: RecommendResult): Markup {
  const r = result.recommendation
  const o = result.objectives
  if (!r)
    return html`<div class="banner" role="alert"><strong>No configuration can be recommended.</strong> No memory size was measured well enough to project (see the rejected sizes below).</div>`
  const chosen = result.memory.options.find((m) => m.memoryMb === r.memoryMB)
  const batch = result.batch
  const scaling = r.autoScaling
  const closest = !r.meetsSlo
    ? html`<div class="banner" role="alert"><strong>No configuration meets the SLO</strong> (p99 ≤ ${o.sloP99Ms} ms with at most ${o.maxColdRatePct}% cold starts) — closest: ${r.memoryMB} MB with ${r.provisionedConcurrency} provisioned, p99 ${ms(r.p99Ms)}, ${share(r.coldStartRate)} cold, ${usd(r.monthlyCostUSD)}/month.</div>`
    : ''
  const rows: Piece[][] = [
    ['memory', html`<strong>${r.memoryMB} MB</strong>${chosen?.equivalentTo?.length ? html` <span class="note">warm p99 within noise of ${chosen.equivalentTo.map((m) => `${m} MB`).join(', ')}</span>` : ''}`],
    [
      'batch size',
      r.sqs
        ? html`<strong>${r.batchSize}</strong> · SQS event source mapping <code>BatchSize ${r.sqs.BatchSize}</code>, <code>MaximumBatchingWindowInSeconds ${r.sqs.MaximumBatchingWindowInSeconds}</code>${batch?.note ? html`<br><span class="warn-text">${batch.note}</span>` : ''}`
        : html`<strong>${r.batchSize}</strong>${batch ? html` <span class="note">no batch size above 1 meets the SLO at ${batch.memoryMb} MB</span>` : html` <span class="note">no batch sweep measured</span>`}`,
    ],
    [
      'provisioned concurrency',
      html`<strong>${r.provisionedConcurrency}</strong>${
        scaling
          ? html` · target tracking on <code>${scaling.metric}</code> at ${fixed(scaling.targetValue, 2)} (min ${scaling.minCapacity}, max ${scaling.maxCapacity})`
          : r.provisionedConcurrency === 0
            ? html` <span class="note">keep-alive alone meets the cold-start target</span>`
            : ''
      }${r.schedule?.length ? html` · ${r.schedule.length} scheduled action${r.schedule.length === 1 ? '' : 's'} (below)` : ''}`,
    ],
    [
      'projected monthly cost',
      html`<strong>${usd(r.monthlyCostUSD)}</strong>${chosen ? html` <span class="note">${usd(chosen.perThousand)} per 1,000 requests${r.schedule?.length ? ', with the schedule' : ''}</span>` : ''}`,
    ],
    ['cold-start share', html`${share(r.coldStartRate)} <span class="note">target ≤ ${o.maxColdRatePct}%</span> ${verdict(r.coldStartRate <= o.maxColdRatePct / 100)}`],
    ['p99 (projected, cold starts included)', html`${ms(r.p99Ms)} <span class="note">SLO ${o.sloP99Ms} ms${chosen ? `, ${fixed(100 * chosen.sloUsed, 0)}% of it` : ''}</span> ${verdict(r.p99Ms <= o.sloP99Ms)}`],
    ['risk', html`${riskTag(r.risk)}${chosen?.riskReasons.length ? html` <span class="note">${chosen.riskReasons.join('; ')}</span>` : ''}`],
  ]
  const schedule = r.schedule?.length
    ? html`<h3>Scheduled scaling <span class="note">Application Auto Scaling, times in UTC</span></h3>${table(
        ['action', 'schedule', 'min capacity', 'max capacity'],
        r.schedule.map((a) => [html`<code>${a.name}</code>`, html`<code>${a.schedule}</code>`, a.minCapacity, a.maxCapacity]),
      )}`
    : ''
  const item = (term: string, detail: Piece) => html`<div><dt>${term}</dt><dd>${detail}</dd></div>`
  return html`${closest}${table(['setting', 'recommended'], rows, 'kv headline')}${schedule}
<dl class="meta">
${item('Traffic', html`${result.traffic.description} <span class="note">(${rps(result.traffic.meanRps)} mean, ${rps(result.traffic.peakRps)} peak${result.traffic.periodic ? ', periodic' : ''})</span>`)}
${item('Objectives', `p99 ≤ ${o.sloP99Ms} ms · cold starts ≤ ${o.maxColdRatePct}% · errors ≤ ${o.maxErrorRatePct}% · keep-alive ${o.keepAliveSeconds} s`)}
${item('Pricing', `${result.architecture} · ${result.region}${result.freeTier ? ' · free tier subtracted' : ''}`)}
${item('Bench results', html`${result.benchFiles.map((f, i) => html`${i > 0 ? ', ' : ''}<code>${f}</code>`)}`)}
</dl>`
}

const meets = (o: MemoryOption) => o.meetsSlo && o.meetsColdTarget

function memoryCharts(result: RecommendResult): Markup {
  const options = [...result.memory.options].sort((a, b) => a.memoryMb - b.memoryMb)
  const rejected = result.memory.rejected.length
    ? html`<p class="note">Not considered:</p><ul class="reasons">${result.memory.rejected.map((r) => html`<li><strong>${r.memoryMb} MB</strong> (${r.runId}): ${r.reason}</li>`)}</ul>`
    : ''
  if (options.length === 0) return html`<h3>Cost vs memory</h3><p class="note">No measured memory size could be projected.</p>${rejected}`
  const chosenMb = result.recommendation?.memoryMB
  const chosen = options.find((o) => o.memoryMb === chosenMb)
  const chosenName = `${result.recommendation?.meetsSlo ? 'recommended' : 'closest'} (${chosenMb} MB)`
  const x = {title: 'memory (MB, log scale)', log: true, ticks: options.map((o) => o.memoryMb), format: String}
  const label = (o: MemoryOption) =>
    `${o.memoryMb} MB${o.memoryMb === chosenMb ? ` (${chosenName.split(' ')[0]})` : ''}: ${usd(o.monthly.total)}/month with ${o.provisionedConcurrency} provisioned, p99 ${ms(o.p99Ms)}, ${share(o.coldStartRate)} cold${meets(o) ? '' : ', misses the objectives'}`
  const mark = (y: (o: MemoryOption) => number): Series[] =>
    chosen ? [{name: chosenName, color: COLORS.chosen, markers: true, points: [{x: chosen.memoryMb, y: y(chosen), label: label(chosen)}]}] : []
  const cost: Series[] = [
    {name: 'monthly cost', color: COLORS.cost, markers: true, points: options.map((o): Point => ({x: o.memoryMb, y: o.monthly.total, hollow: !meets(o), label: label(o)}))},
    ...mark((o) => o.monthly.total),
  ]
  const slo = result.objectives.sloP99Ms
  const ends = [options[0]!.memoryMb, options.at(-1)!.memoryMb]
  const latency: Series[] = [
    // Measured first, so that the projection (what the decision uses) is drawn over it where they coincide.
    {name: 'measured warm p99', color: COLORS.warm, markers: true, points: options.map((o) => ({x: o.memoryMb, y: o.warmP99, label: `${o.memoryMb} MB: warm p99 ${ms(o.warmP99)} (95% CI ${ms(o.warmP99Ci[0])}–${ms(o.warmP99Ci[1])})`}))},
    {name: 'projected p99', color: COLORS.p99, markers: true, points: options.map((o): Point => ({x: o.memoryMb, y: o.p99Ms, hollow: !meets(o), label: label(o)}))},
    {name: `SLO ${slo} ms`, color: COLORS.limit, dashed: true, points: ends.map((m) => ({x: m, y: slo}))},
    ...mark((o) => o.p99Ms),
  ]
  const open = options.some((o) => !meets(o)) ? ' Open circles miss the SLO or the cold-start target.' : ''
  const costNote = `Each size priced at ${result.traffic.description} with the provisioned concurrency it needs for the cold-start target.${open}${
    chosen ? ` ${chosenName}: ${usd(chosen.monthly.total)}/month.` : ''
  }`
  const charts = [
    figure('Cost vs memory', lineChart(cost, {id: 'recommend-memory-cost', title: 'Projected monthly cost vs memory', x, y: {title: 'USD per month', min: 0, format: usdTick}}), costNote),
    figure(
      'Projected p99 vs memory',
      lineChart(latency, {id: 'recommend-memory-p99', title: 'Projected p99 vs memory, against the SLO', x, y: {title: 'latency (ms)', min: 0}}),
      `Projected: end to end over a simulated month, cold starts included. Measured: warm invokes in the bench.${open}`,
    ),
  ]
  return html`<h3>Cost vs memory</h3><div class="charts">${charts}</div>${rejected}`
}

function provisionedChart(result: RecommendResult): Markup {
  const p = result.provisioned
  if (!p) return html`<h3>Cold-start share vs provisioned concurrency</h3>${missingNote(result, 'provisioned', 'Provisioned concurrency was not sized (no usable memory size).')}`
  const curve = [...p.curve].sort((a, b) => a.provisionedConcurrency - b.provisionedConcurrency)
  const target = result.objectives.maxColdRatePct
  const at = (c: number) => curve.find((point) => point.provisionedConcurrency === c)
  const label = (c: number) => {
    const point = at(c)
    return point ? `${c} provisioned: ${share(point.coldStartRate)} cold, p99 ${ms(point.p99Ms)}, ${usd(point.monthlyCostUSD)}/month` : `${c} provisioned`
  }
  const chosen = at(p.provisionedConcurrency)
  const erlang = at(p.erlangB.provisionedConcurrency)
  const top = curve.at(-1)?.provisionedConcurrency ?? 0
  const step = Math.max(1, Math.ceil(top / 8))
  const ticks = Array.from({length: Math.floor(top / step) + 1}, (_, i) => i * step)
  const series: Series[] = [
    {name: 'cold-start share', color: COLORS.cold, markers: true, points: curve.map((c) => ({x: c.provisionedConcurrency, y: 100 * c.coldStartRate, label: label(c.provisionedConcurrency)}))},
    {name: `target ${target}%`, color: COLORS.limit, dashed: true, points: [0, Math.max(top, 1)].map((x) => ({x, y: target}))},
    ...(erlang && p.erlangB.provisionedConcurrency !== p.provisionedConcurrency
      ? [{name: `Erlang-B bound (${p.erlangB.provisionedConcurrency})`, color: COLORS.erlang, markers: true, points: [{x: erlang.provisionedConcurrency, y: 100 * erlang.coldStartRate, label: label(erlang.provisionedConcurrency)}]}]
      : []),
    ...(chosen ? [{name: `chosen (${p.provisionedConcurrency})`, color: COLORS.chosen, markers: true, points: [{x: chosen.provisionedConcurrency, y: 100 * chosen.coldStartRate, label: label(chosen.provisionedConcurrency)}]}] : []),
  ]
  const chart = lineChart(series, {
    id: 'recommend-provisioned-cold',
    title: 'Cold-start share vs provisioned concurrency',
    x: {title: 'provisioned concurrency (environments)', min: 0, max: Math.max(top, 1), ticks, format: String},
    y: {title: 'cold-start share (%)', min: 0, format: (v) => `${formatPct(v)}%`},
  })
  const note = html`Simulated at ${p.memoryMb} MB over a month of ${result.traffic.description}, ${p.keepAliveSeconds} s keep-alive, ${ms(p.meanDurationMs)} mean warm duration.
Erlang-B at the ${rps(p.peakRps)} peak (${fixed(p.offeredLoad, 2)} erlangs), counting every request that finds all provisioned environments busy as cold, needs <strong>${p.erlangB.provisionedConcurrency}</strong> (spill ${share(p.erlangB.spillRate)}): an upper bound, since keep-alive keeps some on-demand environments warm.
The simulation needs <strong>${p.provisionedConcurrency}</strong>: chosen.
Provisioned concurrency pays once its environments are busy more than <strong>${share(p.breakEven.utilization)}</strong> of the time (break-even utilization); this plan keeps them ${share(p.breakEven.actualUtilization)} busy.`
  const curveTable = table(
    ['provisioned', 'cold-start share', 'p99', 'monthly cost'],
    curve.map((c) => [
      c.provisionedConcurrency === p.provisionedConcurrency ? html`<strong>${c.provisionedConcurrency}</strong> <span class="tag pass">chosen</span>` : c.provisionedConcurrency,
      c.coldStartRate <= target / 100 ? share(c.coldStartRate) : html`<span class="warn-text">${share(c.coldStartRate)}</span>`,
      ms(c.p99Ms),
      usd(c.monthlyCostUSD),
    ]),
  )
  return html`<h3>Cold-start share vs provisioned concurrency</h3><div class="charts">${figure('Cold-start share vs provisioned concurrency', chart, note)}<div>${curveTable}<p class="note">Without provisioned concurrency: ${share(p.onDemand.coldStartRate)} cold, p99 ${ms(p.onDemand.p99Ms)}, ${usd(p.onDemand.monthly.total)}/month.</p></div></div>`
}

/** Tick labels of a percentage axis: as many decimals as small values need. */
const formatPct = (v: number) => (v === 0 ? '0' : v < 0.1 ? fixed(v, 3) : v < 1 ? fixed(v, 2) : v < 10 ? fixed(v, 1) : fixed(v, 0))

function batchBlock(result: RecommendResult): Markup {
  const b = result.batch
  if (!b) return html`<h3>Batch size</h3>${missingNote(result, 'batch', 'No batch sweep was measured.')}`
  return html`<h3>Batch size <span class="note">at ${b.memoryMb} MB, warm p99 against the ${b.sloP99Ms} ms SLO</span></h3>${table(
    ['batch', 'warm p99', 'SLO', 'items/s', 'per 1k items', 'items per $'],
    b.options.map((o) => [
      o.batchSize === b.recommended ? html`<strong>${o.batchSize}</strong> <span class="tag pass">recommended</span>` : o.batchSize,
      ms(o.warmP99),
      verdict(o.meetsSlo),
      rate(o.itemsPerSecond),
      usd(o.perThousandItems),
      count(Math.round(o.itemsPerDollar)),
    ]),
  )}${b.rejected.length ? html`<ul class="reasons">${b.rejected.map((r) => html`<li><strong>batch ${r.batchSize}</strong> (${r.runId}): ${r.reason}</li>`)}</ul>` : ''}`
}

function alternativesBlock(result: RecommendResult): Markup {
  if (result.alternatives.length === 0) return html``
  const option = (c: Candidate) => result.memory.options.find((o) => o.memoryMb === c.memoryMB)
  return html`<h3>Alternatives <span class="note">the other measured sizes, cheapest first</span></h3>${table(
    ['memory', 'provisioned', 'monthly', 'per 1k requests', 'cold-start share', 'p99', 'objectives', 'risk'],
    result.alternatives.map((c) => {
      const o = option(c)
      return [
        html`${c.memoryMB} MB${o?.equivalentTo?.length ? html` <span class="ci" title="warm p99 within noise of ${o.equivalentTo.join(', ')} MB">≈ ${o.equivalentTo.join(', ')}</span>` : ''}`,
        c.provisionedConcurrency,
        usd(c.monthlyCostUSD),
        usd(o?.perThousand),
        share(c.coldStartRate),
        ms(c.p99Ms),
        verdict(c.meetsSlo),
        html`<span title="${o?.riskReasons.join('; ') ?? ''}">${riskTag(c.risk)}</span>`,
      ]
    }),
  )}`
}

function alwaysOnBlock(result: RecommendResult): Markup {
  const a = result.alwaysOn
  if (!a) return html``
  return html`<h3>Always-on comparison <span class="note">the same peak on environments kept on all month</span></h3>${table(
    ['environments', 'always-on monthly', 'serverless monthly', 'break-even mean traffic', 'cheaper'],
    [
      [
        a.environments,
        usd(a.monthly.total),
        usd(a.serverlessMonthlyUSD),
        rps(a.breakEvenRps),
        html`<span class="tag ${a.cheaper === 'serverless' ? 'pass' : 'warn'}">${a.cheaper}</span>`,
      ],
    ],
  )}<p class="note">Always-on: as many environments as Erlang-B needs at the peak, priced as provisioned concurrency. Above ${rps(a.breakEvenRps)} mean, keeping them on costs less than on-demand.</p>`
}

export function renderRecommendationSection(result: RecommendResult): string {
  return html`<section id="recommendation"><h2>Recommendation <span class="note">${result.function}</span></h2>
${headline(result)}
${memoryCharts(result)}
${provisionedChart(result)}
${batchBlock(result)}
${alternativesBlock(result)}
${alwaysOnBlock(result)}
</section>`.value
}
