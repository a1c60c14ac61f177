'use strict'
// The trials, each an async function of a driver module and its parameters returning its
// record. They mirror bench/floor/src/trials.rs call for call.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { DELETE_SCHEMAS } = require('./config')
const { record, throughput, watchEventLoop, rss, peakRss } = require('./measure')
const { readMigrations } = require('./migrations')
const { makeLog, sessionId, rng } = require('./workload')

function removeDatabase(file) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true })
}

/**
 * Drops a part of the schema (`DELETE_SCHEMAS[schema]`) from the database file `db` (a copy made for this trial), in a
 * separate process with better-sqlite3: the library refuses schema changes through its own
 * SQL, and a second SQLite in this process would not see its locks.
 */
function withoutPart(db, schema) {
  const statements = DELETE_SCHEMAS[schema]
  if (!statements) throw new Error(`unknown schema ${schema} (known: ${Object.keys(DELETE_SCHEMAS).join(', ')})`)
  if (statements.length === 0) return
  const script = `const db = require('better-sqlite3')(process.argv[1]); db.exec(process.argv[2]); db.close()`
  execFileSync(process.execPath, ['-e', script, db, statements.join('; ')], { cwd: path.join(__dirname, '..'), stdio: 'inherit' })
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b)
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

const trials = {
  /** 1: open a fresh file, migrate it to the schema of `p.migrations`, close it; repeated,
   *  median time. */
  'open-migrate': (driver, p) =>
    watchEventLoop(async (timeCall) => {
      const migrations = readMigrations(p.migrations)
      const times = []
      const started = performance.now()
      for (let i = 0; times.length < 5 || performance.now() - started < p.seconds * 1000; i++) {
        const file = path.join(p.dir, `${driver.name.replace(/\W/g, '')}-open-${i}.db`)
        removeDatabase(file)
        const t = performance.now()
        await timeCall(() => driver.openMigrate(file, migrations))
        times.push(performance.now() - t)
        removeDatabase(file)
      }
      const ms = median(times)
      return { ops: times.length, medianMs: ms, opsPerSec: 1000 / ms }
    }),

  /** 2: single appends, each awaited. */
  async append(driver, p) {
    const db = await driver.open(p.db)
    const session = sessionId(0)
    const result = await throughput(p.warmup, p.seconds, async (i, timeCall) => {
      const log = makeLog(i, session)
      await timeCall(() => db.addLog(log))
      return 1
    })
    await db.close()
    return result
  },

  /** 3: `concurrency` appenders, each on its own session awaiting each append, with
   *  the event loop watched. */
  async 'append-concurrent'(driver, p) {
    const db = await driver.open(p.db)
    const run = async (seconds, timeCall) => {
      const until = performance.now() + seconds * 1000
      const appender = async (t) => {
        const session = sessionId(t)
        let ops = 0
        while (performance.now() < until) {
          const log = makeLog(ops, session)
          await timeCall(() => db.addLog(log))
          ops++
        }
        return ops
      }
      const counts = await Promise.all(Array.from({ length: p.concurrency }, (_, t) => appender(t)))
      return counts.reduce((a, b) => a + b, 0)
    }
    await run(p.warmup, (call) => call())
    const result = await watchEventLoop(async (timeCall) => {
      const started = performance.now()
      const ops = await run(p.seconds, timeCall)
      return record(ops, ops, (performance.now() - started) / 1000)
    })
    await db.close()
    return result
  },

  /** 4: appends of `batch` rows per call. */
  async 'append-batch'(driver, p) {
    const db = await driver.open(p.db)
    const session = sessionId(0)
    const batchOf = (call) => Array.from({ length: p.batch }, (_, i) => makeLog(call * p.batch + i, session))
    const result = await throughput(p.warmup, p.seconds, async (call, timeCall) => {
      const logs = batchOf(call)
      await timeCall(() => db.addLogs(logs))
      return p.batch
    })
    await db.close()
    return result
  },

  /** 10: a streamed reply, chunk by chunk: `chunk`-character deltas appended at `text` inside
   *  one log's content, `window` chunks sent before awaiting them (1: each awaited; a model's
   *  stream need not wait), a new reply every `reply` chunks. Rows are chunks. Only drivers
   *  with `appendLogText` take part. */
  async stream(driver, p) {
    const db = await driver.open(p.db)
    const session = sessionId(0)
    const delta = 'x'.repeat(p.chunk)
    let reply = null
    let sent = 0
    const result = await throughput(p.warmup, p.seconds, async () => {
      if (reply === null || sent >= p.reply) {
        reply = await db.addLog({ ...makeLog(0, session), content: { text: '' }, status: 'pending' })
        sent = 0
      }
      const calls = Array.from({ length: p.window }, () => db.appendLogText(reply.id, 'text', delta))
      await Promise.all(calls)
      sent += p.window
      return p.window
    })
    await db.close()
    return result
  },

  /** 11: `forkSession` of a session of `logs` logs (written first, 1000 per `addLogs`), all of
   *  them, `forks` times; the median time of one fork. Only drivers with `forkSession` take part. */
  async fork(driver, p) {
    const db = await driver.open(p.db)
    const session = sessionId(0)
    for (let i = 0; i < p.logs; i += 1000) {
      await db.addLogs(Array.from({ length: Math.min(1000, p.logs - i) }, (_, j) => makeLog(i + j, session)))
    }
    const result = await watchEventLoop(async (timeCall) => {
      const times = []
      let rows = 0
      for (let i = 0; i < p.forks; i++) {
        const t = performance.now()
        rows = await timeCall(() => db.forkSession(session))
        times.push(performance.now() - t)
      }
      const ms = median(times)
      return { ops: times.length, rows, medianMs: ms, opsPerSec: 1000 / ms }
    })
    await db.close()
    return result
  },

  /** 12: `op` (`deleteSession` or `deleteLogs`) of a session of `logs` logs (written first,
   *  1000 per `addLogs`), on `repeat` sessions; the median time of one delete. `schema` says
   *  what is dropped from this copy of the database first (`withoutPart`), so that the
   *  runs side by side show what that part costs a delete. Only drivers with `op` take part. */
  async delete(driver, p) {
    withoutPart(p.db, p.schema)
    const db = await driver.open(p.db)
    const times = []
    for (let n = 0; n < p.repeat; n++) {
      const session = sessionId(n)
      for (let i = 0; i < p.logs; i += 1000) {
        await db.addLogs(Array.from({ length: Math.min(1000, p.logs - i) }, (_, j) => makeLog(i + j, session)))
      }
      const t = performance.now()
      await db[p.op](session)
      times.push(performance.now() - t)
    }
    await db.close()
    const ms = median(times)
    return { ops: times.length, rows: p.logs, medianMs: ms, opsPerSec: 1000 / ms }
  },

  /** 5: the latest `latest` logs of session-mid, content parsed. */
  async latest(driver, p) {
    const db = await driver.open(p.db)
    const result = await throughput(p.warmup, p.seconds, async (_, timeCall) => (await timeCall(() => db.latestLogs('session-mid', p.latest))).length)
    await db.close()
    return result
  },

  /** 6: getSessionWithAgent of random seeded sessions. */
  async 'point-read'(driver, p) {
    const db = await driver.open(p.db)
    const next = rng(6)
    const result = await throughput(p.warmup, p.seconds, async (_, timeCall) => {
      const id = sessionId(next(p.sessions))
      await timeCall(() => db.sessionWithAgent(id))
      return 1
    })
    await db.close()
    return result
  },

  /** 7: a page of `pageSize` logs of session-big at `depth`, by keyset cursor or OFFSET. */
  async page(driver, p) {
    const db = await driver.open(p.db)
    const cursor = p.depth > 0 ? await db.cursorAt('session-big', p.depth) : null
    const fetch = p.mode === 'keyset'
      ? async () => (await db.pageAfter('session-big', cursor, p.pageSize)).items
      : () => db.pageOffset('session-big', p.depth, p.pageSize)
    const result = await throughput(p.warmup, p.seconds, async (_, timeCall) => {
      const items = await timeCall(fetch)
      if (items.length !== p.pageSize) throw new Error(`page at depth ${p.depth} has ${items.length} rows`)
      return items.length
    })
    await db.close()
    return result
  },

  /** 9: every log of session-big by keyset pages; resident memory before and at its peak. */
  async 'rss-paging'(driver, p) {
    const db = await driver.open(p.db)
    const result = await watchEventLoop(async (timeCall) => {
      const before = rss()
      let peak = before
      let rows = 0
      let pages = 0
      let cursor = null
      const started = performance.now()
      for (;;) {
        const { items, next } = await timeCall(() => db.pageAfter('session-big', cursor, p.pageSize))
        peak = Math.max(peak, rss())
        if (items.length === 0) break
        rows += items.length
        pages++
        if (next == null) break
        cursor = next
      }
      const seconds = (performance.now() - started) / 1000
      return { rows, pages, seconds, rssBefore: before, rssPeak: peak, growth: peak - before, hwm: peakRss() }
    })
    await db.close()
    return result
  },

  /** 9: `calls` point reads (one in a hundred for a missing session); resident memory after
   *  each tenth, after a full garbage collection. The only trial without the event loop
   *  watched: its forced collections would be what the watch measured. */
  async 'rss-calls'(driver, p) {
    const db = await driver.open(p.db)
    const next = rng(9)
    const samples = []
    const started = performance.now()
    for (let i = 0; i < p.calls; i++) {
      const id = i % 100 === 99 ? 'missing-session' : sessionId(next(p.sessions))
      try {
        await db.sessionWithAgent(id)
      } catch (err) {
        if (err.code !== 'NOT_FOUND') throw err
      }
      if ((i + 1) % Math.max(1, Math.floor(p.calls / 10)) === 0) {
        global.gc?.()
        samples.push(rss())
      }
    }
    const seconds = (performance.now() - started) / 1000
    await db.close()
    return { calls: p.calls, seconds, samples, hwm: peakRss() }
  },
}

module.exports = { trials, removeDatabase }
