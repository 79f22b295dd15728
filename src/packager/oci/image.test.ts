import {createReadStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type BaseImage, buildImage, canonicalJson, type ImageConfig, ImageFormatError, sha256} from './image.js'
import {buildLayer, type BuiltLayer} from './layer.js'
import {MEDIA_TYPES} from './types.js'
import {buffer} from 'node:stream/consumers'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-image-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function ownLayers(tmpDir: string): Promise<BuiltLayer[]> {
  const text = (path: string, content: string) => ({path, type: 'file' as const, mode: 0o644, source: {bytes: Buffer.from(content)}})
  return [
    await buildLayer({name: 'model', entries: [text('/var/task/model/model.onnx', 'onnx bytes')]}, {tmpDir}),
    await buildLayer({name: 'function', entries: [text('/var/task/handler.mjs', 'export const handler = () => 1')]}, {tmpDir}),
  ]
}

/** A base shaped like public.ecr.aws/lambda/nodejs: its config JSON is not canonical, as registries serve it. */
async function baseImage(docker: boolean): Promise<BaseImage> {
  const layer = await buildLayer({name: 'base', entries: [{path: '/lambda-entrypoint.sh', type: 'file', mode: 0o755, source: {bytes: Buffer.from('#!/bin/sh\n')}}]}, {tmpDir: dir})
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: {Env: ['PATH=/usr/bin:/bin', 'LAMBDA_TASK_ROOT=/var/task'], Entrypoint: ['/lambda-entrypoint.sh'], Cmd: ['index.handler'], WorkingDir: '/var/task'},
    rootfs: {type: 'layers', diff_ids: [layer.diffId]},
    history: [{created: '2025-01-01T00:00:00Z', created_by: 'base layer'}],
  }
  const configBytes = Buffer.from(JSON.stringify(config, null, 2))
  return {
    manifest: {
      schemaVersion: 2,
      mediaType: docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest,
      config: {mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, digest: sha256(configBytes), size: configBytes.length},
      layers: [{...layer.descriptor, mediaType: docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip}],
    },
    config,
    blobs: {open: ({digest}) => (digest === layer.descriptor.digest ? createReadStream(layer.file) : Readable.from([Buffer.from('wrong')]))},
    name: 'public.ecr.aws/lambda/nodejs:22',
    digest: `sha256:${'b'.repeat(64)}`,
  }
}


describe('buildImage', () => {
  it('gives the same manifest digest for two builds of the same inputs', async () => {
    const build = async (tmpDir: string) =>
      buildImage({architecture: 'x86_64', layers: await ownLayers(tmpDir), config: {entrypoint: ['/var/runtime/bootstrap'], env: {A: '1'}}, sourceDateEpoch: 1700000000})
    const [first, second] = [await build(await mkdtemp(join(dir, 'a-'))), await build(await mkdtemp(join(dir, 'b-')))]
    expect(first.manifest.descriptor.digest).toBe(second.manifest.descriptor.digest)
    expect(first.config.bytes.equals(second.config.bytes)).toBe(true)
  })

  it('builds an OCI image of its own layers when there is no base', async () => {
    const layers = await ownLayers(dir)
    const image = buildImage({architecture: 'arm64', layers, config: {entrypoint: ['/var/runtime/bootstrap'], cmd: ['handler'], workingDir: '/var/task', env: {NODE_ENV: 'production'}}, sourceDateEpoch: 86400})
    expect(image.manifest.json.mediaType).toBe(MEDIA_TYPES.ociManifest)
    expect(image.manifest.json.layers.map((layer) => layer.mediaType)).toEqual([MEDIA_TYPES.ociLayerGzip, MEDIA_TYPES.ociLayerGzip])
    expect(image.config.json).toEqual({
      created: '1970-01-02T00:00:00Z',
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
      config: {Env: ['NODE_ENV=production'], Entrypoint: ['/var/runtime/bootstrap'], Cmd: ['handler'], WorkingDir: '/var/task'},
      rootfs: {type: 'layers', diff_ids: layers.map((layer) => layer.diffId)},
      history: [
        {created: '1970-01-02T00:00:00Z', created_by: 'sai package: model layer'},
        {created: '1970-01-02T00:00:00Z', created_by: 'sai package: function layer'},
      ],
    })
    expect(image.config.bytes.equals(canonicalJson(JSON.parse(image.config.bytes.toString())))).toBe(true)
    expect(image.config.bytes.toString()).toMatch(/^\{"architecture":"arm64","config":\{"Cmd"/)
    expect(image.manifest.descriptor).toEqual({mediaType: MEDIA_TYPES.ociManifest, digest: sha256(image.manifest.bytes), size: image.manifest.bytes.length})
    expect(image.manifest.json.config).toEqual(image.config.descriptor)
    expect((await buffer(await image.layers[1]!.open())).equals(await buffer(createReadStream(layers[1]!.file)))).toBe(true)
  })

  it('on a Docker base: keeps its layers and config, merges ours, and uses Docker media types throughout', async () => {
    const base = await baseImage(true)
    const layers = await ownLayers(dir)
    const image = buildImage({architecture: 'x86_64', base, layers, config: {env: {LAMBDA_TASK_ROOT: '/opt/task', MODEL: 'model.onnx'}, cmd: ['handler.handler']}, annotations: {ignored: 'yes'}})
    expect(image.manifest.json.mediaType).toBe(MEDIA_TYPES.dockerManifest)
    expect(image.manifest.json.config.mediaType).toBe(MEDIA_TYPES.dockerConfig)
    expect(image.manifest.json.layers[0]).toEqual(base.manifest.layers[0])
    expect(image.manifest.json.layers.map((layer) => layer.mediaType)).toEqual(Array(3).fill(MEDIA_TYPES.dockerLayerGzip))
    expect(image.manifest.json.annotations).toBeUndefined()
    expect(image.config.json.config).toEqual({
      Env: ['PATH=/usr/bin:/bin', 'LAMBDA_TASK_ROOT=/opt/task', 'MODEL=model.onnx'],
      Entrypoint: ['/lambda-entrypoint.sh'],
      Cmd: ['handler.handler'],
      WorkingDir: '/var/task',
    })
    expect(image.config.json.rootfs.diff_ids).toEqual([...base.config.rootfs.diff_ids, ...layers.map((layer) => layer.diffId)])
    expect(image.config.json.history?.map((entry) => entry.created_by)).toEqual(['base layer', 'sai package: model layer', 'sai package: function layer'])
    expect(image.layers.map((layer) => layer.origin)).toEqual(['base', 'built', 'built'])
    expect((await buffer(await image.layers[0]!.open())).length).toBe(base.manifest.layers[0]!.size)
  })

  it('on an OCI base: OCI types, base annotations, and a new entrypoint clears the base cmd', async () => {
    const base = await baseImage(false)
    const image = buildImage({architecture: 'x86_64', base, layers: await ownLayers(dir), config: {entrypoint: ['/var/runtime/bootstrap']}, annotations: {'org.opencontainers.image.version': '1'}})
    expect(image.manifest.json.mediaType).toBe(MEDIA_TYPES.ociManifest)
    expect(image.manifest.json.annotations).toEqual({
      'org.opencontainers.image.base.name': 'public.ecr.aws/lambda/nodejs:22',
      'org.opencontainers.image.base.digest': base.digest,
      'org.opencontainers.image.version': '1',
    })
    expect(image.config.json.config?.Entrypoint).toEqual(['/var/runtime/bootstrap'])
    expect(image.config.json.config?.Cmd).toBeUndefined()
  })

  it('keeps the base architecture, so a wrong-architecture base is caught by the Lambda rules rather than relabelled', async () => {
    const base = await baseImage(false)
    const image = buildImage({architecture: 'arm64', base, layers: []})
    expect(image.config.json.architecture).toBe('amd64')
  })

  it('rejects an index as a base, a base whose config disagrees with its manifest, and base blobs that do not match', async () => {
    const base = await baseImage(true)
    expect(() => buildImage({architecture: 'x86_64', layers: [], base: {...base, manifest: {...base.manifest, mediaType: MEDIA_TYPES.dockerManifestList}}})).toThrow(/index/)
    expect(() => buildImage({architecture: 'x86_64', layers: [], base: {...base, config: {...base.config, rootfs: {type: 'layers', diff_ids: []}}}})).toThrow(ImageFormatError)
    const tampered = buildImage({architecture: 'x86_64', layers: [], base: {...base, blobs: {open: () => Readable.from([Buffer.from('not the layer')])}}})
    await expect(buffer(await tampered.layers[0]!.open())).rejects.toThrow(/has 13 bytes/)
  })
})
