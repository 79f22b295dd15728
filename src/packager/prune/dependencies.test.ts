import {describe, it, expect, afterAll} from 'vitest'
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {loadSpec} from '../../spec/load.js'
import type {LayerSpec} from '../oci/types.js'
import {bundleFunction, keepPackageFile, pruneDependencies, scanImports, SymlinkEscapeError} from './dependencies.js'
import {extractLayerSpec} from '../../../test/layer-helper.js'

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const MB = 1e6
const created: string[] = []
afterAll(() => created.forEach((dir) => rmSync(dir, {recursive: true, force: true})))

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  created.push(dir)
  return dir
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
}


const paths = (layer: LayerSpec) => layer.entries.map((entry) => entry.path)

describe('onnxruntime-node, pruned from the real project', () => {
  it('keeps only the linux/x64 runtime, dist/, package.json and onnxruntime-common', async () => {
    const spec = loadSpec(path.join(PROJECT, 'fixtures/ocr-det/sai.yaml'))
    const result = await pruneDependencies({...spec, architecture: 'x86_64'})
    const files = paths(result.layer)
    const ort = '/var/task/node_modules/onnxruntime-node'
    expect(result.roots).toEqual([{name: 'onnxruntime-node', reason: 'model runtime'}])
    expect(result.projectRoot).toBe(PROJECT)
    expect(files).toContain(`${ort}/bin/napi-v6/linux/x64/onnxruntime_binding.node`)
    expect(files).toContain(`${ort}/bin/napi-v6/linux/x64/libonnxruntime.so.1`)
    expect(files).toContain(`${ort}/dist/index.js`)
    expect(files).toContain(`${ort}/package.json`)
    expect(files).toContain('/var/task/node_modules/onnxruntime-common/dist/cjs/index.js')
    expect(files.filter((file) => /\/(darwin|win32)\/|\/linux\/arm64|libonnxruntime_providers_/.test(file))).toEqual([])
    expect(files.filter((file) => /\.(d\.ts|map|md)$|\/lib\/.*\.ts$|\/script\//.test(file))).toEqual([])
    // adm-zip and global-agent only serve onnxruntime-node's postinstall download.
    expect(files.filter((file) => /adm-zip|global-agent/.test(file))).toEqual([])
    expect(result.packages.find((p) => p.name === 'global-agent')).toMatchObject({bytesAfter: 0})
    expect(result.layer.entries.find((entry) => entry.path === '/var/runtime/sai/node_modules')).toMatchObject({type: 'symlink', linkTarget: '../../task/node_modules'})

    const onnx = result.packages.find((p) => p.name === 'onnxruntime-node')!
    console.log(`onnxruntime-node linux/x64: ${(onnx.bytesBefore / MB).toFixed(1)} MB → ${(onnx.bytesAfter / MB).toFixed(1)} MB; closure ${(result.bytesBefore / MB).toFixed(1)} MB → ${(result.bytesAfter / MB).toFixed(1)} MB`)
    for (const p of result.packages) console.log(`  ${p.name}@${p.version}: ${p.bytesBefore} → ${p.bytesAfter} bytes`)
    expect(onnx.bytesBefore).toBeGreaterThan(250 * MB)
    expect(onnx.bytesAfter).toBeGreaterThan(45 * MB)
    expect(onnx.bytesAfter).toBeLessThan(48 * MB)
    expect(result.bytesAfter).toBeLessThan(48 * MB)
  })

  it('takes the arm64 runtime for arm64', async () => {
    const result = await pruneDependencies({dir: path.join(PROJECT, 'fixtures/ocr-det'), modelPath: 'model.onnx', architecture: 'arm64'})
    const binaries = paths(result.layer).filter((file) => file.includes('/bin/napi-v6/'))
    expect(binaries).toContain('/var/task/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1')
    expect(binaries.filter((file) => file.includes('/x64'))).toEqual([])
  })

  it('packages nothing for a function without a model or imports', async () => {
    const result = await pruneDependencies({dir: path.join(PROJECT, 'fixtures/noop'), handler: 'handler.handler', architecture: 'x86_64'})
    expect(result.layer.entries).toEqual([])
    expect(result.roots).toEqual([])
  })
})

/** A project whose handler uses `dep`; dep has a dependency, devDependencies, tests, docs, types and sources. */
function projectWithDependency(): string {
  const root = tempDir('sai-prune-')
  write(path.join(root, 'package-lock.json'), '{}')
  const fn = path.join(root, 'functions/hello')
  write(path.join(fn, 'handler.mjs'), [
    "import {readFileSync} from 'node:fs'",
    "import dep from 'dep'",
    "import {shout} from './lib/util.mjs'",
    "// require('unrelated') is only a comment",
    'const note = "import(\'unrelated\')"',
    'export const handler = async (event) => ({greeting: shout(dep.greet(event.name)), note, fs: typeof readFileSync})',
  ].join('\n'))
  write(path.join(fn, 'lib/util.mjs'), "import upper from '@scope/upper/index.js'\nexport const shout = (text) => upper(text) + '!'\n")
  const modules = path.join(root, 'node_modules')
  const pkg = (name: string, body: object) => write(path.join(modules, name, 'package.json'), JSON.stringify({name, version: '1.0.0', ...body}))
  pkg('dep', {main: 'index.js', dependencies: {sub: '^1'}, devDependencies: {devonly: '^1'}})
  write(path.join(modules, 'dep/index.js'), "const sub = require('sub')\nmodule.exports = {greet: (name) => sub.hello + ' ' + name}\n")
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', 'NOTICE.txt', 'index.d.ts', 'index.js.map', 'src/index.ts', 'tsconfig.json', 'test/index.test.js', 'docs/guide.html', 'examples/demo.js', '.github/workflows/ci.yml']) {
    write(path.join(modules, 'dep', file), `${file}\n`)
  }
  pkg('sub', {main: 'main.js'})
  write(path.join(modules, 'sub/main.js'), "module.exports = {hello: 'hello'}\n")
  pkg('devonly', {})
  pkg('unrelated', {})
  pkg('@scope/upper', {exports: {'./index.js': './index.js'}})
  write(path.join(modules, '@scope/upper/index.js'), 'module.exports = (text) => text.toUpperCase()\n')
  // A different sub nested under another package: it must keep its place in the image.
  pkg('other', {dependencies: {sub: '^2'}})
  write(path.join(modules, 'other/node_modules/sub/package.json'), JSON.stringify({name: 'sub', version: '2.0.0'}))
  return root
}

describe('a function with a dependency', () => {
  it('finds the packages its handler imports (comments and strings aside)', async () => {
    const root = projectWithDependency()
    expect(await scanImports(path.join(root, 'functions/hello/handler.mjs'), path.join(root, 'functions/hello'))).toEqual(['@scope/upper', 'dep'])
  })

  it('packages production files only, at paths Node resolves, and the handler runs from them', async () => {
    const root = projectWithDependency()
    const fn = path.join(root, 'functions/hello')
    const result = await pruneDependencies({dir: fn, handler: 'handler.handler', architecture: 'x86_64'})
    expect(result.roots.map((r) => `${r.name}:${r.reason}`)).toEqual(['@scope/upper:handler import', 'dep:handler import'])
    const files = paths(result.layer).filter((file) => file.startsWith('/var/task/node_modules/') && result.layer.entries.find((e) => e.path === file)!.type === 'file')
    expect(files.sort()).toEqual([
      '/var/task/node_modules/@scope/upper/index.js',
      '/var/task/node_modules/@scope/upper/package.json',
      '/var/task/node_modules/dep/LICENSE',
      '/var/task/node_modules/dep/NOTICE.txt',
      '/var/task/node_modules/dep/index.js',
      '/var/task/node_modules/dep/package.json',
      '/var/task/node_modules/sub/main.js',
      '/var/task/node_modules/sub/package.json',
    ])
    expect(result.packages.map((p) => p.name).sort()).toEqual(['@scope/upper', 'dep', 'sub'])
    const dep = result.packages.find((p) => p.name === 'dep')!
    expect(dep.bytesAfter).toBeLessThan(dep.bytesBefore)

    const image = tempDir('sai-prune-image-')
    extractLayerSpec(result.layer, image)
    copyFileSync(path.join(fn, 'handler.mjs'), path.join(image, 'var/task/handler.mjs'))
    mkdirSync(path.join(image, 'var/task/lib'))
    copyFileSync(path.join(fn, 'lib/util.mjs'), path.join(image, 'var/task/lib/util.mjs'))
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', "const {handler} = await import('./handler.mjs'); console.log(JSON.stringify(await handler({name: 'sai'})))"], {cwd: path.join(image, 'var/task')})
    expect(JSON.parse(output.toString())).toEqual({greeting: 'HELLO SAI!', note: "import('unrelated')", fs: 'function'})
  })

  it("follows the function's own package.json dependencies when it has one", async () => {
    const root = projectWithDependency()
    const fn = path.join(root, 'functions/hello')
    write(path.join(fn, 'package.json'), JSON.stringify({name: 'hello', dependencies: {other: '^1'}, devDependencies: {devonly: '^1'}}))
    const result = await pruneDependencies({dir: fn, handler: 'handler.handler', architecture: 'x86_64'})
    expect(result.roots).toEqual([{name: 'other', reason: 'package.json'}])
    expect(result.packages.map((p) => [p.name, p.version, p.imagePath])).toEqual([
      ['other', '1.0.0', '/var/task/node_modules/other'],
      ['sub', '2.0.0', '/var/task/node_modules/other/node_modules/sub'],
    ])
  })

  it('names what is missing and who needs it', async () => {
    const root = projectWithDependency()
    rmSync(path.join(root, 'node_modules/sub'), {recursive: true})
    const error = await pruneDependencies({dir: path.join(root, 'functions/hello'), handler: 'handler.handler', architecture: 'x86_64'}).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'SAI_DEPENDENCY_MISSING', message: `sub is needed by dep@1.0.0 but is not installed in ${root} or any node_modules below it`})
  })

  it('refuses two node_modules levels whose copies would collide in the image', async () => {
    const root = projectWithDependency()
    const fn = path.join(root, 'functions/hello')
    write(path.join(fn, 'node_modules/sub/package.json'), JSON.stringify({name: 'sub', version: '2.0.0'}))
    write(path.join(fn, 'handler.mjs'), "import dep from 'dep'\nimport sub from 'sub'\nexport const handler = () => [dep, sub]\n")
    const error = await pruneDependencies({dir: fn, handler: 'handler.handler', architecture: 'x86_64'}).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'SAI_DEPENDENCY_LAYOUT'})
    expect((error as Error).message).toContain('/var/task/node_modules/sub')
  })

  it('keeps licenses and entry points, drops docs, tests, types, maps and sources', () => {
    expect(keepPackageFile('LICENSE.md')).toBe(true)
    expect(keepPackageFile('README.md')).toBe(false)
    expect(keepPackageFile('lib/index.d.mts')).toBe(false)
    expect(keepPackageFile('lib/index.ts')).toBe(false)
    expect(keepPackageFile('lib/index.js')).toBe(true)
    expect(keepPackageFile('test/helper.js')).toBe(false)
    expect(keepPackageFile('test/helper.js', new Set(['test/helper.js']))).toBe(true)
  })
})

describe('symlinks', () => {
  it('refuses a package linked from outside the project, naming the link and its target', async () => {
    const root = projectWithDependency()
    const outside = tempDir('sai-outside-')
    write(path.join(outside, 'evil/package.json'), JSON.stringify({name: 'evil', version: '1.0.0'}))
    symlinkSync(path.join(outside, 'evil'), path.join(root, 'node_modules/evil'))
    write(path.join(root, 'functions/hello/handler.mjs'), "import evil from 'evil'\nexport const handler = () => evil\n")
    const error = await pruneDependencies({dir: path.join(root, 'functions/hello'), handler: 'handler.handler', architecture: 'x86_64'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SymlinkEscapeError)
    expect((error as Error).message).toBe(`the symlink ${path.join(root, 'node_modules/evil')} points to ${path.join(outside, 'evil')}, outside the project ${root}; the image cannot contain it`)
  })

  it('refuses a file inside a package that links outside the project', async () => {
    const root = projectWithDependency()
    symlinkSync('/etc/hostname', path.join(root, 'node_modules/sub/hostname.txt'))
    const error = await pruneDependencies({dir: path.join(root, 'functions/hello'), handler: 'handler.handler', architecture: 'x86_64'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SymlinkEscapeError)
    expect(error).toMatchObject({link: path.join(root, 'node_modules/sub/hostname.txt'), target: '/etc/hostname'})
  })

  it('copies a workspace package linked from inside the project', async () => {
    const root = projectWithDependency()
    write(path.join(root, 'packages/shared/package.json'), JSON.stringify({name: 'shared', version: '0.1.0', main: 'index.js'}))
    write(path.join(root, 'packages/shared/index.js'), 'module.exports = 1\n')
    symlinkSync('../packages/shared', path.join(root, 'node_modules/shared'))
    write(path.join(root, 'functions/hello/handler.mjs'), "import shared from 'shared'\nexport const handler = () => shared\n")
    const result = await pruneDependencies({dir: path.join(root, 'functions/hello'), handler: 'handler.handler', architecture: 'x86_64'})
    expect(result.layer.entries.find((entry) => entry.path === '/var/task/node_modules/shared/index.js')).toMatchObject({type: 'file', source: {file: path.join(root, 'packages/shared/index.js')}})
  })
})

describe('bundleFunction', () => {
  it('bundles a handler and its CommonJS dependencies into one ES module that runs', async () => {
    const root = projectWithDependency()
    const fn = path.join(root, 'functions/hello')
    // A handler that declares its own `require` must not clash with the bundle's.
    write(path.join(fn, 'handler.mjs'), [
      "import {createRequire} from 'node:module'",
      "import dep from 'dep'",
      "import {shout} from './lib/util.mjs'",
      'const require = createRequire(import.meta.url)',
      "export const handler = async (event) => ({greeting: shout(dep.greet(event.name)), path: typeof require('node:path').join})",
    ].join('\n'))
    const bundle = await bundleFunction(path.join(fn, 'handler.mjs'))
    expect(bundle.externals).toEqual([])
    expect(bundle.inputs.some((input) => input.endsWith('node_modules/sub/main.js'))).toBe(true)
    const out = tempDir('sai-bundle-')
    writeFileSync(path.join(out, 'handler.mjs'), bundle.code)
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', "const {handler} = await import('./handler.mjs'); console.log(JSON.stringify(await handler({name: 'sai'})))"], {cwd: out})
    expect(JSON.parse(output.toString())).toEqual({greeting: 'HELLO SAI!', path: 'function'})
  })

  it('reports a handler esbuild cannot parse', async () => {
    const dir = tempDir('sai-bundle-')
    write(path.join(dir, 'broken.mjs'), 'export const handler = (\n')
    await expect(bundleFunction(path.join(dir, 'broken.mjs'))).rejects.toMatchObject({code: 'SAI_BUNDLE_FAILED'})
  })

  it('leaves onnxruntime-node external', async () => {
    const bundle = await bundleFunction(path.join(PROJECT, 'fixtures/ocr-cls/handler.mjs'))
    expect(bundle.code.toString()).toContain('export')
    const dir = tempDir('sai-bundle-')
    write(path.join(dir, 'h.mjs'), "import ort from 'onnxruntime-node'\nexport const handler = () => typeof ort\n")
    expect((await bundleFunction(path.join(dir, 'h.mjs'))).externals).toEqual(['onnxruntime-node'])
  })
})
