/**
 * The pool through real environments: scale from zero, one environment per concurrent invoke,
 * reuse, keep-alive reaping, keep-alive 0, and provisioned concurrency.
 */
import {afterEach, describe, expect, it} from 'vitest'
import type {EnvironmentEvent} from '../src/emulator/events.js'
import {emulate, faultsSpec, invoke, parseReport} from './helpers.js'

let env: Awaited<ReturnType<typeof emulate>> | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

const context = async (sleepMs = 0) => {
  const result = await invoke(env!.client, {FunctionName: 'faults', Payload: {action: 'context', sleepMs}, LogType: 'Tail'})
  return {body: result.json as {pid: number; env: Record<string, string>}, report: parseReport(result.log)}
}

describe('scaling', () => {
  it('starts from zero, and N concurrent invokes get N environments (N cold starts)', async () => {
    env = await emulate([faultsSpec()])
    expect(env.emulator.environments('faults')).toHaveLength(0)
    const results = await Promise.all(Array.from({length: 4}, () => context(300)))
    expect(new Set(results.map((r) => r.body.pid)).size).toBe(4)
    for (const r of results) expect(r.report.initDuration).toBeGreaterThan(0)
    expect(env.emulator.environments('faults')).toHaveLength(4)
    // The same burst again is served warm by those four.
    const warm = await Promise.all(Array.from({length: 4}, () => context(300)))
    expect(new Set(warm.map((r) => r.body.pid))).toEqual(new Set(results.map((r) => r.body.pid)))
    for (const r of warm) expect(r.report.initDuration).toBeUndefined()
  })

  it('reaps an environment idle longer than the keep-alive; the next invoke is cold', async () => {
    env = await emulate([faultsSpec()], {keepAliveSeconds: 1})
    const stopped: string[] = []
    env.emulator.on('environment-stopped', (e: EnvironmentEvent & {reason: string}) => stopped.push(e.reason))
    const first = await context()
    const soon = await context()
    expect(soon.body.pid).toBe(first.body.pid)
    await expect.poll(() => stopped, {timeout: 5000}).toEqual(['reaped'])
    expect(env.emulator.environments('faults')).toHaveLength(0)
    const later = await context()
    expect(later.body.pid).not.toBe(first.body.pid)
    expect(later.report.initDuration).toBeGreaterThan(0)
  })

  it('keep-alive 0: every invoke is a cold start', async () => {
    env = await emulate([faultsSpec()], {keepAliveSeconds: 0})
    const pids = new Set<number>()
    for (let i = 0; i < 3; i++) {
      const r = await context()
      expect(r.report.initDuration).toBeGreaterThan(0)
      pids.add(r.body.pid)
    }
    expect(pids.size).toBe(3)
  })
})

describe('provisioned concurrency', () => {
  it('starts environments before any invoke, marked provisioned-concurrency, and serves from them with no Init Duration', async () => {
    env = await emulate([faultsSpec({provisionedConcurrency: 2})])
    const ready = env.emulator.environments('faults')
    expect(ready).toHaveLength(2)
    expect(ready.every((e) => e.state.name === 'Ready' && e.initType === 'provisioned-concurrency')).toBe(true)
    const first = await context()
    expect(first.body.env.AWS_LAMBDA_INITIALIZATION_TYPE).toBe('provisioned-concurrency')
    expect(first.report.initDuration).toBeUndefined()
    // A third concurrent invoke spills over to an on-demand cold start.
    const burst = await Promise.all(Array.from({length: 3}, () => context(300)))
    const types = burst.map((r) => r.body.env.AWS_LAMBDA_INITIALIZATION_TYPE).sort()
    expect(types).toEqual(['on-demand', 'provisioned-concurrency', 'provisioned-concurrency'])
    expect(burst.filter((r) => r.report.initDuration !== undefined)).toHaveLength(1)
  })

  it('replaces a provisioned environment that died', async () => {
    env = await emulate([faultsSpec({provisionedConcurrency: 1})])
    const before = (await context()).body.pid
    await invoke(env.client, {FunctionName: 'faults', Payload: {action: 'exit', code: 1}})
    await expect.poll(() => env!.emulator.environments('faults').filter((e) => e.initType === 'provisioned-concurrency' && e.state.name === 'Ready').length, {timeout: 5000}).toBe(1)
    const after = await context()
    expect(after.body.pid).not.toBe(before)
    expect(after.body.env.AWS_LAMBDA_INITIALIZATION_TYPE).toBe('provisioned-concurrency')
    expect(after.report.initDuration).toBeUndefined()
  })
})

describe('events for the bench', () => {
  it('a cold invoke reports its phases in order: spawn → process → runtime ready → init done → first response', async () => {
    env = await emulate([faultsSpec()])
    const ends: {cold: boolean; coldStart?: {spawnStart: number; processStart?: number; runtimeReady?: number; initDone?: number; firstResponse: number}}[] = []
    env.emulator.on('invoke-end', (e) => ends.push(e))
    await context()
    await context()
    expect(ends.map((e) => e.cold)).toEqual([true, false])
    const c = ends[0]!.coldStart!
    expect(c.processStart).toBeGreaterThanOrEqual(c.spawnStart)
    expect(c.runtimeReady).toBeGreaterThan(c.processStart!)
    expect(c.initDone).toBeGreaterThan(c.runtimeReady!)
    expect(c.firstResponse).toBeGreaterThan(c.initDone!)
  })
})

describe('a cold start begun while the request body arrives', () => {
  it('is discarded when the body proves invalid: no environment is left', async () => {
    env = await emulate([faultsSpec()])
    const stopped: string[] = []
    env.emulator.on('environment-stopped', (e: EnvironmentEvent & {reason: string}) => stopped.push(e.reason))
    await expect(invoke(env.client, {FunctionName: 'faults', Payload: '{"broken": '})).rejects.toMatchObject({name: 'InvalidRequestContentException'})
    await expect.poll(() => stopped, {timeout: 5000}).toEqual(['unused'])
    expect(env.emulator.environments('faults')).toHaveLength(0)
    const ok = await context()
    expect(ok.report.initDuration).toBeGreaterThan(0)
  })
})
