/** Flag types the commands share: durations ("500ms", "30s", "5m") and comma-separated lists. */
import {Flags} from '@oclif/core'

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/
const UNIT_MS = {ms: 1, s: 1000, m: 60_000, h: 3_600_000} as const

/** Milliseconds from "500ms", "30s", "5m", "1h" or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim())
  if (!match) throw new Error(`expected a duration such as 500ms, 30s, 5m or 1h, found "${text}"`)
  return Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS]
}

export const durationFlag = Flags.custom<number>({parse: async (input) => parseDuration(input)})

export const durationListFlag = Flags.custom<number[]>({parse: async (input) => input.split(',').map(parseDuration)})

/** "512,1024,2048": positive integers within [min, max]. */
export const integerListFlag = (bounds: {min: number; max: number}) =>
  Flags.custom<number[]>({
    parse: async (input) =>
      input.split(',').map((item) => {
        const value = Number(item.trim())
        if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
          throw new Error(`expected a comma-separated list of integers from ${bounds.min} to ${bounds.max}, found "${item.trim()}" in "${input}"`)
        }
        return value
      }),
  })

export const positiveNumberFlag = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`expected a positive number, found "${input}"`)
    return value
  },
})

/** "10%" or "10" → 0.1. */
export const percentFlag = Flags.custom<number>({
  parse: async (input) => {
    const value = Number(input.replace(/%$/, ''))
    if (!Number.isFinite(value) || value < 0) throw new Error(`expected a percentage such as 10%, found "${input}"`)
    return value / 100
  },
})
