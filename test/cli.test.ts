/**
 * The CLI as a user runs it (bin/run.js on the built dist): help, --json, exit codes, errors with
 * hints, and an emulator that leaves nothing behind after SIGINT or SIGTERM.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {describe, expect, it} from 'vitest'
import {BIN, FIXTURES, functionDir, OCR_MODELS, ROOT, runSai as run} from './helpers.js'

/** Starts `sai emulate --json` and resolves once it listens. */
async function startEmulate(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'emulate', '--json', '--port', '0', ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const lines = createInterface({input: child.stdout})
  const events: Record<string, unknown>[] = []
  const listening = await new Promise<{url: string; sessionId: string}>((resolve, reject) => {
    lines.on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>
      events.push(event)
      if (event.event === 'listening') resolve(event as unknown as {url: string; sessionId: string})
    })
    child.on('close', (code) => reject(new Error(`emulate exited ${code}: ${stderr}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const usesCgroups = /cgroup/.test(String((events[0] as {backend?: {memoryEnforcement?: string}}).backend?.memoryEnforcement))
  return {child, events, exited, usesCgroups, ...listening, stderr: () => stderr}
}

/** A process that runs (a zombie waiting for its new parent to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('help and usage', () => {
  it('lists the commands and teaches each one', async () => {
    const top = await run(['--help'])
    expect(top.code).toBe(0)
    for (const command of ['emulate', 'init', 'invoke']) expect(top.stdout).toContain(command)
    const help = await run(['emulate', '--help'])
    expect(help.stdout).toContain('EXAMPLES')
    expect(help.stdout).toContain('--keep-alive')
  })

  it('an unknown flag is a usage error: exit code 2', async () => {
    const result = await run(['emulate', '--no-such-flag'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Nonexistent flag: --no-such-flag')
  })

  it('a broken spec names the file, the field, what was expected and found: exit code 1', async () => {
    const dir = functionDir({'sai.yaml': 'name: bad name!\nhandler: h.handler\nmemory: 64\n', 'h.mjs': 'export const handler = () => 1\n'})
    const result = await run(['emulate', '--spec', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`${path.join(dir, 'sai.yaml')}: 2 problems`)
    expect(result.stderr).toContain('name: expected a function name: 1–64 letters, digits, hyphens or underscores, found "bad name!"')
    expect(result.stderr).toContain('memory: expected an integer from 128 to 10240 (MB), found 64')
    expect(result.stderr).toContain('Code: SAI_SPEC_INVALID')
    expect(result.stderr).toContain('Try this:')
    const json = await run(['emulate', '--spec', dir, '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({error: {code: 'SAI_SPEC_INVALID', hint: expect.any(String)}})
  })
})

describe('sai init', () => {
  it('inspects a model and writes sai.yaml and a sample event the model accepts', async () => {
    const dir = path.join(functionDir({}), 'det')
    const result = await run(['init', dir, '--model', path.join(OCR_MODELS, 'ch_PP-OCRv4_det_infer.onnx'), '--json'])
    expect(result.code).toBe(0)
    const output = JSON.parse(result.stdout) as {name: string; sample: Record<string, {dims: number[]}>; sampleOutputs: Record<string, {dims: number[]}>}
    expect(output.name).toBe('det')
    expect(output.sample.x!.dims).toEqual([1, 3, 32, 32])
    expect(output.sampleOutputs['sigmoid_0.tmp_0']!.dims).toEqual([1, 1, 32, 32])
    const yaml = readFileSync(path.join(dir, 'sai.yaml'), 'utf8')
    expect(yaml).toContain('name: det')
    expect(yaml).toContain('#   x: float32 [p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]')
    const sample = JSON.parse(readFileSync(path.join(dir, 'events/sample.json'), 'utf8')) as {inputs: {x: {data: number[]}}}
    expect(sample.inputs.x.data).toHaveLength(3 * 32 * 32)
    const again = await run(['init', dir, '--model', path.join(OCR_MODELS, 'ch_PP-OCRv4_det_infer.onnx')])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('Code: SAI_FILE_EXISTS')
  })

  it('--dim sizes symbolic dims', async () => {
    const dir = functionDir({})
    const result = await run(['init', dir, '--model', path.join(OCR_MODELS, 'ch_PP-OCRv4_rec_infer.onnx'), '--dim', 'p2o.DynamicDimension.1=64', '--json', '--name', 'rec'])
    expect(result.code).toBe(0)
    expect((JSON.parse(result.stdout) as {sample: {x: {dims: number[]}}}).sample.x.dims).toEqual([1, 3, 48, 64])
  })

  it('a missing or broken model fails clearly', async () => {
    const missing = await run(['init', functionDir({}), '--model', '/no/such/model.onnx'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('Code: SAI_MODEL_NOT_FOUND')
    const junk = path.join(os.tmpdir(), `sai-junk-${process.pid}.onnx`)
    writeFileSync(junk, 'not a model')
    const broken = await run(['init', functionDir({}), '--model', junk])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain(`onnxruntime cannot load ${junk}`)
    expect(broken.stderr).toContain('Code: SAI_MODEL_INVALID')
  })
})

describe('sai emulate + sai invoke', () => {
  it('serves, invokes through the SDK, and on SIGTERM stops every environment', async () => {
    const emu = await startEmulate(['--spec', path.join(FIXTURES, 'faults'), '--spec', path.join(FIXTURES, 'noop')])
    const call = await run(['invoke', 'faults', '--endpoint-url', emu.url, '--payload', '{"action":"context"}'])
    expect(call.code).toBe(0)
    expect(call.stderr).toMatch(/^REPORT RequestId: .*Init Duration/m)
    expect(call.stderr).toContain('StatusCode: 200, ExecutedVersion: $LATEST')
    const pid = (JSON.parse(call.stdout) as {pid: number}).pid
    const json = await run(['invoke', 'noop', '--endpoint-url', emu.url, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({statusCode: 200, payload: {ok: true}, log: expect.stringContaining('REPORT RequestId')})
    const error = await run(['invoke', 'faults', '--endpoint-url', emu.url, '--payload', '{"action":"throw"}'])
    expect(error.code).toBe(0)
    expect(error.stderr).toContain('FunctionError: Unhandled')
    const unknown = await run(['invoke', 'ghost', '--endpoint-url', emu.url])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('ResourceNotFoundException (HTTP 404): Function not found')
    expect(emu.events.some((e) => e.event === 'invoke-end')).toBe(true)
    expect(alive(pid)).toBe(true)
    emu.child.kill('SIGTERM')
    expect(await emu.exited).toBe(0)
    expect(alive(pid)).toBe(false)
    expect(existsSync(path.join(os.tmpdir(), `sai-${emu.sessionId}`))).toBe(false)
  })

  it('on SIGINT leaves no child process, provisioned ones included, and no cgroup', async () => {
    const dir = functionDir({'sai.yaml': 'name: pc\nhandler: handler.handler\nprovisionedConcurrency: 2\nmemory: 256\n', 'handler.mjs': readFileSync(path.join(FIXTURES, 'faults/handler.mjs'))})
    const emu = await startEmulate(['--spec', dir])
    const pids: number[] = []
    for (let i = 0; i < 3; i++) {
      const call = await run(['invoke', 'pc', '--endpoint-url', emu.url, '--payload', '{"action":"context"}', '--json'])
      pids.push((JSON.parse(call.stdout) as {payload: {pid: number}}).payload.pid)
    }
    const dirs = () => sessionCgroups(emu.sessionId, emu.child.pid!)
    if (emu.usesCgroups) expect(dirs().length).toBeGreaterThan(0)
    emu.child.kill('SIGINT')
    expect(await emu.exited).toBe(0)
    for (const pid of pids) expect(alive(pid)).toBe(false)
    expect(dirs()).toEqual([])
  })

  it('after an emulator is killed with SIGKILL, the next one sweeps its cgroups and runtimes away', async () => {
    const first = await startEmulate(['--spec', path.join(FIXTURES, 'faults')])
    const call = await run(['invoke', 'faults', '--endpoint-url', first.url, '--payload', '{"action":"context"}', '--json'])
    const runtime = (JSON.parse(call.stdout) as {payload: {pid: number}}).payload.pid
    // A runtime stuck in a busy loop does not notice its emulator is gone: only the sweep ends it.
    void run(['invoke', 'faults', '--endpoint-url', first.url, '--payload', '{"action":"busy"}'])
    // Wait until the runtime really spins (its CPU time grows), however long the CLI takes to start.
    const cpuTicks = () => readFileSync(`/proc/${runtime}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0)
    const idle = cpuTicks()
    await expect.poll(cpuTicks, {timeout: 15_000, interval: 50}).toBeGreaterThan(idle + 10)
    first.child.kill('SIGKILL')
    await first.exited
    if (!first.usesCgroups) return
    expect(sessionCgroups(first.sessionId, first.child.pid!).length).toBeGreaterThan(0)
    expect(alive(runtime)).toBe(true)
    const second = await startEmulate(['--spec', path.join(FIXTURES, 'noop')])
    await expect.poll(() => sessionCgroups(first.sessionId, first.child.pid!), {timeout: 5000}).toEqual([])
    await expect.poll(() => alive(runtime), {timeout: 2000}).toBe(false)
    second.child.kill('SIGTERM')
    await second.exited
  })

  it('a second emulator on a taken port fails with a hint', async () => {
    const emu = await startEmulate(['--spec', path.join(FIXTURES, 'noop')])
    const port = new URL(emu.url).port
    const clash = await run(['emulate', '--spec', path.join(FIXTURES, 'noop'), '--port', port])
    expect(clash.code).toBe(1)
    expect(clash.stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`)
    expect(clash.stderr).toContain('Code: SAI_PORT_IN_USE')
    emu.child.kill('SIGTERM')
    await emu.exited
  })

  it('a flag value that does not parse is a usage error (exit 2), not a bug', async () => {
    const bad = await run(['bench', '--spec', 'fixtures/noop', '--duration', '5x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('expected a duration such as 500ms, 30s, 5m or 1h, found "5x"')
    expect(bad.stderr).not.toContain('Internal error')
  })

  it('invoke: unreachable endpoint and bad payloads fail clearly', async () => {
    const down = await run(['invoke', 'x', '--endpoint-url', 'http://127.0.0.1:1'])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('Code: SAI_ENDPOINT_UNREACHABLE')
    const bad = await run(['invoke', 'x', '--payload', '{nope'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('Code: SAI_PAYLOAD_INVALID')
    const file = await run(['invoke', 'x', '--payload', '@/no/such/event.json'])
    expect(file.stderr).toContain('cannot read the payload file /no/such/event.json: ENOENT')
  })
})

/** The cgroup directories of one emulator session (named sai-<session>-<emulator pid>). */
function sessionCgroups(sessionId: string, pid: number): string[] {
  return ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup'].flatMap((root) => {
    try {
      return findDirs(root, `sai-${sessionId}-${pid}`, 3)
    } catch {
      return []
    }
  })
}

function findDirs(root: string, name: string, depth: number): string[] {
  if (depth < 0 || !existsSync(root)) return []
  const found: string[] = []
  for (const entry of readdirSync(root, {withFileTypes: true})) {
    if (!entry.isDirectory()) continue
    const full = path.join(root, entry.name)
    if (entry.name === name) found.push(full)
    else found.push(...findDirs(full, name, depth - 1))
  }
  return found
}
