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
  SAI_PAYLOAD_MISSING: {description: 'bench has no request to send: the function has no events/*.json sample and no --payload was given.', exit: EXIT.user},
  SAI_PAYLOAD_MISMATCH: {description: "The function rejects bench's payload as invalid input (it does not match the model's inputs, or a batch exceeds the function's limit).", exit: EXIT.user},
  SAI_BUDGET_INVALID: {description: 'A budget (in sai.yaml or --budget) names an unknown metric or unit, or a metric the selected phases do not measure.', exit: EXIT.user},
  SAI_BASELINE_INVALID: {description: 'The --baseline file cannot be read or is not a sai bench result.', exit: EXIT.user},
  SAI_TRACE_INVALID: {description: 'The --trace file cannot be read or is not a CSV of request timestamps.', exit: EXIT.user},
  SAI_BENCH_OPTIONS_INVALID: {description: 'bench options that cannot work together (e.g. a --batch size above the spec\'s batch limit).', exit: EXIT.user},
  SAI_SYMLINK_ESCAPES: {description: 'A symlink in the function or its dependencies points outside the project: the image cannot contain it.', exit: EXIT.user},
  SAI_DEPENDENCY_MISSING: {description: 'A package the function needs (or esbuild, to bundle) is not installed.', exit: EXIT.user},
  SAI_DEPENDENCY_LAYOUT: {description: 'Two copies of a package would land on one path in the image.', exit: EXIT.user},
  SAI_BUNDLE_FAILED: {description: "esbuild could not bundle the function's handler.", exit: EXIT.user},
  SAI_GLIBC_TOO_OLD: {description: "--base host: this machine's glibc is older than onnxruntime-node needs (2.28).", exit: EXIT.user},
  SAI_HOST_BASE_UNSUPPORTED: {description: '--base host cannot be built on this machine (not Linux, another architecture, or a library ldd cannot find).', exit: EXIT.user},
  SAI_OUTPUT_INVALID: {description: 'sai package: --output (or --base) is not oci:DIR, docker-archive:FILE or registry:HOST/REPO:TAG.', exit: EXIT.user},
  SAI_ARCHITECTURE_MISMATCH: {description: "sai package: the base image's architecture is not the function's.", exit: EXIT.user},
  SAI_IMAGE_INVALID: {description: "sai package: the image breaks AWS Lambda's rules (all violations are listed, with their fixes).", exit: EXIT.user},
  SAI_REGISTRY_UNREACHABLE: {description: 'Nothing answers at the registry (wrong host or port, or it is down).', exit: EXIT.user},
  SAI_REGISTRY_UNAUTHORIZED: {description: 'The registry refused the credentials (or wants some).', exit: EXIT.user},
  SAI_REGISTRY_ERROR: {description: 'The registry refused a request, or sent something that is not a valid image.', exit: EXIT.user},
  SAI_ZIP_TOO_LARGE: {description: "sai package: the zip is over Lambda's limits (50 MB zipped, 250 MB unzipped): package an image instead.", exit: EXIT.user},
  SAI_IMAGE_UNSUPPORTED: {description: 'The Docker backend runs images: it cannot take a zip package.', exit: EXIT.user},
  SAI_ACCURACY_GATE: {description: 'sai package: the quantized or optimized model disagrees with the original beyond --min-cosine.', exit: EXIT.gate},
  SAI_DOCKER_UNAVAILABLE: {description: 'The Docker backend cannot reach a Docker engine (none runs, or DOCKER_HOST points where none answers).', exit: EXIT.user},
  SAI_BENCH_RESULT_INVALID: {description: 'sai recommend: a --bench file cannot be read, is not a sai.bench/v1 result, or the files measure different functions.', exit: EXIT.user},
  SAI_BENCH_DATA_MISSING: {description: 'sai recommend: the bench results lack a measurement a decision needs (the message names the bench flags that produce it).', exit: EXIT.user},
  SAI_RECOMMEND_INPUT_INVALID: {description: 'sai recommend: a traffic or objective value is out of range (--rps, --peak-rps, a --profile file, SLO, --max-cold-rate).', exit: EXIT.user},
  SAI_SLO_UNMET: {description: 'sai recommend --apply: no measured configuration meets the p99 SLO and the cold-start target, so nothing is written.', exit: EXIT.gate},
  SAI_PRICES_MISSING: {description: 'sai recommend: only us-east-1 prices are built in; another --region needs a --prices file with that region\'s prices.', exit: EXIT.user},
  SAI_PRICES_INVALID: {description: 'sai recommend: the --prices file cannot be read, is not JSON, breaks the price table format, or is for another region than --region.', exit: EXIT.user},
  SAI_DEPLOY_OPTIONS_INVALID: {description: 'sai deploy: options that cannot work (an image to a local endpoint without --registry, no execution role, a bad --recommendation).', exit: EXIT.user},
  SAI_AWS_UNREACHABLE: {description: 'sai deploy / bench --target: the AWS API endpoint (or the local emulator) does not answer.', exit: EXIT.user},
  SAI_AWS_OPTIONS_INVALID: {description: 'sai deploy / bench --target: no AWS region in the standard chain, or an --endpoint-url that is not a URL.', exit: EXIT.user},
  SAI_AWS_CREDENTIALS_MISSING: {description: 'sai deploy / bench --target: no AWS credentials in the standard chain (environment, ~/.aws, SSO, instance role).', exit: EXIT.user},
  SAI_TARGET_NOT_FOUND: {description: 'sai bench --target: the function (or its qualifier) does not exist at that endpoint and region; deploy it first with sai deploy.', exit: EXIT.user},
  SAI_DEPLOY_FAILED: {description: 'sai deploy: a step failed midway; the message says what was applied and what was not, and where the alias points.', exit: EXIT.user},
  SAI_BENCH_GATE_FAILED: {description: 'sai deploy --require-bench: the bench result broke its budgets (or regressed), so nothing is deployed.', exit: EXIT.gate},
  SAI_RUNTIME_NOT_FOUND: {description: "The function's runtime (bootstrap) could not be found or started.", exit: EXIT.user},
} as const satisfies Record<string, CodeInfo>

export type ErrorCode = keyof typeof ERROR_CODES
