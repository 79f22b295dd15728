/** What `sai bench` shows on the terminal (stderr): a live progress bar, then its tables. */
import {chalkStderr as chalk} from 'chalk'
import Table from 'cli-table3'
import type {Cell, Table as TableModel} from '../bench/report/tables.js'

const TONES = {good: chalk.green, bad: chalk.red.bold, warn: chalk.yellow, dim: chalk.dim} as const

const paint = (cell: Cell) => (typeof cell === 'string' ? cell : TONES[cell.tone](cell.text))

export function formatTables(tables: TableModel[]): string {
  return tables
    .map((model) => {
      // No rule between rows: a table of numbers reads better dense.
      const table = new Table({head: model.head.map((h) => chalk.bold(h)), style: {head: [], border: []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
      for (const row of model.rows) table.push(row.map(paint))
      return [chalk.bold.cyan(model.title), table.toString(), model.note ? chalk.dim(wrap(model.note, 110)) : ''].filter(Boolean).join('\n')
    })
    .join('\n\n')
}

/** Wraps each paragraph (a line of `text`) at `width`, breaking between words. */
function wrap(text: string, width: number): string {
  return text
    .split('\n')
    .map((paragraph) => {
      const lines: string[] = []
      let line = ''
      for (const word of paragraph.split(' ')) {
        if (line && line.length + word.length + 1 > width) {
          lines.push(line)
          line = word
        } else line = line ? `${line} ${word}` : word
      }
      if (line) lines.push(line)
      return lines.join('\n')
    })
    .join('\n')
}

export interface ProgressUpdate {
  /** "base · burst ×10 · cold" */
  label: string
  done: number
  total: number
}

/**
 * One line redrawn in place on a terminal (at most 10 times a second); elsewhere (CI logs) one line
 * when a step starts and when it ends, so logs stay readable.
 */
export class ProgressBar {
  private last = 0
  private label?: string
  private finished?: string
  private readonly startedAt = Date.now()
  private readonly tty: boolean

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = stream.isTTY === true
  }

  update({label, done, total}: ProgressUpdate): void {
    const now = Date.now()
    if (!this.tty) {
      if (label !== this.label) this.stream.write(`${label}...\n`)
      if (done === total && this.finished !== label) {
        this.stream.write(`${label}: done\n`)
        this.finished = label
      }
      this.label = label
      return
    }
    if (now - this.last < 100 && done !== total && label === this.label) return
    this.last = now
    this.label = label
    const width = 24
    const filled = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0
    const bar = chalk.cyan('█'.repeat(filled)) + chalk.dim('░'.repeat(width - filled))
    const elapsed = ((now - this.startedAt) / 1000).toFixed(0)
    this.stream.write(`\r\x1b[K${bar} ${done}/${total} ${label} ${chalk.dim(`${elapsed}s`)}`)
  }

  /** A line of its own above the bar. */
  log(message: string): void {
    this.stream.write(this.tty ? `\r\x1b[K${message}\n` : `${message}\n`)
  }

  stop(): void {
    if (this.tty) this.stream.write('\r\x1b[K')
  }
}
