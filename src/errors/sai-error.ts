import {ERROR_CODES, type ErrorCode, type ExitCode} from './codes.js'

export interface SaiErrorOptions {
  /** What the user can do about it. */
  hint?: string
  cause?: unknown
  /** Structured context for --json (e.g. which deploy steps were applied). */
  details?: unknown
}

/**
 * An error the user can fix (bad spec, missing model, unreachable endpoint). Anything that is not a
 * SaiError is a bug and is rendered with its stack.
 */
export class SaiError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly details?: unknown

  constructor(code: ErrorCode, message: string, options: SaiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'SaiError'
    this.code = code
    this.hint = options.hint
    this.details = options.details
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code].exit
  }
}

export function isSaiError(error: unknown): error is SaiError {
  return error instanceof SaiError
}
