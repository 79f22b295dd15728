/** What `sai recommend` shows on the terminal (stderr): the recommended settings first, then the ranked alternatives. */
import type {Cell, Table} from '../bench/report/tables.js'
import type {RecommendResult} from '../services/recommend.js'
import {formatTables} from './bench-output.js'

const ms = (value: number | undefined): string => (value === undefined ? '—' : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`)
const usd = (value: number): string => (value === 0 ? '$0' : value < 0.01 ? `$${value.toPrecision(3)}` : `$${value.toFixed(2)}`)
const pct = (value: number): string => (value < 0.01 && value > 0 ? `${value.toExponential(1)}%` : `${value.toFixed(2)}%`)
const RISK_TONE = {low: 'good', medium: 'warn', high: 'bad'} as const

export function recommendTables(result: RecommendResult): Table[] {
  const tables: Table[] = []
  const s = result.summary
  const memory = result.memory
  tables.push({
    title: `Recommendation for ${result.function} (${result.rps} req/s, p99 SLO ${result.sloP99Ms} ms, ${result.architecture}${result.freeTier ? ', free tier' : ''})`,
    head: ['setting', 'value'],
    rows: [
      ['memory', s.memoryMB === undefined ? {text: 'none measured', tone: 'bad'} : s.meetsSlo ? `${s.memoryMB} MB` : {text: `${s.memoryMB} MB (closest: no size meets the SLO)`, tone: 'bad'}],
      ['batch size (SQS BatchSize)', result.batch?.sqs ? `${result.batch.sqs.BatchSize}, MaximumBatchingWindowInSeconds ${result.batch.sqs.MaximumBatchingWindowInSeconds}` : {text: result.batch ? 'none within the SLO' : 'not measured', tone: 'dim'}],
      ['provisioned concurrency', s.provisionedConcurrency === undefined ? {text: 'not measured', tone: 'dim'} : String(s.provisionedConcurrency)],
      ['expected cold-start share', s.coldStartRate === undefined ? '—' : `≤ ${pct(100 * s.coldStartRate)}`],
      ['warm p99', ms(s.p99Ms)],
      ['monthly cost', s.monthlyCostUSD === undefined ? '—' : usd(s.monthlyCostUSD)],
    ],
  })
  const rows: Cell[][] = memory.options.map((o) => [
    o.memoryMb === memory.recommended ? {text: `${o.memoryMb} MB ★`, tone: 'good'} : `${o.memoryMb} MB`,
    `${ms(o.warmP99)} [${ms(o.warmP99Ci[0])}, ${ms(o.warmP99Ci[1])}]`,
    ms(o.coldP99),
    o.meetsSlo ? {text: 'yes', tone: 'good'} : {text: 'no', tone: 'bad'},
    usd(o.perThousand),
    usd(o.monthly.total),
    usd(o.savingsMonthly),
    {text: o.risk, tone: RISK_TONE[o.risk]},
    o.equivalentTo?.length ? o.equivalentTo.map((m) => `${m} MB`).join(', ') : '—',
  ])
  for (const r of memory.rejected) rows.push([{text: `${r.memoryMb} MB`, tone: 'dim'}, {text: `rejected: ${r.reason}`, tone: 'bad'}, '', '', '', '', '', '', ''])
  tables.push({
    title: 'Memory, cheapest per 1,000 inferences first',
    head: ['memory', 'warm p99 [95% CI]', 'cold p99', 'meets SLO', '$/1k', '$/month', 'saving/month', 'risk', 'within noise of'],
    rows,
    note: 'Monthly cost: rps × 30 days at the mean billed duration, on-demand. Risk: warm p99 above 80% of the SLO is high, above 50% medium. "Within noise": the bootstrap finds no significant p99 difference.',
  })
  if (result.batch) {
    const b = result.batch
    const batchRows: Cell[][] = b.options.map((o) => [
      o.batchSize === b.recommended ? {text: `${o.batchSize} ★`, tone: 'good'} : String(o.batchSize),
      ms(o.warmP99),
      o.meetsSlo ? {text: 'yes', tone: 'good'} : {text: 'no', tone: 'bad'},
      o.itemsPerSecond === undefined ? '—' : o.itemsPerSecond.toFixed(1),
      usd(o.perThousandItems),
      Math.round(o.itemsPerDollar).toLocaleString('en-US'),
    ])
    for (const r of b.rejected) batchRows.push([{text: String(r.batchSize), tone: 'dim'}, {text: `rejected: ${r.reason}`, tone: 'bad'}, '', '', '', ''])
    tables.push({title: `Batch size at ${b.memoryMb} MB`, head: ['batch', 'warm p99', 'meets SLO', 'items/s', '$/1k items', 'items per $'], rows: batchRows, note: b.note})
  }
  if (result.provisioned) {
    const p = result.provisioned
    tables.push({
      title: `Provisioned concurrency at ${p.memoryMb} MB (cold share ≤ ${p.maxColdRatePct}%)`,
      head: ['provisioned', 'spillover to on-demand (Erlang-B)', '$/month'],
      rows: [
        ['0', pct(p.coldRatePct.withoutProvisioned), usd(p.monthly.onDemand.total)],
        [{text: `${p.provisionedConcurrency} ★`, tone: 'good'}, pct(p.coldRatePct.withProvisioned), usd(p.monthly.withProvisioned.total)],
      ],
      note: `Offered load ${p.offeredLoad.toFixed(2)} Erlangs (${p.rps} req/s × ${ms(p.meanDurationMs)} mean warm latency). Spillover is an upper bound on the cold-start share: a warm on-demand environment may serve a spilled request.`,
    })
  }
  for (const m of result.missing) tables.push({title: `Not decided: ${m.decision}`, head: ['why', 'to measure it'], rows: [[m.message, m.hint ?? '']]})
  return tables
}

export function formatRecommendation(result: RecommendResult): string {
  return formatTables(recommendTables(result))
}
