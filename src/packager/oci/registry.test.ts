/**
 * The registry client against a real registry: Debian's docker-registry (distribution 2.8), started
 * by these tests. Basic auth is the registry's own (htpasswd). Its bearer-token auth needs signed
 * JWTs and certificates, so the bearer flow runs through a small proxy in front of it that answers
 * 401 with a Bearer challenge and checks each token's scopes, and a token server that issues them.
 */
import {randomBytes, createHash} from 'node:crypto'
import {createReadStream, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {GetAuthorizationTokenCommand} from '@aws-sdk/client-ecr'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, startRegistry, type LocalRegistry} from '../../../test/registry-helper.js'
import {
  ecrCredentials,
  formatReference,
  InvalidReferenceError,
  parseEcrHost,
  parseReference,
  RegistryClient,
  RegistryError,
  sha256Digest,
  type BlobToPush,
  type PushProgress,
  type RegistryClientOptions,
} from './registry.js'
import {MEDIA_TYPES, type Descriptor} from './types.js'

const HEX64 = 'a'.repeat(64)

describe('parseReference', () => {
  it('splits host[:port]/repository[:tag][@digest], defaulting to tag latest', () => {
    expect(parseReference('127.0.0.1:5000/sai/fn:v1')).toEqual({registry: '127.0.0.1:5000', repository: 'sai/fn', tag: 'v1'})
    expect(parseReference('localhost/fn')).toEqual({registry: 'localhost', repository: 'fn', tag: 'latest'})
    expect(parseReference(`public.ecr.aws/lambda/nodejs@sha256:${HEX64}`)).toEqual({registry: 'public.ecr.aws', repository: 'lambda/nodejs', digest: `sha256:${HEX64}`})
    expect(parseReference(`ghcr.io/a/b/c:1.0@sha256:${HEX64}`)).toEqual({registry: 'ghcr.io', repository: 'a/b/c', tag: '1.0', digest: `sha256:${HEX64}`})
    expect(parseReference('[::1]:5000/x:y')).toEqual({registry: '[::1]:5000', repository: 'x', tag: 'y'})
    expect(formatReference(parseReference(`ghcr.io/a/b:1@sha256:${HEX64}`))).toBe(`ghcr.io/a/b:1@sha256:${HEX64}`)
  })

  it('rejects Docker Hub shorthand with the full reference to write instead', () => {
    expect(() => parseReference('ubuntu:22.04')).toThrow(InvalidReferenceError)
    expect(() => parseReference('ubuntu:22.04')).toThrow(/Docker Hub shorthand is not supported.*docker\.io\/library\/ubuntu:22\.04/)
    expect(() => parseReference('bitnami/redis')).toThrow(/docker\.io\/bitnami\/redis:latest/)
  })

  it('rejects malformed parts, naming the part', () => {
    expect(() => parseReference('example.com/Upper/case')).toThrow(/"Upper\/case" is not a repository name/)
    expect(() => parseReference('example.com/fn@sha256:xyz')).toThrow(/"sha256:xyz" is not a digest/)
    expect(() => parseReference('example.com/fn:bad!tag')).toThrow(/not a valid tag/)
    expect(() => parseReference('exa_mple.com/fn')).toThrow(/not a host/)
  })

  it('uses plain HTTP for loopback hosts and when insecure, HTTPS otherwise', () => {
    expect(new RegistryClient('127.0.0.1:5000').baseUrl).toBe('http://127.0.0.1:5000')
    expect(new RegistryClient('localhost:5000').baseUrl).toBe('http://localhost:5000')
    expect(new RegistryClient('registry.example.com').baseUrl).toBe('https://registry.example.com')
    expect(new RegistryClient('registry.example.com:5000', {insecure: true}).baseUrl).toBe('http://registry.example.com:5000')
    expect(new RegistryClient('docker.io').baseUrl).toBe('https://registry-1.docker.io')
  })
})

describe('ECR', () => {
  it('recognizes ECR hosts and their region', () => {
    expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({accountId: '123456789012', region: 'eu-west-1'})
    expect(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toEqual({accountId: '123456789012', region: 'us-gov-west-1'})
    expect(parseEcrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toEqual({accountId: '123456789012', region: 'cn-north-1'})
    expect(parseEcrHost('public.ecr.aws')).toBeUndefined()
    expect(parseEcrHost('12345.dkr.ecr.eu-west-1.amazonaws.com')).toBeUndefined()
    expect(parseEcrHost('127.0.0.1:5000')).toBeUndefined()
  })

  it('decodes GetAuthorizationToken (base64 "AWS:<password>") into basic credentials', async () => {
    const sent: object[] = []
    const expiresAt = new Date(Date.now() + 12 * 3600_000)
    const client = {
      send: async (command: object) => {
        sent.push(command)
        return {authorizationData: [{authorizationToken: Buffer.from('AWS:pass:with:colons').toString('base64'), expiresAt}]}
      },
    }
    expect(await ecrCredentials('123456789012.dkr.ecr.eu-west-1.amazonaws.com', client)).toEqual({username: 'AWS', password: 'pass:with:colons', expiresAt})
    expect(sent).toHaveLength(1)
    expect(sent[0]).toBeInstanceOf(GetAuthorizationTokenCommand)
  })

  it('turns an AWS failure or an empty answer into a RegistryError', async () => {
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
    const failing = {send: async () => Promise.reject(new Error('Could not load credentials from any providers'))}
    await expect(ecrCredentials(host, failing)).rejects.toMatchObject({category: 'unauthorized', message: expect.stringMatching(/ECR \(eu-west-1\).*Could not load credentials/)})
    await expect(ecrCredentials(host, {send: async () => ({authorizationData: []})})).rejects.toMatchObject({category: 'invalid'})
  })
})

// ───────────────────────────── against a real registry ─────────────────────────────

interface TestBlob extends BlobToPush {
  bytes: Buffer
  descriptor: Descriptor
}

function blob(bytes: Buffer, mediaType: string = MEDIA_TYPES.ociLayerGzip): TestBlob {
  return {bytes, content: bytes, descriptor: {mediaType, digest: sha256Digest(bytes), size: bytes.length}}
}

/** A small OCI image: a config and two gzip layers with content unique to `seed`. */
function testImage(seed: string, architecture = 'amd64') {
  const layers = [blob(gzipSync(`${seed} layer one`)), blob(gzipSync(`${seed} layer two ${'x'.repeat(5000)}`))]
  const config = blob(Buffer.from(JSON.stringify({architecture, os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: []}})), MEDIA_TYPES.ociConfig)
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: config.descriptor, layers: layers.map((l) => l.descriptor)}))
  return {manifest, config, layers, blobs: [config, ...layers]}
}

const ref = (registry: {host: string}, name: string) => parseReference(`${registry.host}/${name}`)

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(RegistryError)
  return error as RegistryError
}

describe('against docker-registry (distribution 2.8)', () => {
  let registry: LocalRegistry
  // Through a recording proxy, so tests can check what was sent, not only what the client reports.
  let proxy: Proxy
  let client: RegistryClient
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startProxy(registry.url)
    client = new RegistryClient(proxy.host)
  })
  afterAll(async () => {
    await proxy?.close()
    await registry?.stop()
  })
  const sent = (predicate: (r: Proxy['requests'][number]) => boolean) => proxy.requests.filter(predicate).map((r) => `${r.method} ${r.url.replace(/\?.*/, '')}`)

  it('pushes a small image (config + 2 layers + manifest) and pulls it back byte for byte', async () => {
    const image = testImage('small')
    const progress: PushProgress[] = []
    const result = await client.push(ref(proxy, 'sai/small:v1'), image.manifest, {blobs: image.blobs, onProgress: (p) => progress.push(p)})
    expect(result).toMatchObject({uploaded: 3, skipped: 0, mounted: 0, bytesUploaded: image.blobs.reduce((n, b) => n + b.bytes.length, 0)})
    expect(result.manifest).toEqual({mediaType: MEDIA_TYPES.ociManifest, digest: sha256Digest(image.manifest), size: image.manifest.length})
    expect(result.reference).toBe(`${proxy.host}/sai/small:v1@${sha256Digest(image.manifest)}`)
    for (const b of image.blobs) expect(progress.filter((p) => p.digest === b.descriptor.digest).at(-1)).toEqual({digest: b.descriptor.digest, size: b.bytes.length, sent: b.bytes.length, state: 'uploaded'})

    const pulled = await client.pull(ref(proxy, 'sai/small:v1'), {platform: {os: 'linux', architecture: 'amd64'}})
    expect(pulled.manifest.bytes.equals(image.manifest)).toBe(true)
    expect(pulled.manifest.descriptor.digest).toBe(result.manifest.digest)
    expect(pulled.index).toBeUndefined()
    expect(pulled.config.bytes.equals(image.config.bytes)).toBe(true)
    expect(pulled.layers).toEqual(image.layers.map((l) => l.descriptor))
    for (const layer of image.layers) {
      const bytes = await client.getBlob('sai/small', layer.descriptor)
      expect(bytes.equals(layer.bytes)).toBe(true)
      expect(sha256Digest(bytes)).toBe(layer.descriptor.digest)
    }
    // By digest too: the registry serves the same bytes, and the client checks them against the digest.
    const byDigest = await client.getManifest('sai/small', result.manifest.digest)
    expect(byDigest.bytes.equals(image.manifest)).toBe(true)
  })

  it('re-pushing skips the blobs the registry has (HEAD) and still PUTs the manifest', async () => {
    const image = testImage('again')
    await client.push(ref(proxy, 'sai/again:v1'), image.manifest, {blobs: image.blobs})
    const progress: PushProgress[] = []
    proxy.requests.length = 0
    const result = await client.push(ref(proxy, 'sai/again:v2'), image.manifest, {blobs: image.blobs, onProgress: (p) => progress.push(p)})
    expect(result).toMatchObject({uploaded: 0, skipped: 3, mounted: 0, bytesUploaded: 0})
    expect(sent(() => true).sort()).toEqual([...image.blobs.map((b) => `HEAD /v2/sai/again/blobs/${b.descriptor.digest}`), 'PUT /v2/sai/again/manifests/v2'].sort())
    expect(progress.map((p) => p.state)).toEqual(['exists', 'exists', 'exists'])
    expect((await client.getManifest('sai/again', 'v2')).descriptor.digest).toBe(result.manifest.digest)
  })

  it('uploads a blob larger than the chunk size from a file stream in PATCH chunks, then PUT ?digest', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-registry-test-'))
    proxy.requests.length = 0
    try {
      const size = 40 * 1000 * 1000 + 123
      const bytes = randomBytes(size)
      const file = path.join(dir, 'layer.tar.gz')
      writeFileSync(file, bytes)
      const layer: BlobToPush = {descriptor: {mediaType: MEDIA_TYPES.ociLayerGzip, digest: sha256Digest(bytes), size}, content: () => createReadStream(file)}
      const config = blob(Buffer.from('{"architecture":"amd64","os":"linux"}'), MEDIA_TYPES.ociConfig)
      const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: config.descriptor, layers: [layer.descriptor]}))
      const chunked = new RegistryClient(proxy.host, {chunkSize: 8 << 20})
      const sent: number[] = []
      const result = await chunked.push(parseReference(`${proxy.host}/sai/large:v1`), manifest, {blobs: [config, layer], onProgress: (p) => p.digest === layer.descriptor.digest && sent.push(p.sent)})
      expect(result.uploaded).toBe(2)

      const patches = proxy.requests.filter((r) => r.method === 'PATCH')
      const chunk = 8 << 20
      expect(patches.map((p) => p.headers['content-range'])).toEqual([0, 1, 2, 3, 4].map((i) => `${i * chunk}-${Math.min((i + 1) * chunk, size) - 1}`))
      expect(patches.map((p) => Number(p.headers['content-length']))).toEqual([chunk, chunk, chunk, chunk, size - 4 * chunk])
      const finals = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/uploads/'))
      expect(finals.filter((r) => r.url.includes(encodeURIComponent(layer.descriptor.digest)))).toHaveLength(1)
      // Progress rises step by step (1 MiB slices) to the full size.
      expect(sent.length).toBeGreaterThan(10)
      expect(sent).toEqual([...sent].sort((a, b) => a - b))
      expect(sent.at(-1)).toBe(size)

      const hash = createHash('sha256')
      let received = 0
      for await (const piece of await client.openBlob('sai/large', layer.descriptor)) {
        hash.update(piece as Buffer)
        received += (piece as Buffer).length
      }
      expect(received).toBe(size)
      expect(`sha256:${hash.digest('hex')}`).toBe(layer.descriptor.digest)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('mounts blobs from another repository of the same registry, and uploads what is not there', async () => {
    const base = testImage('base')
    await client.push(ref(proxy, 'sai/base:v1'), base.manifest, {blobs: base.blobs})
    const extra = blob(gzipSync('function code'))
    const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: base.config.descriptor, layers: [...base.layers.map((l) => l.descriptor), extra.descriptor]}))
    // The base blobs come without content: they can only be mounted. The new layer is not in sai/base (202), so it is uploaded.
    proxy.requests.length = 0
    const result = await client.push(ref(proxy, 'sai/app:v1'), manifest, {blobs: [extra], mountFrom: ['sai/base']})
    expect(result).toMatchObject({mounted: 3, uploaded: 1, skipped: 0})
    const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('mount='))
    expect(mounts.map((r) => [new URL(r.url, 'http://x').searchParams.get('from'), r.status])).toEqual([['sai/base', 201], ['sai/base', 201], ['sai/base', 201], ['sai/base', 202]])
    // The 202's upload session is used: no second POST.
    expect(sent((r) => r.method === 'POST' && !r.url.includes('mount='))).toEqual([])
    expect(result.blobs.filter((b) => b.outcome === 'mounted').map((b) => b.mountedFrom)).toEqual(['sai/base', 'sai/base', 'sai/base'])
    for (const b of [...base.blobs, extra]) expect(await client.hasBlob('sai/app', b.descriptor.digest)).toBe(true)
    expect((await client.pull(ref(proxy, 'sai/app:v1'))).layers).toHaveLength(3)
  })

  it('never PUTs a manifest whose blobs did not all arrive', async () => {
    const image = testImage('broken')
    const failing: BlobToPush = {
      descriptor: image.layers[1]!.descriptor,
      content: () =>
        Readable.from(
          (async function* () {
            yield image.layers[1]!.bytes.subarray(0, 100)
            throw new Error('disk read failed')
          })(),
        ),
    }
    proxy.requests.length = 0
    await expect(client.push(ref(proxy, 'sai/broken:v1'), image.manifest, {blobs: [image.config, image.layers[0]!, failing]})).rejects.toThrow('disk read failed')
    const missingTag = await rejection(client.getManifest('sai/broken', 'v1'))
    expect(missingTag).toMatchObject({category: 'not-found', status: 404})
    expect(await client.hasBlob('sai/broken', failing.descriptor.digest)).toBe(false)

    // Content that does not match its descriptor is caught before the upload is committed.
    const lying: BlobToPush = {descriptor: image.layers[1]!.descriptor, content: Buffer.from('not what the digest says')}
    const mismatch = await rejection(client.push(ref(proxy, 'sai/broken:v1'), image.manifest, {blobs: [image.config, image.layers[0]!, lying]}))
    expect(mismatch.category).toBe('invalid')
    expect(mismatch.message).toMatch(/upload blob sha256:[0-9a-f]{12} to 127\.0\.0\.1:\d+\/sai\/broken: the content is 24 bytes/)

    // A referenced blob with no content, not in the repository and not mountable: refused before anything is PUT.
    const absent = await rejection(client.push(ref(proxy, 'sai/broken:v1'), image.manifest, {blobs: [image.config, image.layers[0]!], mountFrom: ['sai/small']}))
    expect(absent.category).toBe('not-found')
    expect(absent.message).toMatch(/the manifest references it, it is not in the repository, nor could it be mounted from sai\/small, and no content was given/)
    expect((await rejection(client.getManifest('sai/broken', 'v1'))).category).toBe('not-found')
    // The registry would refuse such a manifest itself (MANIFEST_BLOB_UNKNOWN); the point is that the client never sent one.
    expect(sent((r) => r.url.includes('/manifests/') && r.method === 'PUT')).toEqual([])
    // The other blobs did go up; the failed upload sessions (and the unused one a refused mount opened) were cancelled.
    expect(await client.hasBlob('sai/broken', image.layers[0]!.descriptor.digest)).toBe(true)
    expect(proxy.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([204, 204, 204])
  })

  it('checks blob bytes against the digest while streaming', async () => {
    const image = testImage('tampered')
    await client.push(ref(proxy, 'sai/tampered:v1'), image.manifest, {blobs: image.blobs})
    const tampering = await startProxy(registry.url, {tamperBlobs: true})
    try {
      const error = await rejection(new RegistryClient(tampering.host).getBlob('sai/tampered', image.layers[1]!.descriptor))
      expect(error.category).toBe('invalid')
      expect(error.message).toMatch(/download blob .* its bytes hash to sha256:/)
    } finally {
      await tampering.close()
    }
  })

  it('picks the platform asked for from an index, and says which platforms there are when none matches', async () => {
    const amd64 = testImage('multi-amd64', 'amd64')
    const arm64 = testImage('multi-arm64', 'arm64')
    const pushedAmd = await client.push(parseReference(`${proxy.host}/sai/multi@${sha256Digest(amd64.manifest)}`), amd64.manifest, {blobs: amd64.blobs})
    const pushedArm = await client.push(parseReference(`${proxy.host}/sai/multi@${sha256Digest(arm64.manifest)}`), arm64.manifest, {blobs: arm64.blobs})
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          {...pushedAmd.manifest, platform: {os: 'linux', architecture: 'amd64'}},
          {...pushedArm.manifest, platform: {os: 'linux', architecture: 'arm64', variant: 'v8'}},
          {...pushedAmd.manifest, platform: {os: 'unknown', architecture: 'unknown'}, annotations: {'vnd.docker.reference.type': 'attestation-manifest'}},
        ],
      }),
    )
    await client.putManifest('sai/multi', 'v1', index, MEDIA_TYPES.ociIndex)

    const pulled = await client.pull(ref(proxy, 'sai/multi:v1'), {platform: {os: 'linux', architecture: 'arm64'}})
    expect(pulled.index?.descriptor.digest).toBe(sha256Digest(index))
    expect(pulled.manifest.descriptor.digest).toBe(pushedArm.manifest.digest)
    expect(pulled.config.bytes.equals(arm64.config.bytes)).toBe(true)
    expect((await client.pull(ref(proxy, 'sai/multi:v1'))).manifest.descriptor.digest).toBe(pushedAmd.manifest.digest)

    const none = await rejection(client.pull(ref(proxy, 'sai/multi:v1'), {platform: {os: 'linux', architecture: 's390x'}}))
    expect(none.category).toBe('platform')
    expect(none.message).toMatch(/it has no linux\/s390x image; it has linux\/amd64, linux\/arm64\/v8$/)
    const single = await rejection(client.pull(ref(proxy, 'sai/small:v1'), {platform: {os: 'linux', architecture: 'arm64'}}))
    expect(single.message).toMatch(/it is a linux\/amd64 image, not linux\/arm64/)
    expect(single.category).toBe('platform')
  })

  it('reports a missing tag as not-found with the registry, repository and its error code', async () => {
    const error = await rejection(client.pull(ref(proxy, 'sai/nothing:v9')))
    expect(error).toMatchObject({category: 'not-found', status: 404, registry: proxy.host, repository: 'sai/nothing'})
    expect(error.errors[0]?.code).toBe('MANIFEST_UNKNOWN')
    expect(error.message).toBe(`Could not fetch manifest v9 from ${proxy.host}/sai/nothing: HTTP 404 MANIFEST_UNKNOWN: manifest unknown`)
  })
})

describe('basic auth (the registry with htpasswd)', () => {
  // bcrypt of "sai-secret", made once with libxcrypt's crypt(3):
  //   perl -e 'print crypt("sai-secret", q($2b$05$c2FpLXJlZ2lzdHJ5LXRlc3Q))'   (or htpasswd -nbB from apache2-utils)
  const HTPASSWD = 'sai:$2b$05$c2FpLXJlZ2lzdHJ5LXRlcusbCJn2HLgpJ1clTBPjSpxXgEqtpcV/O\n'
  let registry: LocalRegistry
  beforeAll(async () => {
    registry = await startRegistry({htpasswd: HTPASSWD})
  })
  afterAll(() => registry?.stop())

  it('pushes and pulls with the right password', async () => {
    const client = new RegistryClient(registry.host, {credentials: {username: 'sai', password: 'sai-secret'}})
    await client.ping()
    const image = testImage('basic')
    await client.push(ref(registry, 'sai/basic:v1'), image.manifest, {blobs: image.blobs})
    expect((await client.pull(ref(registry, 'sai/basic:v1'))).config.bytes.equals(image.config.bytes)).toBe(true)
  })

  it('a wrong password is unauthorized, and so is none', async () => {
    const wrong = await rejection(new RegistryClient(registry.host, {credentials: {username: 'sai', password: 'wrong'}}).pull(ref(registry, 'sai/basic:v1')))
    expect(wrong).toMatchObject({category: 'unauthorized', status: 401})
    expect(wrong.errors[0]?.code).toBe('UNAUTHORIZED')
    expect(wrong.message).toMatch(/fetch manifest v1 from 127\.0\.0\.1:\d+\/sai\/basic: HTTP 401 UNAUTHORIZED: .* \(with the credentials given\)/)
    const anonymous = await rejection(new RegistryClient(registry.host).pull(ref(registry, 'sai/basic:v1')))
    expect(anonymous).toMatchObject({category: 'unauthorized', status: 401})
    expect(anonymous.message).toMatch(/asks for a username and password, and none were given/)
  })
})

describe('bearer-token challenge (a token server and an auth proxy in front of the registry)', () => {
  let registry: LocalRegistry
  let proxy: Proxy
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startProxy(registry.url, {bearer: {username: 'robot', password: 'token-pass'}})
  })
  afterAll(async () => {
    await proxy?.close()
    await registry?.stop()
  })

  const bearerClient = (options: RegistryClientOptions = {credentials: {username: 'robot', password: 'token-pass'}}) => new RegistryClient(proxy.host, options)

  it('answers the challenge with a token for the scope, cached per scope', async () => {
    const client = bearerClient()
    const image = testImage('bearer')
    await client.push(parseReference(`${proxy.host}/sai/bearer:v1`), image.manifest, {blobs: image.blobs})
    await client.pull(parseReference(`${proxy.host}/sai/bearer:v1`))
    await client.pull(parseReference(`${proxy.host}/sai/bearer:v1`))
    // One token for the whole push (three blobs at once), one for the pulls; the only 401 is the first GET /v2/.
    expect(proxy.tokenRequests.map((q) => q.getAll('scope'))).toEqual([['repository:sai/bearer:pull,push'], ['repository:sai/bearer:pull']])
    expect(proxy.tokenRequests.every((q) => q.get('service') === 'sai-test')).toBe(true)
    expect(proxy.requests.filter((r) => r.status === 401)).toHaveLength(1)

    // A mount asks for pull on the source too.
    proxy.tokenRequests.length = 0
    expect(await client.push(parseReference(`${proxy.host}/sai/bearer-copy:v1`), image.manifest, {mountFrom: ['sai/bearer']})).toMatchObject({mounted: 3})
    expect(proxy.tokenRequests.map((q) => q.getAll('scope'))).toContainEqual(['repository:sai/bearer-copy:pull,push', 'repository:sai/bearer:pull'])
  })

  it('a token server that refuses the credentials gives an unauthorized error', async () => {
    const error = await rejection(bearerClient({credentials: {username: 'robot', password: 'nope'}}).pull(parseReference(`${proxy.host}/sai/bearer:v1`)))
    expect(error).toMatchObject({category: 'unauthorized', status: 401})
    expect(error.message).toMatch(/Could not get a token from http:\/\/127\.0\.0\.1:\d+\/token to fetch manifest v1 from .*: HTTP 401 .*\(with the credentials given\)/)
  })
})

describe('unreachable registries', () => {
  it('a closed port is unreachable, and the message says where and why', async () => {
    const host = `127.0.0.1:${await freePort()}`
    const error = await rejection(new RegistryClient(host).pull(parseReference(`${host}/sai/fn:v1`)))
    expect(error.category).toBe('unreachable')
    expect(error.status).toBeUndefined()
    expect(error.message).toBe(`Could not fetch manifest v1 from ${host}/sai/fn: http://${host} did not answer: connection refused (ECONNREFUSED): nothing listens there`)
    expect(error.hint).toMatch(/registry is running/)
  })

  it('a registry that accepts the connection but never answers times out as unreachable', async () => {
    const silent = http.createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`
    try {
      const error = await rejection(new RegistryClient(host, {timeoutMs: 300}).hasBlob('sai/fn', `sha256:${HEX64}`))
      expect(error.category).toBe('unreachable')
      expect(error.message).toMatch(/check for blob sha256:aaaaaaaaaaaa in .*: .* no answer within 0.3 s/)
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})

// ───────────────────────────── a recording, authenticating, tampering proxy ─────────────────────────────

interface Proxy {
  host: string
  requests: Array<{method: string; url: string; headers: http.IncomingHttpHeaders; status?: number}>
  tokenRequests: URLSearchParams[]
  close(): Promise<void>
}

/**
 * Forwards to the registry (the Host header unchanged, so the registry's upload Locations point back
 * here) and records each request. With `bearer`, it demands tokens the way Docker Hub or GHCR do:
 * 401 + `WWW-Authenticate: Bearer realm,service,scope`, tokens from a separate token server that
 * checks basic credentials, each token good only for the scopes it was issued for.
 */
async function startProxy(upstream: string, options: {bearer?: {username: string; password: string}; tamperBlobs?: boolean} = {}): Promise<Proxy> {
  const requests: Proxy['requests'] = []
  const tokenRequests: URLSearchParams[] = []
  const granted = new Map<string, Set<string>>()
  const upstreamUrl = new URL(upstream)

  const tokenServer = http.createServer((req, res) => {
    const query = new URL(req.url!, 'http://token').searchParams
    tokenRequests.push(query)
    const expected = `Basic ${Buffer.from(`${options.bearer?.username}:${options.bearer?.password}`).toString('base64')}`
    if (req.headers.authorization !== expected) {
      res.writeHead(401, {'content-type': 'application/json'}).end('{"details":"incorrect username or password"}')
      return
    }
    const token = randomBytes(16).toString('hex')
    // "repository:NAME:pull,push" → {"NAME:pull", "NAME:push"}
    granted.set(token, new Set(query.getAll('scope').flatMap((s) => {
      const [, name, actions] = /^repository:(.+):([a-z,]+)$/.exec(s) ?? []
      return name ? actions!.split(',').map((a) => `${name}:${a}`) : []
    })))
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token, expires_in: 300}))
  })
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve))
  const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`

  const needed = (method: string, url: URL): string[] => {
    const match = /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(url.pathname)
    if (!match) return []
    const action = method === 'GET' || method === 'HEAD' ? 'pull' : 'push'
    const from = url.searchParams.get('from')
    return [`${match[1]}:${action}`, ...(action === 'push' ? [`${match[1]}:pull`] : []), ...(from ? [`${from}:pull`] : [])]
  }

  const server = http.createServer((req, res) => {
    const record: Proxy['requests'][number] = {method: req.method!, url: req.url!, headers: req.headers}
    requests.push(record)
    const url = new URL(req.url!, 'http://proxy')
    if (options.bearer) {
      const scopes = needed(req.method!, url)
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      const rights = token ? granted.get(token) : undefined
      // A real registry ignores a missing pull right on a mount's source and falls back to an upload; so does this one.
      const required = scopes.filter((s) => !(url.searchParams.get('from') && s === `${url.searchParams.get('from')}:pull`))
      if (!rights || !required.every((s) => rights.has(s))) {
        const repository = scopes[0]?.split(':')[0]
        const scope = repository ? `,scope="repository:${repository}:${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'}"` : ''
        record.status = 401
        req.resume()
        res.writeHead(401, {'www-authenticate': `Bearer realm="${realm}",service="sai-test"${scope}`, 'content-type': 'application/json'})
        res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required', detail: null}]}))
        return
      }
    }
    const headers = {...req.headers}
    delete headers.authorization
    const forward = http.request({host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers}, (answer) => {
      record.status = answer.statusCode
      res.writeHead(answer.statusCode!, answer.headers)
      let tampered = !(options.tamperBlobs && req.method === 'GET' && url.pathname.includes('/blobs/sha256:'))
      answer.on('data', (chunk: Buffer) => {
        if (!tampered) {
          chunk = Buffer.from(chunk)
          chunk[0] = chunk[0]! ^ 0xff
          tampered = true
        }
        res.write(chunk)
      })
      answer.on('end', () => res.end())
    })
    forward.on('error', (error) => res.destroy(error))
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = async () => {
    for (const s of [server, tokenServer]) {
      s.closeAllConnections()
      await new Promise((resolve) => s.close(resolve))
    }
  }
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests, tokenRequests, close}
}
