'use strict'
// `node bench/purge.js [--sessions N] [--logs N] [--rounds N] [--addon PATH]`: how long an
// app's addLog waits while a large purge runs (default 2000 sessions of 50 logs, about 400
// bytes each), with the addon at PATH (default the checkout's, built with `npm run build`).
//
// On each of two files holding the same sessions, one appender awaits addLog after addLog
// into a session that is kept, and records each call's latency: first alone (the
// baseline), then while `purge({ sessionIds })` removes every other session (in chunks),
// then, on the second file, while `deleteAgent` of the agent holding them does the same in
// one transaction, and last, on the first file, while `compact()` hands back the pages the
// purge freed. Prints, as Markdown and as one JSON line, each phase's longest and p99
// wait and how long the removal took, medians of N rounds (alternating the order).

const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join, resolve } = require('node:path')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(args[at + 1])
}
const addonAt = args.indexOf('--addon')
const { Database } = require(addonAt === -1 ? join(__dirname, '..') : resolve(args[addonAt + 1]))
const SESSIONS = option('sessions', 2000)
const LOGS = option('logs', 50)
const ROUNDS = option('rounds', 3)
const TEXT = 'lorem ipsum dolor sit amet '.repeat(15)

/** A file with a kept agent and session, and an agent holding SESSIONS sessions of LOGS logs. */
async function seed(dir, name) {
  const db = await Database.open(join(dir, name))
  await db.migrate()
  const kept = await db.createAgent({ name: 'kept', model: 'm' })
  const live = await db.createSession({ mainAgentId: kept.id })
  const doomed = await db.createAgent({ name: 'doomed', model: 'm' })
  const ids = []
  for (let i = 0; i < SESSIONS; i += 20) {
    const operations = []
    for (let j = i; j < Math.min(SESSIONS, i + 20); j++) {
      operations.push({ op: 'createSession', input: { mainAgentId: doomed.id } })
      const ref = { ref: operations.length - 1 }
      operations.push({
        op: 'addLogs',
        inputs: Array.from({ length: LOGS }, (_, k) => ({ sessionId: ref, role: 'agent', type: 'message', content: { text: `${TEXT}${j}.${k}` } })),
      })
    }
    for (const result of await db.batch(operations)) if (result && result.mainAgentId === doomed.id) ids.push(result.id)
  }
  await db.searchLogs('lorem', { limit: 1 }) // index everything before measuring
  await db.checkpoint()
  return { db, live, doomed, ids }
}

/** Appends one log after another until `done()` says stop; each call's latency in ms. */
async function append(db, sessionId, done) {
  const waits = []
  let i = 0
  while (!done()) {
    const started = process.hrtime.bigint()
    await db.addLog({ sessionId, role: 'user', type: 'message', content: { text: `app ${i++}` } })
    waits.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  return waits
}

function summary(waits, ms) {
  const sorted = [...waits].sort((a, b) => a - b)
  return { calls: waits.length, max: sorted[sorted.length - 1], p99: sorted[Math.floor(sorted.length * 0.99)], ms }
}

/** The appender's waits while `removal` runs. */
async function during(db, sessionId, removal) {
  let finished = false
  const started = process.hrtime.bigint()
  const removing = removal().then(() => {
    finished = true
  })
  const waits = await append(db, sessionId, () => finished)
  await removing
  return summary(waits, Number(process.hrtime.bigint() - started) / 1e6)
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function round(index) {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-purge-bench-'))
  try {
    const a = await seed(dir, 'purge.db')
    const b = await seed(dir, 'delete.db')
    const alone = await (async () => {
      const until = Date.now() + 1000
      const started = process.hrtime.bigint()
      const waits = await append(a.db, a.live.id, () => Date.now() >= until)
      return summary(waits, Number(process.hrtime.bigint() - started) / 1e6)
    })()
    const runPurge = () => during(a.db, a.live.id, () => a.db.purge({ sessionIds: a.ids }))
    const runDelete = () => during(b.db, b.live.id, () => b.db.deleteAgent(b.doomed.id))
    let purge
    let hard
    if (index % 2 === 0) {
      purge = await runPurge()
      hard = await runDelete()
    } else {
      hard = await runDelete()
      purge = await runPurge()
    }
    // The pages the purge freed, handed back while the appender goes on.
    const compact = await during(a.db, a.live.id, () => a.db.compact())
    await a.db.close()
    await b.db.close()
    return { alone, purge, hard, compact }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main() {
  const rounds = []
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(i))
  const pick = (phase, key) => median(rounds.map((r) => r[phase][key]))
  const phases = {
    alone: 'addLog alone',
    purge: 'during purge (chunks)',
    hard: 'during deleteAgent (one transaction)',
    compact: 'during compact() after the purge (steps)',
  }
  console.log(`${SESSIONS} sessions x ${LOGS} logs removed; medians of ${ROUNDS} rounds\n`)
  console.log('| phase | addLog calls | longest wait (ms) | p99 wait (ms) | removal took (ms) |')
  console.log('|---|---|---|---|---|')
  for (const [phase, label] of Object.entries(phases)) {
    const ms = phase === 'alone' ? '' : pick(phase, 'ms').toFixed(0)
    console.log(`| ${label} | ${pick(phase, 'calls')} | ${pick(phase, 'max').toFixed(2)} | ${pick(phase, 'p99').toFixed(2)} | ${ms} |`)
  }
  console.log(JSON.stringify({ sessions: SESSIONS, logs: LOGS, rounds }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
