// Backups that must never harm what they protect: a destination whose side files would be
// the live database, a destination another connection has open, a full disk, and a backup
// killed at a random moment. The destination is either the old file, untouched, or a
// complete copy in rollback-journal mode; the live database is never touched.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, FIXTURES, figure, outcome, removeTempDirs, seeded, sleep, tempDir } from './helpers'

/** The test-hooks build's raw SQL on the writer connection, outside the library's checks. */
type Hooked = Database & { testExec(sql: string): Promise<void> }

const mounts: string[] = []
afterAll(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir])
  removeTempDirs()
})

const asRoot = process.platform === 'linux' && process.getuid?.() === 0

async function seed(file: string, logs = 50): Promise<Database> {
  const db = await Database.open(file)
  await db.migrate()
  const agent = await db.createAgent({ id: 'a1', name: 'Reviewer', model: 'm' })
  const session = await db.createSession({ id: 's1', mainAgentId: agent.id })
  for (let done = 0; done < logs; done += 500) {
    const n = Math.min(500, logs - done)
    await db.addLogs(Array.from({ length: n }, (_, i) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: { i: done + i, text: 'x'.repeat(200) } })))
  }
  return db
}

const everything = (db: Database) =>
  Promise.all([db.query('SELECT * FROM agents ORDER BY id'), db.query('SELECT * FROM sessions ORDER BY id'), db.query('SELECT * FROM session_logs ORDER BY id')])

/** Bytes 18 and 19 of an SQLite header: 1 for a rollback journal, 2 for WAL. */
function journalVersions(file: string): number[] {
  const header = readFileSync(file).subarray(0, 20)
  return [header[18], header[19]]
}

describe('a destination whose -journal, -wal or -shm file would be the live database', () => {
  for (const suffix of ['-journal', '-wal', '-shm']) {
    it(`is refused, and the live database copy.db${suffix} is left whole`, async () => {
      const dir = tempDir('backup-side-name')
      const live = join(dir, `copy.db${suffix}`)
      const db = await seed(live)
      const before = await everything(db)
      expect(await outcome(db.backup(join(dir, 'copy.db')))).toBe('INVALID_ARGUMENT')
      expect(existsSync(live)).toBe(true)
      expect(await everything(db)).toEqual(before)
      await db.close()
      const reopened = await Database.open(live)
      expect(await everything(reopened)).toEqual(before)
      expect((await reopened.integrityCheck({ full: true })).ok).toBe(true)
      await reopened.close()
    })
  }

  it('is refused as the backup migrate() writes first, and nothing is applied', async () => {
    const dir = tempDir('migrate-side-name')
    const live = join(dir, 'app.bak-journal')
    const db = await Database.open(live)
    // A table made as another program would (raw SQL may not change the schema).
    await (db as Hooked).testExec('CREATE TABLE kept (x)')
    await db.execute('INSERT INTO kept VALUES (1)')
    expect(await outcome(db.migrate({ backup: join(dir, 'app.bak') }))).toBe('INVALID_ARGUMENT')
    expect(existsSync(live)).toBe(true)
    expect(await db.query("SELECT name FROM sqlite_master WHERE name = 'agents'")).toEqual([])
    expect(await db.query('SELECT x FROM kept')).toEqual([{ x: 1 }])
    await db.close()
  })
})

describe('a destination another connection has open', () => {
  it('rejects with BUSY and leaves the destination as it was', async () => {
    const dir = tempDir('backup-dest-open')
    const db = await seed(join(dir, 'live.db'))
    const dest = join(dir, 'copy.db')
    const other = await seed(dest, 7)
    await other.createAgent({ id: 'theirs', name: 'only in the destination', model: 'm' })
    const theirs = await everything(other)
    const waiting = await Database.open(join(dir, 'live.db'), { busyTimeoutMs: 100 })
    expect(await outcome(waiting.backup(dest))).toBe('BUSY')
    expect(await everything(other)).toEqual(theirs)
    const third = await Database.open(dest)
    expect(await everything(third)).toEqual(theirs)
    await Promise.all([third.close(), other.close()])
    expect(readdirSync(dir).filter((name) => !name.startsWith('live.db') && !name.startsWith('copy.db'))).toEqual([])
    await waiting.backup(dest)
    const copy = await Database.open(dest)
    expect(await everything(copy)).toEqual(await everything(db))
    await Promise.all([copy.close(), waiting.close(), db.close()])
    figure('backup onto an open destination: BUSY after the busy timeout, the destination unchanged for the connection holding it and for a new one')
  })
})

describe.skipIf(!asRoot)('a full disk (a 64 KiB tmpfs)', () => {
  it('rejects with FULL and leaves the destination as it was, with nothing beside it', async () => {
    const dir = tempDir('backup-full')
    const small = join(dir, 'small')
    mkdirSync(small)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small])
    mounts.push(small)
    const db = await seed(join(dir, 'live.db'), 2000)
    expect(await outcome(db.backup(join(small, 'new.db')))).toBe('FULL')
    expect(readdirSync(small)).toEqual([])

    // The previous backup, of a small database, fits.
    const tiny = await Database.open(join(dir, 'tiny.db'))
    await (tiny as Hooked).testExec('CREATE TABLE kept (x)')
    await tiny.execute("INSERT INTO kept VALUES ('the previous backup')")
    await tiny.backup(join(small, 'old.db'))
    await tiny.close()
    const bytes = readFileSync(join(small, 'old.db'))
    expect(await outcome(db.backup(join(small, 'old.db')))).toBe('FULL')
    expect(readdirSync(small)).toEqual(['old.db'])
    expect(readFileSync(join(small, 'old.db')).equals(bytes)).toBe(true)
    await db.close()
    figure('backup on a full disk: FULL for a new and for an existing destination; no file left for the new one, the existing one byte-for-byte as it was')
  })
})

const KILLS = Number(process.env.RELIABILITY_BACKUP_KILLS ?? 40)

describe('a backup killed at a random moment', () => {
  it(`leaves the destination absent, or a complete copy in rollback-journal mode, across ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const dir = tempDir('backup-kill')
    const live = join(dir, 'live.db')
    const db = await seed(live, 6000)
    const expected = await everything(db)
    await db.checkpoint()
    const dest = join(dir, 'copy.db')
    const checks = join(dir, 'checks')
    mkdirSync(checks)
    const random = seeded(0x5eed_0b4c)
    const found = { absent: 0, complete: 0, inWalMode: 0, withSideFile: 0, incomplete: 0 }
    let resolved = 0
    for (let round = 0; round < KILLS; round++) {
      const child = new Child(join(FIXTURES, 'backup-loop.js'), [live, dest])
      await child.waitFor('ready')
      await sleep(random() * 400)
      child.kill()
      const { signal } = await child.exited
      expect(signal, child.stderr).toBe('SIGKILL')
      resolved += child.messages.filter((m) => m.event === 'backed-up').length
      if (!existsSync(dest)) {
        found.absent++
        continue
      }
      const sideFiles = ['-journal', '-wal', '-shm'].filter((s) => existsSync(`${dest}${s}`) && statSync(`${dest}${s}`).size > 0)
      const check = join(checks, `round-${round}.db`)
      copyFileSync(dest, check)
      let whole = false
      try {
        const copy = await Database.open(check)
        whole = JSON.stringify(await everything(copy)) === JSON.stringify(expected) && (await copy.integrityCheck({ full: true })).ok
        await copy.close()
      } catch {
        whole = false
      }
      if (statSync(dest).size < 100) found.incomplete++
      else if (journalVersions(dest).some((v) => v !== 1)) found.inWalMode++
      else if (sideFiles.length > 0) found.withSideFile++
      else if (!whole) found.incomplete++
      else found.complete++
    }
    const temporaries = () => readdirSync(dir).filter((name) => !name.startsWith('live.db') && !name.startsWith('copy.db') && name !== 'checks')
    const beforeNext = temporaries().length
    // The next backup to the destination removes what the killed ones left.
    await db.backup(dest)
    await db.close()
    const leftovers = temporaries()
    figure(
      `backup killed: ${KILLS} SIGKILLs during back-to-back backups of a ${Math.round(statSync(live).size / 1024)} KiB database (${resolved} backups resolved); ` +
        `destination absent ${found.absent}, complete in rollback-journal mode ${found.complete}, in WAL mode ${found.inWalMode}, ` +
        `with a side file ${found.withSideFile}, incomplete ${found.incomplete}; ${beforeNext} temporary files beside it after the last kill, ` +
        `${leftovers.length} after the next backup`,
    )
    expect(leftovers).toEqual([])
    expect({ inWalMode: found.inWalMode, withSideFile: found.withSideFile, incomplete: found.incomplete }).toEqual({
      inWalMode: 0,
      withSideFile: 0,
      incomplete: 0,
    })
  })
})
