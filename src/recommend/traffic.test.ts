import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SaiError} from '../errors/sai-error.js'
import {arrivalTimesMs, parseDailyProfile, readDailyProfile, trafficFromRates, trafficFromTrace, type TrafficProfile} from './traffic.js'

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)
const mean = (values: readonly number[]) => sum(values) / values.length

/** Runs `fn`, expecting a SaiError; returns it for assertions on code, message and hint. */
async function saiError(fn: () => unknown): Promise<SaiError> {
  try {
    await fn()
  } catch (error) {
    if (error instanceof SaiError) return error
    throw error
  }
  throw new Error('expected a SaiError, nothing was thrown')
}

const dir = mkdtempSync(path.join(tmpdir(), 'sai-traffic-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
function file(name: string, text: string): string {
  const full = path.join(dir, name)
  writeFileSync(full, text)
  return full
}

describe('trafficFromRates', () => {
  it('is flat without a peak', () => {
    const t = trafficFromRates(10)
    expect(t).toMatchObject({source: 'rps', meanRps: 10, peakRps: 10, periodic: false})
    expect(t.hourlyRps).toEqual(Array(24).fill(10))
    expect(t.trace).toBeUndefined()
    expect(trafficFromRates(10, 10).hourlyRps).toEqual(Array(24).fill(10))
  })

  it.each([
    [10, 15],
    [10, 20],
    [1, 2],
    [3, 40],
    [1, 20],
    [1, 23.99],
  ])('shapes a day with mean %d and peak %d exactly, peaking at 14:00 UTC', (m, p) => {
    const t = trafficFromRates(m, p)
    expect(t.hourlyRps).toHaveLength(24)
    expect(Math.abs(mean(t.hourlyRps) - m) / m).toBeLessThan(1e-9)
    expect(Math.max(...t.hourlyRps)).toBe(p)
    expect(t.hourlyRps[14]).toBe(p)
    expect(t.hourlyRps.every((r) => r >= 0)).toBe(true)
    expect(t.hourlyRps.indexOf(p)).toBe(14)
    expect(t).toMatchObject({meanRps: m, peakRps: p, periodic: true})
    // Symmetric about the peak, falling away from it.
    for (let d = 1; d < 12; d++) {
      expect(t.hourlyRps[14 - d]).toBeCloseTo(t.hourlyRps[(14 + d) % 24]!, 9)
      expect(t.hourlyRps[14 - d]).toBeLessThanOrEqual(t.hourlyRps[14 - d + 1]!)
    }
  })

  it('keeps every hour busy when the peak is at most twice the mean', () => {
    const t = trafficFromRates(10, 20)
    // b = mean when peak = 2·mean: the cosine never clips.
    expect(Math.min(...t.hourlyRps)).toBeGreaterThan(0)
    expect(t.hourlyRps[2]).toBeCloseTo(0, 9)
    const gentle = trafficFromRates(10, 13)
    expect(Math.min(...gentle.hourlyRps)).toBeCloseTo(7, 9)
    expect(gentle.periodic).toBe(true)
    expect(trafficFromRates(10, 11).periodic).toBe(false)
  })

  it('leaves the night at 0 req/s when the peak is far above the mean', () => {
    const t = trafficFromRates(1, 20)
    const zero = t.hourlyRps.filter((r) => r === 0).length
    expect(zero).toBeGreaterThanOrEqual(12)
    expect(t.hourlyRps[2]).toBe(0)
    expect(t.periodic).toBe(true)
  })

  it('puts the whole day in the peak hour when the peak is 24 × the mean', () => {
    const t = trafficFromRates(1, 24)
    expect(t.hourlyRps[14]).toBe(24)
    expect(sum(t.hourlyRps)).toBe(24)
  })

  it.each([
    [0, undefined, /^--rps 0: expected a mean request rate > 0 req\/s, found 0$/],
    [-2, undefined, /^--rps -2: .*found -2/],
    [Number.NaN, undefined, /^--rps NaN: .*found NaN/],
    [Infinity, undefined, /^--rps Infinity: .*found Infinity/],
    [10, 5, /^--peak-rps 5 is below --rps 10: expected the peak to be at least the mean$/],
    [10, Number.NaN, /^--peak-rps NaN: expected a finite request rate/],
    [1, 50, /^--peak-rps 50 is more than 24 × --rps 1: expected a peak of at most 24 req\/s/],
  ])('refuses --rps %d --peak-rps %d', async (m, p, message) => {
    const error = await saiError(() => trafficFromRates(m, p))
    expect(error.code).toBe('SAI_RECOMMEND_INPUT_INVALID')
    expect(error.message).toMatch(message)
  })

  it('refuses absurd rates, saying the flag takes requests per second', async () => {
    const error = await saiError(() => trafficFromRates(2_592_000_000))
    expect(error.code).toBe('SAI_RECOMMEND_INPUT_INVALID')
    expect(error.message).toMatch(/^--rps is 2,592,000,000 req\/s, which is absurd .* at most 1,000,000 requests per second \(Lambda's default account concurrency is 1,000\)/)
    expect(error.hint).toMatch(/--rps takes requests per second, not per month or per day: 2,592,000,000 requests a month is 1,000 req\/s, a day 30,000 req\/s/)
    const peak = await saiError(() => trafficFromRates(10, 2e6))
    expect(peak.message).toMatch(/^--peak-rps is 2,000,000 req\/s, which is absurd/)
    expect(trafficFromRates(1e6).meanRps).toBe(1e6)
  })
})

describe('daily profiles', () => {
  const day = Array.from({length: 24}, (_, h) => (h >= 8 && h < 20 ? 30 : 6))

  it('reads a bare array of 24 rates', () => {
    const t = parseDailyProfile(JSON.stringify(day), 'diurnal.json')
    expect(t).toMatchObject({source: 'profile', meanRps: 18, peakRps: 30, periodic: true, hourlyRps: day})
    expect(t.description).toBe('diurnal.json (24 hourly rates, mean 18, peak 30 req/s)')
  })

  it('reads {"hourlyRps": [...]}', async () => {
    const t = await readDailyProfile(file('diurnal.json', JSON.stringify({hourlyRps: day})))
    expect(t.hourlyRps).toEqual(day)
    expect(t.meanRps).toBe(18)
  })

  it('is periodic when an hour is idle and others are not, flat-ish otherwise', () => {
    const night = [0, ...Array(23).fill(1)]
    expect(parseDailyProfile(JSON.stringify(night), 'p.json').periodic).toBe(true)
    const mild = [...Array(12).fill(10), ...Array(12).fill(14)]
    expect(parseDailyProfile(JSON.stringify(mild), 'p.json').periodic).toBe(false)
    const strong = [...Array(12).fill(10), ...Array(12).fill(15)]
    expect(parseDailyProfile(JSON.stringify(strong), 'p.json').periodic).toBe(true)
  })

  const withHour = (h: number, value: unknown) => day.map((r, i) => (i === h ? value : r))
  it.each([
    ['{"hourlyRps": [1, 2', /^diurnal\.json: not valid JSON \(/],
    ['"ten"', /^diurnal\.json: expected a JSON array of 24 hourly rates or \{"hourlyRps": \[\.\.\.\]\}, found "ten"$/],
    ['{"rates": []}', /found an object with fields rates$/],
    ['null', /found null$/],
    [JSON.stringify(Array(12).fill(1)), /^diurnal\.json: expected 24 hourly rates \(00:00–23:00 UTC\), found 12$/],
    [JSON.stringify({hourlyRps: withHour(7, -3)}), /^diurnal\.json: hourlyRps\[7\] \(07:00 UTC\) is -3, expected a rate ≥ 0 req\/s$/],
    [JSON.stringify(withHour(23, '5')), /^diurnal\.json: \[23\] \(23:00 UTC\) is "5", expected a rate ≥ 0 req\/s$/],
    [JSON.stringify(withHour(0, null)), /^diurnal\.json: \[0\] \(00:00 UTC\) is null, expected/],
    [JSON.stringify(withHour(3, 5e6)), /^diurnal\.json: \[3\] \(03:00 UTC\) is 5,000,000 req\/s, which is absurd/],
    [JSON.stringify(Array(24).fill(0)), /^diurnal\.json: every hour is 0 req\/s: nothing to size$/],
    [JSON.stringify({hourlyRps: day, timezone: 'Europe/Paris'}), /^diurnal\.json: "timezone" is not a profile field, expected only "hourlyRps"$/],
  ])('refuses %s', async (text, message) => {
    const error = await saiError(() => parseDailyProfile(text, 'diurnal.json'))
    expect(error.code).toBe('SAI_RECOMMEND_INPUT_INVALID')
    expect(error.message).toMatch(message)
    expect(error.hint).toMatch(/24 hourly rates|takes requests per second/)
  })

  it('says when the file cannot be read', async () => {
    const missing = path.join(dir, 'nope.json')
    const error = await saiError(() => readDailyProfile(missing))
    expect(error.code).toBe('SAI_RECOMMEND_INPUT_INVALID')
    expect(error.message).toBe(`${missing}: the --profile file cannot be read (ENOENT)`)
  })
})

describe('traces', () => {
  it('summarizes a CSV trace: mean over the gaps, peak in a sliding second', async () => {
    // 11 requests over 10 s, with a burst of 4 inside one second that straddles a whole-second boundary.
    const times = [0, 1, 2, 3, 4.6, 4.8, 5.2, 5.4, 7, 8, 10]
    const csv = file('trace.csv', `t_s,path\n${times.map((t) => `${t},/x`).join('\n')}\n`)
    const t = await trafficFromTrace(csv)
    expect(t.source).toBe('trace')
    expect(t.meanRps).toBe(1)
    expect(t.peakRps).toBe(4)
    expect(t.hourlyRps).toEqual(Array(24).fill(1))
    expect(t.periodic).toBe(false)
    expect(t.trace?.file).toBe(csv)
    expect(t.trace?.durationMs).toBe(10_000)
    expect([...t.trace!.offsetsMs]).toEqual(times.map((s) => s * 1000))
    expect(t.description).toBe(`${csv} (11 requests over 10 s)`)
  })

  it('describes long traces in minutes and keeps the peak at least the mean', async () => {
    const csv = file('minutes.csv', 't_ms\n' + Array.from({length: 1234}, (_, i) => `${(i * 600_000) / 1233}`).join('\n'))
    const t = await trafficFromTrace(csv)
    expect(t.description).toBe(`${csv} (1,234 requests over 10 min)`)
    const short = await trafficFromTrace(file('short.csv', 'ms\n0\n100\n200\n'))
    expect(short.meanRps).toBe(10)
    expect(short.peakRps).toBe(10)
  })

  it.each([
    ['empty.csv', '', /empty\.csv: expected at least two request timestamps, found none \(an empty file\)$/],
    ['header.csv', 't_ms\n', /header\.csv: expected at least two request timestamps, found none \(only a header\)$/],
    ['one.csv', '12.5\n', /one\.csv: expected at least two request timestamps, found one: a single request spans no time/],
    ['instant.csv', '3\n3\n3\n', /instant\.csv: expected requests spread over time, found all 3 at the same instant: a duration of 0 gives no rate$/],
    ['backwards.csv', '3\n2\n', /backwards\.csv:2: expected times in ascending order/],
  ])('refuses %s with SAI_TRACE_INVALID', async (name, text, message) => {
    const error = await saiError(() => trafficFromTrace(file(name, text)))
    expect(error.code).toBe('SAI_TRACE_INVALID')
    expect(error.message).toMatch(message)
    expect(error.hint).toMatch(/one timestamp per line/)
  })

  it('refuses a missing file with SAI_TRACE_INVALID', async () => {
    const error = await saiError(() => trafficFromTrace(path.join(dir, 'missing.csv')))
    expect(error.code).toBe('SAI_TRACE_INVALID')
    expect(error.message).toMatch(/missing\.csv: expected a readable CSV file .*ENOENT/)
  })
})

describe('arrivalTimesMs', () => {
  const flat = trafficFromRates(20)

  it('draws Poisson arrivals at the profile rate, ascending, inside the window', () => {
    const arrivals = arrivalTimesMs(flat, {startSecond: 0, durationSeconds: 10_000, seed: 1})
    // Expected 200,000 ± 447 (1 sd): 2 % is over 8 sd.
    expect(Math.abs(arrivals.length - 200_000) / 200_000).toBeLessThan(0.02)
    expect(arrivals.every((t, i) => i === 0 || t >= arrivals[i - 1]!)).toBe(true)
    expect(arrivals[0]!).toBeGreaterThanOrEqual(0)
    expect(arrivals[arrivals.length - 1]!).toBeLessThan(10_000_000)
    // Exponential gaps: the mean gap is 1/rate and the coefficient of variation is 1.
    const gaps = Array.from(arrivals.subarray(1), (t, i) => t - arrivals[i]!)
    const gapMean = mean(gaps)
    const sd = Math.sqrt(mean(gaps.map((g) => (g - gapMean) ** 2)))
    expect(gapMean).toBeCloseTo(50, 0)
    expect(sd / gapMean).toBeCloseTo(1, 1)
  })

  it('is reproducible from its seed', () => {
    const options = {startSecond: 100, durationSeconds: 60, seed: 42}
    const a = arrivalTimesMs(flat, options)
    expect(arrivalTimesMs(flat, options)).toEqual(a)
    expect(arrivalTimesMs(flat, {...options, seed: 43})).not.toEqual(a)
  })

  it('follows the hourly rates across hour boundaries and past midnight', () => {
    const rates = Array(24).fill(1)
    rates[0] = 0
    rates[1] = 10
    rates[23] = 5
    const profile = parseDailyProfile(JSON.stringify(rates), 'p.json')
    const arrivals = arrivalTimesMs(profile, {startSecond: 0, durationSeconds: 7200, seed: 7})
    expect(arrivals[0]!).toBeGreaterThanOrEqual(3_600_000)
    expect(Math.abs(arrivals.length - 36_000) / 36_000).toBeLessThan(0.03)
    // 23:00 → 02:00 of the next day: 5 req/s, then nothing, then 10 req/s.
    const wrapped = arrivalTimesMs(profile, {startSecond: 23 * 3600, durationSeconds: 3 * 3600, seed: 7})
    const inHour = (k: number) => wrapped.filter((t) => t >= k * 3_600_000 && t < (k + 1) * 3_600_000).length
    expect(inHour(1)).toBe(0)
    expect(Math.abs(inHour(0) - 18_000) / 18_000).toBeLessThan(0.04)
    expect(Math.abs(inHour(2) - 36_000) / 36_000).toBeLessThan(0.03)
    // A window starting mid-hour, on day 3.
    const mid = arrivalTimesMs(profile, {startSecond: 3 * 86_400 + 1800, durationSeconds: 3600, seed: 7})
    expect(mid.filter((t) => t < 1_800_000).length).toBe(0)
    expect(Math.abs(mid.length - 18_000) / 18_000).toBeLessThan(0.04)
  })

  it('follows a shaped day: the busiest hour gets the peak rate', () => {
    const shaped = trafficFromRates(2, 10)
    const day = arrivalTimesMs(shaped, {startSecond: 0, durationSeconds: 86_400, seed: 3})
    expect(Math.abs(day.length - 2 * 86_400) / (2 * 86_400)).toBeLessThan(0.02)
    const peakHour = day.filter((t) => t >= 14 * 3_600_000 && t < 15 * 3_600_000).length
    expect(Math.abs(peakHour - 36_000) / 36_000).toBeLessThan(0.03)
  })

  it('returns nothing for an empty window', () => {
    expect(arrivalTimesMs(flat, {startSecond: 5, durationSeconds: 0, seed: 1})).toHaveLength(0)
  })

  it('replays a trace window as is, shifted to 0, without repeating it', () => {
    const offsetsMs = Float64Array.from([0, 500, 1000, 1999, 2000, 2500, 4000])
    const traced: TrafficProfile = {source: 'trace', description: 't', meanRps: 1.5, peakRps: 3, hourlyRps: Array(24).fill(1.5), trace: {file: 't.csv', offsetsMs, durationMs: 4000}, periodic: false}
    expect([...arrivalTimesMs(traced, {startSecond: 1, durationSeconds: 1, seed: 9})]).toEqual([0, 999])
    expect([...arrivalTimesMs(traced, {startSecond: 0, durationSeconds: 100, seed: 9})]).toEqual([...offsetsMs])
    expect(arrivalTimesMs(traced, {startSecond: 5, durationSeconds: 100, seed: 9})).toHaveLength(0)
  })
})
