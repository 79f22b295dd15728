// Processes the benchmarks measure: sai's emulator, the in-process baseline, and peers.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Starts a child that prints one JSON line with `url` when ready; resolves with it and a stop(). */
export function startTarget(name, command, args, options = {}) {
  const child = spawn(command, args, {cwd: options.cwd ?? ROOT, env: {...process.env, ...options.env}, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const lines = createInterface({input: child.stdout})
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s: ${stderr}`)), 60_000)
    lines.on('line', (line) => {
      let event
      try {
        event = JSON.parse(line)
      } catch {
        return
      }
      if (event.url) {
        clearTimeout(timer)
        resolve({
          name,
          ...event,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done()
              child.once('close', () => done())
              try {
                process.kill(-child.pid, 'SIGTERM')
              } catch {
                done()
              }
            }),
        })
      }
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code}: ${stderr}`))
    })
  })
}

/** sai emulate on a free port; `invokeUrl` is the function's Invoke API URL. */
export async function startSai(specDir, functionName, extraArgs = []) {
  const target = await startTarget('sai', process.execPath, [path.join(ROOT, 'bin/run.js'), 'emulate', '--json', '--quiet', '--port', '0', '--spec', specDir, ...extraArgs])
  return {...target, invokeUrl: `${target.url}/2015-03-31/functions/${functionName}/invocations`}
}

/** The limit: a plain node:http server calling the handler in its own process. */
export async function startInProcess(handlerFile, exportName = 'handler') {
  const target = await startTarget('in-process', process.execPath, [path.join(ROOT, 'benchmarks/lib/in-process-server.mjs'), handlerFile, exportName])
  return {...target, invokeUrl: `${target.url}/invoke`}
}

const SLS = path.join(ROOT, 'benchmarks/peers/serverless-offline')

export function serverlessOfflineInstalled() {
  return existsSync(path.join(SLS, 'node_modules')) && existsSync(path.join(SLS, 'start.mjs'))
}

export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** serverless-offline (see benchmarks/peers/serverless-offline/README.md). */
export async function startServerlessOffline({inProcess}) {
  const args = [path.join(SLS, 'start.mjs'), '--lambda-port', String(await freePort()), '--http-port', String(await freePort()), '--quiet']
  if (inProcess) args.push('--in-process')
  // Keep its workers warm for the whole run (it stops a worker idle for 60 s by default).
  args.push('--', '--terminateIdleLambdaTime', '3600')
  const target = await startTarget(inProcess ? 'serverless-offline (in-process)' : 'serverless-offline', process.execPath, args, {cwd: SLS})
  return {...target, invokeUrl: target.url}
}
