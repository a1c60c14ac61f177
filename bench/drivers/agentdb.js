'use strict'
// This addon, through its typed API (every call a Promise, SQLite off the JavaScript thread),
// opened with `durability: 'normal'` (`synchronous=NORMAL`, as the peers are).
// `agentdb-full.js` is the same with `durability: 'full'`, for the durability trial.

const { Database } = require('../..')

/** The driver for databases opened with `durability`. */
const withDurability = (durability) => ({
  name: durability === 'normal' ? '@cherry/agentdb' : `@cherry/agentdb (${durability})`,
  openMigrate: (file) => openMigrate(file, durability),
  open: (file) => open(file, durability),
})

async function openMigrate(file, durability) {
  const db = await Database.open(file, { durability })
  await db.migrate()
  await db.close()
}

async function open(file, durability) {
  const db = await Database.open(file, { durability })
  return {
    addLog: (log) => db.addLog(log),
    addLogs: (logs) => db.addLogs(logs),
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

module.exports = { ...withDurability('normal'), withDurability }
