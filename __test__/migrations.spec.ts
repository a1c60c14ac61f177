// The migration engine through the JavaScript API.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import type { Migration, MigrationProgress } from '../index'
import {
  app,
  appliedIds,
  appliedKeys,
  appSchema,
  BUILTIN,
  Database,
  exists,
  ISO_MILLIS,
  key,
  keys,
  LIBRARY,
  library,
  rejection,
  schema,
  tempDir,
  thrown,
  trackingColumns,
  trackingRows,
} from './support'

const require = createRequire(import.meta.url)
const { seedMigrations } = require('./fixtures/legacy/seed-migrations.js') as { seedMigrations: () => Migration[] }

/** The test-hooks build's raw SQL on the writer connection, for forging tracking rows. */
type Hooked = Database & { testExec(sql: string): Promise<void> }

/** The columns of the tracking table since namespaces. */
const TRACKING_COLUMNS = ['namespace', 'id', 'description', 'applied_at', 'execution_time', 'checksum', 'down_sql', 'foreign_keys_off']

/** The last built-in migration: the library's schema version of a migrated database. */
const LATEST = BUILTIN[BUILTIN.length - 1]

let tmp: ReturnType<typeof tempDir>
const open: Database[] = []

beforeEach(() => {
  tmp = tempDir('migrations')
})

afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()))
  tmp.remove()
})

/** Opens a database that the test's cleanup closes. */
async function openDb(path = ':memory:'): Promise<Hooked> {
  const db = (await Database.open(path)) as Hooked
  open.push(db)
  return db
}

/** The schema of a new database migrated up to the built-in migration `to`. */
async function schemaAt(to: string) {
  const db = await openDb()
  await db.migrate({ to, namespace: LIBRARY })
  return appSchema(db)
}

const ids = (results: { migration: { id: string } }[]) => results.map((r) => r.migration.id)

/** Issues as `[code, namespace, migrationId]`. */
const issues = (list: { code: string; namespace: string; migrationId: string }[]) => list.map((i) => [i.code, i.namespace, i.migrationId])

test('the build has the built-in migrations 001 and 002 at least, in namespace agentdb', () => {
  expect(BUILTIN.slice(0, 2)).toEqual(['001', '002'])
})

describe('migrate', () => {
  test('a fresh database gets every built-in migration, recorded', async () => {
    const db = await openDb(tmp.file('fresh.db'))
    const results = await db.migrate()
    expect(keys(results)).toEqual(library())
    for (const r of results) {
      expect(r).toMatchObject({ success: true, dryRun: false })
      expect(r.error).toBeNull()
      expect(r.executedAt).toMatch(ISO_MILLIS)
      expect(r.executionTime).toBeGreaterThanOrEqual(0)
      expect(r.migration.description).not.toBe('')
    }
    for (const table of ['agents', 'sessions', 'session_logs', 'migrations']) expect(await exists(db, table)).toBe(true)
    expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
    const rows = await trackingRows(db)
    const listed = await db.listMigrations()
    expect(rows.map((r) => r.checksum)).toEqual(listed.map((m) => m.checksum))
    expect(rows.map((r) => r.namespace)).toEqual(BUILTIN.map(() => LIBRARY))
    // executionTime means the same in both places: how long the migration's SQL ran, as recorded.
    expect(listed.map((m) => m.executionTime)).toEqual(results.map((r) => r.executionTime))
    expect(rows.map((r) => r.execution_time)).toEqual(results.map((r) => r.executionTime))
    expect(rows.every((r) => typeof r.applied_at === 'string' && ISO_MILLIS.test(r.applied_at))).toBe(true)
    expect(JSON.parse(rows[1].down_sql as string)[0]).toContain('DROP TABLE sessions')
    expect(listed.map((m) => [m.namespace, m.id, m.state, m.origin, m.reversible, m.recordedDown])).toEqual(
      BUILTIN.map((id) => [LIBRARY, id, 'applied', 'builtin', true, true]),
    )
    expect(listed.every((m) => m.recordedDescription === m.description)).toBe(true)
    expect(await db.getMigrationSummary()).toEqual({
      totalMigrations: BUILTIN.length,
      appliedMigrations: BUILTIN.length,
      pendingMigrations: 0,
      pendingMigrationIds: [],
      currentVersion: LATEST,
      namespaces: [{ namespace: LIBRARY, currentVersion: LATEST, appliedMigrations: BUILTIN.length, pendingMigrations: 0 }],
    })
  })

  test('migrating again changes nothing', async () => {
    const db = await openDb()
    await db.migrate()
    const before = [await schema(db), await trackingRows(db)]
    expect(await db.migrate()).toEqual([])
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
  })

  test('limit and to (with its namespace) bound the run', async () => {
    const db = await openDb()
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'])])
    expect(await db.migrate({ limit: 0 })).toEqual([])
    expect(await schema(db)).toEqual([])
    expect(keys(await db.migrate({ limit: 1 }))).toEqual(library(['001']))
    expect(keys(await db.migrate({ to: '002', namespace: LIBRARY }))).toEqual(library(['002']))
    expect(keys(await db.migrate({ to: '003', namespace: 'app' }))).toEqual([...library(BUILTIN.slice(2)), 'app 003'])
    expect(await exists(db, 't4')).toBe(false)
    expect((await db.getMigrationSummary()).pendingMigrationIds).toEqual(['004'])
    expect(keys(await db.migrate({ to: '4', namespace: 'app', limit: 9 }))).toEqual(['app 004'])
  })

  test('a dry run reports the plan and changes nothing', async () => {
    const db = await openDb(tmp.file('dry.db'))
    await db.addMigration(app('003', ['CREATE TABLE t3 (x)']))
    const plan = await db.migrate({ dryRun: true })
    expect(keys(plan)).toEqual([...library(), 'app 003'])
    expect(plan.every((r) => r.dryRun && r.success && r.executionTime === 0)).toBe(true)
    expect(await schema(db)).toEqual([])
    await db.migrate({ limit: 1 })
    const before = [await schema(db), await trackingRows(db)]
    expect(keys(await db.migrate({ dryRun: true, limit: 1 }))).toEqual(library(['002']))
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
  })

  test('onProgress reports start and end of each migration before the Promise resolves', async () => {
    const db = await openDb()
    const events: MigrationProgress[] = []
    let seenAtResolve = -1
    const results = await db.migrate({ onProgress: (e) => events.push(e) }).then((r) => {
      seenAtResolve = events.length
      return r
    })
    const total = BUILTIN.length
    expect(seenAtResolve).toBe(2 * total)
    expect(events.map((e) => [e.phase, key(e.migration), e.index, e.total])).toEqual(
      BUILTIN.flatMap((id, i) => [
        ['start', `${LIBRARY} ${id}`, i, total],
        ['end', `${LIBRARY} ${id}`, i, total],
      ]),
    )
    expect(events[0].result).toBeNull()
    expect(events[1].result).toEqual(results[0])
  })

  test('an onProgress that throws does not stop the migration', async () => {
    const db = await openDb()
    const results = await db.migrate({
      onProgress: () => {
        throw new Error('display broke')
      },
    })
    expect(ids(results)).toEqual(BUILTIN)
  })
})

describe('a failing migration', () => {
  const failing = () => [
    app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3']),
    app('004', ['CREATE TABLE half (x); INSERT INTO t3 VALUES (1)', 'INSERT INTO missing_table VALUES (1)']),
    app('005', ['CREATE TABLE t5 (x)']),
  ]

  test('leaves no trace, stops the run and rejects with the results', async () => {
    const db = await openDb()
    await db.addMigrations(failing())
    await db.migrate({ to: '003', namespace: 'app' })
    const before = [await schema(db), await trackingRows(db)]
    const events: string[] = []
    const err = await rejection(db.migrate({ onProgress: (e) => events.push(`${e.phase} ${key(e.migration)}`) }))
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('app 004')
    expect(err.message).toContain('no such table: missing_table')
    expect(err.results?.map((r) => [key(r.migration), r.success])).toEqual([['app 004', false]])
    expect(err.results?.[0].error).toContain('missing_table')
    expect(events).toEqual(['start app 004', 'end app 004'])
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
    expect(await db.query('SELECT count(*) AS n FROM t3')).toEqual([{ n: 0 }])
  })

  test('results carry the migrations applied before it in the same run', async () => {
    const db = await openDb()
    await db.addMigrations(failing())
    const err = await rejection(db.migrate())
    expect(err.results?.map((r) => [key(r.migration), r.success])).toEqual([
      ...library().map((k) => [k, true]),
      ['app 003', true],
      ['app 004', false],
    ])
    expect(await appliedKeys(db)).toEqual([...library(), 'app 003'])
  })

  test('without a transaction, its earlier statements stay and nothing after it runs', async () => {
    const db = await openDb()
    await db.addMigrations(failing())
    const err = await rejection(db.migrate({ useTransaction: false }))
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('without a transaction')
    expect(await exists(db, 'half')).toBe(true)
    expect(await exists(db, 't5')).toBe(false)
    expect(await appliedKeys(db)).toEqual([...library(), 'app 003'])
  })
})

describe('migration SQL that would escape the engine', () => {
  // Each ends, starts or nests a transaction, attaches a database, changes the connection's
  // settings, rewrites the file or loads code: migration SQL may change the schema and the
  // data, never the connection or the engine's transaction.
  const escapes: [string, string[], string][] = [
    ['COMMIT mid-migration', ['CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1); COMMIT; CREATE TABLE t4 (x)'], 'COMMIT is refused'],
    ['a final ROLLBACK', ['CREATE TABLE t3 (x)', 'INSERT INTO t3 VALUES (1)', 'ROLLBACK'], 'statement 2: ROLLBACK is refused'],
    ['ATTACH', ['CREATE TABLE t3 (x)', "ATTACH DATABASE ':memory:' AS other"], "ATTACH ':memory:' is refused"],
    ['PRAGMA foreign_keys = OFF', ['CREATE TABLE t3 (x); PRAGMA foreign_keys = OFF; INSERT INTO t3 VALUES (1)'], 'PRAGMA foreign_keys = OFF is refused'],
    ['VACUUM', ['CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1)', 'VACUUM'], 'VACUUM is refused'],
    ["SELECT load_extension('x')", ['CREATE TABLE t3 (x)', "SELECT load_extension('x')"], 'load_extension() is refused'],
  ]

  for (const useTransaction of [true, false]) {
    for (const [name, up, refusal] of escapes) {
      test(`${name} fails the migration and applies nothing (useTransaction: ${useTransaction})`, async () => {
        const db = await openDb()
        await db.migrate()
        await db.addMigration(app('003', up, ['DROP TABLE t3']))
        const before = [await schema(db), await trackingRows(db)]
        const err = await rejection(db.migrate({ useTransaction }))
        expect(err.code).toBe('MIGRATION_FAILED')
        expect(err.message).toContain(refusal)
        if (!useTransaction) expect(err.message).toContain('nothing of it was applied')
        expect(err.results?.map((r) => [r.migration.id, r.success])).toEqual([['003', false]])
        expect([await schema(db), await trackingRows(db)]).toEqual(before)
        expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
        // Nothing is attached (SQLite opens its own temp schema for the library's table rebuilds).
        expect(await db.query("SELECT name FROM pragma_database_list WHERE name <> 'temp'")).toEqual([{ name: 'main' }])
        // The connection is still usable and enforces foreign keys.
        await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
        await expect(db.createSession({ mainAgentId: 'ghost' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
        await expect(db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s', 'ghost')")).rejects.toMatchObject({ code: 'CONSTRAINT' })
      })
    }
  }

  test('a migration that switches foreign keys off for a rebuild gets them back on after a refusal', async () => {
    const db = await openDb()
    await db.migrate()
    await db.addMigration({ ...app('003', ['CREATE TABLE t3 (x)', 'COMMIT']), disableForeignKeys: true })
    expect((await rejection(db.migrate())).message).toContain('COMMIT is refused')
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
    expect(await exists(db, 't3')).toBe(false)
  })

  test('down SQL is held to the same rules, and the migration stays applied', async () => {
    const db = await openDb()
    await db.addMigration(app('003', ['CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1)'], ['DROP TABLE t3; PRAGMA journal_mode = OFF']))
    await db.migrate()
    const before = [await schema(db), await trackingRows(db)]
    const err = await rejection(db.rollbackLast())
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('PRAGMA journal_mode = OFF is refused')
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
    expect(await db.query('SELECT x FROM t3')).toEqual([{ x: 1 }])
  })
})

describe('rollback', () => {
  test('rollbackLast and rollbackTo round-trip the schema', async () => {
    const at = new Map<string, Awaited<ReturnType<typeof schemaAt>>>()
    for (const id of BUILTIN) at.set(id, await schemaAt(id))
    const db = await openDb(tmp.file('roundtrip.db'))
    await db.migrate()
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')")
    await db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1')")
    await db.execute("INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}')")
    // Each AUTOINCREMENT table has its high-water mark, and the down migrations clear them.
    const autoincrement = await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' ORDER BY name")
    expect(autoincrement).toContainEqual({ name: 'session_logs' })
    expect(await db.query('SELECT name FROM sqlite_sequence ORDER BY name')).toEqual(autoincrement)

    const undone = await db.rollbackLast()
    expect(undone).toMatchObject({ success: true, migration: { namespace: LIBRARY, id: LATEST } })
    expect(undone?.executedAt).toMatch(ISO_MILLIS)
    expect(await appSchema(db)).toEqual(at.get(BUILTIN[BUILTIN.length - 2]))
    expect(ids(await db.rollbackTo('001'))).toEqual(BUILTIN.slice(1, -1).reverse())
    expect(await appSchema(db)).toEqual(at.get('001'))
    expect(await db.query('SELECT name FROM sqlite_sequence')).toEqual([])
    expect(await db.query('SELECT id FROM agents')).toEqual([{ id: 'a1' }])

    await db.migrate()
    expect(await appSchema(db)).toEqual(at.get(LATEST))
    expect(ids(await db.rollbackTo('000'))).toEqual([...BUILTIN].reverse())
    expect(await appSchema(db)).toEqual([])
    expect(await db.rollbackLast()).toBeNull()
    await db.migrate()
    expect(ids(await db.rollbackTo('001', { namespace: LIBRARY }))).toEqual(BUILTIN.slice(1).reverse())
    expect(await appSchema(db)).toEqual(at.get('001'))
    expect(await db.rollbackTo('001')).toEqual([])
  })

  test('rolling back to a built-in migration also rolls back every app migration, which runs after it', async () => {
    const db = await openDb()
    await db.addMigrations([app('001', ['CREATE TABLE a1 (x)'], ['DROP TABLE a1']), app('002', ['CREATE TABLE a2 (x)'], ['DROP TABLE a2'])])
    await db.migrate()
    expect(keys(await db.rollbackTo('002', { namespace: LIBRARY }))).toEqual(['app 002', 'app 001', ...library(BUILTIN.slice(2)).reverse()])
    expect(await appliedKeys(db)).toEqual(library(['001', '002']))
    await db.migrate()
    expect(keys(await db.rollbackTo('001', { namespace: 'app' }))).toEqual(['app 002'])
    expect(await db.rollbackLast()).toMatchObject({ migration: { namespace: 'app', id: '001' } })
    expect(await appliedKeys(db)).toEqual(library())
  })

  test('a migration without down SQL rejects with MIGRATION_IRREVERSIBLE and changes nothing', async () => {
    const db = await openDb()
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'], ['DROP TABLE t4'])])
    await db.migrate()
    const before = [await schema(db), await trackingRows(db)]
    const err = await rejection(db.rollbackTo(LATEST, { namespace: LIBRARY }))
    expect(err.code).toBe('MIGRATION_IRREVERSIBLE')
    expect(err.message).toContain('app 003')
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
    await db.rollbackLast()
    expect((await rejection(db.rollbackLast())).code).toBe('MIGRATION_IRREVERSIBLE')
    expect(await appliedKeys(db)).toEqual([...library(), 'app 003'])
  })
})

describe('validation across builds', () => {
  /** Opens the test's file database with `migrations` registered, runs `work`, closes it. */
  async function session<T>(migrations: Migration[], work: (db: Hooked) => Promise<T>): Promise<T> {
    const db = (await Database.open(tmp.file('builds.db'))) as Hooked
    try {
      if (migrations.length) await db.addMigrations(migrations)
      return await work(db)
    } finally {
      await db.close()
    }
  }

  test('a modified applied migration is a CHECKSUM_MISMATCH that blocks migrate until repaired by id, once', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    const edited = [app('003', ['CREATE TABLE IF NOT EXISTS t3 (x)'], ['DROP TABLE IF EXISTS t3']), app('004', ['CREATE TABLE t4 (x)'])]
    await session(edited, async (db) => {
      const report = await db.validateMigrations()
      expect(report.isValid).toBe(false)
      expect(issues(report.errors)).toEqual([['CHECKSUM_MISMATCH', 'app', '003']])
      // The same description: an edit of the migration, which repair can accept.
      expect(report.errors[0].message).toContain('was changed after it was applied')
      expect(report.errors[0].message).toContain("repairMigrations({ ids: ['003'], namespace: 'app' })")
      expect(report.errors[0].message).toContain('dryRun')
      expect((await db.listMigrations()).find((m) => key(m) === 'app 003')?.state).toBe('modified')
      const err = await rejection(db.migrate())
      expect(err.code).toBe('MIGRATION_VALIDATION_FAILED')
      expect(err.message).toContain('CHECKSUM_MISMATCH')
      expect(await exists(db, 't4')).toBe(false)

      const m003 = (await db.listMigrations()).find((m) => key(m) === 'app 003')
      const rows = await trackingRows(db)
      const expected = {
        namespace: 'app',
        id: '003',
        description: 'app migration 003',
        oldChecksum: m003?.appliedChecksum,
        newChecksum: m003?.checksum,
        up: ['CREATE TABLE IF NOT EXISTS t3 (x)'],
        oldDown: ['DROP TABLE t3'],
        newDown: ['DROP TABLE IF EXISTS t3'],
      }
      expect(await db.repairMigrations({ ids: ['003'], namespace: 'app', dryRun: true })).toEqual({ repaired: [expected] })
      expect(await trackingRows(db)).toEqual(rows)
      expect((await db.validateMigrations()).isValid).toBe(false)

      expect(await db.repairMigrations({ ids: ['003'] })).toEqual({ repaired: [expected] })
      expect((await db.validateMigrations()).isValid).toBe(true)
      const row = (await trackingRows(db)).find((r) => r.namespace === 'app' && r.id === '003')
      expect(row).toMatchObject({ description: 'app migration 003', checksum: m003?.checksum, down_sql: JSON.stringify(['DROP TABLE IF EXISTS t3']) })
      // Nothing is changed any more: a second repair is refused instead of reporting nothing.
      const again = await rejection(db.repairMigrations({ ids: ['003'], namespace: 'app' }))
      expect(again.code).toBe('INVALID_ARGUMENT')
      expect(again.message).toContain('not changed')
      expect(keys(await db.migrate())).toEqual(['app 004'])
    })
  })

  test('a different migration under the same id is a CHECKSUM_MISMATCH that repair refuses', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    const other = { ...app('003', ['CREATE TABLE notes (x)'], ['DROP TABLE notes']), description: 'Add notes' }
    await session([other], async (db) => {
      const report = await db.validateMigrations()
      expect(issues(report.errors)).toEqual([['CHECKSUM_MISMATCH', 'app', '003']])
      expect(report.errors[0].message).toContain('a different migration under the same id')
      expect(report.errors[0].message).toContain('"app migration 003"')
      expect(report.errors[0].message).toContain('"Add notes"')
      expect(report.errors[0].message).not.toContain('repairMigrations({')
      const rows = await trackingRows(db)
      for (const dryRun of [true, false]) {
        const err = await rejection(db.repairMigrations({ ids: ['003'], namespace: 'app', dryRun }))
        expect(err.code).toBe('INVALID_ARGUMENT')
        expect(err.message).toContain('different migration')
      }
      expect(await trackingRows(db)).toEqual(rows)
      expect(await exists(db, 'notes')).toBe(false)
    })
  })

  test('validateChecksums: false migrates despite errors', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'])], (db) => db.migrate())
    await session([app('003', ['CREATE TABLE t3 (y)']), app('004', ['CREATE TABLE t4 (x)'])], async (db) => {
      expect(keys(await db.migrate({ validateChecksums: false }))).toEqual(['app 004'])
    })
  })

  test('an applied migration unknown to this build is a warning, and rollback undoes it with the recorded down SQL only with allowRecordedSql', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    await session([], async (db) => {
      const report = await db.validateMigrations()
      expect(report.isValid).toBe(true)
      // The schema cannot be compared with what the applied migrations create: one of them is unknown.
      expect(issues(report.warnings)).toEqual([
        ['UNKNOWN_MIGRATION', 'app', '003'],
        ['SCHEMA_DRIFT', '', ''],
      ])
      // Neutral: it may come from a newer build or from an app migration not registered.
      expect(report.warnings[0].message).toContain('newer build')
      expect(report.warnings[0].message).toContain('not registered')
      expect(report.warnings[0].message).toContain('allowRecordedSql')
      expect(report.warnings[1].message).toContain('app 003')
      const unknown = (await db.listMigrations()).find((m) => key(m) === 'app 003')
      // Not reversible by this build's own SQL; the database records down SQL for it.
      expect(unknown).toMatchObject({ state: 'unknown', reversible: false, recordedDown: true, description: 'app migration 003' })
      expect(unknown?.origin).toBeNull()
      expect(await db.migrate()).toEqual([])

      const before = [await schema(db), await trackingRows(db)]
      for (const refused of [() => db.rollbackTo(LATEST, { namespace: LIBRARY }), () => db.rollbackLast(), () => db.rollbackTo('000')]) {
        const err = await rejection(refused())
        expect(err.code).toBe('MIGRATION_IRREVERSIBLE')
        expect(err.message).toContain('allowRecordedSql')
        expect([await schema(db), await trackingRows(db)]).toEqual(before)
      }
      expect(keys(await db.rollbackTo(LATEST, { namespace: LIBRARY, allowRecordedSql: true }))).toEqual(['app 003'])
      expect(await exists(db, 't3')).toBe(false)
      expect(await appliedKeys(db)).toEqual(library())
    })
  })

  test('rollbackLast undoes an unknown migration with its recorded down SQL when allowed', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    await session([], async (db) => {
      expect((await rejection(db.rollbackLast({ allowRecordedSql: false }))).code).toBe('MIGRATION_IRREVERSIBLE')
      expect(await exists(db, 't3')).toBe(true)
      expect(await db.rollbackLast({ allowRecordedSql: true })).toMatchObject({ success: true, migration: { namespace: 'app', id: '003' } })
      expect(await exists(db, 't3')).toBe(false)
      expect(await appliedKeys(db)).toEqual(library())
    })
  })

  test('a pending migration older than the current version is OUT_OF_ORDER', async () => {
    await session([app('004', ['CREATE TABLE t4 (x)'])], (db) => db.migrate({ validateChecksums: false }))
    await session([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'])], async (db) => {
      const report = await db.validateMigrations()
      expect(issues(report.errors)).toEqual([['OUT_OF_ORDER', 'app', '003']])
      expect((await rejection(db.migrate())).code).toBe('MIGRATION_VALIDATION_FAILED')
      expect(await exists(db, 't3')).toBe(false)
    })
  })

  test('a gap is one warning per missing range of a namespace, and migrate applies the migrations', async () => {
    // A sequence may start anywhere (002 here): only ids missing between two of its ids are a gap.
    const gappy = ['002', '005', '007', '011'].map((id) => app(id, [`CREATE TABLE t${id} (x)`], [`DROP TABLE t${id}`]))
    await session(gappy, async (db) => {
      const report = await db.validateMigrations()
      expect(report.isValid).toBe(true)
      expect(report.errors).toEqual([])
      expect(issues(report.warnings)).toEqual([
        ['GAP', 'app', '003'],
        ['GAP', 'app', '006'],
        ['GAP', 'app', '008'],
      ])
      expect(report.warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/^app: 003–004 missing/),
        expect.stringMatching(/^app: 006 missing/),
        expect.stringMatching(/^app: 008–010 missing/),
      ])
      expect(keys(await db.migrate())).toEqual([...library(), 'app 002', 'app 005', 'app 007', 'app 011'])
    })
  })

  test('CRLF and BOM copies of a migration validate against a database migrated from LF', async () => {
    const lf = 'CREATE TABLE t3 (\n  x\n);\nCREATE INDEX i3 ON t3 (x);\n'
    const crlf = `\uFEFF${lf.replaceAll('\n', '\r\n')}`
    await session([app('001', [lf], ['DROP TABLE t3'])], (db) => db.migrate())
    await session([app('001', [crlf], ['DROP TABLE t3'])], async (db) => {
      expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
      expect((await db.listMigrations()).find((m) => key(m) === 'app 001')?.state).toBe('applied')
    })
  })
})

describe('the tracking table', () => {
  test('one left by the reference module is upgraded in place, with namespaces', async () => {
    const db = await openDb()
    // Written as the reference module (another program sharing the file) would, through the
    // test hook: raw SQL of this library may not create tables.
    await (db as Database & { testExec(sql: string): Promise<void> }).testExec(
      'CREATE TABLE migrations (id TEXT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL, execution_time INTEGER NOT NULL, checksum TEXT NOT NULL)',
    )
    expect(await db.getMigrationSummary()).toMatchObject({ appliedMigrations: 0, pendingMigrations: BUILTIN.length })
    await db.migrate()
    expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
    const primaryKey = await db.query("SELECT name FROM pragma_table_info('migrations') WHERE pk > 0 ORDER BY pk")
    expect(primaryKey).toEqual([{ name: 'namespace' }, { name: 'id' }])
    expect(await appliedKeys(db)).toEqual(library())
    expect(ids(await db.rollbackTo('000'))).toEqual([...BUILTIN].reverse())
  })

  /**
   * Makes `db` what the previous release left: the built-in migrations `builtins` and (with
   * `withApp`) the app's 003 applied in one shared sequence, recorded in its seven-column
   * table (the id alone the primary key, no namespace).
   */
  async function previousRelease(db: Hooked, builtins: string[], withApp = true) {
    await db.migrate({ to: builtins[builtins.length - 1], namespace: LIBRARY })
    if (withApp) await db.addMigration(app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3']))
    const listed = new Map((await db.listMigrations()).map((m) => [key(m), m]))
    const row = (k: string, at: number, down: string | null) => {
      const m = listed.get(k)
      const text = (value: string | null | undefined) => (value == null ? 'NULL' : `'${value.replaceAll("'", "''")}'`)
      return `INSERT INTO migrations VALUES (${text(m?.id)}, ${text(m?.description)}, '2025-01-01T00:00:0${at}.000Z', 1, ${text(m?.checksum)}, ${text(down)}, 0);`
    }
    await db.testExec(`
      CREATE TABLE t3 (x);
      DROP TABLE migrations;
      CREATE TABLE migrations (id TEXT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL, execution_time REAL NOT NULL,
                               checksum TEXT NOT NULL, down_sql TEXT, foreign_keys_off INTEGER NOT NULL DEFAULT 0);
      ${builtins.map((id, i) => row(`${LIBRARY} ${id}`, i, null)).join('\n')}
      ${withApp ? row('app 003', builtins.length, '["DROP TABLE t3"]') : ''}`)
  }

  test("one of the previous release is read as it is: rows matching a built-in are the library's, the others the app's", async () => {
    const db = await openDb(tmp.file('previous.db'))
    await previousRelease(db, ['001', '002'])
    expect(await trackingColumns(db)).not.toContain('namespace')
    const listed = await db.listMigrations()
    expect(listed.map((m) => [key(m), m.state])).toEqual([
      ...library(['001', '002']).map((k) => [k, 'applied']),
      ...library(BUILTIN.slice(2)).map((k) => [k, 'pending']),
      ['app 003', 'applied'],
    ])
    expect((await db.validateMigrations()).errors).toEqual([])
    expect(await trackingColumns(db)).not.toContain('namespace')
    expect(keys(await db.migrate())).toEqual(library(BUILTIN.slice(2)))
    expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
    expect(await appliedKeys(db)).toEqual([...library(['001', '002']), 'app 003', ...library(BUILTIN.slice(2))])
    expect(await exists(db, 't3')).toBe(true)
  })

  test('one of the previous release is upgraded at the next migrate even when nothing is pending', async () => {
    const db = await openDb(tmp.file('previous-latest.db'))
    await previousRelease(db, BUILTIN, false)
    expect(await db.listMigrations()).toHaveLength(BUILTIN.length)
    expect(await db.migrate()).toEqual([])
    expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
  })

  test('initialize creates it and nothing else', async () => {
    const db = await openDb()
    await db.initialize()
    await db.initialize()
    expect((await schema(db)).map((r) => r.name)).toEqual(['sqlite_autoindex_migrations_1', 'migrations'])
    expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
    expect(await trackingRows(db)).toEqual([])
  })
})

describe('a migration that rebuilds a table with foreign keys off', () => {
  const parentsAndChildren = app(
    '003',
    [
      `CREATE TABLE parents (id TEXT PRIMARY KEY);
       CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
       INSERT INTO parents VALUES ('p1'), ('p2');
       INSERT INTO children VALUES ('c1', 'p1'), ('c2', 'p2');`,
    ],
    ['DROP TABLE children; DROP TABLE parents'],
  )
  const rebuild = (keep: string) => ({
    ...app('004', [
      `CREATE TABLE parents_new (id TEXT PRIMARY KEY, label TEXT NOT NULL DEFAULT '');
       INSERT INTO parents_new (id) SELECT id FROM parents ${keep};
       DROP TABLE parents;
       ALTER TABLE parents_new RENAME TO parents;`,
    ]),
    disableForeignKeys: true,
  })

  test('commits when it leaves the references intact', async () => {
    const db = await openDb()
    await db.addMigrations([parentsAndChildren, rebuild('')])
    expect(keys(await db.migrate())).toContain('app 004')
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
    expect(await db.query('SELECT count(*) AS n FROM children')).toEqual([{ n: 2 }])
    await db.execute("DELETE FROM parents WHERE id = 'p1'")
    expect(await db.query('SELECT id FROM children')).toEqual([{ id: 'c2' }])
  })

  test('rolls back, and switches enforcement back on, when it leaves new violations', async () => {
    const db = await openDb()
    await db.addMigrations([parentsAndChildren, rebuild("WHERE id <> 'p2'")])
    await db.migrate({ to: '003', namespace: 'app' })
    const before = [await schema(db), await trackingRows(db)]
    const err = await rejection(db.migrate())
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('foreign key violations')
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
  })
})

describe('backup before migrating', () => {
  test('writes a consistent copy, and only when something is pending', async () => {
    const path = tmp.file('live.db')
    const db = await openDb(path)
    await db.migrate({ to: '001', namespace: LIBRARY })
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')")
    await db.migrate({ backup: true, dryRun: true })
    expect(existsSync(`${path}.before-002.bak`)).toBe(false)
    expect(ids(await db.migrate({ backup: true }))).toEqual(BUILTIN.slice(1))

    const copy = await openDb(`${path}.before-002.bak`)
    expect(await copy.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }])
    expect(await exists(copy, 'agents')).toBe(true)
    expect(await exists(copy, 'sessions')).toBe(false)
    expect(await appliedIds(copy)).toEqual(['001'])
    expect(await copy.query('SELECT id, name FROM agents')).toEqual([{ id: 'a1', name: 'Reviewer' }])

    const other = tmp.file('other.bak')
    expect(await db.migrate({ backup: other })).toEqual([])
    expect(existsSync(other)).toBe(false)
  })

  test("names the copy after the namespace when the first pending migration is an app's", async () => {
    const path = tmp.file('app-backup.db')
    const db = await openDb(path)
    await db.migrate()
    await db.addMigration(app('003', ['CREATE TABLE t3 (x)']))
    expect(keys(await db.migrate({ backup: true }))).toEqual(['app 003'])
    expect(existsSync(`${path}.before-app-003.bak`)).toBe(true)
  })

  test('a backup onto the database itself is refused and nothing is applied', async () => {
    const path = tmp.file('self.db')
    const db = await openDb(path)
    const err = await rejection(db.migrate({ backup: path }))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(await schema(db)).toEqual([])
  })
})

describe('app-defined migrations', () => {
  test('are registered in the app namespace and run after the built-in ones, in id order', async () => {
    const db = await openDb()
    await db.addMigration({ ...app('004', ['CREATE TABLE t4 (x)']), createdAt: new Date('2024-12-10T10:00:00.000Z') })
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)'])])
    expect(await db.getMigrationSummary()).toMatchObject({
      totalMigrations: BUILTIN.length + 2,
      pendingMigrationIds: [...BUILTIN, '003', '004'],
    })
    const results = await db.migrate()
    expect(keys(results)).toEqual([...library(), 'app 003', 'app 004'])
    expect(results.at(-1)?.migration.createdAt).toBe('2024-12-10T10:00:00.000Z')
    expect((await db.listMigrations()).map((m) => [m.namespace, m.origin])).toEqual([
      ...BUILTIN.map(() => [LIBRARY, 'builtin']),
      ['app', 'app'],
      ['app', 'app'],
    ])
  })

  test('addMigration and addMigrations are synchronous, as in the reference Migrator: undefined, or a coded Error thrown at the call', async () => {
    const db = await openDb()
    const total = async () => (await db.getMigrationSummary()).totalMigrations
    const builtIn = await total()
    expect(db.addMigration(app('003', ['CREATE TABLE t3 (x)']))).toBeUndefined()
    expect(db.addMigrations([app('004', ['CREATE TABLE t4 (x)'])])).toBeUndefined()
    expect(await total()).toBe(builtIn + 2)
    // The reference seed's own code registers without `await`: a bad migration must surface
    // there, as an exception the caller can catch, not as a rejection nobody handles.
    let caught: unknown
    try {
      db.addMigrations([app('005', ['CREATE TABLE t5 (x)']), { ...app('006', ['SELECT 1']), up: 'SELECT 1' } as never])
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(Error)
    expect((caught as { code?: string }).code).toBe('INVALID_ARGUMENT')
    expect((caught as Error).message).toContain('migrations[1].up')
    expect(await total()).toBe(builtIn + 2)
    await db.close()
    expect(thrown(() => db.addMigration(app('005', ['SELECT 1']))).code).toBe('DATABASE_CLOSED')
    expect(thrown(() => db.addMigrations([app('005', ['SELECT 1'])])).code).toBe('DATABASE_CLOSED')
  })

  test('duplicate ids within a namespace are refused and nothing is registered', async () => {
    const db = await openDb()
    await db.addMigration(app('003', ['CREATE TABLE t3 (x)']))
    for (const call of [
      () => db.addMigration(app('3', ['SELECT 1'])),
      () => db.addMigration(app('0003', ['SELECT 1'])),
      () => db.addMigration({ ...app('003', ['SELECT 1']), namespace: 'app' }),
      () => db.addMigrations([app('004', ['SELECT 1']), app('004', ['SELECT 2'])]),
      () => db.addMigrations([app('005', ['SELECT 1']), app('003', ['SELECT 2'])]),
    ]) {
      const err = thrown(call)
      expect(err.code).toBe('INVALID_ARGUMENT')
      expect(err.message).toMatch(/same id/)
    }
    expect(await db.getMigrationSummary()).toMatchObject({ totalMigrations: BUILTIN.length + 1, pendingMigrationIds: [...BUILTIN, '003'] })
  })

  test("the built-in ids are free in the app's namespace, which has its own sequence", async () => {
    const db = await openDb()
    await db.addMigrations([app('001', ['CREATE TABLE a1 (x)']), app('2', ['CREATE TABLE a2 (x)'])])
    expect(keys(await db.migrate())).toEqual([...library(), 'app 001', 'app 2'])
    expect((await db.validateMigrations()).errors).toEqual([])
  })

  test("the library's namespace is refused", async () => {
    const db = await openDb()
    const err = thrown(() => db.addMigration({ ...app('004', ['SELECT 1']), namespace: LIBRARY }))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain(LIBRARY)
    expect((await db.getMigrationSummary()).totalMigrations).toBe(BUILTIN.length)
  })
})

describe('namespaces', () => {
  test("the reference seed's 003_add_permissions and 004_add_workflows run in the app namespace beside the built-ins", async () => {
    const db = await openDb(tmp.file('seed.db'))
    await db.addMigrations(seedMigrations())
    const listed = await db.listMigrations()
    expect(listed.map((m) => [key(m), m.state, m.origin])).toEqual([
      ...library().map((k) => [k, 'pending', 'builtin']),
      ['app 003', 'pending', 'app'],
      ['app 004', 'pending', 'app'],
    ])
    expect(keys(await db.migrate())).toEqual([...library(), 'app 003', 'app 004'])
    expect(await exists(db, 'permissions')).toBe(true)
    expect(await exists(db, 'workflows')).toBe(true)
    expect(await exists(db, 'idx_workflows_status')).toBe(true)
    const summary = await db.getMigrationSummary()
    expect(summary.currentVersion).toBe(LATEST)
    expect(summary.namespaces).toEqual([
      { namespace: LIBRARY, currentVersion: LATEST, appliedMigrations: BUILTIN.length, pendingMigrations: 0 },
      { namespace: 'app', currentVersion: '004', appliedMigrations: 2, pendingMigrations: 0 },
    ])
    // The app's sequence starts at 003, where the shared sequence left it: nothing to report.
    expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })

    // The app's tables reference the library's rows by id, and cascade with them.
    const agent = await db.createAgent({ name: 'Reviewer', model: 'm' })
    await db.execute("INSERT INTO permissions (id, agent_id, resource, action) VALUES ('p1', ?, '/src', 'read')", [agent.id])
    await db.execute("INSERT INTO workflows (id, name, agent_id, steps) VALUES ('w1', 'Review', ?, '[]')", [agent.id])
    await db.deleteAgent(agent.id)
    expect(await db.query('SELECT (SELECT count(*) FROM permissions) AS p, (SELECT count(*) FROM workflows) AS w')).toEqual([{ p: 0, w: 0 }])

    expect(keys(await db.rollbackTo('000', { namespace: 'app' }))).toEqual(['app 004', 'app 003'])
    expect(await exists(db, 'permissions')).toBe(false)
    expect(await appliedKeys(db)).toEqual(library())
  })

  test('app ids such as 101 and timestamps are compared as numbers', async () => {
    const db = await openDb()
    await db.addMigrations([
      app('20240315093000', ['CREATE TABLE ts2 (x)'], ['DROP TABLE ts2']),
      app('101', ['CREATE TABLE t101 (x)'], ['DROP TABLE t101']),
      app('20240101120000', ['CREATE TABLE ts1 (x)'], ['DROP TABLE ts1']),
      app('9'.repeat(64), ['CREATE TABLE huge (x)'], ['DROP TABLE huge']),
    ])
    expect(keys(await db.migrate({ to: '101' }))).toEqual([...library(), 'app 101'])
    expect(keys(await db.migrate())).toEqual(['app 20240101120000', 'app 20240315093000', `app ${'9'.repeat(64)}`])
    // A namespace with ids of 8 or more digits (dates, timestamps) gets no gap warnings.
    expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
    expect(keys(await db.rollbackTo('20240101120000'))).toEqual([`app ${'9'.repeat(64)}`, 'app 20240315093000'])
    expect((await db.getMigrationSummary()).namespaces.find((n) => n.namespace === 'app')?.currentVersion).toBe('20240101120000')
  })

  test('an app sequence may start at 101; an id missing after it is one gap warning', async () => {
    const db = await openDb()
    await db.addMigration(app('101', ['CREATE TABLE t101 (x)'], ['DROP TABLE t101']))
    expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
    await db.addMigration(app('105', ['CREATE TABLE t105 (x)'], ['DROP TABLE t105']))
    const report = await db.validateMigrations()
    expect(issues(report.warnings)).toEqual([['GAP', 'app', '102']])
    expect(report.warnings[0].message).toMatch(/^app: 102–104 missing/)
  })

  test("a plugin's namespace has its own sequence and runs in the order it was registered", async () => {
    const db = await openDb()
    const plugin = '@acme/notes'
    await db.addMigrations([
      { ...app('001', ['CREATE TABLE acme_notes (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL)'], ['DROP TABLE acme_notes']), namespace: plugin },
      { ...app('002', ['CREATE INDEX acme_notes_agent ON acme_notes (agent_id)'], ['DROP INDEX acme_notes_agent']), namespace: plugin },
    ])
    await db.addMigration(app('001', ['CREATE TABLE a1 (x)'], ['DROP TABLE a1']))
    expect(keys(await db.migrate())).toEqual([...library(), `${plugin} 001`, `${plugin} 002`, 'app 001'])
    expect((await db.getMigrationSummary()).namespaces.map((n) => [n.namespace, n.currentVersion, n.appliedMigrations])).toEqual([
      [LIBRARY, LATEST, BUILTIN.length],
      [plugin, '002', 2],
      ['app', '001', 1],
    ])
    expect((await db.listMigrations()).filter((m) => m.namespace === plugin).map((m) => m.origin)).toEqual(['app', 'app'])

    const ambiguous = await rejection(db.rollbackTo('001'))
    expect(ambiguous.code).toBe('INVALID_ARGUMENT')
    expect(ambiguous.message).toContain('give the namespace')
    expect((await rejection(db.migrate({ to: '001' }))).code).toBe('INVALID_ARGUMENT')
    // Rolling the plugin back to 001 also rolls back the app's migrations, which run after it.
    expect(keys(await db.rollbackTo('001', { namespace: plugin }))).toEqual(['app 001', `${plugin} 002`])
    expect(keys(await db.rollbackTo('000', { namespace: plugin }))).toEqual([`${plugin} 001`])
    expect(await appliedKeys(db)).toEqual(library())
  })

  test('a namespace that is not a name is refused', async () => {
    const db = await openDb()
    for (const namespace of ['', 'has space', 'semi;colon', 'x'.repeat(101)]) {
      const err = thrown(() => db.addMigration({ ...app('001', ['SELECT 1']), namespace }))
      expect([namespace, err.code]).toEqual([namespace, 'INVALID_ARGUMENT'])
    }
    expect((await db.getMigrationSummary()).totalMigrations).toBe(BUILTIN.length)
  })

  test('requires: an app migration written against a library migration this build lacks is REQUIREMENT_UNMET', async () => {
    const db = await openDb()
    const future = String(Number(LATEST) + 1).padStart(3, '0')
    await db.addMigration({ ...app('001', ['CREATE TABLE needs (x)'], ['DROP TABLE needs']), requires: future })
    const report = await db.validateMigrations()
    expect(report.isValid).toBe(false)
    expect(issues(report.errors)).toEqual([['REQUIREMENT_UNMET', 'app', '001']])
    expect(report.errors[0].message).toContain(future)
    expect(report.errors[0].message).toContain(LATEST)
    const err = await rejection(db.migrate())
    expect(err.code).toBe('MIGRATION_VALIDATION_FAILED')
    expect(err.message).toContain('REQUIREMENT_UNMET')
    expect(await schema(db)).toEqual([])
  })

  test('requires: a library migration this build has is met, and the library runs first', async () => {
    const db = await openDb()
    await db.addMigrations([
      { ...app('001', ['CREATE TABLE needs_latest (x)'], ['DROP TABLE needs_latest']), requires: LATEST },
      { ...app('002', ['CREATE TABLE needs_001 (x)'], ['DROP TABLE needs_001']), requires: '1' },
    ])
    expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
    expect(keys(await db.migrate())).toEqual([...library(), 'app 001', 'app 002'])
  })

  describe('repair', () => {
    /** App migrations 001 to 003 applied, then 004 applied by a build that is gone. */
    async function applied(path: string) {
      const db = await Database.open(path)
      await db.addMigrations(['001', '002', '003', '004'].map((id) => app(id, [`CREATE TABLE t${id} (x)`], [`DROP TABLE t${id}`])))
      await db.migrate()
      await db.close()
    }

    test('dryRun reports what would be re-recorded and writes nothing; the ids given are the only ones accepted', async () => {
      const path = tmp.file('repair.db')
      await applied(path)
      const db = await openDb(path)
      await db.addMigrations([
        app('001', ['CREATE TABLE IF NOT EXISTS t001 (x)'], ['DROP TABLE IF EXISTS t001']),
        app('002', ['CREATE TABLE IF NOT EXISTS t002 (x)'], ['DROP TABLE t002']),
        app('003', ['CREATE TABLE t003 (x)'], ['DROP TABLE t003']),
      ])
      expect(issues((await db.validateMigrations()).errors)).toEqual([
        ['CHECKSUM_MISMATCH', 'app', '001'],
        ['CHECKSUM_MISMATCH', 'app', '002'],
      ])
      const rows = await trackingRows(db)
      const plan = await db.repairMigrations({ ids: ['001'], namespace: 'app', dryRun: true })
      expect(plan.repaired).toHaveLength(1)
      expect(plan.repaired[0]).toMatchObject({
        namespace: 'app',
        id: '001',
        description: 'app migration 001',
        up: ['CREATE TABLE IF NOT EXISTS t001 (x)'],
        oldDown: ['DROP TABLE t001'],
        newDown: ['DROP TABLE IF EXISTS t001'],
      })
      expect(plan.repaired[0].oldChecksum).toBe(rows.find((r) => r.namespace === 'app' && r.id === '001')?.checksum)
      expect(await trackingRows(db)).toEqual(rows)

      expect(await db.repairMigrations({ ids: ['001'], namespace: 'app' })).toEqual(plan)
      // Only 001 was accepted: 002 is still a mismatch.
      expect(issues((await db.validateMigrations()).errors)).toEqual([['CHECKSUM_MISMATCH', 'app', '002']])
      const after = await trackingRows(db)
      expect(after.find((r) => r.namespace === 'app' && r.id === '001')).toMatchObject({
        description: 'app migration 001',
        checksum: plan.repaired[0].newChecksum,
      })
      expect(after.filter((r) => r.id !== '001' || r.namespace !== 'app')).toEqual(rows.filter((r) => r.id !== '001' || r.namespace !== 'app'))
    })

    test('refuses missing ids, unchanged, unapplied and unknown migrations, and changes nothing (all or none)', async () => {
      const path = tmp.file('refusals.db')
      await applied(path)
      const db = await openDb(path)
      await db.addMigrations([
        app('001', ['CREATE TABLE IF NOT EXISTS t001 (x)'], ['DROP TABLE t001']),
        app('002', ['CREATE TABLE t002 (x)'], ['DROP TABLE t002']),
        app('003', ['CREATE TABLE t003 (x)'], ['DROP TABLE t003']),
        app('005', ['CREATE TABLE t005 (x)'], ['DROP TABLE t005']),
      ])
      const rows = await trackingRows(db)
      const refusals: [string, Parameters<Database['repairMigrations']>[0], RegExp][] = [
        ['no ids', { ids: [] }, /give the ids/],
        ['ids missing', {} as { ids: string[] }, /ids/],
        ['an unchanged migration', { ids: ['002'], namespace: 'app' }, /not changed/],
        ['a pending migration', { ids: ['005'], namespace: 'app' }, /no changed migration 005 is applied/],
        ['an unknown migration', { ids: ['004'], namespace: 'app' }, /not known to this build/],
        ['a built-in that did not change', { ids: ['001'], namespace: LIBRARY }, /not changed/],
        ['an id of no migration', { ids: ['099'] }, /no changed migration 099/],
        ['one good id and one refused', { ids: ['001', '002'], namespace: 'app' }, /app 002 is not changed/],
        ['an id that is not an id', { ids: ['first'] }, /digits/],
      ]
      for (const [what, options, message] of refusals) {
        for (const dryRun of [false, true]) {
          const err = await rejection(db.repairMigrations({ ...options, dryRun }))
          expect([what, err.code]).toEqual([what, 'INVALID_ARGUMENT'])
          expect(err.message).toMatch(message)
          expect(await trackingRows(db)).toEqual(rows)
        }
      }
      const without = db.repairMigrations as (options?: unknown) => Promise<unknown>
      expect((await rejection(without.call(db))).code).toBe('INVALID_ARGUMENT')
      expect(await trackingRows(db)).toEqual(rows)
    })
  })

  describe('recorded down SQL', () => {
    /** Records a migration this build does not know, with `down` as its recorded down SQL. */
    async function forge(db: Hooked, namespace: string, id: string, down: string[]) {
      const sql = JSON.stringify(down).replaceAll("'", "''")
      await db.testExec(
        `INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off)
         VALUES ('${namespace}', '${id}', 'forged', '2025-01-01T00:00:00.000Z', 1, '${'0'.repeat(64)}', '${sql}', 0)`,
      )
    }

    test('a forged down SQL never runs without allowRecordedSql', async () => {
      const db = await openDb(tmp.file('forged.db'))
      await db.migrate()
      await db.createAgent({ id: 'kept', name: 'Kept', model: 'm' })
      const attached = tmp.file('attached.db')
      await forge(db, 'app', '050', ['DROP TABLE agents'])
      await forge(db, '@evil/plugin', '001', [`ATTACH DATABASE '${attached}' AS evil; CREATE TABLE evil.stolen AS SELECT * FROM main.agents`])
      const listed = (await db.listMigrations()).filter((m) => m.description === 'forged')
      // Namespaces this build does not know are listed after the known ones, by name.
      expect(listed.map((m) => [key(m), m.state, m.reversible, m.recordedDown, m.origin])).toEqual([
        ['@evil/plugin 001', 'unknown', false, true, null],
        ['app 050', 'unknown', false, true, null],
      ])

      const before = [await schema(db), await trackingRows(db), await db.query('SELECT * FROM agents')]
      for (const attempt of [
        () => db.rollbackLast(),
        () => db.rollbackLast({ allowRecordedSql: false }),
        () => db.rollbackTo('000'),
        () => db.rollbackTo('001', { namespace: LIBRARY }),
        () => db.rollbackTo('000', { namespace: 'app' }),
        () => db.rollbackTo('000', { namespace: '@evil/plugin' }),
      ]) {
        const err = await rejection(attempt())
        expect(err.code).toBe('MIGRATION_IRREVERSIBLE')
        expect(err.message).toContain('allowRecordedSql')
        expect([await schema(db), await trackingRows(db), await db.query('SELECT * FROM agents')]).toEqual(before)
      }
      expect(existsSync(attached)).toBe(false)
      expect(await db.agentExists('kept')).toBe(true)
    })

    test('with allowRecordedSql, a recorded ATTACH leaves no attached database behind on the connection', async () => {
      const db = await openDb(tmp.file('allowed.db'))
      await db.migrate()
      await db.createAgent({ id: 'secret', name: 'Secret', model: 'm' })
      const attached = tmp.file('attached.db')
      await forge(db, 'app', '050', [`ATTACH DATABASE '${attached}' AS evil; CREATE TABLE evil.stolen AS SELECT * FROM main.agents`])
      await db.rollbackLast({ allowRecordedSql: true }).catch((err) => err)
      // execute() refuses ATTACH itself; whatever the recorded SQL did, it must not leave the
      // writer connection attached to another file for later statements to write into.
      const later = await rejection(db.execute("INSERT INTO evil.stolen (id, name, model) VALUES ('more', 'More', 'm')"))
      expect(later.code).toBe('SQL_ERROR')
    })
  })

  describe('forged tracking rows', () => {
    test('an id such as 9999999999 leaves migrate, validate and status bounded', async () => {
      const db = await openDb(tmp.file('forged-ids.db'))
      await db.migrate()
      for (const [namespace, id] of [
        [LIBRARY, '9999999999'],
        ['app', '9999999999'],
        ['@acme/notes', '0000001'],
        ['@acme/notes', '9999999'],
        ['other', '9'.repeat(64)],
      ]) {
        await db.testExec(
          `INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum)
           VALUES ('${namespace}', '${id}', 'forged', '2025-01-01T00:00:00.000Z', 1, 'forged')`,
        )
      }
      expect(await db.migrate()).toEqual([])
      const report = await db.validateMigrations()
      expect(report.errors).toEqual([])
      // One warning per forged row, one gap warning for the whole missing range between the
      // 7-digit ids (ids of 8 digits or more get none), not one per missing id, and one saying
      // that the schema could not be compared.
      expect(issues(report.warnings)).toEqual([
        ['UNKNOWN_MIGRATION', LIBRARY, '9999999999'],
        ['UNKNOWN_MIGRATION', 'app', '9999999999'],
        ['UNKNOWN_MIGRATION', '@acme/notes', '0000001'],
        ['UNKNOWN_MIGRATION', '@acme/notes', '9999999'],
        ['UNKNOWN_MIGRATION', 'other', '9'.repeat(64)],
        ['GAP', '@acme/notes', '0000002'],
        ['SCHEMA_DRIFT', '', ''],
      ])
      expect(report.warnings[5].message).toContain('0000002–9999998')
      const listed = await db.listMigrations()
      expect(listed).toHaveLength(BUILTIN.length + 5)
      expect(listed.filter((m) => m.state === 'unknown')).toHaveLength(5)
      const summary = await db.getMigrationSummary()
      expect(summary).toMatchObject({ totalMigrations: BUILTIN.length, appliedMigrations: BUILTIN.length + 5, pendingMigrations: 0 })
      expect(summary.namespaces.map((n) => [n.namespace, n.appliedMigrations, n.pendingMigrations])).toEqual([
        [LIBRARY, BUILTIN.length + 1, 0],
        ['@acme/notes', 2, 0],
        ['app', 1, 0],
        ['other', 1, 0],
      ])
    })

    test('a forged row in a table of the previous release is read as an app migration, bounded too', async () => {
      const db = await openDb(tmp.file('forged-legacy.db'))
      await db.migrate()
      await db.testExec(`
        CREATE TABLE old_migrations AS SELECT id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off FROM migrations;
        DROP TABLE migrations;
        ALTER TABLE old_migrations RENAME TO migrations;
        INSERT INTO migrations VALUES ('9999999999', 'forged', '2025-01-01T00:00:00.000Z', 1, 'forged', '["DROP TABLE agents"]', 0);`)
      expect(issues((await db.validateMigrations()).warnings)).toEqual([
        ['UNKNOWN_MIGRATION', 'app', '9999999999'],
        ['SCHEMA_DRIFT', '', ''],
      ])
      expect((await db.listMigrations()).map((m) => [key(m), m.state])).toEqual([
        ...library().map((k) => [k, 'applied']),
        ['app 9999999999', 'unknown'],
      ])
      expect((await rejection(db.rollbackLast())).code).toBe('MIGRATION_IRREVERSIBLE')
      expect(await exists(db, 'agents')).toBe(true)
    })
  })

  test('a to or rollbackTo target that names no known migration is refused, with a namespace as without one', async () => {
    const db = await openDb()
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3']), app('004', ['CREATE TABLE t4 (x)'], ['DROP TABLE t4'])])
    await db.migrate({ to: '003', namespace: 'app' })
    const before = [await schema(db), await trackingRows(db)]
    for (const [what, call] of [
      ['to 999', () => db.migrate({ to: '999' })],
      ['to 999 of app', () => db.migrate({ to: '999', namespace: 'app' })],
      ['to 001 of a namespace no migration has', () => db.migrate({ to: '001', namespace: 'nope' })],
      ['rollbackTo 999', () => db.rollbackTo('999')],
      ['rollbackTo 999 of app', () => db.rollbackTo('999', { namespace: 'app' })],
      ['rollbackTo 000 of a namespace no migration has', () => db.rollbackTo('000', { namespace: 'nope' })],
    ] as [string, () => Promise<unknown>][]) {
      const err = await rejection(call())
      expect([what, err.code]).toEqual([what, 'INVALID_ARGUMENT'])
      expect([what, await schema(db), await trackingRows(db)]).toEqual([what, ...before])
    }
  })
})

describe('bad input', () => {
  const good = app('003', ['CREATE TABLE t3 (x)'])
  const migrationCases: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'CREATE TABLE x (y)'],
    ['an array', [good]],
    ['no id', { ...good, id: undefined }],
    ['a numeric id', { ...good, id: 3 }],
    ['an empty id', { ...good, id: '' }],
    ['a non-digit id', { ...good, id: '3a' }],
    ['id 0', { ...good, id: '000' }],
    ['an id longer than 64 digits', { ...good, id: '9'.repeat(65) }],
    ['no description', { ...good, description: undefined }],
    ['an empty description', { ...good, description: '  ' }],
    ['no up', { ...good, up: undefined }],
    ['up as a string', { ...good, up: 'CREATE TABLE t3 (x)' }],
    ['an empty up', { ...good, up: [] }],
    ['a non-string statement', { ...good, up: ['CREATE TABLE t3 (x)', 42] }],
    ['an empty statement', { ...good, up: [''] }],
    ['down as a string', { ...good, down: 'DROP TABLE t3' }],
    ['a non-string down statement', { ...good, down: [null] }],
    ['createdAt as a number', { ...good, createdAt: 1733824800000 }],
    ['an invalid Date', { ...good, createdAt: new Date('nope') }],
    ['disableForeignKeys as a string', { ...good, disableForeignKeys: 'yes' }],
    ['namespace as a number', { ...good, namespace: 7 }],
    ['the namespace agentdb', { ...good, namespace: 'agentdb' }],
    ['an empty namespace', { ...good, namespace: '' }],
    ['requires that is not an id', { ...good, requires: 'latest' }],
    ['requires as a number', { ...good, requires: 2 }],
    ['an unknown field', { ...good, upp: ['SELECT 1'] }],
    [
      'a throwing getter',
      Object.defineProperty({ ...good }, 'up', {
        enumerable: true,
        get() {
          throw new Error('boom')
        },
      }),
    ],
  ]

  test.each(migrationCases)('addMigration with %s throws INVALID_ARGUMENT and registers nothing', async (_, bad) => {
    const db = await openDb()
    const add = db.addMigration as (m: unknown) => void
    expect(thrown(() => add.call(db, bad)).code).toBe('INVALID_ARGUMENT')
    expect((await db.getMigrationSummary()).totalMigrations).toBe(BUILTIN.length)
  })

  test.each([
    ['undefined', undefined],
    ['an object', good],
    ['a string', '003'],
    ...migrationCases.filter(([name]) => !['undefined', 'null', 'an array'].includes(name)).map(([name, bad]) => [`[good, ${name}]`, [good, bad]]),
  ])('addMigrations with %s throws INVALID_ARGUMENT and registers nothing', async (_, bad) => {
    const db = await openDb()
    const add = db.addMigrations as (m: unknown) => void
    expect(thrown(() => add.call(db, bad)).code).toBe('INVALID_ARGUMENT')
    expect((await db.getMigrationSummary()).totalMigrations).toBe(BUILTIN.length)
  })

  test.each([
    ['a string', 'all'],
    ['a number', 5],
    ['an array', []],
    ['an unknown option', { dryrun: true }],
    ['useTransaction as a string', { useTransaction: 'no' }],
    ['validateChecksums as a number', { validateChecksums: 0 }],
    ['a negative limit', { limit: -1 }],
    ['a fractional limit', { limit: 1.5 }],
    ['a NaN limit', { limit: Number.NaN }],
    ['an infinite limit', { limit: Number.POSITIVE_INFINITY }],
    ['limit as a string', { limit: '1' }],
    ['dryRun as a string', { dryRun: 'true' }],
    ['to as a number', { to: 2 }],
    ['to that is not an id', { to: 'latest' }],
    ['an empty to', { to: '' }],
    ['an ambiguous to', { to: '001' }],
    ['a namespace without to', { namespace: 'agentdb' }],
    ['namespace as a number', { to: '001', namespace: 1 }],
    ['backup as a number', { backup: 1 }],
    ['an empty backup path', { backup: '' }],
    ['backup as an object', { backup: { path: 'x' } }],
    ['onProgress as a string', { onProgress: 'log' }],
  ])('migrate with %s rejects with INVALID_ARGUMENT and applies nothing', async (_, bad) => {
    const db = await openDb()
    await db.addMigration(app('001', ['CREATE TABLE a1 (x)']))
    const migrate = db.migrate as (o: unknown) => Promise<unknown>
    expect((await rejection(migrate.call(db, bad))).code).toBe('INVALID_ARGUMENT')
    expect(await schema(db)).toEqual([])
  })

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 1],
    ['an empty string', ''],
    ['a non-digit id', 'first'],
    ['a negative id', '-1'],
    ['an array', ['001']],
    ['options as a string', '001', 'agentdb'],
    ['namespace as a number', '001', { namespace: 1 }],
    ['allowRecordedSql as a string', '001', { allowRecordedSql: 'yes' }],
    ['an unknown option', '001', { namespaces: 'agentdb' }],
  ])('rollbackTo with %s rejects with INVALID_ARGUMENT and changes nothing', async (_, bad, options?) => {
    const db = await openDb()
    await db.migrate()
    const rollbackTo = db.rollbackTo as (id: unknown, options?: unknown) => Promise<unknown>
    expect((await rejection(rollbackTo.call(db, bad, options))).code).toBe('INVALID_ARGUMENT')
    expect(await appliedIds(db)).toEqual(BUILTIN)
  })

  test.each([
    ['a string', 'yes'],
    ['allowRecordedSql as a number', { allowRecordedSql: 1 }],
    ['an unknown option', { namespace: 'app' }],
  ])('rollbackLast with %s rejects with INVALID_ARGUMENT and changes nothing', async (_, bad) => {
    const db = await openDb()
    await db.migrate()
    const rollbackLast = db.rollbackLast as (options: unknown) => Promise<unknown>
    expect((await rejection(rollbackLast.call(db, bad))).code).toBe('INVALID_ARGUMENT')
    expect(await appliedIds(db)).toEqual(BUILTIN)
  })

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['an array of ids', ['001']],
    ['ids as a string', { ids: '001' }],
    ['a numeric id', { ids: [1] }],
    ['namespace as a number', { ids: ['001'], namespace: 1 }],
    ['dryRun as a string', { ids: ['001'], dryRun: 'yes' }],
    ['an unknown option', { ids: ['001'], force: true }],
  ])('repairMigrations with %s rejects with INVALID_ARGUMENT and changes nothing', async (_, bad) => {
    const db = await openDb()
    await db.migrate()
    const rows = await trackingRows(db)
    const repair = db.repairMigrations as (options: unknown) => Promise<unknown>
    expect((await rejection(repair.call(db, bad))).code).toBe('INVALID_ARGUMENT')
    expect(await trackingRows(db)).toEqual(rows)
  })
})
