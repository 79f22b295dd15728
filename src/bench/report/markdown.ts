/** A Markdown summary of a bench run, for $GITHUB_STEP_SUMMARY (GitHub renders it on the run page). */
import type {BenchResult} from '../result.js'
import {benchTables, type Cell} from './tables.js'

const text = (cell: Cell) => (typeof cell === 'string' ? cell : cell.tone === 'bad' ? `**${cell.text}**` : cell.text).replaceAll('|', '\\|')

export function renderMarkdown(result: BenchResult): string {
  const failed = result.budgets.filter((b) => !b.passed).length + (result.baseline?.checks.filter((c) => c.failed).length ?? 0)
  const verdict = result.interrupted ? '⚠️ interrupted' : failed > 0 ? `❌ ${failed} gate(s) failed` : '✅ all gates passed'
  const {backend, cores, cpuModel} = result.environment
  const where = backend.target
    ? `${result.spec.specPath} on ${backend.name} (${backend.target.endpoint}), client on ${cores} cores (${cpuModel})`
    : `${backend.name} backend on ${cores} cores (${cpuModel})`
  const lines = [`## sai bench: ${result.spec.name} — ${verdict}`, '', `${where}, node ${result.versions.node}`, '']
  for (const table of benchTables(result)) {
    lines.push(`### ${table.title}`, '', `| ${table.head.join(' | ')} |`, `|${table.head.map(() => '---').join('|')}|`)
    for (const row of table.rows) lines.push(`| ${row.map(text).join(' | ')} |`)
    if (table.note) lines.push('', `_${table.note}_`)
    lines.push('')
  }
  return lines.join('\n')
}
