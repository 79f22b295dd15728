/** What an ONNX model takes and returns, read by onnxruntime itself (so "valid" means "loads"). */
import {existsSync, statSync} from 'node:fs'
import type {InferenceSession} from 'onnxruntime-node'
import {SaiError} from '../../errors/sai-error.js'
import type {TensorSpec, TensorType} from '../../runtime/tensors.js'

export interface ModelInfo {
  path: string
  bytes: number
  inputs: TensorSpec[]
  outputs: TensorSpec[]
  /** Milliseconds onnxruntime took to create the session. */
  loadMs: number
  session: InferenceSession
}

const toSpec = (m: InferenceSession.ValueMetadata): TensorSpec => ({
  name: m.name,
  type: (m.isTensor ? m.type : 'float32') as TensorType,
  shape: m.isTensor ? [...m.shape] : [],
})

export async function inspectModel(modelPath: string): Promise<ModelInfo> {
  if (!existsSync(modelPath)) {
    throw new SaiError('SAI_MODEL_NOT_FOUND', `the model file ${modelPath} does not exist`, {hint: 'check the path passed to --model'})
  }
  const ort = await import('onnxruntime-node')
  const started = performance.now()
  let session: InferenceSession
  try {
    session = await ort.InferenceSession.create(modelPath)
  } catch (error) {
    throw new SaiError('SAI_MODEL_INVALID', `onnxruntime cannot load ${modelPath}: ${(error as Error).message}`, {
      hint: 'pass a complete .onnx file (a truncated download or another format fails like this)',
      cause: error,
    })
  }
  return {
    path: modelPath,
    bytes: statSync(modelPath).size,
    inputs: session.inputMetadata.map(toSpec),
    outputs: session.outputMetadata.map(toSpec),
    loadMs: performance.now() - started,
    session,
  }
}
