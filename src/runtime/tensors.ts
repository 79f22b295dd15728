/**
 * Request/response tensor formats of the generic ONNX handler, and their validation against the
 * model's inputs. Pure: no onnxruntime import, so it runs (and is tested) anywhere.
 *
 * Formats:
 *  - sai tensors: {"inputs": {"x": {"type": "float32", "dims": [1,3,32,32], "data": [...] | "b64": "..."}}}
 *  - KServe / Open Inference Protocol v2: {"inputs": [{"name", "shape", "datatype", "data"}]}
 *  - a batch of either: {"batch": [<request>, ...]}, stacked along dim 0 and run as one.
 */

export type TensorType =
  | 'float32' | 'float64' | 'float16'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string'

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[]

export interface HostTensor {
  type: TensorType
  dims: number[]
  data: TensorData
}

/** What the model declares for an input (onnxruntime's inputMetadata). Symbolic dims are strings. */
export interface TensorSpec {
  name: string
  type: TensorType
  shape: (number | string)[]
}

export type RequestFormat = 'sai' | 'oip'

export interface ParsedRequest {
  format: RequestFormat
  feeds: Record<string, HostTensor>
  /** Output names to return; all when undefined. */
  outputs?: string[]
  /** sai format: answer with base64 when the request used it. */
  binary: boolean
  /** OIP: echoed back. */
  id?: string
}

/** An error the caller caused; the handler reports it as a function error with this errorType. */
export class InvalidInputError extends Error {
  constructor(message: string, readonly errorType = 'Sai.InvalidInput') {
    super(message)
    this.name = errorType
  }
}

const TYPED_ARRAYS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array,
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array,
} as const

const INTEGER_RANGES: Partial<Record<TensorType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295], bool: [0, 1], float16: [0, 65535],
}

const OIP_TO_TYPE: Record<string, TensorType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
}
const TYPE_TO_OIP = Object.fromEntries(Object.entries(OIP_TO_TYPE).map(([k, v]) => [v, k])) as Record<TensorType, string>

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const describe = (value: unknown): string => {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

export const formatDims = (dims: readonly (number | string)[]): string => `[${dims.join(',')}]`

/** Parses and validates one request (not a batch) against the model's inputs. */
export function parseRequest(event: unknown, inputs: readonly TensorSpec[]): ParsedRequest {
  if (!isObject(event)) {
    throw new InvalidInputError(`expected a JSON object with "inputs", found ${describe(event)}`)
  }
  const raw = event.inputs
  let parsed: ParsedRequest
  if (Array.isArray(raw)) {
    parsed = parseOip(event, raw)
  } else if (isObject(raw)) {
    parsed = parseSai(event, raw)
  } else {
    throw new InvalidInputError(
      `expected "inputs" to be an object of named tensors (sai) or a list of tensors (KServe v2), found ${describe(raw)}`,
    )
  }
  validateFeeds(parsed.feeds, inputs)
  return parsed
}

function parseSai(event: Record<string, unknown>, raw: Record<string, unknown>): ParsedRequest {
  let binary = false
  const feeds: Record<string, HostTensor> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (!isObject(value)) throw new InvalidInputError(`input '${name}': expected {type, dims, data|b64}, found ${describe(value)}`)
    const type = parseType(name, value.type)
    const dims = parseDims(name, value.dims, 'dims')
    if (typeof value.b64 === 'string') {
      binary = true
      feeds[name] = {type, dims, data: decodeBase64(name, type, dims, value.b64)}
    } else {
      feeds[name] = {type, dims, data: toTypedData(name, type, dims, value.data)}
    }
  }
  return {format: 'sai', feeds, binary, outputs: parseOutputNames(event.outputs)}
}

function parseOip(event: Record<string, unknown>, raw: unknown[]): ParsedRequest {
  const feeds: Record<string, HostTensor> = {}
  raw.forEach((value, index) => {
    if (!isObject(value) || typeof value.name !== 'string') {
      throw new InvalidInputError(`inputs[${index}]: expected {name, shape, datatype, data}, found ${describe(value)}`)
    }
    const name = value.name
    const type = typeof value.datatype === 'string' ? OIP_TO_TYPE[value.datatype] : undefined
    if (!type) {
      throw new InvalidInputError(
        `input '${name}': expected datatype one of ${Object.keys(OIP_TO_TYPE).join(', ')}, found ${describe(value.datatype)}`,
      )
    }
    const dims = parseDims(name, value.shape, 'shape')
    feeds[name] = {type, dims, data: toTypedData(name, type, dims, flatten(value.data))}
  })
  const outputs = Array.isArray(event.outputs)
    ? parseOutputNames(event.outputs.map((o) => (isObject(o) ? o.name : o)))
    : undefined
  return {format: 'oip', feeds, binary: false, outputs, id: typeof event.id === 'string' ? event.id : undefined}
}

function parseOutputNames(value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidInputError(`expected "outputs" to be a list of output names, found ${describe(value)}`)
  }
  return value
}

function parseType(name: string, value: unknown): TensorType {
  if (typeof value === 'string' && (value in TYPED_ARRAYS || value === 'string')) return value as TensorType
  throw new InvalidInputError(
    `input '${name}': expected type one of ${[...Object.keys(TYPED_ARRAYS), 'string'].join(', ')}, found ${describe(value)}`,
  )
}

function parseDims(name: string, value: unknown, field: string): number[] {
  if (Array.isArray(value) && value.every((d) => Number.isInteger(d) && d >= 0)) return value as number[]
  throw new InvalidInputError(`input '${name}': expected ${field} to be a list of non-negative integers, found ${describe(value)}`)
}

const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1)

function flatten(data: unknown): unknown {
  return Array.isArray(data) && data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : data
}

function toTypedData(name: string, type: TensorType, dims: number[], data: unknown): TensorData {
  if (!Array.isArray(data)) throw new InvalidInputError(`input '${name}': expected data to be a list of values, found ${describe(data)}`)
  const expected = elementCount(dims)
  if (data.length !== expected) {
    throw new InvalidInputError(
      `input '${name}': dims ${formatDims(dims)} need ${expected} values, found ${data.length}`,
    )
  }
  if (type === 'string') {
    const bad = data.findIndex((v) => typeof v !== 'string')
    if (bad >= 0) throw new InvalidInputError(`input '${name}': expected strings, found ${describe(data[bad])} at index ${bad}`)
    return data as string[]
  }
  const Ctor = TYPED_ARRAYS[type]
  if (Ctor === BigInt64Array || Ctor === BigUint64Array) {
    const out = new Ctor(expected)
    for (let i = 0; i < expected; i++) {
      const v = data[i]
      if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^-?\d+$/.test(v))) {
        throw new InvalidInputError(`input '${name}': expected integers for ${type}, found ${describe(v)} at index ${i}`)
      }
      out[i] = BigInt(v)
    }
    return out
  }
  const out = new (Ctor as Float32ArrayConstructor)(expected)
  const range = INTEGER_RANGES[type]
  for (let i = 0; i < expected; i++) {
    let v = data[i]
    if (type === 'bool' && typeof v === 'boolean') v = v ? 1 : 0
    if (typeof v !== 'number') {
      throw new InvalidInputError(`input '${name}': expected numbers for ${type}, found ${describe(v)} at index ${i}`)
    }
    // A typed array would silently truncate 1.5 or wrap 300 into a uint8: refuse instead.
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw new InvalidInputError(`input '${name}': expected integers from ${range[0]} to ${range[1]} for ${type}, found ${v} at index ${i}`)
    }
    out[i] = v
  }
  return out
}

function decodeBase64(name: string, type: TensorType, dims: number[], b64: string): TensorData {
  if (type === 'string') throw new InvalidInputError(`input '${name}': string tensors cannot be sent as b64; use "data"`)
  const Ctor = TYPED_ARRAYS[type]
  const bytes = Buffer.from(b64, 'base64')
  const expected = elementCount(dims) * Ctor.BYTES_PER_ELEMENT
  if (bytes.byteLength !== expected) {
    throw new InvalidInputError(
      `input '${name}': dims ${formatDims(dims)} of ${type} need ${expected} bytes, b64 decodes to ${bytes.byteLength}`,
    )
  }
  // Copy into a fresh, aligned buffer (Buffer slices may share an unaligned pool). Little-endian, as on every Lambda CPU.
  const aligned = new ArrayBuffer(expected)
  new Uint8Array(aligned).set(bytes)
  return new Ctor(aligned) as TensorData
}

/** Checks names, dtypes, ranks and fixed dims against what the model declares. */
export function validateFeeds(feeds: Record<string, HostTensor>, inputs: readonly TensorSpec[]): void {
  const expectedNames = inputs.map((i) => i.name)
  for (const name of Object.keys(feeds)) {
    if (!expectedNames.includes(name)) {
      throw new InvalidInputError(`unknown input '${name}': the model's inputs are ${expectedNames.map((n) => `'${n}'`).join(', ')}`)
    }
  }
  for (const spec of inputs) {
    const tensor = feeds[spec.name]
    if (!tensor) {
      throw new InvalidInputError(
        `missing input '${spec.name}' (${spec.type} ${formatDims(spec.shape)}); found ${Object.keys(feeds).map((n) => `'${n}'`).join(', ') || 'no inputs'}`,
      )
    }
    if (tensor.type !== spec.type) {
      throw new InvalidInputError(`input '${spec.name}': expected type ${spec.type}, found ${tensor.type}`)
    }
    const mismatch =
      tensor.dims.length !== spec.shape.length ||
      spec.shape.some((d, i) => typeof d === 'number' && d >= 0 && d !== tensor.dims[i])
    if (mismatch) {
      throw new InvalidInputError(
        `input '${spec.name}': expected dims ${formatDims(spec.shape)} (rank ${spec.shape.length}), found ${formatDims(tensor.dims)} (rank ${tensor.dims.length})`,
      )
    }
  }
}

/** Encodes outputs in the request's convention. */
export function formatResponse(
  request: Pick<ParsedRequest, 'format' | 'binary' | 'id' | 'outputs'>,
  outputs: Record<string, HostTensor>,
  modelName: string,
): unknown {
  const names = request.outputs ?? Object.keys(outputs)
  for (const name of names) {
    if (!outputs[name]) {
      throw new InvalidInputError(`unknown output '${name}': the model's outputs are ${Object.keys(outputs).map((n) => `'${n}'`).join(', ')}`)
    }
  }
  if (request.format === 'oip') {
    return {
      model_name: modelName,
      ...(request.id === undefined ? {} : {id: request.id}),
      outputs: names.map((name) => {
        const t = outputs[name]!
        return {name, shape: t.dims, datatype: TYPE_TO_OIP[t.type], data: toJsonArray(t.data, t.type)}
      }),
    }
  }
  const result: Record<string, unknown> = {}
  for (const name of names) {
    const t = outputs[name]!
    result[name] =
      request.binary && !Array.isArray(t.data)
        ? {type: t.type, dims: t.dims, b64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')}
        : {type: t.type, dims: t.dims, data: toJsonArray(t.data, t.type)}
  }
  return {outputs: result}
}

function toJsonArray(data: TensorData, type: TensorType): unknown[] {
  if (type === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0)
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    // JSON has no 64-bit integers: exact values travel as strings beyond 2^53.
    return Array.from(data, (v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()))
  }
  return Array.from(data as ArrayLike<unknown>)
}

/** Stacks requests along dim 0 into one feed; returns each request's share of dim 0 for splitting back. */
export function stackBatch(requests: readonly ParsedRequest[]): {feeds: Record<string, HostTensor>; sizes: number[]} {
  const first = requests[0]
  if (!first) throw new InvalidInputError('"batch" is empty: send at least one request')
  const format = first.format
  requests.forEach((r, i) => {
    if (r.format !== format) throw new InvalidInputError(`batch[${i}]: all requests in a batch must use one format; batch[0] is ${format}, batch[${i}] is ${r.format}`)
  })
  const names = Object.keys(first.feeds)
  const sizes = requests.map((r) => r.feeds[names[0]!]!.dims[0] ?? 1)
  const feeds: Record<string, HostTensor> = {}
  for (const name of names) {
    const parts = requests.map((r) => r.feeds[name]!)
    const head = parts[0]!
    if (head.dims.length === 0) throw new InvalidInputError(`input '${name}': a scalar cannot be batched along dim 0`)
    parts.forEach((p, i) => {
      const same = p.dims.length === head.dims.length && p.dims.every((d, k) => k === 0 || d === head.dims[k])
      if (!same) {
        throw new InvalidInputError(
          `batch[${i}] input '${name}': dims ${formatDims(p.dims)} cannot be stacked with batch[0]'s ${formatDims(head.dims)} (all dims but the first must match)`,
        )
      }
      if (p.dims[0] !== sizes[i]) {
        throw new InvalidInputError(`batch[${i}]: inputs disagree on dim 0 (${sizes[i]} vs ${p.dims[0]} for '${name}')`)
      }
    })
    const total = parts.reduce((sum, p) => sum + p.dims[0]!, 0)
    feeds[name] = {type: head.type, dims: [total, ...head.dims.slice(1)], data: concat(parts.map((p) => p.data))}
  }
  return {feeds, sizes}
}

/** Splits each output along dim 0 by the requests' sizes. */
export function splitBatch(outputs: Record<string, HostTensor>, sizes: readonly number[]): Record<string, HostTensor>[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  const results = sizes.map(() => ({}) as Record<string, HostTensor>)
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) {
      throw new InvalidInputError(
        `output '${name}' has dims ${formatDims(t.dims)}; its dim 0 is not the batch size ${total}, so it cannot be split per request`,
        'Sai.BatchNotSplittable',
      )
    }
    const rowSize = elementCount(t.dims.slice(1))
    let offset = 0
    sizes.forEach((size, i) => {
      results[i]![name] = {type: t.type, dims: [size, ...t.dims.slice(1)], data: t.data.slice(offset * rowSize, (offset + size) * rowSize) as TensorData}
      offset += size
    })
  }
  return results
}

function concat(parts: TensorData[]): TensorData {
  const head = parts[0]!
  if (Array.isArray(head)) return (parts as string[][]).flat()
  const Ctor = head.constructor as new (length: number) => Exclude<TensorData, string[]>
  const out = new Ctor(parts.reduce((sum, p) => sum + p.length, 0))
  let offset = 0
  for (const p of parts as Exclude<TensorData, string[]>[]) {
    ;(out as Float32Array).set(p as Float32Array, offset)
    offset += p.length
  }
  return out
}

/** Valid sample data for a model input, for `sai init`: symbolic dims get small defaults. */
export function sampleTensor(spec: TensorSpec, symbolicDim: (name: string, index: number) => number): {type: TensorType; dims: number[]; data: unknown[]} {
  const dims = spec.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : symbolicDim(String(d), i)))
  const n = elementCount(dims)
  const data: unknown[] = new Array(n)
  for (let i = 0; i < n; i++) {
    if (spec.type === 'string') data[i] = 'sample'
    else if (spec.type === 'bool') data[i] = i % 2 === 0
    else if (spec.type === 'float32' || spec.type === 'float64') data[i] = ((i * 37) % 100) / 100 // deterministic, in [0, 1)
    else data[i] = i % 2
  }
  return {type: spec.type, dims, data}
}
