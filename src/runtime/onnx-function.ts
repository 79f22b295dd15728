/**
 * The generic ONNX function: the InferenceSession is created during init (so the model load is part
 * of the cold start, as on Lambda), and each invoke runs one `session.run` — a whole batch included.
 */
import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {InferenceSession, Tensor} from 'onnxruntime-node'
import {RuntimeError} from './handler-loader.js'
import {
  formatResponse, InvalidInputError, parseRequest, splitBatch, stackBatch,
  type HostTensor, type ParsedRequest, type TensorData, type TensorSpec, type TensorType,
} from './tensors.js'

export interface OnnxModel {
  session: InferenceSession
  name: string
  inputs: TensorSpec[]
  outputs: TensorSpec[]
  /** Runs a request in any supported format (sai, KServe v2, or a batch of either) and answers in the same format. */
  infer(event: unknown): Promise<unknown>
  /** Runs raw tensors. */
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>
}

export interface OnnxOptions {
  modelPath: string
  memoryMb: number
  intraOpNumThreads?: number
  batchLimit?: number
}

/**
 * Lambda's CPU share for a memory size, as whole threads (1,769 MB = 1 vCPU, 6 at most): more
 * threads than vCPUs only contend. (src/spec/limits.ts has the same ratio; this directory ships
 * alone inside images, so it cannot import it.)
 */
export function defaultThreads(memoryMb: number): number {
  return Math.min(6, Math.max(1, Math.round(memoryMb / 1769)), os.availableParallelism())
}

export async function loadOnnxModel(options: OnnxOptions): Promise<OnnxModel> {
  const {modelPath} = options
  if (!existsSync(modelPath)) throw new RuntimeError('Sai.ModelNotFound', `model file ${modelPath} does not exist`)
  const ort = await import('onnxruntime-node')
  let session: InferenceSession
  try {
    session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: options.intraOpNumThreads ?? defaultThreads(options.memoryMb),
      interOpNumThreads: 1,
    })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new RuntimeError(
      'Sai.ModelLoadError',
      `cannot load ONNX model ${modelPath}: ${reason}. Is the file a complete .onnx model (not truncated, not another format)?`,
    )
  }
  const toSpec = (m: InferenceSession.ValueMetadata): TensorSpec => ({
    name: m.name,
    type: (m.isTensor ? m.type : 'float32') as TensorType,
    shape: m.isTensor ? [...m.shape] : [],
  })
  const inputs = session.inputMetadata.map(toSpec)
  const outputs = session.outputMetadata.map(toSpec)
  const name = path.basename(modelPath, path.extname(modelPath))

  async function run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, Tensor> = {}
    for (const [key, t] of Object.entries(feeds)) ortFeeds[key] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)
    let results: InferenceSession.ReturnType
    try {
      results = await session.run(ortFeeds)
    } catch (error) {
      // onnxruntime rejects what static checks cannot see (e.g. a spatial size too small for the network).
      throw new InvalidInputError(`the model rejected the input: ${error instanceof Error ? error.message : String(error)}`)
    }
    const out: Record<string, HostTensor> = {}
    for (const [key, t] of Object.entries(results)) out[key] = {type: t.type as TensorType, dims: [...t.dims], data: t.data as TensorData}
    return out
  }

  async function infer(event: unknown): Promise<unknown> {
    if (typeof event === 'object' && event !== null && 'batch' in event) {
      const batch = (event as {batch: unknown}).batch
      if (!Array.isArray(batch)) throw new InvalidInputError(`expected "batch" to be a list of requests, found ${typeof batch}`)
      if (options.batchLimit !== undefined && batch.length > options.batchLimit) {
        throw new InvalidInputError(`batch of ${batch.length} requests exceeds the function's batch limit of ${options.batchLimit}`, 'Sai.BatchTooLarge')
      }
      const requests: ParsedRequest[] = batch.map((item, i) => {
        try {
          return parseRequest(item, inputs)
        } catch (error) {
          if (error instanceof InvalidInputError) throw new InvalidInputError(`batch[${i}]: ${error.message}`, error.errorType)
          throw error
        }
      })
      const {feeds, sizes} = stackBatch(requests)
      const perRequest = splitBatch(await run(feeds), sizes)
      return {batch: perRequest.map((outs, i) => formatResponse(requests[i]!, outs, name))}
    }
    const request = parseRequest(event, inputs)
    return formatResponse(request, await run(request.feeds), name)
  }

  return {session, name, inputs, outputs, infer, run}
}
