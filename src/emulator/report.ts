/** Lambda's platform log lines, byte for byte (tab-separated, trailing tab on REPORT). */

export interface ReportFields {
  requestId: string
  durationMs: number
  billedDurationMs: number
  memorySizeMb: number
  maxMemoryUsedMb: number
  /** Only on an environment's first invoke after an on-demand init. */
  initDurationMs?: number
  status?: 'timeout' | 'error'
  errorType?: string
}

export const startLine = (requestId: string, version: string): string => `START RequestId: ${requestId} Version: ${version}`

export const endLine = (requestId: string): string => `END RequestId: ${requestId}`

export function reportLine(r: ReportFields): string {
  let line =
    `REPORT RequestId: ${r.requestId}\tDuration: ${r.durationMs.toFixed(2)} ms\tBilled Duration: ${r.billedDurationMs} ms\t` +
    `Memory Size: ${r.memorySizeMb} MB\tMax Memory Used: ${r.maxMemoryUsedMb} MB\t`
  if (r.initDurationMs !== undefined) line += `Init Duration: ${r.initDurationMs.toFixed(2)} ms\t`
  if (r.status) line += `Status: ${r.status}${r.errorType ? `\tError Type: ${r.errorType}` : ''}`
  return line
}

export function initReportLine(initDurationMs: number, phase: 'init' | 'invoke', status: 'error' | 'timeout', errorType?: string): string {
  return `INIT_REPORT Init Duration: ${initDurationMs.toFixed(2)} ms\tPhase: ${phase}\tStatus: ${status}${errorType ? `\tError Type: ${errorType}` : ''}`
}

/**
 * Billing is per 1 ms, rounded up; since 2025-08-01 INIT is billed on a cold start too. Durations
 * are rounded to the printed 0.01 ms first, so the line always adds up.
 */
export function billedDuration(durationMs: number, initDurationMs = 0): number {
  const hundredths = Math.round(durationMs * 100) + Math.round(initDurationMs * 100)
  return Math.max(1, Math.ceil(hundredths / 100))
}

/** Parses a REPORT line (lambda-perf's regex, plus the Status fields). */
export function parseReportLine(line: string): ReportFields | undefined {
  const m = /^REPORT RequestId: (.*?)\tDuration: (.*?) ms\tBilled Duration: (.*?) ms\tMemory Size: (.*?) MB\tMax Memory Used: (.*?) MB\t(?:Init Duration: (.*?) ms\t)?(?:Status: (\w+)(?:\tError Type: (.*))?)?$/.exec(line)
  if (!m) return undefined
  return {
    requestId: m[1]!,
    durationMs: Number(m[2]),
    billedDurationMs: Number(m[3]),
    memorySizeMb: Number(m[4]),
    maxMemoryUsedMb: Number(m[5]),
    ...(m[6] === undefined ? {} : {initDurationMs: Number(m[6])}),
    ...(m[7] === undefined ? {} : {status: m[7] as 'timeout' | 'error'}),
    ...(m[8] === undefined ? {} : {errorType: m[8]}),
  }
}
