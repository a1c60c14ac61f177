'use strict'
// `npm run bench:watch [-- --appends N] [--rounds N] [--runs N]`: what change events cost,
// with the release addon (AGENTDB_ADDON names another build of it).
//
// Prints, as Markdown and as one JSON line:
// - appends per second (`addLogs` batches of 100, and single `addLog` calls 64 in flight) on
//   a database migrated to the migration before the change log (no triggers), on one with
//   the change log and no watch, and on one with the change log and one active watch;
//   medians of N rounds that alternate the three, each on a new file;
// - the delay from a write to its listener, p50 / p99: for writes of this process (from the
//   call, which includes the write itself, to the listener), and for writes of another
//   process (from the moment its write resolved, after its commit, to the listener), each
//   write after a pause so that the writer is idle when it lands.

const { spawn } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

const ADDON = process.env.AGENTDB_ADDON || join(__dirname, '..')
const { Database } = require(ADDON)

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(args[at + 1])
}
const APPENDS = option('appends', 20_000)
const SINGLES = Math.min(APPENDS, 10_000)
const ROUNDS = option('rounds', 5)
const RUNS = option('runs', 200)
const MODES = ['before', 'off', 'on']

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const quantile = (xs, q) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** A new database on `file`: migrated fully, or (`before`) to the migration before the change log. */
async function open(file, mode) {
  const db = await Database.open(file)
  if (mode === 'before') {
    const builtin = (await db.listMigrations()).filter((m) => m.namespace === 'agentdb')
    const at = builtin.findIndex((m) => m.description.startsWith('A change log'))
    await db.migrate({ to: builtin[at - 1].id, namespace: 'agentdb' })
  } else {
    await db.migrate()
  }
  await db.createAgent({ id: 'a1', name: 'Bench', model: 'm' })
  await db.createSession({ id: 's0', mainAgentId: 'a1' })
  return db
}

async function timed(work) {
  const started = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - started) / 1e6
}

/** Appends per second in one mode, on a new file. */
async function appendRate(dir, mode, round) {
  const db = await open(join(dir, `append-${mode}-${round}.db`), mode)
  let heard = 0
  const stop = mode === 'on' ? db.watch((event) => (heard += event.changes.length)) : () => {}
  const log = (i) => ({ sessionId: 's0', role: 'agent', type: 'message', content: { text: `reply ${i} of the bench` } })
  const batched = await timed(async () => {
    for (let i = 0; i < APPENDS; i += 100) await db.addLogs(Array.from({ length: 100 }, (_, k) => log(i + k)))
  })
  const singles = await timed(async () => {
    let i = 0
    const worker = async () => {
      while (i < SINGLES) await db.addLog(log(i++))
    }
    await Promise.all(Array.from({ length: 64 }, worker))
  })
  stop()
  await db.close()
  if (mode === 'on' && heard !== APPENDS + SINGLES) throw new Error(`the watch heard ${heard} changes of ${APPENDS + SINGLES}`)
  return { batched: APPENDS / (batched / 1000), single: SINGLES / (singles / 1000) }
}

/** Call-to-listener delays of this process's single writes, each after a pause. */
async function inProcessDelays(dir) {
  const db = await open(join(dir, 'delay-in.db'), 'on')
  const delays = []
  let started = 0
  // One write at a time: each event is the write in flight (it comes before the call resolves).
  const stop = db.watch(() => delays.push(now() - started), { tables: ['session_logs'] })
  for (let i = 0; i < RUNS; i++) {
    await sleep(5 + (i % 20))
    started = now()
    await db.addLog({ sessionId: 's0', role: 'user', type: 'message', content: { i } })
  }
  stop()
  await db.close()
  if (delays.length !== RUNS) throw new Error(`${delays.length} events for ${RUNS} writes`)
  return delays
}

/** Resolve-to-listener delays of another process's writes. */
async function otherProcessDelays(dir) {
  const file = join(dir, 'delay-other.db')
  const db = await open(file, 'on')
  const heard = new Map()
  const stop = db.watch((event) => {
    const at = now()
    for (const change of event.changes) heard.set(change.id, at)
  }, { tables: ['session_logs'] })
  const child = spawn(process.execPath, [__filename, '--child', file, String(RUNS)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AGENTDB_ADDON: ADDON } })
  let text = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (text += chunk))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`the writing process exited with ${code}`)
  await sleep(200)
  stop()
  await db.close()
  const written = text.trim().split('\n').map((line) => JSON.parse(line))
  const missing = written.filter((w) => !heard.has(w.id))
  if (missing.length) throw new Error(`${missing.length} writes of the other process were not heard`)
  return written.map((w) => heard.get(w.id) - w.resolved)
}

/** The other process: `RUNS` single writes, each after a pause, each reported with when it resolved. */
async function child(file, runs) {
  const db = await Database.open(file)
  for (let i = 0; i < runs; i++) {
    await sleep(5 + ((i * 7) % 60))
    const log = await db.addLog({ sessionId: 's0', role: 'user', type: 'message', content: { i } })
    process.stdout.write(`${JSON.stringify({ id: log.id, resolved: now() })}\n`)
  }
  await db.close()
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-watch-bench-'))
  try {
    const rates = Object.fromEntries(MODES.map((m) => [m, []]))
    for (let round = 0; round < ROUNDS; round++) {
      // Each round runs the three modes in another order.
      const order = MODES.map((_, k) => MODES[(k + round) % MODES.length])
      for (const mode of order) rates[mode].push(await appendRate(dir, mode, round))
    }
    const med = (mode, kind) => median(rates[mode].map((r) => r[kind]))
    const inProcess = await inProcessDelays(dir)
    const other = await otherProcessDelays(dir)
    const result = {
      appends: APPENDS,
      rounds: ROUNDS,
      batched: Object.fromEntries(MODES.map((m) => [m, Math.round(med(m, 'batched'))])),
      single: Object.fromEntries(MODES.map((m) => [m, Math.round(med(m, 'single'))])),
      delayMs: {
        inProcess: { p50: quantile(inProcess, 0.5), p99: quantile(inProcess, 0.99), n: inProcess.length },
        otherProcess: { p50: quantile(other, 0.5), p99: quantile(other, 0.99), n: other.length },
      },
    }
    const ratio = (a, b) => (a / b).toFixed(2)
    const f = (x) => x.toFixed(2)
    console.log(`| appends per second (medians of ${ROUNDS} rounds) | before the change log | change log, no watch | one active watch | watch / no watch | change log / before |`)
    console.log('|---|---:|---:|---:|---:|---:|')
    for (const [label, kind] of [['`addLogs`, batches of 100', 'batched'], ['`addLog`, 64 in flight', 'single']]) {
      const r = result[kind]
      console.log(`| ${label} | ${r.before} | ${r.off} | ${r.on} | ${ratio(r.on, r.off)} | ${ratio(r.off, r.before)} |`)
    }
    console.log('')
    console.log('| delay to the listener | p50 ms | p99 ms | writes |')
    console.log('|---|---:|---:|---:|')
    const d = result.delayMs
    console.log(`| this process (from the call) | ${f(d.inProcess.p50)} | ${f(d.inProcess.p99)} | ${d.inProcess.n} |`)
    console.log(`| another process (from its resolved write) | ${f(d.otherProcess.p50)} | ${f(d.otherProcess.p99)} | ${d.otherProcess.n} |`)
    console.log('')
    console.log(JSON.stringify(result))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const childAt = args.indexOf('--child')
const run = childAt === -1 ? main() : child(args[childAt + 1], Number(args[childAt + 2]))
run.catch((err) => {
  console.error(err)
  process.exitCode = 1
})
