// backup, integrityCheck and checkpoint from JavaScript, and the documented restore path
// (close, replace the file with the copy, open).
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { outcome, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

type Hooked = Database & { testExec(sql: string): Promise<void> }

async function seeded(file: string, logs = 50): Promise<Hooked> {
  const db = (await Database.open(file)) as Hooked
  await db.migrate()
  const agent = await db.createAgent({ id: 'a1', name: 'Reviewer', model: 'm' })
  const session = await db.createSession({ id: 's1', mainAgentId: agent.id })
  await db.addLogs(Array.from({ length: logs }, (_, i) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: { i } })))
  return db
}

const everything = (db: Database) =>
  Promise.all([
    db.query('SELECT * FROM agents ORDER BY id'),
    db.query('SELECT * FROM sessions ORDER BY id'),
    db.query('SELECT * FROM session_logs ORDER BY id'),
    db.query('SELECT id, checksum FROM migrations ORDER BY id'),
  ])

/** Bytes 18 and 19 of an SQLite header: 1 for a rollback journal, 2 for WAL. */
function headerJournalVersions(file: string): number[] {
  const fd = openSync(file, 'r')
  const header = Buffer.alloc(20)
  readSync(fd, header, 0, 20, 0)
  closeSync(fd)
  return [header[18], header[19]]
}

describe('backup', () => {
  it('writes a consistent single-file copy that opens with the same rows', async () => {
    const dir = tempDir('backup')
    const db = await seeded(join(dir, 'live.db'))
    const dest = join(dir, 'copy.db')
    await db.backup(dest)
    expect(existsSync(`${dest}-wal`)).toBe(false)
    expect(existsSync(`${dest}-journal`)).toBe(false)
    expect(headerJournalVersions(dest)).toEqual([1, 1])
    const copy = await Database.open(dest)
    expect(await everything(copy)).toEqual(await everything(db))
    expect((await copy.integrityCheck({ full: true })).ok).toBe(true)
    await Promise.all([copy.close(), db.close()])
  })

  it('copies an in-memory database to a file', async () => {
    const dir = tempDir('backup-memory')
    const db = await Database.open(':memory:')
    await db.migrate()
    await db.createAgent({ id: 'm1', name: 'in memory', model: 'm' })
    await db.backup(join(dir, 'memory.db'))
    const copy = await Database.open(join(dir, 'memory.db'))
    expect((await copy.getAgent('m1'))?.name).toBe('in memory')
    await Promise.all([copy.close(), db.close()])
  })

  it('replaces an existing database at the destination', async () => {
    const dir = tempDir('backup-replace')
    const db = await seeded(join(dir, 'live.db'))
    const old = await Database.open(join(dir, 'old.db'))
    await old.migrate()
    await old.createAgent({ id: 'stale', name: 'stale', model: 'm' })
    await old.close()
    await db.backup(join(dir, 'old.db'))
    const copy = await Database.open(join(dir, 'old.db'))
    expect(await copy.agentExists('stale')).toBe(false)
    expect(await copy.agentExists('a1')).toBe(true)
    await Promise.all([copy.close(), db.close()])
  })

  it('refuses the database itself, its -wal, -shm and -journal files, and what is not a path', async () => {
    const dir = tempDir('backup-refuse')
    const file = join(dir, 'live.db')
    const db = await seeded(file)
    const before = await everything(db)
    for (const dest of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`, join(dir, '.', 'live.db'), ':memory:', '', 'a\0b', 42, null, undefined, {}]) {
      expect(await outcome(db.backup(dest as string)), String(dest)).toBe('INVALID_ARGUMENT')
    }
    expect(existsSync(`${file}-journal`)).toBe(false)
    expect(await everything(db)).toEqual(before)
    expect((await db.integrityCheck({ full: true })).ok).toBe(true)
    await db.close()
  })

  it('rejects a missing directory and a directory with CANT_OPEN, and leaves a file that is not a database untouched', async () => {
    const dir = tempDir('backup-bad-dest')
    const db = await seeded(join(dir, 'live.db'))
    expect(await outcome(db.backup(join(dir, 'missing', 'copy.db')))).toBe('CANT_OPEN')
    mkdirSync(join(dir, 'folder'))
    expect(await outcome(db.backup(join(dir, 'folder')))).toBe('CANT_OPEN')
    const notes = join(dir, 'notes.txt')
    const text = 'somebody\'s notes, not a database\n'.repeat(300)
    writeFileSync(notes, text)
    expect(await outcome(db.backup(notes))).toBe('NOT_A_DATABASE')
    expect(readFileSync(notes, 'utf8')).toBe(text)
    await db.close()
  })

  it('restores by close, replace, open', async () => {
    const dir = tempDir('restore')
    const file = join(dir, 'app.db')
    const db = await seeded(file)
    await db.backup(join(dir, 'saved.db'))
    const saved = await everything(db)
    await db.createAgent({ id: 'later', name: 'after the backup', model: 'm' })
    await db.addLog({ sessionId: 's1', role: 'agent', type: 'message', content: 'after the backup' })
    await db.close()

    copyFileSync(join(dir, 'saved.db'), file)
    rmSync(`${file}-wal`, { force: true })
    rmSync(`${file}-shm`, { force: true })

    const restored = await Database.open(file)
    expect(await everything(restored)).toEqual(saved)
    expect(await restored.agentExists('later')).toBe(false)
    expect((await restored.integrityCheck({ full: true })).ok).toBe(true)
    expect(await restored.migrate()).toEqual([])
    await restored.close()
  })
})

describe('integrityCheck', () => {
  it('reports a sound database as ok, quick by default and full on request', async () => {
    const db = await seeded(join(tempDir('integrity'), 'a.db'))
    const clean = {
      ok: true,
      integrityErrors: [],
      foreignKeyViolations: [],
      foreignKeyViolationCount: 0,
      badValues: [],
      badValueCount: 0,
      searchIndexErrors: [],
    }
    expect(await db.integrityCheck()).toEqual({ ...clean, mode: 'quick' })
    expect(await db.integrityCheck({ full: false })).toEqual({ ...clean, mode: 'quick' })
    expect(await db.integrityCheck({ full: true })).toEqual({ ...clean, mode: 'full' })
    for (const bad of [{ full: 'yes' }, { fast: true }, 'full', 1, [true]]) {
      expect(await outcome(db.integrityCheck(bad as never)), JSON.stringify(bad)).toBe('INVALID_ARGUMENT')
    }
    await db.close()
  })

  it('lists rows whose foreign keys point nowhere', async () => {
    const db = await seeded(join(tempDir('orphans'), 'a.db'))
    await db.testExec("PRAGMA foreign_keys = OFF; INSERT INTO sessions (id, main_agent_id) VALUES ('orphan', 'nobody'); PRAGMA foreign_keys = ON")
    const report = await db.integrityCheck()
    expect(report.ok).toBe(false)
    expect(report.integrityErrors).toEqual([])
    expect(report.foreignKeyViolationCount).toBe(1)
    expect(report.foreignKeyViolations).toEqual([{ table: 'sessions', rowid: expect.any(Number), parent: 'agents', columns: ['main_agent_id'] }])
    await db.close()
  })

  it('reports a damaged file instead of rejecting', async () => {
    const file = join(tempDir('damaged'), 'a.db')
    const db = await seeded(file, 3000)
    await db.checkpoint()
    await db.close()
    const bytes = readFileSync(file)
    const pageSize = bytes.readUInt16BE(16)
    const pages = bytes.length / pageSize
    // Scribble over the body of a few pages in the second half of the file (logs and indexes).
    for (const page of [Math.floor(pages * 0.6), Math.floor(pages * 0.8)]) {
      for (let i = 16; i < pageSize; i++) bytes[page * pageSize + i] = (i * 151) & 0xff
    }
    writeFileSync(file, bytes)
    const damaged = await Database.open(file)
    for (const full of [false, true]) {
      const report = await damaged.integrityCheck({ full })
      expect(report.ok).toBe(false)
      expect(report.integrityErrors.length).toBeGreaterThan(0)
    }
    await damaged.close()
  })
})

describe('checkpoint', () => {
  it('moves the log into the database file and truncates it', async () => {
    const dir = tempDir('checkpoint')
    const file = join(dir, 'a.db')
    const db = await seeded(file)
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0)
    const result = await db.checkpoint()
    expect(result.frames).toBeGreaterThan(0)
    expect(result.walBytes).toBe(0)
    expect(statSync(`${file}-wal`).size).toBe(0)
    // The database file alone now holds everything.
    copyFileSync(file, join(dir, 'copied.db'))
    const copy = await Database.open(join(dir, 'copied.db'))
    expect(await everything(copy)).toEqual(await everything(db))
    await Promise.all([copy.close(), db.close()])
  })

  it('rejects with BUSY while another connection writes past the busy timeout, then succeeds', async () => {
    const file = join(tempDir('checkpoint-busy'), 'a.db')
    const db = await seeded(file)
    await db.close()
    const waiting = await Database.open(file, { busyTimeoutMs: 100 })
    const writer = (await Database.open(file)) as Hooked
    await writer.testExec("BEGIN IMMEDIATE; UPDATE agents SET name = 'renamed'")
    const err = await rejection(waiting.checkpoint())
    expect(err.code).toBe('BUSY')
    expect(err.message).toMatch(/busy timeout/)
    await writer.testExec('COMMIT')
    expect((await waiting.checkpoint()).walBytes).toBe(0)
    expect((await waiting.getAgent('a1'))?.name).toBe('renamed')
    await Promise.all([waiting.close(), writer.close()])
  })

  it('does nothing on an in-memory database', async () => {
    const db = await Database.open(':memory:')
    expect(await db.checkpoint()).toEqual({ frames: 0, walBytes: 0 })
    await db.close()
  })
})
