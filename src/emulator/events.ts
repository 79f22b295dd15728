/** Typed events the emulator emits; `sai emulate` prints them and `sai bench` consumes them in-process. */
import type {ColdStartMarks, InitType, StopReason} from './environment.js'
import type {ReportFields} from './report.js'

export interface EnvironmentEvent {
  functionName: string
  envId: string
  initType: InitType
  at: number
}

export type InvokeStatus = 'success' | 'function-error' | 'timeout' | 'crash' | 'out-of-memory' | 'init-error'

export interface InvokeEndEvent {
  functionName: string
  requestId: string
  invocationType: 'RequestResponse' | 'Event'
  envId: string
  initType: InitType
  /** This invoke started its environment. */
  cold: boolean
  status: InvokeStatus
  errorType?: string
  /** When the invoke reached the emulator, and when its answer was ready (epoch ms). */
  arrivedAt: number
  endedAt: number
  /** Cold starts only: spawn → process start → runtime ready → init done → first response. */
  coldStart?: ColdStartMarks & {firstResponse: number}
  report: ReportFields
}

export interface EmulatorEventMap {
  'environment-spawned': [EnvironmentEvent]
  'environment-ready': [EnvironmentEvent & {initDurationMs: number; marks: ColdStartMarks}]
  'environment-stopped': [EnvironmentEvent & {reason: StopReason; invocations: number}]
  'invoke-start': [{functionName: string; requestId: string; invocationType: 'RequestResponse' | 'Event'; at: number}]
  'invoke-end': [InvokeEndEvent]
  'invoke-throttled': [{functionName: string; requestId: string; reason: string; at: number}]
  /** A line of a function's log: its own output, or a platform line (START, END, REPORT, INIT_*). */
  log: [{functionName: string; envId?: string; requestId?: string; line: string; source: 'function' | 'platform'}]
}
