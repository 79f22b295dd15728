/**
 * A real peer on the Runtime API: AWS's own Node runtime interface client (npm aws-lambda-ric),
 * with no sai code in the environment, serves a plain handler through the emulator.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emulate, functionDir, invoke, parseReport, ROOT, spec} from './helpers.js'

const RIC = path.join(ROOT, 'test/peers/node_modules/aws-lambda-ric/index.mjs')

const handler = `
export const handler = async (event, context) => {
  console.log('ric handler got', JSON.stringify(event))
  if (event.fail) throw new RangeError('ric says no')
  return {
    echo: event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    arn: context.invokedFunctionArn,
    remaining: context.getRemainingTimeInMillis(),
    clientContext: context.clientContext,
    trace: process.env._X_AMZN_TRACE_ID,
  }
}
`

let env: Awaited<ReturnType<typeof emulate>>

beforeAll(async () => {
  if (!existsSync(RIC)) throw new Error(`aws-lambda-ric is not installed at ${RIC}: run \`node scripts/ensure-peers.js\` (npm test does)`)
  const dir = functionDir({'index.mjs': handler, 'broken.mjs': 'throw new Error("cannot even start")\nexport const handler = () => 1\n'})
  env = await emulate([
    spec(dir, {name: 'ric', handler: 'index.handler', bootstrap: [process.execPath, RIC], memory: 512, timeout: 5}),
    spec(dir, {name: 'ric-broken', handler: 'broken.handler', bootstrap: [process.execPath, RIC]}),
  ])
})
afterAll(() => env?.close())

describe('aws-lambda-ric through the emulator', () => {
  it('serves invokes: cold with Init Duration, then warm, with the RIC\'s own log lines', async () => {
    const cold = await invoke(env.client, {FunctionName: 'ric', Payload: {n: 1}, LogType: 'Tail'})
    expect(cold.FunctionError).toBeUndefined()
    const body = cold.json as Record<string, unknown>
    expect(body).toMatchObject({echo: {n: 1}, functionName: 'ric', memoryLimitInMB: '512', arn: 'arn:aws:lambda:us-east-1:000000000000:function:ric'})
    expect(body.requestId).toBe(cold.$metadata.requestId)
    expect(body.remaining).toBeGreaterThan(4000)
    expect(body.trace).toMatch(/^Root=1-/)
    expect(cold.log).toContain(`\t${cold.$metadata.requestId}\tINFO\tric handler got {"n":1}`)
    expect(parseReport(cold.log).initDuration).toBeGreaterThan(0)
    const warm = await invoke(env.client, {FunctionName: 'ric', Payload: {n: 2}, LogType: 'Tail'})
    expect((warm.json as {echo: unknown}).echo).toEqual({n: 2})
    expect(parseReport(warm.log).initDuration).toBeUndefined()
  })

  it('passes the client context the way the RIC expects it', async () => {
    const ClientContext = Buffer.from(JSON.stringify({custom: {user: 'u1'}})).toString('base64')
    const result = await invoke(env.client, {FunctionName: 'ric', Payload: {}, ClientContext})
    expect((result.json as {clientContext: unknown}).clientContext).toMatchObject({custom: {user: 'u1'}})
  })

  it('a handler error comes back as the RIC posted it', async () => {
    const result = await invoke(env.client, {FunctionName: 'ric', Payload: {fail: true}})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorType: 'RangeError', errorMessage: 'ric says no'})
    expect(Array.isArray(result.json!.trace)).toBe(true)
    const next = await invoke(env.client, {FunctionName: 'ric', Payload: {n: 3}})
    expect((next.json as {echo: unknown}).echo).toEqual({n: 3})
  })

  it('an init failure posted on /runtime/init/error is returned to the invoke', async () => {
    const result = await invoke(env.client, {FunctionName: 'ric-broken', Payload: {}, LogType: 'Tail'})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorMessage: expect.stringContaining('cannot even start')})
    expect(result.log).toMatch(/INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error/)
  })
})
