/** The AWS SDK failures that are the user's to fix, as SaiErrors: no credentials, or an endpoint that does not answer. */
import {SaiError} from './sai-error.js'

export type SdkError = Error & {code?: string; cause?: {code?: string}; $metadata?: {httpStatusCode?: number; requestId?: string}}

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']

/** A SaiError for missing credentials or an unreachable endpoint; anything else is returned as it is. */
export function awsCallError(error: unknown, target: {endpoint: string; local: boolean; where?: string}): unknown {
  if (error instanceof SaiError) return error
  const e = error as SdkError
  if (e?.name === 'CredentialsProviderError' || /Could not load credentials/.test(e?.message ?? ''))
    return new SaiError('SAI_AWS_CREDENTIALS_MISSING', `no AWS credentials were found to call ${target.where ?? target.endpoint}`, {
      hint: 'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with aws sso login; a local --endpoint-url needs none',
      cause: error,
    })
  const code = e?.code ?? e?.cause?.code
  if (code && UNREACHABLE.includes(code))
    return new SaiError('SAI_DEPLOY_UNREACHABLE', `cannot reach the Lambda API at ${target.endpoint} (${code})`, {
      hint: target.local ? 'start it with sai emulate (it prints the endpoint), or fix --endpoint-url' : 'check the region, the network and --endpoint-url',
      cause: error,
    })
  return error
}
