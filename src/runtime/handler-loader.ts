/**
 * Resolves `_HANDLER` ("<module path>.<export>") the way Lambda's Node runtime does: relative to
 * LAMBDA_TASK_ROOT, trying .js, .mjs and .cjs. Errors carry Lambda's errorTypes.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

export class RuntimeError extends Error {
  constructor(readonly errorType: string, message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = errorType
  }
}

export type HandlerFunction = (event: unknown, context: unknown, extra?: unknown) => unknown

export interface LoadedModule {
  handler: HandlerFunction
  module: Record<string, unknown>
}

export function splitHandler(handlerString: string): {modulePath: string; exportPath: string[]} {
  const base = path.basename(handlerString)
  const dot = base.indexOf('.')
  if (dot <= 0 || dot === base.length - 1) {
    throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerString}: expected "<module>.<export>", e.g. "index.handler"`)
  }
  const dir = handlerString.slice(0, handlerString.length - base.length)
  return {modulePath: dir + base.slice(0, dot), exportPath: base.slice(dot + 1).split('.')}
}

export async function loadHandler(taskRoot: string, handlerString: string): Promise<LoadedModule> {
  const {modulePath, exportPath} = splitHandler(handlerString)
  const base = path.resolve(taskRoot, modulePath)
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((candidate) => existsSync(candidate))
  if (!file) {
    throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}' (looked for ${path.relative(taskRoot, base)}.js, .mjs and .cjs in ${taskRoot})`)
  }
  let module: Record<string, unknown>
  try {
    // Awaiting the import awaits a module's top-level await: its init lands in Init Duration, as on Lambda.
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`, {cause: error})
    throw error
  }
  let target: unknown = module
  for (const key of exportPath) {
    target = (target as Record<string, unknown> | undefined)?.[key]
    // A CommonJS module imported from ESM puts its exports under `default`.
    if (target === undefined && key === exportPath[0]) target = (module.default as Record<string, unknown> | undefined)?.[key]
  }
  if (typeof target !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`)
  }
  return {handler: target as HandlerFunction, module}
}
