// Short reads with and without `inlineReads`, in one run: ops/s and JavaScript-thread CPU
// per awaited call (the main thread's schedstat, Linux), and the event loop's delay and the
// longest synchronous call while they run.
// Usage: node bench/inline-reads.js [calls]
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { Database } = require('..')

const calls = Number(process.argv[2] || 20000)
const TEXT = 'Reviewed the authentication module: the session token is compared in constant time and refreshed on every request.'
const cpu = () => Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])

async function measure(call) {
  for (let i = 0; i < 2000; i++) await call()
  const delay = monitorEventLoopDelay({ resolution: 1 })
  // A timer keeps the delay histogram fed while awaited calls run back to back.
  const tick = setInterval(() => {}, 1)
  delay.enable()
  let longest = 0
  const c0 = cpu()
  const t0 = performance.now()
  for (let i = 0; i < calls; i++) {
    const s = performance.now()
    const p = call()
    longest = Math.max(longest, performance.now() - s)
    await p
  }
  const wall = performance.now() - t0
  const used = cpu() - c0
  delay.disable()
  clearInterval(tick)
  return {
    opsPerSec: Math.round((calls * 1000) / wall),
    cpuUs: (used / calls / 1000).toFixed(2),
    loopMs: [delay.percentile(50), delay.percentile(99), delay.max].map((ns) => (ns / 1e6).toFixed(2)).join('/'),
    longestMs: longest.toFixed(3),
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentdb-inline-'))
  const file = path.join(dir, 'b.db')
  const setup = await Database.open(file, { durability: 'normal' })
  await setup.migrate()
  const agent = await setup.createAgent({ type: 'claudeCode', name: 'a', model: 'm' })
  const session = await setup.createSession({ name: 's', mainAgentId: agent.id, model: 'm' })
  const log = { sessionId: session.id, role: 'user', type: 'message', content: { text: TEXT, step: 1 } }
  await setup.addLogs(Array.from({ length: 500 }, () => log))
  await setup.close()
  const cases = [
    ['getSessionWithAgent', (db) => () => db.getSessionWithAgent(session.id)],
    ['getLatestLogs(50)', (db) => () => db.getLatestLogs(session.id, { limit: 50 })],
    ['getLogs(1000)', (db) => () => db.getLogs(session.id, { limit: 1000 })],
  ]
  console.log('call'.padEnd(22), 'inlineReads', 'ops/s'.padStart(7), 'JS cpu us'.padStart(10), 'loop p50/p99/max ms'.padStart(20), 'longest ms'.padStart(11))
  for (const [name, make] of cases) {
    for (const inlineReads of [false, true]) {
      const db = await Database.open(file, { durability: 'normal', inlineReads })
      const r = await measure(make(db))
      await db.close()
      console.log(name.padEnd(22), String(inlineReads).padEnd(11), String(r.opsPerSec).padStart(7), r.cpuUs.padStart(10), r.loopMs.padStart(20), r.longestMs.padStart(11))
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
}
main()
