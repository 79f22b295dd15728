/**
 * `sai package` end to end: reproducible images on the host base, read back and run by the
 * emulator (the packaged bytes, through the SDK), pushed to and pulled from a real registry, built
 * on a registry base, optimized models behind the accuracy gate, and bad input.
 */
import {spawn} from 'node:child_process'
import {createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeMlpModel} from '../src/packager/model/test-models.js'
import {buildImage} from '../src/packager/oci/image.js'
import {buildLayer} from '../src/packager/oci/layer.js'
import {readImage} from '../src/packager/oci/layout.js'
import {extractZip} from '../src/packager/zip.js'
import {parseReference, RegistryClient} from '../src/packager/oci/registry.js'
import {bench} from '../src/services/bench.js'
import {defaultBase, packageFunction, parseOutput, type PackageOptions} from '../src/services/package.js'
import {loadSpec} from '../src/spec/load.js'
import {emulate, FIXTURES, functionDir, invoke, runSai} from './helpers.js'
import {startRegistry, type LocalRegistry} from './registry-helper.js'

const work = mkdtempSync(path.join(os.tmpdir(), 'sai-package-test-'))
// One layer cache for the whole file: the host base and the dependencies are built once.
const cacheDir = path.join(work, 'cache')
afterAll(() => rmSync(work, {recursive: true, force: true}))

const options = (overrides: Partial<PackageOptions> & Pick<PackageOptions, 'output'>): PackageOptions => ({
  specPath: path.join(FIXTURES, 'ocr-det'),
  base: 'host',
  sourceDateEpoch: 0,
  minCosine: 0.99,
  cacheDir,
  ...overrides,
})

const run = (args: string[]) => runSai(['package', ...args], {env: {SAI_CACHE_DIR: cacheDir}})

const detSample = JSON.parse(readFileSync(path.join(FIXTURES, 'ocr-det/events/sample.json'), 'utf8')) as unknown

describe('sai package: images on the host base', () => {
  it('builds the same image twice, byte for byte, in the layer order that caches best', async () => {
    const first = await packageFunction(options({output: {kind: 'oci', dir: path.join(work, 'a')}, cacheDir: undefined}))
    const second = await packageFunction(options({output: {kind: 'oci', dir: path.join(work, 'b')}}))
    expect(second.manifestDigest).toBe(first.manifestDigest)
    expect(readdirSync(path.join(work, 'a/blobs/sha256')).sort()).toEqual(readdirSync(path.join(work, 'b/blobs/sha256')).sort())
    expect(first.layers.map((l) => l.name)).toEqual(['base', 'runtime and dependencies', 'model', 'function'])
    // Pruned: onnxruntime-node cut to linux/x64, far below its installed size.
    expect(first.dependencies.bytesAfter).toBeLessThan(60e6)
    expect(first.dependencies.bytesBefore).toBeGreaterThan(250e6)
    const image = await readImage(path.join(work, 'a'))
    expect(image.manifest.descriptor.digest).toBe(first.manifestDigest)
    expect(image.config.json.config?.Entrypoint).toEqual(['/var/lang/bin/node', '/var/runtime/sai/bootstrap.js'])
    expect(image.config.json.config?.WorkingDir).toBe('/var/task')
  })

  it('the emulator runs the packaged bytes: the same answer as the spec run directly', async () => {
    const dir = path.join(work, 'run')
    await packageFunction(options({output: {kind: 'oci', dir}}))
    const fromImage = await emulate([], {imagePaths: [dir]})
    const fromSpec = await emulate([loadSpec(path.join(FIXTURES, 'ocr-det'))])
    try {
      const packaged = await invoke(fromImage.client, {FunctionName: 'ocr-det', Payload: detSample})
      const direct = await invoke(fromSpec.client, {FunctionName: 'ocr-det', Payload: detSample})
      expect(packaged.FunctionError).toBeUndefined()
      expect(packaged.json).toEqual(direct.json)
      // The environment ran the runtime that shipped in the image, not this checkout's.
      expect(runtimeCommandLines().some((line) => /sai-image-.*\/var\/runtime\/sai\/bootstrap\.js/.test(line))).toBe(true)
    } finally {
      await Promise.all([fromImage.close(), fromSpec.close()])
    }
  })

  it('a docker-archive is benched like the spec, from the sample events inside it', async () => {
    const file = path.join(work, 'det.tar')
    await packageFunction(options({output: {kind: 'docker-archive', file}}))
    const manifest = JSON.parse(await entryOf(file, 'manifest.json')) as {RepoTags: string[]; Layers: string[]}[]
    expect(manifest[0]!.RepoTags).toEqual(['ocr-det:latest'])
    expect(manifest[0]!.Layers).toHaveLength(4)
    const result = await bench({specPath: 'unused', imagePath: file, backend: 'process', keepAliveSeconds: 600, budgets: [], regressionThreshold: 0.1, signal: new AbortController().signal, coldSamples: 1})
    expect(result.spec.name).toBe('ocr-det')
    expect(result.spec.memory).toBe(2048)
    expect(result.runs[0]!.cold!.count).toBe(1)
    expect(result.runs[0]!.errors.total).toBe(0)
  })
})

/** Command lines of this process's children: the environments' runtimes. */
function runtimeCommandLines(): string[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
  return children.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      return ''
    }
  })
}

/** A file's content inside a tar archive, read with GNU tar. */
function entryOf(archive: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-xOf', archive, name])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tar exited ${code}`))))
  })
}

describe('sai package: zip', () => {
  it('builds the same zip twice, runs it as the managed runtime would, and advises on the format', async () => {
    const [a, b] = [path.join(work, 'a.zip'), path.join(work, 'b.zip')]
    const first = await packageFunction(options({output: {kind: 'zip', file: a}}))
    await packageFunction(options({output: {kind: 'zip', file: b}}))
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true)
    expect(first.zip).toMatchObject({handler: 'sai-handler.handler', runtime: 'nodejs22.x'})
    expect(first.zip!.bytes).toBeLessThan(50 * 1024 * 1024)
    expect(first.advice).toMatch(/twice as fast as images/)
    const running = await emulate([], {imagePaths: [a]})
    try {
      const packaged = await invoke(running.client, {FunctionName: 'ocr-det', Payload: detSample})
      expect(packaged.FunctionError).toBeUndefined()
      expect(Object.keys(packaged.json ?? {})).toEqual(['outputs'])
    } finally {
      await running.close()
    }
  })

  it('--bundle: one module in place of the function\'s JS files and the packages it bundled', async () => {
    const dir = functionDir({
      'sai.yaml': 'name: bundled\nhandler: handler.handler\nmemory: 512\n',
      'handler.mjs': "import {greet} from './lib/greet.mjs'\nimport shout from 'shout'\nexport const handler = async (event) => ({message: shout(greet(event.name))})\n",
      'lib/greet.mjs': 'export const greet = (name) => `hello ${name}`\n',
      'package.json': '{"name": "bundled", "dependencies": {"shout": "1.0.0"}}',
      'package-lock.json': '{"lockfileVersion": 3}',
      'node_modules/shout/package.json': '{"name": "shout", "version": "1.0.0", "main": "index.js"}',
      'node_modules/shout/index.js': 'module.exports = (text) => text.toUpperCase()\n',
    })
    const file = path.join(work, 'bundled.zip')
    const result = await packageFunction(options({specPath: dir, bundle: true, output: {kind: 'zip', file}}))
    expect(result.bundled).toMatchObject({module: '/var/task/handler.mjs'})
    const unpacked = path.join(work, 'bundled')
    await extractZip(file, unpacked)
    expect(existsSync(path.join(unpacked, 'handler.mjs'))).toBe(true)
    expect(existsSync(path.join(unpacked, 'lib/greet.mjs'))).toBe(false)
    expect(existsSync(path.join(unpacked, 'node_modules/shout'))).toBe(false)
    const running = await emulate([], {imagePaths: [file]})
    try {
      const answer = await invoke(running.client, {FunctionName: 'bundled', Payload: {name: 'lambda'}})
      expect(answer.json).toEqual({message: 'HELLO LAMBDA'})
    } finally {
      await running.close()
    }
  })

  it('refuses a zip over Lambda\'s 50 MB and leaves no file', async () => {
    const dir = functionDir({'sai.yaml': 'name: huge\nmodel: huge.onnx\n'})
    // Random float weights barely compress: 67 MB of them, with onnxruntime's 18 MB, exceed 50 MB zipped.
    await writeMlpModel(path.join(dir, 'huge.onnx'), {widths: [2048, 4096, 2048, 10]})
    const file = path.join(work, 'huge.zip')
    const out = await run(['--spec', dir, '--output', `zip:${file}`])
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/SAI_ZIP_TOO_LARGE/)
    expect(out.stderr).toMatch(/50 MB/)
    expect(existsSync(file)).toBe(false)
  })
})

describe('sai package: registries', () => {
  let registry: LocalRegistry
  beforeAll(async () => {
    registry = await startRegistry()
  })
  afterAll(() => registry?.stop())

  it('pushes the image (manifest last) and pulls back the same digest as the local build', async () => {
    const local = await packageFunction(options({output: {kind: 'oci', dir: path.join(work, 'push-local')}}))
    const pushed = await packageFunction(options({output: {kind: 'registry', reference: `${registry.host}/det:1`}}))
    expect(pushed.manifestDigest).toBe(local.manifestDigest)
    expect(pushed.pushed!.uploaded).toBe(5) // config + 4 layers
    const client = new RegistryClient(registry.host)
    const pulled = await client.pull(parseReference(`${registry.host}/det:1`))
    expect(pulled.manifest.descriptor.digest).toBe(local.manifestDigest)
    // Pushing again uploads nothing.
    const again = await packageFunction(options({output: {kind: 'registry', reference: `${registry.host}/det:1`}}))
    expect(again.pushed).toMatchObject({uploaded: 0, skipped: 5})
    // And the emulator runs it straight from the registry.
    const running = await emulate([], {imagePaths: [`${registry.host}/det:1`]})
    try {
      const answer = await invoke(running.client, {FunctionName: 'ocr-det', Payload: detSample})
      expect(answer.FunctionError).toBeUndefined()
    } finally {
      await running.close()
    }
  })

  it('builds on a base that lives in the registry, mounting its layers instead of uploading them', async () => {
    // Any image serves as a base; this one is the noop function packaged on the host base.
    await packageFunction(options({specPath: path.join(FIXTURES, 'noop'), output: {kind: 'registry', reference: `${registry.host}/bases/node:20`}}))
    const result = await packageFunction(options({base: `${registry.host}/bases/node:20`, output: {kind: 'registry', reference: `${registry.host}/det-on-base:1`}}))
    expect(result.pushed!.mounted).toBeGreaterThanOrEqual(2)
    expect(result.layers.filter((l) => l.origin === 'base').length).toBeGreaterThanOrEqual(3)
    expect(result.base).toBe(`${registry.host}/bases/node:20`)
  })

  it('refuses a base built for another architecture', async () => {
    const layer = await buildLayer({name: 'base', entries: [{path: '/etc/os-release', type: 'file', mode: 0o644, source: {bytes: Buffer.from('ID=test\n')}}]}, {tmpDir: work})
    const image = buildImage({architecture: 'arm64', layers: [layer], config: {entrypoint: ['/bin/true'], workingDir: '/'}})
    const client = new RegistryClient(registry.host)
    await client.push(parseReference(`${registry.host}/bases/arm:1`), image.manifest.bytes, {
      blobs: [{descriptor: image.config.descriptor, content: image.config.bytes}, {descriptor: layer.descriptor, content: () => createReadStream(layer.file)}],
    })
    const error = await packageFunction(options({base: `${registry.host}/bases/arm:1`, output: {kind: 'oci', dir: path.join(work, 'wrong-arch')}})).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'SAI_ARCHITECTURE_MISMATCH'})
    expect((error as Error).message).toMatch(/linux\/arm64.*not linux\/amd64/)
    expect(existsSync(path.join(work, 'wrong-arch'))).toBe(false)
  })
})

describe('sai package: models', () => {
  it('int8 shrinks a MatMul-heavy model to under 30% and passes the accuracy gate; an impossible gate exits 3', async () => {
    const dir = functionDir({'sai.yaml': 'name: mlp\nmodel: mlp.onnx\nmemory: 1024\n'})
    await writeMlpModel(path.join(dir, 'mlp.onnx'))
    const ok = await packageFunction(options({specPath: dir, quantize: 'int8-dynamic', output: {kind: 'oci', dir: path.join(work, 'mlp')}}))
    expect(ok.model!.packaged.bytes / ok.model!.original.bytes).toBeLessThan(0.3)
    expect(ok.model!.accuracy!.passed).toBe(true)
    expect(Math.min(...ok.model!.accuracy!.outputs.map((o) => o.cosine))).toBeGreaterThanOrEqual(0.99)

    const out = path.join(work, 'mlp-strict')
    const strict = await run(['--spec', dir, '--quantize', 'int8', '--min-cosine', '1', '--output', `oci:${out}`])
    expect(strict.code, strict.stderr).toBe(3)
    expect(strict.stderr).toMatch(/SAI_ACCURACY_GATE/)
    expect(strict.stderr).toMatch(/cosine similarity 0\.9\d+ \(at least 1 required/)
    expect(existsSync(out)).toBe(false)
  })
})

describe('sai package: defaults', () => {
  it("uses AWS's base for ECR (with the spec's Node major), this machine's otherwise; --format must agree with --output", () => {
    const spec = loadSpec(path.join(FIXTURES, 'noop'))
    expect(defaultBase(spec, parseOutput('registry:123456789012.dkr.ecr.eu-west-1.amazonaws.com/noop:1'))).toBe('public.ecr.aws/lambda/nodejs:22')
    expect(defaultBase({...spec, runtime: 'nodejs24.x'}, parseOutput('registry:123456789012.dkr.ecr.us-east-1.amazonaws.com/noop:1'))).toBe('public.ecr.aws/lambda/nodejs:24')
    expect(defaultBase(spec, parseOutput('registry:127.0.0.1:5000/noop:1'))).toBe('host')
    expect(defaultBase(spec, parseOutput('oci:out'))).toBe('host')
    expect(() => parseOutput('oci:out', 'zip')).toThrow(/--format zip cannot be written to --output oci:out/)
    expect(parseOutput('zip:f.zip', 'zip')).toMatchObject({kind: 'zip'})
  })
})

describe('sai package: bad input', () => {
  it('names what is wrong, exits 1, and leaves no partial output', async () => {
    const badOutput = await run(['--spec', 'fixtures/noop', '--output', 'tarball:x.tar'])
    expect(badOutput.code).toBe(1)
    expect(badOutput.stderr).toMatch(/SAI_OUTPUT_INVALID/)

    const unreachable = await run(['--spec', 'fixtures/noop', '--output', 'registry:127.0.0.1:9/nothing:1'])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/SAI_REGISTRY_UNREACHABLE/)

    const arch = await run(['--spec', 'fixtures/noop', '--arch', 'arm64', '--output', `oci:${path.join(work, 'arm')}`])
    expect(arch.code).toBe(1)
    expect(arch.stderr).toMatch(/SAI_ARCHITECTURE_MISMATCH/)
    expect(existsSync(path.join(work, 'arm'))).toBe(false)

    const escaping = functionDir({'sai.yaml': 'name: leaky\nhandler: handler.handler\n', 'handler.mjs': 'export const handler = async () => 1\n'})
    mkdirSync(path.join(work, 'secrets'), {recursive: true})
    writeFileSync(path.join(work, 'secrets/key'), 'do not ship')
    symlinkSync(path.join(work, 'secrets/key'), path.join(escaping, 'key'))
    const leak = await run(['--spec', escaping, '--output', `oci:${path.join(work, 'leaky')}`])
    expect(leak.code).toBe(1)
    expect(leak.stderr).toMatch(/SAI_SYMLINK_ESCAPES/)
    expect(leak.stderr).toContain(path.join(escaping, 'key'))
    expect(existsSync(path.join(work, 'leaky'))).toBe(false)

    const corrupt = functionDir({'sai.yaml': 'name: corrupt\nmodel: model.onnx\n', 'model.onnx': 'these bytes are not a model'})
    const broken = await run(['--spec', corrupt, '--output', `oci:${path.join(work, 'corrupt')}`])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/SAI_MODEL_INVALID/)
    expect(existsSync(path.join(work, 'corrupt'))).toBe(false)

    const missing = await run(['--spec', path.join(work, 'nowhere'), '--output', `oci:${path.join(work, 'none')}`])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/SAI_SPEC_NOT_FOUND/)
  })
})
