'use strict'
// Reading what agents did: sessions and logs.

const fs = require('node:fs')

const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { CliError, EXIT, usage } = require('../exit-codes')

const SESSION_STATUSES = ['idle', 'running', 'completed', 'failed', 'stopped']

const sessions = {
  name: 'sessions',
  summary: 'list sessions, most recently active first',
  positionals: [databaseArgument],
  options: {
    status: { type: 'string', arg: 'STATUS', help: `only sessions in this status (${SESSION_STATUSES.join(', ')})` },
    agent: { type: 'string', arg: 'ID', help: 'only sessions whose main agent is ID (the AGENT ID column)' },
    limit: { type: 'string', arg: 'N', help: 'show at most N sessions (default 50)' },
  },
  description: 'Most recently active first: a log written in a session moves it up. With --json: the page\nof sessions, each with its agent\'s name as agentName and its logCount.',
  async run({ positionals: { db: file }, options }, out) {
    if (options.status !== undefined && !SESSION_STATUSES.includes(options.status)) {
      throw usage(`--status must be one of ${SESSION_STATUSES.join(', ')}, got "${options.status}"`)
    }
    const limit = options.limit === undefined ? 50 : wholeNumber(options.limit, 'limit', 1)
    const page = await withDatabase(file, openOptionsFrom(options, { readOnly: true }), async (db) => {
      if (options.agent !== undefined && !(await db.agentExists(options.agent))) {
        throw new CliError('NOT_FOUND', `no agent ${options.agent} in ${file}`)
      }
      const found = await db.listSessions({
        status: options.status,
        agentId: options.agent,
        orderBy: 'lastActivityAt',
        include: ['agent', 'logCount'],
        limit,
      })
      return { ...found, items: found.items.map(({ agent, ...s }) => ({ ...s, agentName: agent?.name ?? null })) }
    })
    out.data(page)
    if (page.items.length === 0) {
      out.line('No sessions.')
      return EXIT.OK
    }
    out.table(
      [
        ['ID', (s) => s.id],
        ['STATUS', (s) => s.status],
        ['AGENT', (s) => s.agentName],
        ['AGENT ID', (s) => s.mainAgentId],
        ['ACTIVE', (s) => s.lastActivityAt],
        ['LOGS', (s) => String(s.logCount)],
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
/** File names that are databases, not session ids. */
const DATABASE_NAME = /\.(db|db3|sqlite|sqlite3)$/i

const logs = {
  name: 'logs',
  summary: 'print a session\'s logs in the order they were appended',
  positionals: [{ name: 'sessionId', help: 'the session (agentdb sessions lists them)' }, databaseArgument],
  options: {
    tree: { type: 'boolean', help: 'show the logs as a tree (each under its parent)' },
    follow: { type: 'boolean', help: 'keep printing new logs, and logs again when they are updated (Ctrl-C stops)' },
    limit: { type: 'string', arg: 'N', help: 'only the N newest logs (with --follow: to start with)' },
  },
  description: [
    'Each log is one line: #id, time, role/type, [status] when not complete (pending, streaming,',
    'error, cancelled, interrupted), content, and (forked: ids) on a log a fork was made at, and',
    '(checkpoint) on the last log the session\'s compaction checkpoint summarises. A fork starts',
    'with the session it was forked from, a session with a checkpoint with a line saying what it',
    'covers. With --follow, the same, then a log updated after it was printed (a streamed reply)',
    'is printed again with its new content, marked (updated).',
    'With --json: one JSON array (a tree with --tree), or with --follow one JSON object per line,',
    'a log again each time its updatedAt changes.',
  ].join('\n'),
  async run({ positionals: { sessionId, db: file }, options, given }, out) {
    checkLogsArguments(sessionId, file, given)
    if (options.tree && options.follow) throw usage('--tree and --follow cannot be combined')
    if (options.tree && options.limit !== undefined) throw usage('--limit and --tree cannot be combined: a tree is shown whole')
    const limit = options.limit === undefined ? undefined : wholeNumber(options.limit, 'limit', 1)
    // --follow watches a database another process is writing, which a read-only open (that
    // never takes part in the write-ahead log of a file it found without one) would not see.
    return withDatabase(file, openOptionsFrom(options, { readOnly: !options.follow }), async (db) => {
      const found = await db.getSessionWithAgent(sessionId)
      if (!found) {
        throw new CliError('NOT_FOUND', `no session ${sessionId} in ${file} (agentdb sessions ${file} lists them)`)
      }
      if (options.tree) {
        const tree = await db.getLogTree(sessionId)
        out.data(tree)
        printTree(out, tree, 0)
        return EXIT.OK
      }
      // --follow hears of every log written or updated from the change events of the
      // database (db.watch), from this moment on: what changes while the first page is read
      // is printed after it.
      const changed = options.follow ? await watchLogs(db, sessionId, file) : null
      const first = limit === undefined ? await readAll(db, sessionId) : await readLatest(db, sessionId, limit)
      for (const line of await header(db, sessionId, found.checkpoint)) out.line(line)
      const marks = await marksByLog(db, sessionId, first, found.checkpoint)
      if (!options.follow) {
        out.data(first)
        for (const log of first) out.line(logLine(log) + (marks.get(log.id) ?? ''))
        return EXIT.OK
      }
      const seen = new Seen()
      const print = (log, mark = '') => {
        const updated = seen.has(log.id)
        seen.add(log)
        if (out.json) out.record(log)
        else out.line(logLine(log, '', updated) + mark)
      }
      for (const log of first) print(log, marks.get(log.id))
      seen.start()
      const stopped = waitForInterrupt()
      while (!(await Promise.race([stopped, changed.next().then(() => false)]))) {
        for (const id of changed.take()) {
          const log = await db.getLog(id)
          if (log && seen.changed(log)) print(log)
        }
      }
      changed.stop()
      return EXIT.OK
    })
  },
}

/**
 * Refuses the mistakes `logs` invites, naming them: a database file where the session id
 * goes (`agentdb logs app.db`), or the two swapped (`agentdb logs app.db <id>`).
 */
function checkLogsArguments(sessionId, file, given) {
  const isDatabase = (name) => DATABASE_NAME.test(name) || isFile(name)
  if (given.length === 1 && isDatabase(sessionId)) {
    throw usage(`missing <sessionId>: "${sessionId}" is a database; run agentdb logs <sessionId> ${sessionId} (agentdb sessions ${sessionId} lists the ids)`)
  }
  if (given.length === 2 && isFile(sessionId) && !isFile(file)) {
    throw usage(`"${sessionId}" is a database and "${file}" is not: the session id comes first, agentdb logs ${file} ${sessionId}`)
  }
}

function isFile(name) {
  try {
    return fs.statSync(name).isFile()
  } catch {
    return false
  }
}

/**
 * The `(id, updatedAt)` of every log printed, the highest id and the newest updatedAt. The
 * logs left out at the start (by --limit) are printed only once they are updated.
 */
class Seen {
  constructor() {
    this.updatedAt = new Map()
    this.lastId = 0
    this.newest = ''
    this.started = null
  }

  /** Marks the end of the first read: the logs not printed by then are left out until updated. */
  start() {
    this.started = this.newest
  }

  has(id) {
    return this.updatedAt.has(id)
  }

  add(log) {
    this.updatedAt.set(log.id, log.updatedAt)
    this.lastId = Math.max(this.lastId, log.id)
    if (log.updatedAt > this.newest) this.newest = log.updatedAt
  }

  /** Whether `log` (an id and an updatedAt) is new, or changed since it was printed. */
  changed(log) {
    if (this.updatedAt.has(log.id)) return this.updatedAt.get(log.id) !== log.updatedAt
    return log.id > this.lastId || log.updatedAt > this.started
  }
}

/** Reads a session's whole log in append order, page by page. */
async function readAll(db, sessionId) {
  const all = []
  let after
  do {
    const page = await db.getLogs(sessionId, { limit: PAGE, ...(after ? { after } : {}) })
    all.push(...page.items)
    after = page.nextCursor
  } while (after)
  return all
}

/** Reads the `limit` newest logs of a session, oldest of them first, scrolling back a page at a time. */
async function readLatest(db, sessionId, limit) {
  const newest = []
  let after
  do {
    const page = await db.getLatestLogs(sessionId, { limit: Math.min(PAGE, limit - newest.length), ...(after ? { after } : {}) })
    newest.unshift(...page.items)
    after = page.nextCursor
  } while (after && newest.length < limit)
  return newest
}

/**
 * Watches the logs of a session: `next()` resolves once a log was written or updated (by
 * this or another process) since the last `take()`, which returns their ids in id order.
 * Needs the change log of the library's built-in migrations.
 */
async function watchLogs(db, sessionId, file) {
  try {
    await db.changesSince(0, { sessionId })
  } catch (err) {
    if (err.code !== 'NOT_MIGRATED') throw err
    throw new CliError('NOT_MIGRATED', `--follow needs the change log of the latest built-in migration: run agentdb migrate ${file}`)
  }
  let ids = new Set()
  let wake = null
  const stop = db.watch(
    (event) => {
      for (const change of event.changes) if (change.op !== 'delete') ids.add(change.id)
      if (wake && ids.size) wake()
    },
    { tables: ['session_logs'], sessionId },
  )
  return {
    next: () =>
      new Promise((resolve) => {
        if (ids.size) resolve()
        else wake = resolve
      }),
    take() {
      const taken = [...ids].sort((a, b) => a - b)
      ids = new Set()
      wake = null
      return taken
    },
    stop,
  }
}

/** `#12  2026-01-02T03:04:05.678Z  agent/message  {"text":"hi"}`; an updated log shows when it was updated, marked. */
function logLine(log, indent = '', updated = false) {
  const content = typeof log.content === 'string' ? log.content : JSON.stringify(log.content)
  const time = updated ? log.updatedAt : log.createdAt
  const status = log.status && log.status !== 'complete' ? `[${log.status}]  ` : ''
  return `#${log.id}  ${time}  ${indent}${log.role}/${log.type}  ${status}${updated ? '(updated)  ' : ''}${content}`
}

/** How much of a checkpoint's summary the header shows. */
const SUMMARY_SHOWN = 60

/**
 * The lines `logs` starts with (text mode): where a fork came from, and what the session's
 * compaction checkpoint covers.
 */
async function header(db, sessionId, checkpoint) {
  const lines = []
  const fork = await db.getFork(sessionId)
  if (fork) lines.push(`forked from ${fork.sourceSessionId ?? '(a deleted session)'}${fork.atLogId === null ? '' : ` at #${fork.atLogId}`}`)
  if (checkpoint) {
    const tokens = checkpoint.coveredTokens === null && checkpoint.summaryTokens === null
      ? ''
      : ` (${checkpoint.coveredTokens ?? '?'} tokens summarised in ${checkpoint.summaryTokens ?? '?'})`
    const summary = checkpoint.summary.length > SUMMARY_SHOWN ? `${checkpoint.summary.slice(0, SUMMARY_SHOWN)}…` : checkpoint.summary
    lines.push(`checkpoint through #${checkpoint.throughLogId}${tokens}: ${JSON.stringify(summary)}`)
  }
  return lines
}

/**
 * What follows a log's line: `  (forked: id, …)` on each log of `logs` that a fork of the
 * session was made at (a fork of all the logs is made at the last one), `  (checkpoint)` on
 * the last log the checkpoint covers.
 */
async function marksByLog(db, sessionId, logs, checkpoint) {
  const forks = new Map()
  const last = logs.at(-1)?.id
  for (const fork of await db.listForks(sessionId)) {
    const at = fork.atLogId ?? last
    if (at !== undefined) forks.set(at, [...(forks.get(at) ?? []), fork.session.id])
  }
  const marks = new Map([...forks].map(([id, made]) => [id, `  (forked: ${made.join(', ')})`]))
  if (checkpoint) marks.set(checkpoint.throughLogId, `${marks.get(checkpoint.throughLogId) ?? ''}  (checkpoint)`)
  return marks
}

function printTree(out, nodes, depth) {
  for (const node of nodes) {
    out.line(logLine(node, '  '.repeat(depth)))
    printTree(out, node.children ?? [], depth + 1)
  }
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
