/**
 * Quantization by rewriting the ONNX graph, without Python: the same arithmetic as onnxruntime's
 * quantizer (`val = scale * (q - zero_point)`, symmetric int8 weights, 7-bit weights where u8s8
 * kernels saturate), and a report that says what was converted, what was left and why.
 */
import {readFileSync} from 'node:fs'
import {stat} from 'node:fs/promises'
import {
  attributes, DataType, elementCount, encodedSize, findAttribute, floatAttribute, floatValues, intAttribute, makeNode,
  makeTensor, opsetVersion, readModel, tensorDims, toNumber, writeModel,
  type GraphProto, type ModelProto, type NodeProto, type TensorProto,
} from './onnx-proto.js'

export type QuantizeMode = 'int8-dynamic' | 'int8-weight-only' | 'fp16'

export interface QuantizeOptions {
  mode: QuantizeMode
  /** 7-bit weights (int8-dynamic only). Default: on x86 CPUs without VNNI, where u8s8 kernels saturate 8-bit weights. */
  reduceRange?: boolean
  /** One scale per output channel where the op allows it (default true). */
  perChannel?: boolean
}

export interface Converted {
  /** The node rewritten (int8-dynamic); weight-only and fp16 convert tensors, which keep their consumers. */
  node?: string
  opType: string
  tensor: string
  to: 'int8' | 'float16'
  perChannel: boolean
}

export interface LeftAsIs {
  opType: string
  reason: string
  /** Nodes (int8-dynamic) or tensors (weight-only, fp16). */
  names: string[]
}

export interface QuantizeReport {
  mode: QuantizeMode
  reduceRange: boolean
  perChannel: boolean
  converted: Converted[]
  left: LeftAsIs[]
  notes: string[]
  bytesBefore: number
  bytesAfter: number
  sizeRatio: number
  /** True when the file shrinks by less than 20%: the report says so rather than selling it. */
  gainsLittle: boolean
  summary: string
}

/** Below this many values a tensor saves less than the nodes and scales its conversion adds. */
const MIN_INT8_VALUES = 1024
const MIN_FP16_VALUES = 64
const FP16_MAX = 65504
const MS_DOMAIN = 'com.microsoft'

// Measured on PaddleOCR det (640×640, one thread): DynamicQuantizeLinear + ConvInteger ran 371 ms against 94 ms
// in float32, at cosine 0.67 — onnxruntime's CPU ConvInteger has no fused or NCHWc kernel, and one activation
// scale per tensor is too coarse for conv feature maps.
const CONV_LEFT_REASON =
  'left in float32: dynamic int8 Conv (ConvInteger) runs slower than float Conv on onnxruntime\'s CPU provider and loses accuracy; ' +
  'int8-weight-only shrinks conv weights instead'

/** x86 CPUs without VNNI multiply u8×s8 in 16-bit pairs that saturate unless weights fit 7 bits (onnxruntime's reduce_range). */
export function defaultReduceRange(cpuinfo?: string, arch: string = process.arch): boolean {
  if (arch !== 'x64') return false
  let text = cpuinfo
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8')
    } catch {
      return true
    }
  }
  const flags = new Set(/^flags\s*:(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [])
  return !flags.has('avx512_vnni') && !flags.has('avx_vnni')
}

export async function quantizeModelFile(input: string, output: string, options: QuantizeOptions): Promise<QuantizeReport> {
  const {model, report} = quantizeModel(await readModel(input), options)
  const bytesBefore = (await stat(input)).size
  const bytesAfter = await writeModel(output, model)
  return finish({...report, bytesBefore, bytesAfter})
}

export function quantizeModel(original: ModelProto, options: QuantizeOptions): {model: ModelProto; report: QuantizeReport} {
  const bytesBefore = encodedSize(original)
  const graph: GraphProto = {...original.graph!, node: [...original.graph!.node], initializer: [...original.graph!.initializer], input: [...original.graph!.input]}
  const model: ModelProto = {...original, graph, opsetImport: original.opsetImport.map((o) => ({...o}))}
  const edit = new GraphEdit(model)
  const perChannel = options.perChannel ?? true
  const reduceRange = options.mode === 'int8-dynamic' ? options.reduceRange ?? defaultReduceRange() : false
  if (options.mode === 'int8-dynamic') quantizeDynamic(edit, perChannel, reduceRange)
  else if (options.mode === 'int8-weight-only') quantizeWeights(edit, perChannel)
  else convertToFloat16(edit)
  edit.finish()
  const report = {
    mode: options.mode, reduceRange, perChannel, converted: edit.converted, left: edit.leftGroups(), notes: edit.notes,
    bytesBefore, bytesAfter: encodedSize(model), sizeRatio: 0, gainsLittle: false, summary: '',
  }
  return {model, report: finish(report)}
}

function finish(report: QuantizeReport): QuantizeReport {
  const sizeRatio = report.bytesAfter / report.bytesBefore
  const gainsLittle = sizeRatio > 0.8
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`
  const sizes = `${mb(report.bytesBefore)} → ${mb(report.bytesAfter)} (${(sizeRatio * 100).toFixed(0)}%)`
  const what = report.converted.length === 0 ? 'nothing converted' : `${report.converted.length} ${report.mode === 'int8-dynamic' ? 'nodes' : 'tensors'} converted`
  const leftCount = report.left.reduce((sum, group) => sum + group.names.length, 0)
  const leftByOp = new Map<string, number>()
  for (const group of report.left) leftByOp.set(group.opType, (leftByOp.get(group.opType) ?? 0) + group.names.length)
  const left = leftCount === 0 ? '' : `, ${leftCount} left as they were (${[...leftByOp].map(([op, count]) => `${count} ${op}`).join(', ')})`
  const verdict = gainsLittle ? `${report.mode} gains little for this model: ` : ''
  return {...report, sizeRatio, gainsLittle, summary: `${verdict}${what}${left}; ${sizes}`}
}

interface Use {node: NodeProto; index: number}

/** The main graph being rewritten: who uses which value, unique names, and the record of what happened. */
class GraphEdit {
  readonly graph: GraphProto
  readonly initializers = new Map<string, TensorProto>()
  readonly uses = new Map<string, Use[]>()
  /** Values read inside If/Loop/Scan bodies or returned as graph outputs: an initializer they name is never dropped. */
  readonly pinned = new Set<string>()
  readonly converted: Converted[] = []
  readonly notes: string[] = []
  private readonly names = new Set<string>()
  private readonly retired = new Set<string>()
  private readonly left = new Map<string, LeftAsIs>()

  constructor(readonly model: ModelProto) {
    this.graph = model.graph!
    this.hoistConstants()
    for (const tensor of this.graph.initializer) this.initializers.set(tensor.name ?? '', tensor)
    for (const output of this.graph.output) this.pinned.add(output.name ?? '')
    for (const node of this.graph.node) {
      node.input.forEach((name, index) => {
        const uses = this.uses.get(name) ?? []
        uses.push({node, index})
        this.uses.set(name, uses)
      })
      for (const attribute of node.attribute) for (const sub of [attribute.g, ...(attribute.graphs ?? [])]) if (sub) collectNames(sub, this.pinned)
      for (const name of [...node.input, ...node.output, node.name ?? '']) this.names.add(name)
    }
    for (const name of this.initializers.keys()) this.names.add(name)
  }

  /** paddle2onnx and older exporters keep weights in Constant nodes; onnxruntime turns them into initializers at load anyway. */
  private hoistConstants(): void {
    const outputs = new Set(this.graph.output.map((o) => o.name))
    let hoisted = 0
    this.graph.node = this.graph.node.filter((node) => {
      const value = node.opType === 'Constant' && !node.domain && node.attribute.length === 1 ? findAttribute(node, 'value')?.t : undefined
      const name = node.output[0]
      if (!value || value.dataType !== DataType.FLOAT || !name || outputs.has(name)) return true
      this.graph.initializer.push({...value, name})
      hoisted++
      return false
    })
    if (hoisted > 0) {
      this.notes.push(`${hoisted} float Constant nodes became initializers (as onnxruntime does at load) so their values could be converted`)
      if (toNumber(this.model.irVersion) < 4) this.model.irVersion = 4
    }
  }

  unique(base: string): string {
    let name = base
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`
    this.names.add(name)
    return name
  }

  addInitializer(tensor: TensorProto): void {
    this.graph.initializer.push(tensor)
    this.initializers.set(tensor.name!, tensor)
  }

  /** The constant float32 value of a name, if it is one that can be rewritten freely. */
  floatConstant(name: string): TensorProto | undefined {
    const tensor = this.initializers.get(name)
    return tensor?.dataType === DataType.FLOAT ? tensor : undefined
  }

  /** The original of a converted tensor: dropped at the end unless something still reads it. */
  retire(name: string): void {
    this.retired.add(name)
  }

  ensureOpset(domain: string, version: number): void {
    if (opsetVersion(this.model, domain) === 0) this.model.opsetImport.push({domain, version})
  }

  leave(opType: string, name: string, reason: string): void {
    const key = `${opType}\u0000${reason}`
    const group = this.left.get(key) ?? {opType, reason, names: []}
    group.names.push(name)
    this.left.set(key, group)
  }

  leftGroups(): LeftAsIs[] {
    return [...this.left.values()]
  }

  finish(): void {
    const read = new Set([...this.graph.node.flatMap((n) => n.input), ...this.pinned])
    const dropped = new Set([...this.retired].filter((name) => !read.has(name)))
    this.graph.initializer = this.graph.initializer.filter((t) => !dropped.has(t.name ?? ''))
    // Older exporters list initializers as graph inputs too: one now dropped or computed must stop being an input.
    const produced = new Set(this.graph.node.flatMap((n) => n.output))
    const inputs = this.graph.input.length
    this.graph.input = this.graph.input.filter((i) => !dropped.has(i.name ?? '') && !produced.has(i.name ?? ''))
    if (this.graph.input.length < inputs) {
      this.notes.push(`${inputs - this.graph.input.length} converted initializers were also listed as graph inputs; they are constants now`)
      if (toNumber(this.model.irVersion) < 4) this.model.irVersion = 4
    }
  }
}

function collectNames(graph: GraphProto, into: Set<string>): void {
  for (const node of graph.node) {
    for (const name of node.input) into.add(name)
    for (const attribute of node.attribute) for (const sub of [attribute.g, ...(attribute.graphs ?? [])]) if (sub) collectNames(sub, into)
  }
}

const nodeName = (node: NodeProto): string => node.name || node.output[0] || node.opType || 'node'

/** Symmetric int8: zero point 0, scale = max|w| / qmax, per slice of `axis` (undefined: one scale). */
export function quantizeSymmetric(values: Float32Array, dims: readonly number[], axis: number | undefined, qmax: number): {q: Int8Array; scales: Float32Array} {
  const channels = axis === undefined ? 1 : dims[axis]!
  const inner = axis === undefined ? values.length : elementCount(dims.slice(axis + 1))
  const channelOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels)
  const absMax = new Float32Array(channels)
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i)
    absMax[c] = Math.max(absMax[c]!, Math.abs(values[i]!))
  }
  // An all-zero channel gets scale 1, as onnxruntime's quantizer does: any scale dequantizes 0 to 0.
  const scales = absMax.map((m) => (m > 0 ? Math.fround(m / qmax) : 1))
  const q = new Int8Array(values.length)
  for (let i = 0; i < values.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, Math.round(values[i]! / scales[channelOf(i)]!)))
  return {q, scales}
}

function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!
  return out
}

function quantizeDynamic(edit: GraphEdit, perChannel: boolean, reduceRange: boolean): void {
  const qmax = reduceRange ? 64 : 127
  const opset = opsetVersion(edit.model)
  // DynamicQuantizeLinear arrived in opset 11; bumping an older model's opset would change the meaning of its other ops.
  const contrib = opset < 11
  if (contrib) {
    edit.ensureOpset(MS_DOMAIN, 1)
    edit.notes.push(`opset ${opset} predates DynamicQuantizeLinear (opset 11): MatMuls became com.microsoft DynamicQuantizeMatMul, which onnxruntime runs`)
  }
  const rewritten = new Map<NodeProto, NodeProto[]>()
  const shared = new Map<string, QuantizedWeight>()
  for (const node of edit.graph.node) {
    const op = node.opType ?? ''
    if (node.domain) continue
    if (op === 'Conv' || op === 'ConvTranspose') {
      edit.leave(op, nodeName(node), CONV_LEFT_REASON)
      continue
    }
    if (op !== 'MatMul' && op !== 'Gemm') continue
    const weight = edit.floatConstant(node.input[1] ?? '')
    if (!weight) {
      edit.leave(op, nodeName(node), 'its weights are computed, not a float32 constant')
      continue
    }
    const reason = weight.dims.length !== 2
      ? `its weights have rank ${weight.dims.length} (2 is needed for per-column scales)`
      : elementCount(tensorDims(weight)) < MIN_INT8_VALUES
        ? `its weights have fewer than ${MIN_INT8_VALUES} values`
        : op === 'Gemm' && intAttribute(node, 'transA', 0) !== 0 ? 'Gemm with transA=1' : undefined
    if (reason) {
      edit.leave(op, nodeName(node), reason)
      continue
    }
    rewritten.set(node, rewriteMatMul(edit, node, weight, shared, {perChannel, qmax, contrib}))
  }
  edit.graph.node = edit.graph.node.flatMap((node) => rewritten.get(node) ?? [node])
}

interface QuantizedWeight {weightQ: string; scales: Float32Array; scaleByAlpha: Map<number, string>}

function rewriteMatMul(
  edit: GraphEdit, node: NodeProto, weight: TensorProto, shared: Map<string, QuantizedWeight>,
  {perChannel, qmax, contrib}: {perChannel: boolean; qmax: number; contrib: boolean},
): NodeProto[] {
  const base = nodeName(node).replace(/[^\w.-]/g, '_')
  const isGemm = node.opType === 'Gemm'
  const transposed = isGemm && intAttribute(node, 'transB', 0) === 1
  const alpha = isGemm ? floatAttribute(node, 'alpha', 1) : 1
  // Tied weights (one matrix read by several MatMuls) are stored once; Gemm's alpha only scales the scales.
  const key = `${weight.name}\u0000${transposed}`
  const quantized = shared.get(key) ?? quantizeWeight(edit, weight, transposed, perChannel, qmax)
  shared.set(key, quantized)
  const {weightQ} = quantized
  let weightScale = quantized.scaleByAlpha.get(alpha)
  if (!weightScale) {
    weightScale = edit.unique(`${weight.name}_scale`)
    edit.addInitializer(makeTensor(weightScale, DataType.FLOAT, perChannel ? [quantized.scales.length] : [], quantized.scales.map((v) => v * alpha)))
    quantized.scaleByAlpha.set(alpha, weightScale)
  }
  edit.converted.push({node: nodeName(node), opType: node.opType!, tensor: weight.name!, to: 'int8', perChannel})

  const output = node.output[0]!
  const bias = isGemm ? node.input[2] : undefined
  const product = bias ? edit.unique(`${base}_product`) : output
  const nodes: NodeProto[] = []
  const input = node.input[0]!
  if (contrib) {
    nodes.push(makeNode('DynamicQuantizeMatMul', [input, weightQ, weightScale], [product], edit.unique(`${base}_quant`), [], MS_DOMAIN))
  } else {
    // The shape onnxruntime fuses into DynamicQuantizeMatMul: each DynamicQuantizeLinear and scale Mul feeds one MatMulInteger.
    const [inputQ, inputScale, inputZero, integer, asFloat, scale] =
      ['input_quantized', 'input_scale', 'input_zero_point', 'int32', 'float', 'scale'].map((suffix) => edit.unique(`${base}_${suffix}`)) as [string, string, string, string, string, string]
    nodes.push(
      makeNode('DynamicQuantizeLinear', [input], [inputQ, inputScale, inputZero], edit.unique(`${base}_input_quantize`)),
      makeNode('MatMulInteger', [inputQ, weightQ, inputZero], [integer], edit.unique(`${base}_quant`)),
      makeNode('Cast', [integer], [asFloat], edit.unique(`${base}_cast`), [attributes.int('to', DataType.FLOAT)]),
      makeNode('Mul', [inputScale, weightScale], [scale], edit.unique(`${base}_scales_mul`)),
      makeNode('Mul', [asFloat, scale], [product], edit.unique(`${base}_output_scale_mul`)),
    )
  }
  if (bias) {
    const beta = floatAttribute(node, 'beta', 1)
    const constantBias = edit.floatConstant(bias)
    let added = bias
    if (beta !== 1 && constantBias) {
      added = edit.unique(`${bias}_times_beta`)
      edit.addInitializer(makeTensor(added, DataType.FLOAT, tensorDims(constantBias), floatValues(constantBias).map((v) => v * beta)))
    } else if (beta !== 1) {
      const betaName = edit.unique(`${base}_beta`)
      added = edit.unique(`${base}_scaled_bias`)
      edit.addInitializer(makeTensor(betaName, DataType.FLOAT, [], new Float32Array([beta])))
      nodes.push(makeNode('Mul', [bias, betaName], [added], edit.unique(`${base}_bias_scale`)))
    }
    nodes.push(makeNode('Add', [product, added], [output], edit.unique(`${base}_bias_add`)))
  }
  return nodes
}

function quantizeWeight(edit: GraphEdit, weight: TensorProto, transposed: boolean, perChannel: boolean, qmax: number): QuantizedWeight {
  let [rows, columns] = tensorDims(weight) as [number, number]
  let values = floatValues(weight)
  if (transposed) {
    values = transpose2d(values, rows, columns)
    ;[rows, columns] = [columns, rows]
  }
  const {q, scales} = quantizeSymmetric(values, [rows, columns], perChannel ? 1 : undefined, qmax)
  const weightQ = edit.unique(`${weight.name}_quantized`)
  edit.addInitializer(makeTensor(weightQ, DataType.INT8, [rows, columns], q))
  edit.retire(weight.name!)
  return {weightQ, scales, scaleByAlpha: new Map()}
}

/** Which axis of a weight holds its output channels, for the ops whose weights dominate model size. */
function channelAxis(use: Use, rank: number): number | undefined {
  const op = use.node.opType
  if (use.node.domain) return undefined
  if (op === 'MatMul' && use.index === 1 && rank >= 2) return rank - 1
  if (op === 'Gemm' && use.index === 1) return intAttribute(use.node, 'transB', 0) === 1 ? 0 : 1
  if (op === 'Conv' && use.index === 1) return 0
  if (op === 'ConvTranspose' && use.index === 1) return 1
  if (op === 'Gather' && use.index === 0) return 0
  return undefined
}

function quantizeWeights(edit: GraphEdit, perChannel: boolean): void {
  const opset = opsetVersion(edit.model)
  // DequantizeLinear has an axis from opset 13; before that onnxruntime's com.microsoft DequantizeLinear has one.
  const domain = opset >= 13 ? undefined : MS_DOMAIN
  if (domain) {
    edit.ensureOpset(MS_DOMAIN, 1)
    edit.notes.push(`opset ${opset} has no per-axis DequantizeLinear (opset 13): com.microsoft DequantizeLinear is used, which onnxruntime runs`)
  }
  const dequantize: NodeProto[] = []
  for (const tensor of [...edit.graph.initializer]) {
    const name = tensor.name ?? ''
    const uses = edit.uses.get(name) ?? []
    if (tensor.dataType !== DataType.FLOAT || uses.length === 0) continue
    const dims = tensorDims(tensor)
    // Only the weights of the ops that dominate model size: biases, norms and scales are small and precision-sensitive.
    const weightUses = uses.filter((use) => channelAxis(use, dims.length) !== undefined)
    const axes = weightUses.map((use) => channelAxis(use, dims.length))
    const opType = weightUses[0]?.node.opType ?? ''
    if (weightUses.length === 0) continue
    if (elementCount(dims) < MIN_INT8_VALUES) {
      edit.leave(opType, name, `fewer than ${MIN_INT8_VALUES} values`)
      continue
    }
    const axis = perChannel && axes.every((a) => a === axes[0]) ? axes[0] : undefined
    const {q, scales} = quantizeSymmetric(floatValues(tensor), dims, axis, 127)
    const quantized = edit.unique(`${name}_quantized`)
    const scale = edit.unique(`${name}_scale`)
    edit.addInitializer(makeTensor(quantized, DataType.INT8, dims, q))
    edit.addInitializer(makeTensor(scale, DataType.FLOAT, axis === undefined ? [] : [dims[axis]!], scales))
    // The dequantized value keeps the weight's name, so every consumer (subgraphs included) reads it unchanged.
    edit.retire(name)
    edit.graph.initializer = edit.graph.initializer.filter((t) => t !== tensor)
    dequantize.push(makeNode('DequantizeLinear', [quantized, scale], [name], edit.unique(`${name}_dequantize`), axis === undefined ? [] : [attributes.int('axis', axis)], domain))
    edit.converted.push({opType, tensor: name, to: 'int8', perChannel: axis !== undefined})
  }
  edit.graph.node = [...dequantize, ...edit.graph.node]
}

const floatView = new Float32Array(1)
const bitsView = new Uint32Array(floatView.buffer)

/** IEEE float16 bits of a number, rounded to nearest even (Node 20 has no Float16Array). */
export function toFloat16(value: number): number {
  floatView[0] = value
  const bits = bitsView[0]!
  const sign = (bits >>> 16) & 0x8000
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15
  let mantissa = bits & 0x7fffff
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0)
  if (exponent >= 0x1f) return sign | 0x7c00
  if (exponent <= 0) {
    if (exponent < -10) return sign
    mantissa |= 0x800000
    const shift = 14 - exponent
    let half = mantissa >>> shift
    const rest = mantissa & ((1 << shift) - 1)
    const midpoint = 1 << (shift - 1)
    if (rest > midpoint || (rest === midpoint && half & 1)) half++
    return sign | half
  }
  let half = (exponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  // A carry out of the mantissa moves into the exponent, which is the correctly rounded result.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++
  return sign | half
}

export function fromFloat16(half: number): number {
  const sign = half & 0x8000 ? -1 : 1
  const exponent = (half >>> 10) & 0x1f
  const mantissa = half & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

/**
 * Float16 storage, float32 compute: each weight is stored as float16 and Cast back to float32, so the
 * file halves while every op keeps its float32 kernel. onnxruntime's CPU provider has float16 kernels
 * for few ops on x86, so a graph computing in float16 would load only partly and run slower on Lambda.
 */
function convertToFloat16(edit: GraphEdit): void {
  if (opsetVersion(edit.model) < 6) {
    edit.notes.push('opset below 6 (Cast took a string then): nothing converted')
    return
  }
  const casts: NodeProto[] = []
  let small = 0
  for (const tensor of [...edit.graph.initializer]) {
    const name = tensor.name ?? ''
    const uses = edit.uses.get(name) ?? []
    if (tensor.dataType !== DataType.FLOAT || uses.length === 0) continue
    const opType = uses[0]!.node.opType ?? ''
    const values = floatValues(tensor)
    if (values.length < MIN_FP16_VALUES) {
      small++
      continue
    }
    const halves = new Uint16Array(values.length)
    let absMax = 0
    let maxError = 0
    let outOfRange = false
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      if (!(Math.abs(v) <= FP16_MAX)) outOfRange = true
      halves[i] = toFloat16(v)
      absMax = Math.max(absMax, Math.abs(v))
      maxError = Math.max(maxError, Math.abs(fromFloat16(halves[i]!) - v))
    }
    if (outOfRange) {
      edit.leave(opType, name, `values beyond float16's range (±${FP16_MAX}), kept in float32`)
      continue
    }
    // Tensors of tiny values land in float16's subnormals, where precision drops far below 11 bits.
    if (absMax > 0 && maxError / absMax > 1e-3) {
      edit.leave(opType, name, 'values too small for float16\'s precision, kept in float32')
      continue
    }
    const stored = edit.unique(`${name}_fp16`)
    edit.addInitializer(makeTensor(stored, DataType.FLOAT16, tensorDims(tensor), halves))
    edit.retire(name)
    edit.graph.initializer = edit.graph.initializer.filter((t) => t !== tensor)
    casts.push(makeNode('Cast', [stored], [name], edit.unique(`${name}_to_float32`), [attributes.int('to', DataType.FLOAT)]))
    edit.converted.push({opType, tensor: name, to: 'float16', perChannel: false})
  }
  if (small > 0) edit.notes.push(`${small} float32 tensors under ${MIN_FP16_VALUES} values stay float32: a Cast node would cost more than it saves`)
  edit.graph.node = [...casts, ...edit.graph.node]
}
