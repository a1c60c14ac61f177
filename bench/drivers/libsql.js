'use strict'
// @libsql/client on a local file: the async API, WAL, synchronous=NORMAL.

const { createClient } = require('@libsql/client')
const sql = require('../lib/sql')
const { checksum } = require('../lib/migrations')
const { logFromRow, sessionWithAgentFromRow } = require('../lib/workload')

async function connect(file) {
  const client = createClient({ url: `file:${file}`, intMode: 'number' })
  await client.execute('PRAGMA journal_mode = WAL')
  await client.execute('PRAGMA synchronous = NORMAL')
  await client.execute('PRAGMA foreign_keys = ON')
  await client.execute('PRAGMA busy_timeout = 5000')
  return client
}

async function openMigrate(file, migrations) {
  const client = await connect(file)
  await client.execute(sql.migrations_table)
  for (const m of migrations) {
    const tx = await client.transaction('write')
    const started = performance.now()
    await tx.executeMultiple(m.sql)
    await tx.execute({ sql: sql.record_migration, args: [m.id, m.description, Math.round(performance.now() - started), checksum(m.sql)] })
    await tx.commit()
  }
  client.close()
}

const insertArgs = (log) => [log.sessionId, log.parentId ?? null, log.role, log.type, JSON.stringify(log.content),
  log.metadata === undefined ? null : JSON.stringify(log.metadata)]

async function open(file) {
  const client = await connect(file)
  const page = (rows) => {
    const items = rows.map(logFromRow)
    const last = items[items.length - 1]
    return { items, next: last && [last.id] }
  }
  return {
    addLog: async (log) => Number((await client.execute({ sql: sql.insert_log, args: insertArgs(log) })).lastInsertRowid),
    addLogs: async (logs) =>
      (await client.batch(logs.map((log) => ({ sql: sql.insert_log, args: insertArgs(log) })), 'write')).map((r) => Number(r.lastInsertRowid)),
    latestLogs: async (sessionId, limit) => (await client.execute({ sql: sql.latest_logs, args: [sessionId, limit] })).rows.map(logFromRow).reverse(),
    sessionWithAgent: async (id) => {
      const { rows } = await client.execute({ sql: sql.session_with_agent, args: [id] })
      return rows.length === 0 ? null : sessionWithAgentFromRow(rows[0])
    },
    cursorAt: async (sessionId, depth) => {
      const { rows } = await client.execute({ sql: sql.logs_offset, args: [sessionId, 1, depth - 1] })
      return [Number(rows[0][0])]
    },
    pageAfter: async (sessionId, cursor, limit) =>
      page((await client.execute({ sql: sql.logs_after, args: [sessionId, ...(cursor ?? [0]), limit] })).rows),
    pageOffset: async (sessionId, skip, limit) =>
      (await client.execute({ sql: sql.logs_offset, args: [sessionId, limit, skip] })).rows.map(logFromRow),
    close: async () => client.close(),
  }
}

module.exports = { name: '@libsql/client', openMigrate, open }
