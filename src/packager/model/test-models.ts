/**
 * A MatMul-heavy model made here, for the tests and the quantization benchmark: the PaddleOCR models
 * are conv nets, where int8 says little about what it does for transformers and MLPs.
 */
import {mulberry32} from '../../bench/random.js'
import {attributes, DataType, makeNode, makeTensor, writeModel, type ModelProto, type NodeProto, type TensorProto} from './onnx-proto.js'

export interface MlpOptions {
  /** Widths from input to output; default 512 → 1024 → 1024 → 10. */
  widths?: number[]
  seed?: number
  /** Default 17; below 11 int8-dynamic has to take its com.microsoft path. */
  opset?: number
}

/**
 * Relu layers of float32 weights drawn from a seeded uniform scaled by 1/√fan-in (activations keep
 * their size through the layers). Every other hidden layer is a Gemm with transposed weights, the
 * others MatMul + Add, so both paths of the quantizer are exercised.
 */
export function mlpModel({widths = [512, 1024, 1024, 10], seed = 1, opset = 17}: MlpOptions = {}): ModelProto {
  const random = mulberry32(seed)
  const initializer: TensorProto[] = []
  const node: NodeProto[] = []
  const uniform = (count: number, bound: number) => Float32Array.from({length: count}, () => (random() * 2 - 1) * bound)
  let current = 'x'
  for (let layer = 0; layer + 1 < widths.length; layer++) {
    const [fanIn, fanOut] = [widths[layer]!, widths[layer + 1]!]
    const last = layer + 2 === widths.length
    const [weight, bias, product] = [`w${layer}`, `b${layer}`, last ? 'logits' : `h${layer}`]
    const bound = 1 / Math.sqrt(fanIn)
    initializer.push(makeTensor(bias, DataType.FLOAT, [fanOut], uniform(fanOut, bound)))
    if (layer % 2 === 1) {
      initializer.push(makeTensor(weight, DataType.FLOAT, [fanOut, fanIn], uniform(fanIn * fanOut, bound)))
      node.push(makeNode('Gemm', [current, weight, bias], [last ? product : `${product}_linear`], `gemm${layer}`, [attributes.int('transB', 1)]))
    } else {
      initializer.push(makeTensor(weight, DataType.FLOAT, [fanIn, fanOut], uniform(fanIn * fanOut, bound)))
      node.push(makeNode('MatMul', [current, weight], [`${product}_matmul`], `matmul${layer}`))
      node.push(makeNode('Add', [`${product}_matmul`, bias], [last ? product : `${product}_linear`], `bias${layer}`))
    }
    if (!last) node.push(makeNode('Relu', [`${product}_linear`], [product], `relu${layer}`))
    current = product
  }
  const tensorType = (width: number) => ({tensorType: {elemType: DataType.FLOAT, shape: {dim: [{dimParam: 'N'}, {dimValue: width}]}}})
  return {
    irVersion: 8,
    opsetImport: [{domain: '', version: opset}],
    producerName: 'sai',
    graph: {
      name: 'mlp',
      node,
      initializer,
      input: [{name: 'x', type: tensorType(widths[0]!)}],
      output: [{name: 'logits', type: tensorType(widths.at(-1)!)}],
      valueInfo: [],
    },
  }
}

export async function writeMlpModel(file: string, options: MlpOptions = {}): Promise<number> {
  return writeModel(file, mlpModel(options))
}

/**
 * A synthetic page for PaddleOCR det as a sai request: dark text-like bars on white, normalized as
 * PaddleOCR does ((v/255 − mean)/std). On random noise det finds no text and answers ≈0 everywhere,
 * which no accuracy comparison can tell from a broken model.
 */
export function pageRequest(height = 320, width = 320): {inputs: {x: {type: 'float32'; dims: number[]; data: number[]}}} {
  const plane = height * width
  const data = new Array<number>(3 * plane)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const line = Math.floor(y / 24)
      const ink = y % 24 > 6 && y % 24 < 18 && (x + line * 37) % 60 < 45 && x > 20 && x < width - 20
      for (let c = 0; c < 3; c++) data[c * plane + y * width + x] = ink ? -1.8 : 2.0
    }
  }
  return {inputs: {x: {type: 'float32', dims: [1, 3, height, width], data}}}
}
