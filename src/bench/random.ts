/** Seeded randomness for bench: Poisson arrivals and bootstrap resampling are repeatable from a seed. */

export type Rng = () => number

/** A small, fast, seedable PRNG (uniform in [0, 1)): a run's Poisson schedule is repeatable from its seed. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
