#!/usr/bin/env node
// `sai deploy` against `sai emulate --empty` and Debian's docker-registry on 127.0.0.1, timed per
// kind of deploy: the first (package, push, create, publish, alias, provisioned concurrency READY), a
// configuration change (a recommendation: memory and provisioned concurrency), a no-op, and a dry
// run. Baseline in the same run: `sai package` alone to the same registry (what any deploy pays).
// Then `sai bench --target` (the SDK, SigV4, the Tail log) against the deployed function, next to
// `sai bench --spec` (bench's own HTTP client) on the same function: the cost of going through the SDK.
//
//   node benchmarks/deploy.mjs [--rounds 3]
import {execFileSync, spawn} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {machine, median} from './lib/measure.mjs'
import {ROOT} from './lib/targets.mjs'

const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}}})
const rounds = Number(values.rounds)
const BIN = path.join(ROOT, 'bin/run.js')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-bench-'))

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })

async function waitFor(url) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${url} never answered`)
}

function sai(args) {
  const started = performance.now()
  const stdout = execFileSync(process.execPath, [BIN, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: {...process.env, SAI_CACHE_DIR: path.join(tmp, 'cache')}})
  return {ms: performance.now() - started, json: stdout.trim().startsWith('{') ? JSON.parse(stdout) : undefined}
}

const registryPort = await freePort()
const registryDir = mkdtempSync(path.join(tmp, 'registry-'))
// The registry reads JSON as its YAML config.
writeFileSync(
  path.join(registryDir, 'config.yml'),
  JSON.stringify({version: 0.1, log: {level: 'error', accesslog: {disabled: true}}, storage: {filesystem: {rootdirectory: path.join(registryDir, 'data')}}, http: {addr: `127.0.0.1:${registryPort}`, secret: 'sai-bench'}, health: {storagedriver: {enabled: false}}}),
)
const registry = spawn('/usr/bin/docker-registry', ['serve', path.join(registryDir, 'config.yml')], {stdio: 'ignore'})
const emulatorPort = await freePort()
const emulator = spawn(process.execPath, [BIN, 'emulate', '--empty', '--port', String(emulatorPort)], {stdio: 'ignore'})
const endpoint = `http://127.0.0.1:${emulatorPort}`
const registryHost = `127.0.0.1:${registryPort}`
await waitFor(`http://${registryHost}/v2/`)
await waitFor(`${endpoint}/2015-03-31/functions/`)

const rows = []
try {
  for (let round = 1; round <= rounds; round++) {
    const name = `noop${round}`
    const dir = path.join(tmp, name)
    cpSync(path.join(ROOT, 'fixtures/noop'), dir, {recursive: true})
    writeFileSync(path.join(dir, 'sai.yaml'), `name: ${name}\nhandler: handler.handler\nmemory: 1769\ntimeout: 3\nprovisionedConcurrency: 1\n`)
    const target = ['--spec', dir, '--endpoint-url', endpoint, '--registry', registryHost, '--json']
    const packageOnly = sai(['package', '--spec', dir, '--output', `registry:${registryHost}/${name}-baseline:sai`, '--json'])
    const first = sai(['deploy', ...target])
    const rec = path.join(tmp, `rec-${round}.json`)
    writeFileSync(rec, JSON.stringify({recommendation: {memoryMB: 2048, batchSize: 1, provisionedConcurrency: 2, monthlyCostUSD: 0, coldStartRate: 0, p99Ms: 0, meetsSlo: true, risk: 'low'}}))
    const update = sai(['deploy', ...target, '--recommendation', rec])
    const noop = sai(['deploy', ...target, '--recommendation', rec])
    const dry = sai(['deploy', ...target, '--dry-run'])
    if (!noop.json.noOp) throw new Error('the third deploy was not a no-op')
    const local = sai(['bench', '--spec', dir, '--payload', '{}', '--connections', '1', '--duration', '5s', '--json', '-'])
    const remote = sai(['bench', '--target', `lambda:${name}`, '--endpoint-url', endpoint, '--payload', '{}', '--connections', '1', '--duration', '5s', '--json', '-'])
    const warm = (result) => result.json.runs[0].warm
    rows.push({
      round,
      packageOnlyMs: packageOnly.ms,
      firstDeployMs: first.ms,
      updateDeployMs: update.ms,
      noOpDeployMs: noop.ms,
      dryRunMs: dry.ms,
      versions: [first.json.version, update.json.version, noop.json.version],
      benchLocal: {p50: warm(local).p50, p99: warm(local).p99, count: warm(local).count},
      benchTarget: {p50: warm(remote).p50, p99: warm(remote).p99, count: warm(remote).count},
    })
    process.stderr.write(`round ${round}: package ${packageOnly.ms.toFixed(0)} ms, first deploy ${first.ms.toFixed(0)} ms, update ${update.ms.toFixed(0)} ms, no-op ${noop.ms.toFixed(0)} ms, dry run ${dry.ms.toFixed(0)} ms; warm p50 local ${warm(local).p50} ms vs --target ${warm(remote).p50} ms\n`)
  }
} finally {
  emulator.kill('SIGINT')
  registry.kill()
}

const med = (key) => median(rows.map((r) => r[key]))
console.log(
  JSON.stringify(
    {
      benchmark: 'deploy',
      date: new Date().toISOString(),
      machine: await machine(),
      rounds,
      medians: {
        packageOnlyMs: med('packageOnlyMs'),
        firstDeployMs: med('firstDeployMs'),
        updateDeployMs: med('updateDeployMs'),
        noOpDeployMs: med('noOpDeployMs'),
        dryRunMs: med('dryRunMs'),
        benchLocalWarmP50: median(rows.map((r) => r.benchLocal.p50)),
        benchTargetWarmP50: median(rows.map((r) => r.benchTarget.p50)),
      },
      rows,
    },
    null,
    2,
  ),
)
