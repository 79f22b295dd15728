/**
 * The Lambda control plane's HTTP surface: AWS's paths, methods, status codes and JSON bodies (as
 * @aws-sdk/client-lambda serializes and parses them), each handed to the FunctionRegistry. Input
 * is checked here (types and ranges: ValidationException, InvalidParameterValueException); what
 * exists and what conflicts, there.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {environmentBytes, LAMBDA_LIMITS, ROLE_ARN, ROLE_ARN_PATTERN} from '../../spec/limits.js'
import {RESERVED_ENV_KEYS} from '../../spec/schema.js'
import {readBody} from '../http-body.js'
import {invalidParameterValue, invalidRequestContent, requestTooLarge, validationException} from '../invoke-api/aws-errors.js'
import type {FunctionCodeInput, FunctionRegistry, FunctionSettings} from './registry.js'

type Body = Record<string, unknown>
interface Reply {
  status: number
  body?: unknown
}
interface Call {
  registry: FunctionRegistry
  /** Path parameters, decoded. */
  params: string[]
  query: URLSearchParams
  body(): Promise<Body>
}

/** CreateFunction takes up to 50 MB zipped, base64 in JSON (AWS: 69,905,067 bytes per request). */
const CODE_REQUEST_BYTES = 69_905_067
const REQUEST_BYTES = 1024 * 1024

const FN = '([^/]+)'
const route = (method: string, path: string, operation: string, handle: (call: Call) => Promise<Reply> | Reply, limit = REQUEST_BYTES) => ({
  method,
  pattern: new RegExp(`^${path}/?$`),
  operation,
  handle,
  limit,
})

const ROUTES = [
  route('POST', '/2015-03-31/functions', 'CreateFunction', createFunction, CODE_REQUEST_BYTES),
  route('GET', '/2015-03-31/functions', 'ListFunctions', ({registry, query}) => ok(registry.listFunctions({...paging(query), allVersions: listAll(query, 'FunctionVersion')}))),
  route('GET', `/2015-03-31/functions/${FN}`, 'GetFunction', ({registry, params, query}) => ok(registry.getFunction(params[0]!, qualifierOf(query)))),
  route('DELETE', `/2015-03-31/functions/${FN}`, 'DeleteFunction', async ({registry, params, query}) => (await registry.deleteFunction(params[0]!, qualifierOf(query)), {status: 204})),
  route('GET', `/2015-03-31/functions/${FN}/configuration`, 'GetFunctionConfiguration', ({registry, params, query}) => ok(registry.getFunctionConfiguration(params[0]!, qualifierOf(query)))),
  route('PUT', `/2015-03-31/functions/${FN}/configuration`, 'UpdateFunctionConfiguration', updateFunctionConfiguration),
  route('PUT', `/2015-03-31/functions/${FN}/code`, 'UpdateFunctionCode', updateFunctionCode, CODE_REQUEST_BYTES),
  route('POST', `/2015-03-31/functions/${FN}/versions`, 'PublishVersion', publishVersion),
  route('GET', `/2015-03-31/functions/${FN}/versions`, 'ListVersionsByFunction', ({registry, params, query}) => ok(registry.listVersions(params[0]!, paging(query)))),
  route('POST', `/2015-03-31/functions/${FN}/aliases`, 'CreateAlias', createAlias),
  route('GET', `/2015-03-31/functions/${FN}/aliases`, 'ListAliases', ({registry, params, query}) => ok(registry.listAliases(params[0]!, {...paging(query), functionVersion: query.get('FunctionVersion') ?? undefined}))),
  route('GET', `/2015-03-31/functions/${FN}/aliases/${FN}`, 'GetAlias', ({registry, params}) => ok(registry.getAlias(params[0]!, params[1]!))),
  route('PUT', `/2015-03-31/functions/${FN}/aliases/${FN}`, 'UpdateAlias', updateAlias),
  route('DELETE', `/2015-03-31/functions/${FN}/aliases/${FN}`, 'DeleteAlias', ({registry, params}) => (registry.deleteAlias(params[0]!, params[1]!), {status: 204})),
  route('PUT', `/2019-09-30/functions/${FN}/provisioned-concurrency`, 'PutProvisionedConcurrencyConfig', putProvisionedConcurrency),
  route('GET', `/2019-09-30/functions/${FN}/provisioned-concurrency`, 'GetProvisionedConcurrencyConfig', ({registry, params, query}) =>
    listAll(query, 'List') ? ok(registry.listProvisionedConcurrency(params[0]!, paging(query))) : ok(registry.getProvisionedConcurrency(params[0]!, qualifierOf(query))),
  ),
  route('DELETE', `/2019-09-30/functions/${FN}/provisioned-concurrency`, 'DeleteProvisionedConcurrencyConfig', ({registry, params, query}) => (registry.deleteProvisionedConcurrency(params[0]!, qualifierOf(query)), {status: 204})),
  route('PUT', `/2017-10-31/functions/${FN}/concurrency`, 'PutFunctionConcurrency', putFunctionConcurrency),
  route('GET', `/2019-09-30/functions/${FN}/concurrency`, 'GetFunctionConcurrency', ({registry, params}) => ok(registry.getFunctionConcurrency(params[0]!))),
  route('DELETE', `/2017-10-31/functions/${FN}/concurrency`, 'DeleteFunctionConcurrency', ({registry, params}) => (registry.deleteFunctionConcurrency(params[0]!), {status: 204})),
]

/**
 * Serves the request if it is a control-plane operation; false if the path is not one of them.
 * Errors are thrown as LambdaServiceError for the server to render.
 */
export async function handleControlPlane(registry: FunctionRegistry, req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean> {
  for (const r of ROUTES) {
    if (r.method !== req.method) continue
    const match = r.pattern.exec(url.pathname)
    if (!match) continue
    let read: Promise<Body> | undefined
    const call: Call = {
      registry,
      params: match.slice(1).map((p) => decodeURIComponent(p)),
      query: url.searchParams,
      body: () => (read ??= readJson(req, r.limit, r.operation)),
    }
    let reply: Reply
    try {
      reply = await r.handle(call)
    } finally {
      // Answer only once the request is read: an early answer would cut the upload.
      if (!read) req.resume()
      else await read.catch(() => undefined)
    }
    send(res, reply, requestId)
    return true
  }
  return false
}

function send(res: ServerResponse, reply: Reply, requestId: string): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status, {'x-amzn-RequestId': requestId, 'Content-Length': 0})
    return void res.end()
  }
  const text = JSON.stringify(reply.body)
  res.writeHead(reply.status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': requestId})
  res.end(text)
}

const ok = (body: unknown, status = 200): Reply => ({status, body})

async function readJson(req: IncomingMessage, limit: number, operation: string): Promise<Body> {
  const read = await readBody(req, limit)
  if (!read.ok) throw requestTooLarge(limit, operation)
  if (read.body.byteLength === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(read.body.toString('utf8'))
  } catch (error) {
    throw invalidRequestContent(`Could not parse request body into json: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidRequestContent('The request body must be a JSON object')
  return parsed as Body
}

// ───────────────────────────── input ─────────────────────────────

const qualifierOf = (query: URLSearchParams) => query.get('Qualifier') ?? undefined
const listAll = (query: URLSearchParams, name: string) => {
  const value = query.get(name)
  if (value !== null && value !== 'ALL') throw validationException(value, name.charAt(0).toLowerCase() + name.slice(1), 'Member must satisfy enum value set: [ALL]')
  return value === 'ALL'
}

function paging(query: URLSearchParams): {marker?: string; maxItems?: number} {
  const raw = query.get('MaxItems')
  let maxItems: number | undefined
  if (raw !== null) {
    maxItems = Number(raw)
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 10_000) {
      throw validationException(raw, 'maxItems', `Member must have value ${Number(raw) < 1 ? 'greater than or equal to 1' : 'less than or equal to 10000'}`)
    }
  }
  return {marker: query.get('Marker') ?? undefined, maxItems}
}

function string(body: Body, key: string, options: {required: true}): string
function string(body: Body, key: string, options?: {required?: boolean}): string | undefined
function string(body: Body, key: string, options: {required?: boolean} = {}): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) {
    if (options.required) throw validationException(null, lower(key), 'Member must not be null')
    return undefined
  }
  if (typeof value !== 'string') throw invalidRequestContent(`${key} must be a string`)
  return value
}

function integer(body: Body, key: string, min: number, max: number): number | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidRequestContent(`${key} must be an integer`)
  if (value < min) throw validationException(value, lower(key), `Member must have value greater than or equal to ${min}`)
  if (value > max) throw validationException(value, lower(key), `Member must have value less than or equal to ${max}`)
  return value
}

function boolean(body: Body, key: string): boolean {
  const value = body[key]
  if (value === undefined || value === null) return false
  if (typeof value !== 'boolean') throw invalidRequestContent(`${key} must be a boolean`)
  return value
}

function object(body: Body, key: string): Body | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidRequestContent(`${key} must be an object`)
  return value as Body
}

const lower = (key: string) => key.charAt(0).toLowerCase() + key.slice(1)

const FUNCTION_NAME = /^[a-zA-Z0-9-_]+$/

/** The settings UpdateFunctionConfiguration and CreateFunction share; only those present are returned. */
function settingsOf(body: Body): Partial<FunctionSettings> {
  const {memoryMb, timeoutSeconds, ephemeralStorageMb} = LAMBDA_LIMITS
  const role = string(body, 'Role')
  if (role !== undefined && !ROLE_ARN.test(role)) throw validationException(role, 'role', `Member must satisfy regular expression pattern: ${ROLE_ARN_PATTERN}`)
  const environment = object(body, 'Environment')
  let variables: Record<string, string> | undefined
  if (environment) {
    const raw = object(environment, 'Variables') ?? {}
    variables = {}
    for (const [key, value] of Object.entries(raw)) {
      if (typeof value !== 'string') throw invalidRequestContent(`Environment.Variables.${key} must be a string`)
      variables[key] = value
    }
    checkEnvironment(variables)
  }
  const ephemeral = object(body, 'EphemeralStorage')
  const architectures = body.Architectures
  let architecture: 'x86_64' | 'arm64' | undefined
  if (architectures !== undefined && architectures !== null) {
    if (!Array.isArray(architectures) || architectures.length !== 1) throw validationException(JSON.stringify(architectures), 'architectures', 'Member must have length less than or equal to 1')
    if (architectures[0] !== 'x86_64' && architectures[0] !== 'arm64') throw validationException(String(architectures[0]), 'architectures', 'Member must satisfy enum value set: [x86_64, arm64]')
    architecture = architectures[0]
  }
  return {
    role,
    description: string(body, 'Description'),
    memorySize: integer(body, 'MemorySize', memoryMb.min, memoryMb.max),
    timeout: integer(body, 'Timeout', timeoutSeconds.min, timeoutSeconds.max),
    environment: variables,
    ephemeralStorage: ephemeral ? integer(ephemeral, 'Size', ephemeralStorageMb.min, ephemeralStorageMb.max) : undefined,
    architecture,
    handler: string(body, 'Handler'),
    runtime: string(body, 'Runtime'),
  }
}

/** Lambda's rules on environment variables: names, reserved keys, 4 KB in all. */
function checkEnvironment(variables: Record<string, string>): void {
  const reserved = Object.keys(variables).filter((key) => RESERVED_ENV_KEYS.has(key))
  if (reserved.length > 0) {
    throw invalidParameterValue(`Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`)
  }
  const bad = Object.keys(variables).find((key) => !/^[a-zA-Z]\w*$/.test(key))
  if (bad !== undefined) throw validationException(bad, 'environment.variables', 'Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+')
  if (environmentBytes(variables) > LAMBDA_LIMITS.environmentBytes) {
    throw invalidParameterValue(`Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${JSON.stringify(variables)}`)
  }
}

/** Code as CreateFunction's Code or UpdateFunctionCode's body gives it: a zip (base64) or an image reference. */
function codeOf(code: Body, packageType: 'Zip' | 'Image'): FunctionCodeInput {
  if (code.S3Bucket !== undefined || code.S3Key !== undefined) {
    throw invalidParameterValue('sai emulate takes code as ZipFile (a zip built by `sai package --output zip:FILE`) or ImageUri (an image `sai package` pushed to a registry), not from S3')
  }
  const zip = string(code, 'ZipFile')
  const imageUri = string(code, 'ImageUri')
  if (packageType === 'Image') {
    if (zip !== undefined) throw invalidParameterValue("Please don't provide ZipFile when creating a function with packageType Image.")
    if (imageUri === undefined) throw invalidParameterValue('Please provide ImageUri when creating a function with packageType Image.')
    return {packageType, imageUri}
  }
  if (imageUri !== undefined) throw invalidParameterValue("Please don't provide ImageUri when creating a function with packageType Zip.")
  if (zip === undefined) throw invalidParameterValue('Please provide a source for function code: ZipFile (a zip built by `sai package --output zip:FILE`) or ImageUri with PackageType Image.')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(zip)) throw invalidRequestContent('ZipFile must be base64')
  return {packageType, zipFile: Buffer.from(zip, 'base64')}
}

// ───────────────────────────── operations ─────────────────────────────

async function createFunction({registry, body}: Call): Promise<Reply> {
  const input = await body()
  const name = string(input, 'FunctionName', {required: true})
  if (name.length > LAMBDA_LIMITS.functionName.maxLength || !FUNCTION_NAME.test(name)) {
    throw validationException(name, 'functionName', 'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?')
  }
  const role = string(input, 'Role', {required: true})
  const code = object(input, 'Code')
  if (!code) throw validationException(null, 'code', 'Member must not be null')
  const packageType = string(input, 'PackageType') ?? 'Zip'
  if (packageType !== 'Zip' && packageType !== 'Image') throw validationException(packageType, 'packageType', 'Member must satisfy enum value set: [Image, Zip]')
  const settings = settingsOf(input)
  return ok(
    await registry.createFunction({
      name,
      code: codeOf(code, packageType),
      settings: {...settings, role, description: settings.description ?? ''},
      publish: boolean(input, 'Publish'),
    }),
    201,
  )
}

async function updateFunctionConfiguration({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  return ok(await registry.updateFunctionConfiguration(params[0]!, {changes: settingsOf(input), revisionId: string(input, 'RevisionId')}))
}

async function updateFunctionCode({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  if (boolean(input, 'DryRun')) throw invalidParameterValue('sai emulate does not support DryRun for UpdateFunctionCode')
  // The function's package type decides; a mismatch is the registry's to refuse.
  const packageType = input.ImageUri !== undefined && input.ImageUri !== null ? 'Image' : 'Zip'
  const {architecture} = settingsOf({Architectures: input.Architectures})
  return ok(await registry.updateFunctionCode(params[0]!, {code: codeOf(input, packageType), architecture, publish: boolean(input, 'Publish'), revisionId: string(input, 'RevisionId')}))
}

async function publishVersion({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  const result = registry.publishVersion(params[0]!, {description: string(input, 'Description'), codeSha256: string(input, 'CodeSha256'), revisionId: string(input, 'RevisionId')})
  return ok(result.body, result.status)
}

const weighted = (input: Body) => {
  const weights = object(object(input, 'RoutingConfig') ?? {}, 'AdditionalVersionWeights')
  return weights !== undefined && Object.keys(weights).length > 0
}

async function createAlias({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  return ok(
    registry.createAlias(params[0]!, {
      name: string(input, 'Name', {required: true}),
      functionVersion: string(input, 'FunctionVersion', {required: true}),
      description: string(input, 'Description'),
      weighted: weighted(input),
    }),
    201,
  )
}

async function updateAlias({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  return ok(
    registry.updateAlias(params[0]!, params[1]!, {
      functionVersion: string(input, 'FunctionVersion'),
      description: string(input, 'Description'),
      revisionId: string(input, 'RevisionId'),
      weighted: weighted(input),
    }),
  )
}

async function putProvisionedConcurrency({registry, params, query, body}: Call): Promise<Reply> {
  const input = await body()
  const requested = integer(input, 'ProvisionedConcurrentExecutions', 1, Number.MAX_SAFE_INTEGER)
  if (requested === undefined) throw validationException(null, 'provisionedConcurrentExecutions', 'Member must not be null')
  return ok(registry.putProvisionedConcurrency(params[0]!, qualifierOf(query), requested), 202)
}

async function putFunctionConcurrency({registry, params, body}: Call): Promise<Reply> {
  const input = await body()
  const reserved = integer(input, 'ReservedConcurrentExecutions', 0, Number.MAX_SAFE_INTEGER)
  if (reserved === undefined) throw validationException(null, 'reservedConcurrentExecutions', 'Member must not be null')
  return ok(registry.putFunctionConcurrency(params[0]!, reserved))
}
