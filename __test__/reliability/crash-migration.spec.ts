// Crash during migration: a child applies the built-in migrations and a slow app-defined one
// and is SIGKILLed at a random moment, many times. Each file must then open, pass
// integrity_check, hold exactly the schema of a prefix of the migrations with the tracking
// rows of that prefix (each migration fully applied with its row, or fully absent), and
// migrate to the end on the next try.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { bulkMigration } from '../fixtures/slow-migration.js'
import { key, keys, library } from '../support'
import { Child, FIXTURES, figure, removeTempDirs, seeded, sleep, tempDir } from './helpers'

afterAll(removeTempDirs)

const KILLS = Number(process.env.RELIABILITY_MIGRATION_KILLS ?? 40)
const ROWS = 60_000
const SCRIPT = join(FIXTURES, 'slow-migration.js')
/** Every migration the child applies, as `namespace id`, in run order: the built-in ones, then the app's bulk 003. */
const IDS = [...library(), 'app 003']

const SCHEMA_SQL = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"

async function openWithBulk(file: string): Promise<Database> {
  const db = await Database.open(file)
  await db.addMigration(bulkMigration(ROWS))
  return db
}

async function appliedIds(db: Database): Promise<string[]> {
  return (await db.listMigrations()).filter((m) => m.state === 'applied').map(key)
}

/** The schema after applying the first `count` migrations, from an uninterrupted run. */
async function referenceSchemas(dir: string): Promise<unknown[][]> {
  const schemas = []
  for (let count = 0; count <= IDS.length; count++) {
    const db = await openWithBulk(join(dir, `reference-${count}.db`))
    if (count > 0) {
      const [namespace, to] = IDS[count - 1].split(' ')
      await db.migrate({ to, namespace })
    }
    schemas.push(await db.query(SCHEMA_SQL))
    await db.close()
  }
  return schemas
}

/** Runs the child to its end and returns how long the migrations took, in ms. */
async function calibrate(file: string): Promise<number> {
  const child = new Child(SCRIPT, [file, String(ROWS)])
  await child.waitFor('opened')
  const started = performance.now()
  await child.waitFor('done')
  const took = performance.now() - started
  expect((await child.exited).code).toBe(0)
  return took
}

describe('crash during migration', () => {
  it(`leaves every file consistent after ${KILLS} kills at random moments`, { timeout: 300_000 }, async () => {
    const dir = tempDir('crash-migration')
    const references = await referenceSchemas(dir)
    const duration = await calibrate(join(dir, 'calibration.db'))
    const random = seeded(0x5eed_0001)
    const statesSeen = new Map<number, number>()
    let killedMidway = 0
    let inconsistent = 0

    for (let round = 0; round < KILLS; round++) {
      const file = join(dir, `crash-${round}.db`)
      const child = new Child(SCRIPT, [file, String(ROWS)])
      await child.waitFor('opened')
      await sleep(random() * duration * 1.1)
      const finished = child.messages.some((m) => m.event === 'done')
      child.kill()
      await child.exited
      if (!finished) killedMidway++

      const db = await openWithBulk(file)
      const report = await db.integrityCheck({ full: true })
      const applied = await appliedIds(db)
      const schema = await db.query(SCHEMA_SQL)
      const consistent =
        report.ok &&
        applied.every((id, i) => id === IDS[i]) &&
        JSON.stringify(schema) === JSON.stringify(references[applied.length])
      if (!consistent) inconsistent++
      expect(report.integrityErrors).toEqual([])
      expect(report.foreignKeyViolationCount).toBe(0)
      expect(IDS.slice(0, applied.length)).toEqual(applied)
      expect(schema).toEqual(references[applied.length])
      if (applied.includes('app 003')) expect(await db.query('SELECT count(*) AS n FROM bulk')).toEqual([{ n: ROWS }])
      statesSeen.set(applied.length, (statesSeen.get(applied.length) ?? 0) + 1)

      const again = await db.migrate()
      expect(keys(again)).toEqual(IDS.slice(applied.length))
      expect(await appliedIds(db)).toEqual(IDS)
      expect(await db.query('SELECT count(*) AS n FROM bulk')).toEqual([{ n: ROWS }])
      expect((await db.integrityCheck({ full: true })).ok).toBe(true)
      await db.close()
    }

    const states = [...statesSeen.entries()]
      .sort(([a], [b]) => a - b)
      .map(([count, times]) => `${times} with ${count} applied`)
      .join(', ')
    figure(`${KILLS} kills during migration (${killedMidway} before it finished; files found ${states}), ${inconsistent} inconsistent files`)
    // The kills must really land inside the migration, or this test proves nothing.
    expect(killedMidway).toBeGreaterThan(KILLS / 2)
  })
})
