// The cold-start baseline: a fresh node process loads onnxruntime-node, creates the session, runs
// one inference on the input file, prints one line and exits.
import {readFileSync} from 'node:fs'
const [model, inputFile, threads] = process.argv.slice(2)
const ort = await import('onnxruntime-node')
const session = await ort.InferenceSession.create(model, threads ? {intraOpNumThreads: Number(threads), interOpNumThreads: 1} : {})
const {dims, b64} = JSON.parse(readFileSync(inputFile, 'utf8'))
const bytes = Buffer.from(b64, 'base64')
const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
const out = await session.run({[session.inputNames[0]]: new ort.Tensor('float32', data, dims)})
console.log(JSON.stringify({dims: Object.values(out)[0].dims}))
