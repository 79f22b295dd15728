/**
 * AWS's own runtime interface client (aws-lambda-ric) as the runtime of a container on the Docker
 * backend: an image built with sai's OCI code — this machine's base, the RIC, a plain handler —
 * served through the emulator, as the process backend serves it in test/ric-peer.test.ts.
 */
import {lstatSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DockerBackend} from '../src/emulator/backends/docker-backend.js'
import {ensureImage} from '../src/emulator/backends/docker-images.js'
import {hostBase, NODE_IMAGE_PATH} from '../src/packager/base/host.js'
import {writeDockerArchive} from '../src/packager/oci/docker-archive.js'
import {buildImage, envRecord} from '../src/packager/oci/image.js'
import {buildLayer} from '../src/packager/oci/layer.js'
import type {LayerEntry} from '../src/packager/oci/types.js'
import {emulate, functionDir, invoke, parseReport, ROOT, spec} from './helpers.js'

const PEERS = path.join(ROOT, 'test/peers/node_modules')
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-docker-ric-'))
const dir = functionDir({'index.mjs': "export const handler = async (event, context) => {\n  console.log('ric in a container got', JSON.stringify(event))\n  if (event.fail) throw new RangeError('ric says no')\n  return {echo: event, functionName: context.functionName, memoryLimitInMB: context.memoryLimitInMB}\n}\n"})

/** A directory of this machine as layer entries under `imageDir`. */
function entriesOf(source: string, imageDir: string): LayerEntry[] {
  const entries: LayerEntry[] = [{path: imageDir, type: 'directory', mode: 0o755}]
  for (const name of readdirSync(source)) {
    const file = path.join(source, name)
    const stat = lstatSync(file)
    if (stat.isDirectory()) entries.push(...entriesOf(file, `${imageDir}/${name}`))
    else if (stat.isFile()) entries.push({path: `${imageDir}/${name}`, type: 'file', mode: stat.mode & 0o111 ? 0o755 : 0o644, source: {file}})
  }
  return entries
}

let image: string
beforeAll(async () => {
  const base = await hostBase()
  const layers = [
    await buildLayer(base.layer, {tmpDir: work}),
    await buildLayer({name: 'runtime interface client', entries: entriesOf(PEERS, '/opt/ric/node_modules')}, {tmpDir: work}),
    await buildLayer({name: 'function', entries: entriesOf(dir, '/var/task')}, {tmpDir: work}),
  ]
  const built = buildImage({
    architecture: base.architecture,
    layers,
    config: {
      // The RIC reads its handler from _HANDLER (AWS's base images export it from CMD in their entrypoint script).
      env: {...envRecord(base.config.Env), _HANDLER: 'index.handler'},
      entrypoint: [NODE_IMAGE_PATH, '/opt/ric/node_modules/aws-lambda-ric/index.mjs'],
      cmd: ['index.handler'],
      workingDir: '/var/task',
      user: base.config.User,
    },
  })
  const archive = path.join(work, 'ric.tar')
  await writeDockerArchive(built, archive, {repoTags: ['sai-test-ric:latest']})
  const engine = await DockerBackend.connect({sessionId: 'ric-images'})
  try {
    image = await ensureImage(engine, {archive})
  } finally {
    await engine.close()
  }
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('aws-lambda-ric in a container on the Docker backend', () => {
  it('serves invokes cold then warm, with its own log lines and error shape', async () => {
    const running = await emulate([{...spec(dir, {name: 'ric', handler: 'index.handler', memory: 512, timeout: 5}), image}], {backend: 'docker'})
    try {
      const cold = await invoke(running.client, {FunctionName: 'ric', Payload: {n: 1}, LogType: 'Tail'})
      expect(cold.FunctionError, JSON.stringify(cold.json) + cold.log).toBeUndefined()
      expect(cold.json).toEqual({echo: {n: 1}, functionName: 'ric', memoryLimitInMB: '512'})
      expect(cold.log).toContain(`\t${cold.$metadata.requestId}\tINFO\tric in a container got {"n":1}`)
      expect(parseReport(cold.log).initDuration).toBeGreaterThan(0)
      const warm = await invoke(running.client, {FunctionName: 'ric', Payload: {n: 2}, LogType: 'Tail'})
      expect(parseReport(warm.log).initDuration).toBeUndefined()
      const failed = await invoke(running.client, {FunctionName: 'ric', Payload: {fail: true}})
      expect(failed.FunctionError).toBe('Unhandled')
      expect(failed.json).toMatchObject({errorType: 'RangeError', errorMessage: 'ric says no'})
    } finally {
      await running.close()
    }
  })
})
