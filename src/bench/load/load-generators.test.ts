import http from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {constantArrivals} from './arrivals.js'
import {runClosedModel} from './closed-model.js'
import {type OpenResult, runOpenModel} from './open-model.js'

// An Invoke API stand-in: every response has a request id; /slow/N answers after N ms; /serial/N
// serves one request at a time, N ms each (a queue forms); /error answers as a failed function.
let server: http.Server
let port: number
let served = 0
const sockets = new Set<Socket>()
const issued = new Set<string>()
let serialBusyUntil = 0
/** Bodies received on /record. */
const recorded: string[] = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.url === '/record') recorded.push(Buffer.concat(chunks).toString())
      const requestId = `req-${++served}`
      issued.add(requestId)
      const answer = () => {
        const failed = req.url === '/error'
        const body = failed ? '{"errorType":"Boom","errorMessage":"no"}' : '{}'
        res.writeHead(200, {'X-Amzn-RequestId': requestId, 'Content-Length': Buffer.byteLength(body), ...(failed ? {'X-Amz-Function-Error': 'Unhandled'} : {})})
        res.end(body)
      }
      const [, kind, ms] = req.url!.split('/')
      if (kind === 'slow') return void setTimeout(answer, Number(ms))
      if (kind === 'serial') {
        const now = performance.now()
        serialBusyUntil = Math.max(serialBusyUntil, now) + Number(ms)
        return void setTimeout(answer, serialBusyUntil - now)
      }
      answer()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const body = Buffer.from('{"x":1}')
/** Sockets and message ports (the open model's timer thread) that keep this process alive. */
const liveHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'MessagePort')

/** Every connection closed, at both ends (the server's closes a moment after the client's), and no thread left. */
async function expectNoOpenSockets(timeoutMs = 2000) {
  const until = performance.now() + timeoutMs
  while ((sockets.size > 0 || liveHandles().length > 0) && performance.now() < until) await new Promise((r) => setTimeout(r, 10))
  expect(sockets.size).toBe(0)
  expect(liveHandles()).toEqual([])
}

function openRun(path: string, rate: number, durationMs: number, maxInFlight: number, signal?: AbortSignal) {
  const results: OpenResult[] = []
  const summary = runOpenModel({host: '127.0.0.1', port, path, body, headers: {'Content-Type': 'application/json'}, arrivals: constantArrivals({rate, durationMs}), maxInFlight, signal, onResult: (r) => results.push(r)})
  return {results, summary}
}

describe('open model', () => {
  it('sends every request of the schedule, on time, and reports each one with its request id', async () => {
    const {results, summary} = openRun('/fast', 200, 1000, 16)
    const s = await summary
    expect(s).toMatchObject({scheduled: 200, sent: 200, completed: 200, errors: 0, dropped: 0, aborted: false})
    expect(results).toHaveLength(200)
    expect(new Set(results.map((r) => r.requestId)).size).toBe(200)
    for (const r of results) {
      expect(issued.has(r.requestId!)).toBe(true)
      expect(r).toMatchObject({status: 200, functionError: false})
      expect(r.latencyMs).toBeGreaterThan(0)
    }
    expect(results.map((r) => r.intendedMs).sort((a, b) => a - b)).toEqual([...constantArrivals({rate: 200, durationMs: 1000})])
    // Generous: a loaded 2-core machine is late now and then, but not for most sends.
    expect(s.lateness.p50).toBeLessThan(1)
    expect(s.durationMs).toBeGreaterThan(990)
    expect(s.durationMs).toBeLessThan(3000)
    await expectNoOpenSockets()
  })

  it('marks function errors', async () => {
    const {results, summary} = openRun('/error', 100, 100, 4)
    await summary
    expect(results.length).toBe(10)
    expect(results.every((r) => r.functionError && r.status === 200)).toBe(true)
  })

  it('measures latency from the intended send time, and connections grow to what is in flight', async () => {
    const {results, summary} = openRun('/slow/50', 100, 500, 16)
    const s = await summary
    expect(s.completed).toBe(50)
    // 100 req/s of 50 ms each: about 5 at once.
    expect(s.connectionsOpened).toBeGreaterThanOrEqual(5)
    for (const r of results) expect(r.latencyMs).toBeGreaterThanOrEqual(50 + r.latenessMs - 1)
  })

  it('charges the server\'s queue: latency grows with the backlog of a saturated server', async () => {
    // 100 req/s into a server that serves 50 req/s one at a time: the nth request waits for n/2 before it.
    serialBusyUntil = 0
    const {results, summary} = openRun('/serial/20', 100, 400, 64)
    const s = await summary
    expect(s).toMatchObject({sent: 40, completed: 40, dropped: 0})
    const last = results.reduce((a, b) => (a.intendedMs > b.intendedMs ? a : b))
    // Intended at 390 ms, answered when all 40 (800 ms of work) are done: ≈ 410 ms, not the 20 ms of service.
    expect(last.latencyMs).toBeGreaterThan(350)
  })

  it('drops the sends that find every connection busy (maxInFlight 1), and never queues them', async () => {
    const {results, summary} = openRun('/slow/50', 100, 1000, 1)
    const s = await summary
    expect(s.connectionsOpened).toBe(1)
    expect(s.scheduled).toBe(100)
    expect(s.dropped).toBeGreaterThan(50)
    expect(s.sent + s.dropped).toBe(100)
    expect(s.sent).toBe(results.length)
    // A send happens at its intended time or not at all.
    expect(results.filter((r) => r.latenessMs > 5).length).toBeLessThanOrEqual(2)
    for (const r of results) expect(r.latencyMs).toBeGreaterThanOrEqual(49)
  })

  it('sends requests whose time has passed at once, and counts the delay in their latency', async () => {
    const results: OpenResult[] = []
    const summary = runOpenModel({host: '127.0.0.1', port, path: '/fast', body, arrivals: constantArrivals({rate: 100, durationMs: 500}), maxInFlight: 32, onResult: (r) => results.push(r)})
    // The event loop is blocked for 100 ms, as a long GC or a busy emulator would block it.
    await new Promise((r) => setTimeout(r, 200))
    const blockedUntil = performance.now() + 100
    while (performance.now() < blockedUntil);
    const s = await summary
    expect(s).toMatchObject({sent: 50, dropped: 0})
    const caughtUp = results.filter((r) => r.latenessMs > 20)
    expect(caughtUp.length).toBeGreaterThanOrEqual(5)
    expect(s.late).toBeGreaterThanOrEqual(caughtUp.length)
    for (const r of caughtUp) expect(r.latencyMs).toBeGreaterThanOrEqual(r.latenessMs)
  })

  it('stops promptly on abort, waits for the requests in flight, and leaves no socket open', async () => {
    const controller = new AbortController()
    const startedAt = performance.now()
    const {results, summary} = openRun('/slow/100', 100, 60_000, 32, controller.signal)
    await new Promise((r) => setTimeout(r, 300))
    const abortedAt = performance.now()
    controller.abort()
    const s = await summary
    const stopMs = performance.now() - abortedAt
    expect(s.aborted).toBe(true)
    // In flight at the abort: up to 100 ms more.
    expect(stopMs).toBeLessThan(1000)
    // 100 req/s until the abort (a busy machine may wake the test late: count from when it did).
    expect(s.sent).toBeGreaterThan(20)
    expect(s.sent).toBeLessThanOrEqual(Math.ceil((abortedAt - startedAt) / 10) + 2)
    expect(results).toHaveLength(s.sent)
    expect(s.completed).toBe(s.sent)
    await expectNoOpenSockets()
  })

  it('reports connection errors as results, never throws', async () => {
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const deadPort = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const results: OpenResult[] = []
    const s = await runOpenModel({host: '127.0.0.1', port: deadPort, path: '/', body, arrivals: constantArrivals({rate: 100, durationMs: 100}), maxInFlight: 2, onResult: (r) => results.push(r)})
    expect(s).toMatchObject({sent: 10, completed: 0, errors: 10})
    expect(results.every((r) => r.status === 0 && r.requestId === undefined && /ECONNREFUSED/.test(r.error ?? ''))).toBe(true)
  })
})

describe('closed model', () => {
  it('reports every response with its request id and a sub-millisecond latency', async () => {
    const results: {requestId?: string; status: number; functionError: boolean; latencyMs: number}[] = []
    const s = await runClosedModel({host: '127.0.0.1', port, path: '/slow/5', body, headers: {'Content-Type': 'application/json'}, connections: 2, durationMs: 600, onResult: (r) => results.push(r)})
    expect(s.aborted).toBe(false)
    expect(s.errors).toBe(0)
    expect(results.length).toBe(s.completed)
    expect(s.completed).toBeGreaterThan(40)
    expect(s.sent).toBeGreaterThanOrEqual(s.completed)
    expect(new Set(results.map((r) => r.requestId)).size).toBe(results.length)
    for (const r of results) {
      expect(issued.has(r.requestId!)).toBe(true)
      expect(r).toMatchObject({status: 200, functionError: false})
      // setTimeout(5) may fire up to 1 ms early.
      expect(r.latencyMs).toBeGreaterThanOrEqual(3.9)
    }
    // Floats, not autocannon's whole milliseconds.
    expect(results.filter((r) => !Number.isInteger(r.latencyMs)).length).toBe(results.length)
    expect(s.durationMs).toBeGreaterThan(590)
    expect(s.durationMs).toBeLessThan(2000)
    await expectNoOpenSockets()
  })

  it('marks function errors', async () => {
    const results: {functionError: boolean}[] = []
    await runClosedModel({host: '127.0.0.1', port, path: '/error', body, connections: 1, durationMs: 200, onResult: (r) => results.push(r)})
    expect(results.length).toBeGreaterThan(0)
    expect(results.every((r) => r.functionError)).toBe(true)
  })

  it('stops on abort', async () => {
    const controller = new AbortController()
    let count = 0
    const summary = runClosedModel({host: '127.0.0.1', port, path: '/slow/5', body, connections: 4, durationMs: 60_000, signal: controller.signal, onResult: () => count++})
    await new Promise((r) => setTimeout(r, 300))
    const abortedAt = performance.now()
    controller.abort()
    const countAtAbort = count
    const s = await summary
    expect(performance.now() - abortedAt).toBeLessThan(1000)
    expect(s.aborted).toBe(true)
    // Nothing is sent after the abort; at most the responses already on their way arrive.
    expect(count - countAtAbort).toBeLessThanOrEqual(4)
    await expectNoOpenSockets()
  })
})

describe('several request bodies', () => {
  it('are sent in turn by both models', async () => {
    const bodies = [Buffer.from('{"n":1}'), Buffer.from('{"n":2}')]
    recorded.length = 0
    await runOpenModel({host: '127.0.0.1', port, path: '/record', body: bodies, arrivals: constantArrivals({rate: 100, durationMs: 100}), maxInFlight: 4, onResult: () => {}})
    expect(recorded).toEqual(Array.from({length: 10}, (_, i) => `{"n":${(i % 2) + 1}}`))
    recorded.length = 0
    await runClosedModel({host: '127.0.0.1', port, path: '/record', body: bodies, connections: 1, durationMs: 300, onResult: () => {}})
    expect(recorded.length).toBeGreaterThan(4)
    expect(recorded.slice(0, 4)).toEqual(['{"n":1}', '{"n":2}', '{"n":1}', '{"n":2}'])
  })
})
