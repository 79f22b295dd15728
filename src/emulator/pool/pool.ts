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

export interface PoolOptions<E extends PoolMember> {
  clock: Clock
  /** Idle time after which an on-demand environment is reaped; 0 reaps right after each invoke. */
  keepAliveMs: number
  /** Reserved concurrency: both the function's guarantee and its cap. */
  reservedConcurrency?: number
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

  constructor(private readonly options: PoolOptions<E>) {}

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
    let n = 0
    for (const m of this.members) if (m.initType === initType) n++
    return n
  }

  /** Claims one unit of concurrency for an invoke, or says why it is throttled. */
  admit(): Admission {
    const reserved = this.options.reservedConcurrency
    if (reserved !== undefined) {
      if (this.inFlightCount >= reserved) return {ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'}
    } else if (!this.options.accountBudget.take()) {
      return {ok: false, reason: 'ConcurrentInvocationLimitExceeded'}
    }
    this.inFlightCount++
    return {ok: true}
  }

  /** Gives back the unit claimed by `admit`. */
  finish(): void {
    this.inFlightCount--
    if (this.options.reservedConcurrency === undefined) this.options.accountBudget.give()
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
    this.members.add(env)
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
    const at = this.idle.indexOf(env)
    if (at >= 0) this.idle.splice(at, 1)
    this.reapTimers.get(env)?.cancel()
    this.reapTimers.delete(env)
    return true
  }

  /** Removes every idle on-demand environment at once, as if its keep-alive had run out. */
  reapIdle(): E[] {
    const reaped = this.idle.filter((env) => env.initType === 'on-demand')
    for (const env of reaped) this.remove(env)
    return reaped
  }

  /** Every environment, for shutdown. */
  all(): E[] {
    return [...this.members]
  }
}

/** Account concurrency (default 1,000) less what functions reserve, shared by the rest. */
export class AccountConcurrency implements ConcurrencyBudget {
  private used = 0
  constructor(private readonly unreserved: number) {}
  take(): boolean {
    if (this.used >= this.unreserved) return false
    this.used++
    return true
  }
  give(): void {
    this.used--
  }
}
