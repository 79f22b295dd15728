/**
 * Where sai's AWS SDK clients point: AWS itself (region and credentials from the standard chain), or
 * a loopback endpoint such as `sai emulate`, which needs no credentials. Shared by deploy and bench --target.
 */
import {SaiError} from '../errors/sai-error.js'

/** The emulator does not check signatures: never reach for real credentials to talk to it. */
export const LOCAL_CREDENTIALS = {accessKeyId: 'sai-local', secretAccessKey: 'sai-local'} as const

export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false
  let hostname: string
  try {
    hostname = new URL(endpoint).hostname
  } catch {
    throw new SaiError('SAI_AWS_OPTIONS_INVALID', `--endpoint-url ${endpoint} is not a URL`, {hint: 'e.g. --endpoint-url http://127.0.0.1:9001 (what sai emulate prints)'})
  }
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** The client's region, or a SaiError saying how to give one. */
export async function resolveRegion(client: {config: {region: () => Promise<string>}}, what: string): Promise<string> {
  try {
    return await client.config.region()
  } catch {
    throw new SaiError('SAI_AWS_OPTIONS_INVALID', `no AWS region for ${what}`, {hint: 'pass --region, or set AWS_REGION (or a region in ~/.aws/config)'})
  }
}

export const lambdaEndpointUrl = (endpointUrl: string | undefined, region: string): string => endpointUrl ?? `https://lambda.${region}.amazonaws.com`
