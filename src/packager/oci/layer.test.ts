import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {createReadStream} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {buildLayer, sourceDateEpochFromEnv} from './layer.js'
import {readTar, TarInputError} from './tar.js'
import {MEDIA_TYPES, type LayerSpec} from './types.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-layer-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

async function functionSpec(): Promise<LayerSpec> {
  const model = join(dir, 'model.onnx')
  await writeFile(model, Buffer.alloc(2_500_000, 3))
  return {
    name: 'function',
    entries: [
      {path: '/var/task/handler.mjs', type: 'file', mode: 0o644, source: {bytes: Buffer.from('export const handler = async () => 1\n')}},
      {path: '/var/task/model/model.onnx', type: 'file', mode: 0o644, source: {file: model}},
      {path: '/var/task/node_modules/.bin/tool', type: 'symlink', mode: 0o777, linkTarget: '../tool/cli.js'},
    ],
  }
}

describe('buildLayer', () => {
  it('gives byte-identical blobs when built twice, in different places', async () => {
    const spec = await functionSpec()
    const first = await buildLayer(spec, {tmpDir: await mkdtemp(join(dir, 'a-')), sourceDateEpoch: 1700000000})
    const second = await buildLayer(spec, {tmpDir: await mkdtemp(join(dir, 'b-')), sourceDateEpoch: 1700000000})
    const [a, b] = [await readFile(first.file), await readFile(second.file)]
    expect(a.equals(b)).toBe(true)
    expect(first.descriptor).toEqual(second.descriptor)
    expect(first.diffId).toBe(second.diffId)
  })

  it('describes the blob it wrote: digest, size, diff_id, uncompressed size, entries', async () => {
    const layer = await buildLayer(await functionSpec(), {tmpDir: dir, mediaType: MEDIA_TYPES.dockerLayerGzip})
    const blob = await readFile(layer.file)
    const tar = gunzipSync(blob)
    expect(layer.descriptor).toEqual({mediaType: MEDIA_TYPES.dockerLayerGzip, digest: sha256(blob), size: blob.length})
    expect(layer.diffId).toBe(sha256(tar))
    expect(layer.uncompressedSize).toBe(tar.length)
    expect(layer.file).toBe(join(dir, `${layer.descriptor.digest.replace(':', '-')}.tar.gz`))
    expect(layer.paths).toEqual([
      'var/',
      'var/task/',
      'var/task/handler.mjs',
      'var/task/model/',
      'var/task/model/model.onnx',
      'var/task/node_modules/',
      'var/task/node_modules/.bin/',
      'var/task/node_modules/.bin/tool',
    ])
    expect(layer.entries).toBe(8)
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/partial/)]))
  })

  it('writes a fixed gzip header: no name, mtime 0, OS "unknown"', async () => {
    const layer = await buildLayer(await functionSpec(), {tmpDir: dir})
    const header = (await readFile(layer.file)).subarray(0, 10)
    expect([...header]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
  })

  it('has an entry for every parent directory, stamped with SOURCE_DATE_EPOCH and owned by 0:0', async () => {
    const layer = await buildLayer(await functionSpec(), {tmpDir: dir, sourceDateEpoch: 86400})
    const seen: Array<[string, string, number, number, number]> = []
    for await (const entry of readTar(createReadStream(layer.file))) seen.push([entry.path, entry.type, entry.mtime, entry.uid, entry.gid])
    expect(seen.map(([path]) => path)).toEqual(layer.paths)
    expect(seen.every(([, , mtime, uid, gid]) => mtime === 86400 && uid === 0 && gid === 0)).toBe(true)
    const listing = execFileSync('tar', ['-tzf', layer.file], {encoding: 'utf8'})
    expect(listing.trim().split('\n')).toEqual(layer.paths)
  })

  it('leaves no partial blob when an input cannot be read', async () => {
    const spec: LayerSpec = {name: 'broken', entries: [{path: '/var/task/gone', type: 'file', mode: 0o644, source: {file: join(dir, 'missing')}}]}
    await expect(buildLayer(spec, {tmpDir: dir})).rejects.toThrow(/ENOENT/)
    expect(await readdir(dir)).toEqual([])
  })
})

describe('sourceDateEpochFromEnv', () => {
  it('defaults to 0 and accepts only whole seconds', () => {
    expect(sourceDateEpochFromEnv({})).toBe(0)
    expect(sourceDateEpochFromEnv({SOURCE_DATE_EPOCH: '1700000000'})).toBe(1700000000)
    expect(() => sourceDateEpochFromEnv({SOURCE_DATE_EPOCH: 'yesterday'})).toThrow(TarInputError)
  })
})
