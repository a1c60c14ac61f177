// JavaScript-thread CPU per awaited call, read from the main thread's schedstat (Linux).
// Usage: node bench/call-cpu.js [calls] [optionsJSON]
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Database } = require('..')

const calls = Number(process.argv[2] || 20000)
const openOptions = JSON.parse(process.argv[3] || '{}')
const TEXT = 'Reviewed the authentication module: the session token is compared in constant time and refreshed on every request.'
const cpu = () => Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentdb-callcpu-'))
  const db = await Database.open(path.join(dir, 'b.db'), { durability: 'normal', ...openOptions })
  await db.migrate()
  const agent = await db.createAgent({ type: 'claudeCode', name: 'a', model: 'm' })
  const session = await db.createSession({ name: 's', mainAgentId: agent.id, model: 'm' })
  const empty = await db.createSession({ name: 'e', mainAgentId: agent.id, model: 'm' })
  const log = { sessionId: session.id, role: 'user', type: 'message', content: { text: TEXT, step: 1 } }
  await db.addLogs(Array.from({ length: 100 }, () => log))
  const cases = [
    ['countLogs(empty)', () => db.countLogs(empty.id)],
    ['getSessionWithAgent', () => db.getSessionWithAgent(session.id)],
    ['getLatestLogs(50)', () => db.getLatestLogs(session.id, { limit: 50 })],
    ['addLog', () => db.addLog(log)],
  ]
  for (const [name, call] of cases) {
    for (let i = 0; i < 2000; i++) await call()
    const c0 = cpu()
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) await call()
    const wall = performance.now() - t0
    const used = cpu() - c0
    console.log(`${name.padEnd(22)} wall ${((wall * 1000) / calls).toFixed(1).padStart(6)} us/call  JS cpu ${(used / calls / 1000).toFixed(2).padStart(6)} us/call`)
  }
  await db.close()
  fs.rmSync(dir, { recursive: true, force: true })
}
main()
