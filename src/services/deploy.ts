/**
 * `sai deploy` as a use-case: package the function, push its code, and bring AWS Lambda — or the
 * local emulator, through the very same API calls — to the spec: function, version, alias, reserved
 * and provisioned concurrency, and auto scaling. It reads the current state first, plans field by
 * field, and applies only what differs, so a second deploy with no change is a no-op.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetProvisionedConcurrencyConfigCommand,
  LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  PutProvisionedConcurrencyConfigCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda'
import {readBenchResult} from '../bench/result-file.js'
import {planDeploy, type AutoScalingSetting, type CurrentState, type DesiredFunction, type Plan, type PlanStep, type StepName} from '../deploy/plan.js'
import {isLocalEndpoint, lambdaEndpointUrl, LOCAL_CREDENTIALS, resolveRegion} from '../aws/endpoint.js'
import {awsCallError} from '../aws/errors.js'
import {SaiError} from '../errors/sai-error.js'
import type {RecommendResult} from '../recommend/result.js'
import {loadSpec, type FunctionSpec} from '../spec/load.js'
import {packageFunction} from './package.js'
import {autoScalingState, ensureEcrRepository, ensureRole, putAutoScaling} from '../deploy/aws.js'

export interface DeployOptions {
  specPath: string
  format: 'image' | 'zip'
  /** Default: the standard AWS chain (AWS_REGION, ~/.aws/config). */
  region?: string
  /** A Lambda API endpoint other than AWS's, e.g. `sai emulate` on http://127.0.0.1:9001. */
  endpointUrl?: string
  /** A registry standing in for ECR (HOST[:PORT]); needed for image functions on a local endpoint. */
  registry?: string
  alias: string
  role?: string
  createRole?: boolean
  /** Overrides the spec's. */
  provisionedConcurrency?: number
  /** A `sai recommend --json` result: its memory, provisioned concurrency and auto scaling are deployed. */
  recommendationPath?: string
  /** A `sai bench --json` result that must have passed its budgets. */
  requireBenchPath?: string
  dryRun?: boolean
  /** How long to wait for the function, the version and provisioned concurrency to be ready. */
  waitTimeoutSeconds: number
  sourceDateEpoch?: number
  cacheDir?: string
  onProgress?(message: string): void
}

export type StepStatus = 'applied' | 'unchanged' | 'failed' | 'not attempted' | 'skipped'

export interface DeployResult {
  functionName: string
  target: {endpoint: string; region: string; local: boolean}
  packageType: 'Image' | 'Zip'
  code: {digest: string; imageUri?: string; bytes?: number}
  plan: Plan
  dryRun: boolean
  /** Nothing differed: nothing was called that changes anything. */
  noOp: boolean
  steps: {step: StepName; status: StepStatus; detail: string}[]
  version?: string
  aliasArn?: string
  provisioned?: {requested: number; status: string}
  notes: string[]
}

const LOCAL_ROLE = 'arn:aws:iam::000000000000:role/sai-local'

/** --require-bench: a bench that broke its budgets stops the deploy (exit 3), so CI can chain bench → deploy. */
function checkBench(file: string, spec: FunctionSpec): void {
  const result = readBenchResult(file, '--require-bench')
  if (result.spec.name !== spec.name)
    throw new SaiError('SAI_BENCH_RESULT_INVALID', `--require-bench ${file} measured ${result.spec.name}, but this deploys ${spec.name}`, {hint: 'pass the bench result of this function'})
  if (!result.passed) {
    const broken = result.budgets.filter((b) => !b.passed).map((b) => `${b.metric} ${b.actual ?? '—'} (limit ${b.limit})`)
    const regressions = result.baseline?.checks.filter((c) => c.failed).map((c) => `${c.metric} regressed ×${c.ratio.toFixed(2)}`) ?? []
    const why = [...broken, ...regressions, ...(result.interrupted ? ['the bench was interrupted'] : [])]
    throw new SaiError('SAI_BENCH_GATE_FAILED', `not deploying ${spec.name}: the bench ${file} failed its gates (${why.join('; ') || 'see the bench report'})`, {
      hint: 'fix the regression, or change the budgets in sai.yaml, and run sai bench again',
    })
  }
}

type Recommendation = NonNullable<RecommendResult['recommendation']>

function readRecommendation(file: string): RecommendResult {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as RecommendResult
    if (!parsed.recommendation) throw new Error('no "recommendation" in it')
    return parsed
  } catch (error) {
    throw new SaiError('SAI_DEPLOY_OPTIONS_INVALID', `--recommendation ${file}: ${(error as Error).message}`, {hint: 'pass the output of sai recommend --json'})
  }
}

const isNotFound = (error: unknown) => ['ResourceNotFoundException', 'ProvisionedConcurrencyConfigNotFoundException'].includes((error as Error)?.name)

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

async function readState(client: LambdaClient, name: string, alias: string): Promise<CurrentState> {
  const fn = await orUndefined(client.send(new GetFunctionCommand({FunctionName: name})))
  if (!fn) return {}
  const resolved = fn.Code?.ResolvedImageUri
  const state: CurrentState = {
    configuration: fn.Configuration,
    imageDigest: resolved?.includes('@') ? resolved.slice(resolved.indexOf('@') + 1) : undefined,
    reservedConcurrency: fn.Concurrency?.ReservedConcurrentExecutions,
  }
  const aliasConfig = await orUndefined(client.send(new GetAliasCommand({FunctionName: name, Name: alias})))
  if (aliasConfig?.FunctionVersion) {
    state.alias = {functionVersion: aliasConfig.FunctionVersion}
    state.aliasVersion = await orUndefined(client.send(new GetFunctionConfigurationCommand({FunctionName: name, Qualifier: aliasConfig.FunctionVersion})))
    const pc = await orUndefined(client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: alias})))
    if (pc) state.provisioned = {requested: pc.RequestedProvisionedConcurrentExecutions ?? 0, status: pc.Status}
  }
  return state
}

/** The function's code: built, and — unless this is a dry run — pushed where Lambda will read it. */
async function buildCode(spec: FunctionSpec, options: DeployOptions, repository: string | undefined, tmp: string) {
  const common = {specPath: options.specPath, spec, sourceDateEpoch: options.sourceDateEpoch ?? 0, minCosine: 0.99, cacheDir: options.cacheDir, onProgress: options.onProgress}
  if (options.format === 'zip') {
    const file = path.join(tmp, `${spec.name}.zip`)
    const result = await packageFunction({...common, output: {kind: 'zip', file}})
    const zipFile = readFileSync(file)
    return {
      code: {packageType: 'Zip' as const, zipFile, digest: createHash('sha256').update(zipFile).digest('base64')},
      runtime: result.zip!.runtime,
      handler: result.zip!.handler,
      bytes: zipFile.byteLength,
    }
  }
  // A dry run builds the image to learn its digest, and pushes nothing.
  const output = options.dryRun || !repository ? {kind: 'oci' as const, dir: path.join(tmp, 'image')} : {kind: 'registry' as const, reference: `${repository}:sai`}
  const result = await packageFunction({...common, output})
  const digest = result.manifestDigest!
  return {code: {packageType: 'Image' as const, imageUri: repository ? `${repository}@${digest}` : undefined, digest}, bytes: result.addedBytes}
}

export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const spec = loadSpec(options.specPath)
  if (options.requireBenchPath) checkBench(options.requireBenchPath, spec)
  const local = isLocalEndpoint(options.endpointUrl)
  const recommendation = options.recommendationPath ? readRecommendation(options.recommendationPath).recommendation! : undefined
  if (local && options.format === 'image' && !options.registry)
    throw new SaiError('SAI_DEPLOY_OPTIONS_INVALID', `an image function on the local endpoint ${options.endpointUrl} needs --registry HOST[:PORT], the registry standing in for ECR`, {
      hint: 'start one (docker-registry listens on 127.0.0.1:5000) and pass --registry 127.0.0.1:5000, or deploy a zip with --format zip',
    })
  const progress = options.onProgress ?? (() => {})
  const client = new LambdaClient({
    region: options.region ?? (local ? 'us-east-1' : undefined),
    endpoint: options.endpointUrl,
    credentials: local ? LOCAL_CREDENTIALS : undefined,
    // Throttling (429) and 5xx are retried with backoff; validation errors are not.
    maxAttempts: 6,
  })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sai-deploy-'))
  try {
    const region = await resolveRegion(client, 'sai deploy')
    const endpoint = lambdaEndpointUrl(options.endpointUrl, region)
    // Any AWS call below that fails for a reason the user can fix (credentials, network, a refusal) says so.
    return await deployTo(client, {spec, options, recommendation, local, region, endpoint, tmp, progress}).catch((error) => {
      throw awsCallError(error, {endpoint, local})
    })
  } finally {
    client.destroy()
    rmSync(tmp, {recursive: true, force: true})
  }
}

interface DeployContext {
  spec: FunctionSpec
  options: DeployOptions
  recommendation: Recommendation | undefined
  local: boolean
  region: string
  endpoint: string
  tmp: string
  progress(message: string): void
}

async function deployTo(client: LambdaClient, ctx: DeployContext): Promise<DeployResult> {
  const {spec, options, recommendation, local, region, endpoint, tmp, progress} = ctx
  const notes: string[] = []
  progress(`reading ${spec.name} from ${endpoint}`)
  const state = await readState(client, spec.name, options.alias)
  const repository = local ? `${options.registry}/${spec.name}` : options.format === 'image' ? await ensureEcrRepository(spec.name, region, {dryRun: options.dryRun, progress}) : undefined
  const built = await buildCode(spec, options, repository, tmp)
  const role = options.role ?? spec.role ?? (local ? LOCAL_ROLE : options.createRole ? await ensureRole(spec.name, region, {dryRun: options.dryRun, progress}) : state.configuration?.Role)
  if (!role)
    throw new SaiError('SAI_DEPLOY_OPTIONS_INVALID', `${spec.name} has no execution role`, {hint: 'add role: arn:aws:iam::<account>:role/<name> to sai.yaml, pass --role ARN, or let sai create a minimal one with --create-role'})
  const autoScaling: AutoScalingSetting | undefined = recommendation?.autoScaling && {
    targetValue: recommendation.autoScaling.targetValue,
    minCapacity: recommendation.autoScaling.minCapacity,
    maxCapacity: recommendation.autoScaling.maxCapacity,
  }
  const desired: DesiredFunction = {
    functionName: spec.name,
    code: built.code,
    configuration: {
      role,
      memorySize: recommendation?.memoryMB ?? spec.memory,
      timeout: spec.timeout,
      ephemeralStorage: spec.ephemeralStorage,
      architecture: spec.architecture,
      environment: spec.environment,
      description: `${spec.name}, deployed by sai`,
      runtime: 'runtime' in built ? built.runtime : undefined,
      handler: 'handler' in built ? built.handler : undefined,
    },
    alias: options.alias,
    provisionedConcurrency: options.provisionedConcurrency ?? recommendation?.provisionedConcurrency ?? spec.provisionedConcurrency,
    reservedConcurrency: spec.reservedConcurrency,
    // Application Auto Scaling has no local stand-in: only AWS gets the policy.
    autoScaling: local ? undefined : autoScaling,
  }
  if (local && autoScaling) notes.push('auto scaling: not applied to a local endpoint (Application Auto Scaling is AWS-only)')
  if (recommendation && !recommendation.meetsSlo)
    notes.push(`WARNING: ${options.recommendationPath} is the closest configuration, and it misses its objectives (p99 ${recommendation.p99Ms.toFixed(1)} ms, ${(100 * recommendation.coldStartRate).toFixed(2)}% cold starts)`)
  if (autoScaling && options.provisionedConcurrency !== undefined && options.provisionedConcurrency > autoScaling.maxCapacity)
    notes.push(`--provisioned-concurrency ${options.provisionedConcurrency} is above the recommendation's auto-scaling maximum (${autoScaling.maxCapacity}): auto scaling will bring it down`)
  if (!local && desired.autoScaling) state.autoScaling = await autoScalingState(spec.name, options.alias, region)
  const plan = planDeploy(desired, state)
  const result: DeployResult = {
    functionName: spec.name,
    target: {endpoint, region, local},
    packageType: built.code.packageType,
    code: {digest: built.code.digest, imageUri: built.code.imageUri, bytes: built.bytes},
    plan,
    dryRun: options.dryRun ?? false,
    noOp: plan.noOp,
    steps: plan.steps.map((s) => ({step: s.step, status: s.action === 'none' ? 'unchanged' : options.dryRun ? 'skipped' : 'not attempted', detail: s.detail})),
    version: state.alias?.functionVersion,
    notes,
  }
  if (options.dryRun || plan.noOp) return result
  await applyPlan(client, desired, plan, result, options, region)
  return result
}

async function applyPlan(client: LambdaClient, desired: DesiredFunction, plan: Plan, result: DeployResult, options: DeployOptions, region: string): Promise<void> {
  const name = desired.functionName
  const progress = options.onProgress ?? (() => {})
  const waiter = {client, maxWaitTime: options.waitTimeoutSeconds, minDelay: 1, maxDelay: 5}
  const c = desired.configuration
  const configuration = {
    Role: c.role,
    MemorySize: c.memorySize,
    Timeout: c.timeout,
    EphemeralStorage: {Size: c.ephemeralStorage},
    Environment: {Variables: c.environment},
    Description: c.description,
    ...(desired.code.packageType === 'Zip' ? {Runtime: c.runtime as FunctionConfiguration['Runtime'], Handler: c.handler} : {}),
  }
  const code = desired.code.packageType === 'Image' ? {ImageUri: desired.code.imageUri} : {ZipFile: desired.code.zipFile}
  const previousVersion = result.version
  let version = result.version
  const run: Record<StepName, (step: PlanStep) => Promise<string | void>> = {
    'create-function': async () => {
      progress(`creating ${name}`)
      const create = new CreateFunctionCommand({FunctionName: name, PackageType: desired.code.packageType, Code: code, Architectures: [c.architecture], ...configuration})
      await retryWhileRoleSettles(() => client.send(create), progress)
      await waitUntilFunctionActiveV2(waiter, {FunctionName: name})
    },
    'update-code': async () => {
      progress(`updating ${name}'s code`)
      await client.send(new UpdateFunctionCodeCommand({FunctionName: name, ...code, Architectures: [c.architecture]}))
      await waitUntilFunctionUpdatedV2(waiter, {FunctionName: name})
    },
    'update-configuration': async (step) => {
      progress(`updating ${name}'s configuration (${step.changes.map((x) => x.field).join(', ')})`)
      await client.send(new UpdateFunctionConfigurationCommand({FunctionName: name, ...configuration}))
      await waitUntilFunctionUpdatedV2(waiter, {FunctionName: name})
    },
    'publish-version': async () => {
      progress('publishing a version')
      // No Description: the version keeps the function's, so the plan can compare the two.
      const published = await client.send(new PublishVersionCommand({FunctionName: name}))
      version = published.Version!
      await waitUntilPublishedVersionActive(waiter, {FunctionName: name, Qualifier: version})
      return `version ${version}`
    },
    alias: async (step) => {
      progress(`${step.action === 'create' ? 'creating' : 'moving'} alias ${desired.alias} → version ${version}`)
      const input = {FunctionName: name, Name: desired.alias, FunctionVersion: version!}
      const alias = step.action === 'create' ? await client.send(new CreateAliasCommand(input)) : await client.send(new UpdateAliasCommand(input))
      result.aliasArn = alias.AliasArn
      return `${desired.alias} → version ${version}`
    },
    'reserved-concurrency': async (step) => {
      progress(step.action === 'delete' ? 'removing reserved concurrency' : `setting reserved concurrency to ${desired.reservedConcurrency}`)
      if (step.action === 'delete') await client.send(new DeleteFunctionConcurrencyCommand({FunctionName: name}))
      else await client.send(new PutFunctionConcurrencyCommand({FunctionName: name, ReservedConcurrentExecutions: desired.reservedConcurrency}))
    },
    'provisioned-concurrency': async (step) => {
      if (step.action === 'delete') {
        progress(`removing provisioned concurrency from ${desired.alias}`)
        await client.send(new DeleteProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: desired.alias}))
        return `none on ${desired.alias}`
      }
      progress(`provisioning ${desired.provisionedConcurrency} environment${desired.provisionedConcurrency === 1 ? '' : 's'} on ${desired.alias}`)
      await client.send(new PutProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: desired.alias, ProvisionedConcurrentExecutions: desired.provisionedConcurrency}))
      result.provisioned = await waitForProvisioned(client, name, desired.alias, options.waitTimeoutSeconds)
      return `${desired.provisionedConcurrency} READY on ${desired.alias}`
    },
    'auto-scaling': async () => {
      progress('putting the target-tracking policy')
      await putAutoScaling(name, desired.alias, desired.autoScaling!, region)
    },
  }
  for (const [index, step] of plan.steps.entries()) {
    if (step.action === 'none') continue
    const entry = result.steps[index]!
    try {
      const detail = await run[step.step](step)
      entry.status = 'applied'
      if (detail) entry.detail = detail
    } catch (error) {
      entry.status = 'failed'
      entry.detail = `${step.detail}: ${(error as Error).message}`
      result.version = version
      const applied = result.steps.filter((s) => s.status === 'applied').map((s) => s.step)
      const pending = result.steps.filter((s) => s.status === 'not attempted').map((s) => s.step)
      const aliasNow = applied.includes('alias') ? `points at version ${version}` : previousVersion ? `still points at version ${previousVersion}` : 'was not created'
      throw new SaiError(
        'SAI_DEPLOY_FAILED',
        `deploying ${name} failed at ${step.step}: ${(error as Error).message}. Applied: ${applied.join(', ') || 'nothing'}. Not applied: ${[step.step, ...pending].join(', ')}. The alias ${desired.alias} ${aliasNow}.`,
        {hint: 'fix the cause and run sai deploy again: it re-reads the state and applies only what is still missing', cause: awsCallError(error, result.target), details: result.steps},
      )
    }
  }
  result.version = version
}

/**
 * IAM is eventually consistent: for some seconds after a role is created, Lambda answers that it
 * "cannot be assumed". That one validation error is retried (the SDK retries only throttling and 5xx).
 */
async function retryWhileRoleSettles<T>(call: () => Promise<T>, progress: (message: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      const settling = (error as Error).name === 'InvalidParameterValueException' && /cannot be assumed/i.test((error as Error).message)
      if (!settling || attempt >= 10) throw error
      progress('the execution role is not usable by Lambda yet (IAM is eventually consistent); retrying in 3 s')
      await new Promise((resolve) => setTimeout(resolve, 3000))
    }
  }
}

/** Polls GetProvisionedConcurrencyConfig until READY (AWS takes minutes; the emulator, the init time). */
async function waitForProvisioned(client: LambdaClient, name: string, qualifier: string, timeoutSeconds: number): Promise<{requested: number; status: string}> {
  const deadline = Date.now() + timeoutSeconds * 1000
  for (;;) {
    const pc = await client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: qualifier}))
    if (pc.Status === 'READY') return {requested: pc.RequestedProvisionedConcurrentExecutions ?? 0, status: pc.Status}
    if (pc.Status === 'FAILED') throw new Error(`provisioned concurrency FAILED: ${pc.StatusReason ?? 'no reason given'}`)
    if (Date.now() > deadline) throw new Error(`provisioned concurrency still ${pc.Status} after ${timeoutSeconds} s (${pc.AvailableProvisionedConcurrentExecutions ?? 0} of ${pc.RequestedProvisionedConcurrentExecutions} available)`)
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}
