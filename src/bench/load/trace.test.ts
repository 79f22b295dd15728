import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseTrace, readTrace, TraceError} from './trace.js'

const offsets = (text: string) => [...parseTrace(text, 'trace.csv').offsetsMs]
const failure = (text: string): TraceError => {
  try {
    parseTrace(text, 'trace.csv')
  } catch (error) {
    expect(error).toBeInstanceOf(TraceError)
    return error as TraceError
  }
  throw new Error('expected the trace to be rejected')
}

describe('parseTrace: good traces', () => {
  it('reads numbers as seconds by default, relative to the first line', () => {
    const trace = parseTrace('10\n10.5\n10.5\n12.25\n', 'trace.csv')
    expect([...trace.offsetsMs]).toEqual([0, 500, 500, 2250])
    expect(trace).toMatchObject({unit: 's', durationMs: 2250, file: 'trace.csv'})
  })

  it('takes the unit from the header', () => {
    expect(offsets('timestamp_ms,path\n0,/a\n1.5,/b\n40,/c')).toEqual([0, 1.5, 40])
    expect(parseTrace('t_ms\n5\n', 'x').unit).toBe('ms')
    expect(offsets('t_s\n0\n0.002\n')).toEqual([0, 2])
    expect(offsets('Time Seconds\n1\n2\n')).toEqual([0, 1000])
    // A header that names no unit: seconds.
    expect(offsets('timestamp,user\n3,alice\n4,bob\n')).toEqual([0, 1000])
  })

  it('reads epoch seconds, and epoch milliseconds without a header', () => {
    expect(offsets('1764282221.5\n1764282222\n')).toEqual([0, 500])
    expect(offsets('1764282221500\n1764282221512\n')).toEqual([0, 12])
    expect(parseTrace('1764282221500\n', 'x').unit).toBe('ms')
  })

  it('reads ISO-8601 date-times, in UTC unless they say otherwise', () => {
    expect(offsets('time\n2026-11-27T22:23:41.878Z\n2026-11-27T22:23:42.003Z\n2026-11-27T23:23:42.010+01:00\n')).toEqual([0, 125, 132])
    expect(offsets('2026-11-27 22:23:41.000\n2026-11-27 22:23:41.250\n')).toEqual([0, 250])
    expect(parseTrace('2026-11-27T22:23:41Z', 'x').unit).toBe('iso')
  })

  it('skips blank lines, a BOM, CRLF endings and quotes around the field', () => {
    expect(offsets('\uFEFF"t_ms"\r\n\r\n"0",x\r\n  2 ,y\r\n\r\n"7"\r\n')).toEqual([0, 2, 7])
  })
})

describe('parseTrace: bad traces name the file, the line, what was expected and what was found', () => {
  it('a value that is not a timestamp', () => {
    const error = failure('t_s\n0\n1\nsoon\n')
    expect(error.line).toBe(4)
    expect(error.message).toBe('trace.csv:4: expected a number of seconds, as on the first line, found "soon"')
  })

  it('a second header', () => {
    expect(failure('t_s\nwhen\n1\n').message).toBe('trace.csv:2: expected a timestamp (a number, or an ISO-8601 date-time), found "when"')
  })

  it('mixed kinds', () => {
    expect(failure('2026-11-27T22:23:41Z\n12\n').message).toBe('trace.csv:2: expected an ISO-8601 date-time, as on the first line, found "12"')
    expect(failure('t_ms\n12\n2026-11-27T22:23:41Z\n').message).toBe('trace.csv:3: expected a number of milliseconds, as on the first line, found "2026-11-27T22:23:41Z"')
  })

  it('an impossible date', () => {
    expect(failure('2026-13-45T22:23:41Z\n').message).toBe('trace.csv:1: expected a valid ISO-8601 date-time, found "2026-13-45T22:23:41Z"')
  })

  it('times going backwards', () => {
    const error = failure('t_ms\n0\n10\n\n5\n')
    expect(error.line).toBe(5)
    expect(error.message).toBe('trace.csv:5: expected times in ascending order (not before "10" on line 3), found "5"')
  })

  it('an empty first column', () => {
    expect(failure('0\n,1\n').message).toBe('trace.csv:2: expected a timestamp in the first column, found an empty first column')
  })

  it('no timestamps at all', () => {
    expect(failure('').message).toBe('trace.csv:1: expected at least one request timestamp, found an empty file')
    expect(failure('t_ms\n\n').message).toBe('trace.csv:3: expected at least one request timestamp, found only a header')
  })

  it('infinite numbers', () => {
    expect(failure('1e400\n').message).toBe('trace.csv:1: expected a finite number, found "1e400"')
  })
})

describe('readTrace', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sai-trace-'))
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))

  it('reads a file, and names it in errors', async () => {
    const file = path.join(dir, 'ok.csv')
    await writeFile(file, 't_ms\n0\n100\n')
    expect([...(await readTrace(file)).offsetsMs]).toEqual([0, 100])
    await writeFile(file, 't_ms\n0\nx\n')
    await expect(readTrace(file)).rejects.toThrow(`${file}:3: expected a number of milliseconds, as on the first line, found "x"`)
    await expect(readTrace(path.join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: expected a readable CSV file of request timestamps, found it cannot be read \(ENOENT\)/)
  })
})
