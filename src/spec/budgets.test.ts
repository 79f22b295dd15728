import {describe, it, expect} from 'vitest'
import path from 'node:path'
import os from 'node:os'
import {SaiError} from '../errors/sai-error.js'
import {BudgetSyntaxError, parseBudget, parseBudgetFlag} from './budgets.js'
import {parseSpec} from './load.js'

describe('budgets', () => {
  it('converts limits to the metric unit', () => {
    expect(parseBudget('cold.p99', '1.5s')).toMatchObject({value: 1500, unit: 'ms', bound: 'upper', needs: 'cold'})
    expect(parseBudget('warm.p99.9', '800us').value).toBeCloseTo(0.8)
    expect(parseBudget('warm.p95', 50)).toMatchObject({value: 50, limit: '50ms'})
    expect(parseBudget('errors', '0.1%')).toMatchObject({value: 0.1, unit: '%'})
    expect(parseBudget('memory.max', '1GB').value).toBe(1024)
    expect(parseBudget('throughput', '20 req/s')).toMatchObject({value: 20, bound: 'lower', needs: 'load'})
    expect(parseBudgetFlag('init.p50=300ms')).toMatchObject({metric: 'init.p50', value: 300})
  })

  it('names the metric, what was expected and what was found', () => {
    expect(() => parseBudget('cold.p98', '1s')).toThrow(/unknown budget metric "cold.p98" \(did you mean "cold.p90"\?\); expected cold.<stat>/)
    expect(() => parseBudget('cold.p99', '15 parsecs')).toThrow('expected a number with one of the units us, µs, ms, s (e.g. 1500ms), found "15 parsecs"')
    expect(() => parseBudget('errors', '2ms')).toThrow(/expected .* units %.*found "2ms"/)
    expect(() => parseBudgetFlag('cold.p99')).toThrow(BudgetSyntaxError)
  })

  it('are read from the spec, and a bad one is a spec error with its path', () => {
    const file = path.join(os.tmpdir(), 'sai.yaml')
    const spec = parseSpec({name: 'f', handler: 'x.handler', bootstrap: 'node', budgets: {'cold.p99': '1500ms', errors: '0.1%'}}, file)
    expect(spec.budgets.map((b) => b.metric)).toEqual(['cold.p99', 'errors'])
    try {
      parseSpec({name: 'f', bootstrap: 'node', budgets: {'warm.p95': 'fast'}}, file)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(SaiError)
      expect((error as SaiError).message).toBe(`${file}: budgets.warm.p95: expected a number with one of the units us, µs, ms, s (e.g. 1500ms), found "fast"`)
    }
  })
})
