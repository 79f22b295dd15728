/** AWS Lambda's limits (REFERENCE.md §Resources and limits), in one place. */
export const LAMBDA_LIMITS = {
  memoryMb: {min: 128, max: 10_240},
  timeoutSeconds: {min: 1, max: 900},
  ephemeralStorageMb: {min: 512, max: 10_240},
  environmentBytes: 4096,
  functionName: {maxLength: 64, pattern: /^[a-zA-Z0-9_-]+$/},
  /** On-demand init is limited to 10 s; provisioned concurrency may take up to 15 min. */
  initTimeoutMs: 10_000,
  provisionedInitTimeoutMs: 15 * 60_000,
  syncPayloadBytes: 6 * 1024 * 1024,
  asyncPayloadBytes: 1024 * 1024,
  /** The Runtime API accepts 6 MiB + 100 B per response (RIE). */
  responseBytes: 6 * 1024 * 1024 + 100,
  accountConcurrency: 1000,
  logTailBytes: 4096,
  clientContextBytes: 3583,
  /** 1,769 MB of memory = one vCPU. */
  mbPerVcpu: 1769,
} as const

/** An execution role's ARN as Lambda's API validates it (CreateFunction's Role), unanchored as its error messages quote it. */
export const ROLE_ARN_PATTERN = 'arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+'
export const ROLE_ARN = new RegExp(`^${ROLE_ARN_PATTERN}$`)

/**
 * The size Lambda holds against `LAMBDA_LIMITS.environmentBytes`: the variables as compact JSON, in
 * UTF-8 bytes. Its error quotes that string ("exceeded the 4KB limit. String measured: {...}"), so the
 * quotes, colons and commas count along with the names and values.
 */
export function environmentBytes(variables: Record<string, string>): number {
  return Buffer.byteLength(JSON.stringify(variables))
}

export const LAMBDA_NODE_RUNTIMES = ['nodejs20.x', 'nodejs22.x', 'nodejs24.x'] as const
export const ARCHITECTURES = ['x86_64', 'arm64'] as const

/** The CPU share as a fraction of one core, capped at the host's cores. */
export function lambdaCpuShare(memoryMb: number, hostCores: number): {cores: number; capped: boolean} {
  const wanted = Math.min(6, memoryMb / LAMBDA_LIMITS.mbPerVcpu)
  return wanted > hostCores ? {cores: hostCores, capped: true} : {cores: wanted, capped: false}
}
