/** What `sai emulate` shows: a banner, then every function log line and platform line as it happens. */
import {styleText} from 'node:util'
import type {Emulator} from '../emulator/emulator.js'

const color = process.stderr.isTTY && !process.env.NO_COLOR
const paint = (style: Parameters<typeof styleText>[0], text: string) => (color ? styleText(style, text) : text)

export function formatEmulatorBanner(emulator: Emulator, url: string, keepAliveSeconds: number): string {
  const caps = emulator.backend.capabilities
  const lines = [
    paint('bold', `sai emulator listening on ${url}`),
    `  backend: ${caps.name}; memory: ${caps.memoryEnforcement}; CPU: ${caps.cpuEnforcement ?? 'not limited'}`,
    `  keep-alive: ${keepAliveSeconds === 0 ? '0 (every invoke is a cold start)' : `${keepAliveSeconds} s`}`,
  ]
  for (const note of caps.notes) lines.push(paint('yellow', `  note: ${note}`))
  const hostMajor = Number(process.versions.node.split('.')[0])
  for (const spec of emulator.functionSpecs()) {
    const what = spec.modelPath ? `model ${spec.modelPath}` : spec.bootstrap ? `bootstrap ${spec.bootstrap.join(' ')}` : `handler ${spec.handler}`
    lines.push(`  function ${paint('cyan', spec.name)}: ${spec.memory} MB, timeout ${spec.timeout} s, ${what}${spec.provisionedConcurrency ? `, ${spec.provisionedConcurrency} provisioned` : ''}`)
    const targetMajor = Number(/nodejs(\d+)/.exec(spec.runtime)?.[1])
    if (targetMajor !== hostMajor && caps.name === 'process') lines.push(paint('yellow', `    note: targets ${spec.runtime}; the process backend runs this machine's Node ${process.versions.node}`))
  }
  if (emulator.functionSpecs().length === 0) lines.push(paint('yellow', '  no functions yet: waiting for CreateFunction on the control plane (a zip or an image built by sai package)'))
  lines.push(`  control plane: CreateFunction, UpdateFunctionCode/Configuration, PublishVersion, aliases, provisioned concurrency, DeleteFunction, ListFunctions on ${url}`)
  lines.push(`  invoke: aws lambda invoke --endpoint-url ${url} --function-name ${emulator.functionSpecs()[0]?.name ?? 'NAME'} out.json`)
  lines.push('  Ctrl-C stops every environment.')
  return lines.join('\n')
}

export function printEmulatorEvents(emulator: Emulator, options: {json: boolean; quiet: boolean}): () => void {
  // Functions come and go through the control plane: prefix lines once there is more than one.
  const several = () => emulator.functionSpecs().length > 1
  const onLog = (e: {functionName: string; line: string; source: 'function' | 'platform'}) => {
    if (options.quiet) return
    if (options.json) return void process.stdout.write(JSON.stringify({event: 'log', ...e}) + '\n')
    const prefix = several() ? paint('cyan', `[${e.functionName}] `) : ''
    const line = e.source === 'platform' && e.line.startsWith('REPORT') ? paint('dim', e.line) : e.line
    process.stderr.write(prefix + line + '\n')
  }
  const forward = (event: string) => (payload: unknown) => {
    if (options.json) process.stdout.write(JSON.stringify({event, ...(payload as object)}) + '\n')
  }
  const listeners = {
    'environment-spawned': forward('environment-spawned'),
    'environment-ready': forward('environment-ready'),
    'environment-stopped': forward('environment-stopped'),
    'invoke-end': forward('invoke-end'),
    'invoke-throttled': forward('invoke-throttled'),
  } as const
  emulator.on('log', onLog)
  for (const [name, listener] of Object.entries(listeners)) emulator.on(name as 'invoke-end', listener)
  return () => {
    emulator.off('log', onLog)
    for (const [name, listener] of Object.entries(listeners)) emulator.off(name as 'invoke-end', listener)
  }
}
