/** What `sai recommend` decides, as its --json prints it: the recommendation, each alternative, and how each decision was made. */
import type {AlwaysOnComparison, BatchRecommendation, MemoryRecommendation, ProvisionedRecommendation, Risk, ScheduledAction} from './decide.js'
import type {Architecture} from './pricing.js'
import type {TrafficProfile} from './traffic.js'
import type {AppliedChange} from '../spec/apply.js'

/** A decision the results cannot support, and the bench flags that would make it possible. */
export interface MissingMeasurement {
  decision: 'batch' | 'provisioned'
  message: string
  hint?: string
}

/** One configuration and what it projects to: the recommendation, or an alternative to it. */
export interface Candidate {
  memoryMB: number
  batchSize: number
  provisionedConcurrency: number
  monthlyCostUSD: number
  /** Share of requests meeting a cold start (0–1), projected. */
  coldStartRate: number
  /** End-to-end p99, cold starts included, projected, ms. */
  p99Ms: number
  meetsSlo: boolean
  risk: Risk
}

export interface RecommendResult {
  function: string
  benchFiles: string[]
  traffic: Omit<TrafficProfile, 'trace'>
  objectives: {sloP99Ms: number; maxColdRatePct: number; maxErrorRatePct: number; keepAliveSeconds: number}
  architecture: Architecture
  region: string
  freeTier: boolean
  /** The headline: what to configure. Undefined when no configuration was measured well enough to recommend. */
  recommendation?: Candidate & {
    sqs?: {BatchSize: number; MaximumBatchingWindowInSeconds: number}
    autoScaling?: ProvisionedRecommendation['autoScaling']
    schedule?: ScheduledAction[]
    /** The month's cost with the schedule's capacity instead of the flat provisioned concurrency. */
    scheduledMonthlyCostUSD?: number
  }
  /** Every other measured memory size, cheapest first, each with the provisioned concurrency it would need. */
  alternatives: Candidate[]
  memory: MemoryRecommendation
  batch?: BatchRecommendation
  provisioned?: ProvisionedRecommendation
  alwaysOn?: AlwaysOnComparison
  missing: MissingMeasurement[]
  applied?: {specPath: string; changes: AppliedChange[]; written: boolean}
}
