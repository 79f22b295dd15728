/** What `sai deploy` shows on the terminal (stderr): the plan, field by field, and what was applied. */
import type {Cell, Table} from '../bench/report/tables.js'
import type {DeployResult} from '../services/deploy.js'
import {formatTables} from './bench-output.js'

const show = (value: unknown): string => (value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value))
const TONE = {applied: 'good', unchanged: 'dim', failed: 'bad', 'not attempted': 'warn', skipped: 'dim'} as const

export function deployTables(result: DeployResult): Table[] {
  const rows: Cell[][] = []
  for (const [index, step] of result.plan.steps.entries()) {
    const status = result.steps[index]!
    const changes = step.changes.length > 0 ? step.changes.map((c) => `${c.field}: ${show(c.from)} → ${show(c.to)}`).join('\n') : ''
    rows.push([step.step, step.action, changes || status.detail, {text: result.dryRun && step.action !== 'none' ? 'planned' : status.status, tone: result.dryRun && step.action !== 'none' ? 'warn' : TONE[status.status]}])
  }
  const verdict = result.noOp ? 'no changes: Lambda already matches the spec' : result.dryRun ? 'dry run: nothing was changed' : `deployed${result.version ? ` version ${result.version}` : ''}${result.aliasArn ? ` as ${result.aliasArn}` : ''}`
  return [
    {
      title: `${result.functionName} → ${result.target.endpoint} (${result.target.region}): ${verdict}`,
      head: ['step', 'action', 'what changes', 'status'],
      rows,
      note: [`code: ${result.packageType} ${result.code.imageUri ?? result.code.digest}`, ...result.notes].join('\n'),
    },
  ]
}

export function formatDeploy(result: DeployResult): string {
  return formatTables(deployTables(result))
}
