import {isSaiError} from './sai-error.js'
import {EXIT, type ExitCode} from './codes.js'

export interface RenderedError {
  text: string
  json: {error: {code: string; message: string; hint?: string; details?: unknown}}
  exitCode: ExitCode
}

/** One renderer for every command: Error / Code / Try this / Caused by. */
export function renderError(error: unknown): RenderedError {
  if (isSaiError(error)) {
    const lines = [`Error: ${error.message}`, `Code: ${error.code}`]
    if (error.hint) lines.push(`Try this: ${error.hint}`)
    const cause = error.cause instanceof Error ? error.cause.message : error.cause === undefined ? undefined : String(error.cause)
    if (cause && !error.message.includes(cause)) lines.push(`Caused by: ${cause}`)
    return {
      text: lines.join('\n'),
      json: {error: {code: error.code, message: error.message, ...(error.hint ? {hint: error.hint} : {}), ...(error.details === undefined ? {} : {details: error.details})}},
      exitCode: error.exitCode,
    }
  }
  const err = error instanceof Error ? error : new Error(String(error))
  return {
    text: `Internal error (a bug in sai, please report it):\n${err.stack ?? err.message}`,
    json: {error: {code: 'SAI_INTERNAL', message: err.message}},
    exitCode: EXIT.internal,
  }
}
