import {describe, it, expect} from 'vitest'
import {billedDuration, endLine, initReportLine, parseReportLine, reportLine, startLine, type ReportFields} from './report.js'

const ID = '3604209a-e9a3-11e6-939a-754dd98c7be3'
/** lambda-perf's REPORT regex, verbatim. */
const LAMBDA_PERF = /REPORT RequestId: (.*)\tDuration: (.*) ms\tBilled Duration: (.*) ms\tMemory Size: (.*) MB\tMax Memory Used: (.*) MB(\tInit Duration: (.*) ms)?\t/

const warm: ReportFields = {requestId: ID, durationMs: 12.3456, billedDurationMs: 13, memorySizeMb: 1024, maxMemoryUsedMb: 87}

describe('startLine / endLine', () => {
  it('prints Lambda\'s START and END lines', () => {
    expect(startLine(ID, '$LATEST')).toBe(`START RequestId: ${ID} Version: $LATEST`)
    expect(endLine(ID)).toBe(`END RequestId: ${ID}`)
  })
})

describe('reportLine', () => {
  it('is tab separated with a trailing tab, durations to 0.01 ms', () => {
    expect(reportLine(warm)).toBe(
      `REPORT RequestId: ${ID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\t`,
    )
  })

  it('adds Init Duration only when given (0 included)', () => {
    expect(reportLine(warm)).not.toContain('Init Duration')
    expect(reportLine({...warm, initDurationMs: 250.1})).toBe(
      `REPORT RequestId: ${ID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\tInit Duration: 250.10 ms\t`,
    )
    expect(reportLine({...warm, initDurationMs: 0})).toMatch(/\tInit Duration: 0\.00 ms\t$/)
  })

  it('appends Status and Error Type after the trailing tab', () => {
    expect(reportLine({...warm, status: 'timeout'})).toBe(
      `REPORT RequestId: ${ID}\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\tStatus: timeout`,
    )
    expect(reportLine({...warm, initDurationMs: 5, status: 'error', errorType: 'Runtime.ExitError'})).toMatch(
      /\tMax Memory Used: 87 MB\tInit Duration: 5\.00 ms\tStatus: error\tError Type: Runtime\.ExitError$/,
    )
    // An error type without a status is not printed.
    expect(reportLine({...warm, errorType: 'Runtime.ExitError'})).toBe(reportLine(warm))
  })

  it.each([
    ['warm', warm, undefined],
    ['cold', {...warm, initDurationMs: 250.1}, '250.10'],
    ['timed out', {...warm, status: 'timeout' as const}, undefined],
    ['cold and failed', {...warm, initDurationMs: 99.999, status: 'error' as const, errorType: 'Runtime.Unknown'}, '100.00'],
  ])('a %s line matches lambda-perf\'s regex with the right captures', (_, fields, init) => {
    const m = LAMBDA_PERF.exec(reportLine(fields))
    expect(m).not.toBeNull()
    expect(m!.slice(1, 6)).toEqual([ID, '12.35', '13', '1024', '87'])
    expect(m![7]).toBe(init)
  })
})

describe('initReportLine', () => {
  it('prints INIT_REPORT with phase, status and optional error type', () => {
    expect(initReportLine(10000.256, 'init', 'timeout')).toBe('INIT_REPORT Init Duration: 10000.26 ms\tPhase: init\tStatus: timeout')
    expect(initReportLine(3, 'invoke', 'error', 'Runtime.ExitError')).toBe(
      'INIT_REPORT Init Duration: 3.00 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError',
    )
  })
})

describe('billedDuration', () => {
  it('rounds up to the next millisecond', () => {
    expect(billedDuration(12)).toBe(12)
    expect(billedDuration(12.01)).toBe(13)
    expect(billedDuration(12.6)).toBe(13)
  })

  it('rounds to the printed 0.01 ms first, so the line adds up', () => {
    expect(billedDuration(12.004)).toBe(12) // printed 12.00
    expect(billedDuration(12.006)).toBe(13) // printed 12.01
  })

  it('includes the init duration, summed before rounding up', () => {
    expect(billedDuration(100.3, 250.4)).toBe(351)
    expect(billedDuration(1.2, 0.3)).toBe(2) // not ceil(1.2) + ceil(0.3) = 3
  })

  it('bills at least 1 ms', () => {
    expect(billedDuration(0)).toBe(1)
    expect(billedDuration(0.001)).toBe(1)
    expect(billedDuration(0.4, 0)).toBe(1)
  })
})

describe('parseReportLine', () => {
  it.each<[string, ReportFields]>([
    ['warm', {requestId: ID, durationMs: 12.34, billedDurationMs: 13, memorySizeMb: 128, maxMemoryUsedMb: 18}],
    ['cold', {requestId: ID, durationMs: 0.5, billedDurationMs: 252, memorySizeMb: 10240, maxMemoryUsedMb: 900, initDurationMs: 251.25}],
    ['timeout', {requestId: ID, durationMs: 3000, billedDurationMs: 3000, memorySizeMb: 128, maxMemoryUsedMb: 50, status: 'timeout'}],
    ['error', {requestId: ID, durationMs: 7, billedDurationMs: 208, memorySizeMb: 512, maxMemoryUsedMb: 60, initDurationMs: 200.5, status: 'error', errorType: 'Runtime.ExitError'}],
  ])('round-trips a %s line', (_, fields) => {
    expect(parseReportLine(reportLine(fields))).toEqual(fields)
  })

  it('rejects lines that are not REPORT lines', () => {
    expect(parseReportLine(startLine(ID, '$LATEST'))).toBeUndefined()
    expect(parseReportLine(`REPORT RequestId: ${ID}\tDuration: 1.00 ms`)).toBeUndefined()
    // No trailing tab: not Lambda's format.
    expect(parseReportLine(reportLine(warm).slice(0, -1))).toBeUndefined()
  })
})
