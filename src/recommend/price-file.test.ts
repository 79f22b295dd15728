import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SaiError} from '../errors/sai-error.js'
import {loadPriceTable, parsePriceTable} from './price-file.js'
import {monthlyCost, US_EAST_1} from './pricing.js'

function saiError(fn: () => unknown): SaiError {
  try {
    fn()
  } catch (error) {
    if (error instanceof SaiError) return error
    throw error
  }
  throw new Error('expected a SaiError, nothing was thrown')
}

/** A price table as a file holds it: Infinity (no upper bound) becomes null. */
const toJson = (table: unknown): string => JSON.stringify(table, (_key, value: unknown) => (value === Infinity ? null : value), 2)
const usEast1 = () => JSON.parse(toJson(US_EAST_1)) as Record<string, any>

const dir = mkdtempSync(path.join(tmpdir(), 'sai-prices-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
function file(name: string, text: string): string {
  const full = path.join(dir, name)
  writeFileSync(full, text)
  return full
}

describe('parsePriceTable', () => {
  it('reads back the built-in table, null tier bounds as Infinity', () => {
    const table = parsePriceTable(toJson(US_EAST_1), 'us-east-1.json')
    expect(table).toEqual(US_EAST_1)
    expect(table.durationTiers.x86_64.at(-1)!.upToGbSeconds).toBe(Infinity)
    const usage = {requests: 5e9, gbSeconds: 2e10, architecture: 'arm64' as const, provisioned: {gbSecondsAllocated: 1e6, gbSecondsUsed: 5e5}}
    expect(monthlyCost({...usage, prices: table})).toEqual(monthlyCost(usage))
  })

  it('reads the example in docs/prices.md', () => {
    const doc = readFileSync(new URL('../../docs/prices.md', import.meta.url), 'utf8')
    const example = /```json\n([\s\S]*?)```/.exec(doc)![1]!
    const table = parsePriceTable(example, 'prices.md')
    // pricing.ts computes 0.2 / 1e6, one ulp away from the 2e-7 the example writes.
    expect(table.perRequest).toBeCloseTo(US_EAST_1.perRequest, 20)
    expect({...table, perRequest: 0}).toEqual({...US_EAST_1, perRequest: 0})
  })

  it('takes another region and a single unbounded tier', () => {
    const raw = usEast1()
    raw.region = 'eu-west-1'
    raw.durationTiers.arm64 = [{upToGbSeconds: null, perGbSecond: 0.00001}]
    const table = parsePriceTable(JSON.stringify(raw), 'eu.json')
    expect(table.region).toBe('eu-west-1')
    expect(table.durationTiers.arm64).toEqual([{upToGbSeconds: Infinity, perGbSecond: 0.00001}])
  })

  type Edit = (raw: Record<string, any>) => void
  it.each<[string, Edit, string]>([
    ['a negative price', (r) => (r.perRequest = -1), 'perRequest is -1, expected a price in USD per request, a number from 0 to 0.001 (us-east-1 is 2e-7: $0.20 per million)'],
    ['a price per million', (r) => (r.perRequest = 0.2), 'perRequest is 0.2, expected a price in USD per request'],
    ['a string price', (r) => (r.ephemeralStoragePerGbSecond = '3e-8'), 'ephemeralStoragePerGbSecond is "3e-8", expected a price in USD per GB-second: a finite number ≥ 0'],
    ['an infinite price (1e999)', (r) => (r.provisionedPerGbSecond.arm64 = '__INF__'), 'provisionedPerGbSecond.arm64 is Infinity, expected a price in USD per GB-second'],
    ['a missing architecture', (r) => delete r.durationWhileProvisionedPerGbSecond.arm64, 'durationWhileProvisionedPerGbSecond.arm64 is missing, expected a price in USD per GB-second'],
    ['missing tiers', (r) => delete r.durationTiers.arm64, 'durationTiers.arm64 is missing, expected a list of tiers'],
    ['no tiers', (r) => (r.durationTiers.x86_64 = []), 'durationTiers.x86_64 is an empty list, expected a list of tiers'],
    ['a missing region', (r) => delete r.region, 'region is missing, expected a region name, e.g. "eu-west-1"'],
    ['a numeric region', (r) => (r.region = 1), 'region is 1, expected a region name'],
    ['a bounded last tier', (r) => (r.durationTiers.x86_64[2].upToGbSeconds = 1e12), 'durationTiers.x86_64[2].upToGbSeconds is 1000000000000, expected null: the last tier has no upper bound'],
    ['an unbounded middle tier', (r) => (r.durationTiers.arm64[1].upToGbSeconds = null), 'durationTiers.arm64[1].upToGbSeconds is null, expected a number of GB-seconds: only the last tier may be null (unbounded)'],
    ['tiers out of order', (r) => (r.durationTiers.arm64[1].upToGbSeconds = 7e9), "durationTiers.arm64[1].upToGbSeconds is 7000000000, expected more than the tier before's 7500000000: tiers ascend"],
    ['a zero tier bound', (r) => (r.durationTiers.x86_64[0].upToGbSeconds = 0), 'durationTiers.x86_64[0].upToGbSeconds is 0, expected a number of GB-seconds > 0, or null for the last tier (no limit)'],
    ['a tier without a price', (r) => delete r.durationTiers.x86_64[1].perGbSecond, 'durationTiers.x86_64[1].perGbSecond is missing, expected a price in USD per GB-second'],
    ['a misspelled field', (r) => (r.perRequests = 2e-7), 'perRequests is 2e-7, expected no such field (did you mean "perRequest"?): the known fields are region, perRequest,'],
    ['a misspelled tier field', (r) => (r.durationTiers.arm64[0].upTo = 1), 'durationTiers.arm64[0].upTo is 1, expected no such field: the known fields are upToGbSeconds, perGbSecond'],
    ['an unknown architecture', (r) => (r.provisionedPerGbSecond.aarch64 = 1e-6), 'provisionedPerGbSecond.aarch64 is 0.000001, expected no such field (did you mean "arm64"?): the known fields are x86_64, arm64'],
  ])('refuses %s, naming the field, what it is and what was expected', (_name, edit, message) => {
    const raw = usEast1()
    edit(raw)
    const error = saiError(() => parsePriceTable(JSON.stringify(raw).replace('"__INF__"', '1e999'), 'prices.json'))
    expect(error.code).toBe('SAI_PRICES_INVALID')
    expect(error.message).toContain(`prices.json: ${message}`)
    expect(error.hint).toContain('docs/prices.md')
  })

  it('lists every problem at once', () => {
    const raw = usEast1()
    raw.perRequest = -1
    raw.provisionedPerGbSecond.x86_64 = 'cheap'
    const error = saiError(() => parsePriceTable(JSON.stringify(raw), 'prices.json'))
    expect(error.message).toBe(
      'prices.json: 2 problems:\n' +
        '  - perRequest is -1, expected a price in USD per request, a number from 0 to 0.001 (us-east-1 is 2e-7: $0.20 per million)\n' +
        '  - provisionedPerGbSecond.x86_64 is "cheap", expected a price in USD per GB-second: a finite number ≥ 0',
    )
  })

  it.each([
    ['[1, 2]', 'prices.json: (the top level) is [1,2], expected a JSON object with the fields region, perRequest, durationTiers'],
    ['{"region": "us-east-1", "perR', 'prices.json: not valid JSON ('],
  ])('refuses %s', (text, message) => {
    const error = saiError(() => parsePriceTable(text, 'prices.json'))
    expect(error.code).toBe('SAI_PRICES_INVALID')
    expect(error.message).toContain(message)
  })
})

describe('loadPriceTable', () => {
  it('uses the built-in us-east-1 table without a file', () => {
    expect(loadPriceTable({})).toBe(US_EAST_1)
    expect(loadPriceTable({region: 'us-east-1'})).toBe(US_EAST_1)
  })

  it('refuses another region without a file, saying how to give one', () => {
    const error = saiError(() => loadPriceTable({region: 'eu-west-1'}))
    expect(error.code).toBe('SAI_PRICES_MISSING')
    expect(error.exitCode).toBe(1)
    expect(error.message).toBe('no prices for eu-west-1: only us-east-1 is built in')
    expect(error.hint).toMatch(/^pass --prices FILE with eu-west-1's Lambda prices, a JSON file \{"region": "eu-west-1", "perRequest": …, "durationTiers": /)
    expect(error.hint).toContain('docs/prices.md')
  })

  it('reads a file, for its region or with none given', () => {
    const raw = usEast1()
    raw.region = 'eu-central-1'
    raw.perRequest = 2.5e-7
    const prices = file('eu-central-1.json', JSON.stringify(raw))
    expect(loadPriceTable({file: prices}).perRequest).toBe(2.5e-7)
    expect(loadPriceTable({region: 'eu-central-1', file: prices}).region).toBe('eu-central-1')
  })

  it('refuses a file for another region than --region, naming both', () => {
    const prices = file('us.json', toJson(US_EAST_1))
    const error = saiError(() => loadPriceTable({region: 'ap-south-1', file: prices}))
    expect(error.code).toBe('SAI_PRICES_INVALID')
    expect(error.message).toBe(`--region ap-south-1 disagrees with ${prices}, whose region is "us-east-1": prices differ by region`)
    expect(error.hint).toContain('--region us-east-1')
  })

  it('refuses a file it cannot read or parse', () => {
    const missing = path.join(dir, 'missing.json')
    const unreadable = saiError(() => loadPriceTable({file: missing}))
    expect(unreadable.code).toBe('SAI_PRICES_INVALID')
    expect(unreadable.message).toBe(`${missing}: the --prices file cannot be read (ENOENT)`)
    const notJson = file('prices.yaml', 'region: eu-west-1\n')
    const bad = saiError(() => loadPriceTable({file: notJson}))
    expect(bad.code).toBe('SAI_PRICES_INVALID')
    expect(bad.message).toMatch(/prices\.yaml: not valid JSON \(/)
  })
})
