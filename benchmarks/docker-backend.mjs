#!/usr/bin/env node
// The Docker backend against the process backend, measured by `sai bench` itself, in interleaved
// rounds of one run: warm latency of a no-op (target: within 1 ms at p50), the cold start of the det
// model, and CPU-bound work at 1769 MB vs 3538 MB (Lambda's CPU share: ≈2× on a 2-core host).
// Needs a Docker engine (dockerd --bridge=none --iptables=false).
//
//   node benchmarks/docker-backend.mjs [--rounds 3] [--seconds 5] [--cold-samples 10]
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {bench} from '../dist/services/bench.js'
import {machine, median} from './lib/measure.mjs'
import {ROOT} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}, seconds: {type: 'string', default: '5'}, 'cold-samples': {type: 'string', default: '10'}}})
const rounds = Number(values.rounds)

const base = {backend: 'process', keepAliveSeconds: 600, budgets: [], regressionThreshold: 0.1, signal: new AbortController().signal}
const run = (backend, specPath, extra) => bench({...base, backend, specPath, ...extra})

// A function that does a fixed amount of CPU work on two threads and reports its own wall time.
const spinDir = mkdtempSync(path.join(os.tmpdir(), 'sai-spin-'))
writeFileSync(path.join(spinDir, 'sai.yaml'), 'name: spin\nhandler: handler.handler\nmemory: 1769\ntimeout: 60\n')
writeFileSync(path.join(spinDir, 'handler.mjs'), `import {Worker} from 'node:worker_threads'
const work = 'let x = 0; for (let i = 0; i < 300_000_000; i++) x = (x + i) | 0; require("node:worker_threads").parentPort.postMessage(x)'
export const handler = async () => {
  await Promise.all([0, 1].map(() => new Promise((resolve, reject) => new Worker(work, {eval: true}).once('message', resolve).once('error', reject))))
  return {}
}
`)

const results = {warm: {process: [], docker: []}, cold: {process: [], docker: []}, cpu: {1769: [], 3538: []}}
try {
  for (let round = 0; round < rounds; round++) {
    for (const backend of round % 2 ? ['docker', 'process'] : ['process', 'docker']) {
      const warm = await run(backend, path.join(ROOT, 'fixtures/noop'), {payload: '{}', load: {connections: 1, durationMs: Number(values.seconds) * 1000, arrival: 'constant', ramp: false, maxInFlight: 8}})
      const cold = await run(backend, path.join(ROOT, 'fixtures/ocr-det'), {coldSamples: Number(values['cold-samples'])})
      results.warm[backend].push({p50: warm.runs[0].warm.p50, p99: warm.runs[0].warm.p99})
      results.cold[backend].push({p50: cold.runs[0].cold.p50, initP50: cold.runs[0].report.initDurationMs.p50})
      console.error(`round ${round + 1} ${backend}: warm p50 ${warm.runs[0].warm.p50} ms, det cold p50 ${cold.runs[0].cold.p50} ms`)
    }
    const cpu = await run('docker', spinDir, {payload: '{}', memorySizes: [1769, 3538], load: {connections: 1, durationMs: 4000, arrival: 'constant', ramp: false, maxInFlight: 2}})
    for (const r of cpu.runs) results.cpu[r.memoryMb].push(r.warm.p50)
    console.error(`round ${round + 1} docker spin: 1769 MB ${results.cpu[1769].at(-1)} ms, 3538 MB ${results.cpu[3538].at(-1)} ms`)
  }
} finally {
  rmSync(spinDir, {recursive: true, force: true})
}

const med = (xs, key) => median(xs.map((x) => x[key]))
const summary = {
  warmP50: {process: med(results.warm.process, 'p50'), docker: med(results.warm.docker, 'p50')},
  coldP50: {process: med(results.cold.process, 'p50'), docker: med(results.cold.docker, 'p50')},
  cpuP50: {1769: median(results.cpu[1769]), 3538: median(results.cpu[3538])},
}
summary.warmDeltaMs = summary.warmP50.docker - summary.warmP50.process
summary.cpuRatio = summary.cpuP50[1769] / summary.cpuP50[3538]
console.error(`warm p50: process ${summary.warmP50.process} ms, docker ${summary.warmP50.docker} ms (+${summary.warmDeltaMs.toFixed(3)} ms; target ≤ 1 ms)`)
console.error(`det cold p50: process ${summary.coldP50.process} ms, docker ${summary.coldP50.docker} ms; CPU work 1769/3538 MB: ×${summary.cpuRatio.toFixed(2)}`)
console.log(JSON.stringify({benchmark: 'docker-backend', date: new Date().toISOString(), machine: await machine(), summary, rounds: results}, null, 2))
