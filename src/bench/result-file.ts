/** A `sai bench --json` result read back from disk (by recommend's --bench and deploy's --require-bench), checked enough to trust. */
import {readFileSync} from 'node:fs'
import {SaiError} from '../errors/sai-error.js'
import {BENCH_SCHEMA, type BenchResult} from './result.js'

/** `flag` names where the file came from in every message (e.g. "--bench"). */
export function readBenchResult(file: string, flag: string): BenchResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'write one with sai bench --json FILE',
      cause: error,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `${flag} ${file}: not JSON (${(error as Error).message})`, {hint: 'pass the file sai bench --json FILE wrote', cause: error})
  }
  const schema = (parsed as {schema?: unknown} | null)?.schema
  if (schema !== BENCH_SCHEMA)
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `${flag} ${file}: schema is ${schema === undefined ? 'missing' : JSON.stringify(schema)}, expected "${BENCH_SCHEMA}"`, {
      hint: 'pass a result written by this version of sai bench --json FILE (re-run the bench if it is from another version)',
    })
  const result = parsed as BenchResult
  if (!Array.isArray(result.runs) || typeof result.spec?.name !== 'string')
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `${flag} ${file}: no runs[] or spec.name: the file is truncated or not a bench result`, {hint: 'write it again with sai bench --json FILE'})
  return result
}
