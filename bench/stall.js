'use strict'
// `node bench/stall.js [--seconds N] [--addon PATH]`: how long large calls hold the
// JavaScript thread, with the addon at PATH (default the checkout's, built with `npm run build`).
//
// Awaits, call after call for N seconds each (default 3), a 1000-row `addLogs` of the bench's
// rows (bench/lib/workload.js), the same with `returning: 'ids'`, a 1000-row `getLogs` page and
// a 1000-row `getLatestLogs` page, and prints for each: rows per second, the longest
// synchronous part of a call, the event loop's delay (`monitorEventLoopDelay({ resolution: 1
// })`, whose samples include the 1 ms interval itself: p50 / p99 / max) and the JavaScript
// thread's CPU time per call (/proc/self/task/<pid>/schedstat). Then the CPU time per call of
// 20,000 awaited `getSessionWithAgent` and `addLog` calls. Linux only (schedstat).

const fs = require('node:fs')
const { mkdtempSync, rmSync } = fs
const { tmpdir } = require('node:os')
const { join, resolve } = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')

const { makeLog } = require('./lib/workload')

const args = process.argv.slice(2)
const at = (name) => args.indexOf(`--${name}`)
const { Database } = require(at('addon') === -1 ? join(__dirname, '..') : resolve(args[at('addon') + 1]))
const SECONDS = at('seconds') === -1 ? 3 : Number(args[at('seconds') + 1])

/** Nanoseconds the JavaScript thread has run on a CPU. */
const cpu = () => Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])

/** Awaits `call` again and again for SECONDS and prints what it cost. */
async function loop(name, call, rows) {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  let longest = 0
  let calls = 0
  const cpu0 = cpu()
  const t0 = performance.now()
  while (performance.now() - t0 < SECONDS * 1000) {
    const started = performance.now()
    const promise = call()
    longest = Math.max(longest, performance.now() - started)
    await promise
    calls++
  }
  const seconds = (performance.now() - t0) / 1000
  const ms = (ns) => (ns / 1e6).toFixed(2)
  delay.disable()
  console.log(
    `| ${name} | ${((calls * rows) / seconds).toFixed(0)} | ${longest.toFixed(2)} | ${ms(delay.percentile(50))} / ${ms(delay.percentile(99))} / ${ms(delay.max)} | ${ms((cpu() - cpu0) / calls)} |`,
  )
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-stall-'))
  try {
    const db = await Database.open(join(dir, 'stall.db'), { durability: 'normal' })
    await db.migrate()
    const agent = await db.createAgent({ type: 'claudeCode', name: 'a', model: 'm' })
    const session = await db.createSession({ name: 's', mainAgentId: agent.id, model: 'm' })
    const rows = Array.from({ length: 1000 }, (_, i) => makeLog(i, session.id))
    console.log('| calls | rows/s | longest synchronous call (ms) | event loop p50 / p99 / max (ms) | JS-thread CPU per call (ms) |')
    console.log('|---|---:|---:|---:|---:|')
    await loop('addLogs (1000 rows)', () => db.addLogs(rows), 1000)
    const ids = await db.addLogs(rows.slice(0, 1), { returning: 'ids' })
    if (typeof ids[0] === 'number') await loop("addLogs (1000 rows, returning: 'ids')", () => db.addLogs(rows, { returning: 'ids' }), 1000)
    const read = await db.createSession({ name: 'read', mainAgentId: agent.id, model: 'm' })
    await db.addLogs(Array.from({ length: 1000 }, (_, i) => makeLog(i, read.id)))
    await loop('getLogs (1000 rows)', () => db.getLogs(read.id, { limit: 1000 }), 1000)
    await loop('getLatestLogs (1000 rows)', () => db.getLatestLogs(read.id, 1000), 1000)
    for (const [name, call] of [
      ['getSessionWithAgent', () => db.getSessionWithAgent(session.id)],
      ['addLog', () => db.addLog(rows[1])],
    ]) {
      for (let i = 0; i < 2000; i++) await call()
      const calls = 20000
      const cpu0 = cpu()
      for (let i = 0; i < calls; i++) await call()
      console.log(`${name}: ${((cpu() - cpu0) / calls / 1000).toFixed(2)} µs of JS-thread CPU per call`)
    }
    await db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
