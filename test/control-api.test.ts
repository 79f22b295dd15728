/**
 * The control plane through the real @aws-sdk/client-lambda, commands and waiters: functions
 * created from a zip and from an image `sai package` built (pulled from a real registry), their
 * states, updates, versions, aliases, provisioned and reserved concurrency, and AWS's errors.
 */
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {
  CreateAliasCommand, CreateFunctionCommand, DeleteAliasCommand, DeleteFunctionCommand, DeleteFunctionConcurrencyCommand,
  DeleteProvisionedConcurrencyConfigCommand, GetAliasCommand, GetFunctionCommand, GetFunctionConcurrencyCommand, GetFunctionConfigurationCommand,
  GetProvisionedConcurrencyConfigCommand, ListAliasesCommand, ListFunctionsCommand, ListProvisionedConcurrencyConfigsCommand, ListVersionsByFunctionCommand,
  paginateListFunctions, PublishVersionCommand, PutFunctionConcurrencyCommand, PutProvisionedConcurrencyConfigCommand, UpdateAliasCommand,
  UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionActiveV2, waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive, type LambdaClient,
} from '@aws-sdk/client-lambda'
import {buffer} from 'node:stream/consumers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import yazl from 'yazl'
import {buildImage} from '../src/packager/oci/image.js'
import {buildLayer} from '../src/packager/oci/layer.js'
import {parseReference, RegistryClient} from '../src/packager/oci/registry.js'
import {packageFunction, type PackageOptions} from '../src/services/package.js'
import {BIN, emulate, FIXTURES, invoke, parseReport, ROOT, runSai, sdkClient} from './helpers.js'
import {startRegistry, type LocalRegistry} from './registry-helper.js'

const work = mkdtempSync(path.join(os.tmpdir(), 'sai-control-test-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const ROLE = 'arn:aws:iam::000000000000:role/sai-test'
const ARN = 'arn:aws:lambda:us-east-1:000000000000:function'
const wait = {maxWaitTime: 60, minDelay: 1, maxDelay: 2}

const packageOptions = (output: PackageOptions['output']): PackageOptions => ({
  specPath: path.join(FIXTURES, 'noop'),
  base: 'host',
  sourceDateEpoch: 0,
  minCosine: 0.99,
  cacheDir: path.join(work, 'cache'),
  output,
})

async function serviceError(promise: Promise<unknown>) {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as {name: string; message: string; $metadata: {httpStatusCode: number}} | undefined
  expect(error, 'expected the call to fail').toBeDefined()
  return error!
}

/** Polls until the provisioned concurrency config of a qualifier is READY (or fails the test on FAILED). */
async function provisionedReady(client: LambdaClient, name: string, qualifier: string) {
  const deadline = Date.now() + 30_000
  const seen: string[] = []
  for (;;) {
    const config = await client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: qualifier}))
    if (seen.at(-1) !== config.Status) seen.push(config.Status!)
    if (config.Status === 'READY') return {config, seen}
    if (config.Status === 'FAILED' || Date.now() > deadline) throw new Error(`provisioned concurrency of ${name}:${qualifier}: ${config.Status} ${config.StatusReason ?? ''}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('control plane: a zip function through its life', () => {
  let env: Awaited<ReturnType<typeof emulate>>
  let client: LambdaClient
  let zip: Buffer
  const name = 'noop-zip'

  beforeAll(async () => {
    const file = path.join(work, 'noop.zip')
    await packageFunction(packageOptions({kind: 'zip', file}))
    zip = readFileSync(file)
    // Startup functions stay as they were, next to the ones the API creates.
    env = await emulate([], {minTransitionMs: 300})
    client = env.client
  })
  afterAll(() => env?.close())

  it('CreateFunction: 201, Pending while the zip is unpacked, invokes refused until Active, then it runs', async () => {
    const created = await client.send(
      new CreateFunctionCommand({FunctionName: name, Role: ROLE, PackageType: 'Zip', Runtime: 'nodejs22.x', Handler: 'sai-handler.handler', Code: {ZipFile: zip}, Description: 'a no-op', Environment: {Variables: {GREETING: 'hi'}}}),
    )
    expect(created.$metadata.httpStatusCode).toBe(201)
    expect(created).toMatchObject({
      FunctionName: name,
      FunctionArn: `${ARN}:${name}`,
      State: 'Pending',
      StateReasonCode: 'Creating',
      StateReason: 'The function is being created.',
      PackageType: 'Zip',
      Version: '$LATEST',
      Role: ROLE,
      Description: 'a no-op',
      MemorySize: 1769, // the package's, where the API set nothing
      Timeout: 3,
      Handler: 'sai-handler.handler',
      Runtime: 'nodejs22.x',
      Environment: {Variables: {GREETING: 'hi'}},
      CodeSize: zip.byteLength,
      CodeSha256: createHash('sha256').update(zip).digest('base64'),
    })
    const early = await serviceError(invoke(client, {FunctionName: name}))
    expect(early.name).toBe('ResourceConflictException')
    expect(early.message).toBe('The operation cannot be performed at this time. The function is currently in the following state: Pending')

    const waited = await waitUntilFunctionActiveV2({client, ...wait}, {FunctionName: name})
    expect(waited.state).toBe('SUCCESS')
    const fn = await client.send(new GetFunctionCommand({FunctionName: name}))
    expect(fn.Configuration).toMatchObject({State: 'Active', LastUpdateStatus: 'Successful'})
    expect(fn.Code?.RepositoryType).toBe('S3')
    const result = await invoke(client, {FunctionName: name, Payload: {}})
    expect(result.FunctionError).toBeUndefined()
    expect(result.json).toEqual({ok: true})
    expect(result.ExecutedVersion).toBe('$LATEST')
  })

  it('CreateFunction of a name that exists: ResourceConflictException', async () => {
    const error = await serviceError(client.send(new CreateFunctionCommand({FunctionName: name, Role: ROLE, Code: {ZipFile: zip}})))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.$metadata.httpStatusCode).toBe(409)
    expect(error.message).toBe(`Function already exist: ${name}`)
  })

  it('UpdateFunctionConfiguration: InProgress (a second update and PublishVersion meanwhile conflict), then the next invoke runs the new memory size in a new environment', async () => {
    const before = env.emulator.environments(name)
    expect(before.length).toBe(1)
    const updated = await client.send(new UpdateFunctionConfigurationCommand({FunctionName: name, MemorySize: 256}))
    expect(updated).toMatchObject({MemorySize: 256, State: 'Active', LastUpdateStatus: 'InProgress', LastUpdateStatusReasonCode: 'Creating'})

    const again = await serviceError(client.send(new UpdateFunctionConfigurationCommand({FunctionName: name, Timeout: 10})))
    expect(again.name).toBe('ResourceConflictException')
    expect(again.message).toBe(`The operation cannot be performed at this time. An update is in progress for resource: ${ARN}:${name}`)
    const publish = await serviceError(client.send(new PublishVersionCommand({FunctionName: name})))
    expect(publish.name).toBe('ResourceConflictException')
    const code = await serviceError(client.send(new UpdateFunctionCodeCommand({FunctionName: name, ZipFile: zip})))
    expect(code.name).toBe('ResourceConflictException')

    expect((await waitUntilFunctionUpdatedV2({client, ...wait}, {FunctionName: name})).state).toBe('SUCCESS')
    const configuration = await client.send(new GetFunctionConfigurationCommand({FunctionName: name}))
    expect(configuration).toMatchObject({MemorySize: 256, Timeout: 3, LastUpdateStatus: 'Successful'})
    expect(configuration.RevisionId).not.toBe(updated.RevisionId)
    // The old code's idle environment was stopped: the next invoke is a cold start with the new settings.
    const result = await invoke(client, {FunctionName: name, LogType: 'Tail'})
    const report = parseReport(result.log)
    expect(report.memorySize).toBe(256)
    expect(report.initDuration).toBeDefined()
    expect(env.emulator.environments(name).some((e) => before.includes(e))).toBe(false)
  })

  it('a RevisionId that is not the latest: PreconditionFailedException', async () => {
    const error = await serviceError(client.send(new UpdateFunctionConfigurationCommand({FunctionName: name, Description: 'x', RevisionId: 'not-the-revision'})))
    expect(error.name).toBe('PreconditionFailedException')
    expect(error.$metadata.httpStatusCode).toBe(412)
  })

  it('PublishVersion: version 1 (Pending, then Active); publishing an unchanged $LATEST again returns version 1', async () => {
    const first = await client.send(new PublishVersionCommand({FunctionName: name, Description: 'first'}))
    expect(first.$metadata.httpStatusCode).toBe(201)
    expect(first).toMatchObject({Version: '1', FunctionArn: `${ARN}:${name}:1`, MemorySize: 256, Description: 'first'})
    expect((await waitUntilPublishedVersionActive({client, ...wait}, {FunctionName: name, Qualifier: '1'})).state).toBe('SUCCESS')
    const second = await client.send(new PublishVersionCommand({FunctionName: name}))
    expect(second.Version).toBe('1')
    expect(second.RevisionId).toBe((await client.send(new GetFunctionConfigurationCommand({FunctionName: name, Qualifier: '1'}))).RevisionId)
    const result = await invoke(client, {FunctionName: `${name}:1`})
    expect(result.ExecutedVersion).toBe('1')
    expect(result.json).toEqual({ok: true})
  })

  it('provisioned concurrency on an alias: IN_PROGRESS, then READY; the alias is served warm by its version', async () => {
    const alias = await client.send(new CreateAliasCommand({FunctionName: name, Name: 'live', FunctionVersion: '1'}))
    expect(alias.$metadata.httpStatusCode).toBe(201)
    expect(alias).toMatchObject({AliasArn: `${ARN}:${name}:live`, Name: 'live', FunctionVersion: '1'})

    const put = await client.send(new PutProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: 'live', ProvisionedConcurrentExecutions: 1}))
    expect(put.$metadata.httpStatusCode).toBe(202)
    expect(put).toMatchObject({RequestedProvisionedConcurrentExecutions: 1, Status: 'IN_PROGRESS'})
    const {config} = await provisionedReady(client, name, 'live')
    expect(config).toMatchObject({RequestedProvisionedConcurrentExecutions: 1, AllocatedProvisionedConcurrentExecutions: 1, AvailableProvisionedConcurrentExecutions: 1})

    const result = await invoke(client, {FunctionName: name, Qualifier: 'live', LogType: 'Tail'})
    expect(result.ExecutedVersion).toBe('1')
    expect(result.log).toContain('Version: 1')
    expect(parseReport(result.log).initDuration).toBeUndefined()
    const provisioned = env.emulator.environments(name, '1').filter((e) => e.initType === 'provisioned-concurrency')
    expect(provisioned.length).toBe(1)
    expect(provisioned[0]!.invocations).toBe(1)
  })

  it('a new version and UpdateAlias move the provisioned concurrency: READY again on version 2, version 1\'s environment stopped', async () => {
    await client.send(new UpdateFunctionConfigurationCommand({FunctionName: name, Timeout: 5}))
    await waitUntilFunctionUpdatedV2({client, ...wait}, {FunctionName: name})
    const v2 = await client.send(new PublishVersionCommand({FunctionName: name}))
    expect(v2.Version).toBe('2')
    await waitUntilPublishedVersionActive({client, ...wait}, {FunctionName: name, Qualifier: '2'})
    const oldEnv = env.emulator.environments(name, '1').find((e) => e.initType === 'provisioned-concurrency')!

    const moved = await client.send(new UpdateAliasCommand({FunctionName: name, Name: 'live', FunctionVersion: '2'}))
    expect(moved.FunctionVersion).toBe('2')
    const {seen} = await provisionedReady(client, name, 'live')
    expect(seen[0]).toBe('IN_PROGRESS')
    const result = await invoke(client, {FunctionName: `${name}:live`, LogType: 'Tail'})
    expect(result.ExecutedVersion).toBe('2')
    expect(parseReport(result.log).initDuration).toBeUndefined()
    expect(oldEnv.stopReason).toBe('deprovisioned')
    expect(env.emulator.environments(name, '1').filter((e) => e.initType === 'provisioned-concurrency')).toEqual([])
    // Version 1 still runs, on demand.
    expect((await invoke(client, {FunctionName: name, Qualifier: '1'})).ExecutedVersion).toBe('1')
  })

  it('errors as AWS words them, with the SDK\'s exception classes', async () => {
    const missing = await serviceError(client.send(new GetFunctionCommand({FunctionName: 'missing'})))
    expect(missing.name).toBe('ResourceNotFoundException')
    expect(missing.message).toBe(`Function not found: ${ARN}:missing`)

    const noConfig = await serviceError(client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: '1'})))
    expect(noConfig.name).toBe('ProvisionedConcurrencyConfigNotFoundException')
    expect(noConfig.$metadata.httpStatusCode).toBe(404)

    const latest = await serviceError(client.send(new PutProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: '$LATEST', ProvisionedConcurrentExecutions: 1})))
    expect(latest.name).toBe('InvalidParameterValueException')
    expect(latest.message).toBe('Provisioned Concurrency Configs cannot be applied to unpublished function versions.')

    const s3 = await serviceError(client.send(new CreateFunctionCommand({FunctionName: 'from-s3', Role: ROLE, Code: {S3Bucket: 'b', S3Key: 'k.zip'}})))
    expect(s3.name).toBe('InvalidParameterValueException')
    expect(s3.message).toMatch(/not from S3/)

    const notSai = await serviceError(client.send(new CreateFunctionCommand({FunctionName: 'not-sai', Role: ROLE, Code: {ZipFile: Buffer.from('not a zip')}})))
    expect(notSai.name).toBe('InvalidParameterValueException')
    expect(notSai.message).toMatch(/^Could not unzip uploaded file/)

    // Reserved concurrency caps the function; provisioned concurrency cannot exceed it.
    const low = await serviceError(client.send(new PutFunctionConcurrencyCommand({FunctionName: name, ReservedConcurrentExecutions: 0})))
    expect(low.name).toBe('InvalidParameterValueException')
    expect(low.message).toMatch(/should not be lower than function's total provisioned concurrency \[1\]/)
    await client.send(new PutFunctionConcurrencyCommand({FunctionName: name, ReservedConcurrentExecutions: 1}))
    const over = await serviceError(client.send(new PutProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: '1', ProvisionedConcurrentExecutions: 1})))
    expect(over.message).toBe('Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function')
    expect((await client.send(new GetFunctionCommand({FunctionName: name}))).Concurrency).toEqual({ReservedConcurrentExecutions: 1})
  })

  it('the rest of what a deploy tool reads and cleans up: versions, aliases, concurrency configs', async () => {
    const versions = await client.send(new ListVersionsByFunctionCommand({FunctionName: name}))
    expect(versions.Versions!.map((v) => [v.Version, v.FunctionArn])).toEqual([['$LATEST', `${ARN}:${name}:$LATEST`], ['1', `${ARN}:${name}:1`], ['2', `${ARN}:${name}:2`]])
    await client.send(new CreateAliasCommand({FunctionName: name, Name: 'old', FunctionVersion: '1', Description: 'the first'}))
    const aliases = await client.send(new ListAliasesCommand({FunctionName: name}))
    expect(aliases.Aliases!.map((a) => [a.Name, a.FunctionVersion])).toEqual([['live', '2'], ['old', '1']])
    expect((await client.send(new GetAliasCommand({FunctionName: name, Name: 'old'}))).Description).toBe('the first')
    const inUse = await serviceError(client.send(new DeleteFunctionCommand({FunctionName: name, Qualifier: '1'})))
    expect(inUse.name).toBe('ResourceConflictException')
    expect(inUse.message).toBe('Unable to delete version because the following aliases reference it: [old]')
    expect((await client.send(new DeleteAliasCommand({FunctionName: name, Name: 'old'}))).$metadata.httpStatusCode).toBe(204)
    const noAlias = await serviceError(client.send(new GetAliasCommand({FunctionName: name, Name: 'old'})))
    expect(noAlias.name).toBe('ResourceNotFoundException')
    expect(noAlias.message).toBe(`Alias not found: ${ARN}:${name}:old`)
    // Deleting version 1 stops its environments; the function and its other versions stay.
    expect(env.emulator.environments(name, '1').length).toBeGreaterThan(0)
    expect((await client.send(new DeleteFunctionCommand({FunctionName: name, Qualifier: '1'}))).$metadata.httpStatusCode).toBe(204)
    expect(env.emulator.environments(name, '1')).toEqual([])
    expect((await serviceError(invoke(client, {FunctionName: name, Qualifier: '1'}))).name).toBe('ResourceNotFoundException')

    const configs = await client.send(new ListProvisionedConcurrencyConfigsCommand({FunctionName: name}))
    expect(configs.ProvisionedConcurrencyConfigs).toMatchObject([{FunctionArn: `${ARN}:${name}:live`, RequestedProvisionedConcurrentExecutions: 1, Status: 'READY'}])
    expect((await client.send(new GetFunctionConcurrencyCommand({FunctionName: name}))).ReservedConcurrentExecutions).toBe(1)
    await client.send(new DeleteFunctionConcurrencyCommand({FunctionName: name}))
    expect((await client.send(new GetFunctionConcurrencyCommand({FunctionName: name}))).ReservedConcurrentExecutions).toBeUndefined()
    await client.send(new DeleteProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: 'live'}))
    expect((await serviceError(client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: name, Qualifier: 'live'})))).name).toBe('ProvisionedConcurrencyConfigNotFoundException')
    expect(env.emulator.environments(name, '2').filter((e) => e.initType === 'provisioned-concurrency' && e.state.alive)).toEqual([])
  })

  it('ListFunctions pages with Marker and MaxItems; DeleteFunction removes the function and stops its environments', async () => {
    for (const extra of ['noop-b', 'noop-c']) await client.send(new CreateFunctionCommand({FunctionName: extra, Role: ROLE, Code: {ZipFile: zip}}))
    const first = await client.send(new ListFunctionsCommand({MaxItems: 2}))
    expect(first.Functions!.map((f) => f.FunctionName)).toEqual(['noop-b', 'noop-c'])
    expect(first.NextMarker).toBeDefined()
    expect(first.Functions![0]!.State).toBeUndefined()
    const names: string[] = []
    for await (const page of paginateListFunctions({client, pageSize: 1}, {})) names.push(...page.Functions!.map((f) => f.FunctionName!))
    expect(names).toEqual(['noop-b', 'noop-c', name])

    await invoke(client, {FunctionName: name})
    expect(env.emulator.environments(name).length).toBeGreaterThan(0)
    const deleted = await client.send(new DeleteFunctionCommand({FunctionName: name}))
    expect(deleted.$metadata.httpStatusCode).toBe(204)
    const gone = await serviceError(client.send(new GetFunctionCommand({FunctionName: name})))
    expect(gone.name).toBe('ResourceNotFoundException')
    expect((await serviceError(invoke(client, {FunctionName: `${name}:live`}))).name).toBe('ResourceNotFoundException')
    expect(env.emulator.environments(name)).toEqual([])
  })
})

/** A zip with these files, as if `sai package` had written it. */
async function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name)
  zip.end()
  return buffer(zip.outputStream)
}

describe('control plane: failures', () => {
  it('code that cannot run fails the function (State Failed, a reason), and an init that fails makes provisioned concurrency FAILED', async () => {
    const env = await emulate([])
    const {client} = env
    try {
      // The package names a handler module it does not contain: Failed once unpacked.
      const broken = await zipOf({'.sai/function.json': JSON.stringify({name: 'broken', timeout: 3})})
      await client.send(new CreateFunctionCommand({FunctionName: 'broken', Role: ROLE, Code: {ZipFile: broken}}))
      await expect(waitUntilFunctionActiveV2({client, ...wait}, {FunctionName: 'broken'})).rejects.toThrow(/FAILURE/)
      const failed = await client.send(new GetFunctionConfigurationCommand({FunctionName: 'broken'}))
      expect(failed).toMatchObject({State: 'Failed', StateReasonCode: 'InvalidZipFileException', LastUpdateStatus: 'Failed'})
      expect(failed.StateReason).toMatch(/sai-handler/)
      const refused = await serviceError(invoke(client, {FunctionName: 'broken'}))
      expect(refused.message).toBe('The operation cannot be performed at this time. The function is currently in the following state: Failed')

      const throwing = await zipOf({'.sai/function.json': JSON.stringify({name: 'throwing', timeout: 3}), 'sai-handler.mjs': "throw new Error('init fails on purpose')\n"})
      await client.send(new CreateFunctionCommand({FunctionName: 'throwing', Role: ROLE, Code: {ZipFile: throwing}, Publish: true}))
      await waitUntilPublishedVersionActive({client, ...wait}, {FunctionName: 'throwing', Qualifier: '1'})
      await client.send(new PutProvisionedConcurrencyConfigCommand({FunctionName: 'throwing', Qualifier: '1', ProvisionedConcurrentExecutions: 1}))
      const deadline = Date.now() + 20_000
      let config = await client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: 'throwing', Qualifier: '1'}))
      while (config.Status === 'IN_PROGRESS' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        config = await client.send(new GetProvisionedConcurrencyConfigCommand({FunctionName: 'throwing', Qualifier: '1'}))
      }
      expect(config.Status).toBe('FAILED')
      expect(config.StatusReason).toMatch(/init fails on purpose/)
    } finally {
      await env.close()
    }
  })
})

describe('control plane: functions given at startup', () => {
  it('are Active and listed, and change like any other', async () => {
    const {loadSpec} = await import('../src/spec/load.js')
    const env = await emulate([loadSpec(path.join(FIXTURES, 'noop'))])
    try {
      const fn = await env.client.send(new GetFunctionCommand({FunctionName: 'noop'}))
      expect(fn.Configuration).toMatchObject({State: 'Active', LastUpdateStatus: 'Successful', MemorySize: 1769, PackageType: 'Zip'})
      const list = await env.client.send(new ListFunctionsCommand({}))
      expect(list.Functions!.map((f) => f.FunctionName)).toEqual(['noop'])
      await env.client.send(new UpdateFunctionConfigurationCommand({FunctionName: 'noop', MemorySize: 512}))
      await waitUntilFunctionUpdatedV2({client: env.client, ...wait}, {FunctionName: 'noop'})
      expect(parseReport((await invoke(env.client, {FunctionName: 'noop', LogType: 'Tail'})).log).memorySize).toBe(512)
    } finally {
      await env.close()
    }
  })
})

describe('control plane: an image from a registry', () => {
  let registry: LocalRegistry
  let env: Awaited<ReturnType<typeof emulate>>
  beforeAll(async () => {
    registry = await startRegistry()
    env = await emulate([])
  })
  afterAll(async () => {
    await env?.close()
    await registry?.stop()
  })

  it('CreateFunction with PackageType Image pulls what sai package pushed: Pending, Active, then it runs', async () => {
    const reference = `${registry.host}/noop:1`
    const pushed = await packageFunction(packageOptions({kind: 'registry', reference}))
    const created = await env.client.send(new CreateFunctionCommand({FunctionName: 'noop-image', Role: ROLE, PackageType: 'Image', Code: {ImageUri: reference}, MemorySize: 512}))
    expect(created).toMatchObject({State: 'Pending', PackageType: 'Image', MemorySize: 512, CodeSize: 0, CodeSha256: pushed.manifestDigest!.replace('sha256:', '')})
    expect(created.Handler).toBeUndefined()
    expect((await waitUntilFunctionActiveV2({client: env.client, ...wait}, {FunctionName: 'noop-image'})).state).toBe('SUCCESS')
    const fn = await env.client.send(new GetFunctionCommand({FunctionName: 'noop-image'}))
    expect(fn.Code).toEqual({RepositoryType: 'ECR', ImageUri: reference, ResolvedImageUri: `${registry.host}/noop@${pushed.manifestDigest!}`})
    const result = await invoke(env.client, {FunctionName: 'noop-image', LogType: 'Tail'})
    expect(result.json).toEqual({ok: true})
    expect(parseReport(result.log).memorySize).toBe(512)
  })

  it('refuses an image sai did not build, and one that does not exist: InvalidParameterValueException', async () => {
    const layer = await buildLayer({name: 'other', entries: [{path: '/etc/os-release', type: 'file', mode: 0o644, source: {bytes: Buffer.from('ID=test\n')}}]}, {tmpDir: work})
    const image = buildImage({architecture: 'x86_64', layers: [layer], config: {entrypoint: ['/bin/true'], workingDir: '/'}})
    await new RegistryClient(registry.host).push(parseReference(`${registry.host}/other:1`), image.manifest.bytes, {
      blobs: [{descriptor: image.config.descriptor, content: image.config.bytes}, {descriptor: layer.descriptor, content: readFileSync(layer.file)}],
    })
    const foreign = await serviceError(env.client.send(new CreateFunctionCommand({FunctionName: 'foreign', Role: ROLE, PackageType: 'Image', Code: {ImageUri: `${registry.host}/other:1`}})))
    expect(foreign.name).toBe('InvalidParameterValueException')
    expect(foreign.message).toMatch(/was not built by `sai package`: its config has no dev\.sai\.function label/)
    const absent = await serviceError(env.client.send(new CreateFunctionCommand({FunctionName: 'absent', Role: ROLE, PackageType: 'Image', Code: {ImageUri: `${registry.host}/nothing:1`}})))
    expect(absent.name).toBe('InvalidParameterValueException')
    expect(absent.message).toBe(`Source image ${registry.host}/nothing:1 does not exist. Provide a valid source image.`)
    const list = await env.client.send(new ListFunctionsCommand({}))
    expect(list.Functions!.map((f) => f.FunctionName)).toEqual(['noop-image'])
  })
})

describe('sai emulate --empty', () => {
  it('starts with no functions, says so, and serves the ones CreateFunction makes', async () => {
    const help = (await runSai(['emulate', '--help'])).stdout
    expect(help).toContain('--empty')
    expect(help).toContain('control plane')

    const child = spawn(process.execPath, [BIN, 'emulate', '--empty', '--port', '0'], {cwd: ROOT, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      const banner: string[] = []
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({input: child.stderr}).on('line', (line) => {
          banner.push(line)
          const match = /listening on (http:\/\/\S+)/.exec(line)
          if (match) setTimeout(() => resolve(match[1]!), 100)
        })
        child.on('close', (code) => reject(new Error(`emulate exited ${code}: ${banner.join('\n')}`)))
      })
      expect(banner.join('\n')).toMatch(/no functions yet: waiting for CreateFunction/)
      const client = sdkClient(url)
      try {
        const file = path.join(work, 'cli.zip')
        await packageFunction(packageOptions({kind: 'zip', file}))
        await client.send(new CreateFunctionCommand({FunctionName: 'cli', Role: ROLE, Code: {ZipFile: readFileSync(file)}}))
        await waitUntilFunctionActiveV2({client, ...wait}, {FunctionName: 'cli'})
        expect((await invoke(client, {FunctionName: 'cli'})).json).toEqual({ok: true})
      } finally {
        client.destroy()
      }
    } finally {
      child.kill('SIGINT')
      expect(await exited).toBe(0)
    }
  })
})
