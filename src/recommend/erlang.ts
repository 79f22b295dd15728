/**
 * Erlang-B loss model for sizing provisioned concurrency.
 *
 * Erlang-B describes c servers with no queue: a request that arrives while all c are busy is not
 * delayed, it is "lost" to the system. That is exactly how Lambda treats provisioned concurrency:
 * when all c pre-initialized environments are busy, the invoke does not wait for one, it spills over
 * to an on-demand environment (a cold start, at on-demand prices). So with offered load
 * A = arrival rate × mean duration (in Erlangs: the mean number of busy environments), B(c, A) is the
 * share of requests that miss the provisioned pool. Erlang-C would be wrong here: it assumes blocked
 * requests queue. Erlang-B is also insensitive to the duration distribution (only its mean matters)
 * given Poisson arrivals, which suits inference durations with heavy tails; bursty (non-Poisson)
 * traffic blocks more, which is why the recommender checks this estimate by simulation.
 * (Not every spilled request is a cold start — a warm on-demand environment may serve it — so B is
 * an upper bound on the cold-start share from spillover.)
 */

function checkLoad(offeredLoadErlangs: number): void {
  if (!Number.isFinite(offeredLoadErlangs) || offeredLoadErlangs < 0)
    throw new RangeError(`offered load must be a finite number of Erlangs ≥ 0 (rate/s × mean duration s), got ${offeredLoadErlangs}`)
}

/** Offered load in Erlangs: arrivals per second × mean duration in seconds (Little's law). */
export function offeredLoad(ratePerSecond: number, meanDurationSeconds: number): number {
  const a = ratePerSecond * meanDurationSeconds
  if (!(ratePerSecond >= 0 && meanDurationSeconds >= 0)) throw new RangeError('rate and mean duration must be ≥ 0')
  checkLoad(a)
  return a
}

/**
 * Blocking probability B(servers, A). The textbook formula (A^c/c!) / Σ A^k/k! overflows for A ≈ 170;
 * the recurrence B(k) = A·B(k−1) / (k + A·B(k−1)) stays in [0, 1] at every step, so it is exact to
 * rounding for any load, in O(servers).
 */
export function erlangB(servers: number, offeredLoadErlangs: number): number {
  if (!Number.isInteger(servers) || servers < 0) throw new RangeError(`servers must be an integer ≥ 0, got ${servers}`)
  checkLoad(offeredLoadErlangs)
  let b = 1
  for (let k = 1; k <= servers; k++) b = (offeredLoadErlangs * b) / (k + offeredLoadErlangs * b)
  return b
}

/**
 * The smallest c with B(c, A) ≤ targetBlocking: the provisioned concurrency that keeps the spillover
 * share under the target. B falls monotonically in c, so one pass of the recurrence finds it.
 * No load needs no environments.
 */
export function serversForBlocking(offeredLoadErlangs: number, targetBlocking: number): number {
  checkLoad(offeredLoadErlangs)
  if (!(targetBlocking > 0 && targetBlocking <= 1))
    throw new RangeError(`target blocking must be in (0, 1], got ${targetBlocking}: 0 would need infinitely many environments`)
  if (offeredLoadErlangs === 0) return 0
  let b = 1
  let c = 0
  // Past c ≈ A, B shrinks faster than geometrically, so this ends within a few hundred steps of A
  // for any representable target.
  while (b > targetBlocking) {
    c++
    b = (offeredLoadErlangs * b) / (c + offeredLoadErlangs * b)
  }
  return c
}
