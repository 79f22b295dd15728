/**
 * Conformance of the Invoke API through the real @aws-sdk/client-lambda: status codes, headers,
 * error shapes and the exception names the SDK surfaces.
 */
import {InvokeCommand, type LambdaClient} from '@aws-sdk/client-lambda'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {InvokeEndEvent} from '../src/emulator/events.js'
import {emulate, faultsSpec, invoke, parseReport, spec, FIXTURES} from './helpers.js'
import path from 'node:path'

let env: Awaited<ReturnType<typeof emulate>>
let client: LambdaClient

beforeAll(async () => {
  env = await emulate(
    [
      faultsSpec(),
      spec(path.join(FIXTURES, 'faults'), {name: 'throttled', handler: 'handler.handler', reservedConcurrency: 0}),
      spec(path.join(FIXTURES, 'faults'), {name: 'single', handler: 'handler.handler', reservedConcurrency: 1, timeout: 5}),
    ],
    {asyncRetryDelaysMs: [50, 50]},
  )
  client = env.client
})
afterAll(() => env.close())

async function expectServiceError(promise: Promise<unknown>, name: string, status: number) {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as {name: string; $metadata: {httpStatusCode: number}; message: string; Reason?: string} | undefined
  expect(error, `expected ${name}`).toBeDefined()
  expect(error!.name).toBe(name)
  expect(error!.$metadata.httpStatusCode).toBe(status)
  return error!
}

describe('Invoke API through the AWS SDK', () => {
  it('RequestResponse: 200, the payload, X-Amz-Executed-Version, and a Tail log with START/END/REPORT', async () => {
    const result = await invoke(client, {FunctionName: 'faults', Payload: {action: 'log'}, LogType: 'Tail'})
    expect(result.StatusCode).toBe(200)
    expect(result.FunctionError).toBeUndefined()
    expect(result.ExecutedVersion).toBe('$LATEST')
    expect(result.json).toEqual({logged: true})
    const log = result.log!
    const requestId = result.$metadata.requestId!
    expect(log).toContain(`START RequestId: ${requestId} Version: $LATEST`)
    expect(log).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${requestId}\\tINFO\\thello from faults`))
    expect(log).toContain(`\t${requestId}\tERROR\tan error line`)
    expect(log).toContain(`END RequestId: ${requestId}`)
    const report = parseReport(log)
    expect(report.requestId).toBe(requestId)
    expect(report.memorySize).toBe(256)
    expect(report.maxMemoryUsed).toBeGreaterThan(5)
    expect(report.maxMemoryUsed).toBeLessThan(256)
  })

  it('without Tail there is no log result', async () => {
    const result = await invoke(client, {FunctionName: 'faults', Payload: {}})
    expect(result.LogResult).toBeUndefined()
    expect(result.json).toEqual({echo: {}})
  })

  it('an empty payload reaches the function as {}', async () => {
    const result = await invoke(client, {FunctionName: 'faults'})
    expect(result.json).toEqual({echo: {}})
  })

  it('a handler error: 200 with X-Amz-Function-Error: Unhandled and the runtime\'s error body', async () => {
    const result = await invoke(client, {FunctionName: 'faults', Payload: {action: 'throw', message: 'bad thing'}})
    expect(result.StatusCode).toBe(200)
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorType: 'TypeError', errorMessage: 'bad thing'})
    expect(Array.isArray(result.json!.trace)).toBe(true)
  })

  it('Event: 202 at once, then the function runs', async () => {
    const ended = new Promise<InvokeEndEvent>((resolve) => {
      const listener = (e: InvokeEndEvent) => {
        if (e.invocationType === 'Event') {
          env.emulator.off('invoke-end', listener)
          resolve(e)
        }
      }
      env.emulator.on('invoke-end', listener)
    })
    const result = await invoke(client, {FunctionName: 'faults', InvocationType: 'Event', Payload: {action: 'echo'}})
    expect(result.StatusCode).toBe(202)
    expect(result.text).toBe('')
    const event = await ended
    expect(event.status).toBe('success')
    expect(event.requestId).toBe(result.$metadata.requestId)
  })

  it('Event: a failing function is retried twice more, as Lambda does', async () => {
    const attempts: string[] = []
    const listener = (e: InvokeEndEvent) => {
      if (e.invocationType === 'Event' && e.status === 'function-error') attempts.push(e.requestId)
    }
    env.emulator.on('invoke-end', listener)
    const result = await invoke(client, {FunctionName: 'faults', InvocationType: 'Event', Payload: {action: 'throw'}})
    expect(result.StatusCode).toBe(202)
    await expect.poll(() => attempts.length, {timeout: 10_000}).toBe(3)
    await new Promise((r) => setTimeout(r, 300))
    env.emulator.off('invoke-end', listener)
    expect(attempts).toEqual([result.$metadata.requestId, result.$metadata.requestId, result.$metadata.requestId])
  })

  it('DryRun: 204 and nothing runs', async () => {
    let ran = false
    const listener = () => (ran = true)
    env.emulator.on('invoke-start', listener)
    const result = await invoke(client, {FunctionName: 'faults', InvocationType: 'DryRun'})
    env.emulator.off('invoke-start', listener)
    expect(result.StatusCode).toBe(204)
    expect(ran).toBe(false)
  })

  it('function names: plain, name:qualifier, full and partial ARNs', async () => {
    for (const FunctionName of ['faults', 'faults:$LATEST', 'arn:aws:lambda:us-east-1:000000000000:function:faults', '000000000000:function:faults']) {
      const result = await invoke(client, {FunctionName, Payload: {action: 'context'}})
      expect(result.json!.invokedFunctionArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:faults')
    }
    const qualified = await invoke(client, {FunctionName: 'faults', Qualifier: '$LATEST', Payload: {}})
    expect(qualified.StatusCode).toBe(200)
  })

  it('unknown function → ResourceNotFoundException 404 with AWS\'s message', async () => {
    const error = await expectServiceError(invoke(client, {FunctionName: 'nope', Payload: {}}), 'ResourceNotFoundException', 404)
    expect(error.message).toBe('Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope')
  })

  it('unknown qualifier → ResourceNotFoundException naming the qualified ARN', async () => {
    const error = await expectServiceError(invoke(client, {FunctionName: 'faults', Qualifier: '7', Payload: {}}), 'ResourceNotFoundException', 404)
    expect(error.message).toBe('Function not found: arn:aws:lambda:us-east-1:000000000000:function:faults:7')
  })

  it('malformed JSON → InvalidRequestContentException 400', async () => {
    const error = await expectServiceError(invoke(client, {FunctionName: 'faults', Payload: '{"unterminated": '}), 'InvalidRequestContentException', 400)
    expect(error.message).toMatch(/^Could not parse request body into json: Could not parse payload into json: /)
  })

  it('a synchronous payload over 6 MB → RequestTooLargeException 413', async () => {
    const big = JSON.stringify({data: 'x'.repeat(6 * 1024 * 1024)})
    const error = await expectServiceError(invoke(client, {FunctionName: 'faults', Payload: big}), 'RequestTooLargeException', 413)
    expect(error.message).toBe('Request must be smaller than 6291456 bytes for the InvokeFunction operation')
  })

  it('an Event payload over 1 MB → RequestTooLargeException 413 naming the Event limit', async () => {
    const big = JSON.stringify({data: 'x'.repeat(1024 * 1024)})
    const error = await expectServiceError(invoke(client, {FunctionName: 'faults', InvocationType: 'Event', Payload: big}), 'RequestTooLargeException', 413)
    expect(error.message).toMatch(/byte payload is too large for the Event invocation type \(limit 1048576 bytes\)$/)
  })

  it('reserved concurrency 0 → TooManyRequestsException 429 with Reason', async () => {
    const error = await expectServiceError(invoke(client, {FunctionName: 'throttled', Payload: {}}), 'TooManyRequestsException', 429)
    expect(error.message).toBe('Rate Exceeded.')
    expect(error.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded')
  })

  it('reserved concurrency 1: a second concurrent invoke is throttled, the first completes', async () => {
    const first = invoke(client, {FunctionName: 'single', Payload: {action: 'echo'}})
    // Give the first invoke time to claim the function's only unit of concurrency.
    await new Promise((r) => setTimeout(r, 20))
    const error = await expectServiceError(invoke(client, {FunctionName: 'single', Payload: {}}), 'TooManyRequestsException', 429)
    expect(error.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded')
    expect((await first).StatusCode).toBe(200)
  })

  it('client context reaches the function decoded; an invalid one is refused', async () => {
    const ClientContext = Buffer.from(JSON.stringify({custom: {tenant: 'a'}})).toString('base64')
    const result = await invoke(client, {FunctionName: 'faults', ClientContext, Payload: {action: 'context'}})
    expect(result.json!.clientContext).toEqual({custom: {tenant: 'a'}})
    await expectServiceError(invoke(client, {FunctionName: 'faults', ClientContext: 'not base64 json!', Payload: {}}), 'InvalidRequestContentException', 400)
  })

  it('an invalid invocation type → ValidationException 400', async () => {
    const error = await expectServiceError(
      client.send(new InvokeCommand({FunctionName: 'faults', InvocationType: 'Sometimes' as never})),
      'ValidationException',
      400,
    )
    expect(error.message).toContain("Value 'Sometimes' at 'invocationType' failed to satisfy constraint")
  })

  it('the function sees Lambda\'s context and environment, and not the host\'s', async () => {
    const result = await invoke(client, {FunctionName: 'faults', Payload: {action: 'context'}})
    const body = result.json as {env: Record<string, string>; [k: string]: unknown}
    expect(body).toMatchObject({functionName: 'faults', functionVersion: '$LATEST', memoryLimitInMB: '256', logGroupName: '/aws/lambda/faults'})
    expect(body.awsRequestId).toBe(result.$metadata.requestId)
    expect(body.logStreamName).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/)
    expect(body.remaining).toBeGreaterThan(1000)
    expect(body.remaining).toBeLessThanOrEqual(2000)
    // The task root: the function's directory here, the image's /var/task in a container (as on Lambda).
    const taskRoot = process.env.SAI_TEST_BACKEND === 'docker' ? '/var/task' : path.join(FIXTURES, 'faults')
    expect(body.cwd).toBe(taskRoot)
    expect(body.env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'faults',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: 'handler.handler',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
    })
    expect(body.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/)
    expect(body.env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(body.env.NODE_EXTRA_CA_CERTS).toBeUndefined()
  })

  it('a warm invoke reuses the environment: no Init Duration, same log stream', async () => {
    const a = await invoke(client, {FunctionName: 'faults', Payload: {action: 'context'}, LogType: 'Tail'})
    const b = await invoke(client, {FunctionName: 'faults', Payload: {action: 'context'}, LogType: 'Tail'})
    expect(b.json!.logStreamName).toBe(a.json!.logStreamName)
    expect(parseReport(b.log).initDuration).toBeUndefined()
  })

  it('an unknown operation → 404 with an error type the SDK can read', async () => {
    const response = await fetch(`${env.endpoint.url}/2015-03-31/functions/faults/configuration-typo`)
    expect(response.status).toBe(404)
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException')
  })
})
