'use strict'
// better-sqlite3 12: synchronous, prepared statements prepared once, WAL, synchronous=NORMAL.
// `better-sqlite3-13.js` is the same code on better-sqlite3 13 (a separate install, run on
// Node 22 and 24).

const sql = require('../lib/sql')
const { checksum } = require('../lib/migrations')
const { logFromRow, sessionWithAgentFromRow } = require('../lib/workload')

/** The driver on the better-sqlite3 `Database` class of one installed version. */
const withModule = (Database, name) => ({
  name,
  openMigrate: (file, migrations) => openMigrate(Database, file, migrations),
  open: (file) => open(Database, file),
})

function connect(Database, file) {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  return db
}

function openMigrate(Database, file, migrations) {
  const db = connect(Database, file)
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

function open(Database, file) {
  const db = connect(Database, file)
  const insert = db.prepare(sql.insert_log)
  const latest = db.prepare(sql.latest_logs).raw(true)
  const after = db.prepare(sql.logs_after).raw(true)
  const offset = db.prepare(sql.logs_offset).raw(true)
  const withAgent = db.prepare(sql.session_with_agent).raw(true)
  const append = (log) =>
    Number(
      insert.run(log.sessionId, log.parentId ?? null, log.role, log.type, JSON.stringify(log.content),
        log.metadata === undefined ? null : JSON.stringify(log.metadata)).lastInsertRowid,
    )
  const appendAll = db.transaction((logs) => logs.map(append))
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
    cursorAt: (sessionId, depth) => {
      const row = offset.get(sessionId, 1, depth - 1)
      return [Number(row[0])]
    },
    pageAfter: (sessionId, cursor, limit) => page(after.all(sessionId, ...(cursor ?? [0]), limit)),
    pageOffset: (sessionId, skip, limit) => offset.all(sessionId, limit, skip).map(logFromRow),
    close: () => db.close(),
  }
}

module.exports = { ...withModule(require('better-sqlite3'), 'better-sqlite3'), withModule }
