/**
 * One handler per Runtime API endpoint. Each validates the wire request and hands it to the
 * environment's state machine, which decides the reply.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {readBody} from '../http-body.js'
import {MAX_RUNTIME_PAYLOAD_BYTES, payloadTooLarge, sendReply, type RuntimeApiReply} from './wire.js'

/** What an execution environment answers on its Runtime API. */
export interface RuntimeApiTarget {
  /** GET /next: answer now or hold `res` until an invocation arrives. */
  next(req: IncomingMessage, res: ServerResponse): void
  /** `outputBytes`: what the runtime had written to stdout/stderr when it answered (sai's runtime says). */
  response(requestId: string, body: Buffer, outputBytes?: number): RuntimeApiReply
  /** A response over the size limit: the invoke fails with Function.ResponseSizeTooLarge. */
  responseTooLarge(requestId: string, size: number): RuntimeApiReply
  error(requestId: string, body: Buffer, errorType: string | undefined, outputBytes?: number): RuntimeApiReply
  initError(body: Buffer, errorType: string | undefined): RuntimeApiReply
}

const outputBytesHeader = (req: IncomingMessage): number | undefined => {
  const value = Number(req.headers['sai-output-bytes'])
  return Number.isInteger(value) && value >= 0 ? value : undefined
}

const errorTypeHeader = (req: IncomingMessage): string | undefined => {
  const value = req.headers['lambda-runtime-function-error-type']
  return Array.isArray(value) ? value[0] : value
}

export function handleNext(target: RuntimeApiTarget, req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  target.next(req, res)
}

export async function handleResponse(target: RuntimeApiTarget, requestId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const read = await readBody(req, MAX_RUNTIME_PAYLOAD_BYTES)
  if (!read.ok) {
    const reply = target.responseTooLarge(requestId, read.size)
    return sendReply(res, reply.status === 202 ? payloadTooLarge() : reply)
  }
  sendReply(res, target.response(requestId, read.body, outputBytesHeader(req)))
}

export async function handleError(target: RuntimeApiTarget, requestId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const read = await readBody(req, MAX_RUNTIME_PAYLOAD_BYTES)
  if (!read.ok) return sendReply(res, payloadTooLarge())
  sendReply(res, target.error(requestId, read.body, errorTypeHeader(req), outputBytesHeader(req)))
}

export async function handleInitError(target: RuntimeApiTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const read = await readBody(req, MAX_RUNTIME_PAYLOAD_BYTES)
  if (!read.ok) return sendReply(res, payloadTooLarge())
  sendReply(res, target.initError(read.body, errorTypeHeader(req)))
}
