/**
 * Inline SVG charts as strings: the HTML report must render from one file with no script and no
 * network, so charts are drawn here rather than by a charting library in the page. Coordinates are in
 * viewBox units and the root scales to its container; presentation is in attributes (not CSS classes)
 * so a chart also renders when lifted out of the report.
 */

export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'] as const

const TEXT = '#374151'
const MUTED = '#6b7280'
const GRID = '#e5e7eb'
const AXIS = '#9ca3af'
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"'

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export interface Point {
  x: number
  y: number
  /** Drawn as an open circle: a point to read with care (the caption says why). */
  hollow?: boolean
  /** Tooltip text; defaults to "x, y". */
  label?: string
}

export interface Series {
  name: string
  points: Point[]
  color?: string
  dashed?: boolean
  markers?: boolean
}

export interface Axis {
  title: string
  log?: boolean
  /** Forces these ticks (e.g. the memory sizes that were measured) instead of computed ones. */
  ticks?: number[]
  min?: number
  max?: number
  format?: (value: number) => string
}

export interface LineChartOptions {
  id: string
  title: string
  x: Axis
  y: Axis
  width?: number
  height?: number
}

export interface StackedBarOptions {
  id: string
  title: string
  segments: {name: string; color?: string}[]
  bars: {label: string; values: number[]}[]
  x: Axis
  width?: number
}

interface Domain {
  lo: number
  hi: number
  ticks: number[]
  log: boolean
}

export const formatTick = (value: number): string =>
  value.toLocaleString('en-US', {maximumSignificantDigits: Math.abs(value) >= 1000 ? 4 : 3, useGrouping: true})

/** Round steps (1, 2, 2.5, 5 × 10^k) covering [min, max] with about `count` ticks. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min]
  const raw = (max - min) / Math.max(1, count - 1)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude
  const ticks: number[] = []
  for (let t = Math.floor(min / step) * step; t <= Math.ceil(max / step) * step + step / 2; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

/** 1-2-5 ticks per decade inside [min, max]; every integer multiple when a range is too narrow for those. */
export function logTicks(min: number, max: number): number[] {
  const within = (mantissas: number[]) => {
    const ticks: number[] = []
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const t = Number((m * 10 ** e).toPrecision(12))
        if (t >= min && t <= max) ticks.push(t)
      }
    }
    return ticks
  }
  const coarse = within([1, 2, 5])
  return coarse.length >= 3 ? coarse : within([1, 2, 3, 4, 5, 6, 7, 8, 9])
}

function domain(axis: Axis, values: number[]): Domain {
  const usable = axis.log ? values.filter((v) => v > 0) : values
  let lo = axis.min ?? Math.min(...usable, ...(axis.ticks ?? []))
  let hi = axis.max ?? Math.max(...usable, ...(axis.ticks ?? []))
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = axis.log ? [1, 10] : [0, 1]
  if (axis.log) {
    if (hi <= lo) [lo, hi] = [lo / 2, hi * 2]
    // A little room at both ends so the extreme points do not sit on the frame.
    const pad = (Math.log10(hi) - Math.log10(lo)) * 0.04
    if (axis.min === undefined) lo = 10 ** (Math.log10(lo) - pad)
    if (axis.max === undefined) hi = 10 ** (Math.log10(hi) + pad)
    return {lo, hi, ticks: axis.ticks ?? logTicks(lo, hi), log: true}
  }
  if (hi <= lo) hi = lo + (Math.abs(lo) || 1)
  const ticks = axis.ticks ?? niceTicks(lo, hi)
  return axis.ticks ? {lo, hi, ticks, log: false} : {lo: Math.min(lo, ticks[0]!), hi: Math.max(hi, ticks.at(-1)!), ticks, log: false}
}

function mapper({lo, hi, log}: Domain, from: number, to: number): (value: number) => number {
  const [t, a, b] = log ? [Math.log10, Math.log10(lo), Math.log10(hi)] : [(v: number) => v, lo, hi]
  return (value) => from + ((t(value) - a) / (b - a)) * (to - from)
}

const n = (value: number) => (Math.round(value * 10) / 10).toString()

function svgRoot(id: string, title: string, width: number, height: number, body: string): string {
  return (
    `<svg data-chart="${escapeXml(id)}" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${width} ${height}" ` +
    `width="100%" preserveAspectRatio="xMidYMid meet" ${FONT} font-size="12" style="display:block;max-width:${width * 1.5}px;height:auto">` +
    `<title>${escapeXml(title)}</title>${body}</svg>`
  )
}

/** Legend items laid out left to right, wrapping to a new row when the width runs out. */
function legend(items: {name: string; color: string; dashed?: boolean; swatch: 'line' | 'box'}[], left: number, right: number, top: number): {svg: string; height: number} {
  let x = left
  let y = top
  const parts = items.map((item) => {
    const width = 26 + item.name.length * 6.6 + 16
    if (x + width > right && x > left) [x, y] = [left, y + 18]
    const swatch =
      item.swatch === 'line'
        ? `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 18)}" y2="${n(y)}" stroke="${item.color}" stroke-width="2.5"${item.dashed ? ' stroke-dasharray="5 3"' : ''}/>`
        : `<rect x="${n(x)}" y="${n(y - 5)}" width="14" height="10" rx="2" fill="${item.color}"/>`
    const part = `<g data-legend="${escapeXml(item.name)}">${swatch}<text x="${n(x + 24)}" y="${n(y + 4)}" fill="${TEXT}">${escapeXml(item.name)}</text></g>`
    x += width
    return part
  })
  return {svg: parts.join(''), height: y - top + 18}
}

type Frame = {left: number; right: number; top: number; bottom: number}
type Placed = {domain: Domain; map: (value: number) => number}

function axes(x: Placed, y: Placed | undefined, frame: Frame, xAxis: Axis, yAxis?: Axis): string {
  const fx = xAxis.format ?? formatTick
  let out = ''
  for (const t of x.domain.ticks) {
    const px = n(x.map(t))
    out += `<line x1="${px}" y1="${frame.top}" x2="${px}" y2="${frame.bottom}" stroke="${GRID}"/>`
    out += `<text x="${px}" y="${frame.bottom + 16}" text-anchor="middle" fill="${MUTED}">${escapeXml(fx(t))}</text>`
  }
  out += `<line x1="${frame.left}" y1="${frame.bottom}" x2="${frame.right}" y2="${frame.bottom}" stroke="${AXIS}"/>`
  out += `<text x="${n((frame.left + frame.right) / 2)}" y="${frame.bottom + 36}" text-anchor="middle" fill="${TEXT}" font-weight="600">${escapeXml(xAxis.title)}</text>`
  if (y && yAxis) {
    const fy = yAxis.format ?? formatTick
    for (const t of y.domain.ticks) {
      const py = n(y.map(t))
      out += `<line x1="${frame.left}" y1="${py}" x2="${frame.right}" y2="${py}" stroke="${GRID}"/>`
      out += `<text x="${frame.left - 8}" y="${py}" dy="4" text-anchor="end" fill="${MUTED}">${escapeXml(fy(t))}</text>`
    }
    out += `<line x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.bottom}" stroke="${AXIS}"/>`
    const cy = n((frame.top + frame.bottom) / 2)
    out += `<text x="14" y="${cy}" transform="rotate(-90 14 ${cy})" text-anchor="middle" fill="${TEXT}" font-weight="600">${escapeXml(yAxis.title)}</text>`
  }
  return out
}

/** Several series on shared axes; each series is one `<path data-series>`. Points that cannot be placed (≤ 0 on a log axis) are dropped. */
export function lineChart(series: Series[], options: LineChartOptions): string {
  const width = options.width ?? 580
  const height = options.height ?? 330
  const placeable = (p: Point) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!options.x.log || p.x > 0) && (!options.y.log || p.y > 0)
  const drawn = series.map((s, i) => ({...s, color: s.color ?? PALETTE[i % PALETTE.length]!, points: s.points.filter(placeable)}))
  const all = drawn.flatMap((s) => s.points)
  const fx = options.x.format ?? formatTick
  const fy = options.y.format ?? formatTick
  const yDomain = domain(options.y, all.map((p) => p.y))
  // Room on the left for the widest tick label and the rotated axis title.
  const left = 34 + Math.max(...yDomain.ticks.map((t) => fy(t).length)) * 6.4
  const key = legend(drawn.map((s) => ({name: s.name, color: s.color, dashed: s.dashed, swatch: 'line' as const})), left, width - 16, 14)
  const frame = {left, right: width - 16, top: 14 + key.height + 4, bottom: height - 46}
  const xDomain = domain(options.x, all.map((p) => p.x))
  const x = {domain: xDomain, map: mapper(xDomain, frame.left, frame.right)}
  const y = {domain: yDomain, map: mapper(yDomain, frame.bottom, frame.top)}
  let body = axes(x, y, frame, options.x, options.y) + key.svg
  for (const s of drawn) {
    if (s.points.length === 0) continue
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(x.map(p.x))} ${n(y.map(p.y))}`).join('')
    body += `<path data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`
    if (s.markers) {
      for (const p of s.points) {
        const fill = p.hollow ? '#fff' : s.color
        body += `<circle cx="${n(x.map(p.x))}" cy="${n(y.map(p.y))}" r="4" fill="${fill}" stroke="${s.color}" stroke-width="2"><title>${escapeXml(p.label ?? `${s.name}: ${fx(p.x)}, ${fy(p.y)}`)}</title></circle>`
      }
    }
  }
  return svgRoot(options.id, options.title, width, height, body)
}

/** Horizontal bars split into consecutive segments (e.g. the phases of a cold start), each with a tooltip. */
export function stackedBarChart(options: StackedBarOptions): string {
  const width = options.width ?? 580
  const colors = options.segments.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!)
  const labelWidth = Math.min(160, 12 + Math.max(0, ...options.bars.map((b) => b.label.length)) * 6.6)
  const key = legend(options.segments.map((s, i) => ({name: s.name, color: colors[i]!, swatch: 'box' as const})), labelWidth, width - 16, 14)
  const barHeight = 16
  const gap = 7
  const top = 14 + key.height + 6
  const frame = {left: labelWidth, right: width - 56, top, bottom: top + options.bars.length * (barHeight + gap) + gap}
  const height = frame.bottom + 46
  const totals = options.bars.map((b) => b.values.reduce((sum, v) => sum + Math.max(0, v), 0))
  const xDomain = domain({...options.x, min: 0}, [0, ...totals])
  const x = {domain: xDomain, map: mapper(xDomain, frame.left, frame.right)}
  const fx = options.x.format ?? formatTick
  let body = axes(x, undefined, frame, options.x) + key.svg
  options.bars.forEach((bar, row) => {
    const y = frame.top + gap + row * (barHeight + gap)
    body += `<text x="${frame.left - 8}" y="${n(y + barHeight / 2)}" dy="4" text-anchor="end" fill="${TEXT}">${escapeXml(bar.label)}</text>`
    let start = 0
    bar.values.forEach((value, i) => {
      if (!(value > 0)) return
      const [x0, x1] = [x.map(start), x.map(start + value)]
      const tip = `${bar.label} · ${options.segments[i]?.name ?? ''}: ${fx(value)}`
      body += `<rect x="${n(x0)}" y="${y}" width="${n(Math.max(0.5, x1 - x0))}" height="${barHeight}" fill="${colors[i]}"><title>${escapeXml(tip)}</title></rect>`
      start += value
    })
    body += `<text x="${n(x.map(start) + 5)}" y="${n(y + barHeight / 2)}" dy="4" fill="${MUTED}" font-size="11">${escapeXml(fx(totals[row]!))}</text>`
  })
  return svgRoot(options.id, options.title, width, height, body)
}
