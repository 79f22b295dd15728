/**
 * A function's environments: which one serves the next invoke, when a new one is needed, when an
 * invoke is throttled, and when an idle one is reaped. Pure bookkeeping over a clock, so it is
 * unit-tested with a fake one; spawning and stopping are the caller's.
 */
import type {ThrottleReason} from '../invoke-api/aws-errors.js'
import type {Clock, Timer} from '../clock.js'

export interface PoolMember {
  readonly id: string
  readonly initType: 'on-demand' | 'provisioned-concurrency'
}

export interface ConcurrencyBudget {
  /** Takes one unit of unreserved account concurrency; false when none is left. */
  take(): boolean
  give(): void
}

/**
 * A function's own concurrency, shared by the pools of all its versions: reserved concurrency is a
 * guarantee and a cap for the function as a whole, and may change while invokes run.
 */
export class FunctionConcurrency {
  inFlight = 0
  /** Units taken from the account's unreserved budget and not yet given back (they are fungible). */
  fromAccount = 0
  constructor(public reserved?: number) {}
}

export interface PoolOptions<E extends PoolMember> {
  clock: Clock
  /** Idle time after which an on-demand environment is reaped; 0 reaps right after each invoke. */
  keepAliveMs: number
  /** Reserved concurrency: both the function's guarantee and its cap (ignored when `concurrency` is given). */
  reservedConcurrency?: number
  /** The function's concurrency, when several pools (its versions) share it. */
  concurrency?: FunctionConcurrency
  /** Shared by every function without reserved concurrency. */
  accountBudget: ConcurrencyBudget
  onReap(env: E): void
}

export type Admission = {ok: true} | {ok: false; reason: ThrottleReason}

export class FunctionPool<E extends PoolMember> {
  private readonly members = new Set<E>()
  /** Idle environments, most recently used last. */
  private readonly idle: E[] = []
  private readonly reapTimers = new Map<E, Timer>()
  private inFlightCount = 0
  private readonly concurrency: FunctionConcurrency
  /** Members by init type, kept as they join and leave: countByType is O(1) (release asks it every invoke). */
  private onDemandCount = 0
  private provisionedCount = 0

  constructor(private readonly options: PoolOptions<E>) {
    this.concurrency = options.concurrency ?? new FunctionConcurrency(options.reservedConcurrency)
  }

  get inFlight(): number {
    return this.inFlightCount
  }

  get size(): number {
    return this.members.size
  }

  get idleCount(): number {
    return this.idle.length
  }

  countByType(initType: PoolMember['initType']): number {
    return initType === 'provisioned-concurrency' ? this.provisionedCount : this.onDemandCount
  }

  /** Claims one unit of concurrency for an invoke, or says why it is throttled. */
  admit(): Admission {
    const fn = this.concurrency
    if (fn.reserved !== undefined) {
      if (fn.inFlight >= fn.reserved) return {ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'}
    } else if (this.options.accountBudget.take()) {
      fn.fromAccount++
    } else {
      return {ok: false, reason: 'ConcurrentInvocationLimitExceeded'}
    }
    fn.inFlight++
    this.inFlightCount++
    return {ok: true}
  }

  /** Gives back the unit claimed by `admit`. */
  finish(): void {
    this.inFlightCount--
    const fn = this.concurrency
    fn.inFlight--
    if (fn.fromAccount > 0) {
      fn.fromAccount--
      this.options.accountBudget.give()
    }
  }

  /**
   * An idle environment for an admitted invoke: a provisioned one first (that is what they are
   * for), else the most recently used, so surplus environments age out and get reaped.
   */
  takeIdle(): E | undefined {
    let index = -1
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if (this.idle[i]!.initType === 'provisioned-concurrency') {
        index = i
        break
      }
    }
    if (index < 0) index = this.idle.length - 1
    if (index < 0) return undefined
    const [env] = this.idle.splice(index, 1)
    this.reapTimers.get(env!)?.cancel()
    this.reapTimers.delete(env!)
    return env
  }

  /** Registers a new environment (busy with the invoke that started it, or starting as provisioned). */
  add(env: E): void {
    if (this.members.has(env)) return
    this.members.add(env)
    if (env.initType === 'provisioned-concurrency') this.provisionedCount++
    else this.onDemandCount++
  }

  /** An environment finished an invoke, healthy: it waits for the next, or is reaped after keep-alive. */
  release(env: E): void {
    if (!this.members.has(env)) return
    if (env.initType === 'on-demand' && this.options.keepAliveMs === 0) {
      this.remove(env)
      this.options.onReap(env)
      return
    }
    this.idle.push(env)
    if (env.initType === 'on-demand') {
      this.reapTimers.set(
        env,
        this.options.clock.setTimer(() => {
          this.remove(env)
          this.options.onReap(env)
        }, this.options.keepAliveMs),
      )
    }
  }

  /** Forgets an environment (it died, timed out, or is being reaped); false if it was not a member. */
  remove(env: E): boolean {
    if (!this.members.delete(env)) return false
    if (env.initType === 'provisioned-concurrency') this.provisionedCount--
    else this.onDemandCount--
    const at = this.idle.indexOf(env)
    if (at >= 0) this.idle.splice(at, 1)
    this.reapTimers.get(env)?.cancel()
    this.reapTimers.delete(env)
    return true
  }

  /** Removes every idle on-demand environment at once, as if its keep-alive had run out. */
  reapIdle(): E[] {
    return this.removeIdle((env) => env.initType === 'on-demand')
  }

  /** Removes up to `max` idle environments that match, least recently used first. */
  removeIdle(matches: (env: E) => boolean, max = Infinity): E[] {
    const removed = this.idle.filter(matches).slice(0, max)
    for (const env of removed) this.remove(env)
    return removed
  }

  /** Every environment, for shutdown. */
  all(): E[] {
    return [...this.members]
  }

  /** Every environment, without a copy: not to be changed while iterated. */
  each(): Iterable<E> {
    return this.members
  }
}

/** Account concurrency (default 1,000) less what functions reserve, shared by the rest. */
export class AccountConcurrency implements ConcurrencyBudget {
  private used = 0
  constructor(private unreserved: number) {}
  /** Reserved concurrency changed: units already in use stay in use. */
  resize(unreserved: number): void {
    this.unreserved = unreserved
  }
  take(): boolean {
    if (this.used >= this.unreserved) return false
    this.used++
    return true
  }
  give(): void {
    this.used--
  }
}
