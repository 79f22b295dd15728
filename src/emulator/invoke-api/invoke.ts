/** POST /2015-03-31/functions/{FunctionName}/invocations — the Invoke API the AWS SDK speaks. */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Emulator, InvocationType, InvokeResult} from '../emulator.js'
import {readBody} from '../http-body.js'
import {LAMBDA_LIMITS} from '../../spec/limits.js'
import {eventTooLarge, requestTooLarge, validationError} from './aws-errors.js'

const INVOCATION_TYPES = ['DryRun', 'RequestResponse', 'Event'] as const
const LOG_TYPES = ['None', 'Tail'] as const

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export async function handleInvoke(emulator: Emulator, functionName: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const invocationType = header(req, 'x-amz-invocation-type') ?? 'RequestResponse'
  if (!(INVOCATION_TYPES as readonly string[]).includes(invocationType)) {
    req.resume()
    throw validationError(invocationType, 'invocationType', INVOCATION_TYPES)
  }
  const logType = header(req, 'x-amz-log-type') ?? 'None'
  if (!(LOG_TYPES as readonly string[]).includes(logType)) {
    req.resume()
    throw validationError(logType, 'logType', LOG_TYPES)
  }
  // The emulator may start a cold start while the body still arrives.
  const body = readBody(req, LAMBDA_LIMITS.syncPayloadBytes).then((read) => {
    if (read.ok) return read.body
    throw invocationType === 'Event' ? eventTooLarge(read.size, LAMBDA_LIMITS.asyncPayloadBytes) : requestTooLarge(LAMBDA_LIMITS.syncPayloadBytes)
  })
  let result: InvokeResult
  try {
    result = await emulator.invoke({
      functionName,
      qualifier: query.get('Qualifier') ?? undefined,
      invocationType: invocationType as InvocationType,
      logType: logType as 'None' | 'Tail',
      clientContext: header(req, 'x-amz-client-context'),
      payload: body,
    })
  } catch (error) {
    // Answer only once the request is read: an early answer would cut a large upload.
    await body.catch(() => undefined)
    throw error
  }
  const headers: Record<string, string | number> = {'x-amzn-RequestId': result.requestId}
  if (result.status === 200) {
    headers['Content-Type'] = 'application/json'
    headers['X-Amz-Executed-Version'] = result.executedVersion ?? '$LATEST'
    if (result.functionError) headers['X-Amz-Function-Error'] = result.functionError
    if (result.logResult !== undefined) headers['X-Amz-Log-Result'] = result.logResult
  }
  const answer = result.payload ?? Buffer.alloc(0)
  headers['Content-Length'] = answer.byteLength
  res.writeHead(result.status, headers)
  res.end(answer)
}
