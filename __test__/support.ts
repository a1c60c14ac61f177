// Helpers shared by the specs: the addon, temporary directories, rejections and snapshots of
// a database's schema and tracking table.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { AgentDbError, Database as DatabaseClass, Migration } from '../index'

const require = createRequire(import.meta.url)

/** The addon, loaded as an app loads it. */
export const { Database } = require('../index.js') as { Database: typeof DatabaseClass }
export type Database = DatabaseClass

/** The namespace of the library's own (built-in) migrations. */
export const LIBRARY = 'agentdb'

/**
 * The ids of this build's built-in migrations, in order: what a new database gets. Specs
 * derive what they expect from it, so that a new built-in migration does not break them.
 */
export const BUILTIN: string[] = await (async () => {
  const db = await Database.open(':memory:')
  try {
    return (await db.listMigrations()).filter((m) => m.namespace === LIBRARY).map((m) => m.id)
  } finally {
    await db.close()
  }
})()

/** A migration's identity as one string, `namespace id` (`agentdb 001`, `app 003`). */
export const key = (m: { namespace: string; id: string }) => `${m.namespace} ${m.id}`

/** The identities of the migrations of results (`migrate`, `rollbackTo`, `error.results`). */
export const keys = (results: { migration: { namespace: string; id: string } }[]) => results.map((r) => key(r.migration))

/** `agentdb 001`, … for the given built-in ids (default: all of them). */
export const library = (ids: string[] = BUILTIN) => ids.map((id) => `${LIBRARY} ${id}`)

/** The shape of every timestamp the library writes: ISO-8601 UTC with milliseconds. */
export const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** A new empty directory; `remove()` deletes it and everything in it. */
export function tempDir(tag: string): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `agentdb-${tag}-`))
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<AgentDbError> {
  try {
    const value = await promise
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('expected a rejection')) throw err
    return err as AgentDbError
  }
}

/** The error `call` throws synchronously (the test fails if it returns). */
export function thrown(call: () => unknown): AgentDbError {
  let value: unknown
  try {
    value = call()
  } catch (err) {
    return err as AgentDbError
  }
  throw new Error(`expected a synchronous throw, got ${String(value)}`)
}

/** An app-defined migration in the reference module's object form. */
export function app(id: string, up: string[], down?: string[]): Migration {
  return { id, description: `app migration ${id}`, up, ...(down ? { down } : {}), createdAt: '2024-12-10T10:00:00.000Z' }
}

type SchemaRow = { type: string; name: string; tbl_name: string; sql: string | null }

/**
 * Every row of `sqlite_master`, in a stable order. A table that a migration rebuilt (created
 * under another name, then renamed) is stored as `CREATE TABLE "name"`; the quotes are taken
 * off, so that it compares equal to the same table created under its name.
 */
export async function schema(db: Database): Promise<SchemaRow[]> {
  const rows = (await db.query('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')) as SchemaRow[]
  return rows.map((row) => ({ ...row, sql: row.sql?.replace(`CREATE TABLE "${row.name}"`, `CREATE TABLE ${row.name}`) ?? null }))
}

/** The schema without `sqlite_sequence` (SQLite never drops it) and the tracking table. */
export async function appSchema(db: Database): Promise<SchemaRow[]> {
  return (await schema(db)).filter((row) => row.tbl_name !== 'sqlite_sequence' && row.tbl_name !== 'migrations')
}

/** Every row of the tracking table, in the order they were recorded; empty when there is none. */
export async function trackingRows(db: Database): Promise<Record<string, unknown>[]> {
  const [{ n }] = (await db.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'migrations'")) as { n: number }[]
  return n ? db.query('SELECT * FROM migrations ORDER BY rowid') : []
}

/** The ids recorded in the tracking table, in the order they were recorded. */
export async function appliedIds(db: Database): Promise<string[]> {
  return (await trackingRows(db)).map((row) => row.id as string)
}

/** `namespace id` of every row of the tracking table, in the order they were recorded. */
export async function appliedKeys(db: Database): Promise<string[]> {
  return (await trackingRows(db)).map((row) => `${row.namespace} ${row.id}`)
}

/** The columns of the tracking table, in order. */
export async function trackingColumns(db: Database): Promise<string[]> {
  return (await db.query("SELECT name FROM pragma_table_info('migrations') ORDER BY cid")).map((r) => r.name as string)
}

/** Whether a table, index or trigger of this name exists. */
export async function exists(db: Database, name: string): Promise<boolean> {
  const [{ n }] = (await db.query('SELECT count(*) AS n FROM sqlite_master WHERE name = ?', [name])) as { n: number }[]
  return n > 0
}
