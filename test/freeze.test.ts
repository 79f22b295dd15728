/**
 * --freeze: between invokes an environment is frozen, as Lambda freezes an idle sandbox, so work
 * left running in the background stops — on both backends. Without it, the work goes on.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'
import {emulate, functionDir, invoke, spec} from './helpers.js'

// Counts ticks of a background timer that outlives each invoke.
const dir = functionDir({
  'sai.yaml': 'name: ticker\nhandler: handler.handler\nmemory: 512\n',
  'handler.mjs': 'let ticks = 0\nsetInterval(() => ticks++, 10)\nexport const handler = async () => ({ticks})\n',
})
const ticker = () => spec(dir, {name: 'ticker', handler: 'handler.handler', memory: 512})

async function ticksWhileIdle(options: {backend: 'process' | 'docker'; freeze: boolean}): Promise<number> {
  const running = await emulate([ticker()], options)
  try {
    const first = (await invoke(running.client, {FunctionName: 'ticker', Payload: {}})).json as {ticks: number}
    await sleep(600)
    const second = (await invoke(running.client, {FunctionName: 'ticker', Payload: {}})).json as {ticks: number}
    return second.ticks - first.ticks
  } finally {
    await running.close()
  }
}

describe('--freeze', () => {
  for (const backend of ['process', 'docker'] as const) {
    it(`${backend}: background work stops between invokes, and goes on without it`, async () => {
      // 600 ms of a 10 ms timer: about 60 ticks when it runs, a handful (around the invokes) when frozen.
      expect(await ticksWhileIdle({backend, freeze: false})).toBeGreaterThan(30)
      expect(await ticksWhileIdle({backend, freeze: true})).toBeLessThan(10)
    })
  }
})
