/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free loopback
 * port with a throwaway storage directory, started per test file and removed afterwards.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const REGISTRY_BINARY = '/usr/bin/docker-registry'

export interface LocalRegistryOptions {
  /** htpasswd lines (`user:<bcrypt>`): the registry then demands basic auth. */
  htpasswd?: string
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>`, the registry part of an image reference. */
  host: string
  url: string
  storage: string
  /** The registry's own output so far, for failure messages. */
  logs(): string
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function startRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(`${REGISTRY_BINARY} is missing: the registry tests need Debian's docker-registry package. Install it with \`apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry\` (.ci/run does this on CI).`)
  }
  // The free port is found before the registry binds it, so another process may take it between: try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String(error))) throw error
    }
  }
}

async function startOnce(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sai-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const config = {
    version: 0.1,
    log: {level: 'error', accesslog: {disabled: true}},
    storage: {filesystem: {rootdirectory: path.join(root, 'storage')}, delete: {enabled: true}},
    http: {addr: host, secret: 'sai-test-secret'},
    health: {storagedriver: {enabled: false}},
    ...(options.htpasswd === undefined ? {} : {auth: {htpasswd: {realm: 'sai-test', path: path.join(root, 'htpasswd')}}}),
  }
  if (options.htpasswd !== undefined) writeFileSync(path.join(root, 'htpasswd'), options.htpasswd)
  // YAML is a superset of JSON, so the registry reads this as its config.yml.
  writeFileSync(path.join(root, 'config.yml'), JSON.stringify(config, null, 2))
  const child = spawn(REGISTRY_BINARY, ['serve', path.join(root, 'config.yml')], {stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-64_000)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    process.off('exit', killOnExit)
    await terminate(child, exited)
    rmSync(root, {recursive: true, force: true})
  }
  const url = `http://${host}`
  try {
    await waitUntilServing(url, child, exited, () => output)
  } catch (error) {
    await stop()
    throw error
  }
  return {host, url, storage: path.join(root, 'storage'), logs: () => output, stop, [Symbol.asyncDispose]: stop}
}

async function waitUntilServing(url: string, child: ChildProcess, exited: Promise<void>, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  let gone = false
  void exited.then(() => (gone = true))
  while (Date.now() < deadline) {
    if (gone) throw new Error(`docker-registry exited (code ${child.exitCode}) before serving:\n${output()}`)
    const status = await fetch(`${url}/v2/`).then((r) => (void r.body?.cancel(), r.status), () => 0)
    // 401 is an answer too: the registry is up and demands credentials.
    if (status === 200 || status === 401) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`docker-registry did not answer GET ${url}/v2/ within 15 s:\n${output()}`)
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
