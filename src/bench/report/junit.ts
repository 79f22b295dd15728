/** JUnit XML: one test case per budget and per baseline check, so CI systems show each gate. */
import type {BenchResult} from '../result.js'

const escape = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[c]!)

export function renderJunit(result: BenchResult): string {
  const cases: {name: string; failure?: string}[] = []
  for (const b of result.budgets) {
    const actual = b.actual === undefined ? 'not measured' : `${b.actual} ${b.unit}`
    cases.push({
      name: `budget ${b.metric} ${b.bound === 'upper' ? '<=' : '>='} ${b.limit}`,
      failure: b.passed ? undefined : `${b.metric} is ${actual}, the budget is ${b.bound === 'upper' ? 'at most' : 'at least'} ${b.limit}`,
    })
  }
  for (const c of result.baseline?.checks ?? []) {
    cases.push({
      name: `baseline ${c.metric} within +${Math.round(result.baseline!.threshold * 100)}%`,
      failure: c.failed ? `${c.metric} regressed ${((c.ratio - 1) * 100).toFixed(1)}% (95% CI ×${c.ci[0].toFixed(3)}–×${c.ci[1].toFixed(3)}): ${c.baseline} ms → ${c.current} ms` : undefined,
    })
  }
  if (result.interrupted) cases.push({name: 'run completed', failure: 'interrupted (Ctrl-C) before every phase ran'})
  const failures = cases.filter((c) => c.failure !== undefined).length
  const suite = `sai bench ${result.spec.name}`
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="sai bench" tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="${escape(suite)}" tests="${cases.length}" failures="${failures}" timestamp="${result.startedAt}">`,
    ...cases.map((c) =>
      c.failure === undefined
        ? `    <testcase classname="${escape(suite)}" name="${escape(c.name)}"/>`
        : `    <testcase classname="${escape(suite)}" name="${escape(c.name)}">\n      <failure message="${escape(c.failure)}"/>\n    </testcase>`,
    ),
    '  </testsuite>',
    '</testsuites>',
  ]
  return lines.join('\n') + '\n'
}
