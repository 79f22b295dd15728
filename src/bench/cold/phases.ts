/** The cold-start phases: a burst from zero, a series of forced cold starts, and idle-gap probes. */
import {setTimeout as sleep} from 'node:timers/promises'
import {distribution, PhaseRecorder, type InvokeRecords, type Tally} from '../collect.js'
import type {PhaseInvoker} from '../invoker.js'
import type {BurstPhase, ColdSeriesPhase, IdleGapsPhase} from '../result.js'

/** The function's environments, as far as a phase controls them. */
export interface Environments {
  /** No warm environment is left for the next invoke: the emulator reaps its idle ones; Lambda gets a new configuration. */
  retire(): Promise<void>
  /** Idle environments may go (the emulator stops them; on Lambda nothing is done). */
  release(): Promise<void>
}

export interface PhaseContext {
  functionName: string
  environments: Environments
  invoker: PhaseInvoker
  events: InvokeRecords
  /** The run's tally, which every phase also feeds. */
  run: Tally
  signal: AbortSignal
  progress(done: number, total: number): void
}

/** N concurrent invokes from zero environments (N cold starts), then the same N again, warm. */
export async function burst(ctx: PhaseContext, size: number): Promise<BurstPhase> {
  await ctx.environments.retire()
  const recorder = new PhaseRecorder(ctx.events, ctx.run)
  let unexpectedWarm = 0
  let done = 0
  for (const round of ['cold', 'warm'] as const) {
    if (ctx.signal.aborted) break
    const outcomes = await Promise.all(
      Array.from({length: size}, async (_, slot) => {
        const outcome = await ctx.invoker.invoke(slot)
        ctx.progress(++done, 2 * size)
        return outcome
      }),
    )
    for (const outcome of outcomes) {
      if (!outcome) continue
      const event = recorder.record(outcome)
      if (round === 'cold' && event && !event.cold) unexpectedWarm++
    }
  }
  const {tally} = recorder
  return {
    kind: 'burst',
    size,
    ...recorder.base(),
    cold: distribution(tally.cold),
    warm: distribution(tally.warm),
    coldStarts: tally.coldStarts,
    unexpectedWarm,
  }
}

/** K cold starts one after another, each in a fresh environment: the clean cold-start distribution. */
export async function coldSeries(ctx: PhaseContext, samples: number): Promise<ColdSeriesPhase> {
  const recorder = new PhaseRecorder(ctx.events, ctx.run)
  for (let i = 0; i < samples && !ctx.signal.aborted; i++) {
    // Awaited, so the previous environment's teardown does not overlap the next cold start.
    await ctx.environments.retire()
    const outcome = await ctx.invoker.invoke()
    if (outcome) recorder.record(outcome)
    ctx.progress(i + 1, samples)
  }
  await ctx.environments.release()
  const {tally} = recorder
  return {kind: 'cold-series', ...recorder.base(), cold: distribution(tally.cold), coldStarts: tally.coldStarts}
}

/** One invoke after each idle gap, on an environment that was warm before it: when keep-alive expires. */
export async function idleGaps(ctx: PhaseContext, gapsMs: number[], keepAliveSeconds: number | undefined): Promise<IdleGapsPhase> {
  const recorder = new PhaseRecorder(ctx.events, ctx.run)
  const probes: IdleGapsPhase['probes'] = []
  // One warm environment to start from; this invoke is measured like any other but is not a probe.
  const first = await ctx.invoker.invoke()
  if (first) recorder.record(first)
  for (const [i, gapMs] of gapsMs.entries()) {
    try {
      await sleep(gapMs, undefined, {signal: ctx.signal})
    } catch {
      break
    }
    const outcome = await ctx.invoker.invoke()
    if (!outcome) break
    const event = recorder.record(outcome)
    probes.push({
      gapMs,
      cold: event?.cold ?? false,
      latencyMs: Math.round(outcome.latencyMs * 1000) / 1000,
      initDurationMs: event?.report.initDurationMs,
      outcome: event ? (event.status === 'success' ? 'success' : event.errorType ?? event.status) : outcome.errorType ?? `Http.${outcome.status}`,
    })
    ctx.progress(i + 1, gapsMs.length)
  }
  return {kind: 'idle-gaps', ...recorder.base(), keepAliveSeconds, probes}
}
