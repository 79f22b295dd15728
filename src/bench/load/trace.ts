/**
 * Request traces for `sai bench --trace FILE`: a CSV file with one request per line, whose first
 * column is when it was sent. Replayed as offsets in ms from the first request.
 *
 * - The first column is read; any other columns are ignored. Blank lines are skipped; a field may
 *   be wrapped in double quotes.
 * - An optional header line (a first line whose first field is not a timestamp) can name the
 *   unit: a name ending in `ms` or `millis` (`timestamp_ms`, `t_ms`, `ms`) means milliseconds, one
 *   ending in `s`, `sec` or `seconds` (`t_s`, `time_sec`) means seconds.
 * - Numbers without a unit in the header are seconds, except when the first one is 1e11 or more:
 *   that can only be epoch milliseconds (1e11 seconds is the year 5138).
 * - Numbers may be relative (0, 0.25, 1.5…) or epoch times: either way they are replayed relative
 *   to the first line.
 * - ISO-8601 date-times (`2026-11-27T22:23:41.878Z`; a space in place of the T is accepted) are
 *   read to the millisecond, with the time zone they give (UTC when they give none).
 * - Every line uses the first line's kind (number or date-time), and times never go backwards.
 */
import {readFile} from 'node:fs/promises'

export type TraceUnit = 'ms' | 's' | 'iso'

export interface Trace {
  file: string
  /** Offsets from the first request, ms, ascending. */
  offsetsMs: Float64Array
  unit: TraceUnit
  /** Offset of the last request, ms. */
  durationMs: number
}

/** What is wrong with a trace, and where: `file:line: expected …, found …` (line 0: the file as a whole). */
export class TraceError extends Error {
  constructor(readonly file: string, readonly line: number, readonly expected: string, readonly found: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: expected ${expected}, found ${found}`)
    this.name = 'TraceError'
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i
const EPOCH_MS_FROM = 1e11

export async function readTrace(file: string): Promise<Trace> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new TraceError(file, 0, 'a readable CSV file of request timestamps', `it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  return parseTrace(text, file)
}

export function parseTrace(text: string, file: string): Trace {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const offsets: number[] = []
  let unit: TraceUnit | undefined
  let header: {unit?: 'ms' | 's'} | undefined
  let first = 0
  let previous = -Infinity
  let previousField = ''
  let previousLine = 0
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1
    const field = firstField(lines[index]!)
    if (field === undefined) continue
    if (field === '') throw new TraceError(file, line, 'a timestamp in the first column', 'an empty first column')
    const isNumber = NUMBER.test(field)
    const isDateTime = !isNumber && ISO_DATE_TIME.test(field)
    if (unit === undefined) {
      if (!isNumber && !isDateTime) {
        if (header) throw new TraceError(file, line, 'a timestamp (a number, or an ISO-8601 date-time)', quote(field))
        header = {unit: unitOfHeader(field)}
        continue
      }
      unit = isDateTime ? 'iso' : (header?.unit ?? (Number(field) >= EPOCH_MS_FROM ? 'ms' : 's'))
    }
    let value: number
    if (unit === 'iso') {
      if (!isDateTime) throw new TraceError(file, line, 'an ISO-8601 date-time, as on the first line', quote(field))
      value = Date.parse(normalizeIso(field))
      if (Number.isNaN(value)) throw new TraceError(file, line, 'a valid ISO-8601 date-time', quote(field))
    } else {
      if (!isNumber) throw new TraceError(file, line, `a number of ${unit === 'ms' ? 'milliseconds' : 'seconds'}, as on the first line`, quote(field))
      value = Number(field) * (unit === 's' ? 1000 : 1)
      if (!Number.isFinite(value)) throw new TraceError(file, line, 'a finite number', quote(field))
    }
    if (value < previous) throw new TraceError(file, line, `times in ascending order (not before ${previousField} on line ${previousLine})`, quote(field))
    if (offsets.length === 0) first = value
    offsets.push(value - first)
    previous = value
    previousField = quote(field)
    previousLine = line
  }
  if (offsets.length === 0) throw new TraceError(file, lines.length, 'at least one request timestamp', header ? 'only a header' : 'an empty file')
  return {file, offsetsMs: Float64Array.from(offsets), unit: unit!, durationMs: offsets[offsets.length - 1]!}
}

/** The first CSV field of a line, unquoted; undefined for a blank line. */
function firstField(line: string): string | undefined {
  if (line.trim() === '') return undefined
  const field = line.split(',', 1)[0]!.trim()
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1).trim() : field
}

function unitOfHeader(name: string): 'ms' | 's' | undefined {
  const lower = name.toLowerCase()
  if (/(?:^|[^a-z])(?:ms|millis|milliseconds?)$/.test(lower)) return 'ms'
  if (/(?:^|[^a-z])(?:s|secs?|seconds?)$/.test(lower)) return 's'
  return undefined
}

/** Date.parse reads a date-time without a zone as local time; a trace means UTC. */
function normalizeIso(field: string): string {
  let iso = field.replace(' ', 'T')
  if (iso.length > 10 && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z'
  return iso
}

const quote = (field: string) => JSON.stringify(field.length > 60 ? field.slice(0, 57) + '...' : field)
