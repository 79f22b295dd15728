import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {buildImage, canonicalJson, type Image, type ImageConfig, type ImageManifest, sha256} from './image.js'
import {checkLambdaRules, missingParents} from './lambda-rules.js'
import {buildLayer} from './layer.js'
import {plannedTarChunks} from './tar.js'
import {MEDIA_TYPES} from './types.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-rules-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

describe('checkLambdaRules', () => {
  it('finds nothing wrong with an image sai builds', async () => {
    const layer = await buildLayer({name: 'function', entries: [{path: '/var/task/handler.mjs', type: 'file', mode: 0o644, source: {bytes: Buffer.from('x')}}]}, {tmpDir: dir})
    const image = buildImage({architecture: 'arm64', layers: [layer], config: {entrypoint: ['/var/runtime/bootstrap'], workingDir: '/var/task', env: {A: 'b'}}})
    expect(await checkLambdaRules(image, {architecture: 'arm64'})).toEqual([])
  })

  it('reports every rule an image breaks, all together, each with what was found and the fix', async () => {
    // A layer as some tools write it: uncompressed, and a file without entries for /var and /var/task.
    const bareTar = await collect(plannedTarChunks([{name: 'var/task/handler.mjs', type: 'file', mode: 0o644, source: {bytes: Buffer.from('x')}}], {mtime: 0}))
    const bareDescriptor = {mediaType: MEDIA_TYPES.ociLayer, digest: sha256(bareTar), size: bareTar.length}
    const hugeDescriptor = {mediaType: MEDIA_TYPES.ociLayerGzip, digest: `sha256:${'c'.repeat(64)}`, size: 5 * 1024 ** 3}
    const config: ImageConfig = {
      architecture: 'arm64',
      os: 'linux',
      config: {Env: [`BIG=${'x'.repeat(5000)}`, 'SMALL=1'], Entrypoint: ['bootstrap'], WorkingDir: 'task'},
      rootfs: {type: 'layers', diff_ids: [sha256(bareTar), `sha256:${'d'.repeat(64)}`]},
    }
    const configBytes = canonicalJson(config)
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: {mediaType: MEDIA_TYPES.dockerConfig, digest: sha256(configBytes), size: configBytes.length},
      layers: [bareDescriptor, hugeDescriptor],
    }
    const manifestBytes = canonicalJson(manifest)
    const manifestDescriptor = {mediaType: MEDIA_TYPES.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length}
    const image: Image = {
      manifest: {json: manifest, bytes: manifestBytes, descriptor: manifestDescriptor},
      config: {json: config, bytes: configBytes, descriptor: manifest.config},
      layers: [
        {descriptor: bareDescriptor, diffId: sha256(bareTar), origin: 'read', open: async () => Readable.from([bareTar])},
        {descriptor: hugeDescriptor, diffId: `sha256:${'d'.repeat(64)}`, origin: 'base', uncompressedSize: 11 * 1024 ** 3, paths: ['opt/', 'opt/big'], open: async () => Readable.from([])},
      ],
      index: {
        descriptor: {mediaType: MEDIA_TYPES.ociIndex, digest: `sha256:${'e'.repeat(64)}`, size: 1},
        json: {
          schemaVersion: 2,
          manifests: [
            {...manifestDescriptor, platform: {architecture: 'arm64', os: 'linux'}},
            {mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${'f'.repeat(64)}`, size: 1, platform: {architecture: 'unknown', os: 'unknown'}, annotations: {'vnd.docker.reference.type': 'attestation-manifest'}},
          ],
        },
      },
    }

    const violations = await checkLambdaRules(image, {architecture: 'x86_64'})
    expect(violations.map((violation) => violation.rule)).toEqual([
      'single-manifest',
      'media-types',
      'compressed-layers',
      'parent-directories',
      'workdir',
      'entrypoint',
      'architecture',
      'image-size',
      'environment-size',
    ])
    const byRule = Object.fromEntries(violations.map((violation) => [violation.rule, violation]))
    expect(byRule['single-manifest']!.found).toMatch(/2 manifests, 1 of them attestation/)
    expect(byRule['media-types']!.found).toMatch(/config is application\/vnd\.docker\.container\.image\.v1\+json/)
    expect(byRule['compressed-layers']!.layer).toMatch(/^1 \(sha256:/)
    expect(byRule['parent-directories']!.found).toMatch(/2 parent directories: \/var, \/var\/task/)
    expect(byRule['workdir']!.found).toMatch(/"task"/)
    expect(byRule['entrypoint']!.found).toMatch(/"bootstrap"/)
    expect(byRule['architecture']!.found).toBe('the image is linux/arm64, the function is x86_64 (linux/amd64)')
    expect(byRule['image-size']!.found).toMatch(/11\.00 GiB uncompressed, over Lambda's 10\.00 GiB/)
    expect(byRule['environment-size']!.found).toMatch(/^5011 bytes .*\(largest: BIG, 5004 bytes\)/)
    for (const violation of violations) expect(violation.fix.length).toBeGreaterThan(20)
  })

  it('catches a layer typed gzip whose bytes are not, and leaves base layers unread unless asked', async () => {
    const tar = await collect(plannedTarChunks([{name: 'a/', type: 'directory', mode: 0o755}], {mtime: 0}))
    const layer = buildImage({architecture: 'x86_64', layers: [], config: {entrypoint: ['/bin/sh']}})
    const descriptor = {mediaType: MEDIA_TYPES.ociLayerGzip, digest: sha256(tar), size: tar.length}
    let opened = 0
    const image: Image = {...layer, layers: [{descriptor, diffId: sha256(tar), origin: 'base', open: async () => (opened++, Readable.from([tar]))}]}
    expect(await checkLambdaRules(image, {architecture: 'x86_64'})).toEqual([])
    expect(opened).toBe(0)
    const violations = await checkLambdaRules(image, {architecture: 'x86_64', scanLayers: 'all'})
    expect(violations.map((violation) => violation.found)).toEqual([`typed ${MEDIA_TYPES.ociLayerGzip} but its bytes are an uncompressed tar`])
  })
})

describe('missingParents', () => {
  it('ignores "./" prefixes and the root, and counts as a directory only a path ending in "/"', () => {
    expect(missingParents(['./', './usr/', './usr/bin/', './usr/bin/node'])).toEqual([])
    expect(missingParents(['usr/bin/node', 'usr/'])).toEqual(['usr/bin'])
  })
})
