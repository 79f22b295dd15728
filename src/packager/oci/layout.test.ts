import {createReadStream} from 'node:fs'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type BaseImage, buildImage, canonicalJson, type Image, ImageFormatError, sha256} from './image.js'
import {buildLayer} from './layer.js'
import {OutputExistsError, readImage, writeOciLayout} from './layout.js'
import {readTar} from './tar.js'
import {MEDIA_TYPES} from './types.js'
import {buffer} from 'node:stream/consumers'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-layout-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})


async function sampleImage(options: {brokenBase?: boolean} = {}): Promise<Image> {
  const tmpDir = await mkdtemp(join(dir, 'layers-'))
  const baseLayer = await buildLayer({name: 'base', entries: [{path: '/lambda-entrypoint.sh', type: 'file', mode: 0o755, source: {bytes: Buffer.from('#!/bin/sh\n')}}]}, {tmpDir})
  const baseConfig = {architecture: 'amd64', os: 'linux', config: {Entrypoint: ['/lambda-entrypoint.sh'], WorkingDir: '/var/task'}, rootfs: {type: 'layers' as const, diff_ids: [baseLayer.diffId]}}
  const baseConfigBytes = canonicalJson(baseConfig)
  const base: BaseImage = {
    manifest: {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: {mediaType: MEDIA_TYPES.dockerConfig, digest: sha256(baseConfigBytes), size: baseConfigBytes.length},
      layers: [{...baseLayer.descriptor, mediaType: MEDIA_TYPES.dockerLayerGzip}],
    },
    config: baseConfig,
    // A registry client streams base blobs; the writers must verify them.
    blobs: {open: async () => (options.brokenBase ? Readable.from([Buffer.from('corrupt')]) : createReadStream(baseLayer.file))},
  }
  const model = join(tmpDir, 'model.onnx')
  await writeFile(model, Buffer.alloc(300_000, 5))
  const layers = [
    await buildLayer({name: 'model', entries: [{path: '/var/task/model.onnx', type: 'file', mode: 0o644, source: {file: model}}]}, {tmpDir}),
    await buildLayer({name: 'function', entries: [{path: '/var/task/handler.mjs', type: 'file', mode: 0o644, source: {bytes: Buffer.from('export const handler = () => 1\n')}}]}, {tmpDir}),
  ]
  return buildImage({architecture: 'x86_64', base, layers, config: {cmd: ['handler.handler']}})
}

describe('OCI image layout', () => {
  it('writes oci-layout, index.json with the ref name, and every blob under its digest', async () => {
    const image = await sampleImage()
    const out = join(dir, 'image')
    await writeOciLayout(image, out, {refName: 'my-fn:1'})
    expect(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8'))).toEqual({imageLayoutVersion: '1.0.0'})
    expect(JSON.parse(await readFile(join(out, 'index.json'), 'utf8'))).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [{...image.manifest.descriptor, annotations: {'org.opencontainers.image.ref.name': 'my-fn:1'}}],
    })
    const blobs = await readdir(join(out, 'blobs', 'sha256'))
    const expected = [image.manifest.descriptor, image.config.descriptor, ...image.layers.map((layer) => layer.descriptor)]
    expect(blobs.sort()).toEqual(expected.map((descriptor) => descriptor.digest.slice(7)).sort())
    for (const descriptor of expected) expect(sha256(await readFile(join(out, 'blobs', 'sha256', descriptor.digest.slice(7))))).toBe(descriptor.digest)
    expect((await readdir(dir)).filter((name) => name.includes('partial') || name.includes('previous'))).toEqual([])
  })

  it('round-trips through readImage: same manifest, config and layer bytes', async () => {
    const image = await sampleImage()
    const out = join(dir, 'image')
    await writeOciLayout(image, out)
    const back = await readImage(out)
    expect(back.manifest.descriptor).toEqual(image.manifest.descriptor)
    expect(back.manifest.bytes.equals(image.manifest.bytes)).toBe(true)
    expect(back.config.json).toEqual(image.config.json)
    expect(back.layers.map((layer) => [layer.descriptor, layer.diffId])).toEqual(image.layers.map((layer) => [layer.descriptor, layer.diffId]))
    const names: string[] = []
    for await (const entry of readTar(await back.layers[2]!.open())) names.push(entry.path)
    expect(names).toEqual(['var/', 'var/task/', 'var/task/handler.mjs'])
    expect(back.index).toBeUndefined()
  })

  it('replaces a previous layout, and refuses to replace a directory that is not one', async () => {
    const out = join(dir, 'image')
    await writeOciLayout(await sampleImage(), out)
    const image = await sampleImage()
    await writeOciLayout(image, out, {refName: 'again'})
    expect((await readImage(out, {ref: 'again'})).manifest.descriptor.digest).toBe(image.manifest.descriptor.digest)
    const precious = join(dir, 'precious')
    await mkdir(precious)
    await writeFile(join(precious, 'notes.txt'), 'keep me')
    await expect(writeOciLayout(image, precious)).rejects.toThrow(OutputExistsError)
    expect(await readFile(join(precious, 'notes.txt'), 'utf8')).toBe('keep me')
  })

  it('leaves nothing behind when a base blob does not match its digest', async () => {
    const image = await sampleImage({brokenBase: true})
    const before = await readdir(dir)
    await expect(writeOciLayout(image, join(dir, 'image'))).rejects.toThrow(ImageFormatError)
    expect(await readdir(dir)).toEqual(before)
  })

  it('reads one platform out of an index with attestations, and says the reference was an index', async () => {
    const image = await sampleImage()
    const out = join(dir, 'image')
    await writeOciLayout(image, out)
    const nested = canonicalJson({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {...image.manifest.descriptor, platform: {architecture: 'amd64', os: 'linux'}},
        {mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${'a'.repeat(64)}`, size: 1, platform: {architecture: 'unknown', os: 'unknown'}, annotations: {'vnd.docker.reference.type': 'attestation-manifest'}},
      ],
    })
    await writeFile(join(out, 'blobs', 'sha256', sha256(nested).slice(7)), nested)
    await writeFile(join(out, 'index.json'), canonicalJson({schemaVersion: 2, manifests: [{mediaType: MEDIA_TYPES.ociIndex, digest: sha256(nested), size: nested.length}]}))
    const back = await readImage(out, {architecture: 'x86_64'})
    expect(back.manifest.descriptor.digest).toBe(image.manifest.descriptor.digest)
    expect(back.index?.json.manifests).toHaveLength(2)
    await expect(readImage(out, {architecture: 'arm64'})).rejects.toThrow(/no arm64 manifest/)
  })

  it('says clearly what is wrong with something that is not an image', async () => {
    await expect(readImage(join(dir, 'nothing'))).rejects.toThrow(ImageFormatError)
    await writeFile(join(dir, 'notes.txt'), 'just some text, long enough to fill a tar header block? no.'.repeat(20))
    await expect(readImage(join(dir, 'notes.txt'))).rejects.toThrow(/neither an OCI image layout directory nor a docker-archive/)
    await mkdir(join(dir, 'empty'))
    await expect(readImage(join(dir, 'empty'))).rejects.toThrow(/no oci-layout/)
    const image = await sampleImage()
    const out = join(dir, 'image')
    await writeOciLayout(image, out)
    await writeFile(join(out, 'blobs', 'sha256', image.config.descriptor.digest.slice(7)), '{}')
    await expect(readImage(out)).rejects.toThrow(/does not match its descriptor/)
  })
})
