/**
 * What `sai deploy` will change: the desired function against what the control plane reports, step
 * by step and field by field. Pure: the service reads the current state and applies the plan.
 */
import {isDeepStrictEqual} from 'node:util'
import type {FunctionConfiguration} from '@aws-sdk/client-lambda'

export interface DesiredCode {
  packageType: 'Image' | 'Zip'
  /** Image: `REPO@sha256:…`; Zip: the archive. */
  imageUri?: string
  zipFile?: Buffer
  /** Image: the manifest digest (`sha256:…`). Zip: base64 SHA-256 of the archive, as Lambda's CodeSha256. */
  digest: string
}

export interface DesiredConfiguration {
  role: string
  memorySize: number
  timeout: number
  ephemeralStorage: number
  architecture: 'x86_64' | 'arm64'
  environment: Record<string, string>
  description: string
  /** Zip functions only: the managed runtime and handler. */
  runtime?: string
  handler?: string
}

export interface AutoScalingSetting {
  targetValue: number
  minCapacity: number
  maxCapacity: number
}

export interface DesiredFunction {
  functionName: string
  code: DesiredCode
  configuration: DesiredConfiguration
  alias: string
  provisionedConcurrency: number
  reservedConcurrency?: number
  autoScaling?: AutoScalingSetting
}

/** What the control plane holds now (undefined parts do not exist). */
export interface CurrentState {
  configuration?: FunctionConfiguration
  /** Image functions: the digest $LATEST runs (from Code.ResolvedImageUri). */
  imageDigest?: string
  reservedConcurrency?: number
  alias?: {functionVersion: string}
  /** The configuration of the version the alias points at. */
  aliasVersion?: FunctionConfiguration
  provisioned?: {requested: number; status?: string}
  /** The target-tracking setting Application Auto Scaling holds for the alias. */
  autoScaling?: AutoScalingSetting
}

export interface FieldChange {
  field: string
  from: unknown
  to: unknown
}

export type StepName = 'create-function' | 'update-code' | 'update-configuration' | 'publish-version' | 'alias' | 'reserved-concurrency' | 'provisioned-concurrency' | 'auto-scaling'

export interface PlanStep {
  step: StepName
  action: 'create' | 'update' | 'delete' | 'none'
  changes: FieldChange[]
  /** Why nothing changes, or what the step does. */
  detail: string
}

export interface Plan {
  functionName: string
  steps: PlanStep[]
  /** Nothing to change anywhere. */
  noOp: boolean
}

/** The configuration fields Lambda reports, as sai's desired configuration names them. */
function configurationFields(config: FunctionConfiguration | undefined): Record<string, unknown> {
  return {
    role: config?.Role,
    memorySize: config?.MemorySize,
    timeout: config?.Timeout,
    ephemeralStorage: config?.EphemeralStorage?.Size ?? (config ? 512 : undefined),
    environment: config?.Environment?.Variables ?? (config ? {} : undefined),
    description: config?.Description ?? (config ? '' : undefined),
    runtime: config?.Runtime,
    handler: config?.Handler,
  }
}

function diff(from: Record<string, unknown>, to: Record<string, unknown>): FieldChange[] {
  return Object.keys(to)
    .filter((field) => to[field] !== undefined && !isDeepStrictEqual(from[field], to[field]))
    .map((field) => ({field, from: from[field], to: to[field]}))
}

const currentCode = (state: CurrentState, packageType: DesiredCode['packageType']) => (packageType === 'Image' ? state.imageDigest : state.configuration?.CodeSha256)
const architectureOf = (config: FunctionConfiguration | undefined) => config?.Architectures?.[0] ?? (config ? 'x86_64' : undefined)

export function planDeploy(desired: DesiredFunction, state: CurrentState): Plan {
  const steps: PlanStep[] = []
  const step = (name: StepName, action: PlanStep['action'], changes: FieldChange[], detail: string) => steps.push({step: name, action, changes, detail})
  const wantedConfig = {...desired.configuration} as Record<string, unknown>
  delete wantedConfig.architecture
  const codeChanges: FieldChange[] = []
  if (!state.configuration) {
    step('create-function', 'create', [{field: 'code', from: undefined, to: desired.code.digest}, ...diff({}, {...wantedConfig, architecture: desired.configuration.architecture})], `create ${desired.functionName} (${desired.code.packageType})`)
  } else {
    if (state.configuration.PackageType && state.configuration.PackageType !== desired.code.packageType)
      codeChanges.push({field: 'packageType', from: state.configuration.PackageType, to: desired.code.packageType})
    const code = currentCode(state, desired.code.packageType)
    if (code !== desired.code.digest) codeChanges.push({field: 'code', from: code, to: desired.code.digest})
    // The architecture is part of the code on Lambda: UpdateFunctionCode sets it, UpdateFunctionConfiguration cannot.
    const architecture = architectureOf(state.configuration)
    if (architecture !== desired.configuration.architecture) codeChanges.push({field: 'architecture', from: architecture, to: desired.configuration.architecture})
    step('update-code', codeChanges.length > 0 ? 'update' : 'none', codeChanges, codeChanges.length > 0 ? 'upload the new code' : 'code unchanged')
    const configChanges = diff(configurationFields(state.configuration), wantedConfig)
    step('update-configuration', configChanges.length > 0 ? 'update' : 'none', configChanges, configChanges.length > 0 ? 'update the configuration' : 'configuration unchanged')
  }
  const latestChanges = !state.configuration || steps.some((s) => s.action !== 'none')
  // A published version is immutable: publish when $LATEST changes, or when the alias's version differs from it.
  const version = state.aliasVersion
  const versionCurrent =
    !latestChanges &&
    version !== undefined &&
    version.CodeSha256 === state.configuration?.CodeSha256 &&
    diff(configurationFields(version), wantedConfig).length === 0
  step('publish-version', versionCurrent ? 'none' : 'create', [], versionCurrent ? `version ${state.alias!.functionVersion} already holds this code and configuration` : 'publish a new version')
  if (!state.alias) step('alias', 'create', [{field: 'functionVersion', from: undefined, to: 'the new version'}], `create alias ${desired.alias}`)
  else if (!versionCurrent) step('alias', 'update', [{field: 'functionVersion', from: state.alias.functionVersion, to: 'the new version'}], `move alias ${desired.alias} to the new version`)
  else step('alias', 'none', [], `${desired.alias} → version ${state.alias.functionVersion}`)
  if (desired.reservedConcurrency === state.reservedConcurrency)
    step('reserved-concurrency', 'none', [], desired.reservedConcurrency === undefined ? 'not set in the spec' : `already ${desired.reservedConcurrency}`)
  else if (desired.reservedConcurrency === undefined)
    step('reserved-concurrency', 'delete', [{field: 'reservedConcurrentExecutions', from: state.reservedConcurrency, to: undefined}], 'remove reserved concurrency (the spec no longer sets it)')
  else step('reserved-concurrency', 'update', [{field: 'reservedConcurrentExecutions', from: state.reservedConcurrency, to: desired.reservedConcurrency}], 'set reserved concurrency')
  const pc = state.provisioned
  // Moving the alias re-provisions its environments on the new version, so PC is (re)applied with it.
  // With auto scaling, whatever it chose within its range is the desired state: a deploy must not fight it.
  const scaling = desired.autoScaling
  const requested = pc?.requested ?? 0
  const amountUnchanged = requested === desired.provisionedConcurrency || (scaling !== undefined && requested >= scaling.minCapacity && requested <= scaling.maxCapacity)
  const pcUnchanged = versionCurrent && amountUnchanged && (pc === undefined || pc.status === 'READY')
  if (desired.provisionedConcurrency === 0 && !pc) step('provisioned-concurrency', 'none', [], 'none requested')
  else if (desired.provisionedConcurrency === 0)
    step('provisioned-concurrency', 'delete', [{field: 'provisionedConcurrentExecutions', from: pc!.requested, to: 0}], `remove provisioned concurrency from ${desired.alias}`)
  else if (pcUnchanged) step('provisioned-concurrency', 'none', [], `${requested} on ${desired.alias}, READY`)
  else step('provisioned-concurrency', pc ? 'update' : 'create', [{field: 'provisionedConcurrentExecutions', from: pc?.requested, to: desired.provisionedConcurrency}], `provision ${desired.provisionedConcurrency} environment${desired.provisionedConcurrency === 1 ? '' : 's'} on ${desired.alias} and wait until READY`)
  if (desired.autoScaling && !isDeepStrictEqual(desired.autoScaling, state.autoScaling))
    step('auto-scaling', state.autoScaling ? 'update' : 'create', diff((state.autoScaling ?? {}) as Record<string, unknown>, {...desired.autoScaling}), 'register the alias with Application Auto Scaling and put a target-tracking policy on LambdaProvisionedConcurrencyUtilization')
  else if (desired.autoScaling) step('auto-scaling', 'none', [], 'target tracking already set')
  return {functionName: desired.functionName, steps, noOp: steps.every((s) => s.action === 'none')}
}
