/**
 * The packaged image in a real Docker engine: `docker load` takes the docker-archive, and the
 * container — read-only root, /tmp a tmpfs, host network — runs sai's runtime from its entrypoint
 * and answers an invocation, as it would on Lambda. (.ci/run starts the engine; without one this
 * fails, never skips.)
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {afterAll, describe, expect, it} from 'vitest'
import {packageFunction} from '../src/services/package.js'
import {FIXTURES} from './helpers.js'
import {serveOneInvocation} from './one-invocation.js'

const run = promisify(execFile)
const docker = (...args: string[]) => run('docker', args, {maxBuffer: 16 * 1024 * 1024})
const work = mkdtempSync(path.join(os.tmpdir(), 'sai-docker-test-'))
const tag = `sai-test-det:${process.pid}`
afterAll(async () => {
  await docker('rmi', '-f', tag).catch(() => undefined)
  rmSync(work, {recursive: true, force: true})
})

describe('sai package in a real Docker engine', () => {
  it('docker load takes the archive, and the container answers an invocation through its entrypoint', async () => {
    await docker('version', '--format', '{{.Server.Version}}').catch((error: unknown) => {
      throw new Error(`no Docker engine answers (${(error as Error).message.split('\n')[0]}): start one with \`dockerd --bridge=none --iptables=false\` (.ci/run does)`)
    })
    const archive = path.join(work, 'det.tar')
    const result = await packageFunction({specPath: path.join(FIXTURES, 'ocr-det'), base: 'host', sourceDateEpoch: 0, minCosine: 0.99, output: {kind: 'docker-archive', file: archive}})
    const loaded = await docker('load', '-i', archive)
    expect(loaded.stdout).toContain('Loaded image: ocr-det:latest')
    await docker('tag', 'ocr-det:latest', tag)
    const inspected = JSON.parse((await docker('image', 'inspect', tag)).stdout) as [{Config: {Entrypoint: string[]; User: string; WorkingDir: string}; RootFS: {Layers: string[]}}]
    expect(inspected[0].Config).toMatchObject({Entrypoint: ['/var/lang/bin/node', '/var/runtime/sai/bootstrap.js'], User: '993:990', WorkingDir: '/var/task'})
    expect(inspected[0].RootFS.Layers).toHaveLength(result.layers.length)

    const event = readFileSync(path.join(FIXTURES, 'ocr-det/events/sample.json'))
    const api = await serveOneInvocation(event)
    const name = `sai-test-${process.pid}`
    try {
      await docker('run', '-d', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '-e', `AWS_LAMBDA_RUNTIME_API=127.0.0.1:${api.port}`, '-e', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048', tag)
      const answer = JSON.parse(await api.answered) as {outputs?: Record<string, {dims: number[]}>}
      expect(Object.values(answer.outputs ?? {})[0]?.dims).toEqual([1, 1, 32, 32])
    } finally {
      await docker('rm', '-f', name).catch(() => undefined)
      api.close()
    }
  })
})
