import {describe, it, expect} from 'vitest'
import {FakeClock} from '../clock.js'
import {AccountConcurrency, FunctionConcurrency, FunctionPool, type ConcurrencyBudget, type PoolMember} from './pool.js'

type Env = PoolMember
const onDemand = (id: string): Env => ({id, initType: 'on-demand'})
const provisioned = (id: string): Env => ({id, initType: 'provisioned-concurrency'})

function setup(options: {keepAliveMs?: number; reservedConcurrency?: number; accountBudget?: ConcurrencyBudget} = {}) {
  const clock = new FakeClock()
  const reaped: string[] = []
  const pool = new FunctionPool<Env>({
    clock,
    keepAliveMs: options.keepAliveMs ?? 60_000,
    reservedConcurrency: options.reservedConcurrency,
    accountBudget: options.accountBudget ?? new AccountConcurrency(1000),
    onReap: (env) => reaped.push(env.id),
  })
  /** Adds envs as if each had just served an invoke and released it, in order. */
  const serve = (...envs: Env[]) => envs.forEach((env) => (pool.add(env), pool.release(env)))
  return {clock, reaped, pool, serve}
}

describe('FunctionPool.takeIdle', () => {
  it('returns nothing when no environment is idle', () => {
    const {pool} = setup()
    pool.add(onDemand('busy'))
    expect(pool.takeIdle()).toBeUndefined()
  })

  it('prefers a provisioned environment over more recently released on-demand ones', () => {
    const {pool, serve} = setup()
    serve(onDemand('a'), provisioned('p'), onDemand('b'))
    expect(pool.takeIdle()?.id).toBe('p')
    expect(pool.takeIdle()?.id).toBe('b')
    expect(pool.takeIdle()?.id).toBe('a')
    expect(pool.takeIdle()).toBeUndefined()
    expect(pool.size).toBe(3)
  })

  it('takes the most recently released on-demand environment first', () => {
    const {pool, serve} = setup()
    serve(onDemand('a'), onDemand('b'), onDemand('c'))
    const c = pool.takeIdle()!
    expect(c.id).toBe('c')
    pool.release(onDemand('stranger')) // not a member: ignored
    expect(pool.idleCount).toBe(2)
    pool.release(c)
    expect(pool.takeIdle()?.id).toBe('c')
  })
})

describe('FunctionPool reaping', () => {
  it('reaps an idle on-demand environment after keepAliveMs', () => {
    const {pool, serve, clock, reaped} = setup({keepAliveMs: 1000})
    serve(onDemand('a'))
    clock.advance(999)
    expect(reaped).toEqual([])
    expect(pool.idleCount).toBe(1)
    clock.advance(1)
    expect(reaped).toEqual(['a'])
    expect(pool.size).toBe(0)
    expect(pool.idleCount).toBe(0)
    expect(pool.takeIdle()).toBeUndefined()
  })

  it('cancels the reap when the environment is taken, and restarts it on the next release', () => {
    const {pool, serve, clock, reaped} = setup({keepAliveMs: 1000})
    serve(onDemand('a'))
    clock.advance(600)
    const env = pool.takeIdle()!
    expect(clock.pendingTimers).toBe(0)
    clock.advance(5000)
    expect(reaped).toEqual([])
    pool.release(env)
    clock.advance(999)
    expect(reaped).toEqual([])
    clock.advance(1)
    expect(reaped).toEqual(['a'])
  })

  it('with keepAliveMs 0 reaps an on-demand environment right on release', () => {
    const {pool, serve, clock, reaped} = setup({keepAliveMs: 0})
    serve(onDemand('a'))
    expect(reaped).toEqual(['a'])
    expect(pool.size).toBe(0)
    expect(pool.idleCount).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })

  it('never reaps provisioned environments', () => {
    for (const keepAliveMs of [0, 1000]) {
      const {pool, serve, clock, reaped} = setup({keepAliveMs})
      serve(provisioned('p'))
      clock.advance(24 * 3600_000)
      expect(reaped).toEqual([])
      expect(pool.countByType('provisioned-concurrency')).toBe(1)
      expect(pool.takeIdle()?.id).toBe('p')
    }
  })

  it('removing an idle environment cancels its reap', () => {
    const {pool, serve, clock, reaped} = setup({keepAliveMs: 1000})
    const a = onDemand('a')
    serve(a, onDemand('b'))
    pool.remove(a)
    clock.advance(1000)
    expect(reaped).toEqual(['b'])
    expect(pool.all()).toEqual([])
  })
})

describe('FunctionPool.admit', () => {
  it('throttles beyond reservedConcurrency until an invoke finishes', () => {
    const {pool} = setup({reservedConcurrency: 2, accountBudget: new AccountConcurrency(0)})
    expect(pool.admit()).toEqual({ok: true})
    expect(pool.admit()).toEqual({ok: true})
    expect(pool.admit()).toEqual({ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'})
    expect(pool.inFlight).toBe(2)
    pool.finish()
    expect(pool.inFlight).toBe(1)
    expect(pool.admit()).toEqual({ok: true})
  })

  it('with reservedConcurrency 0 throttles every invoke', () => {
    const {pool} = setup({reservedConcurrency: 0})
    expect(pool.admit()).toEqual({ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'})
    expect(pool.inFlight).toBe(0)
  })

  it('without reserved concurrency, shares the account budget between functions', () => {
    const account = new AccountConcurrency(2)
    const a = setup({accountBudget: account}).pool
    const b = setup({accountBudget: account}).pool
    expect(a.admit().ok).toBe(true)
    expect(b.admit().ok).toBe(true)
    expect(a.admit()).toEqual({ok: false, reason: 'ConcurrentInvocationLimitExceeded'})
    expect(b.admit()).toEqual({ok: false, reason: 'ConcurrentInvocationLimitExceeded'})
    a.finish()
    expect(b.admit()).toEqual({ok: true})
    expect(b.inFlight).toBe(2)
    expect(a.inFlight).toBe(0)
  })

  it('a function with reserved concurrency does not use the account budget', () => {
    const account = new AccountConcurrency(1)
    const reserved = setup({reservedConcurrency: 5, accountBudget: account}).pool
    const other = setup({accountBudget: account}).pool
    for (let i = 0; i < 5; i++) expect(reserved.admit().ok).toBe(true)
    reserved.finish()
    expect(other.admit().ok).toBe(true)
    expect(other.admit().ok).toBe(false)
  })
})

describe('FunctionConcurrency: one function, several versions', () => {
  const pools = (concurrency: FunctionConcurrency, account: AccountConcurrency) =>
    [1, 2].map(() => new FunctionPool<Env>({clock: new FakeClock(), keepAliveMs: 1000, concurrency, accountBudget: account, onReap: () => {}}))

  it('caps the versions together at the function\'s reserved concurrency', () => {
    const [v1, v2] = pools(new FunctionConcurrency(2), new AccountConcurrency(0))
    expect(v1!.admit().ok).toBe(true)
    expect(v2!.admit().ok).toBe(true)
    expect(v1!.admit()).toEqual({ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'})
    v2!.finish()
    expect(v1!.admit().ok).toBe(true)
    expect(v1!.inFlight).toBe(2)
  })

  it('reserved concurrency set while invokes run: they count against it, and the account gets its units back', () => {
    const fn = new FunctionConcurrency()
    const account = new AccountConcurrency(3)
    const [v1] = pools(fn, account)
    expect(v1!.admit().ok).toBe(true)
    expect(v1!.admit().ok).toBe(true)
    fn.reserved = 2
    account.resize(1)
    expect(v1!.admit()).toEqual({ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'})
    v1!.finish()
    v1!.finish()
    // Both units went back to the account: its one unreserved unit is free for another function.
    const other = setup({accountBudget: account}).pool
    expect(other.admit().ok).toBe(true)
    expect(other.admit().ok).toBe(false)
    expect(v1!.admit().ok).toBe(true)
  })
})

describe('FunctionPool.removeIdle', () => {
  it('removes up to max idle environments that match, least recently used first', () => {
    const {pool, serve} = setup()
    serve(provisioned('p1'), onDemand('a'), provisioned('p2'), provisioned('p3'))
    expect(pool.removeIdle((e) => e.initType === 'provisioned-concurrency', 2).map((e) => e.id)).toEqual(['p1', 'p2'])
    expect(pool.size).toBe(2)
    expect(pool.takeIdle()?.id).toBe('p3')
  })
})

describe('FunctionPool.reapIdle', () => {
  it('removes idle on-demand environments only, and cancels their keep-alive timers', () => {
    const {pool, serve, clock, reaped} = setup({keepAliveMs: 1000})
    serve(onDemand('a'), provisioned('p'), onDemand('b'))
    pool.add(onDemand('busy'))
    expect(pool.reapIdle().map((e) => e.id)).toEqual(['a', 'b'])
    expect(pool.size).toBe(2)
    expect(pool.takeIdle()?.id).toBe('p')
    clock.advance(5000)
    expect(reaped).toEqual([])
  })
})
