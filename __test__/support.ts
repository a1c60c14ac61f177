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

/** Every row of `sqlite_master`, in a stable order. */
export async function schema(db: Database): Promise<SchemaRow[]> {
  return (await db.query('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')) as SchemaRow[]
}

/** The schema without `sqlite_sequence` (SQLite never drops it) and the tracking table. */
export async function appSchema(db: Database): Promise<SchemaRow[]> {
  return (await schema(db)).filter((row) => row.tbl_name !== 'sqlite_sequence' && row.tbl_name !== 'migrations')
}

/** Every row of the tracking table; empty when there is none. */
export async function trackingRows(db: Database): Promise<Record<string, unknown>[]> {
  const [{ n }] = (await db.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'migrations'")) as { n: number }[]
  return n ? db.query('SELECT * FROM migrations ORDER BY id') : []
}

/** The ids recorded in the tracking table. */
export async function appliedIds(db: Database): Promise<string[]> {
  return (await trackingRows(db)).map((row) => row.id as string)
}

/** Whether a table, index or trigger of this name exists. */
export async function exists(db: Database, name: string): Promise<boolean> {
  const [{ n }] = (await db.query('SELECT count(*) AS n FROM sqlite_master WHERE name = ?', [name])) as { n: number }[]
  return n > 0
}
