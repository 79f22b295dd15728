import type {FunctionConfiguration} from '@aws-sdk/client-lambda'
import {describe, expect, it} from 'vitest'
import {planDeploy, type CurrentState, type DesiredFunction} from './plan.js'

const desired: DesiredFunction = {
  functionName: 'det',
  code: {packageType: 'Image', imageUri: '127.0.0.1:5000/det@sha256:aaa', digest: 'sha256:aaa'},
  configuration: {role: 'arn:aws:iam::000000000000:role/r', memorySize: 2048, timeout: 30, ephemeralStorage: 512, architecture: 'x86_64', environment: {A: '1'}, description: 'det, deployed by sai'},
  alias: 'live',
  provisionedConcurrency: 2,
  reservedConcurrency: 5,
}

const deployed: FunctionConfiguration = {
  FunctionName: 'det',
  PackageType: 'Image',
  CodeSha256: 'aaa',
  Role: 'arn:aws:iam::000000000000:role/r',
  MemorySize: 2048,
  Timeout: 30,
  EphemeralStorage: {Size: 512},
  Environment: {Variables: {A: '1'}},
  Description: 'det, deployed by sai',
  Architectures: ['x86_64'],
}
const current: CurrentState = {
  configuration: deployed,
  imageDigest: 'sha256:aaa',
  reservedConcurrency: 5,
  alias: {functionVersion: '3'},
  aliasVersion: {...deployed, Version: '3'},
  provisioned: {requested: 2, status: 'READY'},
}
const actions = (state: CurrentState, want = desired) => Object.fromEntries(planDeploy(want, state).steps.map((s) => [s.step, s.action]))

describe('planDeploy', () => {
  it('creates everything for a function that does not exist', () => {
    const plan = planDeploy(desired, {})
    expect(plan.noOp).toBe(false)
    expect(plan.steps.map((s) => `${s.step}:${s.action}`)).toEqual([
      'create-function:create',
      'publish-version:create',
      'alias:create',
      'reserved-concurrency:update',
      'provisioned-concurrency:create',
    ])
  })

  it('changes nothing when code, configuration, version, alias and concurrency all match', () => {
    const plan = planDeploy(desired, current)
    expect(plan.noOp).toBe(true)
    expect(plan.steps.find((s) => s.step === 'publish-version')!.detail).toContain('version 3 already holds')
  })

  it('new code: update the code, publish, move the alias, provision the new version', () => {
    expect(actions(current, {...desired, code: {...desired.code, digest: 'sha256:bbb'}})).toEqual({
      'update-code': 'update',
      'update-configuration': 'none',
      'publish-version': 'create',
      alias: 'update',
      'reserved-concurrency': 'none',
      'provisioned-concurrency': 'update',
    })
  })

  it('names each changed field with its old and new value; the architecture goes with the code', () => {
    const plan = planDeploy({...desired, configuration: {...desired.configuration, memorySize: 4096, environment: {A: '2'}, architecture: 'arm64'}}, current)
    expect(plan.steps.find((s) => s.step === 'update-configuration')!.changes).toEqual([
      {field: 'memorySize', from: 2048, to: 4096},
      {field: 'environment', from: {A: '1'}, to: {A: '2'}},
    ])
    expect(plan.steps.find((s) => s.step === 'update-code')!.changes).toEqual([{field: 'architecture', from: 'x86_64', to: 'arm64'}])
  })

  it('publishes when the alias points at a version that differs from $LATEST', () => {
    expect(actions({...current, aliasVersion: {...deployed, Version: '3', MemorySize: 1024}})['publish-version']).toBe('create')
  })

  it('re-applies provisioned concurrency that is not READY, or a different amount', () => {
    expect(actions({...current, provisioned: {requested: 2, status: 'IN_PROGRESS'}})['provisioned-concurrency']).toBe('update')
    expect(actions(current, {...desired, provisionedConcurrency: 3})['provisioned-concurrency']).toBe('update')
    expect(actions({...current, provisioned: undefined}, {...desired, provisionedConcurrency: 0})['provisioned-concurrency']).toBe('none')
  })

  it('removes provisioned and reserved concurrency the spec no longer asks for (a Put of 0 is not allowed)', () => {
    const plan = planDeploy({...desired, provisionedConcurrency: 0, reservedConcurrency: undefined}, current)
    expect(plan.steps.find((s) => s.step === 'provisioned-concurrency')).toMatchObject({action: 'delete', changes: [{from: 2, to: 0}]})
    expect(plan.steps.find((s) => s.step === 'reserved-concurrency')).toMatchObject({action: 'delete', changes: [{from: 5, to: undefined}]})
  })

  it('leaves alone provisioned concurrency that auto scaling moved within its range', () => {
    const scaling = {targetValue: 0.7, minCapacity: 1, maxCapacity: 4}
    expect(actions({...current, provisioned: {requested: 3, status: 'READY'}, autoScaling: scaling}, {...desired, provisionedConcurrency: 4, autoScaling: scaling})['provisioned-concurrency']).toBe('none')
    expect(actions({...current, provisioned: {requested: 6, status: 'READY'}, autoScaling: scaling}, {...desired, provisionedConcurrency: 4, autoScaling: scaling})['provisioned-concurrency']).toBe('update')
  })

  it('compares a zip by CodeSha256, and auto scaling by its setting', () => {
    const zip: DesiredFunction = {...desired, code: {packageType: 'Zip', zipFile: Buffer.from('PK'), digest: 'zzz'}}
    expect(actions({...current, configuration: {...deployed, PackageType: 'Zip', CodeSha256: 'zzz'}, aliasVersion: {...deployed, PackageType: 'Zip', CodeSha256: 'zzz'}}, zip)['update-code']).toBe('none')
    const scaling = {targetValue: 0.7, minCapacity: 1, maxCapacity: 4}
    expect(actions({...current, autoScaling: scaling}, {...desired, autoScaling: scaling})['auto-scaling']).toBe('none')
    expect(planDeploy({...desired, autoScaling: {...scaling, maxCapacity: 6}}, {...current, autoScaling: scaling}).steps.at(-1)).toMatchObject({step: 'auto-scaling', action: 'update', changes: [{field: 'maxCapacity', from: 4, to: 6}]})
  })
})
