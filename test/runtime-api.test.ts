/**
 * The host side of the Runtime API, spoken to directly: the test plays the runtime (the
 * environment's process only idles), so every status code and body is checked on the wire.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Emulator, InvokeResult} from '../src/emulator/emulator.js'
import {emulate, functionDir, spec} from './helpers.js'

let env: Awaited<ReturnType<typeof emulate>>
let emulator: Emulator
const idleRuntime = [process.execPath, '-e', 'setInterval(() => {}, 1000)']

beforeAll(async () => {
  const dir = functionDir({})
  env = await emulate([
    spec(dir, {name: 'manual', bootstrap: idleRuntime, timeout: 10}),
    spec(dir, {name: 'initfail', bootstrap: idleRuntime}),
  ])
  emulator = env.emulator
})
afterAll(() => env.close())

const base = (address: string) => `http://${address}/2018-06-01/runtime`

async function runtimeApiOf(functionName: string): Promise<string> {
  await expect.poll(() => emulator.environments(functionName).find((e) => e.state.name === 'Starting' || e.state.name === 'Ready')?.runtimeApiAddress, {timeout: 5000}).toBeTruthy()
  return emulator.environments(functionName).find((e) => e.runtimeApiAddress)!.runtimeApiAddress
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {method: 'POST', body, headers})
  return {status: response.status, text: await response.text(), type: response.headers.get('content-type')}
}

describe('Runtime API', () => {
  let api: string
  let pending: Promise<InvokeResult>
  let requestId: string

  it('GET /next delivers the event with every Lambda-Runtime-* header', async () => {
    const before = Date.now()
    pending = emulator.invoke({functionName: 'manual', payload: Buffer.from('{"hello":"runtime"}'), logType: 'Tail', clientContext: Buffer.from('{"custom":{"a":1}}').toString('base64')})
    api = await runtimeApiOf('manual')
    const response = await fetch(`${base(api)}/invocation/next`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({hello: 'runtime'})
    requestId = response.headers.get('lambda-runtime-aws-request-id')!
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    const deadline = Number(response.headers.get('lambda-runtime-deadline-ms'))
    expect(deadline).toBeGreaterThanOrEqual(before + 9000)
    expect(deadline).toBeLessThanOrEqual(Date.now() + 10_000)
    expect(response.headers.get('lambda-runtime-invoked-function-arn')).toBe('arn:aws:lambda:us-east-1:000000000000:function:manual')
    expect(response.headers.get('lambda-runtime-trace-id')).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/)
    expect(response.headers.get('lambda-runtime-client-context')).toBe('{"custom":{"a":1}}')
    expect(response.headers.get('content-type')).toBe('application/json')
  })

  it('GET /next again while the invocation is outstanding re-sends the same event (as RIE does)', async () => {
    const response = await fetch(`${base(api)}/invocation/next`)
    expect(response.headers.get('lambda-runtime-aws-request-id')).toBe(requestId)
  })

  it('POST /response for an unknown id → 400 InvalidRequestID', async () => {
    const reply = await post(`${base(api)}/invocation/not-a-request/response`, '{}')
    expect(reply.status).toBe(400)
    expect(reply.text).toBe('{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\n')
  })

  it('POST /init/error after init → 403 InvalidStateTransition', async () => {
    const reply = await post(`${base(api)}/init/error`, '{"errorType":"X","errorMessage":"late"}')
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.text)).toEqual({errorType: 'InvalidStateTransition', errorMessage: 'State transition from Running to InitError failed for runtime. Error: State transition is not allowed'})
  })

  it('POST /response → 202 {"status":"OK"}, and the invoke returns that body', async () => {
    const reply = await post(`${base(api)}/invocation/${requestId}/response`, '{"answer":42}')
    expect(reply.status).toBe(202)
    expect(reply.text).toBe('{"status":"OK"}\n')
    const result = await pending
    expect(result.status).toBe(200)
    expect(result.payload!.toString()).toBe('{"answer":42}')
    expect(result.functionError).toBeUndefined()
  })

  it('a second response for the same id → 403 InvalidStateTransition', async () => {
    const reply = await post(`${base(api)}/invocation/${requestId}/response`, '{"answer":43}')
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.text)).toEqual({
      errorType: 'InvalidStateTransition',
      errorMessage: 'State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed',
    })
  })

  it('POST /error passes the body through verbatim with X-Amz-Function-Error: Unhandled', async () => {
    pending = emulator.invoke({functionName: 'manual', payload: Buffer.from('{}')})
    const next = await fetch(`${base(api)}/invocation/next`)
    const id = next.headers.get('lambda-runtime-aws-request-id')!
    const body = '{"errorType":"Custom.Failure","errorMessage":"it broke","trace":["a","b"]}'
    const reply = await post(`${base(api)}/invocation/${id}/error`, body, {'Lambda-Runtime-Function-Error-Type': 'Function.Custom'})
    expect(reply.status).toBe(202)
    const result = await pending
    expect(result.functionError).toBe('Unhandled')
    expect(result.payload!.toString()).toBe(body)
  })

  it('a response over 6 MiB + 100 B → 413 to the runtime, Function.ResponseSizeTooLarge to the caller', async () => {
    pending = emulator.invoke({functionName: 'manual', payload: Buffer.from('{}')})
    const next = await fetch(`${base(api)}/invocation/next`)
    const id = next.headers.get('lambda-runtime-aws-request-id')!
    const reply = await post(`${base(api)}/invocation/${id}/response`, JSON.stringify({data: 'x'.repeat(6 * 1024 * 1024 + 100)}))
    expect(reply.status).toBe(413)
    expect(JSON.parse(reply.text)).toEqual({errorType: 'RequestEntityTooLarge', errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).'})
    const result = await pending
    expect(result.functionError).toBe('Unhandled')
    expect(JSON.parse(result.payload!.toString())).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    })
    // The environment survives it: the next invoke goes to the same runtime.
    pending = emulator.invoke({functionName: 'manual', payload: Buffer.from('{"again":true}')})
    const again = await fetch(`${base(api)}/invocation/next`)
    expect(await again.json()).toEqual({again: true})
    await post(`${base(api)}/invocation/${again.headers.get('lambda-runtime-aws-request-id')}/response`, 'null')
    expect((await pending).payload!.toString()).toBe('null')
  })

  it('unknown paths → 404 "404 page not found", wrong methods → 405', async () => {
    const missing = await fetch(`${base(api)}/invocation/what`)
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('404 page not found\n')
    const wrong = await fetch(`${base(api)}/invocation/next`, {method: 'POST', body: '{}'})
    expect(wrong.status).toBe(405)
  })

  it('POST /init/error during init: 202, and the first invoke returns that error', async () => {
    pending = emulator.invoke({functionName: 'initfail', payload: Buffer.from('{}'), logType: 'Tail'})
    const initApi = await runtimeApiOf('initfail')
    const body = '{"errorType":"Runtime.ImportModuleError","errorMessage":"Error: Cannot find module \'index\'","trace":[]}'
    const reply = await post(`${base(initApi)}/init/error`, body, {'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError'})
    expect(reply.status).toBe(202)
    const result = await pending
    expect(result.functionError).toBe('Unhandled')
    expect(result.payload!.toString()).toBe(body)
    const log = Buffer.from(result.logResult!, 'base64').toString()
    expect(log).toMatch(/INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError/)
    expect(log).toMatch(/\tStatus: error\tError Type: Runtime.ImportModuleError/)
    // The failed environment is discarded.
    await expect.poll(() => emulator.environments('initfail').length).toBe(0)
  })
})
