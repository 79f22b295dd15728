/**
 * Writes settings chosen by `sai recommend --apply` into a function's sai.yaml. Only the named keys
 * change: their values are spliced into the file's own text at the places the parsed Document says
 * they are, so comments, key order, quoting, indentation, blank lines and line endings stay exactly
 * as the user wrote them (re-stringifying the whole Document would re-indent, re-fold long strings
 * and re-space flow maps). The result is checked against the same edit made through the Document
 * API and validated with the loader's schema before anything is written.
 */
import {closeSync, fchmodSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import path from 'node:path'
import {isDeepStrictEqual} from 'node:util'
import {isMap, isScalar, Pair, parseDocument, Scalar, type Document, type YAMLMap} from 'yaml'
import {SaiError} from '../errors/sai-error.js'
import {parseSpec} from './load.js'

export interface SpecSettings {
  memory?: number
  batch?: number
  provisionedConcurrency?: number
  reservedConcurrency?: number
}

export interface AppliedChange {
  field: keyof SpecSettings
  from: number | undefined
  to: number
}

export interface ApplyOptions {
  /** Set as the inline comment of every changed or added key; should begin with {@link APPLIED_COMMENT_MARKER}. */
  comment?: string
}

/** The words that mark a comment as sai's own, so a later apply replaces it instead of adding another. */
export const APPLIED_COMMENT_MARKER = 'set by sai recommend'

/** The order fields are applied in, and appended in when the spec lacks them. */
const FIELDS = ['memory', 'batch', 'provisionedConcurrency', 'reservedConcurrency'] as const satisfies readonly (keyof SpecSettings)[]

/** One replacement of the source text: [start, end) becomes `text`. */
interface Splice {
  start: number
  end: number
  text: string
}

export function applySpecSettings(specPath: string, settings: SpecSettings, options: ApplyOptions = {}): {changes: AppliedChange[]; written: boolean} {
  const file = resolveSpecFile(specPath)
  const source = readSpec(file)
  const doc = parseYaml(file, source)
  const map = doc.contents
  if (!isMap(map)) {
    parseSpec(doc.toJS() as unknown, file) // names what the document is instead of a mapping
    throw new SaiError('SAI_SPEC_INVALID', `${file}: expected a mapping of fields (name, model, memory, ...)`)
  }

  const before = doc.toJS() as Record<string, unknown>
  const comment = options.comment === undefined ? undefined : oneLine(options.comment) || undefined
  const changes: AppliedChange[] = []
  const splices: Splice[] = []
  let spliceable = !map.flow
  for (const field of FIELDS) {
    const to = settings[field]
    if (to === undefined) continue
    const current = before[field]
    const from = typeof current === 'number' ? current : undefined
    if (from === to) continue
    changes.push({field, from, to})
    const splice = editField(doc, map, field, to, comment, source)
    if (splice === undefined) spliceable = false
    else splices.push(splice)
  }
  if (changes.length === 0) return {changes, written: false}

  checkConcurrency(file, doc.toJS() as Record<string, unknown>, changes)
  const text = (spliceable ? splicedText(source, splices, doc) : undefined) ?? doc.toString()
  validate(file, text, changes)
  writeAtomically(file, text)
  return {changes, written: true}
}

/** The spec file `specPath` names: the path itself, or sai.yaml inside it when it is a directory (as loadSpec resolves it). */
function resolveSpecFile(specPath: string): string {
  const given = path.resolve(specPath)
  try {
    return statSync(given).isDirectory() ? path.join(given, 'sai.yaml') : given
  } catch {
    return given
  }
}

function readSpec(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new SaiError('SAI_SPEC_NOT_FOUND', `cannot read the function spec ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'pass --spec with the path of a sai.yaml, or create one with `sai init <dir> --model <file.onnx>`',
    })
  }
}

function parseYaml(file: string, text: string): Document.Parsed {
  const doc = parseDocument(text, {prettyErrors: true})
  if (doc.errors.length > 0) {
    throw new SaiError('SAI_SPEC_INVALID', `${file}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at the line and column shown',
    })
  }
  return doc
}

/**
 * Sets `field` to `to` in the Document (the reference result) and returns the matching splice of the
 * source text, or undefined when the key's place in the text is not one this module knows how to edit.
 */
function editField(doc: Document.Parsed, map: YAMLMap, field: string, to: number, comment: string | undefined, source: string): Splice | undefined {
  const pair = map.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === field)
  if (pair === undefined) {
    const splice = appendSplice(map, field, to, comment, source)
    const value = new Scalar(to)
    if (comment !== undefined) value.comment = ` ${comment}`
    map.add(new Pair(new Scalar(field), value))
    return splice
  }

  const old = pair.value as {range?: [number, number, number]; comment?: string | null} | null
  const range = old?.range
  const lineEnd = range === undefined ? -1 : endOfLine(source, range[1])
  const rest = range === undefined ? '' : source.slice(range[1], lineEnd)
  const inline = /^([ \t]*)(?:#(.*))?$/.exec(rest)
  let value: Scalar
  if (isScalar(pair.value)) {
    value = pair.value
    value.value = to
    value.format = undefined // a hex or exponent format described the old number, not this one
  } else {
    // An alias or no value at all: the key gets a value of its own.
    value = new Scalar(to)
    if (old?.comment) value.comment = old.comment
    pair.value = value
  }
  if (comment !== undefined) value.comment = ` ${mergeComment(inline === null ? (old?.comment ?? undefined) : inline[2], comment)}`

  if (range === undefined || inline === null) return undefined
  // `memory:` with no value: the number needs a space after the colon to stay a value.
  const text = range[0] === range[1] && source[range[0] - 1] === ':' ? ` ${to}` : String(to)
  const tail = comment === undefined ? rest : inline[2] === undefined ? ` # ${comment}` : `${inline[1]}# ${mergeComment(inline[2], comment)}`
  return {start: range[0], end: lineEnd, text: text + tail}
}

/** A new last line of the top-level map, at its indentation, after its last entry. */
function appendSplice(map: YAMLMap, field: string, to: number, comment: string | undefined, source: string): Splice | undefined {
  const first = map.items[0]?.key as {range?: [number, number, number]} | undefined
  const last = map.items.findLast((item) => hasRange(item.key)) // keys appended before this one have no place in the source yet
  const lastEnd = ((last?.value ?? last?.key) as {range?: [number, number, number]} | null | undefined)?.range?.[2]
  if (first?.range === undefined || lastEnd === undefined) return undefined
  const indent = first.range[0] - (source.lastIndexOf('\n', first.range[0] - 1) + 1)
  const eol = source.includes('\r\n') ? '\r\n' : '\n'
  const line = `${' '.repeat(indent)}${field}: ${to}${comment === undefined ? '' : ` # ${comment}`}`
  if (lastEnd > 0 && source[lastEnd - 1] === '\n') return {start: lastEnd, end: lastEnd, text: line + eol}
  const newline = source.indexOf('\n', lastEnd)
  // The last entry ends the file without a newline: keep it that way.
  if (newline === -1) return {start: source.length, end: source.length, text: eol + line}
  return {start: newline + 1, end: newline + 1, text: line + eol}
}

function hasRange(node: unknown): boolean {
  return (node as {range?: unknown} | null)?.range !== undefined
}

/** The offset of the end of the line `offset` is on, before any "\r\n" or "\n". */
function endOfLine(source: string, offset: number): number {
  const newline = source.indexOf('\n', offset)
  if (newline === -1) return source.length
  return source[newline - 1] === '\r' ? newline - 1 : newline
}

/**
 * The new inline comment: sai's earlier comment (from the marker on) is replaced; a comment of the
 * user's own is kept in front of it, since it is theirs to delete.
 */
function mergeComment(existing: string | undefined, comment: string): string {
  const own = existing?.trim() ?? ''
  const marker = own.indexOf(APPLIED_COMMENT_MARKER)
  const kept = (marker >= 0 ? own.slice(0, marker) : own === comment ? '' : own).replace(/[\s;]+$/, '')
  return kept === '' ? comment : `${kept}; ${comment}`
}

function oneLine(comment: string): string {
  return comment.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}

/**
 * The source with the splices made, when it parses to exactly what the Document API edit produced;
 * otherwise undefined, and the caller writes the Document itself (right values, its own layout).
 */
function splicedText(source: string, splices: Splice[], doc: Document.Parsed): string | undefined {
  let text = source
  // From the end backwards, so earlier offsets stay right; lines appended at one place go in in order.
  const ordered = splices.map((splice, index) => ({...splice, index})).sort((a, b) => b.start - a.start || b.index - a.index)
  for (const {start, end, text: replacement} of ordered) {
    text = text.slice(0, start) + replacement + text.slice(end)
  }
  const reparsed = parseDocument(text)
  if (reparsed.errors.length > 0 || !isDeepStrictEqual(reparsed.toJS(), doc.toJS())) return undefined
  return text
}

/** Provisioned concurrency is carved out of reserved concurrency: refuse, naming what to do, rather than write a spec that will not load. */
function checkConcurrency(file: string, after: Record<string, unknown>, changes: AppliedChange[]): void {
  const provisioned = after.provisionedConcurrency ?? 0
  const reserved = after.reservedConcurrency
  if (typeof provisioned !== 'number' || typeof reserved !== 'number' || provisioned <= reserved) return
  const applied = new Set(changes.map((change) => change.field))
  if (applied.has('provisionedConcurrency')) {
    throw new SaiError('SAI_SPEC_INVALID', `${file}: provisionedConcurrency: cannot set ${provisioned}, above reservedConcurrency ${reserved} (provisioned concurrency is drawn from the reserved concurrency); nothing was written`, {
      hint: `raise reservedConcurrency in ${file} to at least ${provisioned}, or remove it, then apply again`,
    })
  }
  if (!applied.has('reservedConcurrency')) return // the spec broke the rule before this apply: validate() reports it as the loader would
  throw new SaiError('SAI_SPEC_INVALID', `${file}: reservedConcurrency: cannot set ${reserved}, below provisionedConcurrency ${provisioned} (provisioned concurrency is drawn from the reserved concurrency); nothing was written`, {
    hint: `lower provisionedConcurrency in ${file} to at most ${reserved}, or apply a reservedConcurrency of at least ${provisioned}`,
  })
}

/** The text to be written must load: the loader's own checks, on the text itself. */
function validate(file: string, text: string, changes: AppliedChange[]): void {
  try {
    parseSpec(parseYaml(file, text).toJS() as unknown, file)
  } catch (error) {
    if (!(error instanceof SaiError)) throw error
    const applied = changes.map((change) => `${change.field}: ${change.to}`).join(', ')
    throw new SaiError(error.code, `${error.message}\nwith ${applied} applied the spec would not load, so nothing was written`, {hint: error.hint, cause: error})
  }
}

/** A temporary file beside the spec (the same filesystem), renamed over it: a reader sees the old file or the new one, never half of one. */
function writeAtomically(file: string, text: string): void {
  const target = realpathSync(file) // through a symlink: replace the file it points at, keep the link
  const mode = statSync(target).mode & 0o7777
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fd = openSync(temporary, 'wx', mode)
    try {
      writeFileSync(fd, text)
      fchmodSync(fd, mode) // openSync's mode is masked by the umask
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, target)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw error
  }
}
