#!/usr/bin/env node
// Accuracy of the open-model scheduler (`sai bench --rate`): how far each send is from its intended
// time, at a fixed rate with constant and Poisson arrivals, against a trivial node:http server in a
// child process (so the server does not share the scheduler's event loop). Rounds are interleaved;
// the machine's load average is recorded with each, since a busy neighbour delays any timer.
//
//   node benchmarks/bench-scheduler.mjs [--rate 500] [--seconds 10] [--rounds 3]
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {constantArrivals, poissonArrivals} from '../dist/bench/load/arrivals.js'
import {LATE_MS, runOpenModel} from '../dist/bench/load/open-model.js'
import {machine, median, percentile} from './lib/measure.mjs'
import {ROOT, startTarget} from './lib/targets.mjs'

const {values} = parseArgs({options: {rate: {type: 'string', default: '500'}, seconds: {type: 'string', default: '10'}, rounds: {type: 'string', default: '3'}, 'max-in-flight': {type: 'string', default: '64'}}})
const rate = Number(values.rate)
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const maxInFlight = Number(values['max-in-flight'])
const TARGET_P99_MS = 1

async function round(server, kind, seed, durationMs) {
  const lateness = []
  let withoutRequestId = 0
  const load = os.loadavg()[0]
  const cpu = process.cpuUsage()
  const summary = await runOpenModel({
    host: '127.0.0.1',
    port: server.port,
    path: '/2015-03-31/functions/noop/invocations',
    body: Buffer.from('{}'),
    headers: {'Content-Type': 'application/json'},
    arrivals: kind === 'poisson' ? poissonArrivals({rate, durationMs, seed}) : constantArrivals({rate, durationMs}),
    maxInFlight,
    onResult: (r) => {
      lateness.push(Math.abs(r.latenessMs))
      if (!r.requestId) withoutRequestId++
    },
  })
  const used = process.cpuUsage(cpu)
  lateness.sort((a, b) => a - b)
  return {
    kind,
    seed,
    sent: summary.sent,
    completed: summary.completed,
    errors: summary.errors,
    dropped: summary.dropped,
    late: summary.late,
    withoutRequestId,
    latenessMs: {p50: percentile(lateness, 50), p90: percentile(lateness, 90), p99: percentile(lateness, 99), p999: percentile(lateness, 99.9), max: lateness.at(-1)},
    achievedRate: (summary.sent * 1000) / durationMs,
    clientCpuPercent: ((used.user + used.system) / 1000 / summary.durationMs) * 100,
    loadAverage: [load, os.loadavg()[0]],
  }
}

const server = await startTarget('trivial', process.execPath, [path.join(ROOT, 'benchmarks/lib/trivial-server.cjs')])
const results = {constant: [], poisson: []}
try {
  // JIT and connections warmed; not recorded.
  await round(server, 'constant', 0, 1000)
  for (let r = 1; r <= rounds; r++) {
    for (const kind of ['constant', 'poisson']) {
      const result = await round(server, kind, r, seconds * 1000)
      results[kind].push(result)
      const l = result.latenessMs
      console.error(`round ${r} ${kind}: ${result.sent} sent, |actual - intended| p50 ${l.p50.toFixed(3)} ms p99 ${l.p99.toFixed(3)} ms max ${l.max.toFixed(2)} ms; late (> ${LATE_MS} ms) ${result.late}, dropped ${result.dropped}; client CPU ${result.clientCpuPercent.toFixed(1)}%; load ${result.loadAverage.map((x) => x.toFixed(2)).join(' → ')}`)
    }
  }
} finally {
  await server.stop()
}

const summary = Object.fromEntries(
  Object.entries(results).map(([kind, rs]) => [
    kind,
    {
      p50Ms: median(rs.map((x) => x.latenessMs.p50)),
      p99Ms: median(rs.map((x) => x.latenessMs.p99)),
      maxMs: median(rs.map((x) => x.latenessMs.max)),
      latePercent: median(rs.map((x) => (100 * x.late) / x.sent)),
      clientCpuPercent: median(rs.map((x) => x.clientCpuPercent)),
      meetsTarget: median(rs.map((x) => x.latenessMs.p99)) <= TARGET_P99_MS,
    },
  ]),
)
const report = {
  benchmark: 'bench-scheduler',
  date: new Date().toISOString(),
  machine: await machine(),
  settings: {rate, seconds, rounds, maxInFlight, targetP99Ms: TARGET_P99_MS, server: 'node:http, answers at once, in a child process'},
  summary,
  rounds: results,
}
console.log(JSON.stringify(report, null, 2))
console.error(`\n| arrivals at ${rate} req/s | p50 | p99 | max | late (> ${LATE_MS} ms) | client CPU |\n|---|---|---|---|---|---|`)
for (const [kind, s] of Object.entries(summary)) console.error(`| ${kind} | ${s.p50Ms.toFixed(3)} ms | ${s.p99Ms.toFixed(3)} ms | ${s.maxMs.toFixed(2)} ms | ${s.latePercent.toFixed(2)}% | ${s.clientCpuPercent.toFixed(1)}% |`)
console.error(`medians of ${rounds} rounds of ${seconds} s; target p99 ≤ ${TARGET_P99_MS} ms: ${Object.values(summary).every((s) => s.meetsTarget) ? 'met' : 'NOT met'}`)
