// Closed-loop latency with one keep-alive connection (microseconds, every sample kept), and
// throughput at N connections with autocannon (closed model, no rate: where autocannon is right).
import http from 'node:http'
import autocannon from 'autocannon'

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export const median = (values) => percentile([...values].sort((a, b) => a - b), 50)

function post(agent, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method: 'POST', agent, headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)}}, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** One connection, back to back, for `seconds`: latency percentiles (ms) and req/s. */
export async function latencyOneConnection(url, body, seconds) {
  const agent = new http.Agent({keepAlive: true, maxSockets: 1})
  const samples = []
  const end = performance.now() + seconds * 1000
  const started = performance.now()
  while (performance.now() < end) {
    const t = performance.now()
    await post(agent, url, body)
    samples.push(performance.now() - t)
  }
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  samples.sort((a, b) => a - b)
  return {count: samples.length, rps: samples.length / elapsed, p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99), max: samples[samples.length - 1]}
}

/** N connections with autocannon for `seconds`: req/s (mean) and its latency percentiles (ms, integers). */
export function throughput(url, body, connections, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({url, method: 'POST', body, headers: {'content-type': 'application/json'}, connections, duration: seconds}, (error, result) => {
      if (error) return reject(error)
      resolve({rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx})
    })
  })
}

export async function warmUp(url, body, connections, count) {
  const agent = new http.Agent({keepAlive: true, maxSockets: connections})
  const queue = Array.from({length: count}, () => () => post(agent, url, body))
  await Promise.all(Array.from({length: connections}, async () => {
    while (queue.length) await queue.shift()()
  }))
  agent.destroy()
}

export function machine() {
  return import('node:os').then((os) => ({
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 1e9),
    node: process.version,
    kernel: os.release(),
  }))
}
