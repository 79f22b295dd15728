import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {gunzipSync, gzipSync} from 'node:zlib'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {readDockerArchive, writeDockerArchive} from './docker-archive.js'
import {buildImage, canonicalJson, type Image, sha256} from './image.js'
import {checkLambdaRules} from './lambda-rules.js'
import {buildLayer} from './layer.js'
import {readImage} from './layout.js'
import {readTar, tarChunks} from './tar.js'
import {MEDIA_TYPES, type LayerEntry} from './types.js'
import {buffer} from 'node:stream/consumers'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-archive-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})


async function tarBytes(entries: LayerEntry[]): Promise<Buffer> {
  return buffer(Readable.from(tarChunks(entries, {mtime: 0})))
}

const text = (path: string, content: string | Buffer): LayerEntry => ({path, type: 'file', mode: 0o644, source: {bytes: Buffer.from(content)}})

async function sampleImage(): Promise<Image> {
  const tmpDir = await mkdtemp(join(dir, 'layers-'))
  const layers = [
    await buildLayer({name: 'model', entries: [text('/var/task/model.onnx', Buffer.alloc(200_000, 9))]}, {tmpDir}),
    await buildLayer({name: 'function', entries: [text('/var/task/handler.mjs', 'export const handler = () => 1\n')]}, {tmpDir}),
  ]
  return buildImage({architecture: 'x86_64', layers, config: {entrypoint: ['/var/runtime/bootstrap'], workingDir: '/var/task'}})
}

describe('docker-archive', () => {
  it('writes what docker load reads: manifest.json whose gzipped layers decompress to the config diff_ids', async () => {
    const image = await sampleImage()
    const archive = join(dir, 'image.tar')
    await writeDockerArchive(image, archive, {repoTags: ['my-fn']})
    const out = join(dir, 'extracted')
    await mkdir(out)
    execFileSync('tar', ['-xf', archive, '-C', out])
    const [entry, ...others] = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
    expect(others).toEqual([])
    expect(entry.RepoTags).toEqual(['my-fn:latest'])
    const config = JSON.parse(await readFile(join(out, entry.Config), 'utf8'))
    expect(sha256(await readFile(join(out, entry.Config)))).toBe(image.config.descriptor.digest)
    expect(entry.Layers).toHaveLength(config.rootfs.diff_ids.length)
    for (const [position, layerPath] of (entry.Layers as string[]).entries()) {
      expect(sha256(gunzipSync(await readFile(join(out, layerPath))))).toBe(config.rootfs.diff_ids[position])
    }
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'))
    expect(index.manifests[0].annotations).toEqual({'io.containerd.image.name': 'docker.io/library/my-fn:latest', 'org.opencontainers.image.ref.name': 'latest'})
    expect(await readFile(join(out, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}')
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/partial/)]))
  })

  it('is byte-identical when written twice', async () => {
    const image = await sampleImage()
    await writeDockerArchive(image, join(dir, 'a.tar'), {repoTags: ['fn:1']})
    await writeDockerArchive(image, join(dir, 'b.tar'), {repoTags: ['fn:1']})
    expect((await readFile(join(dir, 'a.tar'))).equals(await readFile(join(dir, 'b.tar')))).toBe(true)
  })

  it('round-trips through readImage, plain and gzipped', async () => {
    const image = await sampleImage()
    const archive = join(dir, 'image.tar')
    await writeDockerArchive(image, archive, {repoTags: ['fn:1']})
    await writeFile(join(dir, 'image.tar.gz'), gzipSync(await readFile(archive)))
    for (const path of [archive, join(dir, 'image.tar.gz')]) {
      const back = await readImage(path, {ref: 'fn:1'})
      expect(back.manifest.bytes.equals(image.manifest.bytes)).toBe(true)
      expect(back.config.bytes.equals(image.config.bytes)).toBe(true)
      for (const [position, layer] of back.layers.entries()) {
        expect((await buffer(await layer.open())).equals(await readFile(image.layers[position]!.file!))).toBe(true)
      }
    }
  })

  it('reads a legacy docker save archive (manifest.json only, uncompressed layer.tar), which Lambda would reject', async () => {
    const layerTar = await tarBytes([text('/var/task/app.js', 'console.log(1)\n')])
    const config = {architecture: 'amd64', os: 'linux', config: {Entrypoint: ['/usr/bin/node'], Cmd: ['/var/task/app.js']}, rootfs: {type: 'layers', diff_ids: [sha256(layerTar)]}}
    const configBytes = canonicalJson(config)
    const archive = join(dir, 'legacy.tar')
    await writeFile(
      archive,
      await tarBytes([
        text('/manifest.json', JSON.stringify([{Config: 'abc123.json', RepoTags: ['old:1'], Layers: ['0f0f/layer.tar']}])),
        text('/abc123.json', configBytes),
        text('/0f0f/layer.tar', layerTar),
        text('/0f0f/VERSION', '1.0'),
      ]),
    )
    const image = await readDockerArchive(archive, {ref: 'old:1'})
    expect(image.manifest.json.mediaType).toBe(MEDIA_TYPES.dockerManifest)
    expect(image.layers[0]!.descriptor).toEqual({mediaType: MEDIA_TYPES.dockerLayer, digest: sha256(layerTar), size: layerTar.length})
    expect(image.config.descriptor.digest).toBe(sha256(configBytes))
    const names: string[] = []
    for await (const entry of readTar(await image.layers[0]!.open())) names.push(entry.path)
    expect(names).toEqual(['var/', 'var/task/', 'var/task/app.js'])
    const violations = await checkLambdaRules(image, {architecture: 'x86_64'})
    expect(violations.map((violation) => violation.rule)).toEqual(['compressed-layers'])
    await expect(readDockerArchive(archive, {ref: 'new:2'})).rejects.toThrow(/no image tagged new:2 .*old:1/)
  })

  it('leaves no partial file when a layer cannot be read', async () => {
    const image = await sampleImage()
    const broken: Image = {...image, layers: image.layers.map((layer) => ({...layer, open: async () => Readable.from([Buffer.from('short')])}))}
    await expect(writeDockerArchive(broken, join(dir, 'image.tar'))).rejects.toThrow(/ended after 5/)
    expect((await readdir(dir)).filter((name) => name !== 'layers-' && !name.startsWith('layers-'))).toEqual([])
  })
})
