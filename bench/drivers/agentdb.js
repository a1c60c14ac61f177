'use strict'
// This addon, through its typed API (every call a Promise, SQLite off the JavaScript thread).

const { Database } = require('../..')

async function openMigrate(file) {
  const db = await Database.open(file)
  await db.migrate()
  await db.close()
}

async function open(file) {
  const db = await Database.open(file)
  return {
    addLog: (log) => db.addLog(log),
    addLogs: (logs) => db.addLogs(logs),
    appendLogText: (id, path, delta) => db.appendLogText(id, { path, delta }),
    forkSession: async (sessionId) => db.countLogs((await db.forkSession(sessionId)).session.id),
    latestLogs: (sessionId, limit) => db.getLatestLogs(sessionId, limit),
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

module.exports = { name: '@cherry/agentdb', openMigrate, open }
