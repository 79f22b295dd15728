/**
 * `sai recommend --html`: the recommendation made by the real service from a realistic bench result,
 * rendered into the bench report and opened in a real headless Chromium: its section and charts must be
 * drawn, and opening it must touch no network.
 */
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {renderRecommendationSection} from '../src/bench/report/recommend-html.js'
import {recommend, type RecommendResult} from '../src/services/recommend.js'
import {renderRecommendReport} from '../src/services/recommend-report.js'
import {syntheticBenchResult} from './fixtures-bench.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

const bench = syntheticBenchResult()

describe('sai recommend --html in Chromium', () => {
  let dir: string
  let file: string
  let result: RecommendResult
  let page: string
  let launched: Promise<Browser> | undefined
  /** Launched by the first test that needs it, so that a missing Chromium fails each test rather than skipping it. */
  const browser = () =>
    (launched ??= (async () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`).toBe(true)
      return chromium.launch({executablePath: CHROMIUM, args: CHROMIUM_ARGS})
    })())

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sai-recommend-report-'))
    const benchFile = path.join(dir, 'bench.json')
    writeFileSync(benchFile, JSON.stringify(bench))
    result = await recommend({benchPaths: [benchFile], rps: 10, peakRps: 40, sloP99Ms: 500, maxColdRatePct: 1, keepAliveSeconds: 300})
    file = path.join(dir, 'report.html')
    // One bench file: the merged result is that file's runs, so the synthetic object itself is the bench.
    page = renderRecommendReport(bench, result)
    writeFileSync(file, page)
  })

  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('keeps the report self-contained: the same CSP, no script', () => {
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`)
    expect(page).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i)
    expect(page).not.toMatch(/https?:\/\//i)
    expect(page.indexOf('id="recommendation"')).toBeLessThan(page.indexOf('id="runs"'))
  })

  it('says why a chart is missing, and escapes text from the result', () => {
    const hint = 'run sai bench with a warm load phase (--connections C --duration D, or --rate R) and --json FILE'
    const without = renderRecommendationSection({
      ...result,
      function: '<img src=x onerror=alert(1)>',
      provisioned: undefined,
      alwaysOn: undefined,
      missing: [{decision: 'provisioned', message: 'the bench results hold no usable warm measurements at 2048 MB', hint}],
    })
    expect(without).not.toContain('<img')
    expect(without).toContain('&#60;img src=x')
    expect(without).not.toContain('data-chart="recommend-provisioned-cold"')
    expect(without).toContain('data-chart="recommend-memory-cost"')
    expect(without).toContain('usable warm measurements at 2048 MB')
    expect(without).toContain('--connections C --duration D')
  })

  it('shows the recommendation with its charts, fetches nothing', async () => {
    expect(result.recommendation, JSON.stringify(result.missing)).toBeDefined()
    const context = await (await browser()).newContext({viewport: {width: 1280, height: 900}, serviceWorkers: 'block'})
    const requests: string[] = []
    const attempted: string[] = []
    const problems: string[] = []
    try {
      await context.route(/^(https?|wss?):/i, async (route) => {
        attempted.push(route.request().url())
        await route.abort()
      })
      const tab = await context.newPage()
      tab.on('request', (request) => requests.push(request.url()))
      tab.on('console', (message) => message.type() === 'error' && problems.push(message.text()))
      tab.on('pageerror', (error) => problems.push(error.message))
      await tab.goto(pathToFileURL(file).href, {waitUntil: 'load'})

      const section = tab.locator('section#recommendation')
      expect(await section.isVisible()).toBe(true)
      const link = tab.locator('nav a[href="#recommendation"]')
      expect(await link.count()).toBe(1)
      expect(await link.textContent()).toBe('Recommendation')
      expect(await tab.locator('nav a').first().getAttribute('href')).toBe('#recommendation')

      const charts = section.locator('svg')
      expect(await charts.count()).toBeGreaterThanOrEqual(2)
      for (const id of ['recommend-memory-cost', 'recommend-provisioned-cold']) expect(await section.locator(`svg[data-chart="${id}"]`).count(), id).toBe(1)
      for (let i = 0; i < (await charts.count()); i++) {
        const chart = charts.nth(i)
        expect(await chart.isVisible(), `chart ${i} visible`).toBe(true)
        const box = await chart.boundingBox()
        expect(box && box.width > 100 && box.height > 50, `chart ${i} box ${JSON.stringify(box)}`).toBe(true)
      }

      const headline = await section.locator('table.headline').innerText()
      expect(headline).toContain(`${result.recommendation!.memoryMB} MB`)
      expect(headline).toContain(`BatchSize ${result.recommendation!.sqs!.BatchSize}`)

      await tab.waitForLoadState('networkidle')
      expect(requests).toEqual([pathToFileURL(file).href])
      expect(attempted).toEqual([])
      expect(problems).toEqual([])
    } finally {
      await context.close()
    }
  })
})
