#!/usr/bin/env node
// How well sai recommend's pool simulation predicts cold starts, against the emulator: each scenario
// replays a trace through `sai bench --trace` (keep-alive and provisioned concurrency set), then
// replays the same trace through the simulator with the durations that bench measured (mean of 5
// seeds). The baseline, computed in the same run, is the loss model alone: Erlang-B at the trace's
// mean rate, which counts every request that finds all provisioned environments busy as cold.
// Also: the simulator's speed, and sai recommend's wall time on the result.
//
//   node benchmarks/simulation.mjs [--rounds 3]
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {mulberry32} from '../dist/bench/random.js'
import {erlangB, offeredLoad} from '../dist/recommend/erlang.js'
import {measuredDurations, project} from '../dist/recommend/project.js'
import {constantSampler, simulate} from '../dist/recommend/simulate.js'
import {trafficFromRates, trafficFromTrace} from '../dist/recommend/traffic.js'
import {machine, median} from './lib/measure.mjs'
import {ROOT} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}}})
const rounds = Number(values.rounds)
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-simulation-bench-'))
const BIN = path.join(ROOT, 'bin/run.js')

function poisson(rng, rate, fromMs, toMs, out) {
  for (let t = fromMs; ; ) {
    t += (-Math.log(1 - rng()) / rate) * 1000
    if (t > toMs) return
    out.push(t)
  }
}

/** Three shapes: bursts past the keep-alive, steady Poisson traffic, and a ramp up and down. */
const SCENARIOS = {
  bursts: (rng) => {
    const t = []
    for (let c = 0; c < 10; c++) poisson(rng, 40, c * 3000, c * 3000 + 1500, t)
    return t
  },
  steady: (rng) => {
    const t = []
    poisson(rng, 15, 0, 30_000, t)
    return t
  },
  ramp: (rng) => {
    const t = []
    for (let s = 0; s < 30; s++) poisson(rng, 2 + 2 * Math.min(s, 30 - s), s * 1000, (s + 1) * 1000, t)
    return t
  },
}
const KEEP_ALIVE_S = 1
const PROVISIONED = 2
const SLEEP_MS = 100

const results = []
for (let round = 1; round <= rounds; round++) {
  for (const [name, make] of Object.entries(SCENARIOS)) {
    const times = make(mulberry32(round * 97 + name.length))
    const trace = path.join(dir, `${name}-${round}.csv`)
    writeFileSync(trace, 't_ms\n' + times.map((t) => t.toFixed(1)).join('\n') + '\n')
    const out = path.join(dir, `${name}-${round}.json`)
    execFileSync(process.execPath, [BIN, 'bench', '--spec', path.join(ROOT, 'fixtures/faults'), '--trace', trace, '--keep-alive', String(KEEP_ALIVE_S), '--provisioned-concurrency', String(PROVISIONED), '--payload', JSON.stringify({action: 'context', sleepMs: SLEEP_MS}), '--json', out], {stdio: ['ignore', 'ignore', 'inherit']})
    const bench = JSON.parse(readFileSync(out, 'utf8'))
    const run = bench.runs[0]
    const load = run.phases.find((p) => p.kind === 'open')
    const measured = load.coldStarts.length
    const traffic = await trafficFromTrace(trace)
    const durations = measuredDurations(run)
    const simulated = [1, 2, 3, 4, 5].map((seed) => project(traffic, durations, {keepAliveMs: KEEP_ALIVE_S * 1000, provisioned: PROVISIONED}, {seed}).coldRate * times.length)
    const sim = simulated.reduce((a, b) => a + b, 0) / simulated.length
    const erlang = times.length * erlangB(PROVISIONED, offeredLoad(traffic.meanRps, run.warm.mean / 1000))
    results.push({round, scenario: name, requests: times.length, measured, simulated: sim, simulatedBySeed: simulated, erlangB: erlang, simError: (sim - measured) / measured, erlangError: (erlang - measured) / measured})
    process.stderr.write(`${name} #${round}: measured ${measured}, simulated ${sim.toFixed(1)} (${(100 * (sim - measured) / measured).toFixed(1)}%), Erlang-B ${erlang.toFixed(1)} (${(100 * (erlang - measured) / measured).toFixed(1)}%)\n`)
  }
}

// Speed: one million Poisson arrivals through the simulator, and a month projected at 10 req/s.
const rng = mulberry32(1)
const arrivals = new Float64Array(1_000_000)
for (let i = 0, t = 0; i < arrivals.length; i++) arrivals[i] = t += -Math.log(1 - rng()) * 10
let started = performance.now()
simulate({arrivalsMs: arrivals, warm: constantSampler(80), cold: constantSampler(400), keepAliveMs: 300_000, provisionedConcurrency: 2, seed: 1})
const arrivalsPerSecond = arrivals.length / ((performance.now() - started) / 1000)
const lastBench = JSON.parse(readFileSync(path.join(dir, `steady-${rounds}.json`), 'utf8'))
started = performance.now()
project(trafficFromRates(10, 40), measuredDurations(lastBench.runs[0]), {keepAliveMs: 300_000, provisioned: 0})
const projectMs = performance.now() - started

const summary = {}
for (const name of Object.keys(SCENARIOS)) {
  const rows = results.filter((r) => r.scenario === name)
  summary[name] = {
    medianMeasured: median(rows.map((r) => r.measured)),
    medianAbsSimError: median(rows.map((r) => Math.abs(r.simError))),
    maxAbsSimError: Math.max(...rows.map((r) => Math.abs(r.simError))),
    medianAbsErlangError: median(rows.map((r) => Math.abs(r.erlangError))),
  }
}
console.log(JSON.stringify({benchmark: 'simulation', date: new Date().toISOString(), machine: await machine(), keepAliveSeconds: KEEP_ALIVE_S, provisioned: PROVISIONED, sleepMs: SLEEP_MS, rounds, summary, speed: {arrivalsPerSecond, projectMonthAt10RpsMs: projectMs}, results}, null, 2))
