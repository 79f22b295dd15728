/**
 * The accuracy gate of every model optimization: the original and the optimized model run on the same
 * inputs (the spec's sample events, or valid random inputs), their outputs compared, and their size,
 * session-create time and warm inference time measured side by side.
 */
import {stat} from 'node:fs/promises'
import type {InferenceSession, Tensor} from 'onnxruntime-node'
import {mulberry32} from '../../bench/random.js'
import {SaiError} from '../../errors/sai-error.js'
import {
  InvalidInputError, parseRequest, sampleTensor, stackBatch,
  type HostTensor, type TensorData, type TensorSpec, type TensorType,
} from '../../runtime/tensors.js'
import {toFloat16} from './quantize.js'

export interface VerifyOptions {
  /** sai requests (sai tensors, KServe v2, or a batch of either), e.g. the spec's sample events. */
  requests?: unknown[]
  /** How many random inputs when no requests are given (default 3). */
  samples?: number
  seed?: number
  /** Sizes of symbolic dims by name; otherwise 1 for the first dim (the batch) and 64 for others. */
  symbolicDims?: Record<string, number>
  /** Timed warm runs per model (default 7). */
  runs?: number
  intraOpNumThreads?: number
}

export interface OutputAgreement {
  name: string
  maxAbsError: number
  /** Σ|optimized − original| / Σ|original|: relative to the output's typical size, so values near zero cannot blow it up. */
  meanRelativeError: number
  cosine: number
  /** Share of rows whose argmax over the last dim agrees, for outputs shaped like class scores ([N, C] or [N, T, C]). */
  top1Agreement?: number
  /** The original's values are constant or all near zero on these inputs, so agreeing on them proves little. */
  uninformative: boolean
}

export interface ModelCost {
  bytes: number
  /** Median of three session creations. */
  sessionCreateMs: number
  /** Median of the timed warm runs on the first input. */
  warmInferenceMs: number
}

export interface VerifyReport {
  inputs: 'requests' | 'random'
  samples: number
  outputs: OutputAgreement[]
  before: ModelCost
  after: ModelCost
  notes: string[]
  /** Every output at or above the cosine similarity (and none missing or reshaped). */
  passes(minCosine?: number): boolean
}

type Feeds = Record<string, HostTensor>

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export async function verifyModel(original: string, optimized: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const ort = await import('onnxruntime-node')
  const sessionOptions: InferenceSession.SessionOptions = options.intraOpNumThreads ? {intraOpNumThreads: options.intraOpNumThreads} : {}
  const create = async (file: string): Promise<{session: InferenceSession; ms: number}> => {
    const started = performance.now()
    try {
      const session = await ort.InferenceSession.create(file, sessionOptions)
      return {session, ms: performance.now() - started}
    } catch (error) {
      throw new SaiError('SAI_MODEL_INVALID', `onnxruntime cannot load ${file}: ${(error as Error).message}`, {
        hint: file === optimized ? 'the optimization produced a model onnxruntime rejects: build without it' : 'pass a complete .onnx model',
        cause: error,
      })
    }
  }
  // Alternating creations share the disk cache and CPU noise fairly; the last pair stays open for the runs.
  const createMs: [number[], number[]] = [[], []]
  let sessions: InferenceSession[] = []
  for (let round = 0; round < 3; round++) {
    await Promise.all(sessions.map((s) => s.release()))
    sessions = []
    for (const [index, file] of [original, optimized].entries()) {
      try {
        const {session, ms} = await create(file)
        sessions.push(session)
        createMs[index]!.push(ms)
      } catch (error) {
        await Promise.all(sessions.map((s) => s.release()))
        throw error
      }
    }
  }
  const [reference, candidate] = sessions as [InferenceSession, InferenceSession]
  try {
    const specs = reference.inputMetadata.map(toSpec)
    const feedSets = options.requests?.length
      ? options.requests.map((request, index) => requestFeeds(request, specs, index))
      : randomFeeds(specs, options)
    const toOrt = (feeds: Feeds): Record<string, Tensor> =>
      Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]))

    const notes: string[] = []
    const agreements = new Map(reference.outputNames.map((name) => [name, new Agreement(name)]))
    for (const [index, feeds] of feedSets.entries()) {
      const tensors = toOrt(feeds)
      const expected = await reference.run(tensors).catch((error: Error) => {
        throw new SaiError('SAI_PAYLOAD_MISMATCH', `${original} rejects input ${index + 1}: ${error.message}`, {
          hint: 'give sample requests, or sizes for the model\'s symbolic dims',
          cause: error,
        })
      })
      const actual = await candidate.run(tensors).catch((error: Error) => {
        throw new SaiError('SAI_MODEL_INVALID', `the optimized model ${optimized} fails on input ${index + 1}, which the original runs: ${error.message}`, {
          hint: 'build without this optimization',
          cause: error,
        })
      })
      for (const [name, agreement] of agreements) agreement.add(expected[name]!, actual[name])
    }
    const runs = options.runs ?? 7
    const warmMs: [number[], number[]] = [[], []]
    const timed = toOrt(feedSets[0]!)
    for (let run = 0; run < runs; run++) {
      for (const [index, session] of [reference, candidate].entries()) {
        const started = performance.now()
        await session.run(timed)
        warmMs[index]!.push(performance.now() - started)
      }
    }
    const outputs = [...agreements.values()].map((a) => a.result(notes))
    const cost = async (file: string, index: 0 | 1): Promise<ModelCost> =>
      ({bytes: (await stat(file)).size, sessionCreateMs: median(createMs[index]), warmInferenceMs: median(warmMs[index])})
    return {
      inputs: options.requests?.length ? 'requests' : 'random',
      samples: feedSets.length,
      outputs,
      before: await cost(original, 0),
      after: await cost(optimized, 1),
      notes,
      passes: (minCosine = 0.99) => outputs.length > 0 && outputs.every((o) => o.cosine >= minCosine),
    }
  } finally {
    await Promise.all([reference.release(), candidate.release()])
  }
}

const toSpec = (m: InferenceSession.ValueMetadata): TensorSpec => ({
  name: m.name,
  type: (m.isTensor ? m.type : 'float32') as TensorType,
  shape: m.isTensor ? [...m.shape] : [],
})

function requestFeeds(request: unknown, specs: TensorSpec[], index: number): Feeds {
  try {
    if (typeof request === 'object' && request !== null && Array.isArray((request as {batch?: unknown}).batch)) {
      return stackBatch((request as {batch: unknown[]}).batch.map((item) => parseRequest(item, specs))).feeds
    }
    return parseRequest(request, specs).feeds
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error
    throw new SaiError('SAI_PAYLOAD_MISMATCH', `sample request ${index + 1} does not fit the model: ${error.message}`, {
      hint: 'fix the sample event, or verify with random inputs by giving none',
      cause: error,
    })
  }
}

/** Valid inputs built from the model's metadata, as sai requests so they pass the handler's own checks. */
function randomFeeds(specs: TensorSpec[], options: VerifyOptions): Feeds[] {
  const random = mulberry32(options.seed ?? 1)
  return Array.from({length: options.samples ?? 3}, () => {
    const inputs = Object.fromEntries(specs.map((spec) => {
      const sample = sampleTensor(spec, (name, index) => options.symbolicDims?.[name] ?? (index === 0 ? 1 : 64))
      if (spec.type === 'float32' || spec.type === 'float64') sample.data = sample.data.map(() => random())
      if (spec.type === 'float16') sample.data = sample.data.map(() => toFloat16(random()))
      return [spec.name, sample]
    }))
    return parseRequest({inputs}, specs).feeds
  })
}

const numeric = (data: TensorData, index: number): number => Number((data as ArrayLike<number | bigint>)[index])

class Agreement {
  private maxAbsError = 0
  private absDifference = 0
  private absReference = 0
  private dot = 0
  private referenceSquares = 0
  private candidateSquares = 0
  private referenceMin = Infinity
  private referenceMax = -Infinity
  private rows = 0
  private agreeingRows = 0
  private classScores = true
  private problem?: string

  constructor(readonly name: string) {}

  add(expected: Tensor, actual: Tensor | undefined): void {
    if (!actual) {
      this.problem = `the optimized model has no output '${this.name}'`
      return
    }
    if (expected.dims.join() !== actual.dims.join()) {
      this.problem = `output '${this.name}' changed shape: [${expected.dims.join(',')}] → [${actual.dims.join(',')}]`
      return
    }
    const [a, b] = [expected.data as TensorData, actual.data as TensorData]
    const strings = Array.isArray(a)
    for (let i = 0; i < a.length; i++) {
      // Strings (labels) agree or not: each counts as a unit vector component, so cosine is the share that match.
      const [x, y] = strings ? [1, a[i] === (b as string[])[i] ? 1 : 0] : [numeric(a, i), numeric(b, i)]
      const difference = Math.abs(x - y)
      this.maxAbsError = Math.max(this.maxAbsError, difference)
      this.absDifference += difference
      this.absReference += Math.abs(x)
      this.dot += x * y
      this.referenceSquares += x * x
      this.candidateSquares += strings ? 1 : y * y
      this.referenceMin = Math.min(this.referenceMin, x)
      this.referenceMax = Math.max(this.referenceMax, x)
    }
    const classes = expected.dims.at(-1) ?? 0
    this.classScores &&= expected.type.startsWith('float') && (expected.dims.length === 2 || expected.dims.length === 3) && classes > 1
    if (!this.classScores) return
    for (let row = 0; row < a.length / classes; row++) {
      this.rows++
      if (argmax(a, row * classes, classes) === argmax(b, row * classes, classes)) this.agreeingRows++
    }
  }

  result(notes: string[]): OutputAgreement {
    if (this.problem) {
      notes.push(this.problem)
      return {name: this.name, maxAbsError: Infinity, meanRelativeError: Infinity, cosine: 0, uninformative: false}
    }
    const norms = Math.sqrt(this.referenceSquares * this.candidateSquares)
    const cosine = norms > 0 ? this.dot / norms : this.referenceSquares === this.candidateSquares ? 1 : 0
    const largest = Math.max(Math.abs(this.referenceMin), Math.abs(this.referenceMax))
    const uninformative = largest < 1e-3 || this.referenceMax - this.referenceMin <= 1e-6 * largest
    if (uninformative) {
      notes.push(`output '${this.name}': the original's values are constant or within 0.001 of zero on these inputs, so their agreement proves little; verify with real sample events`)
    }
    return {
      name: this.name,
      maxAbsError: this.maxAbsError,
      meanRelativeError: this.absReference > 0 ? this.absDifference / this.absReference : this.absDifference > 0 ? Infinity : 0,
      cosine,
      ...(this.classScores && this.rows > 0 ? {top1Agreement: this.agreeingRows / this.rows} : {}),
      uninformative,
    }
  }
}

function argmax(data: TensorData, offset: number, count: number): number {
  let best = 0
  for (let i = 1; i < count; i++) if (numeric(data, offset + i) > numeric(data, offset + best)) best = i
  return best
}
