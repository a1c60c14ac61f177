// Files: what `Database.open` does with each kind of file or path it may be handed. Every
// case has its documented outcome, and no file is modified (nor any file created beside it)
// unless it was opened successfully as a database.
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, FIXTURES, figure, publicCopy, rejection, removeTempDirs, seeded, tempDir } from './helpers'

const outcomes: string[] = []
afterAll(() => {
  figure(`files: ${outcomes.length} cases, each with its documented outcome (${outcomes.join('; ')}); 0 input files modified by a refused open`)
  removeTempDirs()
})

/** Every entry of a directory with a hash of its content, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {}
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    entries[name] = statSync(path).isDirectory() ? 'directory' : createHash('sha256').update(readFileSync(path)).digest('hex')
  }
  return entries
}

/** Opens `path`, which must be refused with `code`, leaving its directory exactly as it was. */
async function expectRefused(dir: string, path: string, code: string, message?: RegExp): Promise<void> {
  const before = snapshot(dir)
  const err = await rejection(Database.open(path))
  expect(err.code, err.message).toBe(code)
  if (message) expect(err.message).toMatch(message)
  expect(snapshot(dir)).toEqual(before)
}

/** A migrated database with some logs, as one complete file (checkpointed and closed). */
async function completeDatabase(file: string): Promise<void> {
  const db = await Database.open(file)
  await db.migrate()
  const agent = await db.createAgent({ name: 'a', model: 'm' })
  const session = await db.createSession({ mainAgentId: agent.id })
  for (let i = 0; i < 10; i++) {
    await db.addLogs(Array.from({ length: 100 }, (_, j) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: { i, j, text: 'x'.repeat(80) } })))
  }
  await db.checkpoint()
  await db.close()
}

async function expectWorks(file: string): Promise<void> {
  const db = await Database.open(file)
  await db.migrate()
  await db.createAgent({ id: 'probe', name: 'probe', model: 'm' })
  await db.close()
  const again = await Database.open(file)
  expect((await again.getAgent('probe'))?.name).toBe('probe')
  expect((await again.integrityCheck({ full: true })).ok).toBe(true)
  await again.close()
}

const asRoot = process.platform === 'linux' && process.getuid?.() === 0

/** Runs open-file.js as uid 65534 (who owns nothing here) and returns its report. */
async function openAsNobody(pub: string, path: string) {
  const { scripts, env } = publicCopy(pub, ['open-file.js'])
  const child = new Child(scripts[0], [path], { uid: 65534, gid: 65534, env, cwd: pub })
  child.process.stdin!.end()
  const { code } = await child.exited
  expect(code, child.stderr).toBe(0)
  return child.messages[0]
}

describe('files handed to open', () => {
  it('a 0-byte file opens as a new database', async () => {
    const dir = tempDir('files-empty')
    writeFileSync(join(dir, 'empty.db'), '')
    await expectWorks(join(dir, 'empty.db'))
    outcomes.push('0-byte file: opens as a new database')
  })

  it('random bytes are refused with NOT_A_DATABASE and left untouched', async () => {
    const dir = tempDir('files-random')
    const random = seeded(7)
    for (const size of [100, 4096, 65536]) {
      const file = join(dir, `random-${size}.db`)
      writeFileSync(file, Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256))))
      await expectRefused(dir, file, 'NOT_A_DATABASE', /is not an SQLite database/)
    }
    const fake = Buffer.alloc(8192, 0x5a)
    Buffer.from('SQLite format 3\0').copy(fake)
    writeFileSync(join(dir, 'header-then-garbage.db'), fake)
    await expectRefused(dir, join(dir, 'header-then-garbage.db'), 'NOT_A_DATABASE')
    outcomes.push('random bytes, an SQLite header then garbage: NOT_A_DATABASE')
  })

  it('a truncated database is refused with CORRUPT and left untouched', async () => {
    const source = join(tempDir('files-source'), 'whole.db')
    await completeDatabase(source)
    const size = statSync(source).size
    for (const keep of [Math.floor(size / 2), 4096, 60]) {
      const dir = tempDir('files-truncated')
      const file = join(dir, 'cut.db')
      copyFileSync(source, file)
      truncateSync(file, keep)
      await expectRefused(dir, file, 'CORRUPT', /malformed/)
    }
    outcomes.push('truncated database: CORRUPT')
  })

  it('a directory path and a missing parent directory are refused with CANT_OPEN', async () => {
    const dir = tempDir('files-paths')
    mkdirSync(join(dir, 'folder'))
    await expectRefused(dir, join(dir, 'folder'), 'CANT_OPEN', /is a directory/)
    await expectRefused(dir, join(dir, 'missing', 'a.db'), 'CANT_OPEN', /does not exist/)
    outcomes.push('directory path, missing parent: CANT_OPEN')
  })

  it('paths with spaces and non-ASCII characters work and name the file exactly', async () => {
    const dir = tempDir('files-names')
    const names = [['with spaces', 'agents db.sqlite'], ['données', 'агенты 数据 🚀.db'], ['e\u0301t\u00e9', 'ü\u00a0.db']]
    for (const [folder, name] of names) {
      mkdirSync(join(dir, folder))
      await expectWorks(join(dir, folder, name))
      expect(readdirSync(join(dir, folder))).toEqual([name])
    }
    const db = await Database.open(join(dir, 'with spaces', 'agents db.sqlite'))
    await db.backup(join(dir, 'données', 'copie de sûreté ✓.db'))
    await db.close()
    const copy = await Database.open(join(dir, 'données', 'copie de sûreté ✓.db'))
    expect(await copy.agentExists('probe')).toBe(true)
    await copy.close()
    outcomes.push('spaces and non-ASCII names: open, write, reopen, back up')
  })

  it('a relative path that looks like an SQLite URI is a file name, not a URI', async () => {
    const dir = tempDir('files-uri')
    for (const name of ['file:agents.db?mode=memory', 'file:plain.db', 'file:locks.db?nolock=1']) {
      const child = new Child(join(FIXTURES, 'open-file.js'), [name, 'write'], { cwd: dir })
      child.process.stdin!.end()
      expect((await child.exited).code, child.stderr).toBe(0)
      expect(child.messages.at(-1)).toEqual({ event: 'verified', name: 'written by open-file' })
      expect(readdirSync(dir)).toContain(name)
    }
    expect(readdirSync(dir).filter((f) => !f.startsWith('file:'))).toEqual([])
    outcomes.push("relative 'file:…' paths: plain file names")
  })
})

describe.skipIf(!asRoot)('files another user may not write (a child running as uid 65534)', () => {
  it('a read-only file is refused with READONLY and left untouched', async () => {
    const pub = tempDir('files-readonly')
    const data = join(pub, 'data')
    mkdirSync(data)
    chmodSync(data, 0o777)
    await completeDatabase(join(data, 'locked.db'))
    chmodSync(join(data, 'locked.db'), 0o444)
    await completeDatabase(join(data, 'not-mine.db'))
    chmodSync(join(data, 'not-mine.db'), 0o644)
    const before = snapshot(data)
    for (const file of ['locked.db', 'not-mine.db']) {
      expect(await openAsNobody(pub, join(data, file))).toMatchObject({ event: 'refused', code: 'READONLY' })
    }
    expect(snapshot(data)).toEqual(before)
    outcomes.push('read-only file: READONLY')
  })

  it('in a read-only directory, a database is refused with READONLY and a new file with CANT_OPEN, nothing written', async () => {
    const pub = tempDir('files-readonly-dir')
    const data = join(pub, 'data')
    mkdirSync(data)
    await completeDatabase(join(data, 'mine.db'))
    chownSync(join(data, 'mine.db'), 65534, 65534)
    chmodSync(data, 0o755)
    const before = snapshot(data)
    expect(await openAsNobody(pub, join(data, 'mine.db'))).toMatchObject({ event: 'refused', code: 'READONLY' })
    expect(await openAsNobody(pub, join(data, 'new.db'))).toMatchObject({ event: 'refused', code: 'CANT_OPEN' })
    expect(snapshot(data)).toEqual(before)
    outcomes.push('read-only directory: READONLY for a database in it, CANT_OPEN for a new file')
  })

  it.runIf(process.platform !== 'win32')('out of file descriptors, open says so and names the limit', () => {
    const file = join(tempDir('emfile'), 'a.db')
    const script = join(FIXTURES, 'no-descriptors.js')
    const run = spawnSync('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${script}" "${join(FIXTURES, '..', '..', 'index.js')}" "${file}"`], {
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).toBe(0)
    const outcome = JSON.parse(run.stdout)
    expect(outcome).toMatchObject({ event: 'rejected', code: 'CANT_OPEN', afterwards: true })
    expect(outcome.message).toMatch(/no file descriptor left .*limit of 64 open files, `ulimit -n`/)
    figure(`out of file descriptors (ulimit -n 64, all taken): open rejected with CANT_OPEN naming the limit; once they were closed it opened and migrated`)
  })
})
