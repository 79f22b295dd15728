/**
 * The AWS path of `sai deploy`, checked without an account: the SDK's own endpoint override
 * (AWS_ENDPOINT_URL_LAMBDA, as every AWS SDK honours) sends deploy's requests to a loopback server that
 * records them at the HTTP layer and answers as Lambda's API does for a fresh account. The test
 * asserts the exact requests — operations, order, bodies, SigV4 — and that a second deploy only reads.
 */
import {createHash} from 'node:crypto'
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FIXTURES, runSai} from './helpers.js'
import {startRegistry, type LocalRegistry} from './registry-helper.js'

interface Recorded {
  method: string
  path: string
  query: string
  authorization: string
  body?: Record<string, unknown>
}

const ACCOUNT = '123456789012'
const ROLE = `arn:aws:iam::${ACCOUNT}:role/noop-role`
const arn = (name: string, qualifier?: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`

/** Lambda's REST API for one function, as much as a deploy touches, with its state. */
/** An answer to give instead, for the first `times` calls of a route ("POST /2015-03-31/functions/{name}/versions"). */
type Fault = {route: string; status: number; type: string; message: string; times: number}

function fakeLambda(recorded: Recorded[], faults: Fault[] = []) {
  let config: Record<string, unknown> | undefined
  const versions = new Map<string, Record<string, unknown>>()
  let alias: {Name: string; FunctionVersion: string} | undefined
  let reserved: number | undefined
  let provisioned: number | undefined
  let imageUri: string | undefined
  const send = (res: http.ServerResponse, status: number, body?: unknown, errorType?: string) => {
    res.writeHead(status, {'Content-Type': 'application/json', 'x-amzn-RequestId': 'req', ...(errorType ? {'x-amzn-ErrorType': errorType} : {})})
    res.end(body === undefined ? '' : JSON.stringify(body))
  }
  const notFound = (res: http.ServerResponse, what: string) => send(res, 404, {Type: 'User', Message: `Function not found: ${what}`}, 'ResourceNotFoundException')
  return http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url!, 'http://x')
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined
    recorded.push({method: req.method!, path: url.pathname, query: url.search, authorization: String(req.headers.authorization ?? ''), body})
    const route = `${req.method} ${url.pathname.replace(/\/functions\/[^/]+/, '/functions/{name}')}`
    const qualifier = url.searchParams.get('Qualifier')
    const fault = faults.find((f) => f.route === route && f.times > 0)
    if (fault) {
      fault.times--
      return send(res, fault.status, {Type: 'User', message: fault.message}, fault.type)
    }
    switch (route) {
      case 'GET /2015-03-31/functions/{name}':
        if (!config) return notFound(res, arn('noop'))
        return send(res, 200, {Configuration: config, Code: imageUri ? {RepositoryType: 'ECR', ImageUri: imageUri, ResolvedImageUri: imageUri} : {RepositoryType: 'S3', Location: 'https://example.invalid/code.zip'}, ...(reserved === undefined ? {} : {Concurrency: {ReservedConcurrentExecutions: reserved}})})
      case 'POST /2015-03-31/functions': {
        const {Code: code, ...rest} = body! as {Code: {ZipFile?: string; ImageUri?: string}}
        imageUri = code.ImageUri
        const zip = Buffer.from(code.ZipFile ?? '', 'base64')
        const sha = imageUri ? imageUri.split('@sha256:')[1] : createHash('sha256').update(zip).digest('base64')
        config = {...rest, FunctionArn: arn('noop'), Version: '$LATEST', CodeSha256: sha, CodeSize: zip.byteLength, State: 'Active', LastUpdateStatus: 'Successful'}
        return send(res, 201, {...config, State: 'Pending', StateReasonCode: 'Creating'})
      }
      case 'POST /2015-03-31/functions/{name}/versions': {
        const version = String(versions.size + 1)
        versions.set(version, {...config, Version: version, FunctionArn: arn('noop', version)})
        return send(res, 201, versions.get(version))
      }
      case 'GET /2015-03-31/functions/{name}/configuration':
        return qualifier && versions.has(qualifier) ? send(res, 200, versions.get(qualifier)) : config ? send(res, 200, config) : notFound(res, arn('noop', qualifier ?? undefined))
      case 'GET /2015-03-31/functions/{name}/aliases/live':
        return alias ? send(res, 200, {...alias, AliasArn: arn('noop', 'live')}) : notFound(res, arn('noop', 'live'))
      case 'POST /2015-03-31/functions/{name}/aliases':
        alias = {Name: String(body!.Name), FunctionVersion: String(body!.FunctionVersion)}
        return send(res, 201, {...alias, AliasArn: arn('noop', 'live')})
      case 'PUT /2017-10-31/functions/{name}/concurrency':
        reserved = Number(body!.ReservedConcurrentExecutions)
        return send(res, 200, {ReservedConcurrentExecutions: reserved})
      case 'PUT /2019-09-30/functions/{name}/provisioned-concurrency':
        provisioned = Number(body!.ProvisionedConcurrentExecutions)
        return send(res, 202, {RequestedProvisionedConcurrentExecutions: provisioned, Status: 'IN_PROGRESS'})
      case 'GET /2019-09-30/functions/{name}/provisioned-concurrency':
        if (provisioned === undefined) return send(res, 404, {Type: 'User', message: 'No Provisioned Concurrency Config found for this function'}, 'ProvisionedConcurrencyConfigNotFoundException')
        return send(res, 200, {RequestedProvisionedConcurrentExecutions: provisioned, AllocatedProvisionedConcurrentExecutions: provisioned, AvailableProvisionedConcurrentExecutions: provisioned, Status: 'READY'})
      default:
        return send(res, 400, {Type: 'User', message: `unexpected ${route}`}, 'InvalidRequestContentException')
    }
  })
}

/** ECR and Application Auto Scaling speak JSON 1.1 (the operation in X-Amz-Target); IAM speaks the query protocol, answering XML. */
function fakeAwsJson(recorded: Recorded[], registryHost: () => string) {
  let repository: string | undefined
  let scalable: Record<string, unknown> | undefined
  let policy: Record<string, unknown> | undefined
  let role: string | undefined
  return http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const target = String(req.headers['x-amz-target'] ?? '')
    const form = new URLSearchParams(target ? '' : text)
    const operation = target.split('.')[1] ?? form.get('Action') ?? ''
    const body = target ? (JSON.parse(text || '{}') as Record<string, unknown>) : Object.fromEntries(form)
    recorded.push({method: req.method!, path: `${target ? target.split('.')[0] : 'iam'}:${operation}`, query: '', authorization: String(req.headers.authorization ?? ''), body})
    const json = (status: number, answer: unknown) => {
      res.writeHead(status, {'Content-Type': 'application/x-amz-json-1.1'})
      res.end(JSON.stringify(answer))
    }
    const xml = (status: number, answer: string) => {
      res.writeHead(status, {'Content-Type': 'text/xml'})
      res.end(answer)
    }
    const repositoryJson = () => ({repositoryName: 'noop', repositoryUri: `${registryHost()}/noop`, registryId: ACCOUNT, repositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/noop`})
    const roleXml = () => `<Role><Path>/</Path><RoleName>sai-noop</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>${role}</Arn><CreateDate>2026-11-28T00:00:00Z</CreateDate></Role>`
    switch (operation) {
      case 'DescribeRepositories':
        return repository ? json(200, {repositories: [repositoryJson()]}) : json(400, {__type: 'RepositoryNotFoundException', message: `The repository with name 'noop' does not exist in the registry with id '${ACCOUNT}'`})
      case 'CreateRepository':
        repository = 'noop'
        return json(200, {repository: repositoryJson()})
      case 'DescribeScalableTargets':
        return json(200, {ScalableTargets: scalable ? [scalable] : []})
      case 'DescribeScalingPolicies':
        return json(200, {ScalingPolicies: policy ? [policy] : []})
      case 'RegisterScalableTarget':
        scalable = {...body, RoleARN: 'arn', CreationTime: 0}
        return json(200, {ScalableTargetARN: 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/sai'})
      case 'PutScalingPolicy':
        policy = {...body, PolicyARN: 'arn', CreationTime: 0}
        return json(200, {PolicyARN: 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:sai'})
      case 'GetRole':
        if (role) return xml(200, `<GetRoleResponse><GetRoleResult>${roleXml()}</GetRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetRoleResponse>`)
        return xml(404, `<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name sai-noop cannot be found.</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
      case 'CreateRole':
        role = `arn:aws:iam::${ACCOUNT}:role/sai-noop`
        return xml(200, `<CreateRoleResponse><CreateRoleResult>${roleXml()}</CreateRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateRoleResponse>`)
      case 'AttachRolePolicy':
        return xml(200, `<AttachRolePolicyResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AttachRolePolicyResponse>`)
      default:
        return json(400, {__type: 'ValidationException', message: `unexpected ${operation}`})
    }
  })
}

const deploy = (args: string[], env: Record<string, string>) => runSai(['deploy', ...args], {env})

describe('sai deploy, the AWS path, at the HTTP layer', () => {
  const recorded: Recorded[] = []
  const server = fakeLambda(recorded)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-aws-'))
  let env: Record<string, string>
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    cpSync(path.join(FIXTURES, 'noop'), dir, {recursive: true})
    writeFileSync(path.join(dir, 'sai.yaml'), `name: noop\nhandler: handler.handler\nmemory: 1769\ntimeout: 3\nrole: ${ROLE}\nreservedConcurrency: 4\nprovisionedConcurrency: 1\nenvironment:\n  GREETING: hello\n`)
    env = {
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLESAI',
      AWS_SECRET_ACCESS_KEY: 'do-not-print-this-secret',
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    }
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('creates, publishes, aliases and provisions with exactly these requests, SigV4-signed', async () => {
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--format', 'zip', '--json'], env)
    expect(code, stderr).toBe(0)
    expect(stdout + stderr).not.toContain('do-not-print-this-secret')
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({functionName: 'noop', target: {local: false, region: 'us-east-1'}, version: '1', aliasArn: arn('noop', 'live')})
    const writes = recorded.filter((r) => r.method !== 'GET')
    expect(writes.map((r) => `${r.method} ${r.path}${r.query}`)).toEqual([
      'POST /2015-03-31/functions',
      'POST /2015-03-31/functions/noop/versions',
      'POST /2015-03-31/functions/noop/aliases',
      'PUT /2017-10-31/functions/noop/concurrency',
      'PUT /2019-09-30/functions/noop/provisioned-concurrency?Qualifier=live',
    ])
    const create = writes[0]!.body!
    expect(Object.keys(create).sort()).toEqual(['Architectures', 'Code', 'Description', 'Environment', 'EphemeralStorage', 'FunctionName', 'Handler', 'MemorySize', 'PackageType', 'Role', 'Runtime', 'Timeout'])
    expect(create).toMatchObject({
      FunctionName: 'noop',
      PackageType: 'Zip',
      Architectures: ['x86_64'],
      Role: ROLE,
      MemorySize: 1769,
      Timeout: 3,
      EphemeralStorage: {Size: 512},
      Environment: {Variables: {GREETING: 'hello'}},
      Handler: 'sai-handler.handler',
      Runtime: 'nodejs22.x',
    })
    expect(Buffer.from(String((create.Code as {ZipFile: string}).ZipFile), 'base64').subarray(0, 2).toString()).toBe('PK')
    expect(writes[2]!.body).toEqual({Name: 'live', FunctionVersion: '1'})
    expect(writes[3]!.body).toEqual({ReservedConcurrentExecutions: 4})
    expect(writes[4]!.body).toEqual({ProvisionedConcurrentExecutions: 1})
    for (const r of recorded) expect(r.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLESAI\/\d{8}\/us-east-1\/lambda\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/)
  }, 120_000)

  it('deploying again with no change only reads, and says so', async () => {
    recorded.length = 0
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--format', 'zip', '--json'], env)
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(result.noOp).toBe(true)
    expect(recorded.filter((r) => r.method !== 'GET')).toEqual([])
    expect(result.steps.every((s: {status: string}) => s.status === 'unchanged')).toBe(true)
  }, 120_000)

  it('a dry run of a recommendation (more memory, more provisioned concurrency) plans the update field by field and sends nothing that writes', async () => {
    // The spec is packaged with the code, so a changed sai.yaml is new code; a recommendation changes only configuration.
    const recommendation = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-rec-')), 'rec.json')
    writeFileSync(recommendation, JSON.stringify({recommendation: {memoryMB: 2048, batchSize: 1, provisionedConcurrency: 2, monthlyCostUSD: 1, coldStartRate: 0, p99Ms: 10, meetsSlo: true, risk: 'low'}}))
    recorded.length = 0
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--format', 'zip', '--recommendation', recommendation, '--dry-run', '--json'], env)
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout)
    expect(recorded.filter((r) => r.method !== 'GET')).toEqual([])
    const steps = Object.fromEntries(result.plan.steps.map((s: {step: string}) => [s.step, s]))
    expect(steps['update-code'].action).toBe('none')
    expect(steps['update-configuration']).toMatchObject({action: 'update', changes: [{field: 'memorySize', from: 1769, to: 2048}]})
    expect(steps['publish-version'].action).toBe('create')
    expect(steps.alias).toMatchObject({action: 'update', changes: [{field: 'functionVersion', from: '1'}]})
    expect(steps['provisioned-concurrency']).toMatchObject({action: 'update', changes: [{from: 1, to: 2}]})
    expect(result.steps.filter((s: {status: string}) => s.status === 'skipped').map((s: {step: string}) => s.step)).toEqual(['update-configuration', 'publish-version', 'alias', 'provisioned-concurrency'])
  }, 120_000)
})

describe('sai deploy, the AWS path for an image: ECR, a new role, auto scaling', () => {
  const recorded: Recorded[] = []
  let registry: LocalRegistry
  const lambda = fakeLambda(recorded)
  const aws = fakeAwsJson(recorded, () => registry.host)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-aws-image-'))
  let env: Record<string, string>
  beforeAll(async () => {
    registry = await startRegistry()
    await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve))
    const other = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`
    cpSync(path.join(FIXTURES, 'noop'), dir, {recursive: true})
    writeFileSync(path.join(dir, 'sai.yaml'), 'name: noop\nhandler: handler.handler\nmemory: 1769\ntimeout: 3\n')
    env = {
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_ECR: other,
      AWS_ENDPOINT_URL_IAM: other,
      AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING: other,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLESAI',
      AWS_SECRET_ACCESS_KEY: 'do-not-print-this-secret',
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    }
  }, 60_000)
  afterAll(async () => {
    await new Promise<void>((resolve) => lambda.close(() => resolve()))
    await new Promise<void>((resolve) => aws.close(() => resolve()))
    await registry?.stop()
  })

  it('creates the repository and the role, pushes, creates the image function, and puts target tracking', async () => {
    const rec = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-rec-')), 'rec.json')
    writeFileSync(rec, JSON.stringify({recommendation: {memoryMB: 2048, batchSize: 1, provisionedConcurrency: 2, monthlyCostUSD: 1, coldStartRate: 0, p99Ms: 10, meetsSlo: true, risk: 'low', autoScaling: {metric: 'LambdaProvisionedConcurrencyUtilization', targetValue: 0.7, minCapacity: 1, maxCapacity: 2}}}))
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--create-role', '--recommendation', rec, '--json'], env)
    expect(code, stderr).toBe(0)
    expect(stdout + stderr).not.toContain('do-not-print-this-secret')
    const result = JSON.parse(stdout)
    expect(result.code.imageUri).toMatch(new RegExp(`^${registry.host}/noop@sha256:[0-9a-f]{64}$`))
    const calls = recorded.filter((r) => r.method !== 'GET' || r.path.includes(':')).map((r) => (r.path.includes(':') ? r.path : `${r.method} ${r.path}${r.query}`))
    expect(calls).toEqual([
      'AmazonEC2ContainerRegistry_V20150921:DescribeRepositories',
      'AmazonEC2ContainerRegistry_V20150921:CreateRepository',
      'iam:GetRole',
      'iam:CreateRole',
      'iam:AttachRolePolicy',
      'AnyScaleFrontendService:DescribeScalableTargets',
      'POST /2015-03-31/functions',
      'POST /2015-03-31/functions/noop/versions',
      'POST /2015-03-31/functions/noop/aliases',
      'PUT /2019-09-30/functions/noop/provisioned-concurrency?Qualifier=live',
      'AnyScaleFrontendService:RegisterScalableTarget',
      'AnyScaleFrontendService:PutScalingPolicy',
    ])
    const byPath = (p: string) => recorded.find((r) => r.path === p || `${r.method} ${r.path}` === p)!.body!
    expect(byPath('iam:CreateRole')).toMatchObject({RoleName: 'sai-noop'})
    expect(JSON.parse(String(byPath('iam:CreateRole').AssumeRolePolicyDocument))).toEqual({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}]})
    expect(byPath('iam:AttachRolePolicy')).toMatchObject({PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'})
    expect(byPath('POST /2015-03-31/functions')).toMatchObject({PackageType: 'Image', Code: {ImageUri: result.code.imageUri}, Role: `arn:aws:iam::${ACCOUNT}:role/sai-noop`, MemorySize: 2048})
    expect(byPath('POST /2015-03-31/functions').Handler).toBeUndefined()
    expect(byPath('AnyScaleFrontendService:RegisterScalableTarget')).toEqual({ServiceNamespace: 'lambda', ResourceId: 'function:noop:live', ScalableDimension: 'lambda:function:ProvisionedConcurrency', MinCapacity: 1, MaxCapacity: 2})
    expect(byPath('AnyScaleFrontendService:PutScalingPolicy')).toMatchObject({PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: {TargetValue: 0.7, PredefinedMetricSpecification: {PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization'}}})
    for (const r of recorded) expect(r.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLESAI\/\d{8}\/us-east-1\/(lambda|ecr|iam|application-autoscaling)\/aws4_request/)
  }, 120_000)

  it('the same deploy again pushes nothing new and changes nothing', async () => {
    recorded.length = 0
    const rec = path.join(mkdtempSync(path.join(os.tmpdir(), 'sai-rec-')), 'rec.json')
    writeFileSync(rec, JSON.stringify({recommendation: {memoryMB: 2048, batchSize: 1, provisionedConcurrency: 2, monthlyCostUSD: 1, coldStartRate: 0, p99Ms: 10, meetsSlo: true, risk: 'low', autoScaling: {metric: 'LambdaProvisionedConcurrencyUtilization', targetValue: 0.7, minCapacity: 1, maxCapacity: 2}}}))
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--create-role', '--recommendation', rec, '--json'], env)
    expect(code, stderr).toBe(0)
    expect(JSON.parse(stdout).noOp).toBe(true)
    expect(recorded.map((r) => (r.path.includes(':') ? r.path.split(':')[1] : r.method))).not.toContain('CreateRepository')
    expect(recorded.filter((r) => !r.path.includes(':') && r.method !== 'GET')).toEqual([])
  }, 120_000)
})

describe('sai deploy when AWS pushes back', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-faults-'))
  cpSync(path.join(FIXTURES, 'noop'), dir, {recursive: true})
  writeFileSync(path.join(dir, 'sai.yaml'), `name: noop\nhandler: handler.handler\nmemory: 1769\ntimeout: 3\nrole: ${ROLE}\n`)
  const start = async (faults: Fault[]) => {
    const recorded: Recorded[] = []
    const server = fakeLambda(recorded, faults)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const env = {
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLESAI',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    }
    return {recorded, env, close: () => new Promise<void>((resolve) => server.close(() => resolve()))}
  }

  it('retries a throttled call (429) with backoff and finishes', async () => {
    const fake = await start([{route: 'POST /2015-03-31/functions/{name}/versions', status: 429, type: 'TooManyRequestsException', message: 'Rate exceeded', times: 2}])
    const {code, stdout, stderr} = await deploy(['--spec', dir, '--format', 'zip', '--json'], fake.env)
    await fake.close()
    expect(code, stderr).toBe(0)
    expect(JSON.parse(stdout).version).toBe('1')
    expect(fake.recorded.filter((r) => r.method === 'POST' && r.path.endsWith('/versions'))).toHaveLength(3)
  }, 120_000)

  it('does not retry a validation error: it stops, says what was applied, and the alias is not created', async () => {
    const fake = await start([{route: 'POST /2015-03-31/functions/{name}/aliases', status: 400, type: 'InvalidParameterValueException', message: 'Alias name is invalid', times: 1}])
    const {code, stdout} = await deploy(['--spec', dir, '--format', 'zip', '--json'], fake.env)
    await fake.close()
    expect(code).toBe(1)
    const {error} = JSON.parse(stdout)
    expect(error.code).toBe('SAI_DEPLOY_FAILED')
    expect(error.message).toContain('failed at alias: Alias name is invalid')
    expect(error.message).toContain('Applied: create-function, publish-version')
    expect(error.message).toContain('The alias live was not created')
    expect(error.details.map((s: {step: string; status: string}) => `${s.step}:${s.status}`)).toEqual(['create-function:applied', 'publish-version:applied', 'alias:failed', 'reserved-concurrency:unchanged', 'provisioned-concurrency:unchanged'])
    expect(fake.recorded.filter((r) => r.method === 'POST' && r.path.endsWith('/aliases'))).toHaveLength(1)
  }, 120_000)
})
