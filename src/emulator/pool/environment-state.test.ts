import {describe, it, expect} from 'vitest'
import {EnvironmentState, IllegalTransitionError, type EnvironmentStateName} from './environment-state.js'

const STATES: EnvironmentStateName[] = ['Starting', 'Ready', 'Busy', 'InitFailed', 'Stopping', 'Stopped']

/** The documented diagram: every legal move, and nothing else. */
const LEGAL: Record<EnvironmentStateName, EnvironmentStateName[]> = {
  Starting: ['Ready', 'InitFailed', 'Stopping'],
  Ready: ['Busy', 'Stopping'],
  Busy: ['Ready', 'Stopping'],
  InitFailed: ['Stopping'],
  Stopping: ['Stopped'],
  Stopped: [],
}

/** A state machine driven along legal moves to `target`. */
function at(target: EnvironmentStateName): EnvironmentState {
  const path: Record<EnvironmentStateName, EnvironmentStateName[]> = {
    Starting: [],
    Ready: ['Ready'],
    Busy: ['Ready', 'Busy'],
    InitFailed: ['InitFailed'],
    Stopping: ['Stopping'],
    Stopped: ['Stopping', 'Stopped'],
  }
  const state = new EnvironmentState()
  for (const step of path[target]) state.to(step)
  expect(state.name).toBe(target)
  return state
}

describe('EnvironmentState', () => {
  it('starts in Starting, alive', () => {
    const state = new EnvironmentState()
    expect(state.name).toBe('Starting')
    expect(state.alive).toBe(true)
  })

  it('runs a full life: init, two invokes, shutdown', () => {
    const state = new EnvironmentState()
    for (const next of ['Ready', 'Busy', 'Ready', 'Busy', 'Ready', 'Stopping', 'Stopped'] as const) {
      state.to(next)
      expect(state.name).toBe(next)
    }
    expect(state.alive).toBe(false)
  })

  describe.each(STATES)('from %s', (from) => {
    it.each(LEGAL[from])('allows → %s', (to) => {
      const state = at(from)
      expect(state.can(to)).toBe(true)
      state.to(to)
      expect(state.name).toBe(to)
    })

    const illegal = STATES.filter((to) => !LEGAL[from].includes(to))
    it.each(illegal)('refuses → %s with IllegalTransitionError and stays put', (to) => {
      const state = at(from)
      expect(state.can(to)).toBe(false)
      let caught: unknown
      try {
        state.to(to)
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(IllegalTransitionError)
      expect(caught).toMatchObject({name: 'IllegalTransitionError', from, to, message: `illegal environment transition ${from} → ${to}`})
      expect(state.name).toBe(from)
    })
  })

  it('is alive until it starts stopping', () => {
    expect(STATES.filter((s) => at(s).alive)).toEqual(['Starting', 'Ready', 'Busy', 'InitFailed'])
  })

  it('cannot skip Stopping, re-enter Starting, or come back from InitFailed', () => {
    expect(() => at('Busy').to('Stopped')).toThrow(IllegalTransitionError)
    expect(() => at('Ready').to('Starting')).toThrow(IllegalTransitionError)
    expect(() => at('InitFailed').to('Ready')).toThrow(IllegalTransitionError)
    expect(() => at('Starting').to('Busy')).toThrow(IllegalTransitionError)
  })
})
