/**
 * When an open model sends: intended send times in ms from the start of the run, ascending,
 * generated lazily so that a long run at a high rate holds one number at a time, not millions.
 *
 * Every schedule is a unit-rate sequence in "operational time" s (0, 1, 2… for constant arrivals,
 * cumulative Exp(1) gaps for Poisson) mapped to wall time through the inverse of the cumulative
 * rate Λ(t): Λ(t) = R·t for a flat rate, R·t²/2D for a ramp from 0 to R over the duration D (k6's
 * ramping-arrival-rate). The same mapping turns a homogeneous Poisson process into the
 * non-homogeneous one of a ramp, so both kinds ramp the same way.
 */

import {mulberry32, type Rng} from '../random.js'

export const DEFAULT_SEED = 1

export interface RateSchedule {
  /** Requests per second (the final rate of a ramp). */
  rate: number
  durationMs: number
  /** Rise linearly from 0 to `rate` over the duration (half as many requests as a flat rate). */
  ramp?: boolean
}

export type ArrivalSpec =
  | ({kind: 'constant'} & RateSchedule)
  | ({kind: 'poisson'; seed?: number; rng?: Rng} & RateSchedule)
  | {kind: 'trace'; offsetsMs: Iterable<number>; durationMs?: number}

export function arrivals(spec: ArrivalSpec): Iterable<number> {
  switch (spec.kind) {
    case 'constant':
      return constantArrivals(spec)
    case 'poisson':
      return poissonArrivals(spec)
    case 'trace':
      return traceArrivals(spec.offsetsMs, spec.durationMs)
  }
}

/** Evenly spaced: the first at 0, then every 1000/rate ms (along the ramp, closer and closer). */
export function* constantArrivals(schedule: RateSchedule): Generator<number, void, undefined> {
  const toWallTime = inverseCumulativeRate(schedule)
  for (let s = 0; ; s++) {
    const t = toWallTime(s)
    if (t >= schedule.durationMs) return
    yield t
  }
}

/** Exponential gaps with mean 1000/rate ms, from a seeded PRNG (or the `rng` given). */
export function* poissonArrivals(schedule: RateSchedule & {seed?: number; rng?: Rng}): Generator<number, void, undefined> {
  const toWallTime = inverseCumulativeRate(schedule)
  const rng = schedule.rng ?? mulberry32(schedule.seed ?? DEFAULT_SEED)
  for (let s = -Math.log(1 - rng()); ; s += -Math.log(1 - rng())) {
    const t = toWallTime(s)
    if (t >= schedule.durationMs) return
    yield t
  }
}

/** Replays offsets (e.g. a parsed trace), cut at `durationMs` when given. */
export function* traceArrivals(offsetsMs: Iterable<number>, durationMs = Infinity): Generator<number, void, undefined> {
  for (const t of offsetsMs) {
    if (t >= durationMs) return
    yield t
  }
}

/** How many arrivals a rate schedule holds (the constant kind exactly; Poisson on average). */
export function expectedArrivals({rate, durationMs, ramp}: RateSchedule): number {
  return (rate * durationMs) / 1000 / (ramp ? 2 : 1)
}

function inverseCumulativeRate({rate, durationMs, ramp}: RateSchedule): (s: number) => number {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number of requests per second, got ${rate}`)
  if (!(durationMs >= 0)) throw new RangeError(`durationMs must be a non-negative number, got ${durationMs}`)
  const perMs = rate / 1000
  if (!ramp) return (s) => s / perMs
  // Λ(t) = perMs·t²/(2D)  ⇒  t = √(2Ds/perMs)
  const scale = (2 * durationMs) / perMs
  return (s) => Math.sqrt(scale * s)
}
