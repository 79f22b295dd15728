import {describe, it, expect, afterAll, beforeAll} from 'vitest'
import {execFileSync, spawn} from 'node:child_process'
import {once} from 'node:events'
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import {loadSpec} from '../../spec/load.js'
import type {LayerEntry, LayerSpec} from '../oci/types.js'
import {pruneDependencies} from '../prune/dependencies.js'
import {compareVersions, GlibcVersionError, hostBase, LAMBDA_USER, NODE_IMAGE_PATH, parseLdd, SAI_RUNTIME_IMAGE_PATH, type HostBase} from './host.js'
import {extractLayerSpec} from '../../../test/layer-helper.js'
import {serveOneInvocation} from '../../../test/one-invocation.js'
import {text} from 'node:stream/consumers'

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const BINDING = path.join(PROJECT, 'node_modules/onnxruntime-node/bin/napi-v6/linux', process.arch, 'onnxruntime_binding.node')
const created: string[] = []
afterAll(() => created.forEach((dir) => rmSync(dir, {recursive: true, force: true})))


/** Follows the layer's own symlinks (never the host's) to the entry an image path ends at. */
function resolveInLayer(entries: Map<string, LayerEntry>, imagePath: string, depth = 0): LayerEntry | undefined {
  if (depth > 40) return undefined
  const parts = imagePath.split('/').filter(Boolean)
  for (let i = 1; i <= parts.length; i++) {
    const current = '/' + parts.slice(0, i).join('/')
    const entry = entries.get(current)
    if (!entry) return undefined
    if (entry.type === 'symlink') return resolveInLayer(entries, path.posix.resolve(path.posix.dirname(current), entry.linkTarget!, ...parts.slice(i)), depth + 1)
    if (i === parts.length) return entry
  }
  return undefined
}

describe('parseLdd', () => {
  it('reads linked, loader and missing libraries and skips the vDSO', () => {
    const output = [
      '\tlinux-vdso.so.1 (0x00007ffc8a5f2000)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f1a39a00000)',
      '\tlibfoo.so.1 => not found',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f1a3c9eb000)',
    ].join('\n')
    expect(parseLdd(output)).toEqual([
      {name: 'libstdc++.so.6', path: '/lib/x86_64-linux-gnu/libstdc++.so.6'},
      {name: 'libfoo.so.1', path: null},
      {name: 'ld-linux-x86-64.so.2', path: '/lib64/ld-linux-x86-64.so.2'},
    ])
  })

  it('compares glibc versions numerically and says what was found and what is needed', () => {
    expect(compareVersions('2.36', '2.28')).toBe(1)
    expect(compareVersions('2.9', '2.28')).toBe(-1)
    expect(compareVersions('2.28', '2.28.0')).toBe(0)
    const error = new GlibcVersionError('glibc 2.17')
    expect(error.message).toBe("--base host needs glibc 2.28 or newer (onnxruntime-node's binaries are built against it); this machine has glibc 2.17")
    expect(error).toMatchObject({code: 'SAI_GLIBC_TOO_OLD', found: 'glibc 2.17', required: '2.28'})
  })
})

describe('hostBase on this machine', () => {
  let base: HostBase
  let entries: Map<string, LayerEntry>
  beforeAll(async () => {
    base = await hostBase()
    entries = new Map(base.layer.entries.map((entry) => [entry.path, entry]))
    console.log(`host base: ${(base.bytes / 1e6).toFixed(1)} MB, node ${base.node.version}, glibc ${base.glibc}, ${base.architecture}, ${base.libraries.length} libraries`)
  })

  it('reports the architecture in Lambda and OCI terms and the C library', () => {
    expect(base.architecture).toBe(process.arch === 'arm64' ? 'arm64' : 'x86_64')
    expect(base.ociArchitecture).toBe(process.arch === 'arm64' ? 'arm64' : 'amd64')
    expect(compareVersions(base.glibc, '2.28')).toBeGreaterThanOrEqual(0)
    expect(base.node.version).toBe(process.version)
  })

  it('holds node and every library ldd lists for node and for onnxruntime\'s binding', () => {
    expect(entries.get(NODE_IMAGE_PATH)).toMatchObject({type: 'file', mode: 0o755})
    const listed = [process.execPath, BINDING].flatMap((file) => parseLdd(execFileSync('ldd', [file]).toString()))
    const expected = listed.filter((library) => !library.path!.includes('/onnxruntime-node/'))
    expect(expected.map((library) => library.name)).toEqual(expect.arrayContaining(['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libm.so.6']))
    for (const library of expected) {
      expect(resolveInLayer(entries, library.path!), `${library.path} in the layer`).toMatchObject({type: 'file'})
    }
  })

  it('has /tmp for everyone, the CA bundle, a non-root user and an entrypoint that starts sai', () => {
    expect(entries.get('/tmp')).toMatchObject({type: 'directory', mode: 0o1777})
    expect(entries.get('/etc/ssl/certs/ca-certificates.crt')).toMatchObject({type: 'file'})
    expect(base.config).toMatchObject({WorkingDir: '/var/task', Entrypoint: ['/var/lang/bin/node', '/var/runtime/sai/bootstrap.js'], User: '993:990'})
    expect(base.config.Env).toEqual(expect.arrayContaining(['TZ=:UTC', 'LAMBDA_TASK_ROOT=/var/task']))
    expect(Buffer.byteLength(base.config.Env.join(''))).toBeLessThan(4096)
  })

  describe('in a root made only of its layers (chroot, as the Lambda user)', () => {
    let root: string
    let env: Record<string, string>
    beforeAll(async () => {
      const spec = loadSpec(path.join(PROJECT, 'fixtures/ocr-cls/sai.yaml'))
      const dependencies = await pruneDependencies({...spec, architecture: base.architecture})
      root = mkdtempSync(path.join(os.tmpdir(), 'sai-host-root-'))
      created.push(root)
      chmodSync(root, 0o755)
      extractLayerSpec(base.layer, root)
      extractLayerSpec(dependencies.layer, root)
      copyFileSync(spec.modelPath!, path.join(root, 'var/task/model.onnx'))
      copyFileSync(path.join(spec.dir, 'handler.mjs'), path.join(root, 'var/task/handler.mjs'))
      // sai's runtime, bundled as scripts/bundle-runtime.js does, where the entrypoint expects it.
      await build({entryPoints: [path.join(PROJECT, 'src/runtime/bootstrap.ts')], outfile: path.join(root, SAI_RUNTIME_IMAGE_PATH), bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['onnxruntime-node'], logLevel: 'warning'})
      env = Object.fromEntries(base.config.Env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))
    })

    /**
     * A private mount and pid namespace gives the root its own /proc (onnxruntime reads /proc/cpuinfo),
     * as Docker and Lambda do; chroot starts in /, so a probe applies the WorkingDir itself.
     */
    function inRoot(argv: string[], extraEnv: Record<string, string> = {}) {
      const script = `mount -t proc proc "$1/proc" && shift && exec chroot --userspec=${LAMBDA_USER.uid}:${LAMBDA_USER.gid} "$@"`
      return spawn('unshare', ['--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', script, 'sh', root, root, ...argv], {env: {...env, ...extraEnv, PATH: `${env.PATH}:/usr/sbin:/sbin`}, detached: true})
    }

    it('loads onnxruntime from the runtime directory, writes /tmp, resolves localhost, runs as sbx_user1051 in UTC', async () => {
      writeFileSync(path.join(root, 'var/runtime/sai/probe.mjs'), `
        import os from 'node:os'
        import {lookup} from 'node:dns/promises'
        import {writeFileSync} from 'node:fs'
        const ort = (await import('onnxruntime-node')).default
        const session = await ort.InferenceSession.create('/var/task/model.onnx')
        const input = new ort.Tensor('float32', new Float32Array(3 * 48 * 192), [1, 3, 48, 192])
        const outputs = await session.run({[session.inputNames[0]]: input})
        writeFileSync('/tmp/written', 'ok')
        process.chdir('/var/task')
        console.log(JSON.stringify({
          dims: Object.values(outputs)[0].dims,
          user: os.userInfo().username,
          uid: process.getuid(),
          timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          localhost: (await lookup('localhost', {family: 4})).address,
          cwd: process.cwd(),
        }))
      `)
      const child = inRoot([NODE_IMAGE_PATH, '/var/runtime/sai/probe.mjs'])
      const [stdout, stderr] = await Promise.all([text(child.stdout), text(child.stderr), once(child, 'exit')])
      expect(stderr).toBe('')
      expect(JSON.parse(stdout)).toEqual({dims: [1, 2], user: 'sbx_user1051', uid: 993, timeZone: 'UTC', localhost: '127.0.0.1', cwd: '/var/task'})
    })

    it("answers an invocation through the image's entrypoint (sai's runtime, the model and the custom handler)", async () => {
      const event = readFileSync(path.join(PROJECT, 'fixtures/ocr-cls/events/sample.json'))
      const {port, answered, close} = await serveOneInvocation(event)
      const child = inRoot(base.config.Entrypoint, {AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`, SAI_MODEL: 'model.onnx', _HANDLER: 'handler.handler', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024'})
      const stderr = text(child.stderr)
      try {
        const result = JSON.parse(await answered) as {label: string; scores: number[]}
        expect(['0', '180']).toContain(result.label)
        expect(result.scores).toHaveLength(2)
      } finally {
        process.kill(-child.pid!, 'SIGKILL')
        close()
      }
      expect(await stderr).toBe('')
    })
  })
})
