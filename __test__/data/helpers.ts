// Shared by the data-API specs: fresh migrated databases, snapshots that show a refused call
// wrote nothing, and readers for every page of a list.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'

import { Database, type JsonValue, type LogInput, type Page, type Session } from '../../index.js'

const dirs: string[] = []

/** A migrated in-memory database. */
export async function memoryDb(): Promise<Database> {
  const db = await Database.open(':memory:')
  await db.migrate()
  return db
}

/** A migrated in-memory database with one agent (named `agentName`) and `count` sessions of it. */
export async function sessionsDb(count: number, agentName = 'A'): Promise<{ db: Database; sessions: Session[] }> {
  const db = await memoryDb()
  const agent = await db.createAgent({ name: agentName, model: 'm' })
  const sessions = []
  for (let i = 0; i < count; i++) sessions.push(await db.createSession({ mainAgentId: agent.id }))
  return { db, sessions }
}

/** A user message of session `sessionId` holding `content`, with `extra` fields. */
export function messageOf(sessionId: string, content: JsonValue, extra: Partial<LogInput> = {}): LogInput {
  return { sessionId, role: 'user', type: 'message', content, ...extra }
}

/** A migrated database file in a new temporary directory (reads go to reader connections). */
export async function fileDb(readers = 2): Promise<Database> {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-data-'))
  dirs.push(dir)
  const db = await Database.open(join(dir, 'agents.db'), { readers })
  await db.migrate()
  return db
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Every row of the three tables and of the compaction checkpoints, in insertion order. */
export async function snapshot(db: Database): Promise<string> {
  const tables = []
  for (const table of ['agents', 'sessions', 'session_logs', 'session_checkpoints']) {
    tables.push(await db.query(`SELECT * FROM ${table} ORDER BY rowid`))
  }
  return JSON.stringify(tables)
}

/** How many agents, sessions and logs there are, and how many of them have lost their parent row. */
export async function counts(db: Database) {
  const [row] = await db.query(`SELECT
      (SELECT count(*) FROM agents) AS agents,
      (SELECT count(*) FROM sessions) AS sessions,
      (SELECT count(*) FROM session_logs) AS logs,
      (SELECT count(*) FROM sessions WHERE main_agent_id NOT IN (SELECT id FROM agents))
        + (SELECT count(*) FROM session_logs WHERE session_id NOT IN (SELECT id FROM sessions))
        + (SELECT count(*) FROM session_logs WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM session_logs))
        AS orphans`)
  return row as { agents: number; sessions: number; logs: number; orphans: number }
}

/** The error a Promise rejects with (the test fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code: string }
  }
  throw new Error('expected the call to reject, it resolved')
}

/** Expects `promise` to reject with `code`, with `mention` in the message when given. */
export async function expectCode(promise: Promise<unknown>, code: string, mention?: string): Promise<void> {
  const err = await rejection(promise)
  expect(err).toBeInstanceOf(Error)
  expect(err.code, err.message).toBe(code)
  if (mention !== undefined) expect(err.message).toContain(mention)
}

/** Reads a whole list page by page with the keyset cursor, checking each page's size. */
export async function allPages<T>(read: (after: string | undefined) => Promise<Page<T>>, limit: number): Promise<T[]> {
  const items: T[] = []
  let after: string | undefined
  for (;;) {
    const page = await read(after)
    expect(page.items.length).toBeLessThanOrEqual(limit)
    items.push(...page.items)
    if (page.nextCursor === null) return items
    expect(page.items.length).toBe(limit)
    after = page.nextCursor
  }
}
