/**
 * Prices for `sai recommend --region R [--prices FILE]`: us-east-1 is built in (pricing.ts); any other
 * region comes from a JSON file of the same shape as PriceTable (docs/prices.md), where a tier's
 * `upToGbSeconds` is `null` for "no limit", since JSON has no Infinity.
 */
import {readFileSync} from 'node:fs'
import {z} from 'zod'
import {SaiError} from '../errors/sai-error.js'
import {closestWord} from '../spec/suggest.js'
import {US_EAST_1, type PriceTable} from './pricing.js'

const DOCS = 'docs/prices.md'
const FORMAT_HINT = `the file is JSON: {"region", "perRequest", "durationTiers": {"x86_64": [...], "arm64": [...]}, "provisionedPerGbSecond", "durationWhileProvisionedPerGbSecond", "ephemeralStoragePerGbSecond"}; ${DOCS} has a complete example`

/** USD per GB-second. */
const price = z.number().min(0)
/**
 * USD per request. AWS quotes "$0.20 per 1M requests": 0.2 here would bill each request $0.20, a
 * million times too much, so anything above $0.001 per request is refused as a unit mistake.
 */
const requestPrice = z.number().min(0).max(1e-3)
const tier = z.strictObject({
  upToGbSeconds: z
    .number()
    .positive()
    .nullable()
    .transform((bound) => bound ?? Infinity),
  perGbSecond: price,
})
const tiers = z
  .array(tier)
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((t, i) => {
      const last = i === list.length - 1
      if (last && t.upToGbSeconds !== Infinity) ctx.addIssue({code: 'custom', path: [i, 'upToGbSeconds'], message: 'null: the last tier has no upper bound'})
      if (!last && t.upToGbSeconds === Infinity) ctx.addIssue({code: 'custom', path: [i, 'upToGbSeconds'], message: 'a number of GB-seconds: only the last tier may be null (unbounded)'})
      const previous = list[i - 1]?.upToGbSeconds
      if (previous !== undefined && !last && t.upToGbSeconds <= previous) {
        ctx.addIssue({code: 'custom', path: [i, 'upToGbSeconds'], message: `more than the tier before's ${previous}: tiers ascend`})
      }
    })
  })
const perArchitecture = <T extends z.ZodType>(schema: T) => z.strictObject({x86_64: schema, arm64: schema})

const priceTableSchema = z.strictObject({
  region: z.string().min(1),
  perRequest: requestPrice,
  durationTiers: perArchitecture(tiers),
  provisionedPerGbSecond: perArchitecture(price),
  durationWhileProvisionedPerGbSecond: perArchitecture(price),
  ephemeralStoragePerGbSecond: price,
}) satisfies z.ZodType<PriceTable, unknown>

const FIELDS = Object.keys(priceTableSchema.shape)
const PRICE = 'a price in USD per GB-second: a finite number ≥ 0'
const PER_ARCHITECTURE = 'an object with an x86_64 and an arm64 price (USD per GB-second)'
const TIERS = 'a list of tiers [{"upToGbSeconds": number, "perGbSecond": price}, …], ascending, the last with "upToGbSeconds": null'

/** What a field expects, in words, from where it sits. */
function expectation(keyPath: readonly PropertyKey[]): string {
  const [top, arch, index, leaf] = keyPath
  switch (top) {
    case undefined:
      return `a JSON object with the fields ${FIELDS.join(', ')}`
    case 'region':
      return 'a region name, e.g. "eu-west-1"'
    case 'perRequest':
      return 'a price in USD per request, a number from 0 to 0.001 (us-east-1 is 2e-7: $0.20 per million)'
    case 'ephemeralStoragePerGbSecond':
      return PRICE
    case 'provisionedPerGbSecond':
    case 'durationWhileProvisionedPerGbSecond':
      return arch === undefined ? PER_ARCHITECTURE : PRICE
    case 'durationTiers':
      if (arch === undefined) return 'an object with x86_64 and arm64 tier lists'
      if (index === undefined) return TIERS
      if (leaf === undefined) return 'a tier {"upToGbSeconds": number or null, "perGbSecond": price}'
      return leaf === 'upToGbSeconds' ? 'a number of GB-seconds > 0, or null for the last tier (no limit)' : PRICE
    default:
      return `only the fields ${FIELDS.join(', ')}`
  }
}

const formatPath = (keyPath: readonly PropertyKey[]): string =>
  keyPath.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('') || '(the top level)'

function valueAt(raw: unknown, keyPath: readonly PropertyKey[]): unknown {
  let value = raw
  for (const key of keyPath) value = (value as Record<PropertyKey, unknown> | null | undefined)?.[key]
  return value
}

function describeFound(value: unknown): string {
  if (value === undefined) return 'missing'
  // JSON.parse reads 1e999 as Infinity, which JSON.stringify would print as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : JSON.stringify(value).length <= 60 ? JSON.stringify(value) : `a list of ${value.length}`
  const text = JSON.stringify(value)
  if (typeof value === 'object' && value !== null && text.length > 60) return `an object with fields ${Object.keys(value).join(', ')}`
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** The fields an object at `keyPath` may hold. */
function knownFields(keyPath: readonly PropertyKey[]): string[] {
  if (keyPath.length === 0) return FIELDS
  return keyPath.length === 3 ? ['upToGbSeconds', 'perGbSecond'] : ['x86_64', 'arm64']
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownFields(issue.path)
    return issue.keys.map((key) => {
      const keyPath = [...issue.path, key]
      const suggestion = closestWord(key, known)
      return `${formatPath(keyPath)} is ${describeFound(valueAt(raw, keyPath))}, expected no such field${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: the known fields are ${known.join(', ')}`
    })
  }
  const found = describeFound(valueAt(raw, issue.path))
  const expected = issue.code === 'custom' ? issue.message : expectation(issue.path)
  return [`${formatPath(issue.path)} is ${found}, expected ${expected}`]
}

/** Reads a price table from JSON text; `file` names it in messages. Every problem is listed, with its path. */
export function parsePriceTable(text: string, file: string): PriceTable {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new SaiError('SAI_PRICES_INVALID', `${file}: not valid JSON (${(error as Error).message})`, {hint: FORMAT_HINT})
  }
  const result = priceTableSchema.safeParse(raw)
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => describeIssue(issue, raw))
    throw new SaiError('SAI_PRICES_INVALID', `${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`, {hint: FORMAT_HINT})
  }
  return result.data
}

/**
 * The price table for a region: built in for us-east-1 (and when no region is given), else from
 * `file`. A file always wins over the built-in table, and must be for `region` when both are given.
 */
export function loadPriceTable(options: {region?: string; file?: string}): PriceTable {
  const {region, file} = options
  if (file === undefined) {
    if (region === undefined || region === US_EAST_1.region) return US_EAST_1
    throw new SaiError('SAI_PRICES_MISSING', `no prices for ${region}: only ${US_EAST_1.region} is built in`, {
      hint: `pass --prices FILE with ${region}'s Lambda prices, a JSON file {"region": "${region}", "perRequest": …, "durationTiers": {"x86_64": […], "arm64": […]}, "provisionedPerGbSecond": {…}, "durationWhileProvisionedPerGbSecond": {…}, "ephemeralStoragePerGbSecond": …}; ${DOCS} has a complete example and where to find the numbers`,
    })
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SaiError('SAI_PRICES_INVALID', `${file}: the --prices file cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {hint: FORMAT_HINT})
  }
  const table = parsePriceTable(text, file)
  if (region !== undefined && region !== table.region) {
    throw new SaiError('SAI_PRICES_INVALID', `--region ${region} disagrees with ${file}, whose region is "${table.region}": prices differ by region`, {
      hint: `pass a --prices file for ${region}, or --region ${table.region} (or no --region) to use this one`,
    })
  }
  return table
}
