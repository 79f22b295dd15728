/** The AWS SDK failures that are the user's to fix, as SaiErrors: no credentials, an endpoint that does not answer, a refusal. */
import {SaiError} from '../errors/sai-error.js'

export type SdkError = Error & {code?: string; cause?: {code?: string}; $metadata?: {httpStatusCode?: number; requestId?: string}}

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']

/**
 * A SaiError for missing credentials, an unreachable endpoint, or an AWS API that refused the call
 * (any answer with an HTTP status: access denied, validation, …); anything else is returned as it is.
 */
export function awsCallError(error: unknown, target: {endpoint: string; local: boolean; where?: string; refusedHint?: string}): unknown {
  if (error instanceof SaiError) return error
  const e = error as SdkError
  const where = target.where ?? target.endpoint
  if (e?.name === 'CredentialsProviderError' || /Could not load credentials/.test(e?.message ?? ''))
    return new SaiError('SAI_AWS_CREDENTIALS_MISSING', `no AWS credentials were found to call ${where}`, {
      hint: 'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with aws sso login; a local --endpoint-url needs none',
      cause: error,
    })
  const code = e?.code ?? e?.cause?.code
  if (code && UNREACHABLE.includes(code))
    return new SaiError('SAI_AWS_UNREACHABLE', `cannot reach the AWS API at ${target.endpoint} (${code})`, {
      hint: target.local ? 'start it with sai emulate (it prints the endpoint), or fix --endpoint-url' : 'check the region, the network and --endpoint-url',
      cause: error,
    })
  if (e?.$metadata?.httpStatusCode)
    return new SaiError('SAI_AWS_ERROR', `the AWS API at ${where} refused the call: ${e.name}: ${e.message}`, {
      hint: target.refusedHint ?? (/AccessDenied|Unrecognized|Signature|Token|Credential/.test(e.name) ? 'check the credentials and their IAM permissions' : 'see the message'),
      cause: error,
    })
  return error
}
