/**
 * The only place that knows how the Lambda service API renders its errors: status, the
 * `x-amzn-ErrorType` header the SDK reads the code from, and bodies with `Type` and `Message` or
 * `message` (the casing follows the SDK's model of each exception).
 */
import type {ServerResponse} from 'node:http'

export type ThrottleReason =
  | 'ConcurrentInvocationLimitExceeded'
  | 'ReservedFunctionConcurrentInvocationLimitExceeded'
  | 'FunctionInvocationRateLimitExceeded'
  | 'CallerRateLimitExceeded'

export class LambdaServiceError extends Error {
  constructor(
    /** The exception name the SDK will surface. */
    readonly code: string,
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = code
  }
}

const user = (code: string, status: number, message: string, messageKey: 'Message' | 'message', extra: Record<string, unknown> = {}) =>
  new LambdaServiceError(code, status, message, {Type: 'User', [messageKey]: message, ...extra})

export const functionArn = (region: string, account: string, name: string, qualifier?: string): string =>
  `arn:aws:lambda:${region}:${account}:function:${name}${qualifier ? `:${qualifier}` : ''}`

export const resourceNotFound = (arn: string) =>
  user('ResourceNotFoundException', 404, `Function not found: ${arn}`, 'Message')

export const tooManyRequests = (reason: ThrottleReason, retryAfterSeconds?: number) => {
  const error = user('TooManyRequestsException', 429, 'Rate Exceeded.', 'message', {Reason: reason})
  if (retryAfterSeconds !== undefined) error.headers['Retry-After'] = String(retryAfterSeconds)
  return error
}

export const requestTooLarge = (limit: number, operation = 'InvokeFunction') =>
  user('RequestTooLargeException', 413, `Request must be smaller than ${limit} bytes for the ${operation} operation`, 'message')

export const eventTooLarge = (size: number, limit: number) =>
  user('RequestTooLargeException', 413, `${size} byte payload is too large for the Event invocation type (limit ${limit} bytes)`, 'message')

export const invalidRequestContent = (message: string) => user('InvalidRequestContentException', 400, message, 'message')

export const invalidParameterValue = (message: string) => user('InvalidParameterValueException', 400, message, 'message')

export const unsupportedMediaType = (contentType: string) =>
  user('UnsupportedMediaTypeException', 415, `The content type of the Invoke request body is not JSON: ${contentType}`, 'message')

/** AWS's input validation (a value outside an enum) answers with a ValidationException. */
export const validationError = (value: string, member: string, allowed: readonly string[]) =>
  new LambdaServiceError(
    'ValidationException',
    400,
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    {message: `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`},
  )

export const resourceConflict = (message: string) => user('ResourceConflictException', 409, message, 'message')

/** An invoke or a change of a function that is not Active (Pending while created, Failed). */
export const functionNotReady = (state: string) =>
  resourceConflict(`The operation cannot be performed at this time. The function is currently in the following state: ${state}`)

/** A change while the previous one is still being applied (LastUpdateStatus InProgress). */
export const updateInProgress = (arn: string) =>
  resourceConflict(`The operation cannot be performed at this time. An update is in progress for resource: ${arn}`)

/** A ResourceNotFoundException with AWS's message for what is missing (an alias, a version, a policy). */
export const notFound = (message: string) => user('ResourceNotFoundException', 404, message, 'Message')

export const preconditionFailed = (message: string) => user('PreconditionFailedException', 412, message, 'message')

export const provisionedConcurrencyConfigNotFound = () =>
  user('ProvisionedConcurrencyConfigNotFoundException', 404, 'No Provisioned Concurrency Config found for this function', 'message')

/** AWS's input validation: "1 validation error detected: Value … at '…' failed to satisfy constraint: …". */
export const validationException = (value: unknown, member: string, constraint: string) => {
  const message = `1 validation error detected: Value ${value === null ? 'null' : `'${String(value)}'`} at '${member}' failed to satisfy constraint: ${constraint}`
  return new LambdaServiceError('ValidationException', 400, message, {message})
}

export const unknownOperation = (method: string, path: string) =>
  new LambdaServiceError('UnknownOperationException', 404, `Unknown operation ${method} ${path}`, {Type: 'User', message: `Unknown operation ${method} ${path}`})

export const serviceException = (message: string) =>
  new LambdaServiceError('ServiceException', 500, message, {Type: 'Service', Message: message})

export function sendServiceError(res: ServerResponse, error: LambdaServiceError, requestId: string): void {
  const body = JSON.stringify(error.body)
  res.writeHead(error.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
    'x-amzn-ErrorType': error.code,
    ...error.headers,
  })
  res.end(body)
}
