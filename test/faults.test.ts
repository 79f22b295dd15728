/**
 * Everything a function can do wrong: each gets Lambda's error, and the next invoke succeeds.
 */
import path from 'node:path'
import os from 'node:os'
import {mkdtempSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emulate, faultsSpec, functionDir, invoke, parseReport, spec} from './helpers.js'

let env: Awaited<ReturnType<typeof emulate>>

beforeAll(async () => {
  env = await emulate([
    faultsSpec(),
    faultsSpec({name: 'faults-init', environment: {FAULTS_INIT: 'throw'}}),
    faultsSpec({name: 'missing-export', handler: 'handler.nothing'}),
    // 256 MB is 0.14 vCPU: on a busy host, touching 400 MB can take longer than the fixture's 2 s timeout.
    faultsSpec({name: 'faults-oom', timeout: 20}),
  ])
})
afterAll(() => env.close())

const call = (Payload: unknown, FunctionName = 'faults') => invoke(env.client, {FunctionName, Payload, LogType: 'Tail'})

async function expectRecovery(options: {cold: boolean; functionName?: string}) {
  const next = await call({action: 'echo', n: 1}, options.functionName)
  expect(next.FunctionError).toBeUndefined()
  expect(next.json).toEqual({echo: {action: 'echo', n: 1}})
  const report = parseReport(next.log)
  if (options.cold) expect(report.initDuration).toBeGreaterThan(0)
  else expect(report.initDuration).toBeUndefined()
}

describe('faults in the function', () => {
  it('the handler throws: its error comes back, the environment stays warm', async () => {
    await call({}) // warm one environment up
    const result = await call({action: 'throw', message: 'nope'})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorType: 'TypeError', errorMessage: 'nope'})
    expect(result.log).toMatch(/\tERROR\tInvoke Error \{"errorType":"TypeError"/)
    await expectRecovery({cold: false})
  })

  it('the handler never returns: "Task timed out after 2.00 seconds", Status: timeout, next invoke cold', async () => {
    const started = Date.now()
    const result = await call({action: 'hang'})
    expect(Date.now() - started).toBeGreaterThanOrEqual(1990)
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toEqual({errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${result.$metadata.requestId} Error: Task timed out after 2.00 seconds`})
    expect(result.log).toMatch(/\tDuration: 2000\.00 ms\tBilled Duration: 2000 ms\t.*\tStatus: timeout/)
    await expectRecovery({cold: true})
  })

  it('a busy loop that never yields is timed out the same way', async () => {
    const result = await call({action: 'busy'})
    expect(result.json!.errorType).toBe('Sandbox.Timedout')
    await expectRecovery({cold: true})
  })

  it('process.exit() in the handler: Runtime.ExitError with the exit status', async () => {
    const result = await call({action: 'exit', code: 3})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toEqual({errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${result.$metadata.requestId} Error: Runtime exited with error: exit status 3`})
    expect(result.log).toMatch(/\tStatus: error\tError Type: Runtime.ExitError/)
    const clean = await call({action: 'exit', code: 0})
    expect(clean.json!.errorMessage).toMatch(/Runtime exited without providing a reason$/)
    await expectRecovery({cold: true})
  })

  it('an exception thrown outside the handler ends the environment; the invoke reports it', async () => {
    const result = await call({action: 'crash-async'})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorType: 'Error', errorMessage: 'thrown outside the handler'})
    await expectRecovery({cold: true})
  })

  it('a promise that never settles: Runtime.NodeJsExit, as Lambda\'s Node runtime reports it', async () => {
    const result = await call({action: 'never-settles'})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json!.errorType).toBe('Runtime.NodeJsExit')
    await expectRecovery({cold: false})
  })

  it('memory above the limit: Runtime.OutOfMemory, Max Memory Used at the limit, next invoke cold', async () => {
    const result = await call({action: 'alloc', mb: 400}, 'faults-oom')
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toEqual({errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${result.$metadata.requestId} Error: Runtime exited with error: signal: killed`})
    expect(result.log).toMatch(/\tStatus: error\tError Type: Runtime.OutOfMemory/)
    expect(parseReport(result.log).maxMemoryUsed).toBeGreaterThanOrEqual(200)
    await expectRecovery({cold: true, functionName: 'faults-oom'})
  })

  it('memory below the limit is fine and Max Memory Used measures it', async () => {
    const result = await call({action: 'alloc', mb: 100})
    expect(result.json).toEqual({held: 100})
    const used = parseReport(result.log).maxMemoryUsed
    expect(used).toBeGreaterThanOrEqual(100)
    expect(used).toBeLessThan(256)
  })

  it('an init that throws: the error comes back to the invoke, every time', async () => {
    for (let i = 0; i < 2; i++) {
      const result = await call({}, 'faults-init')
      expect(result.FunctionError).toBe('Unhandled')
      expect(result.json).toMatchObject({errorType: 'Error', errorMessage: 'init exploded'})
      expect(result.log).toMatch(/INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Error/)
    }
    await expectRecovery({cold: false})
  })

  it('a handler that is not exported: Runtime.HandlerNotFound', async () => {
    const result = await call({}, 'missing-export')
    expect(result.json).toMatchObject({errorType: 'Runtime.HandlerNotFound', errorMessage: 'handler.nothing is undefined or not exported'})
  })

  it('a response over 6 MB: Function.ResponseSizeTooLarge, the environment survives', async () => {
    const result = await call({action: 'big-response', bytes: 7 * 1024 * 1024})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json!.errorType).toBe('Function.ResponseSizeTooLarge')
    await expectRecovery({cold: false})
  })

  it('bad requests never reach a function and leave the emulator serving', async () => {
    await expect(call('{not json')).rejects.toMatchObject({name: 'InvalidRequestContentException'})
    await expect(call(JSON.stringify({x: 'y'.repeat(6_300_000)}))).rejects.toMatchObject({name: 'RequestTooLargeException'})
    await expect(call({}, 'no-such-function')).rejects.toMatchObject({name: 'ResourceNotFoundException'})
    await expectRecovery({cold: false})
  })
})

describe('a runtime that cannot start', () => {
  it('a bootstrap that is not executable: Runtime.InvalidEntrypoint, as Lambda reports it', async () => {
    const dir = functionDir({'bootstrap.sh': '#!/bin/sh\necho never\n'})
    const broken = await emulate([spec(dir, {name: 'noexec', bootstrap: './bootstrap.sh'})])
    try {
      const result = await invoke(broken.client, {FunctionName: 'noexec', Payload: {}, LogType: 'Tail'})
      expect(result.FunctionError).toBe('Unhandled')
      expect(result.json).toEqual({
        errorType: 'Runtime.InvalidEntrypoint',
        errorMessage: `RequestId: ${result.$metadata.requestId} Error: fork/exec ${path.join(dir, 'bootstrap.sh')}: permission denied`,
      })
      expect(result.log).toMatch(/INIT_REPORT .*Status: error\tError Type: Runtime.InvalidEntrypoint/)
    } finally {
      await broken.close()
    }
  })
})

describe('memory enforcement without cgroups (RSS watch)', () => {
  it('kills an environment over its memory size with Runtime.OutOfMemory', async () => {
    const rss = await emulate([faultsSpec({timeout: 20})], {cgroups: false})
    try {
      expect(rss.emulator.backend.capabilities.memoryEnforcement).toMatch(/^RSS watch/)
      const result = await invoke(rss.client, {FunctionName: 'faults', Payload: {action: 'alloc', mb: 400}, LogType: 'Tail'})
      expect(result.json!.errorType).toBe('Runtime.OutOfMemory')
      const next = await invoke(rss.client, {FunctionName: 'faults', Payload: {}})
      expect(next.json).toEqual({echo: {}})
    } finally {
      await rss.close()
    }
  })
})

describe('init over 10 s (Lambda\'s limit)', () => {
  it('is cut at 10 s and retried inside the invoke, whose Duration then includes the second init', async () => {
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-slow-')), 'marker')
    const slow = await emulate([faultsSpec({name: 'slow', timeout: 30, environment: {FAULTS_SLOW_INIT_MARKER: marker}})])
    try {
      const started = Date.now()
      const result = await invoke(slow.client, {FunctionName: 'slow', Payload: {}, LogType: 'Tail'})
      expect(Date.now() - started).toBeGreaterThanOrEqual(10_000)
      expect(result.json).toEqual({echo: {}})
      expect(result.log).toContain('INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout')
      expect(parseReport(result.log).initDuration).toBeUndefined()
    } finally {
      await slow.close()
    }
  }, 40_000)
})

describe('a function that floods its log', () => {
  it('gets the last 4 KB as its tail and leaves the emulator serving', async () => {
    const dir = functionDir({'flood.mjs': "export const handler = async () => { for (let i = 0; i < 200000; i++) console.log('line', i); process.stdout.write('x'.repeat(3_000_000)); return 'done' }\n"})
    const flood = await emulate([spec(dir, {name: 'flood', handler: 'flood.handler', memory: 1024})])
    try {
      const result = await invoke(flood.client, {FunctionName: 'flood', Payload: {}, LogType: 'Tail'})
      expect(result.json).toBe('done')
      expect(Buffer.byteLength(result.log!)).toBeLessThanOrEqual(4096)
      expect(result.log).toMatch(/REPORT RequestId/)
      const again = await invoke(flood.client, {FunctionName: 'flood', Payload: {}})
      expect(again.json).toBe('done')
    } finally {
      await flood.close()
    }
  })
})
