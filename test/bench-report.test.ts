/**
 * The HTML bench report, rendered from a realistic result and opened in a real headless Chromium: every
 * chart must be drawn, the page must look like something, and opening it must touch no network.
 */
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type Browser, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BenchResult} from '../src/bench/result.js'
import {cdfPoints, renderHtmlReport} from '../src/bench/report/html.js'
import {syntheticBenchResult} from './fixtures-bench.js'

// The browser side of page.evaluate, declared here: the project compiles without the DOM lib, and adding it would
// change every file's globals.
declare const document: {scripts: {length: number}; documentElement: {scrollWidth: number}}
declare const window: {innerWidth: number}
declare class Image {
  src: string
  readonly width: number
  readonly height: number
  decode(): Promise<void>
}
declare class OffscreenCanvas {
  constructor(width: number, height: number)
  getContext(kind: '2d'): {drawImage(image: Image, x: number, y: number): void; getImageData(x: number, y: number, width: number, height: number): {data: Uint8ClampedArray}} | null
}

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

const result = syntheticBenchResult()

/** What the synthetic result must show: sweeps, and per run a CDF, plus a phase breakdown where there were cold starts. */
function expectedCharts(bench: BenchResult): string[] {
  const perRun = bench.runs.flatMap((run) => [`cdf-${run.id}`, ...(run.phases.some((p) => 'coldStarts' in p && p.coldStarts.length > 0) ? [`cold-phases-${run.id}`] : [])])
  return ['memory-latency', 'memory-cold', 'memory-cost', 'batch-throughput', 'batch-latency', 'batch-cost', ...perRun]
}

const attributes = (html: string, name: string) => [...html.matchAll(new RegExp(`\\s${name}\\s*=\\s*("[^"]*"|'[^']*'|[^\\s>]+)`, 'gi'))].map((m) => m[1]!.replace(/^["']|["']$/g, ''))

describe('HTML bench report (pure)', () => {
  const html = renderHtmlReport(result)

  it('is one self-contained file: nothing it could fetch', () => {
    for (const name of ['src', 'href', 'action', 'srcset', 'xlink:href', 'poster', 'data']) {
      for (const value of attributes(html, name)) expect(value, `${name}="${value}"`).not.toMatch(/^\s*(https?:)?\/\//i)
    }
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i)
    expect(html).not.toMatch(/url\(|@import/i)
    expect(html).not.toMatch(/https?:\/\//i)
  })

  it('escapes text from the result', () => {
    const hostile = syntheticBenchResult({name: '<script>alert(1)</script>'})
    hostile.environment.backend.notes.push('"><img src=x onerror=alert(2)>')
    hostile.runs[0]!.errors.byType['<b>Boom</b>'] = 1
    const page = renderHtmlReport(hostile)
    expect(page).not.toContain('<script>')
    expect(page).not.toContain('<img')
    expect(page).not.toContain('<b>Boom')
    expect(page).toContain('&#60;script&#62;alert(1)&#60;/script&#62;')
    expect(page).toContain('&#60;b&#62;Boom&#60;/b&#62;')
  })

  it('draws every chart the data allows, and omits the others', () => {
    const drawn = attributes(html, 'data-chart').sort()
    expect(drawn).toEqual(expectedCharts(result).sort())
    const baseOnly = {...result, runs: [{...result.runs[0]!, cold: undefined, phases: result.runs[0]!.phases.filter((p) => p.kind === 'closed')}]}
    expect(attributes(renderHtmlReport(baseOnly), 'data-chart')).toEqual(['cdf-base'])
    expect(renderHtmlReport(baseOnly)).toContain('data-series="warm')
    expect(renderHtmlReport(baseOnly)).not.toContain('data-series="cold')
  })

  it('says when the CPU share was not what Lambda would give, and when a run was interrupted', () => {
    const unenforced = renderHtmlReport(syntheticBenchResult({cpuEnforcement: null, interrupted: true}))
    expect(unenforced).toContain('CPU not limited by this backend (Lambda: 0.29 vCPU)')
    expect(unenforced).toContain('Open circles: the CPU share was not enforced')
    expect(unenforced).toContain('Interrupted.')
    expect(html).not.toContain('Open circles')
    expect(html).not.toContain('Interrupted.')
  })

  it('reads the CDF from the HDR histogram: rising from the minimum to the maximum', () => {
    const warm = result.runs[0]!.warm!
    const points = cdfPoints(warm)
    expect(points[0]!.y).toBe(0)
    expect(points.at(-1)!.y).toBe(100)
    expect(points[0]!.x).toBeCloseTo(warm.min, 0)
    expect(points.at(-1)!.x).toBeCloseTo(warm.max, 0)
    for (let i = 1; i < points.length; i++) expect(points[i]!.x).toBeGreaterThanOrEqual(points[i - 1]!.x)
    expect(points.find((p) => p.y === 50)?.x).toBeCloseTo(warm.p50, 0)
    expect(cdfPoints({...warm, hdr: 'not a histogram'})).toEqual([])
  })
})

describe('HTML bench report in Chromium', () => {
  let dir: string
  let file: string
  let launched: Promise<Browser> | undefined
  /** Launched by the first test that needs it, so that a missing Chromium fails each test rather than skipping it. */
  const browser = () =>
    (launched ??= (async () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`).toBe(true)
      return chromium.launch({executablePath: CHROMIUM, args: CHROMIUM_ARGS})
    })())

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sai-report-'))
    file = path.join(dir, 'report.html')
    writeFileSync(file, renderHtmlReport(result))
  })

  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  /** A page on the report that records every request and every console error, and refuses the network. */
  async function openReport(viewport = {width: 1280, height: 900}) {
    const context = await (await browser()).newContext({viewport, serviceWorkers: 'block'})
    const requests: string[] = []
    const attempted: string[] = []
    const problems: string[] = []
    await context.route(/^(https?|wss?):/i, async (route) => {
      attempted.push(route.request().url())
      await route.abort()
    })
    const page = await context.newPage()
    page.on('request', (request) => requests.push(request.url()))
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()))
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(pathToFileURL(file).href, {waitUntil: 'load'})
    return {page, requests, attempted, problems, close: () => context.close()}
  }

  async function checkChart(page: Page, id: string) {
    const chart = page.locator(`[data-chart="${id}"]`)
    expect(await chart.count(), id).toBe(1)
    expect(await chart.isVisible(), `${id} visible`).toBe(true)
    const box = await chart.boundingBox()
    expect(box && box.width > 200 && box.height > 100, `${id} box ${JSON.stringify(box)}`).toBe(true)
    expect(await chart.getAttribute('role')).toBe('img')
    expect(await chart.getAttribute('aria-label')).toBeTruthy()
    // The marks themselves must have area on screen, not just exist in the DOM.
    const marks = await chart.locator('path[data-series], rect, circle').evaluateAll((elements) =>
      elements.map((e) => {
        const r = e.getBoundingClientRect()
        return r.width + r.height
      }),
    )
    expect(marks.filter((size) => size > 1).length, `${id} marks`).toBeGreaterThan(0)
  }

  it('draws every chart, fetches nothing, and renders a real picture', async () => {
    const {page, requests, attempted, problems, close} = await openReport()
    try {
      // The first run and the sweeps are open from the start; the other runs behind a click.
      for (const id of ['cdf-base', 'cold-phases-base', 'memory-latency', 'memory-cold', 'memory-cost', 'batch-throughput', 'batch-latency', 'batch-cost']) await checkChart(page, id)
      const closed = page.locator('details:not([open]) > summary')
      while ((await closed.count()) > 0) await closed.first().click()
      for (const id of expectedCharts(result)) await checkChart(page, id)

      for (const run of result.runs) {
        const cdf = page.locator(`[data-chart="cdf-${run.id}"]`)
        const series = await cdf.locator('path[data-series]').evaluateAll((paths) => paths.map((p) => p.getAttribute('data-series')))
        const legend = await cdf.locator('[data-legend]').evaluateAll((items) => items.map((i) => i.getAttribute('data-legend')))
        expect(series, run.id).toEqual(legend)
        expect(series.map((s) => s!.split(' ')[0]), run.id).toEqual([...(run.cold ? ['cold'] : []), ...(run.warm ? ['warm'] : [])])
      }
      expect(await page.evaluate(() => document.scripts.length)).toBe(0)

      const png = await page.screenshot({fullPage: true, type: 'png'})
      writeFileSync(path.join(dir, 'report.png'), png)
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
      expect(png.length).toBeGreaterThan(100_000)

      await page.waitForLoadState('networkidle')
      expect(requests).toEqual([pathToFileURL(file).href])
      expect(attempted).toEqual([])
      expect(problems).toEqual([])

      const picture = await inspectPng(png)
      expect(picture.height).toBeGreaterThan(3000)
      expect(picture.distinctColors).toBeGreaterThan(50)
      // The series colours themselves, not just text: the cold (red) and warm (blue) curves and the phase bars (violet).
      for (const [name, count] of Object.entries(picture.seriesPixels)) expect(count, name).toBeGreaterThan(200)
    } finally {
      await close()
    }
  })

  it('fits a narrow window without sideways scrolling of the page', async () => {
    const {page, close} = await openReport({width: 420, height: 800})
    try {
      const widths = await page.evaluate(() => ({page: document.documentElement.scrollWidth, window: window.innerWidth}))
      expect(widths.page).toBeLessThanOrEqual(widths.window)
      const box = await page.locator('[data-chart="cdf-base"]').boundingBox()
      expect(box!.width).toBeLessThanOrEqual(420)
      expect(box!.height).toBeGreaterThan(100)
    } finally {
      await close()
    }
  })

  /** Decodes the screenshot in a blank page of the same browser: its size, how many colours, how many pixels of each series colour. */
  async function inspectPng(png: Buffer) {
    const context = await (await browser()).newContext()
    try {
      const page = await context.newPage()
      return await page.evaluate(async (base64) => {
        const image = new Image()
        image.src = `data:image/png;base64,${base64}`
        await image.decode()
        const canvas = new OffscreenCanvas(image.width, image.height)
        const context = canvas.getContext('2d')!
        context.drawImage(image, 0, 0)
        const {data} = context.getImageData(0, 0, image.width, image.height)
        const targets = {cold: [220, 38, 38], warm: [37, 99, 235], init: [124, 58, 237]} as const
        const seriesPixels: Record<string, number> = {cold: 0, warm: 0, init: 0}
        const colors = new Set<number>()
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!]
          colors.add((r << 16) | (g << 8) | b)
          for (const [name, [tr, tg, tb]] of Object.entries(targets)) if (Math.abs(r - tr) + Math.abs(g - tg) + Math.abs(b - tb) < 24) seriesPixels[name]!++
        }
        return {width: image.width, height: image.height, distinctColors: colors.size, seriesPixels}
      }, png.toString('base64'))
    } finally {
      await context.close()
    }
  }
})
