/**
 * The shape STYLE.md asks for: no import cycles, imports point downward, the function runtime stands
 * alone (it ships inside images), and every error code is documented.
 */
import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import madge from 'madge'
import {describe, expect, it} from 'vitest'
import {ERROR_CODES} from '../src/errors/codes.js'
import {ROOT} from './helpers.js'

const SRC = path.join(ROOT, 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(full)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : []
  })
}

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'|import\('([^']+)'\)/gm)].map((m) => m[1] ?? m[2]!)

describe('architecture', () => {
  it('has no import cycles', async () => {
    const graph = await madge(SRC, {fileExtensions: ['ts'], tsConfig: path.join(ROOT, 'tsconfig.json'), excludeRegExp: [/\.test\.ts$/]})
    // The graph must really be there (a resolver failure would make every check pass).
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(30)
    expect(graph.obj()['emulator/emulator.ts']).toContain('emulator/environment.ts')
    expect(graph.circular()).toEqual([])
  })

  it('keeps the function runtime free of the rest of sai', () => {
    for (const file of sources(path.join(SRC, 'runtime'))) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) expect(path.resolve(path.dirname(file), spec).startsWith(path.join(SRC, 'runtime')), `${file} imports ${spec}`).toBe(true)
        else expect(spec.startsWith('node:') || spec === 'onnxruntime-node', `${file} imports ${spec}`).toBe(true)
      }
    }
  })

  it('keeps the CLI framework in src/commands', () => {
    for (const dir of ['emulator', 'services', 'spec', 'runtime', 'packager', 'errors']) {
      for (const file of sources(path.join(SRC, dir))) {
        for (const spec of importsOf(file)) {
          expect(spec, `${file} imports ${spec}`).not.toBe('@oclif/core')
          expect(path.resolve(path.dirname(file), spec).startsWith(path.join(SRC, 'commands')), `${file} imports ${spec}`).toBe(false)
        }
      }
    }
  })

  it('documents every error code in the catalog and in the README', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(info.description.length, code).toBeGreaterThan(20)
      expect([1, 2, 3, 70]).toContain(info.exit)
      expect(readme, `README.md does not document ${code}`).toContain(code)
    }
  })
})
