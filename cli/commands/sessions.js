'use strict'
// Reading what agents did: sessions and logs.

const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { CliError, EXIT, usage } = require('../exit-codes')

const SESSION_STATUSES = ['idle', 'running', 'completed', 'failed', 'stopped']

const sessions = {
  name: 'sessions',
  summary: 'list sessions, most recent first',
  positionals: [databaseArgument],
  options: {
    status: { type: 'string', arg: 'STATUS', help: `only sessions in this status (${SESSION_STATUSES.join(', ')})` },
    agent: { type: 'string', arg: 'ID', help: 'only sessions whose main agent is ID' },
    limit: { type: 'string', arg: 'N', help: 'show at most N sessions (default 50)' },
  },
  async run({ positionals: { db: file }, options }, out) {
    if (options.status !== undefined && !SESSION_STATUSES.includes(options.status)) {
      throw usage(`--status must be one of ${SESSION_STATUSES.join(', ')}, got "${options.status}"`)
    }
    const limit = options.limit === undefined ? 50 : wholeNumber(options.limit, 'limit', 1)
    const page = await withDatabase(file, openOptionsFrom(options), (db) =>
      db.listSessions({ status: options.status, agentId: options.agent, limit }),
    )
    out.data(page)
    if (page.items.length === 0) {
      out.line('No sessions.')
      return EXIT.OK
    }
    out.table(
      [
        ['ID', (s) => s.id],
        ['STATUS', (s) => s.status],
        ['AGENT', (s) => s.mainAgentId],
        ['UPDATED', (s) => s.updatedAt],
        ['NAME', (s) => s.name ?? s.userGoal ?? ''],
      ],
      page.items,
    )
    if (page.nextCursor) out.line(`… more sessions: raise --limit to see them.`)
    return EXIT.OK
  },
}

/** How many logs one read returns. */
const PAGE = 1000
/** How often `logs --follow` looks for new logs. */
const FOLLOW_INTERVAL_MS = 1000

const logs = {
  name: 'logs',
  summary: 'print a session\'s logs in time order',
  positionals: [{ name: 'sessionId', help: 'the session' }, databaseArgument],
  options: {
    tree: { type: 'boolean', help: 'show the logs as a tree (each under its parent)' },
    follow: { type: 'boolean', help: 'keep printing new logs as they are written (Ctrl-C stops)' },
  },
  description: 'With --json: one JSON array (a tree with --tree), or with --follow one JSON object per line.',
  async run({ positionals: { sessionId, db: file }, options }, out) {
    if (options.tree && options.follow) throw usage('--tree and --follow cannot be combined')
    return withDatabase(file, openOptionsFrom(options), async (db) => {
      if (!(await db.getSession(sessionId))) throw new CliError('NOT_FOUND', `no session ${sessionId} in ${file}`)
      if (options.tree) {
        const tree = await db.getLogTree(sessionId)
        out.data(tree)
        printTree(out, tree, 0)
        return EXIT.OK
      }
      if (!options.follow) {
        const all = []
        await readAll(db, sessionId, (log) => all.push(log))
        out.data(all)
        for (const log of all) out.line(logLine(log))
        return EXIT.OK
      }
      const print = (log) => (out.json ? out.record(log) : out.line(logLine(log)))
      let lastId = await readAll(db, sessionId, print)
      const stopped = waitForInterrupt()
      while (!(await Promise.race([stopped, delay(FOLLOW_INTERVAL_MS).then(() => false)]))) {
        lastId = await readNew(db, sessionId, lastId, print)
      }
      return EXIT.OK
    })
  },
}

/** Reads a session's whole log in time order, page by page; resolves with the highest id seen. */
async function readAll(db, sessionId, each) {
  let lastId = 0
  let after
  do {
    const page = await db.getLogs(sessionId, { limit: PAGE, ...(after ? { after } : {}) })
    for (const log of page.items) {
      each(log)
      lastId = Math.max(lastId, log.id)
    }
    after = page.nextCursor
  } while (after)
  return lastId
}

/** Reads the logs written since `lastId` (ids only grow), in the order they were written. */
async function readNew(db, sessionId, lastId, each) {
  const rows = await db.query(
    'SELECT id FROM session_logs WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?',
    [sessionId, lastId, PAGE],
  )
  let last = lastId
  for (const { id } of rows) {
    const log = await db.getLog(id)
    if (log) each(log)
    last = id
  }
  return last
}

/** `2026-01-02T03:04:05.678Z  agent/message  {"text":"hi"}` */
function logLine(log, indent = '') {
  const content = typeof log.content === 'string' ? log.content : JSON.stringify(log.content)
  return `${log.createdAt}  ${indent}${log.role}/${log.type}  ${content}`
}

function printTree(out, nodes, depth) {
  for (const node of nodes) {
    out.line(logLine(node, '  '.repeat(depth)))
    printTree(out, node.children ?? [], depth + 1)
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves with true on the first Ctrl-C (SIGINT) or SIGTERM. */
function waitForInterrupt() {
  return new Promise((resolve) => {
    const stop = () => resolve(true)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

module.exports = { sessions, logs }
