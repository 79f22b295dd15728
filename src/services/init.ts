/** `sai init`: inspect a model, write sai.yaml and a sample event that the model really accepts. */
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {SaiError} from '../errors/sai-error.js'
import {inspectModel} from '../packager/model/inspect.js'
import {loadOnnxModel} from '../runtime/onnx-function.js'
import {formatDims, sampleTensor, type TensorSpec} from '../runtime/tensors.js'
import {LAMBDA_LIMITS} from '../spec/limits.js'
import {loadSpec} from '../spec/load.js'

export interface InitOptions {
  dir: string
  model: string
  name?: string
  /** Values for symbolic dims, by name (e.g. {"height": 320}). */
  dims?: Record<string, number>
  memory?: number
  force?: boolean
}

export interface InitResult {
  specPath: string
  samplePath: string
  name: string
  model: {path: string; bytes: number; inputs: TensorSpec[]; outputs: TensorSpec[]}
  sample: Record<string, {type: string; dims: number[]}>
  /** Outputs of one real run on the sample: proof that it is valid. */
  sampleOutputs: Record<string, {type: string; dims: number[]}>
}

/** Batch-like first dims get 1; other symbolic dims a small size most conv nets accept. */
export const DEFAULT_SYMBOLIC_DIM = 32

export function functionNameFrom(text: string): string {
  const name = text.replace(/\.onnx$/i, '').replace(/[^a-zA-Z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, LAMBDA_LIMITS.functionName.maxLength)
  return name || 'function'
}

export async function initFunction(options: InitOptions): Promise<InitResult> {
  const dir = path.resolve(options.dir)
  const specPath = path.join(dir, 'sai.yaml')
  const samplePath = path.join(dir, 'events', 'sample.json')
  if (!options.force) {
    for (const file of [specPath, samplePath]) {
      if (existsSync(file)) throw new SaiError('SAI_FILE_EXISTS', `${file} already exists`, {hint: 'pass --force to overwrite it, or choose another directory'})
    }
  }
  const modelPath = path.resolve(options.model)
  const info = await inspectModel(modelPath)
  await info.session.release()
  const name = options.name ?? functionNameFrom(path.basename(dir) || path.basename(modelPath))
  if (!LAMBDA_LIMITS.functionName.pattern.test(name) || name.length > LAMBDA_LIMITS.functionName.maxLength) {
    throw new SaiError('SAI_SPEC_INVALID', `--name "${name}" is not a Lambda function name: expected 1–64 letters, digits, hyphens or underscores`, {hint: 'pass --name with a valid name'})
  }
  const symbolic = (dimName: string, index: number) => options.dims?.[dimName] ?? (index === 0 ? 1 : DEFAULT_SYMBOLIC_DIM)
  const inputs: Record<string, ReturnType<typeof sampleTensor>> = {}
  for (const input of info.inputs) inputs[input.name] = sampleTensor(input, symbolic)

  // Run the sample once, exactly as the function will, so a sample the model rejects is caught here.
  const model = await loadOnnxModel({modelPath, memoryMb: options.memory ?? 1024})
  let outputs: Record<string, {type: string; dims: number[]}>
  try {
    const response = (await model.infer({inputs})) as {outputs: Record<string, {type: string; dims: number[]}>}
    outputs = Object.fromEntries(Object.entries(response.outputs).map(([k, v]) => [k, {type: v.type, dims: v.dims}]))
  } catch (error) {
    const symbolicNames = [...new Set(info.inputs.flatMap((i) => i.shape.filter((d) => typeof d !== 'number').map(String)))]
    throw new SaiError('SAI_MODEL_INVALID', `the model rejects a sample built with default sizes for its symbolic dims (${info.inputs.map((i) => `${i.name} ${formatDims(inputs[i.name]!.dims)}`).join(', ')}): ${(error as Error).message}`, {
      hint: `give the symbolic dims sizes the model accepts with --dim, e.g. ${symbolicNames.slice(0, 2).map((d) => `--dim ${d}=224`).join(' ') || '--dim NAME=SIZE'}`,
    })
  } finally {
    await model.session.release()
  }

  mkdirSync(path.dirname(samplePath), {recursive: true})
  const relativeModel = path.relative(dir, modelPath) || path.basename(modelPath)
  writeFileSync(specPath, renderSpec(name, relativeModel, options.memory ?? 1024, info.inputs, info.outputs))
  writeFileSync(samplePath, JSON.stringify({inputs}) + '\n')
  loadSpec(specPath)
  return {
    specPath,
    samplePath,
    name,
    model: {path: modelPath, bytes: info.bytes, inputs: info.inputs, outputs: info.outputs},
    sample: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, {type: v.type, dims: v.dims}])),
    sampleOutputs: outputs,
  }
}

function renderSpec(name: string, model: string, memory: number, inputs: TensorSpec[], outputs: TensorSpec[]): string {
  const describe = (t: TensorSpec) => `#   ${t.name}: ${t.type} ${formatDims(t.shape)}`
  return `# sai function spec (written by \`sai init\`). Every field is described in sai's README.
name: ${name}
model: ${JSON.stringify(model)}
# inputs:
${inputs.map(describe).join('\n')}
# outputs:
${outputs.map(describe).join('\n')}
memory: ${memory}            # MB, 128-10240; CPU scales with it (1769 MB = 1 vCPU)
timeout: 30             # seconds, 1-900
# batch: 8              # the largest {"batch": [...]} one invoke may carry
# reservedConcurrency: 10
# provisionedConcurrency: 1
# environment:
#   KEY: value
`
}
