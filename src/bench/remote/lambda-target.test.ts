import {describe, expect, it} from 'vitest'
import {SaiError} from '../../errors/sai-error.js'
import {invokeRecord, parseTarget, reportFromLog, targetError} from './lambda-target.js'

const b64 = (text: string) => Buffer.from(text).toString('base64')
const REPORT = 'REPORT RequestId: 3f1c…-id\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\t'

describe('parseTarget', () => {
  it('takes a name, a name with a qualifier, or an ARN', () => {
    expect(parseTarget('lambda:my-fn')).toEqual({functionName: 'my-fn', qualifier: undefined})
    expect(parseTarget('lambda:my-fn:live')).toEqual({functionName: 'my-fn', qualifier: 'live'})
    expect(parseTarget('lambda:arn:aws:lambda:eu-west-1:123456789012:function:my-fn')).toEqual({functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:my-fn', qualifier: undefined, region: 'eu-west-1'})
    expect(parseTarget('lambda:arn:aws:lambda:eu-west-1:123456789012:function:my-fn:7')).toMatchObject({qualifier: '7', region: 'eu-west-1'})
  })

  it('refuses anything else with the syntax in the hint', () => {
    for (const bad of ['my-fn', 'lambda:', 'lambda:a:b:c', 'lambda:my-fn:', 'lambda:arn:aws:s3:::bucket', 'sagemaker:x']) {
      const error = (() => {
        try {
          parseTarget(bad)
        } catch (e) {
          return e as SaiError
        }
      })()
      expect(error, bad).toBeInstanceOf(SaiError)
      expect(error!.code).toBe('SAI_BENCH_OPTIONS_INVALID')
      expect(error!.hint).toContain('lambda:<function-name>')
    }
  })
})

describe('reportFromLog', () => {
  it('reads the last REPORT line of a log tail, with Init Duration on a cold start', () => {
    const log = `START RequestId: x Version: $LATEST\nsome output\nEND RequestId: x\n${REPORT}Init Duration: 345.67 ms\t\n`
    expect(reportFromLog(log)).toEqual({requestId: '3f1c…-id', durationMs: 12.34, billedDurationMs: 13, memorySizeMb: 1024, maxMemoryUsedMb: 87, initDurationMs: 345.67})
  })

  it('ignores fields it does not know (X-Ray) and keeps Status and Error Type', () => {
    const xray = reportFromLog(`${REPORT}XRAY TraceId: 1-5e-abc\tSegmentId: 0f\tSampled: true\t\n`)
    expect(xray).toMatchObject({durationMs: 12.34, maxMemoryUsedMb: 87})
    expect(xray).not.toHaveProperty('initDurationMs')
    expect(reportFromLog(`${REPORT}Status: timeout\n`)).toMatchObject({status: 'timeout'})
    expect(reportFromLog(`${REPORT}Status: error\tError Type: Runtime.OutOfMemory\n`)).toMatchObject({status: 'error', errorType: 'Runtime.OutOfMemory'})
  })

  it('finds nothing in a log without a REPORT line', () => {
    expect(reportFromLog('START RequestId: x Version: $LATEST\nhello\n')).toBeUndefined()
  })
})

describe('invokeRecord', () => {
  it('is cold exactly when REPORT has Init Duration', () => {
    expect(invokeRecord('id', {LogResult: b64(`${REPORT}Init Duration: 1.00 ms\t`)})).toMatchObject({requestId: 'id', cold: true, status: 'success', errorType: undefined})
    expect(invokeRecord('id', {LogResult: b64(REPORT)})).toMatchObject({cold: false, status: 'success'})
  })

  it("types a function error by the payload's errorType, a timeout by REPORT", () => {
    const payload = new TextEncoder().encode('{"errorType":"Sai.InvalidInput","errorMessage":"no"}')
    expect(invokeRecord('id', {LogResult: b64(REPORT), FunctionError: 'Unhandled', Payload: payload})).toMatchObject({status: 'function-error', errorType: 'Sai.InvalidInput'})
    expect(invokeRecord('id', {LogResult: b64(REPORT), FunctionError: 'Unhandled', Payload: new TextEncoder().encode('not json')})).toMatchObject({errorType: 'Function.Unhandled'})
    expect(invokeRecord('id', {LogResult: b64(`${REPORT}Status: timeout`), FunctionError: 'Unhandled'})).toMatchObject({status: 'timeout', errorType: 'Sandbox.Timedout'})
  })

  it('has nothing to say without a log', () => {
    expect(invokeRecord('id', {})).toBeUndefined()
  })
})

describe('targetError', () => {
  const target = {kind: 'lambda' as const, functionName: 'fn', endpoint: 'https://lambda.eu-west-1.amazonaws.com', region: 'eu-west-1', local: false}

  it('names the function, the endpoint and the region, and says to deploy first', () => {
    const error = targetError(Object.assign(new Error('Function not found'), {name: 'ResourceNotFoundException', $metadata: {httpStatusCode: 404}}), target) as SaiError
    expect(error.code).toBe('SAI_TARGET_NOT_FOUND')
    expect(error.message).toContain('fn')
    expect(error.message).toContain('https://lambda.eu-west-1.amazonaws.com (region eu-west-1)')
    expect(error.hint).toContain('sai deploy --region eu-west-1')
  })

  it('maps missing credentials and unreachable endpoints; leaves bugs alone', () => {
    expect((targetError(Object.assign(new Error('Could not load credentials from any providers'), {name: 'CredentialsProviderError'}), target) as SaiError).code).toBe('SAI_AWS_CREDENTIALS_MISSING')
    expect((targetError(Object.assign(new Error('connect'), {code: 'ECONNREFUSED'}), target) as SaiError).code).toBe('SAI_AWS_UNREACHABLE')
    const bug = new TypeError('x is undefined')
    expect(targetError(bug, target)).toBe(bug)
  })
})
