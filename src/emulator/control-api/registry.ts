/**
 * The control plane's view of functions: versions, aliases, provisioned concurrency configs,
 * reserved concurrency, and the states Lambda reports (State, LastUpdateStatus, a provisioned
 * concurrency config's Status). What runs lives in the Emulator; every change here is mirrored
 * there (putVersion, setAlias, setProvisionedConcurrency...). Wire shapes are AWS's
 * (FunctionConfiguration, AliasConfiguration, ...), checked against @aws-sdk/client-lambda.
 */
import {createHash, randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {FunctionSpec} from '../../spec/load.js'
import {LAMBDA_NODE_RUNTIMES} from '../../spec/limits.js'
import {systemClock, type Clock} from '../clock.js'
import {LATEST, parseFunctionName, type Emulator} from '../emulator.js'
import {
  functionArn, functionNotReady, invalidParameterValue, notFound, preconditionFailed, provisionedConcurrencyConfigNotFound,
  resourceConflict, resourceNotFound, updateInProgress, validationException,
} from '../invoke-api/aws-errors.js'

// ───────────────────────────── code ─────────────────────────────

export type FunctionCodeInput = {packageType: 'Zip'; zipFile: Buffer} | {packageType: 'Image'; imageUri: string}

/** Settings a package carries (sai.yaml's), used where the API sets nothing. */
export interface PackagedSettings {
  memory: number
  timeout: number
  ephemeralStorage: number
  architecture: 'x86_64' | 'arm64'
  runtime: string
  handler?: string
}

/** Code the control plane accepted, before it is made runnable. */
export interface InspectedCode {
  packageType: 'Zip' | 'Image'
  /** Zip: base64 of the SHA-256 of its bytes; image: the hex of its manifest digest (as Lambda reports them). */
  codeSha256: string
  /** Zip: its bytes; image: 0, as Lambda reports. */
  codeSize: number
  imageUri?: string
  /** `registry/repository@sha256:…`: the manifest the image reference named when it was accepted. */
  resolvedImageUri?: string
  packaged: PackagedSettings
  /** Downloads and unpacks the code; throws CodeLoadError. */
  load(): Promise<LoadedCode>
}

export interface LoadedCode {
  /** The function as packaged (its name is replaced by the API's). */
  spec: FunctionSpec
  /** Deletes the unpacked files. */
  remove(): void
}

/**
 * Turns the code of CreateFunction / UpdateFunctionCode into a runnable function (sai emulate's
 * implementation uses the packager: a registry pull or a zip extraction).
 */
export interface CodeLoader {
  /** Quick checks while the request waits (a zip sai built? an image that exists, with sai's label?); throws CodeRejectedError. */
  inspect(code: FunctionCodeInput): Promise<InspectedCode>
}

/** Code the API refuses outright: InvalidParameterValueException with this message. */
export class CodeRejectedError extends Error {
  override name = 'CodeRejectedError'
}

/** Code that could not be made runnable: the function (or its update) fails with this reason. */
export class CodeLoadError extends Error {
  override name = 'CodeLoadError'
  constructor(
    readonly reasonCode: 'ImageAccessDenied' | 'ImageDeleted' | 'InvalidImage' | 'InvalidZipFileException',
    message: string,
  ) {
    super(message)
  }
}

/** Unpacked code, shared by $LATEST and the versions published from it; its files go when nothing uses them. */
interface CodeArtifact extends Omit<InspectedCode, 'load'> {
  /** Set once loaded. */
  spec?: FunctionSpec
  remove?: () => void
  users: number
  /** No user left: removed as soon as it is loaded. */
  released: boolean
}

// ───────────────────────────── functions ─────────────────────────────

/** What the API configured; unset fields fall back to the package's settings. */
export interface FunctionSettings {
  role: string
  description: string
  memorySize?: number
  timeout?: number
  /** Environment.Variables: added to the package's own environment. */
  environment?: Record<string, string>
  ephemeralStorage?: number
  architecture?: 'x86_64' | 'arm64'
  handler?: string
  runtime?: string
}

type State = 'Pending' | 'Active' | 'Failed'

interface LastUpdate {
  status: 'InProgress' | 'Successful' | 'Failed'
  reason?: string
  reasonCode?: string
}

interface VersionRecord {
  version: string
  artifact: CodeArtifact
  settings: FunctionSettings
  state: State
  stateReason?: string
  stateReasonCode?: string
  /** Undefined while the function is being created. */
  lastUpdate?: LastUpdate
  revisionId: string
  lastModified: string
  /** Code and settings it was published from: an unchanged $LATEST is not published again. */
  fingerprint?: string
}

interface AliasRecord {
  name: string
  version: string
  description: string
  revisionId: string
}

interface ProvisionedConfig {
  requested: number
  lastModified: string
}

interface ControlFunction {
  name: string
  arn: string
  latest: VersionRecord
  versions: Map<string, VersionRecord>
  nextVersion: number
  aliases: Map<string, AliasRecord>
  /** Keyed by qualifier: an alias name or a version number. */
  provisioned: Map<string, ProvisionedConfig>
  reserved?: number
  deleted: boolean
  /** The code $LATEST runs while an update of its code is applied. */
  held?: CodeArtifact
}

export interface CreateFunctionInput {
  name: string
  code: FunctionCodeInput
  settings: FunctionSettings
  publish: boolean
}

export interface RegistryOptions {
  loader: CodeLoader
  /** The emulator's account concurrency: reserved concurrency must leave some of it unreserved. */
  accountConcurrency: number
  /** Shortest time a function stays Pending or InProgress (Lambda's last a second or more), so clients see it. */
  minTransitionMs?: number
  /** Role shown for functions given at startup. */
  defaultRole?: string
  clock?: Clock
  /** A failure that is a bug, not the code's fault (the function still fails, with InternalError). */
  onInternalError?(error: unknown): void
}

const CREATING = {reason: 'The function is being created.', reasonCode: 'Creating'}
const UNPUBLISHED = 'Provisioned Concurrency Configs cannot be applied to unpublished function versions.'
const VERSION_NUMBER = /^[1-9]\d*$/
const ALIAS_NAME = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/

/** AWS's timestamp format: 2024-03-06T19:19:00.000+0000. */
const timestamp = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000')

export class FunctionRegistry {
  private readonly functions = new Map<string, ControlFunction>()
  private readonly clock: Clock
  private readonly minTransitionMs: number
  private closed = false

  constructor(
    private readonly emulator: Emulator,
    private readonly options: RegistryOptions,
  ) {
    this.clock = options.clock ?? systemClock
    this.minTransitionMs = options.minTransitionMs ?? 200
    for (const spec of emulator.functionSpecs()) this.adopt(spec)
  }

  /** A function given at startup (--spec, --image, --zip): Active, its code the user's own files. */
  private adopt(spec: FunctionSpec): void {
    const zip = spec.packageSource?.endsWith('.zip') ? spec.packageSource : undefined
    const bytes = zip === undefined ? undefined : readFileSync(zip)
    const identity = bytes ?? Buffer.from(JSON.stringify({...spec, budgets: undefined}))
    const artifact: CodeArtifact = {
      packageType: spec.packageSource !== undefined && zip === undefined ? 'Image' : 'Zip',
      codeSha256: createHash('sha256').update(identity).digest('base64'),
      codeSize: bytes?.byteLength ?? 0,
      ...(spec.packageSource !== undefined && zip === undefined ? {imageUri: spec.packageSource} : {}),
      packaged: packagedSettings(spec),
      spec,
      users: 0,
      released: false,
    }
    const role = this.options.defaultRole ?? `arn:aws:iam::${this.emulator.accountId}:role/sai-emulator`
    const latest = this.newVersion(LATEST, artifact, {role, description: ''}, 'Active')
    latest.lastUpdate = {status: 'Successful'}
    this.functions.set(spec.name, {
      name: spec.name,
      arn: this.arn(spec.name),
      latest,
      versions: new Map(),
      nextVersion: 1,
      aliases: new Map(),
      provisioned: new Map(),
      reserved: spec.reservedConcurrency,
      deleted: false,
    })
  }

  private arn(name: string, qualifier?: string): string {
    return functionArn(this.emulator.region, this.emulator.accountId, name, qualifier)
  }

  private newVersion(version: string, artifact: CodeArtifact, settings: FunctionSettings, state: State): VersionRecord {
    artifact.users++
    return {
      version,
      artifact,
      settings,
      state,
      ...(state === 'Pending' ? {stateReason: CREATING.reason, stateReasonCode: CREATING.reasonCode} : {}),
      revisionId: randomUUID(),
      lastModified: timestamp(this.clock.now()),
    }
  }

  private newArtifact(code: InspectedCode): CodeArtifact {
    const {packageType, codeSha256, codeSize, imageUri, resolvedImageUri, packaged} = code
    return {packageType, codeSha256, codeSize, imageUri, resolvedImageUri, packaged, users: 0, released: false}
  }

  /** One user fewer; the files go with the last one (once the environments that ran them are gone). */
  private releaseArtifact(artifact: CodeArtifact): void {
    if (--artifact.users > 0) return
    artifact.released = true
    artifact.remove?.()
  }

  // ───────────────────────────── lookups ─────────────────────────────

  private get(name: string, qualifier?: string): ControlFunction {
    const fn = this.functions.get(name)
    if (!fn) throw resourceNotFound(this.arn(name, qualifier))
    return fn
  }

  /** For operations on the function itself (no qualifier allowed). */
  private unqualified(functionName: string): ControlFunction {
    const {name, qualifier} = parseFunctionName(functionName)
    if (qualifier !== undefined) throw invalidParameterValue(`This operation takes an unqualified function name or ARN, not ${functionName}`)
    return this.get(name)
  }

  /** The function, the qualifier it was named with, and the version that names. */
  private qualified(functionName: string, qualifier: string | undefined): {fn: ControlFunction; qualifier?: string; record: VersionRecord} {
    const parsed = parseFunctionName(functionName)
    if (qualifier !== undefined && parsed.qualifier !== undefined && qualifier !== parsed.qualifier) {
      throw invalidParameterValue('The derived qualifier from the function name does not match the specified qualifier.')
    }
    const wanted = qualifier ?? parsed.qualifier
    const fn = this.get(parsed.name, wanted)
    if (wanted === undefined || wanted === LATEST) return {fn, qualifier: wanted, record: fn.latest}
    const version = fn.aliases.get(wanted)?.version ?? wanted
    const record = version === LATEST ? fn.latest : fn.versions.get(version)
    if (!record) throw resourceNotFound(this.arn(fn.name, wanted))
    return {fn, qualifier: wanted, record}
  }

  /** A change of $LATEST is refused while it is created, and while another change is being applied. */
  private assertChangeable(fn: ControlFunction, revisionId: string | undefined, options: {failedOk?: boolean} = {}): void {
    const latest = fn.latest
    if (latest.state === 'Pending') throw functionNotReady('Pending')
    if (latest.state === 'Failed' && !options.failedOk) throw functionNotReady('Failed')
    if (latest.lastUpdate?.status === 'InProgress') throw updateInProgress(fn.arn)
    if (revisionId !== undefined && revisionId !== latest.revisionId) {
      throw preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id')
    }
  }

  private async inspect(code: FunctionCodeInput): Promise<InspectedCode> {
    try {
      return await this.options.loader.inspect(code)
    } catch (error) {
      if (error instanceof CodeRejectedError) throw invalidParameterValue(error.message)
      throw error
    }
  }

  // ───────────────────────────── functions ─────────────────────────────

  async createFunction(input: CreateFunctionInput): Promise<Record<string, unknown>> {
    const exists = () => {
      if (this.functions.has(input.name)) throw resourceConflict(`Function already exist: ${input.name}`)
    }
    exists()
    checkRuntime(input.settings.runtime)
    const code = await this.inspect(input.code)
    // Another create of the same name may have finished while this one's code was inspected.
    exists()
    const artifact = this.newArtifact(code)
    const fn: ControlFunction = {
      name: input.name,
      arn: this.arn(input.name),
      latest: this.newVersion(LATEST, artifact, input.settings, 'Pending'),
      versions: new Map(),
      nextVersion: 1,
      aliases: new Map(),
      provisioned: new Map(),
      deleted: false,
    }
    this.functions.set(fn.name, fn)
    this.emulator.setUnavailable(fn.name, LATEST, 'Pending')
    const published = input.publish ? this.snapshot(fn, undefined) : undefined
    this.applyLatest(fn, 'create', this.loadInto(artifact, code), {followers: published ? [published] : []})
    return this.configuration(fn, published ?? fn.latest, {qualifier: published?.version})
  }

  async updateFunctionCode(functionName: string, input: {code: FunctionCodeInput; architecture?: 'x86_64' | 'arm64'; publish: boolean; revisionId?: string}): Promise<Record<string, unknown>> {
    const fn = this.unqualified(functionName)
    this.assertChangeable(fn, input.revisionId, {failedOk: true})
    const type = fn.latest.artifact.packageType
    if (input.code.packageType !== type) {
      throw invalidParameterValue(`Please don't provide ${type === 'Zip' ? 'ImageUri' : 'ZipFile'} when updating a function with packageType ${type}.`)
    }
    const code = await this.inspect(input.code)
    if (fn.deleted) throw resourceNotFound(fn.arn)
    this.assertChangeable(fn, input.revisionId, {failedOk: true})
    const latest = fn.latest
    const previous = latest.artifact
    const previousSettings = latest.settings
    if (input.architecture !== undefined) latest.settings = {...latest.settings, architecture: input.architecture}
    const artifact = this.newArtifact(code)
    artifact.users++
    latest.artifact = artifact
    fn.held = previous
    // A function whose creation failed is created again; any other gets an update.
    const kind = latest.state === 'Failed' ? 'create' : 'update'
    if (kind === 'create') {
      latest.state = 'Pending'
      latest.stateReason = CREATING.reason
      latest.stateReasonCode = CREATING.reasonCode
      this.emulator.setUnavailable(fn.name, LATEST, 'Pending')
    }
    this.markChanging(latest)
    const published = input.publish ? this.snapshot(fn, undefined) : undefined
    this.applyLatest(fn, kind, this.loadInto(artifact, code), {
      followers: published ? [published] : [],
      done: (ok) => {
        fn.held = undefined
        if (fn.deleted) return
        if (ok) return this.releaseArtifact(previous)
        // Lambda keeps the previous code when an update fails.
        if (kind === 'update') {
          latest.artifact = previous
          latest.settings = previousSettings
          this.releaseArtifact(artifact)
        } else {
          this.releaseArtifact(previous)
        }
      },
    })
    return this.configuration(fn, published ?? latest, {qualifier: published?.version})
  }

  async updateFunctionConfiguration(functionName: string, input: {changes: Partial<FunctionSettings>; revisionId?: string}): Promise<Record<string, unknown>> {
    const fn = this.unqualified(functionName)
    this.assertChangeable(fn, input.revisionId)
    checkRuntime(input.changes.runtime)
    const latest = fn.latest
    const previous = latest.settings
    latest.settings = {...previous, ...definedOnly(input.changes)}
    this.markChanging(latest)
    const spec = this.effectiveSpec(fn.name, latest)
    this.applyLatest(fn, 'update', Promise.resolve(spec), {
      done: (ok) => {
        if (!ok) latest.settings = previous
      },
    })
    return this.configuration(fn, latest)
  }

  private markChanging(record: VersionRecord): void {
    record.lastUpdate = {status: 'InProgress', ...CREATING}
    record.revisionId = randomUUID()
    record.lastModified = timestamp(this.clock.now())
  }

  /** Loads code into its artifact; resolves with the packaged spec. */
  private async loadInto(artifact: CodeArtifact, code: InspectedCode): Promise<FunctionSpec> {
    const loaded = await code.load()
    artifact.remove = loaded.remove
    artifact.spec = loaded.spec
    // Its function was deleted (or its update abandoned) while it loaded.
    if (artifact.released) loaded.remove()
    return loaded.spec
  }

  /**
   * Applies a change of $LATEST once its work is done (and at least minTransitionMs later): the
   * emulator runs the new spec, State/LastUpdateStatus settle, and versions published with the
   * change (Publish: true) become Active with it — or everything Fails with the loader's reason.
   */
  private applyLatest(
    fn: ControlFunction,
    kind: 'create' | 'update',
    work: Promise<FunctionSpec>,
    options: {followers?: VersionRecord[]; done?: (ok: boolean) => void} = {},
  ): void {
    const latest = fn.latest
    const followers = options.followers ?? []
    const started = this.clock.now()
    void work
      .then(async () => {
        await this.atLeast(started)
        if (fn.deleted || this.closed) return false
        const drained = this.emulator.putVersion(this.effectiveSpec(fn.name, latest), LATEST)
        latest.state = 'Active'
        latest.stateReason = undefined
        latest.stateReasonCode = undefined
        latest.lastUpdate = {status: 'Successful'}
        latest.revisionId = randomUUID()
        for (const version of followers) this.activate(fn, version)
        this.applyProvisioning(fn)
        // The replaced code's files may go once no environment runs them.
        void drained.then(() => options.done?.(true))
        return true
      })
      .catch(async (error: unknown) => {
        await this.atLeast(started)
        if (fn.deleted || this.closed) return false
        const failure = describeFailure(error)
        if (failure.reasonCode === 'InternalError') this.options.onInternalError?.(error)
        if (kind === 'create') {
          latest.state = 'Failed'
          latest.stateReason = failure.message
          latest.stateReasonCode = failure.reasonCode
          this.emulator.setUnavailable(fn.name, LATEST, 'Failed')
        }
        latest.lastUpdate = {status: 'Failed', reason: failure.message, reasonCode: failure.reasonCode}
        latest.revisionId = randomUUID()
        for (const version of followers) this.fail(fn, version, failure)
        options.done?.(false)
        return false
      })
  }

  private atLeast(started: number): Promise<void> {
    const wait = started + this.minTransitionMs - this.clock.now()
    return wait <= 0 ? Promise.resolve() : new Promise((resolve) => this.clock.setTimer(resolve, wait))
  }

  /** What an invoke of this version runs: the package, with the API's settings over it. */
  private effectiveSpec(name: string, record: VersionRecord): FunctionSpec {
    const packaged = record.artifact.spec
    if (!packaged) throw new Error(`the code of ${name}:${record.version} is not loaded`)
    const {settings} = record
    const view = effectiveSettings(record)
    return {
      ...packaged,
      name,
      memory: view.memory,
      timeout: view.timeout,
      ephemeralStorage: view.ephemeralStorage,
      architecture: view.architecture,
      runtime: view.runtime as FunctionSpec['runtime'],
      ...(settings.handler !== undefined && record.artifact.packageType === 'Zip' ? {handler: settings.handler} : {}),
      environment: {...packaged.environment, ...settings.environment},
      // Concurrency comes from the API (PutFunctionConcurrency, PutProvisionedConcurrencyConfig), not the package.
      reservedConcurrency: undefined,
      provisionedConcurrency: 0,
    }
  }

  async deleteFunction(functionName: string, qualifier: string | undefined): Promise<void> {
    const parsed = parseFunctionName(functionName)
    const wanted = qualifier ?? parsed.qualifier
    const fn = this.get(parsed.name)
    if (wanted === undefined) {
      fn.deleted = true
      this.functions.delete(fn.name)
      const artifacts = [fn.latest, ...fn.versions.values()].map((v) => v.artifact)
      if (fn.held) artifacts.push(fn.held)
      void this.emulator.removeFunction(fn.name).then(() => artifacts.forEach((a) => this.releaseArtifact(a)))
      return
    }
    if (wanted === LATEST) throw invalidParameterValue('$LATEST version cannot be deleted without deleting the function.')
    const record = fn.versions.get(wanted)
    if (!record) throw resourceNotFound(this.arn(fn.name, wanted))
    const aliases = [...fn.aliases.values()].filter((a) => a.version === wanted).map((a) => a.name)
    if (aliases.length > 0) throw resourceConflict(`Unable to delete version because the following aliases reference it: [${aliases.join(', ')}]`)
    fn.versions.delete(wanted)
    fn.provisioned.delete(wanted)
    void this.emulator.removeFunction(fn.name, wanted).then(() => this.releaseArtifact(record.artifact))
  }

  getFunction(functionName: string, qualifier: string | undefined): Record<string, unknown> {
    const {fn, qualifier: shown, record} = this.qualified(functionName, qualifier)
    const {artifact} = record
    const code =
      artifact.packageType === 'Image'
        ? {RepositoryType: 'ECR', ImageUri: artifact.imageUri, ...(artifact.resolvedImageUri ? {ResolvedImageUri: artifact.resolvedImageUri} : {})}
        : {RepositoryType: 'S3'}
    return {
      Configuration: this.configuration(fn, record, {qualifier: shown}),
      Code: code,
      ...(fn.reserved === undefined ? {} : {Concurrency: {ReservedConcurrentExecutions: fn.reserved}}),
    }
  }

  getFunctionConfiguration(functionName: string, qualifier: string | undefined): Record<string, unknown> {
    const {fn, qualifier: shown, record} = this.qualified(functionName, qualifier)
    return this.configuration(fn, record, {qualifier: shown})
  }

  listFunctions(input: {marker?: string; maxItems?: number; allVersions: boolean}): Record<string, unknown> {
    const items: {key: string; value: Record<string, unknown>}[] = []
    for (const fn of [...this.functions.values()].sort((a, b) => compare(a.name, b.name))) {
      items.push({key: pageKey(fn.name, LATEST), value: this.configuration(fn, fn.latest, {list: true})})
      if (!input.allVersions) continue
      for (const record of fn.versions.values()) items.push({key: pageKey(fn.name, record.version), value: this.configuration(fn, record, {list: true, qualifier: record.version})})
    }
    const page = paginate(items, input.marker, input.maxItems)
    return {Functions: page.items, ...(page.nextMarker ? {NextMarker: page.nextMarker} : {})}
  }

  listVersions(functionName: string, input: {marker?: string; maxItems?: number}): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    const items = [fn.latest, ...fn.versions.values()].map((record) => ({key: pageKey(fn.name, record.version), value: this.configuration(fn, record, {list: true, qualifier: record.version})}))
    const page = paginate(items, input.marker, input.maxItems)
    return {Versions: page.items, ...(page.nextMarker ? {NextMarker: page.nextMarker} : {})}
  }

  // ───────────────────────────── versions ─────────────────────────────

  publishVersion(functionName: string, input: {description?: string; codeSha256?: string; revisionId?: string}): {status: 200 | 201; body: Record<string, unknown>} {
    const fn = this.unqualified(functionName)
    this.assertChangeable(fn, input.revisionId)
    const latest = fn.latest
    if (input.codeSha256 !== undefined && input.codeSha256 !== latest.artifact.codeSha256) {
      throw invalidParameterValue(`CodeSHA256 (${input.codeSha256}) is different from current CodeSHA256 in $LATEST (${latest.artifact.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`)
    }
    // Nothing changed since the last version: Lambda returns that version instead of a new one.
    const last = fn.versions.get(String(fn.nextVersion - 1))
    if (last && last.fingerprint === fingerprint(latest)) return {status: 201, body: this.configuration(fn, last, {qualifier: last.version})}
    const version = this.snapshot(fn, input.description)
    const started = this.clock.now()
    // A failure here is the emulator's own: report it, never let it end the process as an unhandled rejection.
    this.atLeast(started)
      .then(() => {
        if (!fn.deleted && !this.closed && fn.versions.get(version.version) === version) this.activate(fn, version)
      })
      .catch((error: unknown) => this.options.onInternalError?.(error))
    return {status: 201, body: this.configuration(fn, version, {qualifier: version.version})}
  }

  /** A new version from $LATEST's code and settings, Pending until activated. */
  private snapshot(fn: ControlFunction, description: string | undefined): VersionRecord {
    const latest = fn.latest
    const record = this.newVersion(String(fn.nextVersion++), latest.artifact, {...latest.settings, description: description ?? latest.settings.description}, 'Pending')
    record.lastUpdate = {status: 'InProgress', ...CREATING}
    record.fingerprint = fingerprint(latest)
    fn.versions.set(record.version, record)
    this.emulator.setUnavailable(fn.name, record.version, 'Pending')
    return record
  }

  private activate(fn: ControlFunction, record: VersionRecord): void {
    if (fn.versions.get(record.version) !== record) return
    this.emulator.putVersion(this.effectiveSpec(fn.name, record), record.version)
    record.state = 'Active'
    record.stateReason = undefined
    record.stateReasonCode = undefined
    record.lastUpdate = {status: 'Successful'}
    this.applyProvisioning(fn)
  }

  private fail(fn: ControlFunction, record: VersionRecord, failure: {reasonCode: string; message: string}): void {
    if (fn.versions.get(record.version) !== record) return
    record.state = 'Failed'
    record.stateReason = failure.message
    record.stateReasonCode = failure.reasonCode
    record.lastUpdate = {status: 'Failed', reason: failure.message, reasonCode: failure.reasonCode}
    this.emulator.setUnavailable(fn.name, record.version, 'Failed')
  }

  // ───────────────────────────── aliases ─────────────────────────────

  private aliasArn(fn: ControlFunction, alias: string): string {
    return this.arn(fn.name, alias)
  }

  private alias(fn: ControlFunction, name: string): AliasRecord {
    const alias = fn.aliases.get(name)
    if (!alias) throw notFound(`Alias not found: ${this.aliasArn(fn, name)}`)
    return alias
  }

  private aliasConfiguration(fn: ControlFunction, alias: AliasRecord): Record<string, unknown> {
    return {AliasArn: this.aliasArn(fn, alias.name), Name: alias.name, FunctionVersion: alias.version, Description: alias.description, RevisionId: alias.revisionId}
  }

  /** An alias may point at $LATEST or a published version that exists. */
  private checkAliasTarget(fn: ControlFunction, version: string): void {
    if (version !== LATEST && !fn.versions.has(version)) throw resourceNotFound(this.arn(fn.name, version))
  }

  createAlias(functionName: string, input: {name: string; functionVersion: string; description?: string; weighted: boolean}): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    if (!ALIAS_NAME.test(input.name)) throw validationException(input.name, 'name', 'Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)')
    if (input.weighted) throw invalidParameterValue('sai emulate does not split an alias\'s traffic between versions (RoutingConfig.AdditionalVersionWeights)')
    this.checkAliasTarget(fn, input.functionVersion)
    if (fn.aliases.has(input.name)) throw resourceConflict(`Alias already exists: ${this.aliasArn(fn, input.name)}`)
    const alias: AliasRecord = {name: input.name, version: input.functionVersion, description: input.description ?? '', revisionId: randomUUID()}
    fn.aliases.set(alias.name, alias)
    this.emulator.setAlias(fn.name, alias.name, alias.version)
    return this.aliasConfiguration(fn, alias)
  }

  getAlias(functionName: string, name: string): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    return this.aliasConfiguration(fn, this.alias(fn, name))
  }

  /** Moving an alias moves its provisioned concurrency: the new version's environments start, the old one's stop. */
  updateAlias(functionName: string, name: string, input: {functionVersion?: string; description?: string; revisionId?: string; weighted: boolean}): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    const alias = this.alias(fn, name)
    if (input.revisionId !== undefined && input.revisionId !== alias.revisionId) {
      throw preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id')
    }
    if (input.weighted) throw invalidParameterValue('sai emulate does not split an alias\'s traffic between versions (RoutingConfig.AdditionalVersionWeights)')
    const version = input.functionVersion ?? alias.version
    this.checkAliasTarget(fn, version)
    if (fn.provisioned.has(alias.name)) {
      if (version === LATEST) throw invalidParameterValue(UNPUBLISHED)
      if (fn.provisioned.has(version)) throw resourceConflict("Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
    }
    alias.version = version
    if (input.description !== undefined) alias.description = input.description
    alias.revisionId = randomUUID()
    this.emulator.setAlias(fn.name, alias.name, version)
    this.applyProvisioning(fn)
    return this.aliasConfiguration(fn, alias)
  }

  deleteAlias(functionName: string, name: string): void {
    const fn = this.unqualified(functionName)
    this.alias(fn, name)
    fn.aliases.delete(name)
    fn.provisioned.delete(name)
    this.emulator.setAlias(fn.name, name, undefined)
    this.applyProvisioning(fn)
  }

  listAliases(functionName: string, input: {functionVersion?: string; marker?: string; maxItems?: number}): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    const items = [...fn.aliases.values()]
      .filter((a) => input.functionVersion === undefined || a.version === input.functionVersion)
      .sort((a, b) => compare(a.name, b.name))
      .map((a) => ({key: a.name, value: this.aliasConfiguration(fn, a)}))
    const page = paginate(items, input.marker, input.maxItems)
    return {Aliases: page.items, ...(page.nextMarker ? {NextMarker: page.nextMarker} : {})}
  }

  // ───────────────────────────── concurrency ─────────────────────────────

  /** The version a provisioned concurrency config's qualifier names (an alias resolves to its version). */
  private provisionedTarget(fn: ControlFunction, qualifier: string): string {
    if (qualifier === LATEST) throw invalidParameterValue(UNPUBLISHED)
    if (VERSION_NUMBER.test(qualifier)) {
      if (!fn.versions.has(qualifier)) throw resourceNotFound(this.arn(fn.name, qualifier))
      return qualifier
    }
    const alias = fn.aliases.get(qualifier)
    if (!alias) throw notFound(`Cannot find alias arn: ${this.aliasArn(fn, qualifier)}`)
    return alias.version
  }

  /** Each version keeps the sum of the provisioned concurrency configs that resolve to it. */
  private applyProvisioning(fn: ControlFunction): void {
    const targets = new Map<string, number>()
    for (const [qualifier, config] of fn.provisioned) {
      const version = fn.aliases.get(qualifier)?.version ?? qualifier
      targets.set(version, (targets.get(version) ?? 0) + config.requested)
    }
    for (const [version, record] of fn.versions) {
      if (record.state === 'Active') this.emulator.setProvisionedConcurrency(fn.name, version, targets.get(version) ?? 0)
    }
  }

  private provisionedConfiguration(fn: ControlFunction, qualifier: string, config: ProvisionedConfig): Record<string, unknown> {
    const version = fn.aliases.get(qualifier)?.version ?? qualifier
    const record = fn.versions.get(version)
    const status = record?.state === 'Active' ? this.emulator.provisionedStatus(fn.name, version) : undefined
    let allocated = 0
    if (status && status.target > 0) allocated = status.allocated >= status.target ? config.requested : Math.min(config.requested, Math.floor((status.allocated * config.requested) / status.target))
    const failure = record?.state === 'Failed' ? record.stateReason : status?.failure
    const state = failure !== undefined && allocated < config.requested ? 'FAILED' : allocated >= config.requested ? 'READY' : 'IN_PROGRESS'
    return {
      RequestedProvisionedConcurrentExecutions: config.requested,
      AvailableProvisionedConcurrentExecutions: allocated,
      AllocatedProvisionedConcurrentExecutions: allocated,
      Status: state,
      ...(state === 'FAILED' ? {StatusReason: `An environment failed to initialize: ${failure}`} : {}),
      LastModified: config.lastModified,
    }
  }

  putProvisionedConcurrency(functionName: string, qualifier: string | undefined, requested: number): Record<string, unknown> {
    const parsed = parseFunctionName(functionName)
    const wanted = qualifier ?? parsed.qualifier
    if (wanted === undefined) throw validationException(null, 'qualifier', 'Member must not be null')
    if (wanted === LATEST) throw invalidParameterValue(UNPUBLISHED)
    const fn = this.get(parsed.name)
    const version = this.provisionedTarget(fn, wanted)
    if (version === LATEST) throw invalidParameterValue(UNPUBLISHED)
    if (VERSION_NUMBER.test(wanted)) {
      if ([...fn.aliases.values()].some((a) => a.version === wanted && fn.provisioned.has(a.name))) throw resourceConflict('Version is pointed by a Provisioned Concurrency alias')
    } else if (fn.provisioned.has(version)) {
      throw resourceConflict("Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
    }
    const others = [...fn.provisioned].filter(([q]) => q !== wanted).reduce((sum, [, c]) => sum + c.requested, 0)
    if (fn.reserved !== undefined && others + requested > fn.reserved) {
      throw invalidParameterValue('Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function')
    }
    const unreserved = this.options.accountConcurrency - this.reservedTotal()
    if (fn.reserved === undefined && others + requested > unreserved) {
      throw invalidParameterValue(`Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [${unreserved}].`)
    }
    const config = {requested, lastModified: timestamp(this.clock.now())}
    fn.provisioned.set(wanted, config)
    this.applyProvisioning(fn)
    // Put again after a failure: try again.
    if (fn.versions.get(version)?.state === 'Active') {
      const total = [...fn.provisioned].filter(([q]) => (fn.aliases.get(q)?.version ?? q) === version).reduce((sum, [, c]) => sum + c.requested, 0)
      this.emulator.setProvisionedConcurrency(fn.name, version, total, {retry: true})
    }
    return this.provisionedConfiguration(fn, wanted, config)
  }

  getProvisionedConcurrency(functionName: string, qualifier: string | undefined): Record<string, unknown> {
    const parsed = parseFunctionName(functionName)
    const wanted = qualifier ?? parsed.qualifier
    if (wanted === undefined) throw validationException(null, 'qualifier', 'Member must not be null')
    const fn = this.get(parsed.name)
    if (wanted !== LATEST) this.provisionedTarget(fn, wanted)
    const config = fn.provisioned.get(wanted)
    if (!config) throw provisionedConcurrencyConfigNotFound()
    return this.provisionedConfiguration(fn, wanted, config)
  }

  listProvisionedConcurrency(functionName: string, input: {marker?: string; maxItems?: number}): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    const items = [...fn.provisioned]
      .sort(([a], [b]) => compare(a, b))
      .map(([qualifier, config]) => ({key: qualifier, value: {FunctionArn: this.arn(fn.name, qualifier), ...this.provisionedConfiguration(fn, qualifier, config)}}))
    const page = paginate(items, input.marker, input.maxItems)
    return {ProvisionedConcurrencyConfigs: page.items, ...(page.nextMarker ? {NextMarker: page.nextMarker} : {})}
  }

  deleteProvisionedConcurrency(functionName: string, qualifier: string | undefined): void {
    const parsed = parseFunctionName(functionName)
    const wanted = qualifier ?? parsed.qualifier
    if (wanted === undefined) throw validationException(null, 'qualifier', 'Member must not be null')
    const fn = this.get(parsed.name)
    if (wanted !== LATEST) this.provisionedTarget(fn, wanted)
    if (!fn.provisioned.delete(wanted)) throw provisionedConcurrencyConfigNotFound()
    this.applyProvisioning(fn)
  }

  private reservedTotal(except?: ControlFunction): number {
    let total = 0
    for (const fn of this.functions.values()) if (fn !== except) total += fn.reserved ?? 0
    return total
  }

  putFunctionConcurrency(functionName: string, reserved: number): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    const provisioned = [...fn.provisioned.values()].reduce((sum, c) => sum + c.requested, 0)
    if (reserved < provisioned) {
      throw invalidParameterValue(`ReservedConcurrentExecutions ${reserved} should not be lower than function's total provisioned concurrency [${provisioned}].`)
    }
    // Lambda keeps 100 of the default 1,000 unreserved; sai keeps the same tenth of --account-concurrency.
    const minimum = Math.min(100, Math.floor(this.options.accountConcurrency / 10))
    if (this.options.accountConcurrency - this.reservedTotal(fn) - reserved < minimum) {
      throw invalidParameterValue(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${minimum}].`)
    }
    fn.reserved = reserved
    this.emulator.setReservedConcurrency(fn.name, reserved)
    return {ReservedConcurrentExecutions: reserved}
  }

  getFunctionConcurrency(functionName: string): Record<string, unknown> {
    const fn = this.unqualified(functionName)
    return fn.reserved === undefined ? {} : {ReservedConcurrentExecutions: fn.reserved}
  }

  deleteFunctionConcurrency(functionName: string): void {
    const fn = this.unqualified(functionName)
    fn.reserved = undefined
    this.emulator.setReservedConcurrency(fn.name, undefined)
  }

  // ───────────────────────────── rendering ─────────────────────────────

  /**
   * A FunctionConfiguration. The ARN is qualified when the function was named with a qualifier (or
   * for a published version); ListFunctions and ListVersionsByFunction leave out the state fields.
   */
  private configuration(fn: ControlFunction, record: VersionRecord, options: {qualifier?: string; list?: boolean} = {}): Record<string, unknown> {
    const {artifact, settings} = record
    const view = effectiveSettings(record)
    const image = artifact.packageType === 'Image'
    const state = options.list
      ? {}
      : {
          State: record.state,
          StateReason: record.stateReason,
          StateReasonCode: record.stateReasonCode,
          LastUpdateStatus: record.lastUpdate?.status,
          LastUpdateStatusReason: record.lastUpdate?.reason,
          LastUpdateStatusReasonCode: record.lastUpdate?.reasonCode,
        }
    return definedOnly({
      FunctionName: fn.name,
      FunctionArn: options.qualifier === undefined ? fn.arn : this.arn(fn.name, options.qualifier),
      Runtime: image ? undefined : view.runtime,
      Role: settings.role,
      Handler: image ? undefined : view.handler,
      CodeSize: artifact.codeSize,
      Description: settings.description,
      Timeout: view.timeout,
      MemorySize: view.memory,
      LastModified: record.lastModified,
      CodeSha256: artifact.codeSha256,
      Version: record.version,
      Environment: settings.environment && Object.keys(settings.environment).length > 0 ? {Variables: settings.environment} : undefined,
      TracingConfig: {Mode: 'PassThrough'},
      RevisionId: record.revisionId,
      ...state,
      PackageType: artifact.packageType,
      ImageConfigResponse: image ? {} : undefined,
      Architectures: [view.architecture],
      EphemeralStorage: {Size: view.ephemeralStorage},
      SnapStart: {ApplyOn: 'None', OptimizationStatus: 'Off'},
      LoggingConfig: {LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}`},
    })
  }

  /** Stops pending transitions from touching the emulator (it is closing). */
  close(): void {
    this.closed = true
  }
}

// ───────────────────────────── helpers ─────────────────────────────

/** The package's settings as a function spec has them. */
export function packagedSettings(spec: Pick<FunctionSpec, 'memory' | 'timeout' | 'ephemeralStorage' | 'architecture' | 'runtime' | 'handler'>): PackagedSettings {
  return {memory: spec.memory, timeout: spec.timeout, ephemeralStorage: spec.ephemeralStorage, architecture: spec.architecture, runtime: spec.runtime, ...(spec.handler === undefined ? {} : {handler: spec.handler})}
}

/** The API's settings over the package's. */
function effectiveSettings(record: VersionRecord): PackagedSettings {
  const {settings} = record
  const packaged = record.artifact.spec ? packagedSettings(record.artifact.spec) : record.artifact.packaged
  return {
    memory: settings.memorySize ?? packaged.memory,
    timeout: settings.timeout ?? packaged.timeout,
    ephemeralStorage: settings.ephemeralStorage ?? packaged.ephemeralStorage,
    architecture: settings.architecture ?? packaged.architecture,
    runtime: settings.runtime ?? packaged.runtime,
    handler: settings.handler ?? packaged.handler,
  }
}

/** $LATEST's code and settings: PublishVersion publishes only when they changed. */
function fingerprint(record: VersionRecord): string {
  return createHash('sha256').update(JSON.stringify({code: record.artifact.codeSha256, settings: record.settings})).digest('hex')
}

function checkRuntime(runtime: string | undefined): void {
  if (runtime !== undefined && !(LAMBDA_NODE_RUNTIMES as readonly string[]).includes(runtime)) {
    throw invalidParameterValue(`sai emulate runs Node.js functions: Runtime ${runtime} is not one of ${LAMBDA_NODE_RUNTIMES.join(', ')}`)
  }
}

function describeFailure(error: unknown): {reasonCode: string; message: string} {
  if (error instanceof CodeLoadError) return {reasonCode: error.reasonCode, message: error.message}
  return {reasonCode: 'InternalError', message: `sai internal error: ${(error as Error).message}`}
}

function definedOnly<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Sorts $LATEST first, then versions by number. */
const pageKey = (name: string, version: string) => `${name}\u0000${version === LATEST ? '0'.padStart(10, '0') : version.padStart(10, '0')}`

/** Markers are opaque to clients: the base64 of the last key returned. */
function paginate<T>(items: {key: string; value: T}[], marker: string | undefined, maxItems = 50): {items: T[]; nextMarker?: string} {
  let start = 0
  if (marker !== undefined) {
    const after = Buffer.from(marker, 'base64url').toString('utf8')
    start = items.findIndex((item) => item.key > after)
    if (start < 0) start = items.length
  }
  const page = items.slice(start, start + maxItems)
  const more = start + maxItems < items.length
  return {items: page.map((i) => i.value), ...(more ? {nextMarker: Buffer.from(page.at(-1)!.key, 'utf8').toString('base64url')} : {})}
}
