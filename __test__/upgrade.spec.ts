// Upgrading from the previous release: databases its build wrote (fixtures/legacy/*.db, made
// by fixtures/legacy/make.js from the release at 07e3707), opened by this build with the
// app's unchanged migrations. Their tracking tables have no namespaces (one shared sequence
// of ids; the reference module's five-column shape in one of them); this build must read
// them as they are, validate them clean, apply only its own newer built-in migrations,
// upgrade the tracking table in place and keep every row of every table.
import { copyFileSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import type { Migration } from '../index'
import { BUILTIN, Database, key, keys, LIBRARY, library, tempDir, trackingColumns } from './support'

const require = createRequire(import.meta.url)
const { seedMigrations } = require('./fixtures/legacy/seed-migrations.js') as { seedMigrations: () => Migration[] }

const FIXTURES = join(__dirname, 'fixtures', 'legacy')

/** The tracking table's columns since namespaces. */
const TRACKING_COLUMNS = ['namespace', 'id', 'description', 'applied_at', 'execution_time', 'checksum', 'down_sql', 'foreign_keys_off']

/** The tracking columns every release has written, compared row by row across the upgrade. */
const KEPT_COLUMNS = ['id', 'description', 'applied_at', 'execution_time', 'checksum']

interface Fixture {
  /** The file in fixtures/legacy/. */
  file: string
  /** The app's migrations, registered unchanged (no namespace, as the app registered them). */
  migrations: () => Migration[]
  /** The columns of its tracking table as the old build left it. */
  columns: string[]
  /** Its applied migrations as this build reads them. */
  applied: string[]
  /** Tables that must hold rows, beside the library's. */
  appTables: string[]
}

const FIXTURE_LIST: Fixture[] = [
  {
    file: 'builtin-only.db',
    migrations: () => [],
    columns: KEPT_COLUMNS.concat(['down_sql', 'foreign_keys_off']),
    applied: library(['001', '002']),
    appTables: [],
  },
  {
    file: 'app-003-004.db',
    migrations: seedMigrations,
    columns: KEPT_COLUMNS.concat(['down_sql', 'foreign_keys_off']),
    applied: [...library(['001', '002']), 'app 003', 'app 004'],
    appTables: ['permissions', 'workflows'],
  },
  {
    file: 'reference-tracking.db',
    migrations: () => [],
    columns: KEPT_COLUMNS,
    applied: library(['001', '002']),
    appTables: [],
  },
]

let tmp: ReturnType<typeof tempDir>
beforeEach(() => {
  tmp = tempDir('upgrade')
})
afterEach(() => tmp.remove())

/** Every row of every table but the tracking table (sqlite_sequence included), by table. */
/** `after`'s rows with only the columns `before`'s rows have: a migration that adds columns keeps
 *  every row when the columns there before hold what they held. */
function columnsOf(after: Record<string, unknown[]>, before: Record<string, unknown[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {}
  for (const [table, rows] of Object.entries(after)) {
    if (!(table in before)) continue
    const names = Object.keys((before[table][0] ?? {}) as object)
    out[table] = rows.map((row) => Object.fromEntries(names.map((n) => [n, (row as Record<string, unknown>)[n]])))
  }
  return out
}

async function contents(db: Database): Promise<Record<string, unknown[]>> {
  const tables = (await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'migrations' ORDER BY name")) as { name: string }[]
  const out: Record<string, unknown[]> = {}
  for (const { name } of tables) out[name] = await db.query(`SELECT * FROM "${name.replaceAll('"', '""')}" ORDER BY rowid`)
  return out
}

/** The tracking rows' columns that every release writes, by `namespace id` when there are namespaces. */
async function recorded(db: Database): Promise<Record<string, unknown>[]> {
  return db.query(`SELECT ${KEPT_COLUMNS.join(', ')} FROM migrations ORDER BY rowid`)
}

/** Copies the fixture into the test's directory and opens the copy with its app's migrations registered. */
async function openCopy(fixture: Fixture): Promise<{ db: Database; path: string }> {
  const path = tmp.file(fixture.file)
  copyFileSync(join(FIXTURES, fixture.file), path)
  const db = await Database.open(path)
  const migrations = fixture.migrations()
  if (migrations.length) await db.addMigrations(migrations)
  return { db, path }
}

test('the fixtures are committed whole: a closed database, no -wal or -shm beside it', () => {
  const files = readdirSync(FIXTURES)
  for (const { file } of FIXTURE_LIST) {
    expect(files).toContain(file)
    expect(readFileSync(join(FIXTURES, file)).subarray(0, 16).toString()).toBe('SQLite format 3\0')
  }
  expect(files.filter((f) => /-(wal|shm|journal)$/.test(f))).toEqual([])
})

describe.each(FIXTURE_LIST)('a database of the previous release: $file', (fixture) => {
  test('is read as it is: nothing is written until it is migrated', async () => {
    const { db, path } = await openCopy(fixture)
    expect(await trackingColumns(db)).toEqual(fixture.columns)
    const listed = await db.listMigrations()
    expect(listed.filter((m) => m.state !== 'pending').map(key)).toEqual(fixture.applied)
    expect(listed.filter((m) => m.state !== 'pending').every((m) => m.state === 'applied')).toBe(true)
    await db.validateMigrations()
    await db.getMigrationSummary()
    await db.close()
    expect(readFileSync(path).equals(readFileSync(join(FIXTURES, fixture.file)))).toBe(true)
  })

  test('validates clean, applies only newer built-in migrations, keeps every row and upgrades the tracking table', async () => {
    const { db } = await openCopy(fixture)
    try {
      const report = await db.validateMigrations()
      expect(report.errors).toEqual([])
      expect(report.isValid).toBe(true)

      // The built-ins in the library's namespace, the app's 003 and 004 in the app's.
      const listed = await db.listMigrations()
      expect(listed.filter((m) => m.namespace === LIBRARY).map((m) => m.id)).toEqual(BUILTIN)
      expect(listed.filter((m) => m.namespace !== LIBRARY).map(key)).toEqual(fixture.applied.filter((k) => !k.startsWith(`${LIBRARY} `)))
      expect(listed.filter((m) => m.namespace !== LIBRARY).every((m) => m.origin === 'app')).toBe(true)

      // Whatever is pending is the library's own, newer than the 002 the old build had.
      const pending = listed.filter((m) => m.state === 'pending')
      expect(pending.map(key)).toEqual(library(BUILTIN.filter((id) => Number(id) > 2)))
      const summary = await db.getMigrationSummary()
      expect(summary.currentVersion).toBe('002')
      for (const n of summary.namespaces) expect([n.namespace, n.pendingMigrations]).toEqual([n.namespace, n.namespace === LIBRARY ? pending.length : 0])

      const rows = await contents(db)
      for (const table of ['agents', 'sessions', 'session_logs', ...fixture.appTables]) expect([table, rows[table].length > 0]).toEqual([table, true])
      const tracked = await recorded(db)

      expect(keys(await db.migrate())).toEqual(pending.map(key))

      expect(columnsOf(await contents(db), rows)).toEqual(rows)
      expect((await recorded(db)).slice(0, tracked.length)).toEqual(tracked)
      expect((await db.integrityCheck({ full: true })).ok).toBe(true)
      expect(await trackingColumns(db)).toEqual(TRACKING_COLUMNS)
      const primaryKey = await db.query("SELECT name FROM pragma_table_info('migrations') WHERE pk > 0 ORDER BY pk")
      expect(primaryKey).toEqual([{ name: 'namespace' }, { name: 'id' }])
      const namespaces = await db.query('SELECT namespace, id FROM migrations ORDER BY rowid')
      expect(namespaces.map((r) => `${r.namespace} ${r.id}`)).toEqual([...fixture.applied, ...pending.map(key)])

      expect(await db.validateMigrations()).toEqual({ isValid: true, errors: [], warnings: [] })
      expect((await db.listMigrations()).every((m) => m.state === 'applied')).toBe(true)
      expect((await db.getMigrationSummary()).currentVersion).toBe(BUILTIN[BUILTIN.length - 1])
      expect(await db.migrate()).toEqual([])
    } finally {
      await db.close()
    }
  })

  test('works on with the library and the app after the upgrade', async () => {
    const { db } = await openCopy(fixture)
    try {
      await db.migrate()
      const agents = await db.listAgents()
      expect(agents.items.map((a) => a.id).sort()).toEqual(['agent-planner', 'agent-reviewer'])
      expect((await db.getLogTree('session-review')).map((l) => l.children.length)).toEqual([1, 0])
      const session = await db.createSession({ mainAgentId: 'agent-planner', status: 'running' })
      await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: { text: 'after the upgrade' } })
      expect(await db.countLogs(session.id)).toBe(1)
      if (fixture.appTables.includes('permissions')) {
        // The app's tables still reference the library's rows, and cascade with them.
        await db.deleteAgent('agent-reviewer')
        expect(await db.query('SELECT id FROM permissions ORDER BY id')).toEqual([{ id: 'perm-run' }])
        expect(await db.query('SELECT id FROM workflows ORDER BY id')).toEqual([{ id: 'wf-plan' }])
        // The app's migrations still roll back with their own down SQL, the library's untouched.
        expect(keys(await db.rollbackTo('000', { namespace: 'app' }))).toEqual(['app 004', 'app 003'])
        expect((await db.query("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('permissions', 'workflows')"))[0]).toEqual({ n: 0 })
      }
      expect((await db.integrityCheck({ full: true })).ok).toBe(true)
    } finally {
      await db.close()
    }
  })
})
