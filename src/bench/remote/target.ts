/** `--target` parsing, apart from the SDK client, so that a local bench never loads the AWS SDK. */
import {SaiError} from '../../errors/sai-error.js'

/** `lambda:NAME`, `lambda:NAME:QUALIFIER` or `lambda:ARN` → the function and its qualifier. */
export function parseTarget(text: string): {functionName: string; qualifier?: string; region?: string} {
  const bad = (why: string) =>
    new SaiError('SAI_BENCH_OPTIONS_INVALID', `--target ${text}: ${why}`, {hint: 'write --target lambda:<function-name> (or lambda:<function ARN>), e.g. --target lambda:my-function'})
  if (!text.startsWith('lambda:')) throw bad('only lambda: targets exist')
  const rest = text.slice('lambda:'.length)
  if (rest.startsWith('arn:')) {
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    const parts = rest.split(':')
    if (parts.length < 7 || parts.length > 8 || parts[2] !== 'lambda' || parts[5] !== 'function' || !parts[6]) throw bad('not a Lambda function ARN')
    return {functionName: parts.slice(0, 7).join(':'), qualifier: parts[7], region: parts[3]}
  }
  const [name, qualifier, extra] = rest.split(':')
  if (!name || extra !== undefined || qualifier === '') throw bad('expected a function name')
  return {functionName: name, qualifier}
}
