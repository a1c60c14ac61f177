'use strict'
// What a run measures: the drivers, the trials with their parameters, and the sizes of the
// seeded databases, for a full run and for `--quick`.

const DRIVERS = ['agentdb', 'better-sqlite3', 'libsql', 'floor']

const LABELS = {
  agentdb: '@cherry/agentdb',
  'better-sqlite3': 'better-sqlite3 12',
  libsql: '@libsql/client',
  floor: 'Rust floor',
}

const SIZES = {
  full: {
    runs: 5,
    warmup: 0.5,
    seconds: 2,
    seed: { agents: 100, sessions: 10_000, logsPerSession: 2, midLogs: 100_000, bigLogs: 1_000_100 },
    depths: [0, 100_000, 1_000_000],
    calls: 1_000_000,
    // @libsql/client does a few thousand point reads a second: a tenth of the calls keeps
    // its run to a minute.
    callsByDriver: { libsql: 100_000 },
  },
  quick: {
    runs: 1,
    warmup: 0.1,
    seconds: 0.4,
    seed: { agents: 20, sessions: 1_000, logsPerSession: 2, midLogs: 20_000, bigLogs: 100_100 },
    depths: [0, 10_000, 100_000],
    calls: 20_000,
    callsByDriver: {},
  },
}

/** What the delete trial drops from its copy of the database first, by name, to show what
 *  that part of the schema costs a delete: nothing, the activity triggers (migration 006),
 *  or the checkpoints table (migration 007, whose foreign key every log delete checks). */
const DELETE_SCHEMAS = {
  'as-migrated': [],
  'no-activity-triggers': ['sessions_activity_insert', 'session_logs_activity_insert', 'session_logs_activity_update', 'session_logs_activity_delete']
    .map((name) => `DROP TRIGGER ${name}`),
  'no-checkpoints': ['DROP TABLE session_checkpoints'],
}

/** The trial runs of one round: `{ key, trial, label, group, db, params }`; `db` says which
 *  seeded database the trial reads ('read') or gets a fresh copy of ('write').
 *  `sessionLogs`: the size of the session the fork and delete trials write (default: the
 *  size's mid session). */
function plan(size, { sessionLogs = size.seed.midLogs } = {}) {
  const t = { warmup: size.warmup, seconds: size.seconds }
  const sessions = size.seed.sessions
  const runs = [
    { key: 'open-migrate', trial: 'open-migrate', label: '1 open + migrate', db: null, params: { seconds: size.seconds } },
    { key: 'append', trial: 'append', label: '2 sequential appends', db: 'write', params: t },
    { key: 'append-concurrent', trial: 'append-concurrent', label: '3 8 concurrent appenders', db: 'write', params: { ...t, concurrency: 8 } },
    { key: 'append-batch', trial: 'append-batch', label: '4 batch append (rows/s)', db: 'write', params: { ...t, batch: 1000 } },
    { key: 'latest', trial: 'latest', label: '5 latest 50 logs', db: 'read', params: { ...t, latest: 50 } },
    { key: 'point-read', trial: 'point-read', label: '6 getSessionWithAgent', db: 'read', params: { ...t, sessions } },
  ]
  for (const mode of ['keyset', 'offset']) {
    for (const depth of size.depths) {
      runs.push({
        key: `page-${mode}-${depth}`,
        trial: 'page',
        label: `7 ${mode} page at ${depth.toLocaleString('en-US')}`,
        db: 'read',
        params: { ...t, mode, depth, pageSize: 100 },
      })
    }
  }
  for (const window of [1, 100]) {
    runs.push({
      key: `stream-${window}`,
      trial: 'stream',
      label: `10 streamed chunks (chunks/s, ${window === 1 ? 'each awaited' : `${window} in flight`})`,
      db: 'write',
      params: { ...t, chunk: 16, reply: 1000, window },
      drivers: ['agentdb'],
    })
  }
  const logs = sessionLogs.toLocaleString('en-US')
  runs.push({ key: 'fork', trial: 'fork', label: `11 fork a session of ${logs} logs (forks/s)`, db: 'write', params: { forks: 3, logs: sessionLogs }, drivers: ['agentdb'] })
  for (const op of ['deleteSession', 'deleteLogs']) {
    for (const schema of Object.keys(DELETE_SCHEMAS)) {
      runs.push({
        key: `delete-${op}-${schema}`,
        trial: 'delete',
        label: `12 ${op} of ${logs} logs, ${schema} (deletes/s)`,
        db: 'write',
        params: { op, schema, logs: sessionLogs, repeat: 3 },
        drivers: ['agentdb'],
      })
    }
  }
  runs.push({ key: 'rss-paging', trial: 'rss-paging', label: '9 RSS paging all logs', db: 'read', params: { pageSize: 1000 }, once: true })
  runs.push({ key: 'rss-calls', trial: 'rss-calls', label: '9 RSS across calls', db: 'read', params: { sessions, calls: size.calls }, once: true })
  return runs
}

module.exports = { DRIVERS, DELETE_SCHEMAS, LABELS, SIZES, plan }
