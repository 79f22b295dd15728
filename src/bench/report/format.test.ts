import {describe, expect, it} from 'vitest'
import {ms, msNumber, msRange, rps, share, usd} from './format.js'

describe('report number formats', () => {
  it('writes dollars to the cent from $1, three significant digits below, never an exponent', () => {
    expect([usd(12.345), usd(1234.5), usd(1), usd(0), usd(-2.5)]).toEqual(['$12.35', '$1,234.50', '$1.00', '$0', '-$2.50'])
    expect([usd(0.0213), usd(0.000251), usd(0.004567), usd(0.0000001234), usd(0.5)]).toEqual(['$0.0213', '$0.000251', '$0.00457', '$0.000000123', '$0.500'])
    // Per-1,000 costs that differ stay apart.
    expect(usd(0.0213)).not.toBe(usd(0.0208))
    expect([usd(undefined), usd(Number.NaN)]).toEqual(['—', '—'])
  })

  it('writes a share as a percentage with two decimals, and a tiny one as "<0.01%"', () => {
    expect([share(0.0123), share(1), share(0), share(0.0001)]).toEqual(['1.23%', '100.00%', '0.00%', '0.01%'])
    expect([share(0.00001), share(1e-12)]).toEqual(['<0.01%', '<0.01%'])
    expect(share(undefined)).toBe('—')
  })

  it('writes latencies with the precision their size deserves, seconds from 10 s', () => {
    expect([ms(0.1234), ms(1.234), ms(12.34), ms(123.4), ms(1234.5), ms(12_345)]).toEqual(['0.123 ms', '1.23 ms', '12.3 ms', '123 ms', '1,235 ms', '12.35 s'])
    expect(msNumber(1234.5)).toBe('1,235')
    expect([msRange(11.94, 13.06), msRange(9000, 12_000), msRange(undefined, 3)]).toEqual(['11.9–13.1 ms', '9,000 ms–12.00 s', '—'])
  })

  it('writes request rates', () => {
    expect([rps(2.5), rps(42.25), rps(1234.4)]).toEqual(['2.50 req/s', '42.3 req/s', '1,234 req/s'])
  })
})
