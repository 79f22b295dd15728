#!/usr/bin/env node
/**
 * sai's function runtime: the process inside an execution environment. It speaks the Lambda
 * Runtime API (AWS_LAMBDA_RUNTIME_API) and runs unchanged in `sai emulate` and on AWS Lambda.
 *
 * Configuration, all from the environment (Lambda's variables plus sai's):
 *   _HANDLER            "<module>.<export>" relative to LAMBDA_TASK_ROOT (a plain Lambda handler,
 *                       or, in an image, the first argument: the image's CMD, as AWS's base images take it;
 *                       or, with SAI_MODEL, a module that wraps the loaded model)
 *   SAI_MODEL           path of the .onnx model, relative to LAMBDA_TASK_ROOT
 *   SAI_BATCH_LIMIT     the largest {"batch": [...]} accepted
 *   SAI_INTRA_OP_THREADS  onnxruntime intra-op threads (default: Lambda's vCPUs for the memory size)
 */
import {format} from 'node:util'
import {initFunction} from './function-init.js'
import {RuntimeError, type HandlerFunction} from './handler-loader.js'
import {RuntimeApiClient, type ErrorBody, type Invocation} from './runtime-api-client.js'

const env = process.env
// process.env stores strings: assigning undefined would set the handler to "undefined".
if (!env._HANDLER && process.argv[2]) env._HANDLER = process.argv[2]
const taskRoot = env.LAMBDA_TASK_ROOT ?? process.cwd()
/** Bytes written to stdout and stderr, by console or directly: see RuntimeApiClient's outputBytes. */
let outputBytes = 0
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    outputBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8') : chunk.length
    return write(chunk, ...rest)
  }) as typeof stream.write
}
const client = new RuntimeApiClient(env.AWS_LAMBDA_RUNTIME_API ?? '127.0.0.1:9001', {
  'Sai-Process-Start-Ms': performance.timeOrigin.toFixed(3),
  'Sai-Runtime-Ready-Ms': (performance.timeOrigin + performance.now()).toFixed(3),
}, env.SAI_RUNTIME_API_SOCKET, () => outputBytes)
let currentRequestId: string | undefined
let initialized = false

/** Lambda's Node log format: timestamp, request id, level, message; newlines become \r so a record stays one line. */
function patchConsole(): void {
  const levels = {log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE'} as const
  for (const [method, level] of Object.entries(levels)) {
    ;(console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${format(...args)}`
      process.stdout.write(line.replace(/\n/g, '\r') + '\n')
    }
  }
}

export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof Error) {
    return {
      errorType: error instanceof RuntimeError ? error.errorType : error.name,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    }
  }
  return {errorType: typeof error, errorMessage: String(error), trace: []}
}

function makeContext(invocation: Invocation) {
  const parse = (value?: string): unknown => {
    if (!value) return undefined
    try {
      return JSON.parse(value)
    } catch {
      return undefined
    }
  }
  return {
    awsRequestId: invocation.requestId,
    invokedFunctionArn: invocation.invokedFunctionArn,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    clientContext: parse(invocation.clientContext),
    identity: parse(invocation.cognitoIdentity),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => invocation.deadlineMs - Date.now(),
  }
}

/**
 * A handler whose promise never settles and leaves nothing else to do would let Node exit quietly.
 * Like Lambda's own Node runtime, fail the invoke with Runtime.NodeJsExit instead.
 */
const NODE_JS_EXIT_MESSAGE =
  'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes'

let abandonInvocation: ((error: Error) => void) | undefined
process.on('beforeExit', () => abandonInvocation?.(new RuntimeError('Runtime.NodeJsExit', NODE_JS_EXIT_MESSAGE)))

async function serve(handler: HandlerFunction): Promise<never> {
  for (;;) {
    const invocation = await client.nextInvocation()
    currentRequestId = invocation.requestId
    if (invocation.traceId) env._X_AMZN_TRACE_ID = invocation.traceId
    else delete env._X_AMZN_TRACE_ID
    try {
      const event = invocation.body.length === 0 ? {} : JSON.parse(invocation.body.toString('utf8'))
      const abandoned = new Promise<never>((_, reject) => (abandonInvocation = reject))
      const result = await Promise.race([handler(event, makeContext(invocation)), abandoned])
      await client.postResponse(invocation.requestId, JSON.stringify(result === undefined ? null : result))
    } catch (error) {
      const body = toErrorBody(error)
      console.error('Invoke Error', JSON.stringify(body))
      await client.postError(invocation.requestId, body)
    }
  }
}

/** An exception nobody caught ends the environment, as in Lambda's runtime: report it, then exit. */
async function die(error: unknown, exitCode: number): Promise<never> {
  const body = toErrorBody(error)
  console.error(initialized ? 'Uncaught Exception' : 'Init Error', JSON.stringify(body))
  try {
    if (!initialized) await client.postInitError(body)
    else if (currentRequestId) await client.postError(currentRequestId, body)
  } finally {
    process.exit(exitCode)
  }
}

async function main(): Promise<void> {
  patchConsole()
  process.on('uncaughtException', (error) => void die(error, 129))
  process.on('unhandledRejection', (reason) => void die(reason, 128))
  let handler: HandlerFunction
  try {
    handler = await initFunction(env, taskRoot)
  } catch (error) {
    return void die(error, 129)
  }
  initialized = true
  await serve(handler)
}

void main()
