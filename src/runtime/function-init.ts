/**
 * What a function is, from its configuration: a plain Lambda handler, sai's ONNX handler on a model,
 * or a custom module that wraps the model. Shared by sai's runtime (bootstrap.ts) and the handler
 * of zip packages on AWS's managed runtime (zip-handler.ts).
 */
import path from 'node:path'
import {loadHandler, RuntimeError, type HandlerFunction} from './handler-loader.js'
import {loadOnnxModel} from './onnx-function.js'

export async function initFunction(env: NodeJS.ProcessEnv, taskRoot: string): Promise<HandlerFunction> {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 1024)
  if (!env.SAI_MODEL) {
    if (!env._HANDLER) throw new RuntimeError('Runtime.HandlerNotFound', 'no handler: set _HANDLER (e.g. index.handler) or SAI_MODEL')
    const {handler} = await loadHandler(taskRoot, env._HANDLER)
    if (handler.length < 3) return handler
    // A callback-style handler: (event, context, callback).
    return (event, context) =>
      new Promise((resolve, reject) => {
        const result = handler(event, context, (error: unknown, value: unknown) => (error ? reject(error) : resolve(value))) as Promise<unknown> | undefined
        if (result && typeof result.then === 'function') result.then(resolve, reject)
      })
  }
  const model = await loadOnnxModel({
    modelPath: path.resolve(taskRoot, env.SAI_MODEL),
    memoryMb,
    intraOpNumThreads: env.SAI_INTRA_OP_THREADS ? Number(env.SAI_INTRA_OP_THREADS) : undefined,
    batchLimit: env.SAI_BATCH_LIMIT ? Number(env.SAI_BATCH_LIMIT) : undefined,
  })
  if (!env._HANDLER) return (event) => model.infer(event)
  // A custom module wraps the model: optional `init(model)` during init, then `handler(event, context, model)`.
  const {handler, module} = await loadHandler(taskRoot, env._HANDLER)
  if (typeof module.init === 'function') await (module.init as (m: typeof model) => unknown)(model)
  return (event, context) => handler(event, context, model)
}

