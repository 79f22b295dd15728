/**
 * Errors Lambda itself reports for a function (HTTP 200, X-Amz-Function-Error: Unhandled), with
 * the bodies current Lambda returns: {"errorType", "errorMessage": "RequestId: <id> Error: <what>"}.
 */
import type {ExitInfo} from './backends/backend.js'
import {MAX_RUNTIME_PAYLOAD_BYTES} from './runtime-api/wire.js'

export interface PlatformError {
  errorType: string
  errorMessage: string
}

export const platformErrorBody = (error: PlatformError): Buffer =>
  Buffer.from(JSON.stringify({errorType: error.errorType, errorMessage: error.errorMessage}))

export const timedOut = (requestId: string, timeoutSeconds: number): PlatformError => ({
  errorType: 'Sandbox.Timedout',
  errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
})

/** How Go's os/exec describes the end of a process, which is what Lambda quotes. */
function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `Runtime exited with error: signal: ${exit.signal === 'SIGKILL' ? 'killed' : exit.signal.replace(/^SIG/, '').toLowerCase()}`
  if (exit.code === 0) return 'Runtime exited without providing a reason'
  return `Runtime exited with error: exit status ${exit.code}`
}

export const runtimeExited = (requestId: string | undefined, exit: ExitInfo): PlatformError => ({
  errorType: exit.outOfMemory ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
  errorMessage: `${requestId ? `RequestId: ${requestId} ` : ''}Error: ${exit.outOfMemory ? 'Runtime exited with error: signal: killed' : describeExit(exit)}`,
})

export const responseTooLarge = (): PlatformError => ({
  errorType: 'Function.ResponseSizeTooLarge',
  errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RUNTIME_PAYLOAD_BYTES} bytes).`,
})

/** The runtime's command could not be started (Lambda: "fork/exec /var/task/bootstrap: no such file or directory"). */
export const invalidEntrypoint = (requestId: string, command: string, code: string | undefined): PlatformError => ({
  errorType: 'Runtime.InvalidEntrypoint',
  errorMessage: `RequestId: ${requestId} Error: fork/exec ${command}: ${code === 'EACCES' ? 'permission denied' : code === 'ENOENT' ? 'no such file or directory' : (code ?? 'cannot start')}`,
})
