/**
 * Registry images on the Docker backend, against a real engine and a real registry: an image
 * `sai package` pushed runs as containers when given at startup (`--image REF`) and when created
 * through the control plane, the engine pulling it by its digest. Zips stay on the process backend.
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {CreateFunctionCommand, waitUntilFunctionActiveV2} from '@aws-sdk/client-lambda'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageFunction, type PackageOptions} from '../src/services/package.js'
import {emulate, FIXTURES, invoke, parseReport} from './helpers.js'
import {startRegistry, type LocalRegistry} from './registry-helper.js'

const run = promisify(execFile)
const docker = async (...args: string[]) => (await run('docker', args, {maxBuffer: 16 * 1024 * 1024})).stdout.trim()
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-docker-registry-'))
const ROLE = 'arn:aws:iam::000000000000:role/sai-test'
const wait = {maxWaitTime: 120, minDelay: 1, maxDelay: 2}

const packageOptions = (output: PackageOptions['output']): PackageOptions => ({
  specPath: path.join(FIXTURES, 'faults'),
  base: 'host',
  sourceDateEpoch: 0,
  minCosine: 0.99,
  cacheDir: path.join(work, 'cache'),
  output,
})

interface Inspected {
  Image: string
  Config: {Labels: Record<string, string>}
}
const containerOf = async (environmentId: string) => {
  const ids = (await docker('ps', '-a', '-q', '--filter', `label=sai.environment=${environmentId}`)).split('\n').filter(Boolean)
  expect(ids).toHaveLength(1)
  return (JSON.parse(await docker('inspect', ids[0]!)) as [Inspected])[0]
}

let registry: LocalRegistry
let reference: string
/** The image as the engine names it once pulled: `registry/repository@sha256:…`. */
let pinned: string
beforeAll(async () => {
  registry = await startRegistry()
  reference = `${registry.host}/faults:1`
  const pushed = await packageFunction(packageOptions({kind: 'registry', reference}))
  pinned = `${registry.host}/faults@${pushed.manifestDigest!}`
  // A port used by an earlier run may have left the name in the engine: the first emulator must pull.
  await docker('rmi', pinned).catch(() => undefined)
})
afterAll(async () => {
  // The registry's port is new each run: its name in the engine would only pile up.
  if (pinned) await docker('rmi', pinned).catch(() => undefined)
  await registry?.stop()
  rmSync(work, {recursive: true, force: true})
})

describe('the Docker backend runs images from a registry', () => {
  it('given at startup (--image REF): the engine pulls it by digest; cold, then warm, in a labelled container', async () => {
    const env = await emulate([], {backend: 'docker', imagePaths: [reference]})
    try {
      const cold = await invoke(env.client, {FunctionName: 'faults', Payload: {action: 'echo', n: 1}, LogType: 'Tail'})
      expect(cold.FunctionError).toBeUndefined()
      expect(cold.json).toEqual({echo: {action: 'echo', n: 1}})
      expect(parseReport(cold.log).initDuration).toBeGreaterThan(0)
      const warm = await invoke(env.client, {FunctionName: 'faults', Payload: {action: 'echo', n: 2}, LogType: 'Tail'})
      expect(warm.json).toEqual({echo: {action: 'echo', n: 2}})
      expect(parseReport(warm.log).initDuration).toBeUndefined()

      const environments = env.emulator.environments('faults')
      expect(environments).toHaveLength(1)
      const container = await containerOf(environments[0]!.id)
      expect(container.Image).toBe(await docker('image', 'inspect', '--format', '{{.Id}}', pinned))
      expect(container.Config.Labels).toMatchObject({'sai.backend': 'docker', 'sai.function': 'faults', 'sai.environment': environments[0]!.id, 'sai.pid': String(process.pid)})
    } finally {
      await env.close()
    }
  })

  it('created through the control plane (PackageType Image): Active, then it runs in a container; a zip is refused', async () => {
    const env = await emulate([], {backend: 'docker', empty: true})
    try {
      const created = await env.client.send(new CreateFunctionCommand({FunctionName: 'faults-image', Role: ROLE, PackageType: 'Image', Code: {ImageUri: reference}, MemorySize: 512}))
      expect(created).toMatchObject({State: 'Pending', PackageType: 'Image', MemorySize: 512})
      expect((await waitUntilFunctionActiveV2({client: env.client, ...wait}, {FunctionName: 'faults-image'})).state).toBe('SUCCESS')
      const result = await invoke(env.client, {FunctionName: 'faults-image', Payload: {action: 'context'}, LogType: 'Tail'})
      expect(result.FunctionError).toBeUndefined()
      expect(result.json).toMatchObject({functionName: 'faults-image', memoryLimitInMB: '512', cwd: '/var/task'})
      expect(parseReport(result.log).memorySize).toBe(512)
      const [environment] = env.emulator.environments('faults-image')
      const container = await containerOf(environment!.id)
      expect(container.Image).toBe(await docker('image', 'inspect', '--format', '{{.Id}}', pinned))
      expect(container.Config.Labels).toMatchObject({'sai.backend': 'docker', 'sai.function': 'faults-image'})

      const zip = path.join(work, 'faults.zip')
      await packageFunction(packageOptions({kind: 'zip', file: zip}))
      const refused = (await env.client
        .send(new CreateFunctionCommand({FunctionName: 'faults-zip', Role: ROLE, PackageType: 'Zip', Code: {ZipFile: readFileSync(zip)}}))
        .then(() => undefined, (e: unknown) => e)) as {name: string; message: string} | undefined
      expect(refused?.name).toBe('InvalidParameterValueException')
      expect(refused?.message).toMatch(/zip functions run on the process backend/)
    } finally {
      await env.close()
    }
  })
})
