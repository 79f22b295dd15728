/**
 * The Runtime API's wire format, as AWS's Runtime Interface Emulator renders it (rapi/rendering):
 * JSON bodies end with a newline, errors are {"errorMessage","errorType"}.
 */
import type {ServerResponse} from 'node:http'

export const RUNTIME_API_PREFIX = '/2018-06-01/runtime'

/** The largest response or error body a runtime may post: 6 MiB + 100 B. */
export const MAX_RUNTIME_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100

/** An invocation as handed to the runtime by GET /next. */
export interface RuntimeInvocation {
  requestId: string
  payload: Buffer
  deadlineMs: number
  invokedFunctionArn: string
  traceId: string
  /** Decoded X-Amz-Client-Context (JSON text). */
  clientContext?: string
}

export type RuntimeApiReply =
  | {status: 202}
  | {status: 400; errorType: 'InvalidRequestID'; errorMessage: string}
  | {status: 403; errorType: 'InvalidStateTransition'; errorMessage: string}
  | {status: 413; errorType: 'RequestEntityTooLarge'; errorMessage: string}

export const ACCEPTED: RuntimeApiReply = {status: 202}

export const invalidRequestId = (): RuntimeApiReply => ({status: 400, errorType: 'InvalidRequestID', errorMessage: 'Invalid request ID'})

/** RIE's text for a refused transition (handler/constants.go). */
export const invalidStateTransition = (from: string, to: string): RuntimeApiReply => ({
  status: 403,
  errorType: 'InvalidStateTransition',
  errorMessage: `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`,
})

export const payloadTooLarge = (): RuntimeApiReply => ({
  status: 413,
  errorType: 'RequestEntityTooLarge',
  errorMessage: `Exceeded maximum allowed payload size (${MAX_RUNTIME_PAYLOAD_BYTES} bytes).`,
})

export function sendReply(res: ServerResponse, reply: RuntimeApiReply): void {
  const body =
    reply.status === 202
      ? '{"status":"OK"}\n'
      : JSON.stringify({errorMessage: reply.errorMessage, errorType: reply.errorType}) + '\n'
  res.writeHead(reply.status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)})
  res.end(body)
}

export function sendInvocation(res: ServerResponse, invocation: RuntimeInvocation): void {
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': invocation.payload.byteLength,
    'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
    'Lambda-Runtime-Deadline-Ms': String(Math.round(invocation.deadlineMs)),
    'Lambda-Runtime-Invoked-Function-Arn': invocation.invokedFunctionArn,
    'Lambda-Runtime-Trace-Id': invocation.traceId,
  }
  if (invocation.clientContext !== undefined) headers['Lambda-Runtime-Client-Context'] = invocation.clientContext
  res.writeHead(200, headers)
  res.end(invocation.payload)
}
