#!/usr/bin/env node
// Sanity benchmark for this peer: N sequential invokes over one keep-alive
// connection (node:http Agent, keepAlive, maxSockets 1), body "{}".
// Usage: node bench.mjs <invoke-url> [count=1000] [warmup=50]
import { Agent, request } from "node:http"

const [url, countArg = "1000", warmupArg = "50"] = process.argv.slice(2)
if (!url) {
  process.stderr.write("usage: node bench.mjs <invoke-url> [count] [warmup]\n")
  process.exit(2)
}
const count = Number(countArg)
const warmup = Number(warmupArg)
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

function invoke() {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c) => (body += c))
        res.on("end", () =>
          res.statusCode === 200 && body === '{"ok":true}'
            ? resolve()
            : reject(new Error(`HTTP ${res.statusCode}: ${body}`)),
        )
      },
    )
    req.on("error", reject)
    req.end("{}")
  })
}

for (let i = 0; i < warmup; i++) await invoke()

const lat = new Float64Array(count)
const start = performance.now()
for (let i = 0; i < count; i++) {
  const t = performance.now()
  await invoke()
  lat[i] = performance.now() - t
}
const total = performance.now() - start
agent.destroy()

lat.sort()
const q = (p) => lat[Math.min(count - 1, Math.floor(p * count))]
const r = (x) => Math.round(x * 1000) / 1000
console.log(
  JSON.stringify({
    count,
    warmup,
    totalMs: r(total),
    reqPerSec: Math.round((count / total) * 1000 * 10) / 10,
    medianMs: r(q(0.5)),
    p90Ms: r(q(0.9)),
    p99Ms: r(q(0.99)),
    minMs: r(lat[0]),
    maxMs: r(lat[count - 1]),
  }),
)
