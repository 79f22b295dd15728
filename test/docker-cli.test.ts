/**
 * `sai emulate --backend docker` as a user runs it: a spec is packaged and loaded on the fly, Ctrl-C
 * removes every container, and an emulator killed outright (SIGKILL) leaves containers that the next
 * one sweeps at startup.
 */
import {execFile, spawn} from 'node:child_process'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {promisify} from 'node:util'
import {describe, expect, it} from 'vitest'
import {FIXTURES, invoke, ROOT, sdkClient} from './helpers.js'

const BIN = path.join(ROOT, 'bin/run.js')
const docker = promisify(execFile)

/** Containers of a session, running or not. */
async function containersOf(sessionId: string): Promise<string[]> {
  const {stdout} = await docker('docker', ['ps', '-a', '--filter', `label=sai.session=${sessionId}`, '--format', '{{.Names}}'])
  return stdout.split('\n').filter(Boolean)
}

async function startDockerEmulate() {
  const child = spawn(process.execPath, [BIN, 'emulate', '--json', '--port', '0', '--backend', 'docker', '--spec', path.join(FIXTURES, 'faults')], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const listening = await new Promise<{url: string; sessionId: string}>((resolve, reject) => {
    createInterface({input: child.stdout}).on('line', (line) => {
      const event = JSON.parse(line) as {event?: string; url: string; sessionId: string}
      if (event.event === 'listening') resolve(event)
    })
    child.on('close', (code) => reject(new Error(`emulate exited ${code}: ${stderr}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  return {child, exited, ...listening}
}

describe('sai emulate --backend docker', () => {
  it('removes its containers on Ctrl-C; a SIGKILLed emulator\'s are swept by the next one', async () => {
    const first = await startDockerEmulate()
    const client = sdkClient(first.url)
    const answer = await invoke(client, {FunctionName: 'faults', Payload: {action: 'echo', n: 1}})
    expect(answer.json).toEqual({echo: {action: 'echo', n: 1}})
    client.destroy()
    expect(await containersOf(first.sessionId)).toHaveLength(1)
    first.child.kill('SIGKILL')
    await first.exited
    expect(await containersOf(first.sessionId)).toHaveLength(1)

    const second = await startDockerEmulate()
    expect(await containersOf(first.sessionId)).toEqual([])
    const again = sdkClient(second.url)
    await invoke(again, {FunctionName: 'faults', Payload: {action: 'echo'}})
    again.destroy()
    expect(await containersOf(second.sessionId)).toHaveLength(1)
    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
    expect(await containersOf(second.sessionId)).toEqual([])
  })
})
