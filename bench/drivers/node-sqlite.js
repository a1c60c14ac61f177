'use strict'
// node:sqlite (Node 22.5 and later, the SQLite built into Node): synchronous, statements
// prepared once and returning arrays, WAL, synchronous=NORMAL.

const { DatabaseSync } = require('node:sqlite')
const sql = require('../lib/sql')
const { checksum } = require('../lib/migrations')
const { logFromRow, sessionWithAgentFromRow } = require('../lib/workload')

function connect(file) {
  const db = new DatabaseSync(file)
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000')
  return db
}

function openMigrate(file, migrations) {
  const db = connect(file)
  db.exec(sql.migrations_table)
  const record = db.prepare(sql.record_migration)
  for (const m of migrations) {
    db.exec('BEGIN IMMEDIATE')
    const started = performance.now()
    db.exec(m.sql)
    record.run(m.id, m.description, Math.round(performance.now() - started), checksum(m.sql))
    db.exec('COMMIT')
  }
  db.close()
}

function open(file) {
  const db = connect(file)
  const prepare = (text) => {
    const statement = db.prepare(text)
    statement.setReturnArrays(true)
    return statement
  }
  const insert = db.prepare(sql.insert_log)
  const latest = prepare(sql.latest_logs)
  const after = prepare(sql.logs_after)
  const offset = prepare(sql.logs_offset)
  const withAgent = prepare(sql.session_with_agent)
  const append = (log) =>
    Number(
      insert.run(log.sessionId, log.parentId ?? null, log.role, log.type, JSON.stringify(log.content),
        log.metadata === undefined ? null : JSON.stringify(log.metadata)).lastInsertRowid,
    )
  const appendAll = (logs) => {
    db.exec('BEGIN')
    try {
      const ids = logs.map(append)
      db.exec('COMMIT')
      return ids
    } catch (err) {
      db.exec('ROLLBACK')
      throw err
    }
  }
  const page = (rows) => {
    const items = rows.map(logFromRow)
    const last = items[items.length - 1]
    return { items, next: last && [last.id] }
  }
  return {
    addLog: append,
    addLogs: appendAll,
    latestLogs: (sessionId, limit) => latest.all(sessionId, limit).map(logFromRow).reverse(),
    sessionWithAgent: (id) => {
      const row = withAgent.get(id)
      return row === undefined ? null : sessionWithAgentFromRow(row)
    },
    cursorAt: (sessionId, depth) => [Number(offset.get(sessionId, 1, depth - 1)[0])],
    pageAfter: (sessionId, cursor, limit) => page(after.all(sessionId, ...(cursor ?? [0]), limit)),
    pageOffset: (sessionId, skip, limit) => offset.all(sessionId, limit, skip).map(logFromRow),
    close: () => db.close(),
  }
}

module.exports = { name: 'node:sqlite', openMigrate, open }
