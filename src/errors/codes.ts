/**
 * The catalog of user-fixable error codes. Every SaiError carries one of these; each is documented
 * here (a test checks that every code has a description and an exit code).
 */
export const EXIT = {
  ok: 0,
  user: 1,
  usage: 2,
  gate: 3,
  internal: 70,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

interface CodeInfo {
  description: string
  exit: ExitCode
}

export const ERROR_CODES = {
  SAI_SPEC_NOT_FOUND: {description: 'The function spec file (sai.yaml) does not exist or cannot be read.', exit: EXIT.user},
  SAI_SPEC_INVALID: {description: 'The function spec is not valid YAML or breaks the schema (a field is missing, of the wrong type, or out of range).', exit: EXIT.user},
  SAI_MODEL_NOT_FOUND: {description: 'The ONNX model file named by the spec or a flag does not exist.', exit: EXIT.user},
  SAI_MODEL_INVALID: {description: 'The model file could not be loaded by onnxruntime (truncated, not ONNX, or an unsupported operator).', exit: EXIT.user},
  SAI_HANDLER_NOT_FOUND: {description: 'The custom handler module named by the spec does not exist.', exit: EXIT.user},
  SAI_FUNCTION_NAME_CONFLICT: {description: 'Two specs given to the emulator declare the same function name.', exit: EXIT.user},
  SAI_PORT_IN_USE: {description: 'The emulator could not listen on the requested host and port.', exit: EXIT.user},
  SAI_FILE_EXISTS: {description: 'A file the command would write already exists.', exit: EXIT.user},
  SAI_PAYLOAD_INVALID: {description: 'The --payload value is not valid JSON or names a file that cannot be read.', exit: EXIT.user},
  SAI_ENDPOINT_UNREACHABLE: {description: 'Nothing answers at the Invoke API endpoint (is `sai emulate` running?).', exit: EXIT.user},
  SAI_AWS_ERROR: {description: 'The Lambda API (AWS or the emulator) refused the request.', exit: EXIT.user},
  SAI_RUNTIME_NOT_FOUND: {description: "The function's runtime (bootstrap) could not be found or started.", exit: EXIT.user},
} as const satisfies Record<string, CodeInfo>

export type ErrorCode = keyof typeof ERROR_CODES
