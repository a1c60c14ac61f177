'use strict'
// What a run measures: the drivers, the trials with their parameters, and the sizes of the
// seeded databases, for a full run and for `--quick`.

/** Node versions some drivers run under instead of the Node running the bench: binaries from
 *  the npm registry's `node-<platform>-<arch>` packages (lib/node-binaries.js), the versions
 *  Electron ships (as in __test__/node-versions.spec.ts). */
const NODE_VERSIONS = { 22: '22.22.0', 24: '24.21.0' }

/** The schemas a peer runs on (lib/migrations.js holds their migrations): this addon's, the
 *  reference module's bare tables, and this addon's without its FTS5 tables (only for the
 *  driver that cannot run this addon's), each with its label in the reports. */
const SCHEMA_LABELS = { agentdb: "agentdb's schema", bare: 'bare schema', 'agentdb-nofts': "agentdb's schema without its FTS5 tables" }
const SCHEMAS = Object.keys(SCHEMA_LABELS)

/** Every driver, in the order of the reports: its label, its module in bench/drivers/ (its
 *  name unless `module` says), the `node` it runs under (a key of NODE_VERSIONS; the Node
 *  running the bench unless it says), the `schemas` it runs on (`agentdb` and `bare` unless
 *  it says) and a `note` the reports print. */
const DRIVER_SPECS = {
  agentdb: { label: '@cherry/agentdb', schemas: ['agentdb'] },
  'agentdb-inline': { label: '@cherry/agentdb (inlineReads)', schemas: ['agentdb'] },
  'better-sqlite3': { label: 'better-sqlite3 12' },
  'better-sqlite3-13@22': { label: 'better-sqlite3 13 (Node 22)', module: 'better-sqlite3-13', node: 22 },
  'better-sqlite3-13@24': { label: 'better-sqlite3 13 (Node 24)', module: 'better-sqlite3-13', node: 24 },
  'node-sqlite@22': { label: 'node:sqlite (Node 22)', module: 'node-sqlite', node: 22 },
  'node-sqlite@24': { label: 'node:sqlite (Node 24)', module: 'node-sqlite', node: 24 },
  sqlite3: { label: 'node-sqlite3' },
  libsql: { label: '@libsql/client' },
  turso: {
    label: '@tursodatabase/database',
    schemas: ['agentdb-nofts', 'bare'],
    note:
      "@tursodatabase/database cannot run agentdb's schema: it has no FTS5, so it cannot create the search index's two FTS5 tables (`no such module: fts5`), and on a file that holds them (seeded by SQLite) it loads none of the file's indexes, so the foreign key of session_logs finds no UNIQUE index on its parent key, sessions.id (`foreign key mismatch - \"session_logs\" referencing \"sessions\"`). It runs agentdb's schema without those two tables instead (the triggers recording the rows to index and every CHECK, index and other trigger kept): the library's search indexing is left out of its figures.",
  },
  floor: { label: 'Rust floor' },
}

const DRIVERS = Object.keys(DRIVER_SPECS)

/** What one column of the results measures: a driver on a schema. Its key is the driver's
 *  name on this addon's schema and `<driver>/<schema>` on another. */
const variant = (driver, schema) => ({
  key: schema === 'agentdb' ? driver : `${driver}/${schema}`,
  driver,
  schema,
  label: schema === 'agentdb' ? DRIVER_SPECS[driver].label : `${DRIVER_SPECS[driver].label}, ${SCHEMA_LABELS[schema]}`,
})

/** The variants of `drivers` on `schemas`, in report order: every driver on this addon's
 *  schema, then every driver on the bare one; a driver that needs a newer Node only when
 *  its Node is one of `nodes`. */
const variants = (drivers = DRIVERS, schemas = SCHEMAS, nodes = Object.keys(NODE_VERSIONS).map(Number)) =>
  schemas.flatMap((schema) =>
    DRIVERS.filter((d) => drivers.includes(d) && (DRIVER_SPECS[d].schemas ?? ['agentdb', 'bare']).includes(schema))
      .filter((d) => !DRIVER_SPECS[d].node || nodes.includes(DRIVER_SPECS[d].node))
      .map((d) => variant(d, schema)),
  )

/** Every variant's label by key. */
const LABELS = Object.fromEntries(variants().map((v) => [v.key, v.label]))

const SIZES = {
  // Three rounds (medians of three interleaved runs) of 1.5-second trials after 0.3 s of
  // warm-up: under 40 minutes on the 2-core development machine, as estimated from the
  // quick run's cost per process and the trials' sizes (five rounds of 2-second trials
  // after 0.5 s: about 70).
  full: {
    runs: 3,
    warmup: 0.3,
    seconds: 1.5,
    seed: { agents: 100, sessions: 10_000, logsPerSession: 2, midLogs: 100_000, bigLogs: 1_000_100 },
    depths: [0, 100_000, 1_000_000],
    calls: 1_000_000,
    nodes: [22, 24],
    // @libsql/client does a few thousand point reads a second: a tenth of the calls keeps
    // its run to a minute (and to a few seconds in the quick run).
    callsByDriver: { libsql: 100_000 },
  },
  // To stay well under two minutes, the quick run keeps its trials short, pages at two
  // depths, writes sessions of 5,000 logs for trials 11 and 12, and runs all of a driver's
  // trials but the memory ones in one process (`shareProcess`).
  quick: {
    runs: 1,
    warmup: 0.03,
    seconds: 0.15,
    shareProcess: true,
    sessionLogs: 5_000,
    nodes: [22, 24],
    seed: { agents: 20, sessions: 1_000, logsPerSession: 2, midLogs: 20_000, bigLogs: 100_100 },
    depths: [0, 100_000],
    calls: 5_000,
    callsByDriver: { libsql: 1_000 },
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

/** The trial runs of one round: `{ key, trial, label, db, params }`; `db` says which seeded
 *  database the trial reads ('read') or gets a fresh copy of ('write'); `drivers` and
 *  `schemas`, when present, are the only ones it runs with; `once`: in the first round only;
 *  `alone`: in a process of its own even where the quick run shares one among a driver's
 *  trials.
 *  `sessionLogs`: the size of the session the fork and delete trials write (default: the
 *  size's `sessionLogs`, else its mid session). */
function plan(size, { sessionLogs = size.sessionLogs ?? size.seed.midLogs } = {}) {
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
  // Memory depends on the driver, not on the schema: trial 9 runs on this addon's schema only
  // (without its FTS5 tables for the driver that cannot run it), each in a process of its own.
  const memory = { db: 'read', once: true, alone: true, schemas: ['agentdb', 'agentdb-nofts'] }
  runs.push({ key: 'rss-paging', trial: 'rss-paging', label: '9 RSS paging all logs', params: { pageSize: 1000 }, ...memory })
  runs.push({ key: 'rss-calls', trial: 'rss-calls', label: '9 RSS across calls', params: { sessions, calls: size.calls }, ...memory })
  return runs
}

module.exports = { NODE_VERSIONS, SCHEMA_LABELS, SCHEMAS, DRIVER_SPECS, DRIVERS, DELETE_SCHEMAS, variants, LABELS, SIZES, plan }
