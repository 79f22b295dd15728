#!/usr/bin/env node
// Warm overhead of sai's emulator: a no-op function through the Invoke API vs the same handler
// called in-process by a plain node:http server (the limit), and peers when installed — measured
// side by side, in interleaved rounds, in one run. Client and servers share this machine's cores.
//
//   node benchmarks/warm-overhead.mjs [--rounds 5] [--seconds 5] [--connections 8]
import path from 'node:path'
import {parseArgs} from 'node:util'
import {latencyOneConnection, machine, median, throughput, warmUp} from './lib/measure.mjs'
import {ROOT, serverlessOfflineInstalled, startInProcess, startSai, startServerlessOffline} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '5'}, seconds: {type: 'string', default: '5'}, connections: {type: 'string', default: '8'}, 'no-peers': {type: 'boolean', default: false}}})
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const body = '{}'

const targets = []
try {
  targets.push(await startInProcess(path.join(ROOT, 'fixtures/noop/handler.mjs')))
  targets.push(await startSai(path.join(ROOT, 'fixtures/noop'), 'noop'))
  if (values['no-peers']) {
    console.error('--no-peers: measuring sai and the in-process baseline only')
  } else if (serverlessOfflineInstalled()) {
    targets.push(await startServerlessOffline({inProcess: true}))
    targets.push(await startServerlessOffline({inProcess: false}))
  } else {
    console.error('serverless-offline is not installed (benchmarks/peers/serverless-offline: npm ci there) — measuring without it')
  }
} catch (error) {
  // Whatever started is stopped: a failed run leaves no server behind.
  await Promise.all(targets.map((t) => t.stop()))
  throw error
}

const results = Object.fromEntries(targets.map((t) => [t.name, {one: [], many: []}]))
try {
  for (const t of targets) await warmUp(t.invokeUrl, body, connections, 500)
  for (let round = 1; round <= rounds; round++) {
    for (const t of targets) {
      const one = await latencyOneConnection(t.invokeUrl, body, seconds)
      const many = await throughput(t.invokeUrl, body, connections, seconds)
      results[t.name].one.push(one)
      results[t.name].many.push(many)
      console.error(`round ${round} ${t.name}: 1 conn p50 ${one.p50.toFixed(3)} ms p99 ${one.p99.toFixed(3)} ms ${one.rps.toFixed(0)} req/s; ${connections} conns ${many.rps.toFixed(0)} req/s (errors ${many.errors}, non-2xx ${many.non2xx})`)
    }
  }
} finally {
  await Promise.all(targets.map((t) => t.stop()))
}

const summary = Object.fromEntries(
  Object.entries(results).map(([name, r]) => [
    name,
    {
      p50Ms: median(r.one.map((x) => x.p50)),
      p99Ms: median(r.one.map((x) => x.p99)),
      rpsOne: median(r.one.map((x) => x.rps)),
      rpsMany: median(r.many.map((x) => x.rps)),
    },
  ]),
)
const base = summary['in-process']
const report = {
  benchmark: 'warm-overhead',
  date: new Date().toISOString(),
  machine: await machine(),
  settings: {rounds, seconds, connections, payload: body},
  summary,
  overhead: {p50Ms: summary.sai.p50Ms - base.p50Ms, p99Ms: summary.sai.p99Ms - base.p99Ms},
  rounds: results,
}
console.log(JSON.stringify(report, null, 2))
console.error('\n| target | p50, 1 conn | p99, 1 conn | req/s, 1 conn | req/s, ' + connections + ' conns |\n|---|---|---|---|---|')
for (const [name, s] of Object.entries(summary)) console.error(`| ${name} | ${s.p50Ms.toFixed(3)} ms | ${s.p99Ms.toFixed(3)} ms | ${s.rpsOne.toFixed(0)} | ${s.rpsMany.toFixed(0)} |`)
console.error(`sai overhead vs in-process: p50 +${report.overhead.p50Ms.toFixed(3)} ms, p99 +${report.overhead.p99Ms.toFixed(3)} ms`)
