/**
 * `sai deploy` end to end on one machine, every call made by the real AWS SDK: package → push to
 * Debian's docker-registry on 127.0.0.1 → deploy to `sai emulate` through its control plane → invoke
 * the alias (warm, provisioned, no Init Duration) → change memory → deploy again (version 2, the
 * alias moved, provisioned concurrency READY again) → deploy again (a no-op).
 */
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {GetAliasCommand, GetProvisionedConcurrencyConfigCommand} from '@aws-sdk/client-lambda'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emulate, FIXTURES, invoke, runSai} from './helpers.js'
import {startRegistry, type LocalRegistry} from './registry-helper.js'

const deploy = (args: string[]) => runSai(['deploy', ...args, '--json'], {env: {SAI_CACHE_DIR: cacheDir}})

const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-cache-'))
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-e2e-'))
const specFile = path.join(dir, 'sai.yaml')
const writeSpec = (memory: number) => writeFileSync(specFile, `name: noop\nhandler: handler.handler\nmemory: ${memory}\ntimeout: 3\nprovisionedConcurrency: 1\n`)

describe('sai deploy to sai emulate, through the control plane', () => {
  let registry: LocalRegistry
  let emulator: Awaited<ReturnType<typeof emulate>>
  let target: string[]
  beforeAll(async () => {
    cpSync(path.join(FIXTURES, 'noop'), dir, {recursive: true})
    writeSpec(1769)
    registry = await startRegistry()
    emulator = await emulate([])
    target = ['--spec', dir, '--endpoint-url', emulator.endpoint.url, '--registry', registry.host]
  }, 60_000)
  afterAll(async () => {
    await emulator?.close()
    await registry?.stop()
  })

  it('creates the function from the pushed image, publishes version 1, and serves the alias from provisioned environments', async () => {
    const {code, stdout, stderr} = await deploy(target)
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({functionName: 'noop', packageType: 'Image', version: '1', provisioned: {requested: 1, status: 'READY'}, target: {local: true}})
    expect(result.code.imageUri).toMatch(new RegExp(`^${registry.host}/noop@sha256:[0-9a-f]{64}$`))
    const answer = await invoke(emulator.client, {FunctionName: 'noop:live', LogType: 'Tail'})
    expect(answer.FunctionError).toBeUndefined()
    expect(answer.ExecutedVersion).toBe('1')
    expect(answer.log).toMatch(/REPORT RequestId: .*\tMemory Size: 1769 MB\t/)
    expect(answer.log).not.toContain('Init Duration')
  }, 180_000)

  it('a memory change deploys version 2, moves the alias, and provisions it again', async () => {
    writeSpec(2048)
    const {code, stdout, stderr} = await deploy(target)
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(result.version).toBe('2')
    const steps = Object.fromEntries(result.steps.map((s: {step: string; status: string}) => [s.step, s.status]))
    expect(steps).toMatchObject({'update-configuration': 'applied', 'publish-version': 'applied', alias: 'applied', 'provisioned-concurrency': 'applied'})
    const alias = await emulator.client.send(new GetAliasCommand({FunctionName: 'noop', Name: 'live'}))
    expect(alias.FunctionVersion).toBe('2')
    const pc = await emulator.client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: 'noop', Qualifier: 'live'}))
    expect(pc.Status).toBe('READY')
    const answer = await invoke(emulator.client, {FunctionName: 'noop', Qualifier: 'live', LogType: 'Tail'})
    expect(answer.ExecutedVersion).toBe('2')
    expect(answer.log).toMatch(/\tMemory Size: 2048 MB\t/)
    expect(answer.log).not.toContain('Init Duration')
  }, 180_000)

  it('deploying again with no change is a no-op', async () => {
    const {code, stdout, stderr} = await deploy(target)
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(result.noOp).toBe(true)
    expect(result.version).toBe('2')
  }, 180_000)

  it('dropping provisioned concurrency to 0 deletes its configuration instead of putting 0', async () => {
    const {code, stdout, stderr} = await deploy([...target, '--provisioned-concurrency', '0'])
    expect(code, stderr).toBe(0)
    const steps = Object.fromEntries(JSON.parse(stdout).steps.map((s: {step: string; status: string}) => [s.step, s.status]))
    expect(steps).toMatchObject({'publish-version': 'unchanged', 'provisioned-concurrency': 'applied'})
    await expect(emulator.client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: 'noop', Qualifier: 'live'}))).rejects.toMatchObject({name: 'ProvisionedConcurrencyConfigNotFoundException'})
  }, 180_000)

  it('an image without --registry on a local endpoint, and a bench that broke its budgets, are refused', async () => {
    const noRegistry = await deploy(['--spec', dir, '--endpoint-url', emulator.endpoint.url])
    expect(noRegistry.code).toBe(1)
    expect(noRegistry.stdout).toContain('SAI_DEPLOY_OPTIONS_INVALID')
    const bench = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-gate-')), 'bench.json')
    writeFileSync(bench, JSON.stringify({schema: 'sai.bench/v1', spec: {name: 'noop'}, runs: [], budgets: [{metric: 'warm.p99', limit: '1ms', actual: 4.2, passed: false}], passed: false}))
    const gated = await deploy([...target, '--require-bench', bench])
    expect(gated.code).toBe(3)
    expect(gated.stdout).toContain('SAI_BENCH_GATE_FAILED')
    expect(gated.stdout).toContain('warm.p99')
    expect(readFileSync(specFile, 'utf8')).toContain('memory: 2048')
  }, 60_000)
})
