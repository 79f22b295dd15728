import {describe, it, expect, afterAll} from 'vitest'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import {loadSpec, parseSpec} from './load.js'

/** A temp function directory with a dummy model and handler module. */
const created: string[] = []
afterAll(() => created.forEach((dir) => rmSync(dir, {recursive: true, force: true})))

function functionDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-spec-'))
  created.push(dir)
  writeFileSync(path.join(dir, 'model.onnx'), 'not really onnx')
  writeFileSync(path.join(dir, 'handler.mjs'), 'export const handler = () => 1\n')
  return dir
}

const DIR = functionDir()
const FILE = path.join(DIR, 'sai.yaml')
const base = {name: 'resnet', model: 'model.onnx'}

function specError(fn: () => unknown): SaiError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SaiError)
    return error as SaiError
  }
  throw new Error('expected a SaiError, nothing was thrown')
}

/** The message of an invalid spec, checked to name the file, the field, "expected" and what was found. */
function invalid(fields: Record<string, unknown>, field: string, found: string): string {
  const error = specError(() => parseSpec(fields, FILE))
  expect(error.code).toBe('SAI_SPEC_INVALID')
  expect(error.message.startsWith(`${FILE}: `)).toBe(true)
  expect(error.message).toContain(`${field}: expected `)
  expect(error.message).toContain(`found ${found}`)
  return error.message
}

describe('parseSpec', () => {
  it('fills in the documented defaults and resolves the model path', () => {
    const spec = parseSpec(base, FILE)
    expect(spec).toMatchObject({
      name: 'resnet', memory: 1024, timeout: 30, ephemeralStorage: 512, architecture: 'x86_64',
      runtime: 'nodejs22.x', provisionedConcurrency: 0, environment: {}, specPath: FILE, dir: DIR,
      modelPath: path.join(DIR, 'model.onnx'),
    })
    expect(spec.reservedConcurrency).toBeUndefined()
    expect('model' in spec).toBe(false)
  })

  it.each([
    ['memory', 128, 10240],
    ['timeout', 1, 900],
    ['ephemeralStorage', 512, 10240],
  ])('accepts %s from %i to %i and rejects one beyond either end', (field, min, max) => {
    expect(parseSpec({...base, [field]: min}, FILE)).toMatchObject({[field]: min})
    expect(parseSpec({...base, [field]: max}, FILE)).toMatchObject({[field]: max})
    expect(invalid({...base, [field]: min - 1}, field, String(min - 1))).toContain(`an integer from ${min} to ${max}`)
    invalid({...base, [field]: max + 1}, field, String(max + 1))
  })

  it('rejects non-integers and strings for numeric fields', () => {
    invalid({...base, memory: 1024.5}, 'memory', '1024.5')
    invalid({...base, timeout: '30'}, 'timeout', '"30"')
  })

  it('applies Lambda function name rules', () => {
    expect(parseSpec({...base, name: 'a'.repeat(64)}, FILE).name).toHaveLength(64)
    expect(parseSpec({...base, name: 'My_fn-2'}, FILE).name).toBe('My_fn-2')
    invalid({...base, name: 'a'.repeat(65)}, 'name', `"${'a'.repeat(65)}"`)
    invalid({...base, name: 'my.fn'}, 'name', '"my.fn"')
    invalid({...base, name: ''}, 'name', '""')
  })

  it('reports every problem at once', () => {
    const message = invalid({...base, name: 'a b', architecture: 'x86'}, 'architecture', '"x86"')
    expect(message).toContain('2 problems')
    expect(message).toContain('name: expected')
    expect(message).toContain('architecture: expected one of x86_64, arm64')
  })

  it('suggests the closest field for an unknown one', () => {
    const error = specError(() => parseSpec({...base, memroy: 2048}, FILE))
    expect(error.code).toBe('SAI_SPEC_INVALID')
    expect(error.message).toContain(FILE)
    expect(error.message).toContain('memroy: unknown field (did you mean "memory"?)')
    expect(error.message).toContain('known fields are name, model')
  })

  it('rejects reserved and malformed environment variable names', () => {
    expect(parseSpec({...base, environment: {LOG_LEVEL: 'debug', N: 3}}, FILE).environment).toEqual({LOG_LEVEL: 'debug', N: '3'})
    invalid({...base, environment: {AWS_REGION: 'eu-west-1'}}, 'environment.AWS_REGION', '"eu-west-1"')
    invalid({...base, environment: {'1BAD': 'x'}}, 'environment.1BAD', '"x"')
  })

  it('says a reserved environment name is reserved', () => {
    expect(specError(() => parseSpec({...base, environment: {AWS_REGION: 'x'}}, FILE)).message).toContain('reserved by Lambda')
  })

  it('rejects an environment larger than 4 KB, measured as Lambda does: as JSON', () => {
    // {"A":"…"} is the value and 8 bytes more.
    expect(parseSpec({...base, environment: {A: 'x'.repeat(4088)}}, FILE).environment.A).toHaveLength(4088)
    const message = invalid({...base, environment: {A: 'x'.repeat(4089)}}, 'environment', '{"A":"xxx')
    expect(message).toContain('found 4097 bytes')
    expect(message).not.toContain('expected larger than 4 KB')
  })

  it('takes the role ARNs Lambda takes', () => {
    for (const role of ['arn:aws:iam::123456789012:role/sai', 'arn:aws-cn:iam::123456789012:role/service-role/sai-x'])
      expect(parseSpec({...base, role}, FILE).role).toBe(role)
    invalid({...base, role: 'arn:aws:iam::1234:role/sai'}, 'role', '"arn:aws:iam::1234:role/sai"')
  })

  it('rejects an environment value that is not a scalar', () => {
    expect(specError(() => parseSpec({...base, environment: {A: {nested: 1}}}, FILE)).code).toBe('SAI_SPEC_INVALID')
  })

  it('rejects provisionedConcurrency above reservedConcurrency', () => {
    expect(parseSpec({...base, reservedConcurrency: 2, provisionedConcurrency: 2}, FILE).provisionedConcurrency).toBe(2)
    expect(parseSpec({...base, reservedConcurrency: 0}, FILE).reservedConcurrency).toBe(0)
    expect(invalid({...base, reservedConcurrency: 1, provisionedConcurrency: 2}, 'provisionedConcurrency', '2')).toContain('cannot exceed reservedConcurrency')
  })

  it('needs a model, a handler or a bootstrap', () => {
    invalid({name: 'f'}, 'model', 'nothing')
  })

  it('reports a missing model file with its absolute path', () => {
    const error = specError(() => parseSpec({...base, model: 'missing.onnx'}, FILE))
    expect(error.code).toBe('SAI_MODEL_NOT_FOUND')
    expect(error.message).toBe(`${FILE}: model: the file ${path.join(DIR, 'missing.onnx')} does not exist`)
  })

  it('checks the handler module exists, unless a bootstrap runs the function', () => {
    expect(parseSpec({...base, handler: 'handler.handler'}, FILE).handler).toBe('handler.handler')
    const error = specError(() => parseSpec({...base, handler: 'lib/app.handler'}, FILE))
    expect(error.code).toBe('SAI_HANDLER_NOT_FOUND')
    expect(error.message).toContain(`${FILE}: handler: "lib/app.handler"`)
    expect(error.message).toContain(path.join(DIR, 'lib/app'))
    writeFileSync(path.join(DIR, 'run.sh'), '#!/bin/sh\n')
    expect(parseSpec({name: 'f', handler: 'lib/app.handler', bootstrap: './run.sh --fast'}, FILE).bootstrap).toEqual([path.join(DIR, 'run.sh'), '--fast'])
  })

  it('rejects a document that is not a mapping', () => {
    const error = specError(() => parseSpec(null, FILE))
    expect(error.message).toBe(`${FILE}: expected a mapping of fields (name, model, memory, ...), found an empty document`)
  })
})

describe('loadSpec', () => {
  it('loads a YAML file, or dir/sai.yaml when given a directory', () => {
    const dir = functionDir()
    writeFileSync(path.join(dir, 'sai.yaml'), 'name: yolo\nmodel: model.onnx\nmemory: 2048\n')
    for (const target of [path.join(dir, 'sai.yaml'), dir]) {
      expect(loadSpec(target)).toMatchObject({name: 'yolo', memory: 2048, specPath: path.join(dir, 'sai.yaml'), modelPath: path.join(dir, 'model.onnx')})
    }
  })

  it('reports a missing file, or a directory without sai.yaml, as SAI_SPEC_NOT_FOUND', () => {
    const dir = functionDir()
    const missing = specError(() => loadSpec(path.join(dir, 'nope.yaml')))
    expect(missing.code).toBe('SAI_SPEC_NOT_FOUND')
    expect(missing.message).toContain(path.join(dir, 'nope.yaml'))
    expect(missing.message).toContain('ENOENT')
    mkdirSync(path.join(dir, 'empty'))
    const noYaml = specError(() => loadSpec(path.join(dir, 'empty')))
    expect(noYaml.code).toBe('SAI_SPEC_NOT_FOUND')
    expect(noYaml.message).toContain(path.join(dir, 'empty', 'sai.yaml'))
  })

  it('keeps schema errors from dir/sai.yaml when given a directory', () => {
    const dir = functionDir()
    writeFileSync(path.join(dir, 'sai.yaml'), 'name: f\nmodel: model.onnx\ntimeout: 901\n')
    const error = specError(() => loadSpec(dir))
    expect(error.code).toBe('SAI_SPEC_INVALID')
    expect(error.message).toContain('timeout: expected an integer from 1 to 900 (seconds), found 901')
  })

  it('reports invalid YAML and schema errors with the file path', () => {
    const dir = functionDir()
    const file = path.join(dir, 'sai.yaml')
    writeFileSync(file, 'name: [unclosed\nmodel: model.onnx\n')
    const yaml = specError(() => loadSpec(file))
    expect(yaml.code).toBe('SAI_SPEC_INVALID')
    expect(yaml.message).toContain(`${file}: not valid YAML`)
    writeFileSync(file, 'name: f\nmodel: model.onnx\ntimeout: 901\n')
    expect(specError(() => loadSpec(file)).message).toBe(`${file}: timeout: expected an integer from 1 to 900 (seconds), found 901`)
  })
})

describe('bootstrap', () => {
  it('resolves a relative program against the spec directory and finds bare names on PATH', () => {
    writeFileSync(path.join(DIR, 'bootstrap'), '#!/bin/sh\n')
    expect(parseSpec({name: 'f', bootstrap: './bootstrap'}, FILE).bootstrap).toEqual([path.join(DIR, 'bootstrap')])
    expect(parseSpec({name: 'f', bootstrap: ['node', 'x.js']}, FILE).bootstrap).toEqual(['node', 'x.js'])
  })

  it('a runtime command that does not exist → SAI_RUNTIME_NOT_FOUND naming it', () => {
    const missing = specError(() => parseSpec({name: 'f', bootstrap: './nope/bootstrap'}, FILE))
    expect(missing.code).toBe('SAI_RUNTIME_NOT_FOUND')
    expect(missing.message).toContain(path.join(DIR, 'nope/bootstrap'))
    expect(specError(() => parseSpec({name: 'f', bootstrap: 'no-such-runtime-anywhere'}, FILE)).code).toBe('SAI_RUNTIME_NOT_FOUND')
  })
})
