/**
 * The life of an execution environment as an explicit state machine (after RIE's states.go):
 *
 *   Starting ──first /next──▶ Ready ◀──response/error── Busy
 *      │                        │ ──────dispatch──────▶  │
 *      └──▶ InitFailed          └────────▶ Stopping ◀────┘ ──▶ Stopped
 *
 * Every other move is a bug and throws.
 */
export type EnvironmentStateName = 'Starting' | 'Ready' | 'Busy' | 'InitFailed' | 'Stopping' | 'Stopped'

const ALLOWED: Record<EnvironmentStateName, readonly EnvironmentStateName[]> = {
  Starting: ['Ready', 'InitFailed', 'Stopping'],
  Ready: ['Busy', 'Stopping'],
  Busy: ['Ready', 'Stopping'],
  InitFailed: ['Stopping'],
  Stopping: ['Stopped'],
  Stopped: [],
}

export class IllegalTransitionError extends Error {
  constructor(readonly from: EnvironmentStateName, readonly to: EnvironmentStateName) {
    super(`illegal environment transition ${from} → ${to}`)
    this.name = 'IllegalTransitionError'
  }
}

export class EnvironmentState {
  private current: EnvironmentStateName = 'Starting'

  get name(): EnvironmentStateName {
    return this.current
  }

  can(to: EnvironmentStateName): boolean {
    return ALLOWED[this.current].includes(to)
  }

  to(next: EnvironmentStateName): void {
    if (!this.can(next)) throw new IllegalTransitionError(this.current, next)
    this.current = next
  }

  get alive(): boolean {
    return this.current !== 'Stopping' && this.current !== 'Stopped'
  }
}
