/** `sai invoke`: one call to the Invoke API through the real AWS SDK, against the emulator or AWS. */
import {readFileSync} from 'node:fs'
import {InvokeCommand, LambdaClient, type InvocationType, type LogType} from '@aws-sdk/client-lambda'
import {isLocalEndpoint, LOCAL_CREDENTIALS} from '../aws/endpoint.js'
import {SaiError} from '../errors/sai-error.js'

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:9001'

export interface InvokeOptions {
  functionName: string
  /** JSON text, or @path of a file holding it. */
  payload?: string
  endpointUrl?: string
  region?: string
  invocationType?: InvocationType
  logType?: LogType
  qualifier?: string
  /** A JSON object, sent base64-encoded as X-Amz-Client-Context. */
  clientContext?: string
}

export interface InvokeOutput {
  statusCode: number
  functionError?: string
  executedVersion?: string
  /** The response payload, parsed when it is JSON. */
  payload: unknown
  /** The decoded X-Amz-Log-Result (last 4 KB of the log), when Tail was asked for. */
  log?: string
  durationMs: number
}

export function readPayload(payload: string | undefined): Uint8Array | undefined {
  if (payload === undefined) return undefined
  let text = payload
  if (payload.startsWith('@')) {
    const file = payload.slice(1)
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new SaiError('SAI_PAYLOAD_INVALID', `cannot read the payload file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        hint: 'pass --payload @<path of a JSON file> or inline JSON',
      })
    }
  }
  try {
    JSON.parse(text)
  } catch (error) {
    throw new SaiError('SAI_PAYLOAD_INVALID', `the payload${payload.startsWith('@') ? ` in ${payload.slice(1)}` : ''} is not valid JSON: ${(error as Error).message}`, {
      hint: `quote it for your shell, e.g. --payload '{"key": "value"}', or pass a file with --payload @event.json`,
    })
  }
  return Buffer.from(text)
}

/** A Lambda client for an endpoint; dummy credentials for a local one when none are configured. */
export function lambdaClient(endpointUrl: string | undefined, region: string | undefined): LambdaClient {
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE)
  return new LambdaClient({
    endpoint: endpointUrl,
    region: region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 1,
    ...(isLocalEndpoint(endpointUrl) && !hasCredentials ? {credentials: LOCAL_CREDENTIALS} : {}),
  })
}

export async function invokeFunction(options: InvokeOptions): Promise<InvokeOutput> {
  const payload = readPayload(options.payload)
  let clientContext: string | undefined
  if (options.clientContext !== undefined) {
    try {
      JSON.parse(options.clientContext)
    } catch {
      throw new SaiError('SAI_PAYLOAD_INVALID', `--client-context is not valid JSON: ${options.clientContext}`, {hint: `pass a JSON object, e.g. --client-context '{"custom": {"k": "v"}}'`})
    }
    clientContext = Buffer.from(options.clientContext).toString('base64')
  }
  const endpoint = options.endpointUrl ?? DEFAULT_ENDPOINT
  const client = lambdaClient(endpoint, options.region)
  const started = performance.now()
  try {
    const result = await client.send(
      new InvokeCommand({
        FunctionName: options.functionName,
        Payload: payload,
        InvocationType: options.invocationType,
        LogType: options.logType,
        Qualifier: options.qualifier,
        ClientContext: clientContext,
      }),
    )
    const text = result.Payload ? Buffer.from(result.Payload).toString('utf8') : ''
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      // not JSON: returned as text
    }
    return {
      statusCode: result.StatusCode ?? 0,
      functionError: result.FunctionError,
      executedVersion: result.ExecutedVersion,
      payload: parsed,
      log: result.LogResult ? Buffer.from(result.LogResult, 'base64').toString('utf8') : undefined,
      durationMs: performance.now() - started,
    }
  } catch (error) {
    const err = error as Error & {code?: string; $metadata?: {httpStatusCode?: number}}
    if (err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(err.message)) || err.name === 'ECONNREFUSED') {
      throw new SaiError('SAI_ENDPOINT_UNREACHABLE', `nothing answers at ${endpoint}`, {
        hint: 'start the emulator with `sai emulate` (in another terminal), or pass --endpoint-url',
        cause: error,
      })
    }
    if (err.$metadata?.httpStatusCode) {
      throw new SaiError('SAI_AWS_ERROR', `${err.name} (HTTP ${err.$metadata.httpStatusCode}): ${err.message}`, {
        hint: err.name === 'ResourceNotFoundException' ? 'check the function name: `sai emulate` prints the functions it serves' : 'see the message above',
        cause: error,
      })
    }
    throw error
  } finally {
    client.destroy()
  }
}
