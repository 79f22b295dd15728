#!/usr/bin/env node
// The Docker backend against the process backend, measured by `sai bench` itself, in interleaved
// rounds of one run: warm latency of a no-op (target: within 1 ms at p50), the cold start of the det
// model — against `docker run` of the same image doing the same init and one inference (target
// ≤ 1.15) — and CPU-bound work at 1769 MB vs 3538 MB (Lambda's CPU share: ≈2× on a 2-core host).
// Needs a Docker engine (dockerd --bridge=none --iptables=false).
//
//   node benchmarks/docker-backend.mjs [--rounds 3] [--seconds 5] [--cold-samples 10]
import {execFile, spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {promisify} from 'node:util'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {bench} from '../dist/services/bench.js'
import {packageFunction} from '../dist/services/package.js'
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

const docker = promisify(execFile)
const detEvent = readFileSync(path.join(ROOT, 'fixtures/ocr-det/events/sample.json'))

/** `docker run` of the det image, as a user would, against a one-invocation Runtime API: ms from the command to the first response. */
async function dockerRunCold(image) {
  let answered
  const done = new Promise((resolve) => (answered = resolve))
  let served = false
  const server = http.createServer((req, res) => {
    if (req.url.endsWith('/invocation/next')) {
      if (served) return
      served = true
      res.writeHead(200, {'Lambda-Runtime-Aws-Request-Id': 'r1', 'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30_000), 'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:ocr-det'})
      return void res.end(detEvent)
    }
    req.resume()
    req.on('end', () => (res.writeHead(202).end('{}'), answered(performance.now())))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const name = `sai-bench-run-${process.pid}-${Date.now()}`
  const started = performance.now()
  const exited = once(spawn('docker', ['run', '-d', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--memory', '2048m', '--memory-swap', '2048m', '-e', `AWS_LAMBDA_RUNTIME_API=127.0.0.1:${server.address().port}`, '-e', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048', image], {stdio: 'ignore'}), 'close')
  const ms = (await done) - started
  await exited
  await docker('docker', ['rm', '-f', name]).catch(() => undefined)
  server.closeAllConnections()
  server.close()
  return ms
}

const archive = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-det-')), 'det.tar')
await packageFunction({specPath: path.join(ROOT, 'fixtures/ocr-det'), base: 'host', sourceDateEpoch: 0, minCosine: 0.99, output: {kind: 'docker-archive', file: archive}})
await docker('docker', ['load', '-i', archive])
rmSync(path.dirname(archive), {recursive: true, force: true})

const results = {warm: {process: [], docker: []}, cold: {process: [], docker: []}, dockerRun: [], cpu: {1769: [], 3538: []}}
try {
  for (let round = 0; round < rounds; round++) {
    for (const backend of round % 2 ? ['docker', 'process'] : ['process', 'docker']) {
      const warm = await run(backend, path.join(ROOT, 'fixtures/noop'), {payload: '{}', load: {connections: 1, durationMs: Number(values.seconds) * 1000, arrival: 'constant', ramp: false, maxInFlight: 8}})
      const cold = await run(backend, path.join(ROOT, 'fixtures/ocr-det'), {coldSamples: Number(values['cold-samples'])})
      results.warm[backend].push({p50: warm.runs[0].warm.p50, p99: warm.runs[0].warm.p99})
      results.cold[backend].push({p50: cold.runs[0].cold.p50, initP50: cold.runs[0].report.initDurationMs.p50})
      console.error(`round ${round + 1} ${backend}: warm p50 ${warm.runs[0].warm.p50} ms, det cold p50 ${cold.runs[0].cold.p50} ms`)
    }
    const runs = []
    for (let i = 0; i < Number(values['cold-samples']); i++) runs.push(await dockerRunCold('ocr-det:latest'))
    results.dockerRun.push(median(runs))
    console.error(`round ${round + 1} docker run: det cold p50 ${median(runs).toFixed(1)} ms`)
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
  coldP50: {process: med(results.cold.process, 'p50'), docker: med(results.cold.docker, 'p50'), dockerRun: median(results.dockerRun)},
  cpuP50: {1769: median(results.cpu[1769]), 3538: median(results.cpu[3538])},
}
summary.warmDeltaMs = summary.warmP50.docker - summary.warmP50.process
summary.cpuRatio = summary.cpuP50[1769] / summary.cpuP50[3538]
summary.coldVsDockerRun = summary.coldP50.docker / summary.coldP50.dockerRun
console.error(`warm p50: process ${summary.warmP50.process} ms, docker ${summary.warmP50.docker} ms (+${summary.warmDeltaMs.toFixed(3)} ms; target ≤ 1 ms)`)
console.error(`det cold p50: process ${summary.coldP50.process} ms, docker backend ${summary.coldP50.docker} ms, docker run ${summary.coldP50.dockerRun.toFixed(1)} ms (×${summary.coldVsDockerRun.toFixed(2)}; target ≤ 1.15); CPU work 1769/3538 MB: ×${summary.cpuRatio.toFixed(2)}`)
console.log(JSON.stringify({benchmark: 'docker-backend', date: new Date().toISOString(), machine: await machine(), summary, rounds: results}, null, 2))
