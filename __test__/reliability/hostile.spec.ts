// Hostile input: property-based tests (fast-check) call every public method with arbitrary
// JavaScript values: wrong types, huge strings, deep and cyclic objects, NaN, negative and
// fractional numbers, unicode and NUL bytes, throwing getters and proxies, SQL fragments;
// both as whole arguments and as one field of an otherwise valid argument. Every call must
// return a Promise (never throw, never crash the process); every rejection must be an Error
// with a documented code other than INTERNAL; a rejected call must leave every row as it
// was; and afterwards integrity_check and foreign_key_check must be clean.
import { createHash } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { DOCUMENTED_CODES, figure, outcome, removeTempDirs, tempDir } from './helpers'

const RUNS = Number(process.env.RELIABILITY_FUZZ_RUNS ?? 60)
const SEED = Number(process.env.RELIABILITY_FUZZ_SEED ?? 20261126)

let home = ''
const cwd = process.cwd()
beforeAll(() => {
  // Path arguments the fuzzer makes up land in a temporary directory, never in the work tree.
  home = tempDir('hostile')
  process.chdir(home)
})
afterAll(() => {
  process.chdir(cwd)
  removeTempDirs()
})

// ---------------------------------------------------------------------------------------
// Hostile values

function deepObject(depth: number): unknown {
  let value: unknown = { leaf: true }
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}
function deepArray(depth: number): unknown {
  let value: unknown = [1]
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const SQL_FRAGMENTS = [
  'SELECT 1',
  'SELECT * FROM agents',
  "'; DROP TABLE agents; --",
  'DROP TABLE session_logs',
  'DELETE FROM agents',
  'SELECT 1; SELECT 2',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT s',
  'RELEASE s',
  'END',
  'VACUUM',
  "ATTACH DATABASE ':memory:' AS other",
  'PRAGMA foreign_keys = OFF',
  'PRAGMA ignore_check_constraints = ON',
  'PRAGMA writable_schema = ON',
  "UPDATE sqlite_master SET sql = 'CREATE TABLE agents (x)' WHERE name = 'agents'",
  'PRAGMA journal_mode = OFF',
  'PRAGMA journal_mode = DELETE',
  'PRAGMA locking_mode = EXCLUSIVE',
  'PRAGMA schema_version = 1',
  'PRAGMA synchronous = OFF',
  'PRAGMA query_only = ON',
  'PRAGMA user_version = 7',
  "SELECT load_extension('nope')",
  "INSERT INTO session_logs (session_id, role, type, content) VALUES ('missing', 'user', 'message', '1')",
  "INSERT INTO agents (id, name, model, max_steps) VALUES ('neg', 'n', 'm', -1)",
  'CREATE TABLE IF NOT EXISTS extra (x)',
  'SELECT ?',
  'SELECT :name',
  '-- only a comment',
  '/* unterminated',
  '',
  '   ',
  '\0',
]

const HUGE = 'x'.repeat(1 << 20)

const special = fc.constantFrom<unknown>(
  NaN, -0, Infinity, -Infinity, -1, 0.5, -1.5, 1e308, 2 ** 53 + 2, -(2 ** 31), 2 ** 32, Number.MIN_VALUE,
  '', '\0', 'a\0b', '\uD800', '🚀', 'e\u0301', '\u202e', ' ', HUGE, 'file:x.db?mode=memory', ':memory:',
  10n, 2n ** 70n, Symbol('s'), true, false, null, undefined,
  () => 1, () => { throw new Error('called') }, class {}, async () => 1,
  new Date(NaN), new Date(8.64e15), /re/g, new Map([[1, 2]]), new Set([1]), new Uint8Array(4), new ArrayBuffer(8),
  new DataView(new ArrayBuffer(4)), Buffer.from('buffer'), Promise.resolve(1), new Error('an error'),
)

/** A value made only when the call is made: proxies and cyclic objects would trip up the
 *  generator's own bookkeeping. */
class Lazy {
  constructor(readonly make: () => unknown) {}
  toString(): string {
    return `Lazy(${this.make.toString().slice(0, 60)})`
  }
}

/** Makes the lazy values inside arguments built from plain objects and arrays. */
function materialize(value: unknown): unknown {
  if (value instanceof Lazy) return value.make()
  if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) return value.map(materialize)
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialize(v)]))
  }
  return value
}

const built = fc.constantFrom<() => unknown>(
  () => deepObject(5000),
  () => deepArray(5000),
  () => {
    const o: Record<string, unknown> = { name: 'n', model: 'm' }
    o.self = o
    return o
  },
  () => {
    const a: unknown[] = [1]
    a.push(a)
    return a
  },
  () => Object.defineProperty({ name: 'n', model: 'm' }, 'id', { enumerable: true, get: () => { throw new Error('getter') } }),
  () => new Proxy({}, { get: () => { throw new Error('get trap') }, ownKeys: () => { throw new Error('keys trap') } }),
  () => new Proxy([], { get: () => { throw new Error('array trap') } }),
  () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    return proxy
  },
  () => Object.create(null),
  () => ({ toString: () => { throw new Error('toString') }, valueOf: () => { throw new Error('valueOf') }, toJSON: () => { throw new Error('toJSON') } }),
  // biome-ignore lint/suspicious/noSparseArray: a hole in an array is one of the hostile values
  () => [1, , 3],
  () => Object.assign([1, 2], { extra: 'field' }),
)

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withTypedArray: true, withSparseArray: true, maxDepth: 3 }) },
  { weight: 3, arbitrary: special },
  { weight: 2, arbitrary: built.map((make) => new Lazy(make)) },
  { weight: 2, arbitrary: fc.constantFrom(...SQL_FRAGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
)

// ---------------------------------------------------------------------------------------
// Arguments: a valid call for every method, then the same call with one argument, or one
// field inside one argument, replaced by a hostile value (or an unknown field added).

type Fixture = { agentId: string; sessionId: string; logId: number; file: string }

const logInput = (f: Fixture) => ({ sessionId: f.sessionId, role: 'user', type: 'message', content: { text: 'hi' }, metadata: null })

const TEMPLATES: Record<string, (f: Fixture) => unknown[]> = {
  migrate: () => [{ dryRun: true, limit: 1, to: '003', namespace: 'app' }],
  rollbackLast: () => [{ allowRecordedSql: false }],
  rollbackTo: () => ['002', { namespace: 'agentdb', allowRecordedSql: false }],
  getMigrationSummary: () => [],
  listMigrations: () => [],
  validateMigrations: () => [],
  repairMigrations: () => [{ ids: ['001'], namespace: 'agentdb', dryRun: true }],
  initialize: () => [],
  addMigration: () => [{ id: '003', namespace: 'app', requires: '001', description: 'extra', up: ['CREATE TABLE extra (x)'], down: ['DROP TABLE extra'], createdAt: '2026-01-01T00:00:00.000Z' }],
  addMigrations: () => [[{ id: '20260101000000', namespace: '@acme/notes', description: 'extra', up: ['CREATE TABLE extra (x)'] }]],
  createAgent: () => [{ name: 'n', model: 'm', type: 'custom', builtInTools: ['a'], configuration: { k: 1 }, maxSteps: 3 }],
  getAgent: (f) => [f.agentId],
  updateAgent: (f) => [f.agentId, { name: 'renamed', maxSteps: 4, configuration: { k: 2 } }],
  listAgents: () => [{ limit: 5, type: 'custom' }],
  deleteAgent: (f) => [f.agentId],
  restoreAgent: (f) => [f.agentId],
  countAgents: () => [],
  agentExists: (f) => [f.agentId],
  createSession: (f) => [{ mainAgentId: f.agentId, name: 's', status: 'running', maxSteps: 2, builtInTools: ['b'] }],
  getSession: (f) => [f.sessionId],
  getSessionByExternalId: () => ['ext-1'],
  updateSession: (f) => [f.sessionId, { name: 'renamed', status: 'idle', model: null }],
  updateSessionStatus: (f) => [f.sessionId, 'completed'],
  listSessions: (f) => [{ status: 'running', agentId: f.agentId, orderBy: 'lastActivityAt', include: ['agent', 'latestLog', 'logCount'], limit: 5 }],
  countSessions: (f) => [f.agentId],
  deleteSession: (f) => [f.sessionId, { soft: true }],
  restoreSession: (f) => [f.sessionId],
  purge: (f) => [{ sessionIds: [f.sessionId], dryRun: true }],
  stats: () => [{ largest: 2 }],
  compact: () => [{ full: false }],
  getSessionWithAgent: (f) => [f.sessionId],
  addLog: (f) => [logInput(f)],
  addLogs: (f) => [[logInput(f), { ...logInput(f), role: 'agent', type: 'thought' }], { returning: 'ids' }],
  getLog: (f) => [f.logId],
  getLogs: (f) => [f.sessionId, { limit: 5, order: 'desc' }],
  getLatestLogs: (f) => [f.sessionId, 5],
  updateLog: (f) => [f.logId, { content: { text: 'edited' } }],
  deleteLogs: (f) => [f.sessionId],
  recordUsage: (f) => [{ requestId: 'r1', sessionId: f.sessionId, logId: f.logId, model: 'm', inputTokens: 3, outputTokens: 2, cost: 0.5, currency: 'USD' }],
  usageSummary: () => [{ groupBy: 'day', since: '2020-01-01T00:00:00.000Z', until: '2999-01-01T00:00:00.000Z' }],
  exportSession: (f) => [f.sessionId, 'session.jsonl', { format: 'jsonl' }],
  importSession: (f) => ['session.jsonl', { agentId: f.agentId }],
  countLogs: (f) => [f.sessionId],
  getLogTree: (f) => [f.sessionId],
  searchLogs: (f) => ['hi "a phrase"', { sessionId: f.sessionId, agentId: f.agentId, role: 'user', type: 'message', since: '2020-01-01T00:00:00.000Z', order: 'newest', limit: 5, syntax: 'plain' }],
  searchSessions: (f) => ['hi', { agentId: f.agentId, limit: 5, syntax: 'fts5' }],
  rebuildSearchIndex: () => [],
  deleteLog: (f) => [f.logId, { children: 'reparent' }],
  appendLogText: (f) => [f.logId, { path: 'text', delta: 'more' }],
  finishLog: (f) => [f.logId, { status: 'complete', content: { text: 'final' } }],
  listInterruptedLogs: (f) => [{ sessionId: f.sessionId, limit: 5 }],
  forkSession: (f) => [f.sessionId, { atLogId: f.logId, name: 'fork' }],
  listForks: (f) => [f.sessionId],
  getFork: (f) => [f.sessionId],
  setCheckpoint: (f) => [f.sessionId, { summary: 'so far', throughLogId: f.logId, coveredTokens: 10, summaryTokens: 2, metadata: { k: 1 } }],
  clearCheckpoint: (f) => [f.sessionId],
  changesSince: () => [0, { tables: ['agents'] }],
  query: () => ['SELECT id, name FROM agents WHERE name = ?', ['n']],
  execute: () => ['UPDATE agents SET name = ? WHERE id = ?', ['renamed', 'nobody']],
  batch: (f) => [[{ op: 'addLog', input: logInput(f) }, { op: 'updateSessionStatus', id: f.sessionId, status: 'failed' }]],
  backup: () => ['copy.db'],
  integrityCheck: () => [{ full: false }],
  checkpoint: () => [],
  close: () => [],
}

/** Replaces what is at `path` (a list of keys/indexes) inside `args` by `value`. */
function replaceAt(args: unknown[], path: (string | number)[], value: unknown): unknown[] {
  const copy = structuredClone(args) as unknown[]
  let at: Record<string | number, unknown> = copy as never
  for (const key of path.slice(0, -1)) at = at[key] as never
  at[path[path.length - 1]] = value
  return copy
}

/** Every place inside `args` a value can be swapped: each argument and each nested field. */
function places(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const found: (string | number)[][] = prefix.length ? [prefix] : []
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) found.push(...places(inner, [...prefix, Array.isArray(value) ? Number(key) : key]))
  }
  return found
}

function argumentsFor(method: string, fixture: Fixture): fc.Arbitrary<unknown[]> {
  const valid = TEMPLATES[method](fixture)
  const spots = [...places(valid), [valid.length], [valid.length + 1]]
  const objects = places(valid).filter((p) => {
    const target = p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], valid)
    return target !== null && typeof target === 'object' && !Array.isArray(target)
  })
  return fc.oneof(
    fc.array(hostile, { maxLength: 4 }),
    fc.tuple(fc.constantFrom(...spots), hostile).map(([spot, value]) => replaceAt(valid, spot, value)),
    ...(objects.length
      ? [fc.tuple(fc.constantFrom(...objects), fc.string({ maxLength: 8 }), hostile).map(([spot, key, value]) => replaceAt(valid, [...spot, `x${key}`], value))]
      : []),
    fc.constant(valid),
  )
}

/** Keeps path arguments inside the temporary directory (the process runs as root). */
function confine(value: unknown): unknown {
  if (typeof value === 'string' && (isAbsolute(value) || value.includes('..') || value.startsWith('~'))) {
    return `confined-${createHash('sha1').update(value).digest('hex').slice(0, 12)}`
  }
  try {
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype && 'backup' in value) {
      return { ...value, backup: confine((value as { backup: unknown }).backup) }
    }
  } catch {
    // A proxy whose traps throw: handed over as it is.
  }
  return value
}

// ---------------------------------------------------------------------------------------
// The database each method is fuzzed against, and how its content is compared.

async function prepared(file: string): Promise<{ db: Database; fixture: Fixture }> {
  // The short reads run on the JavaScript thread: the hostile arguments meet that path too.
  const db = await Database.open(file, { inlineReads: true })
  await db.migrate()
  const agent = await db.createAgent({ id: 'agent-1', name: 'n', model: 'm' })
  await db.createAgent({ id: 'agent-2', name: 'other', model: 'm2', type: 'codex' })
  const session = await db.createSession({ id: 'session-1', mainAgentId: agent.id, externalSessionId: 'ext-1' })
  const logs = await db.addLogs(Array.from({ length: 6 }, (_, i) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: { i } })))
  await db.addLog({ sessionId: session.id, parentId: logs[0].id, role: 'agent', type: 'thought', content: 'reply' })
  return { db, fixture: { agentId: agent.id, sessionId: session.id, logId: logs[2].id, file } }
}

/** A digest of every row of every table, read through another connection. */
async function digest(checker: Database): Promise<string> {
  // Writes leave rows recorded for the search index, which a writer indexes once idle; the
  // integrity check indexes them first, so that the digest is of the file as it settles.
  await checker.integrityCheck()
  const hash = createHash('sha256')
  const tables = (await checker.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")) as { name: string; sql: string }[]
  for (const { name, sql } of tables) {
    hash.update(name)
    // A table without rowids (the search index's configuration, for one) is read in key order.
    const order = /WITHOUT ROWID\s*$/i.test(sql) ? '' : ' ORDER BY rowid'
    const rows = await checker.query(`SELECT * FROM "${name.replace(/"/g, '""')}"${order}`)
    hash.update(JSON.stringify(rows, (_, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v)))
  }
  return hash.digest('hex')
}

/** Calls `method` and classifies what happened; fails on a synchronous throw or an undocumented rejection. */
/** The methods that return nothing and throw their errors, as the reference Migrator's do. */
const SYNCHRONOUS = new Set(['addMigration', 'addMigrations'])

async function call(target: unknown, method: string, args: unknown[]): Promise<{ resolved: boolean; value?: unknown; error?: { code: string; results?: { success: boolean }[] } }> {
  const refused = (err: unknown) => {
    expect(err, `${method} failed with a non-Error`).toBeInstanceOf(Error)
    const code = (err as { code?: string }).code
    expect(DOCUMENTED_CODES.has(code ?? ''), `${method} failed with undocumented code ${code}: ${(err as Error).message}`).toBe(true)
    expect(code, `${method}: ${(err as Error).message}`).not.toBe('INTERNAL')
    return { resolved: false, error: err as never }
  }
  let returned: unknown
  try {
    returned = (target as Record<string, (...a: unknown[]) => unknown>)[method](...args.map((a) => confine(materialize(a))))
  } catch (err) {
    if (SYNCHRONOUS.has(method)) return refused(err)
    throw new Error(`${method} threw synchronously: ${String(err)}`)
  }
  if (SYNCHRONOUS.has(method)) {
    expect(returned, `${method} returns nothing`).toBeUndefined()
    return { resolved: true, value: returned }
  }
  expect(returned, `${method} must return a Promise`).toBeInstanceOf(Promise)
  try {
    return { resolved: true, value: await returned }
  } catch (err) {
    return refused(err)
  }
}

const tally = { calls: 0, resolved: 0, rejected: 0, methods: 0 }
const codes = new Map<string, number>()

describe('hostile input', () => {
  it('covers every public method', () => {
    const methods = Object.getOwnPropertyNames(Database.prototype).filter(
      // watch is synchronous (it throws, it does not reject): changes.spec.ts covers its bad input.
      (name) => name !== 'constructor' && name !== 'watch' && !name.startsWith('test') && typeof Object.getOwnPropertyDescriptor(Database.prototype, name)?.value === 'function',
    )
    expect(Object.keys(TEMPLATES).sort()).toEqual(methods.sort())
  })

  for (const method of Object.keys(TEMPLATES)) {
    it(`${method}: never crashes, rejects only with documented codes, changes nothing when it rejects`, { timeout: 120_000 }, async () => {
      const { db, fixture } = await prepared(join(home, `${method}.db`))
      const checker = await Database.open(fixture.file, { readers: 1 })
      if (method === 'migrate') await db.addMigration({ id: '003', description: 'extra', up: ['CREATE TABLE extra (x)'], down: ['DROP TABLE extra'] })
      await fc.assert(
        fc.asyncProperty(argumentsFor(method, fixture), async (args) => {
          const before = await digest(checker)
          const outcome = await call(db, method, args)
          tally.calls++
          if (outcome.resolved) {
            tally.resolved++
            return
          }
          tally.rejected++
          const code = outcome.error!.code
          codes.set(code, (codes.get(code) ?? 0) + 1)
          // A migration run or rollback keeps the steps that succeeded before the one that failed.
          const partial = outcome.error!.results?.some((r) => r.success)
          if (!partial) expect(await digest(checker), `${method} rejected with ${code} but changed rows`).toBe(before)
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      )
      const report = await checker.integrityCheck({ full: true })
      expect(report.integrityErrors).toEqual([])
      expect(report.foreignKeyViolations).toEqual([])
      await Promise.all([db.close(), checker.close()])
      tally.methods++
    })
  }

  it('sequences of SQL fragments through query, execute and batch leave the file sound', { timeout: 120_000 }, async () => {
    const step = fc.record({
      method: fc.constantFrom('query', 'execute', 'batch'),
      sql: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SQL_FRAGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
      params: fc.option(fc.array(hostile, { maxLength: 2 }), { nil: undefined }),
    })
    let run = 0
    const reference = await prepared(join(home, 'sequence-reference.db'))
    const schemaObjects = (await reference.db.query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1, 2")).map((row) => `${row.type} ${row.name}`)
    await reference.db.close()
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        const { db, fixture } = await prepared(join(home, `sequence-${run++}.db`))
        const checker = await Database.open(fixture.file, { readers: 1 })
        for (const { method, sql, params } of steps) {
          const args = method === 'batch' ? [[{ op: 'execute', sql, ...(params ? { params } : {}) }]] : [sql, params]
          const before = await digest(checker)
          const outcome = await call(db, method, args)
          tally.calls++
          if (outcome.resolved) tally.resolved++
          else {
            tally.rejected++
            codes.set(outcome.error!.code, (codes.get(outcome.error!.code) ?? 0) + 1)
            expect(await digest(checker), `${method}(${JSON.stringify(sql)}) rejected but changed rows`).toBe(before)
          }
        }
        // Whatever the statements did, the database still enforces its constraints: a CHECK
        // (raw SQL cannot store a step limit below 1), a foreign key (a typed write for a
        // session that does not exist), and the trigger that keeps a log's parent in its own
        // session (a log of another session cannot be a parent).
        expect(await outcome(db.execute("INSERT INTO agents (id, name, model, max_steps) VALUES ('probe-neg', 'n', 'm', -1)"))).toBe('CONSTRAINT')
        // Schema changes among the fragments (`DROP TABLE session_logs`, `CREATE TABLE IF NOT
        // EXISTS extra`) are refused: the schema is the one the migrations made.
        const objects = (await checker.query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1, 2")).map((row) => `${row.type} ${row.name}`)
        expect(objects).toEqual(schemaObjects)
        expect(await outcome(db.addLog({ sessionId: 'no such session', role: 'user', type: 'message', content: 1 }))).toBe('NOT_FOUND')
        const probe = await db.createAgent({ name: 'probe', model: 'm' })
        const [home1, home2] = [await db.createSession({ mainAgentId: probe.id }), await db.createSession({ mainAgentId: probe.id })]
        const parent = await db.addLog({ sessionId: home1.id, role: 'user', type: 'message', content: 'parent' })
        const reply = { sessionId: home2.id, parentId: parent.id, role: 'agent' as const, type: 'message' as const, content: 'reply' }
        expect(await outcome(db.addLog(reply))).toBe('CONSTRAINT')
        const report = await checker.integrityCheck({ full: true })
        expect(report.integrityErrors).toEqual([])
        expect(report.foreignKeyViolations).toEqual([])
        await Promise.all([db.close(), checker.close()])
      }),
      {
        numRuns: RUNS * 2,
        seed: SEED,
        endOnFailure: true,
        // Sequences known to hurt a database that lets SQL change its connections' settings.
        examples: [
          [[{ method: 'execute', sql: 'PRAGMA ignore_check_constraints = ON' }, { method: 'execute', sql: "INSERT INTO agents (id, name, model, max_steps) VALUES ('neg', 'n', 'm', -1)" }]],
          [[{ method: 'execute', sql: 'PRAGMA writable_schema = ON' }, { method: 'execute', sql: "UPDATE sqlite_master SET sql = 'CREATE TABLE agents (x)' WHERE name = 'agents'" }]],
          [[{ method: 'query', sql: 'PRAGMA writable_schema(1)' }, { method: 'batch', sql: "UPDATE sqlite_master SET sql = 'CREATE TABLE agents (x)' WHERE name = 'agents'" }]],
          [[{ method: 'batch', sql: 'PRAGMA foreign_keys = OFF' }, { method: 'execute', sql: "INSERT INTO session_logs (session_id, role, type, content) VALUES ('missing', 'user', 'message', '1')" }]],
          [[{ method: 'query', sql: 'BEGIN' }, { method: 'execute', sql: 'DELETE FROM agents' }, { method: 'query', sql: 'SELECT count(*) FROM agents' }]],
          [[{ method: 'execute', sql: 'PRAGMA locking_mode = EXCLUSIVE' }, { method: 'execute', sql: 'DELETE FROM session_logs' }]],
        ].map(([steps]) => [steps.map((step) => ({ params: undefined, ...step }))]) as never,
      },
    )
    tally.methods++
  })

  it('Database.open: never crashes, rejects only with documented codes', { timeout: 120_000 }, async () => {
    const opened: Database[] = []
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(hostile, { maxLength: 3 }), fc.tuple(hostile, fc.record({ busyTimeoutMs: hostile, readers: hostile, inlineReads: fc.oneof(hostile, fc.boolean()), durability: fc.oneof(hostile, fc.constantFrom('normal', 'full')) }, { requiredKeys: [] }))), async (args) => {
        const outcome = await call(Database, 'open', args)
        tally.calls++
        if (outcome.resolved) {
          tally.resolved++
          opened.push(outcome.value as Database)
        } else {
          tally.rejected++
          codes.set(outcome.error!.code, (codes.get(outcome.error!.code) ?? 0) + 1)
        }
      }),
      { numRuns: RUNS * 2, seed: SEED, endOnFailure: true },
    )
    await Promise.all(opened.map((db) => db.close()))
    tally.methods++
  })

  afterAll(() => {
    const byCode = [...codes.entries()].sort().map(([code, n]) => `${code} ${n}`).join(', ')
    const all = Object.keys(TEMPLATES).length + 2
    const verdict =
      tally.methods === all
        ? '0 crashes, 0 undocumented codes, 0 rows changed by a rejected call, integrity and foreign keys clean'
        : `${all - tally.methods} methods FAILED`
    figure(`hostile input: ${tally.calls} calls over ${tally.methods} of ${all} methods (${tally.resolved} resolved, ${tally.rejected} rejected: ${byCode}), ${verdict}`)
  })
})
