/** What `sai recommend` shows on the terminal (stderr): the recommended settings first, then the ranked alternatives. */
import {ms, msRange, rate, rps, share, usd} from '../bench/report/format.js'
import type {Cell, Table} from '../bench/report/tables.js'
import type {RecommendResult} from '../recommend/result.js'
import {formatTables} from './bench-output.js'

const RISK_TONE = {low: 'good', medium: 'warn', high: 'bad'} as const

function headline(result: RecommendResult): Table {
  const r = result.recommendation
  const o = result.objectives
  const title = `Recommendation for ${result.function}: ${result.traffic.description}; p99 ≤ ${o.sloP99Ms} ms, cold starts ≤ ${o.maxColdRatePct}% (${result.architecture}, ${result.region}${result.freeTier ? ', free tier' : ''})`
  if (!r) return {title, head: ['setting', 'value'], rows: [['memory', {text: 'nothing measured well enough to recommend: see the rejected sizes', tone: 'bad'}]]}
  const p = result.provisioned
  const rows: Cell[][] = [
    ['memory', r.meetsSlo ? {text: `${r.memoryMB} MB`, tone: 'good'} : {text: `${r.memoryMB} MB — closest: no measured size meets the objectives`, tone: 'bad'}],
    ['batch size (SQS)', result.batch?.sqs ? `BatchSize ${result.batch.sqs.BatchSize}, MaximumBatchingWindowInSeconds ${result.batch.sqs.MaximumBatchingWindowInSeconds}` : {text: result.batch ? 'none within the SLO' : 'not measured', tone: 'dim'}],
    ['provisioned concurrency', r.provisionedConcurrency === 0 ? '0 (keep-alive alone meets the cold-start target)' : String(r.provisionedConcurrency)],
  ]
  if (r.autoScaling) rows.push(['  auto scaling (target tracking)', `${r.autoScaling.metric} ${r.autoScaling.targetValue}, min ${r.autoScaling.minCapacity}, max ${r.autoScaling.maxCapacity}`])
  if (r.schedule) rows.push(['  schedule (UTC)', r.schedule.map((a) => `${String(a.hour).padStart(2, '0')}:00 → ${a.minCapacity}`).join(', ')])
  rows.push(
    ['cold-start share', share(r.coldStartRate)],
    ['p99, end to end', r.p99Ms <= o.sloP99Ms ? ms(r.p99Ms) : {text: `${ms(r.p99Ms)} (SLO ${o.sloP99Ms} ms)`, tone: 'bad'}],
    ['monthly cost', r.scheduledMonthlyCostUSD === undefined ? usd(r.monthlyCostUSD) : `${usd(r.monthlyCostUSD)} (${usd(r.scheduledMonthlyCostUSD)} with the schedule)`],
  )
  if (p && p.provisionedConcurrency > 0)
    rows.push(['  without provisioned concurrency', `${usd(p.onDemand.monthly.total)}/month, ${share(p.onDemand.coldStartRate)} cold, p99 ${ms(p.onDemand.p99Ms)}`])
  if (result.alwaysOn) {
    const a = result.alwaysOn
    rows.push(['always-on, sized for the peak', `${a.environments} environments: ${usd(a.monthly.total)}/month — ${a.cheaper === 'serverless' ? 'serverless is cheaper' : 'always-on is cheaper'}; break-even at ${rps(a.breakEvenRps)} mean`])
  }
  if (result.applied) rows.push(['written to', result.applied.written ? `${result.applied.specPath} (${result.applied.changes.map((c) => `${c.field} ${c.from ?? '—'} → ${c.to}`).join(', ')})` : `${result.applied.specPath} (already set)`])
  return {title, head: ['setting', 'value'], rows}
}

export function recommendTables(result: RecommendResult): Table[] {
  const tables: Table[] = [headline(result)]
  const memory = result.memory
  const rows: Cell[][] = memory.options.map((o) => [
    o.memoryMb === memory.recommended ? {text: `${o.memoryMb} MB ★`, tone: 'good'} : `${o.memoryMb} MB`,
    o.meetsSlo ? ms(o.p99Ms) : {text: ms(o.p99Ms), tone: 'bad'},
    `${ms(o.warmP99)} [${msRange(o.warmP99Ci[0], o.warmP99Ci[1])}]`,
    msRange(o.projectedDurationMs.lower, o.projectedDurationMs.upper),
    o.meetsColdTarget ? share(o.coldStartRate) : {text: share(o.coldStartRate), tone: 'bad'},
    String(o.provisionedConcurrency),
    usd(o.perThousand),
    usd(o.monthly.total),
    usd(o.savingsMonthly),
    {text: o.risk, tone: RISK_TONE[o.risk]},
    o.equivalentTo?.length ? o.equivalentTo.map((m) => `${m} MB`).join(', ') : '—',
  ])
  for (const r of memory.rejected) rows.push([{text: `${r.memoryMb} MB`, tone: 'dim'}, {text: `rejected: ${r.reason}`, tone: 'bad'}, '', '', '', '', '', '', '', '', ''])
  const borrowed = memory.options.filter((o) => o.coldFrom).map((o) => `${o.memoryMb} MB uses ${o.coldFrom === 'none' ? 'its warm invokes' : `${o.coldFrom}'s cold starts`}`)
  tables.push({
    title: 'Memory, cheapest per 1,000 inferences first',
    head: ['memory', 'p99 (projected)', 'warm p99 [95% CI]', 'duration range', 'cold share', 'provisioned', '$/1k', '$/month', 'saving/month', 'risk', 'within noise of'],
    rows,
    note: [
      `Projected over a month of the traffic with keep-alive ${result.objectives.keepAliveSeconds} s: p99 and cost include cold starts (INIT billed) and the provisioned concurrency each size needs. Duration range: low end of p50's 95% interval to high end of p99's.`,
      ...memory.options.filter((o) => o.risk !== 'low').map((o) => `${o.memoryMb} MB ${o.risk} risk: ${o.riskReasons.join('; ')}.`),
      borrowed.length ? `No cold starts measured at some sizes: ${borrowed.join('; ')} (sai bench --cold-samples 5 --memory … measures them).` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  })
  if (result.batch) {
    const b = result.batch
    const batchRows: Cell[][] = b.options.map((o) => [
      o.batchSize === b.recommended ? {text: `${o.batchSize} ★`, tone: 'good'} : String(o.batchSize),
      ms(o.warmP99),
      o.meetsSlo ? {text: 'yes', tone: 'good'} : {text: 'no', tone: 'bad'},
      rate(o.itemsPerSecond),
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
      head: ['provisioned', 'cold share (simulated)', 'p99', '$/month'],
      rows: p.curve.map((point) => [
        point.provisionedConcurrency === p.provisionedConcurrency ? {text: `${point.provisionedConcurrency} ★`, tone: 'good'} : String(point.provisionedConcurrency),
        point.coldStartRate <= p.maxColdRatePct / 100 ? share(point.coldStartRate) : {text: share(point.coldStartRate), tone: 'bad'},
        ms(point.p99Ms),
        usd(point.monthlyCostUSD),
      ]),
      note: [
        `Peak ${rps(p.peakRps)} × ${ms(p.meanDurationMs)} mean warm latency = ${p.offeredLoad.toFixed(2)} Erlangs. Erlang-B, counting every spilled request as cold, asks for ${p.erlangB.provisionedConcurrency}; the simulation, where warm on-demand environments serve spillover too, finds ${p.provisionedConcurrency} enough.`,
        `Provisioned concurrency pays when its environments are busy over ${share(p.breakEven.utilization)} of the time; this plan's are busy ${share(p.breakEven.actualUtilization)}.`,
        p.schedule ? `Scheduled: ${share(p.schedule.coldStartRate)} cold for ${usd(p.schedule.monthly.total)}/month (flat: ${usd(p.monthly.total)}).` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    })
  }
  if (result.alternatives.length > 0)
    tables.push({
      title: 'Alternatives',
      head: ['memory', 'provisioned', '$/month', 'cold share', 'p99', 'meets objectives', 'risk'],
      rows: result.alternatives.map((a) => [`${a.memoryMB} MB`, String(a.provisionedConcurrency), usd(a.monthlyCostUSD), share(a.coldStartRate), ms(a.p99Ms), a.meetsSlo ? {text: 'yes', tone: 'good'} : {text: 'no', tone: 'bad'}, {text: a.risk, tone: RISK_TONE[a.risk]}]),
    })
  for (const m of result.missing) tables.push({title: `Not decided: ${m.decision}`, head: ['why', 'to measure it'], rows: [[m.message, m.hint ?? '']]})
  return tables
}

export function formatRecommendation(result: RecommendResult): string {
  return formatTables(recommendTables(result))
}
