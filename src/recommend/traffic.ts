/**
 * The traffic `sai recommend` sizes for, from one of three inputs: `--rps` (with an optional
 * `--peak-rps`), `--profile FILE` (24 hourly rates) or `--trace FILE` (request timestamps, the CSV
 * `sai bench --trace` replays). All hours are UTC.
 */
import {readFile} from 'node:fs/promises'
import {mulberry32} from '../bench/random.js'
import {readTrace, TraceError, type Trace} from '../bench/load/trace.js'
import {SaiError} from '../errors/sai-error.js'

export interface TrafficProfile {
  source: 'rps' | 'profile' | 'trace'
  /** What the user gave, for display: e.g. "10 req/s mean, 40 peak", "diurnal.json (24 hourly rates, …)", "trace.csv (1,234 requests over 10 min)". */
  description: string
  meanRps: number
  peakRps: number
  /** 24 hourly mean rates in req/s, hour 0 = 00:00 UTC. Flat for --rps alone and for a trace. */
  hourlyRps: number[]
  /** For a trace: the request offsets (ms from the first, ascending) to replay as-is. */
  trace?: {file: string; offsetsMs: Float64Array; durationMs: number}
  /** True when the hourly rates vary enough that a scheduled scaling action pays (max/min of hourlyRps ≥ 1.5, or some hour is 0 while others are not). */
  periodic: boolean
}

const HOURS = 24
const SECONDS_PER_HOUR = 3600
const SECONDS_PER_DAY = HOURS * SECONDS_PER_HOUR
/** Above this a rate is a unit mistake, not traffic: Lambda's default account concurrency is 1,000. */
const ABSURD_RPS = 1e6
/** Hour of the assumed daily peak (UTC) for `--rps` with `--peak-rps`. */
const PEAK_HOUR = 14
const PERIODIC_RATIO = 1.5

const PROFILE_HINT = 'a --profile file is JSON: 24 hourly rates in req/s for 00:00–23:00 UTC, as [r0, …, r23] or {"hourlyRps": [r0, …, r23]}'
const TRACE_HINT = 'one timestamp per line: seconds or milliseconds from the start (say which in a header, e.g. "t_ms"), or ISO-8601 times; see the README'

const rate = new Intl.NumberFormat('en-US', {maximumSignificantDigits: 4})
const count = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0})

function invalid(message: string, hint?: string): SaiError {
  return new SaiError('SAI_RECOMMEND_INPUT_INVALID', message, hint === undefined ? {} : {hint})
}

/** Refuses rates no Lambda function sees: most likely requests per month or per day given as per second. */
function checkNotAbsurd(label: string, value: number, flag: string): void {
  if (value <= ABSURD_RPS) return
  throw invalid(
    `${label} is ${rate.format(value)} req/s, which is absurd for one function: expected at most ${count.format(ABSURD_RPS)} requests per second (Lambda's default account concurrency is 1,000)`,
    `${flag} takes requests per second, not per month or per day: ${count.format(value)} requests a month is ${rate.format(value / (30 * SECONDS_PER_DAY))} req/s, a day ${rate.format(value / SECONDS_PER_DAY)} req/s`,
  )
}

export function isPeriodic(hourlyRps: readonly number[]): boolean {
  const max = Math.max(...hourlyRps)
  const min = Math.min(...hourlyRps)
  if (max === 0) return false
  return min === 0 || max / min >= PERIODIC_RATIO
}

/**
 * Traffic from `--rps MEAN [--peak-rps PEAK]`. Without a peak (or with one equal to the mean) the rate
 * is constant. With a peak above the mean the day's shape is ASSUMED, since two numbers cannot give
 * it: a raised cosine peaking at 14:00 UTC, rate_h = max(0, b + (peak − b)·cos(2π(h − 14)/24)), with
 * the base b solved by bisection so the 24 hourly rates average the mean. `--profile` gives the real
 * shape. Each hour's rate is the curve at the hour's start (h:00), so hour 14 is the peak exactly.
 */
export function trafficFromRates(meanRps: number, peakRps?: number): TrafficProfile {
  if (!Number.isFinite(meanRps) || meanRps <= 0) {
    throw invalid(`--rps ${meanRps}: expected a mean request rate > 0 req/s, found ${meanRps}`, 'e.g. --rps 10 for 10 requests per second on average')
  }
  checkNotAbsurd('--rps', meanRps, '--rps')
  if (peakRps === undefined || peakRps === meanRps) {
    return {source: 'rps', description: `${rate.format(meanRps)} req/s, constant`, meanRps, peakRps: meanRps, hourlyRps: Array<number>(HOURS).fill(meanRps), periodic: false}
  }
  if (!Number.isFinite(peakRps)) throw invalid(`--peak-rps ${peakRps}: expected a finite request rate in req/s, found ${peakRps}`)
  if (peakRps < meanRps) {
    throw invalid(`--peak-rps ${peakRps} is below --rps ${meanRps}: expected the peak to be at least the mean`, 'the peak is the busiest hour\'s rate: give --peak-rps ≥ --rps, or omit it for constant traffic')
  }
  checkNotAbsurd('--peak-rps', peakRps, '--peak-rps')
  // The peak is an hourly mean here: a day averaging `mean` holds at most 24 × mean in one hour.
  if (peakRps > HOURS * meanRps) {
    throw invalid(
      `--peak-rps ${peakRps} is more than 24 × --rps ${meanRps}: expected a peak of at most ${rate.format(HOURS * meanRps)} req/s, since one hour at the peak already averages more than the mean over the day`,
      'the peak is the busiest hour\'s mean rate, not a one-second burst; for bursts, give the real traffic with --trace FILE, or its hourly shape with --profile FILE',
    )
  }
  const hourlyRps = dailyShape(meanRps, peakRps)
  return {
    source: 'rps',
    description: `${rate.format(meanRps)} req/s mean, ${rate.format(peakRps)} peak (assumed daily curve, peak at 14:00 UTC)`,
    meanRps,
    peakRps,
    hourlyRps,
    periodic: isPeriodic(hourlyRps),
  }
}

function cosineDay(base: number, peak: number): number[] {
  return Array.from({length: HOURS}, (_, h) => Math.max(0, base + (peak - base) * Math.cos((2 * Math.PI * (h - PEAK_HOUR)) / HOURS)))
}

const average = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length

/** The raised-cosine day with the given mean and peak; requires mean < peak ≤ 24 × mean. */
function dailyShape(mean: number, peak: number): number[] {
  // The mean of cosineDay grows with the base (each hour's d/db = 1 − cos ≥ 0). At base = peak every
  // hour is the peak; below −29·peak every hour but 14 is clipped to 0 (cos(15°)/(1 − cos(15°)) ≈ 28.3),
  // leaving a mean of peak/24 ≤ mean. So the base lies in [−29·peak, peak].
  let lo = -29 * peak
  let hi = peak
  for (let i = 0; i < 200 && hi - lo > 1e-15 * peak; i++) {
    const mid = (lo + hi) / 2
    const m = average(cosineDay(mid, peak))
    if (Math.abs(m - mean) <= 1e-12 * mean) {
      lo = hi = mid
      break
    }
    if (m < mean) lo = mid
    else hi = mid
  }
  const hourly = cosineDay((lo + hi) / 2, peak)
  hourly[PEAK_HOUR] = peak
  // Absorb the bisection's last rounding into the off-peak hours, so the mean is exact too.
  const others = hourly.reduce((a, b) => a + b, 0) - peak
  const target = HOURS * mean - peak
  if (others > 0) for (let h = 0; h < HOURS; h++) if (h !== PEAK_HOUR) hourly[h] = (hourly[h]! * target) / others
  return hourly
}

/**
 * A `--profile` file: 24 hourly rates in req/s, hour 0 = 00:00 UTC, as a bare JSON array or as
 * `{"hourlyRps": [...]}`. Times are UTC only: a profile in local time must be rotated before use.
 * Any other field (a "timezone", say) is refused rather than silently ignored.
 */
export function parseDailyProfile(text: string, file: string): TrafficProfile {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw invalid(`${file}: not valid JSON (${(error as Error).message})`, PROFILE_HINT)
  }
  let rates: unknown[]
  let name: string
  if (Array.isArray(raw)) {
    rates = raw
    name = ''
  } else if (typeof raw === 'object' && raw !== null && Array.isArray((raw as Record<string, unknown>).hourlyRps)) {
    const extra = Object.keys(raw).filter((key) => key !== 'hourlyRps')
    if (extra.length > 0) {
      throw invalid(`${file}: ${extra.map((key) => `"${key}"`).join(', ')} is not a profile field, expected only "hourlyRps"`, `${PROFILE_HINT}; hours are always UTC`)
    }
    rates = (raw as {hourlyRps: unknown[]}).hourlyRps
    name = 'hourlyRps'
  } else {
    throw invalid(`${file}: expected a JSON array of 24 hourly rates or {"hourlyRps": [...]}, found ${describe(raw)}`, PROFILE_HINT)
  }
  if (rates.length !== HOURS) throw invalid(`${file}: expected 24 hourly rates (00:00–23:00 UTC), found ${rates.length}`, PROFILE_HINT)
  rates.forEach((value, h) => {
    const where = `${name}[${h}] (${String(h).padStart(2, '0')}:00 UTC)`
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw invalid(`${file}: ${where} is ${describe(value)}, expected a rate ≥ 0 req/s`, PROFILE_HINT)
    }
    checkNotAbsurd(`${file}: ${where}`, value, '--profile')
  })
  const hourlyRps = rates as number[]
  const meanRps = average(hourlyRps)
  const peakRps = Math.max(...hourlyRps)
  if (peakRps === 0) throw invalid(`${file}: every hour is 0 req/s: nothing to size`, PROFILE_HINT)
  return {
    source: 'profile',
    description: `${file} (24 hourly rates, mean ${rate.format(meanRps)}, peak ${rate.format(peakRps)} req/s)`,
    meanRps,
    peakRps,
    hourlyRps: [...hourlyRps],
    periodic: isPeriodic(hourlyRps),
  }
}

export async function readDailyProfile(file: string): Promise<TrafficProfile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw invalid(`${file}: the --profile file cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, PROFILE_HINT)
  }
  return parseDailyProfile(text, file)
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return `an object with ${Object.keys(value).length === 0 ? 'no fields' : `fields ${Object.keys(value).join(', ')}`}`
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

/**
 * Traffic from a `--trace` CSV (the format `sai bench --trace` replays). The simulator replays the
 * offsets themselves, so the summary numbers are for display and for the closed-form models:
 * - meanRps = (n − 1) / duration: n requests span n − 1 gaps between the first and the last, so two
 *   requests a second apart are 1 req/s (n / duration would say 2; for long traces they agree);
 * - peakRps = the most requests in any 1-second window, sliding (each window starts at a request, where
 *   the maximum is reached), never below the mean (a trace under a second has no full window);
 * - hourlyRps is flat at the mean and periodic is false: offsets are relative, so no hour of day is known.
 */
export async function trafficFromTrace(file: string): Promise<TrafficProfile> {
  let trace: Trace
  try {
    trace = await readTrace(file)
  } catch (error) {
    if (!(error instanceof TraceError)) throw error
    if (error.expected === 'at least one request timestamp') {
      throw new SaiError('SAI_TRACE_INVALID', `${file}: expected at least two request timestamps, found none (${error.found})`, {hint: TRACE_HINT})
    }
    throw new SaiError('SAI_TRACE_INVALID', error.message, {hint: TRACE_HINT})
  }
  const {offsetsMs, durationMs} = trace
  const n = offsetsMs.length
  if (n < 2) {
    throw new SaiError('SAI_TRACE_INVALID', `${file}: expected at least two request timestamps, found one: a single request spans no time, so it gives no rate`, {hint: TRACE_HINT})
  }
  if (durationMs <= 0) {
    throw new SaiError('SAI_TRACE_INVALID', `${file}: expected requests spread over time, found all ${count.format(n)} at the same instant: a duration of 0 gives no rate`, {
      hint: `${TRACE_HINT}; timestamps in seconds with no header are read as seconds, so check the unit`,
    })
  }
  const meanRps = (n - 1) / (durationMs / 1000)
  const peakRps = Math.max(meanRps, peakInOneSecond(offsetsMs))
  return {
    source: 'trace',
    description: `${file} (${count.format(n)} requests over ${formatDuration(durationMs)})`,
    meanRps,
    peakRps,
    hourlyRps: Array<number>(HOURS).fill(meanRps),
    trace: {file, offsetsMs, durationMs},
    periodic: false,
  }
}

/** The most requests in any window [t, t + 1 s) over ascending times. */
function peakInOneSecond(offsetsMs: Float64Array): number {
  let best = 0
  let end = 0
  for (let start = 0; start < offsetsMs.length; start++) {
    while (end < offsetsMs.length && offsetsMs[end]! < offsetsMs[start]! + 1000) end++
    best = Math.max(best, end - start)
  }
  return best
}

function formatDuration(ms: number): string {
  const seconds = ms / 1000
  if (seconds < 60) return `${rate.format(seconds)} s`
  if (seconds < SECONDS_PER_HOUR) return `${rate.format(seconds / 60)} min`
  if (seconds < 2 * SECONDS_PER_DAY) return `${rate.format(seconds / SECONDS_PER_HOUR)} h`
  return `${rate.format(seconds / SECONDS_PER_DAY)} days`
}

/**
 * Request arrival times in ms from `startSecond` (seconds after 00:00 UTC of day 0), ascending, over
 * `durationSeconds`. For rates: a Poisson process whose rate is hourlyRps of the hour of day (the
 * window may cross hours and wrap past 24 h). Gaps are exponential; at an hour boundary the draw
 * restarts at the boundary with the new rate, which is exact since the exponential is memoryless.
 * Reproducible from `seed`. For a trace: its offsets inside the window, shifted to start at 0 (the
 * trace is not repeated past its end).
 */
export function arrivalTimesMs(profile: TrafficProfile, options: {startSecond: number; durationSeconds: number; seed: number}): Float64Array {
  const {startSecond, durationSeconds, seed} = options
  if (!Number.isFinite(startSecond) || startSecond < 0) throw new RangeError(`startSecond must be a finite number ≥ 0, got ${startSecond}`)
  if (!Number.isFinite(durationSeconds) || durationSeconds < 0) throw new RangeError(`durationSeconds must be a finite number ≥ 0, got ${durationSeconds}`)
  if (profile.trace) {
    const from = startSecond * 1000
    const to = (startSecond + durationSeconds) * 1000
    const offsets = profile.trace.offsetsMs
    const first = lowerBound(offsets, from)
    const end = lowerBound(offsets, to)
    return offsets.slice(first, end).map((t) => t - from)
  }
  const rng = mulberry32(seed)
  let out = new Float64Array(Math.min(1 << 20, Math.max(16, Math.ceil(profile.meanRps * durationSeconds * 1.1))))
  let length = 0
  const endSecond = startSecond + durationSeconds
  for (let hour = Math.floor(startSecond / SECONDS_PER_HOUR); hour * SECONDS_PER_HOUR < endSecond; hour++) {
    const rps = profile.hourlyRps[hour % HOURS]!
    if (rps <= 0) continue
    // Segment bounds relative to startSecond, in seconds.
    const segmentEnd = Math.min(endSecond, (hour + 1) * SECONDS_PER_HOUR) - startSecond
    let t = Math.max(startSecond, hour * SECONDS_PER_HOUR) - startSecond
    for (;;) {
      t += -Math.log(1 - rng()) / rps
      if (t >= segmentEnd) break
      if (length === out.length) {
        const grown = new Float64Array(out.length * 2)
        grown.set(out)
        out = grown
      }
      out[length++] = t * 1000
    }
  }
  return out.slice(0, length)
}

/** The first index whose value is ≥ `value` in an ascending array. */
function lowerBound(values: Float64Array, value: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}
