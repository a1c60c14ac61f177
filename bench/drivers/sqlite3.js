'use strict'
// node-sqlite3 (the `sqlite3` package): asynchronous, every statement run on libuv's thread
// pool with a callback, wrapped in Promises; statements prepared once, WAL, synchronous=NORMAL.

const sqlite3 = require('sqlite3')
const sql = require('../lib/sql')
const { checksum } = require('../lib/migrations')
const { logFromRow, sessionWithAgentFromRow } = require('../lib/workload')

/** Calls `target[method](...args, callback)` and resolves with the callback's result; `run`
 *  resolves with its `this` (`lastID`, `changes`). */
const call = (target, method, ...args) =>
  new Promise((resolve, reject) => {
    target[method](...args, function done(err, result) {
      if (err) reject(err)
      else resolve(method === 'run' ? this : result)
    })
  })

async function connect(file) {
  const db = await new Promise((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)))
  })
  await call(db, 'exec', 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000')
  return db
}

async function openMigrate(file, migrations) {
  const db = await connect(file)
  await call(db, 'exec', sql.migrations_table)
  for (const m of migrations) {
    await call(db, 'exec', 'BEGIN IMMEDIATE')
    const started = performance.now()
    await call(db, 'exec', m.sql)
    await call(db, 'run', sql.record_migration, [m.id, m.description, Math.round(performance.now() - started), checksum(m.sql)])
    await call(db, 'exec', 'COMMIT')
  }
  await call(db, 'close')
}

const insertArgs = (log) => [log.sessionId, log.parentId ?? null, log.role, log.type, JSON.stringify(log.content),
  log.metadata === undefined ? null : JSON.stringify(log.metadata)]

/** node-sqlite3 returns rows as objects keyed by column name; the join of
 *  session_with_agent.sql repeats names, so rows are turned into arrays by position through
 *  column aliases `c0`, `c1`, … */
function positional(text) {
  const [select, rest] = text.split(/\bFROM\b/)
  const columns = select.replace(/^\s*SELECT\s+/i, '').split(',')
  return `SELECT ${columns.map((c, i) => `${c.trim()} AS c${i}`).join(', ')}\nFROM${rest}`
}
const toArray = (row) => Object.values(row)

async function open(file) {
  const db = await connect(file)
  const prepare = (text) =>
    new Promise((resolve, reject) => {
      const statement = db.prepare(text, (err) => (err ? reject(err) : resolve(statement)))
    })
  const insert = await prepare(sql.insert_log)
  const latest = await prepare(sql.latest_logs)
  const after = await prepare(sql.logs_after)
  const offset = await prepare(sql.logs_offset)
  const withAgent = await prepare(positional(sql.session_with_agent))
  const rows = async (statement, args) => (await call(statement, 'all', args)).map(toArray)
  const append = async (log) => (await call(insert, 'run', insertArgs(log))).lastID
  const page = (list) => {
    const items = list.map(logFromRow)
    const last = items[items.length - 1]
    return { items, next: last && [last.id] }
  }
  return {
    addLog: append,
    addLogs: async (logs) => {
      await call(db, 'exec', 'BEGIN IMMEDIATE')
      try {
        const ids = await Promise.all(logs.map(append))
        await call(db, 'exec', 'COMMIT')
        return ids
      } catch (err) {
        await call(db, 'exec', 'ROLLBACK')
        throw err
      }
    },
    latestLogs: async (sessionId, limit) => (await rows(latest, [sessionId, limit])).map(logFromRow).reverse(),
    sessionWithAgent: async (id) => {
      const row = await call(withAgent, 'get', [id])
      return row === undefined ? null : sessionWithAgentFromRow(toArray(row))
    },
    cursorAt: async (sessionId, depth) => [Number((await rows(offset, [sessionId, 1, depth - 1]))[0][0])],
    pageAfter: async (sessionId, cursor, limit) => page(await rows(after, [sessionId, ...(cursor ?? [0]), limit])),
    pageOffset: async (sessionId, skip, limit) => (await rows(offset, [sessionId, limit, skip])).map(logFromRow),
    close: async () => {
      for (const statement of [insert, latest, after, offset, withAgent]) await call(statement, 'finalize')
      await call(db, 'close')
    },
  }
}

module.exports = { name: 'node-sqlite3', openMigrate, open }
