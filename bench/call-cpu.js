// CPU per awaited call of the JavaScript thread and of the addon's database threads (the
// writer, the readers), read from each thread's schedstat (Linux), with the wall time.
// Usage: node bench/call-cpu.js [calls] [optionsJSON] [case,…]
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Database } = require('..')

const calls = Number(process.argv[2] || 20000)
const openOptions = JSON.parse(process.argv[3] || '{}')
const only = process.argv[4]?.split(',')
const TEXT = 'Reviewed the authentication module: the session token is compared in constant time and refreshed on every request.'
/** CPU nanoseconds so far of this process's thread `task`. */
const taskCpu = (task) => Number(fs.readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0])
const cpu = () => taskCpu(process.pid)

/** CPU nanoseconds so far of the addon's threads: the writer's, and the readers' together. */
function databaseThreads() {
  const out = { writer: 0, readers: 0 }
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      const name = fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim()
      const key = name === 'agentdb-writer' ? 'writer' : name.startsWith('agentdb-reader') ? 'readers' : null
      if (key) out[key] += taskCpu(task)
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out
}

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
  const perCall = (ns) => (ns / calls / 1000).toFixed(2).padStart(6)
  for (const [name, call] of cases.filter(([name]) => !only || only.includes(name))) {
    for (let i = 0; i < 2000; i++) await call()
    const c0 = cpu()
    const d0 = databaseThreads()
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) await call()
    const wall = performance.now() - t0
    const used = cpu() - c0
    const d1 = databaseThreads()
    console.log(
      `${name.padEnd(22)} wall ${((wall * 1000) / calls).toFixed(1).padStart(6)} us/call  JS cpu ${perCall(used)}  writer cpu ${perCall(d1.writer - d0.writer)}  readers cpu ${perCall(d1.readers - d0.readers)} us/call`,
    )
  }
  await db.close()
  fs.rmSync(dir, { recursive: true, force: true })
}
main()
