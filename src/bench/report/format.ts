/**
 * How every report writes a number: the terminal tables, the Markdown summary, and the HTML reports
 * of bench and recommend all use these, so a value reads the same wherever it is shown. Pure; a
 * missing or non-finite value is "—".
 */

const MISSING = '—'
const known = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v)

/** Thousands grouped, exactly `digits` decimals. */
export const fixed = (value: number, digits: number): string => value.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits})

/**
 * US dollars: from $1 on, to the cent; below, three significant digits, so that per-1,000 costs which
 * differ never print alike ($0.0213, $0.000251). Never an exponent.
 */
export function usd(v: number | undefined): string {
  if (!known(v)) return MISSING
  if (v === 0) return '$0'
  const abs = Math.abs(v)
  const digits = abs >= 1 ? fixed(abs, 2) : abs.toLocaleString('en-US', {minimumSignificantDigits: 3, maximumSignificantDigits: 3})
  return `${v < 0 ? '-' : ''}$${digits}`
}

/** Milliseconds as a bare number (for a column headed in ms), with the precision a latency deserves at its size. */
export function msNumber(v: number | undefined): string {
  if (!known(v)) return MISSING
  const abs = Math.abs(v)
  return fixed(v, abs < 1 ? 3 : abs < 10 ? 2 : abs < 100 ? 1 : 0)
}

/** A latency with its unit: milliseconds, from 10 s on seconds. */
export const ms = (v: number | undefined): string => (!known(v) ? MISSING : Math.abs(v) >= 10_000 ? `${fixed(v / 1000, 2)} s` : `${msNumber(v)} ms`)

/** An interval of latencies, the unit written once when both ends share it: "11.9–13.1 ms". */
export function msRange(lower: number | undefined, upper: number | undefined): string {
  if (!known(lower) || !known(upper)) return MISSING
  const [a, b] = [ms(lower), ms(upper)]
  const unit = (text: string) => text.slice(text.lastIndexOf(' '))
  return unit(a) === unit(b) ? `${a.slice(0, -unit(a).length)}–${b}` : `${a}–${b}`
}

/** A fraction (0–1) as a percentage with two decimals; a share too small to show as one is "<0.01%", never an exponent. */
export function share(v: number | undefined): string {
  if (!known(v)) return MISSING
  const percent = 100 * v
  return percent > 0 && percent < 0.005 ? '<0.01%' : `${fixed(percent, 2)}%`
}

/** Something per second as a bare number: two decimals below 10, one below 100, none above. */
export function rate(v: number | undefined): string {
  if (!known(v)) return MISSING
  const abs = Math.abs(v)
  return fixed(v, abs < 10 ? 2 : abs < 100 ? 1 : 0)
}

/** Requests per second. */
export const rps = (v: number | undefined): string => (!known(v) ? MISSING : `${rate(v)} req/s`)
