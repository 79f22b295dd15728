/**
 * Loads sai.yaml: YAML → schema → a FunctionSpec with absolute paths. Every error names the file,
 * the field path, what was expected and what was found.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {parseDocument} from 'yaml'
import type {z} from 'zod'
import {SaiError} from '../errors/sai-error.js'
import {splitHandler} from '../runtime/handler-loader.js'
import {closestWord} from './suggest.js'
import {FIELD_EXPECTATIONS, functionSpecSchema, type ParsedFunctionSpec} from './schema.js'

export interface FunctionSpec extends Omit<ParsedFunctionSpec, 'model' | 'bootstrap'> {
  /** Absolute path of the spec file (or "<inline>"). */
  specPath: string
  /** The function directory: the task root its code and model live in. */
  dir: string
  /** Absolute path of the model, when it has one. */
  modelPath?: string
  /** A custom runtime command, with its program resolved against the function directory. */
  bootstrap?: string[]
  /** The engine image that runs this function on a backend that runs images (set by `sai emulate --backend docker`). */
  image?: string
  /** The package (image or zip) this spec was read from, when it came from one. */
  packageSource?: string
}

export function loadSpec(specPath: string): FunctionSpec {
  const given = path.resolve(specPath)
  const file = isDirectory(given) ? path.join(given, 'sai.yaml') : given
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SaiError('SAI_SPEC_NOT_FOUND', `cannot read the function spec ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'pass --spec with the path of a sai.yaml, or create one with `sai init <dir> --model <file.onnx>`',
    })
  }
  const doc = parseDocument(text, {prettyErrors: true})
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!
    throw new SaiError('SAI_SPEC_INVALID', `${file}: not valid YAML: ${first.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at the line and column shown',
    })
  }
  return parseSpec(doc.toJS() as unknown, file)
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false
  }
}

/** Validates an already-parsed spec object; `file` is used for messages and relative paths. */
export function parseSpec(raw: unknown, file: string): FunctionSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SaiError('SAI_SPEC_INVALID', `${file}: expected a mapping of fields (name, model, memory, ...), found ${raw === null ? 'an empty document' : typeof raw}`, {
      hint: 'see `sai init --help` for a complete example',
    })
  }
  const result = functionSpecSchema.safeParse(raw)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, raw as Record<string, unknown>))
    throw new SaiError('SAI_SPEC_INVALID', `${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`, {
      hint: 'fix the field(s) named above; every field is described in the README (Function spec)',
    })
  }
  const spec = result.data
  const dir = path.dirname(file)
  const modelPath = spec.model === undefined ? undefined : path.resolve(dir, spec.model)
  if (modelPath !== undefined && !existsSync(modelPath)) {
    throw new SaiError('SAI_MODEL_NOT_FOUND', `${file}: model: the file ${modelPath} does not exist`, {
      hint: 'model paths are relative to the spec file; check the path, or install the package that ships the model',
    })
  }
  if (spec.handler !== undefined && spec.bootstrap === undefined) checkHandlerModule(file, dir, spec.handler)
  const bootstrap = spec.bootstrap === undefined ? undefined : resolveBootstrap(file, dir, spec.bootstrap)
  const {model: _model, bootstrap: _bootstrap, ...rest} = spec
  return {...rest, specPath: file, dir, modelPath, bootstrap}
}

function checkHandlerModule(file: string, dir: string, handler: string): void {
  const {modulePath} = splitHandler(handler)
  const base = path.resolve(dir, modulePath)
  if (!['.js', '.mjs', '.cjs'].some((ext) => existsSync(base + ext))) {
    throw new SaiError('SAI_HANDLER_NOT_FOUND', `${file}: handler: "${handler}" names the module ${base}(.js|.mjs|.cjs), which does not exist`, {
      hint: `handlers are "<module>.<export>" relative to the spec file, e.g. "handler.handler" for ${path.join(dir, 'handler.mjs')} exporting \`handler\``,
    })
  }
}

function resolveBootstrap(file: string, dir: string, bootstrap: string | string[]): string[] {
  const argv = Array.isArray(bootstrap) ? [...bootstrap] : bootstrap.split(/\s+/).filter(Boolean)
  const program = argv[0]!
  if (program.includes('/') && !path.isAbsolute(program)) argv[0] = path.resolve(dir, program)
  const found = argv[0]!.includes('/')
    ? existsSync(argv[0]!)
    : (process.env.PATH ?? '').split(':').some((p) => p && existsSync(path.join(p, program)))
  if (!found) {
    throw new SaiError('SAI_RUNTIME_NOT_FOUND', `${file}: bootstrap: the runtime command ${argv[0]} does not exist`, {
      hint: 'bootstrap paths are relative to the spec file; a bare name is looked up on PATH',
    })
  }
  return argv
}

function valueAt(raw: Record<string, unknown>, keyPath: readonly PropertyKey[]): unknown {
  let value: unknown = raw
  for (const key of keyPath) value = (value as Record<PropertyKey, unknown> | undefined)?.[key]
  return value
}

function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const fieldNames = Object.keys(FIELD_EXPECTATIONS)

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const suggestion = closestWord(key, fieldNames)
        return `${key}: unknown field${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known fields are ${fieldNames.join(', ')}`
      })
      .join('\n  - ')
  }
  const fieldPath = issue.path.map(String).join('.') || '(top level)'
  const top = String(issue.path[0] ?? '')
  const found = describeFound(valueAt(raw, issue.path))
  // Custom rules (cross-field, environment) word their own message; the rest quote the field's expectation.
  if (issue.code === 'custom' && top === 'budgets') return `${fieldPath}: ${issue.message}`
  if (issue.code === 'custom') return `${fieldPath}: ${issue.message}, found ${found}`
  return `${fieldPath}: expected ${FIELD_EXPECTATIONS[top] ?? issue.message}, found ${found}`
}
