/**
 * Time behind an interface, so the pool and its timers are tested with a fake clock.
 * `now()` is epoch milliseconds with sub-millisecond resolution.
 */
export interface Timer {
  cancel(): void
}

export interface Clock {
  now(): number
  setTimer(callback: () => void, delayMs: number): Timer
}

const origin = performance.timeOrigin

export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, delayMs)
    handle.unref?.()
    return {cancel: () => clearTimeout(handle)}
  },
}

/** A clock that moves only when told to; timers fire in order during advance(). */
export class FakeClock implements Clock {
  private time: number
  private timers: {at: number; callback: () => void; cancelled: boolean}[] = []

  constructor(start = 1_700_000_000_000) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const timer = {at: this.time + delayMs, callback, cancelled: false}
    this.timers.push(timer)
    return {cancel: () => void (timer.cancelled = true)}
  }

  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.time = due.at
      due.cancelled = true
      due.callback()
    }
    this.time = end
    this.timers = this.timers.filter((t) => !t.cancelled)
  }

  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length
  }
}
