'use strict'
// This addon, through its typed API (every call a Promise, SQLite off the JavaScript thread),
// opened with `durability: 'normal'` (`synchronous=NORMAL`, as the peers are).
// `agentdb-full.js` is the same with `durability: 'full'`, for the durability trial, and
// `agentdb-inline.js` with `inlineReads`. A batch asks for the new ids only
// (`returning: 'ids'`), as the peers' drivers return no rows either.

const { Database } = require('../..')

/** The driver for databases opened with `durability` and the other options of `open` in
 *  `options`, named `name`. */
const withOptions = (name, durability, options = {}) => ({
  name,
  openMigrate: (file) => openMigrate(file, { ...options, durability }),
  open: (file) => open(file, { ...options, durability }),
})

/** The driver for databases opened with `durability`. */
const withDurability = (durability) =>
  withOptions(durability === 'normal' ? '@cherry/agentdb' : `@cherry/agentdb (${durability})`, durability)

async function openMigrate(file, options) {
  const db = await Database.open(file, options)
  await db.migrate()
  await db.close()
}

async function open(file, options) {
  const db = await Database.open(file, options)
  return {
    addLog: (log) => db.addLog(log),
    addLogs: (logs) => db.addLogs(logs, { returning: 'ids' }),
    appendLogText: (id, path, delta) => db.appendLogText(id, { path, delta }),
    forkSession: async (sessionId) => db.countLogs((await db.forkSession(sessionId)).session.id),
    deleteSession: (sessionId) => db.deleteSession(sessionId),
    deleteLogs: (sessionId) => db.deleteLogs(sessionId),
    latestLogs: async (sessionId, limit) => (await db.getLatestLogs(sessionId, limit)).items,
    sessionWithAgent: (id) => db.getSessionWithAgent(id),
    cursorAt: async (sessionId, depth) => (await db.getLogs(sessionId, { limit: 1, offset: depth - 1 })).nextCursor,
    pageAfter: async (sessionId, cursor, limit) => {
      const { items, nextCursor } = await db.getLogs(sessionId, cursor == null ? { limit } : { limit, after: cursor })
      return { items, next: nextCursor }
    },
    pageOffset: async (sessionId, skip, limit) => (await db.getLogs(sessionId, { limit, offset: skip })).items,
    close: () => db.close(),
  }
}

module.exports = { ...withDurability('normal'), withDurability, withOptions }
