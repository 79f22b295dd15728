#!/usr/bin/env node
// The load generators' ceiling: completed req/s against a trivial node:http server in a child
// process, sai's open-model scheduler (at a rate far above what the server can answer, maxInFlight
// = connections, so it is never the limit) side by side with plain autocannon (closed model, same
// connections), in interleaved rounds. Client and server share this machine's cores: the client's
// CPU per request is recorded too, since in `sai bench` it shares a thread with the emulator.
//
//   node benchmarks/bench-ceiling.mjs [--connections 8] [--seconds 10] [--rounds 5] [--rate 250000]
import path from 'node:path'
import {parseArgs} from 'node:util'
import autocannon from 'autocannon'
import {constantArrivals} from '../dist/bench/load/arrivals.js'
import {runOpenModel} from '../dist/bench/load/open-model.js'
import {machine, median} from './lib/measure.mjs'
import {ROOT, startTarget} from './lib/targets.mjs'

const {values} = parseArgs({options: {connections: {type: 'string', default: '8'}, seconds: {type: 'string', default: '10'}, rounds: {type: 'string', default: '5'}, rate: {type: 'string', default: '250000'}}})
const connections = Number(values.connections)
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const rate = Number(values.rate)
const TARGET_RATIO = 0.8
const invokePath = '/2015-03-31/functions/noop/invocations'
const body = Buffer.from('{}')
const headers = {'Content-Type': 'application/json'}

const cpuPerRequestUs = (used, requests) => (used.user + used.system) / requests

function plainAutocannon(server, durationSeconds) {
  const cpu = process.cpuUsage()
  return new Promise((resolve, reject) => {
    autocannon({url: server.url + invokePath, method: 'POST', body, headers, connections, duration: durationSeconds}, (error, result) => {
      if (error) return reject(error)
      const completed = result.requests.total
      resolve({completed, reqPerSecond: completed / result.duration, errors: result.errors, non2xx: result.non2xx, clientCpuUsPerRequest: cpuPerRequestUs(process.cpuUsage(cpu), completed)})
    })
  })
}

async function openModel(server, durationSeconds) {
  const cpu = process.cpuUsage()
  let non2xx = 0
  const summary = await runOpenModel({
    host: '127.0.0.1',
    port: server.port,
    path: invokePath,
    body,
    headers,
    arrivals: constantArrivals({rate, durationMs: durationSeconds * 1000}),
    maxInFlight: connections,
    onResult: (r) => {
      if (r.status !== 200) non2xx++
    },
  })
  const completed = summary.completed
  return {
    completed,
    reqPerSecond: (completed * 1000) / summary.durationMs,
    errors: summary.errors,
    non2xx,
    // Most arrivals find every connection busy: that is the point, the generator is never idle.
    dropped: summary.dropped,
    connectionsOpened: summary.connectionsOpened,
    clientCpuUsPerRequest: cpuPerRequestUs(process.cpuUsage(cpu), completed),
  }
}

const server = await startTarget('trivial', process.execPath, [path.join(ROOT, 'benchmarks/lib/trivial-server.cjs')])
const results = {autocannon: [], 'sai open model': []}
try {
  await plainAutocannon(server, 1)
  await openModel(server, 1)
  for (let r = 1; r <= rounds; r++) {
    // Alternate which goes first, so neither always follows the other's leftovers.
    const order = r % 2 ? ['autocannon', 'sai open model'] : ['sai open model', 'autocannon']
    for (const name of order) {
      const result = name === 'autocannon' ? await plainAutocannon(server, seconds) : await openModel(server, seconds)
      results[name].push(result)
      console.error(`round ${r} ${name}: ${result.reqPerSecond.toFixed(0)} req/s, client CPU ${result.clientCpuUsPerRequest.toFixed(1)} µs/request (errors ${result.errors}, non-2xx ${result.non2xx})`)
    }
  }
} finally {
  await server.stop()
}

const summary = Object.fromEntries(Object.entries(results).map(([name, rs]) => [name, {reqPerSecond: median(rs.map((x) => x.reqPerSecond)), clientCpuUsPerRequest: median(rs.map((x) => x.clientCpuUsPerRequest))}]))
const ratio = summary['sai open model'].reqPerSecond / summary.autocannon.reqPerSecond
const report = {
  benchmark: 'bench-ceiling',
  date: new Date().toISOString(),
  machine: await machine(),
  settings: {connections, seconds, rounds, openModelRate: rate, server: 'node:http, answers at once, in a child process', targetRatio: TARGET_RATIO},
  summary,
  ratio,
  roundRatios: results.autocannon.map((a, i) => results['sai open model'][i].reqPerSecond / a.reqPerSecond),
  meetsTarget: ratio >= TARGET_RATIO,
  rounds: results,
}
console.log(JSON.stringify(report, null, 2))
console.error(`\n| generator, ${connections} connections | req/s | client CPU per request |\n|---|---|---|`)
for (const [name, s] of Object.entries(summary)) console.error(`| ${name} | ${s.reqPerSecond.toFixed(0)} | ${s.clientCpuUsPerRequest.toFixed(1)} µs |`)
console.error(`sai / autocannon: ${ratio.toFixed(2)} (medians of ${rounds} rounds of ${seconds} s; target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`)
