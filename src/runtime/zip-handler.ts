/**
 * The handler of a zip package on AWS's managed Node runtime (nodejs22.x): there, AWS's runtime
 * client owns the process and calls a handler module, so sai's model serving is offered as one.
 * The generated `sai-handler.mjs` at the zip's root calls createHandler with what the image would
 * carry in its environment; the function's own configuration (environment variables) wins.
 */
import {initFunction} from './function-init.js'
import type {HandlerFunction} from './handler-loader.js'

export interface ZipFunctionSettings {
  /** The model, relative to the task root. */
  model?: string
  /** The function's own module ("<module>.<export>"), when it has one. */
  handler?: string
  batchLimit?: number
  intraOpNumThreads?: number
}

export async function createHandler(settings: ZipFunctionSettings): Promise<HandlerFunction> {
  const env: NodeJS.ProcessEnv = {...process.env}
  if (settings.model !== undefined) env.SAI_MODEL ??= settings.model
  if (settings.batchLimit !== undefined) env.SAI_BATCH_LIMIT ??= String(settings.batchLimit)
  if (settings.intraOpNumThreads !== undefined) env.SAI_INTRA_OP_THREADS ??= String(settings.intraOpNumThreads)
  // _HANDLER names the generated module itself here; the function's own module is the one to load.
  if (settings.handler !== undefined) env._HANDLER = settings.handler
  else delete env._HANDLER
  return initFunction(env, process.env.LAMBDA_TASK_ROOT ?? process.cwd())
}
