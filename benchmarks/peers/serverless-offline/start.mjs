#!/usr/bin/env node
// Start serverless-offline (Serverless Framework v3) serving the `noop` Lambda
// of ./serverless.yml through the Lambda Invoke API, wait until an invoke
// answers 200, then print ONE JSON line on stdout:
//
//   {"ready":true,"url":"http://127.0.0.1:3002/2015-03-31/functions/sai-peer-bench-noop/invocations",
//    "functionName":"sai-peer-bench-noop","version":"13.10.1",...}
//
// Usage:
//   node start.mjs [--lambda-port 3002] [--http-port 3003] [--in-process]
//                  [--host 127.0.0.1] [--timeout-ms 60000]
//                  [--log FILE | --quiet] [-- <extra serverless-offline flags>]
//
// Default mode runs the handler in worker threads (serverless-offline's
// default); --in-process passes --useInProcess. The child's own output goes to
// this process's stderr (stdout stays reserved for the JSON line) unless --log
// FILE or --quiet is given. SIGTERM/SIGINT/SIGHUP are forwarded to the child's
// process group; the child is SIGKILLed if it has not exited 8 s later.
import { spawn } from "node:child_process"
import { openSync, readFileSync } from "node:fs"
import { request } from "node:http"
import { connect } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

// Must match serverless.yml (service / provider.stage / function key).
const SERVICE = "sai-peer"
const STAGE = "bench"
const FUNCTION_KEY = "noop"
const FUNCTION_NAME = `${SERVICE}-${STAGE}-${FUNCTION_KEY}`

function usage(msg) {
  if (msg) process.stderr.write(`start.mjs: ${msg}\n`)
  process.stderr.write(
    "usage: node start.mjs [--lambda-port N] [--http-port N] [--in-process] [--host H] " +
      "[--timeout-ms N] [--log FILE | --quiet] [-- extra serverless-offline flags]\n",
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = {
    lambdaPort: 3002,
    httpPort: 3003,
    inProcess: false,
    host: "127.0.0.1",
    timeoutMs: 60_000,
    log: null,
    quiet: false,
    extra: [],
  }
  const port = (v, name) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n <= 0 || n > 65535) usage(`bad ${name}: ${v}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const [flag, inline] = a.includes("=") ? a.split(/=(.*)/s, 2) : [a, undefined]
    const value = () => (inline !== undefined ? inline : argv[++i] ?? usage(`${flag} needs a value`))
    switch (flag) {
      case "--lambda-port": opts.lambdaPort = port(value(), flag); break
      case "--http-port": opts.httpPort = port(value(), flag); break
      case "--in-process": opts.inProcess = true; break
      case "--host": opts.host = value(); break
      case "--timeout-ms": opts.timeoutMs = Number(value()); break
      case "--log": opts.log = value(); break
      case "--quiet": opts.quiet = true; break
      case "-h": case "--help": usage(); break
      case "--": opts.extra = argv.slice(i + 1); i = argv.length; break
      default: usage(`unknown option ${a}`)
    }
  }
  return opts
}

const pkgVersion = (name) =>
  JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version

const opts = parseArgs(process.argv.slice(2))
const t0 = performance.now()

let offlineVersion, serverlessVersion
try {
  offlineVersion = pkgVersion("serverless-offline")
  serverlessVersion = pkgVersion("serverless")
} catch {
  process.stderr.write(`start.mjs: dependencies missing; run \`npm ci\` in ${here}\n`)
  process.exit(1)
}

// Everything that could make the Serverless Framework v3 CLI reach the
// network or prompt: telemetry, backend notifications, deprecation notices,
// self-update, interactive onboarding. The schema cache that v3 writes to
// ~/.serverless is redirected into this directory (.cache/ is git-ignored).
const env = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: "1",
  SLS_TRACKING_DISABLED: "1",
  SLS_NOTIFICATIONS_MODE: "off",
  SLS_DEPRECATION_DISABLE: "*",
  SLS_DISABLE_AUTO_UPDATE: "1",
  SLS_INTERACTIVE_SETUP_DISABLE: "1",
  SLS_SCHEMA_CACHE_BASE_DIR: join(here, ".cache"),
  SAI_PEER_PARENT_PID: String(process.pid),
  FORCE_COLOR: "0",
  NO_COLOR: "1",
}

const args = [
  "--import", join(here, "parent-watch.mjs"),
  join(here, "node_modules", "serverless", "bin", "serverless.js"),
  "offline", "start",
  "--host", opts.host,
  "--lambdaPort", String(opts.lambdaPort),
  "--httpPort", String(opts.httpPort),
  "--noSponsor",
  ...(opts.inProcess ? ["--useInProcess"] : []),
  ...opts.extra,
]

// Refuse to start if something already listens on the lambda port: the
// readiness probe would otherwise be answered by that other server.
const busy = await new Promise((resolve) => {
  const sock = connect({ host: opts.host, port: opts.lambdaPort })
  sock.setTimeout(1000, () => { sock.destroy(); resolve(false) })
  sock.on("connect", () => { sock.destroy(); resolve(true) })
  sock.on("error", () => resolve(false))
})
if (busy) {
  process.stderr.write(`start.mjs: ${opts.host}:${opts.lambdaPort} is already in use\n`)
  process.exit(1)
}

let out = 2 // child's stdout+stderr -> our stderr, written directly by the child
if (opts.quiet) out = "ignore"
else if (opts.log) out = openSync(opts.log, "a")

const child = spawn(process.execPath, args, {
  cwd: here,
  env,
  stdio: ["ignore", out, out],
  detached: true, // own process group, so the whole tree can be signalled at once
})

let stopping = false
let ready = false

function killGroup(signal) {
  try {
    process.kill(-child.pid, signal)
  } catch {
    try { child.kill(signal) } catch { /* already gone */ }
  }
}

function stop(signal) {
  if (stopping) return
  stopping = true
  killGroup(signal === "SIGINT" ? "SIGINT" : "SIGTERM")
  setTimeout(() => killGroup("SIGKILL"), 8000).unref()
}

for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, () => stop(sig))
process.on("exit", () => {
  // Last resort if we are exiting for any other reason (e.g. a crash).
  if (child.exitCode === null && child.signalCode === null) killGroup("SIGKILL")
})

child.on("exit", (code, signal) => {
  // Reap anything left in the group (nothing is expected for the node runtime).
  killGroup("SIGKILL")
  if (!ready) {
    if (!stopping) {
      process.stderr.write(
        `start.mjs: serverless-offline exited before becoming ready (code ${code}, signal ${signal})\n`,
      )
    }
    process.exit(1)
  }
  process.exit(stopping ? 0 : code ?? 1)
})

const base = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.lambdaPort}`
const path = `/2015-03-31/functions/${FUNCTION_NAME}/invocations`

function probe() {
  return new Promise((resolve) => {
    const req = request(
      `${base}${path}`,
      { method: "POST", headers: { "content-type": "application/json" }, timeout: 5000 },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c) => (body += c))
        res.on("end", () => resolve({ status: res.statusCode, body }))
      },
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve(null))
    req.end("{}")
  })
}

const deadline = Date.now() + opts.timeoutMs
while (!stopping) {
  const r = await probe()
  if (r && r.status === 200 && r.body === '{"ok":true}') {
    ready = true
    break
  }
  if (r && r.status === 404) {
    process.stderr.write(`start.mjs: ${FUNCTION_NAME} not found: ${r.body}\n`)
    stop("SIGTERM")
    break
  }
  if (Date.now() > deadline) {
    process.stderr.write(`start.mjs: not ready after ${opts.timeoutMs} ms\n`)
    stop("SIGTERM")
    break
  }
  await new Promise((r) => setTimeout(r, 100))
}

if (ready) {
  process.stdout.write(
    JSON.stringify({
      ready: true,
      url: `${base}${path}`,
      functionName: FUNCTION_NAME,
      version: offlineVersion,
      serverlessVersion,
      mode: opts.inProcess ? "in-process" : "worker-threads",
      pid: child.pid,
      startupMs: Math.round(performance.now() - t0),
    }) + "\n",
  )
}
