import {describe, it, expect, afterAll} from 'vitest'
import {chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import {applySpecSettings} from './apply.js'
import {loadSpec} from './load.js'

const created: string[] = []
afterAll(() => created.forEach((dir) => rmSync(dir, {recursive: true, force: true})))

/** A temp function directory with a dummy model and `text` as its sai.yaml; returns the spec's path. */
function specFile(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-apply-'))
  created.push(dir)
  writeFileSync(path.join(dir, 'model.onnx'), 'not really onnx')
  writeFileSync(path.join(dir, 'sai.yaml'), text)
  return path.join(dir, 'sai.yaml')
}

function applyError(fn: () => unknown): SaiError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SaiError)
    return error as SaiError
  }
  throw new Error('expected a SaiError, nothing was thrown')
}

/** Formatting `yaml`'s own stringifier would change: 4-space indent, a long string, flow-map spacing, an unindented list, a two-space comment gap. */
const HAND_WRITTEN = `# resnet on Lambda
name: resnet   # the function's name

model: ./model.onnx
memory: 1024 # tuned by hand
"timeout": 30
environment:
    LOG_LEVEL: 'debug'
    DESCRIPTION: "a very long string value that goes on and on past the eighty column line width limit for sure"
budgets: {cold.p99: 1500ms, warm.p95: 50ms}
batch: 4  # the model's largest tested batch
intraOpNumThreads: 2

# trailing remark
`

const COMMENT = 'set by sai recommend 2026-11-28: cheapest within the 500 ms p99 SLO'

describe('applySpecSettings', () => {
  it('changes only the named values and keeps every other byte', () => {
    const file = specFile(HAND_WRITTEN)
    const result = applySpecSettings(file, {memory: 2048, batch: 8})
    expect(result).toEqual({
      written: true,
      changes: [
        {field: 'memory', from: 1024, to: 2048},
        {field: 'batch', from: 4, to: 8},
      ],
    })
    expect(readFileSync(file, 'utf8')).toBe(
      HAND_WRITTEN.replace('memory: 1024 # tuned by hand', 'memory: 2048 # tuned by hand').replace('batch: 4  #', 'batch: 8  #'),
    )
  })

  it('sets the comment on each changed key, after a comment of the user\'s own', () => {
    const file = specFile(HAND_WRITTEN)
    applySpecSettings(file, {memory: 2048}, {comment: COMMENT})
    expect(readFileSync(file, 'utf8')).toBe(HAND_WRITTEN.replace('memory: 1024 # tuned by hand', `memory: 2048 # tuned by hand; ${COMMENT}`))
  })

  it('replaces its own earlier comment instead of stacking another', () => {
    const file = specFile('name: resnet\nmodel: model.onnx\nmemory: 1024\nbatch: 4 # largest tested\n')
    applySpecSettings(file, {memory: 2048, batch: 8}, {comment: COMMENT})
    const second = 'set by sai recommend 2026-12-01: cheapest within the 300 ms p99 SLO'
    applySpecSettings(file, {memory: 3008, batch: 16}, {comment: second})
    expect(readFileSync(file, 'utf8')).toBe(`name: resnet\nmodel: model.onnx\nmemory: 3008 # ${second}\nbatch: 16 # largest tested; ${second}\n`)
  })

  it('appends a missing key at the end of the top-level map, with the comment', () => {
    const file = specFile(HAND_WRITTEN)
    const result = applySpecSettings(file, {provisionedConcurrency: 4, reservedConcurrency: 10}, {comment: COMMENT})
    expect(result.changes).toEqual([
      {field: 'provisionedConcurrency', from: undefined, to: 4},
      {field: 'reservedConcurrency', from: undefined, to: 10},
    ])
    expect(readFileSync(file, 'utf8')).toBe(
      HAND_WRITTEN.replace('intraOpNumThreads: 2\n', `intraOpNumThreads: 2\nprovisionedConcurrency: 4 # ${COMMENT}\nreservedConcurrency: 10 # ${COMMENT}\n`),
    )
  })

  it('appends after a last line without a newline, and keeps CRLF line endings', () => {
    const noNewline = specFile('name: resnet\nmodel: model.onnx')
    applySpecSettings(noNewline, {memory: 512})
    expect(readFileSync(noNewline, 'utf8')).toBe('name: resnet\nmodel: model.onnx\nmemory: 512')

    const crlf = specFile('name: resnet\r\nmodel: model.onnx\r\nmemory: 1024 # hand\r\n')
    applySpecSettings(crlf, {memory: 512, batch: 2}, {comment: COMMENT})
    expect(readFileSync(crlf, 'utf8')).toBe(`name: resnet\r\nmodel: model.onnx\r\nmemory: 512 # hand; ${COMMENT}\r\nbatch: 2 # ${COMMENT}\r\n`)
  })

  it('gives a key with no value, or an alias, a value of its own', () => {
    const file = specFile('name: resnet\nmodel: model.onnx\nbatch:\nreservedConcurrency: &r 10\nprovisionedConcurrency: *r\n')
    const result = applySpecSettings(file, {batch: 8, provisionedConcurrency: 2})
    expect(result.changes).toEqual([
      {field: 'batch', from: undefined, to: 8},
      {field: 'provisionedConcurrency', from: 10, to: 2},
    ])
    expect(readFileSync(file, 'utf8')).toBe('name: resnet\nmodel: model.onnx\nbatch: 8\nreservedConcurrency: &r 10\nprovisionedConcurrency: 2\n')
  })

  it('writes a flow-style top-level map through the Document, values right', () => {
    const file = specFile('{name: resnet, model: model.onnx, memory: 1024}\n')
    applySpecSettings(file, {memory: 2048, batch: 4})
    expect(loadSpec(file)).toMatchObject({memory: 2048, batch: 4, name: 'resnet'})
  })

  it('writes a file that loads with the new values, given the directory', () => {
    const file = specFile(HAND_WRITTEN)
    const result = applySpecSettings(path.dirname(file), {memory: 1769, batch: 16, provisionedConcurrency: 3, reservedConcurrency: 5}, {comment: COMMENT})
    expect(result.written).toBe(true)
    expect(loadSpec(file)).toMatchObject({memory: 1769, batch: 16, provisionedConcurrency: 3, reservedConcurrency: 5, timeout: 30, intraOpNumThreads: 2})
  })

  it('leaves the file untouched when every value is already set', () => {
    const file = specFile(HAND_WRITTEN)
    const past = new Date('2020-01-01T00:00:00Z')
    utimesSync(file, past, past)
    const result = applySpecSettings(file, {memory: 1024, batch: 4}, {comment: COMMENT})
    expect(result).toEqual({changes: [], written: false})
    expect(readFileSync(file, 'utf8')).toBe(HAND_WRITTEN)
    expect(statSync(file).mtimeMs).toBe(past.getTime())
  })

  it('refuses provisioned concurrency above reserved concurrency and writes nothing', () => {
    const text = 'name: resnet\nmodel: model.onnx\nreservedConcurrency: 5\n'
    const file = specFile(text)
    const error = applyError(() => applySpecSettings(file, {memory: 2048, provisionedConcurrency: 8}, {comment: COMMENT}))
    expect(error.code).toBe('SAI_SPEC_INVALID')
    expect(error.message).toContain('provisionedConcurrency: cannot set 8, above reservedConcurrency 5')
    expect(error.hint).toContain('raise reservedConcurrency')
    expect(error.hint).toContain('to at least 8, or remove it')
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect(readdirSync(path.dirname(file)).sort()).toEqual(['model.onnx', 'sai.yaml'])
  })

  it('refuses reserved concurrency below the provisioned concurrency already set', () => {
    const text = 'name: resnet\nmodel: model.onnx\nprovisionedConcurrency: 6\n'
    const file = specFile(text)
    const error = applyError(() => applySpecSettings(file, {reservedConcurrency: 4}))
    expect(error.code).toBe('SAI_SPEC_INVALID')
    expect(error.message).toContain('reservedConcurrency: cannot set 4, below provisionedConcurrency 6')
    expect(error.hint).toContain('lower provisionedConcurrency')
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('refuses a value the schema rejects, naming the field, and writes nothing', () => {
    const text = 'name: resnet\nmodel: model.onnx\n'
    const file = specFile(text)
    const error = applyError(() => applySpecSettings(file, {memory: 20_000}))
    expect(error.code).toBe('SAI_SPEC_INVALID')
    expect(error.message).toContain('memory: expected an integer from 128 to 10240 (MB), found 20000')
    expect(error.message).toContain('nothing was written')
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('reports a missing spec as the loader does', () => {
    const dir = path.dirname(specFile('name: resnet\nmodel: model.onnx\n'))
    rmSync(path.join(dir, 'sai.yaml'))
    const error = applyError(() => applySpecSettings(dir, {memory: 2048}))
    expect(error.code).toBe('SAI_SPEC_NOT_FOUND')
    expect(error.message).toContain(path.join(dir, 'sai.yaml'))
    expect(error.message).toContain('ENOENT')
  })

  it('keeps the file mode and a symlink to the spec, leaving no temporary file', () => {
    const real = specFile('name: resnet\nmodel: model.onnx\n')
    chmodSync(real, 0o640)
    const link = path.join(path.dirname(real), 'link.yaml')
    symlinkSync('sai.yaml', link)
    applySpecSettings(link, {memory: 2048})
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(statSync(real).mode & 0o777).toBe(0o640)
    expect(readFileSync(real, 'utf8')).toBe('name: resnet\nmodel: model.onnx\nmemory: 2048\n')
    expect(readdirSync(path.dirname(real)).sort()).toEqual(['link.yaml', 'model.onnx', 'sai.yaml'])
  })
})
