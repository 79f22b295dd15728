#!/usr/bin/env node
// Measurement overhead of `sai bench`: a warm no-op function under a closed load, the latency bench
// reports vs what the emulator's HTTP server itself observes for the same requests — from the
// request (its head parsed) to the last byte of the response handed to the kernel. (Node's server
// reads sockets inside its parser, so the first byte's arrival is not observable from JS.)
// Both sides run in this one process (bench runs the emulator in-process), on one clock.
//
//   node benchmarks/bench-overhead.mjs [--rounds 3] [--seconds 5] [--connections 1,4]
import http from 'node:http'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {machine, percentile} from './lib/measure.mjs'
import {ROOT} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}, seconds: {type: 'string', default: '5'}, connections: {type: 'string', default: '1,4'}}})

// The server's own view: wrap node:http's createServer before the emulator is imported (it calls
// http.createServer on the same module object), so every Invoke API request is timed at the server.
let serverSamples = []
const createServer = http.createServer
http.createServer = (...args) => {
  const server = createServer.apply(http, args)
  server.prependListener('request', (req, res) => {
    const arrivedAt = performance.now()
    res.on('finish', () => serverSamples.push(performance.now() - arrivedAt))
  })
  return server
}

const {bench} = await import(path.join(ROOT, 'dist/services/bench.js'))

const summarize = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return {count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99)}
}

const rounds = []
for (let round = 0; round < Number(values.rounds); round++) {
  for (const connections of values.connections.split(',').map(Number)) {
    serverSamples = []
    const result = await bench({
      specPath: path.join(ROOT, 'fixtures/noop'),
      backend: 'process',
      keepAliveSeconds: 600,
      budgets: [],
      regressionThreshold: 0.1,
      signal: new AbortController().signal,
      payload: '{}',
      load: {connections, durationMs: Number(values.seconds) * 1000, arrival: 'constant', ramp: false, maxInFlight: 64},
    })
    const reported = result.runs[0].warm
    // The preflight and warm-up invokes (a cold start among them) are few and at the start: drop them.
    const server = summarize(serverSamples.slice(serverSamples.length - reported.count))
    const row = {
      round,
      connections,
      bench: {count: reported.count, p50: reported.p50, p90: reported.p90, p99: reported.p99},
      server,
      ratio: {p50: reported.p50 / server.p50, p90: reported.p90 / server.p90, p99: reported.p99 / server.p99},
    }
    rounds.push(row)
    console.error(
      `round ${round + 1}, ${connections} conn: bench p50 ${reported.p50.toFixed(3)} ms vs server ${server.p50.toFixed(3)} ms (×${row.ratio.p50.toFixed(3)}), ` +
        `p99 ${reported.p99.toFixed(3)} vs ${server.p99.toFixed(3)} (×${row.ratio.p99.toFixed(3)}), ${reported.count} invokes`,
    )
  }
}

const medianOf = (xs) => percentile([...xs].sort((a, b) => a - b), 50)
const byConnections = {}
for (const connections of new Set(rounds.map((r) => r.connections))) {
  const mine = rounds.filter((r) => r.connections === connections)
  byConnections[connections] = {
    benchP50: medianOf(mine.map((r) => r.bench.p50)),
    serverP50: medianOf(mine.map((r) => r.server.p50)),
    ratioP50: medianOf(mine.map((r) => r.ratio.p50)),
    ratioP90: medianOf(mine.map((r) => r.ratio.p90)),
    ratioP99: medianOf(mine.map((r) => r.ratio.p99)),
  }
}
console.log(JSON.stringify({benchmark: 'bench-overhead', date: new Date().toISOString(), machine: await machine(), seconds: Number(values.seconds), medians: byConnections, rounds}, null, 2))
