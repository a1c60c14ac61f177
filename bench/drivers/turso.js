'use strict'
// @tursodatabase/database: Turso's own SQLite-compatible engine (not SQLite), its Promise API,
// statements prepared once, WAL (its only journal mode), synchronous=NORMAL, and the two
// features it keeps behind a flag that agentdb's schema needs: triggers and WITHOUT ROWID
// tables (the bare schema uses neither).

/** The experimental features of the engine this driver turns on. */
const EXPERIMENTAL = ['triggers', 'without_rowid']

const sql = require('../lib/sql')
const { checksum } = require('../lib/migrations')
const { logFromRow, sessionWithAgentFromRow } = require('../lib/workload')

async function connect(file) {
  const { connect: open } = await import('@tursodatabase/database')
  const db = await open(file, { experimental: EXPERIMENTAL })
  for (const pragma of ['journal_mode = WAL', 'synchronous = NORMAL', 'foreign_keys = ON', 'busy_timeout = 5000']) {
    await db.exec(`PRAGMA ${pragma}`)
  }
  return db
}

async function openMigrate(file, migrations) {
  const db = await connect(file)
  await db.exec(sql.migrations_table)
  for (const m of migrations) {
    await db.exec('BEGIN IMMEDIATE')
    const started = performance.now()
    await db.exec(m.sql)
    await db.run(sql.record_migration, m.id, m.description, Math.round(performance.now() - started), checksum(m.sql))
    await db.exec('COMMIT')
  }
  await db.close()
}

const insertArgs = (log) => [log.sessionId, log.parentId ?? null, log.role, log.type, JSON.stringify(log.content),
  log.metadata === undefined ? null : JSON.stringify(log.metadata)]

async function open(file) {
  const db = await connect(file)
  const prepare = async (text) => (await db.prepare(text)).raw(true)
  const insert = await db.prepare(sql.insert_log)
  const latest = await prepare(sql.latest_logs)
  const after = await prepare(sql.logs_after)
  const offset = await prepare(sql.logs_offset)
  const withAgent = await prepare(sql.session_with_agent)
  const page = (rows) => {
    const items = rows.map(logFromRow)
    const last = items[items.length - 1]
    return { items, next: last && [last.id] }
  }
  const appendAll = db.transactionAsync(async (tx, logs) => {
    const statement = await tx.prepare(sql.insert_log)
    const ids = []
    for (const log of logs) ids.push(Number((await statement.run(...insertArgs(log))).lastInsertRowid))
    return ids
  })
  return {
    addLog: async (log) => Number((await insert.run(...insertArgs(log))).lastInsertRowid),
    addLogs: (logs) => appendAll.immediate(logs),
    latestLogs: async (sessionId, limit) => (await latest.all(sessionId, limit)).map(logFromRow).reverse(),
    sessionWithAgent: async (id) => {
      const row = await withAgent.get(id)
      return row === undefined ? null : sessionWithAgentFromRow(row)
    },
    cursorAt: async (sessionId, depth) => [Number((await offset.get(sessionId, 1, depth - 1))[0])],
    pageAfter: async (sessionId, cursor, limit) => page(await after.all(sessionId, ...(cursor ?? [0]), limit)),
    pageOffset: async (sessionId, skip, limit) => (await offset.all(sessionId, limit, skip)).map(logFromRow),
    close: () => db.close(),
  }
}

module.exports = { name: '@tursodatabase/database', openMigrate, open }
