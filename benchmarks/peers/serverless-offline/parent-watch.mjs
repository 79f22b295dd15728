// Preloaded (node --import) into the serverless-offline process by start.mjs.
// If start.mjs dies without getting a chance to forward a signal (e.g. it is
// SIGKILLed), the serverless-offline process is re-parented; notice that and
// exit so no orphan keeps the ports busy. Worker threads inherit execArgv and
// so also load this file: only the main thread watches.
import { isMainThread } from "node:worker_threads"

if (isMainThread) {
  const parent = Number(process.env.SAI_PEER_PARENT_PID)
  if (parent > 0) {
    const timer = setInterval(() => {
      if (process.ppid === parent) return
      clearInterval(timer)
      // Graceful first (serverless-offline handles SIGTERM), hard after 5 s.
      process.kill(process.pid, "SIGTERM")
      setTimeout(() => process.exit(1), 5000).unref()
    }, 500).unref()
  }
}
