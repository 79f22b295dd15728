import {describe, it, expect} from 'vitest'
import {
  formatResponse, InvalidInputError, parseRequest, sampleTensor, splitBatch, stackBatch, validateFeeds,
  type HostTensor, type ParsedRequest, type TensorSpec,
} from './tensors.js'

const IMAGE: TensorSpec[] = [{name: 'x', type: 'float32', shape: ['batch', 3, 2]}]
const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
const seq = (n: number) => Array.from({length: n}, (_, i) => i)

/** Runs fn and returns the InvalidInputError it throws (fails the test otherwise). */
function invalid(fn: () => unknown): InvalidInputError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError)
    return error as InvalidInputError
  }
  throw new Error('expected an InvalidInputError, nothing was thrown')
}

describe('parseRequest', () => {
  it('parses the sai format into typed arrays', () => {
    const r = parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], data: [0.5, 1, 2, 3, 4, 5]}}}, IMAGE)
    expect(r.format).toBe('sai')
    expect(r.binary).toBe(false)
    expect(r.outputs).toBeUndefined()
    expect(r.feeds.x!.dims).toEqual([1, 3, 2])
    expect(r.feeds.x!.data).toBeInstanceOf(Float32Array)
    expect(Array.from(r.feeds.x!.data as Float32Array)).toEqual([0.5, 1, 2, 3, 4, 5])
  })

  it('parses KServe v2, flattening nested data and echoing id and requested outputs', () => {
    const r = parseRequest(
      {id: 'req-1', inputs: [{name: 'x', shape: [1, 3, 2], datatype: 'FP32', data: [[1, 2], [3, 4], [5, 6]]}], outputs: [{name: 'y'}]},
      IMAGE,
    )
    expect(r).toMatchObject({format: 'oip', id: 'req-1', outputs: ['y'], binary: false})
    expect(Array.from(r.feeds.x!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('rejects an unknown OIP datatype, listing the accepted ones', () => {
    const e = invalid(() => parseRequest({inputs: [{name: 'x', shape: [1, 3, 2], datatype: 'FLOAT', data: seq(6)}]}, IMAGE))
    expect(e.errorType).toBe('Sai.InvalidInput')
    expect(e.message).toMatch(/input 'x': expected datatype one of .*FP32.*, found "FLOAT"/)
  })

  it('rejects "inputs" that is neither an object nor a list', () => {
    expect(invalid(() => parseRequest({inputs: 3}, IMAGE)).message).toMatch(/found 3$/)
    expect(invalid(() => parseRequest('hello', IMAGE)).message).toContain('found "hello"')
  })

  it('reports a data length that does not match the dims', () => {
    const e = invalid(() => parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], data: seq(5)}}}, IMAGE))
    expect(e.errorType).toBe('Sai.InvalidInput')
    expect(e.message).toBe("input 'x': dims [1,3,2] need 6 values, found 5")
  })

  it('rejects non-numeric data with its index', () => {
    const e = invalid(() => parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], data: [0, 1, 'two', 3, 4, 5]}}}, IMAGE))
    expect(e.message).toBe(`input 'x': expected numbers for float32, found "two" at index 2`)
  })

  it('accepts booleans and numbers for bool tensors', () => {
    const r = parseRequest({inputs: {m: {type: 'bool', dims: [3], data: [true, false, 1]}}}, [{name: 'm', type: 'bool', shape: [3]}])
    expect(r.feeds.m!.data).toBeInstanceOf(Uint8Array)
    expect(Array.from(r.feeds.m!.data as Uint8Array)).toEqual([1, 0, 1])
  })

  it('reads int64 from integers and decimal strings exactly, and rejects fractions', () => {
    const spec: TensorSpec[] = [{name: 'ids', type: 'int64', shape: [3]}]
    const r = parseRequest({inputs: {ids: {type: 'int64', dims: [3], data: [7, '-9007199254740993', '9223372036854775807']}}}, spec)
    expect(Array.from(r.feeds.ids!.data as BigInt64Array)).toEqual([7n, -9007199254740993n, 9223372036854775807n])
    const e = invalid(() => parseRequest({inputs: {ids: {type: 'int64', dims: [3], data: [1, 1.5, 2]}}}, spec))
    expect(e.message).toBe("input 'ids': expected integers for int64, found 1.5 at index 1")
  })

  it('rejects fractional values for int32 as it does for int64', () => {
    const spec: TensorSpec[] = [{name: 'ids', type: 'int32', shape: [2]}]
    const e = invalid(() => parseRequest({inputs: {ids: {type: 'int32', dims: [2], data: [1, 1.5]}}}, spec))
    expect(e.message).toContain("input 'ids'")
  })

  it('decodes b64 and rejects a byte length that does not fit the dims', () => {
    const values = new Float32Array([1.5, -2, 3, 4, 5, 6])
    const r = parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], b64: b64(values)}}}, IMAGE)
    expect(r.binary).toBe(true)
    expect(Array.from(r.feeds.x!.data as Float32Array)).toEqual(Array.from(values))
    const e = invalid(() => parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], b64: b64(values.subarray(0, 5))}}}, IMAGE))
    expect(e.message).toBe("input 'x': dims [1,3,2] of float32 need 24 bytes, b64 decodes to 20")
  })
})

describe('validateFeeds', () => {
  const feed = (type: HostTensor['type'], dims: number[]): HostTensor => ({type, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1))})

  it('accepts any size for symbolic (and -1) dims', () => {
    expect(() => validateFeeds({x: feed('float32', [7, 3, 2])}, IMAGE)).not.toThrow()
    expect(() => validateFeeds({x: feed('float32', [4, 3, 2])}, [{name: 'x', type: 'float32', shape: [-1, 3, 2]}])).not.toThrow()
  })

  it('names an unknown input and the inputs the model has', () => {
    const e = invalid(() => validateFeeds({x: feed('float32', [1, 3, 2]), y: feed('float32', [1])}, IMAGE))
    expect(e.message).toBe("unknown input 'y': the model's inputs are 'x'")
  })

  it('names a missing input with its type and shape', () => {
    const e = invalid(() => validateFeeds({}, IMAGE))
    expect(e.message).toBe("missing input 'x' (float32 [batch,3,2]); found no inputs")
  })

  it('names the expected and found dtype', () => {
    const e = invalid(() => validateFeeds({x: feed('float64', [1, 3, 2])}, IMAGE))
    expect(e.message).toBe("input 'x': expected type float32, found float64")
  })

  it.each([
    ['wrong rank', [1, 6], "input 'x': expected dims [batch,3,2] (rank 3), found [1,6] (rank 2)"],
    ['wrong fixed dim', [1, 3, 4], "input 'x': expected dims [batch,3,2] (rank 3), found [1,3,4] (rank 3)"],
  ])('rejects a %s, naming expected vs found shape', (_, dims, message) => {
    const e = invalid(() => validateFeeds({x: feed('float32', dims as number[])}, IMAGE))
    expect(e.errorType).toBe('Sai.InvalidInput')
    expect(e.message).toBe(message)
  })
})

describe('formatResponse', () => {
  const y: HostTensor = {type: 'float32', dims: [1, 2], data: new Float32Array([0.25, 0.75])}
  const big: HostTensor = {type: 'int64', dims: [2], data: new BigInt64Array([3n, 9007199254740993n])}

  it('answers sai JSON, with 64-bit integers beyond 2^53 as strings', () => {
    expect(formatResponse({format: 'sai', binary: false}, {y, big}, 'm')).toEqual({
      outputs: {y: {type: 'float32', dims: [1, 2], data: [0.25, 0.75]}, big: {type: 'int64', dims: [2], data: [3, '9007199254740993']}},
    })
  })

  it('answers b64 when the request used b64, and it round-trips', () => {
    const request = parseRequest({inputs: {x: {type: 'float32', dims: [1, 3, 2], b64: b64(new Float32Array(seq(6)))}}}, IMAGE)
    const out = formatResponse(request, {y: request.feeds.x!}, 'm') as {outputs: {y: {b64: string; dims: number[]}}}
    expect(out.outputs.y.dims).toEqual([1, 3, 2])
    expect(Array.from(new Float32Array(new Uint8Array(Buffer.from(out.outputs.y.b64, 'base64')).buffer))).toEqual(seq(6))
  })

  it('answers OIP with model_name, id and only the requested outputs', () => {
    expect(formatResponse({format: 'oip', binary: false, id: 'r', outputs: ['y']}, {y, big}, 'resnet')).toEqual({
      model_name: 'resnet', id: 'r', outputs: [{name: 'y', shape: [1, 2], datatype: 'FP32', data: [0.25, 0.75]}],
    })
  })

  it('rejects an unknown requested output, listing the real ones', () => {
    const e = invalid(() => formatResponse({format: 'sai', binary: false, outputs: ['z']}, {y}, 'm'))
    expect(e.message).toBe("unknown output 'z': the model's outputs are 'y'")
  })
})

describe('stackBatch / splitBatch', () => {
  const req = (rows: number, start: number, format: ParsedRequest['format'] = 'sai', cols = 2): ParsedRequest => ({
    format, binary: false, feeds: {x: {type: 'float32', dims: [rows, cols], data: new Float32Array(seq(rows * cols).map((v) => v + start))}},
  })

  it('stacks along dim 0 and splits outputs back per request', () => {
    const {feeds, sizes} = stackBatch([req(1, 0), req(2, 100)])
    expect(sizes).toEqual([1, 2])
    expect(feeds.x!.dims).toEqual([3, 2])
    expect(Array.from(feeds.x!.data as Float32Array)).toEqual([0, 1, 100, 101, 102, 103])
    const parts = splitBatch({y: feeds.x!}, sizes)
    expect(parts.map((p) => p.y!.dims)).toEqual([[1, 2], [2, 2]])
    expect(Array.from(parts[1]!.y!.data as Float32Array)).toEqual([100, 101, 102, 103])
  })

  it('rejects mismatched trailing dims and mixed formats', () => {
    expect(invalid(() => stackBatch([req(1, 0), req(1, 0, 'sai', 3)])).message).toBe(
      "batch[1] input 'x': dims [1,3] cannot be stacked with batch[0]'s [1,2] (all dims but the first must match)",
    )
    expect(invalid(() => stackBatch([req(1, 0), req(1, 0, 'oip')])).message).toMatch(/batch\[0\] is sai, batch\[1\] is oip/)
    expect(invalid(() => stackBatch([])).message).toContain('"batch" is empty')
  })

  it('refuses to split an output whose dim 0 is not the batch total', () => {
    const e = invalid(() => splitBatch({loss: {type: 'float32', dims: [1], data: new Float32Array(1)}}, [1, 2]))
    expect(e.errorType).toBe('Sai.BatchNotSplittable')
    expect(e.name).toBe('Sai.BatchNotSplittable')
    expect(e.message).toContain("output 'loss' has dims [1]; its dim 0 is not the batch size 3")
  })
})

describe('sampleTensor', () => {
  it('replaces symbolic dims and makes data that passes validation', () => {
    const seen: [string, number][] = []
    const sample = sampleTensor(IMAGE[0]!, (name, index) => (seen.push([name, index]), 2))
    expect(seen).toEqual([['batch', 0]])
    expect(sample.dims).toEqual([2, 3, 2])
    expect(sample.data).toHaveLength(12)
    expect(sample.data.every((v) => typeof v === 'number' && v >= 0 && v <= 1)).toBe(true)
    expect(() => parseRequest({inputs: {x: sample}}, IMAGE)).not.toThrow()
  })
})
