// The migration engine through the JavaScript API.
import { existsSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import type { MigrationProgress } from '../index'
import { app, appliedIds, appSchema, Database, exists, ISO_MILLIS, rejection, schema, tempDir, thrown, trackingRows } from './support'

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
async function openDb(path = ':memory:'): Promise<Database> {
  const db = await Database.open(path)
  open.push(db)
  return db
}

/** The schema of a new database migrated up to `to`. */
async function schemaAt(to: string) {
  const db = await openDb()
  await db.migrate({ to })
  return appSchema(db)
}

const ids = (results: { migration: { id: string } }[]) => results.map((r) => r.migration.id)

describe('migrate', () => {
  test('a fresh database gets every built-in migration, recorded', async () => {
    const db = await openDb(tmp.file('fresh.db'))
    const results = await db.migrate()
    expect(ids(results)).toEqual(['001', '002'])
    for (const r of results) {
      expect(r).toMatchObject({ success: true, dryRun: false })
      expect(r.error).toBeNull()
      expect(r.executedAt).toMatch(ISO_MILLIS)
      expect(r.executionTime).toBeGreaterThanOrEqual(0)
      expect(r.migration.description).not.toBe('')
    }
    for (const table of ['agents', 'sessions', 'session_logs', 'migrations']) expect(await exists(db, table)).toBe(true)
    const rows = await trackingRows(db)
    const listed = await db.listMigrations()
    expect(rows.map((r) => r.checksum)).toEqual(listed.map((m) => m.checksum))
    // executionTime means the same in both places: how long the migration's SQL ran, as recorded.
    expect(listed.map((m) => m.executionTime)).toEqual(results.map((r) => r.executionTime))
    expect(rows.map((r) => r.execution_time)).toEqual(results.map((r) => r.executionTime))
    expect(rows.every((r) => typeof r.applied_at === 'string' && ISO_MILLIS.test(r.applied_at))).toBe(true)
    expect(JSON.parse(rows[1].down_sql as string)[0]).toContain('DROP TABLE sessions')
    expect(listed.map((m) => [m.id, m.state, m.origin, m.reversible])).toEqual([
      ['001', 'applied', 'builtin', true],
      ['002', 'applied', 'builtin', true],
    ])
    expect(await db.getMigrationSummary()).toEqual({
      totalMigrations: 2,
      appliedMigrations: 2,
      pendingMigrations: 0,
      pendingMigrationIds: [],
      currentVersion: '002',
    })
  })

  test('migrating again changes nothing', async () => {
    const db = await openDb()
    await db.migrate()
    const before = [await schema(db), await trackingRows(db)]
    expect(await db.migrate()).toEqual([])
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
  })

  test('limit and to bound the run', async () => {
    const db = await openDb()
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'])])
    expect(await db.migrate({ limit: 0 })).toEqual([])
    expect(await schema(db)).toEqual([])
    expect(ids(await db.migrate({ limit: 1 }))).toEqual(['001'])
    expect(ids(await db.migrate({ to: '003' }))).toEqual(['002', '003'])
    expect(await exists(db, 't4')).toBe(false)
    expect((await db.getMigrationSummary()).pendingMigrationIds).toEqual(['004'])
    expect(ids(await db.migrate({ to: '4', limit: 9 }))).toEqual(['004'])
  })

  test('a dry run reports the plan and changes nothing', async () => {
    const db = await openDb(tmp.file('dry.db'))
    await db.addMigration(app('003', ['CREATE TABLE t3 (x)']))
    const plan = await db.migrate({ dryRun: true })
    expect(ids(plan)).toEqual(['001', '002', '003'])
    expect(plan.every((r) => r.dryRun && r.success && r.executionTime === 0)).toBe(true)
    expect(await schema(db)).toEqual([])
    await db.migrate({ limit: 1 })
    const before = [await schema(db), await trackingRows(db)]
    expect(ids(await db.migrate({ dryRun: true, limit: 1 }))).toEqual(['002'])
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
    expect(seenAtResolve).toBe(4)
    expect(events.map((e) => [e.phase, e.migration.id, e.index, e.total])).toEqual([
      ['start', '001', 0, 2],
      ['end', '001', 0, 2],
      ['start', '002', 1, 2],
      ['end', '002', 1, 2],
    ])
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
    expect(ids(results)).toEqual(['001', '002'])
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
    await db.migrate({ to: '003' })
    const before = [await schema(db), await trackingRows(db)]
    const events: string[] = []
    const err = await rejection(db.migrate({ onProgress: (e) => events.push(`${e.phase} ${e.migration.id}`) }))
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('004')
    expect(err.message).toContain('no such table: missing_table')
    expect(err.results?.map((r) => [r.migration.id, r.success])).toEqual([['004', false]])
    expect(err.results?.[0].error).toContain('missing_table')
    expect(events).toEqual(['start 004', 'end 004'])
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
    expect(await db.query('SELECT count(*) AS n FROM t3')).toEqual([{ n: 0 }])
  })

  test('results carry the migrations applied before it in the same run', async () => {
    const db = await openDb()
    await db.addMigrations(failing())
    const err = await rejection(db.migrate())
    expect(err.results?.map((r) => [r.migration.id, r.success])).toEqual([
      ['001', true],
      ['002', true],
      ['003', true],
      ['004', false],
    ])
    expect(await appliedIds(db)).toEqual(['001', '002', '003'])
  })

  test('without a transaction, its earlier statements stay and nothing after it runs', async () => {
    const db = await openDb()
    await db.addMigrations(failing())
    const err = await rejection(db.migrate({ useTransaction: false }))
    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.message).toContain('without a transaction')
    expect(await exists(db, 'half')).toBe(true)
    expect(await exists(db, 't5')).toBe(false)
    expect(await appliedIds(db)).toEqual(['001', '002', '003'])
  })

  test('a migration that manages its own transaction needs useTransaction: false', async () => {
    const db = await openDb()
    await db.addMigration(app('003', ['BEGIN; CREATE TABLE own (x); COMMIT;']))
    await db.migrate({ to: '002' })
    expect((await rejection(db.migrate())).code).toBe('MIGRATION_FAILED')
    expect(ids(await db.migrate({ useTransaction: false }))).toEqual(['003'])
    expect(await exists(db, 'own')).toBe(true)
  })
})

describe('rollback', () => {
  test('rollbackLast and rollbackTo round-trip the schema', async () => {
    const [at1, at2] = [await schemaAt('001'), await schemaAt('002')]
    const db = await openDb(tmp.file('roundtrip.db'))
    await db.migrate()
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')")
    await db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1')")
    await db.execute("INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}')")
    expect(await db.query('SELECT name FROM sqlite_sequence')).toEqual([{ name: 'session_logs' }])

    const undone = await db.rollbackLast()
    expect(undone).toMatchObject({ success: true, migration: { id: '002' } })
    expect(undone?.executedAt).toMatch(ISO_MILLIS)
    expect(await appSchema(db)).toEqual(at1)
    expect(await db.query('SELECT name FROM sqlite_sequence')).toEqual([])

    await db.migrate()
    expect(await appSchema(db)).toEqual(at2)
    expect(ids(await db.rollbackTo('000'))).toEqual(['002', '001'])
    expect(await appSchema(db)).toEqual([])
    expect(await db.rollbackLast()).toBeNull()
    await db.migrate()
    expect(ids(await db.rollbackTo('001'))).toEqual(['002'])
    expect(await appSchema(db)).toEqual(at1)
    expect(await db.rollbackTo('001')).toEqual([])
  })

  test('a migration without down SQL rejects with MIGRATION_IRREVERSIBLE and changes nothing', async () => {
    const db = await openDb()
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'], ['DROP TABLE t4'])])
    await db.migrate()
    const before = [await schema(db), await trackingRows(db)]
    const err = await rejection(db.rollbackTo('002'))
    expect(err.code).toBe('MIGRATION_IRREVERSIBLE')
    expect(err.message).toContain('003')
    expect([await schema(db), await trackingRows(db)]).toEqual(before)
    await db.rollbackLast()
    expect((await rejection(db.rollbackLast())).code).toBe('MIGRATION_IRREVERSIBLE')
    expect(await appliedIds(db)).toEqual(['001', '002', '003'])
  })
})

describe('validation across builds', () => {
  /** Opens the test's file database with `migrations` registered, runs `work`, closes it. */
  async function session<T>(migrations: ReturnType<typeof app>[], work: (db: Database) => Promise<T>): Promise<T> {
    const db = await Database.open(tmp.file('builds.db'))
    try {
      if (migrations.length) await db.addMigrations(migrations)
      return await work(db)
    } finally {
      await db.close()
    }
  }

  test('a modified applied migration is a CHECKSUM_MISMATCH that blocks migrate until repaired', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    const edited = [app('003', ['CREATE TABLE IF NOT EXISTS t3 (x)'], ['DROP TABLE t3']), app('004', ['CREATE TABLE t4 (x)'])]
    await session(edited, async (db) => {
      const report = await db.validateMigrations()
      expect(report.isValid).toBe(false)
      expect(report.errors.map((e) => [e.code, e.migrationId])).toEqual([['CHECKSUM_MISMATCH', '003']])
      expect((await db.listMigrations()).find((m) => m.id === '003')?.state).toBe('modified')
      const err = await rejection(db.migrate())
      expect(err.code).toBe('MIGRATION_VALIDATION_FAILED')
      expect(err.message).toContain('CHECKSUM_MISMATCH')
      expect(await exists(db, 't4')).toBe(false)

      const listed = await db.listMigrations()
      const { repaired } = await db.repairMigrations()
      const m003 = listed.find((m) => m.id === '003')
      expect(repaired).toEqual([{ id: '003', oldChecksum: m003?.appliedChecksum, newChecksum: m003?.checksum }])
      expect((await db.validateMigrations()).isValid).toBe(true)
      expect(await db.repairMigrations()).toEqual({ repaired: [] })
      expect(ids(await db.migrate())).toEqual(['004'])
    })
  })

  test('validateChecksums: false migrates despite errors', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'])], (db) => db.migrate())
    await session([app('003', ['CREATE TABLE t3 (y)']), app('004', ['CREATE TABLE t4 (x)'])], async (db) => {
      expect(ids(await db.migrate({ validateChecksums: false }))).toEqual(['004'])
    })
  })

  test('an applied migration unknown to this build is a warning and rollbackTo undoes it with the recorded down SQL', async () => {
    await session([app('003', ['CREATE TABLE t3 (x)'], ['DROP TABLE t3'])], (db) => db.migrate())
    await session([], async (db) => {
      const report = await db.validateMigrations()
      expect(report.isValid).toBe(true)
      expect(report.warnings.map((w) => [w.code, w.migrationId])).toEqual([['UNKNOWN_MIGRATION', '003']])
      const unknown = (await db.listMigrations()).find((m) => m.id === '003')
      expect(unknown).toMatchObject({ state: 'unknown', reversible: true, description: 'app migration 003' })
      expect(unknown?.origin).toBeNull()
      expect(await db.migrate()).toEqual([])
      expect(ids(await db.rollbackTo('002'))).toEqual(['003'])
      expect(await exists(db, 't3')).toBe(false)
      expect(await appliedIds(db)).toEqual(['001', '002'])
    })
  })

  test('a pending migration older than the current version is OUT_OF_ORDER', async () => {
    await session([app('004', ['CREATE TABLE t4 (x)'])], (db) => db.migrate({ validateChecksums: false }))
    await session([app('003', ['CREATE TABLE t3 (x)']), app('004', ['CREATE TABLE t4 (x)'])], async (db) => {
      const report = await db.validateMigrations()
      expect(report.errors.map((e) => [e.code, e.migrationId])).toEqual([['OUT_OF_ORDER', '003']])
      expect((await rejection(db.migrate())).code).toBe('MIGRATION_VALIDATION_FAILED')
      expect(await exists(db, 't3')).toBe(false)
    })
  })

  test('a gap is reported and migrate applies nothing', async () => {
    await session([app('005', ['CREATE TABLE t5 (x)'])], async (db) => {
      const report = await db.validateMigrations()
      expect(report.errors.map((e) => [e.code, e.migrationId])).toEqual([
        ['GAP', '003'],
        ['GAP', '004'],
      ])
      expect(report.warnings.map((w) => [w.code, w.migrationId])).toEqual([['NO_DOWN', '005']])
      expect((await rejection(db.migrate())).code).toBe('MIGRATION_VALIDATION_FAILED')
      expect(await schema(db)).toEqual([])
    })
  })

  test('CRLF and BOM copies of a migration validate against a database migrated from LF', async () => {
    const lf = 'CREATE TABLE t3 (\n  x\n);\nCREATE INDEX i3 ON t3 (x);\n'
    const crlf = `\uFEFF${lf.replaceAll('\n', '\r\n')}`
    await session([app('003', [lf], ['DROP TABLE t3'])], (db) => db.migrate())
    await session([app('003', [crlf], ['DROP TABLE t3'])], async (db) => {
      expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
      expect((await db.listMigrations()).find((m) => m.id === '003')?.state).toBe('applied')
    })
  })
})

describe('the tracking table', () => {
  test("one left by the reference module is upgraded in place", async () => {
    const db = await openDb()
    await db.execute(
      'CREATE TABLE migrations (id TEXT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL, execution_time INTEGER NOT NULL, checksum TEXT NOT NULL)',
    )
    expect(await db.getMigrationSummary()).toMatchObject({ appliedMigrations: 0, pendingMigrations: 2 })
    await db.migrate()
    const columns = (await db.query("SELECT name FROM pragma_table_info('migrations') ORDER BY cid")).map((r) => r.name)
    expect(columns).toEqual(['id', 'description', 'applied_at', 'execution_time', 'checksum', 'down_sql', 'foreign_keys_off'])
    expect(await appliedIds(db)).toEqual(['001', '002'])
    expect(ids(await db.rollbackTo('000'))).toEqual(['002', '001'])
  })

  test('initialize creates it and nothing else', async () => {
    const db = await openDb()
    await db.initialize()
    await db.initialize()
    expect((await schema(db)).map((r) => r.name)).toEqual(['sqlite_autoindex_migrations_1', 'migrations'])
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
    expect(ids(await db.migrate())).toContain('004')
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
    expect(await db.query('SELECT count(*) AS n FROM children')).toEqual([{ n: 2 }])
    await db.execute("DELETE FROM parents WHERE id = 'p1'")
    expect(await db.query('SELECT id FROM children')).toEqual([{ id: 'c2' }])
  })

  test('rolls back, and switches enforcement back on, when it leaves new violations', async () => {
    const db = await openDb()
    await db.addMigrations([parentsAndChildren, rebuild("WHERE id <> 'p2'")])
    await db.migrate({ to: '003' })
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
    await db.migrate({ to: '001' })
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')")
    await db.migrate({ backup: true, dryRun: true })
    expect(existsSync(`${path}.before-002.bak`)).toBe(false)
    expect(ids(await db.migrate({ backup: true }))).toEqual(['002'])

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

  test('a backup onto the database itself is refused and nothing is applied', async () => {
    const path = tmp.file('self.db')
    const db = await openDb(path)
    const err = await rejection(db.migrate({ backup: path }))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(await schema(db)).toEqual([])
  })
})

describe('app-defined migrations', () => {
  test('are registered beside the built-in ones and applied in id order', async () => {
    const db = await openDb()
    await db.addMigration({ ...app('004', ['CREATE TABLE t4 (x)']), createdAt: new Date('2024-12-10T10:00:00.000Z') })
    await db.addMigrations([app('003', ['CREATE TABLE t3 (x)'])])
    expect(await db.getMigrationSummary()).toMatchObject({ totalMigrations: 4, pendingMigrationIds: ['001', '002', '003', '004'] })
    const results = await db.migrate()
    expect(ids(results)).toEqual(['001', '002', '003', '004'])
    expect(results[3].migration.createdAt).toBe('2024-12-10T10:00:00.000Z')
    expect((await db.listMigrations()).map((m) => m.origin)).toEqual(['builtin', 'builtin', 'app', 'app'])
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

  test('duplicate ids are refused and nothing is registered', async () => {
    const db = await openDb()
    await db.addMigration(app('003', ['CREATE TABLE t3 (x)']))
    for (const call of [
      () => db.addMigration(app('001', ['SELECT 1'])),
      () => db.addMigration(app('2', ['SELECT 1'])),
      () => db.addMigration(app('0003', ['SELECT 1'])),
      () => db.addMigrations([app('004', ['SELECT 1']), app('004', ['SELECT 2'])]),
      () => db.addMigrations([app('005', ['SELECT 1']), app('003', ['SELECT 2'])]),
    ]) {
      const err = thrown(call)
      expect(err.code).toBe('INVALID_ARGUMENT')
      expect(err.message).toMatch(/same id/)
    }
    expect(await db.getMigrationSummary()).toMatchObject({ totalMigrations: 3, pendingMigrationIds: ['001', '002', '003'] })
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
    ['a huge id', { ...good, id: '99999999999999999999999' }],
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
    expect((await db.getMigrationSummary()).totalMigrations).toBe(2)
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
    expect((await db.getMigrationSummary()).totalMigrations).toBe(2)
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
    ['backup as a number', { backup: 1 }],
    ['an empty backup path', { backup: '' }],
    ['backup as an object', { backup: { path: 'x' } }],
    ['onProgress as a string', { onProgress: 'log' }],
  ])('migrate with %s rejects with INVALID_ARGUMENT and applies nothing', async (_, bad) => {
    const db = await openDb()
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
  ])('rollbackTo with %s rejects with INVALID_ARGUMENT and changes nothing', async (_, bad) => {
    const db = await openDb()
    await db.migrate()
    const rollbackTo = db.rollbackTo as (id: unknown) => Promise<unknown>
    expect((await rejection(rollbackTo.call(db, bad))).code).toBe('INVALID_ARGUMENT')
    expect(await appliedIds(db)).toEqual(['001', '002'])
  })
})
