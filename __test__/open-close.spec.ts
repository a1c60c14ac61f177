// Opening and closing: paths that work, paths that fail with a clear code and leave files
// alone, what close() releases, and what calls after it get.
import { spawn } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import { app, appliedKeys, appSchema, BUILTIN, Database, library, rejection, tempDir, thrown } from './support'

const require = createRequire(import.meta.url)
const { countingMigrations } = require('./children/migrate.cjs') as { countingMigrations: () => ReturnType<typeof app>[] }
const CHILDREN = join(__dirname, 'children')

let tmp: ReturnType<typeof tempDir>

beforeEach(() => {
  tmp = tempDir('open')
})

afterEach(() => {
  tmp.remove()
})

/** The files this process holds a descriptor to whose path starts with `prefix`. */
function descriptorsTo(prefix: string): string[] {
  const links: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(prefix)) links.push(target)
    } catch {
      // The descriptor readdir itself used is gone by now.
    }
  }
  return links
}

/** Opens `path` in a child process running as `nobody`, and returns what it printed. The
 *  child runs a copy of the addon and of its script from the (world-readable) temporary
 *  directory, since the checkout may sit where that user cannot read. */
function openAsNobody(path: string) {
  const lib = join(tmp.dir, 'lib')
  mkdirSync(lib)
  const root = join(__dirname, '..')
  const addon = readdirSync(root).find((f) => f.startsWith(`agentdb.${process.platform}-${process.arch}`) && f.endsWith('.node'))
  if (!addon) throw new Error('the addon is not built')
  copyFileSync(join(root, addon), join(lib, 'agentdb.node'))
  copyFileSync(join(CHILDREN, 'open.cjs'), join(lib, 'open.cjs'))
  chmodSync(tmp.dir, 0o755)
  chmodSync(lib, 0o755)
  return new Promise<{ code?: string; message?: string; opened?: boolean }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(lib, 'open.cjs'), path, join(lib, 'agentdb.node')], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')) : reject(new Error(`child exited with ${code}`))))
  })
}

describe('open', () => {
  test("':memory:' opens a private database", async () => {
    const [a, b] = [await Database.open(':memory:'), await Database.open(':memory:')]
    expect([a.path, a.closed]).toEqual([':memory:', false])
    await a.migrate()
    expect(await a.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'agents'")).toEqual([{ n: 1 }])
    expect(await b.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'agents'")).toEqual([{ n: 0 }])
    await Promise.all([a.close(), b.close()])
    expect(a.closed).toBe(true)
  })

  test('a file database is in WAL mode', async () => {
    const path = tmp.file('wal.db')
    const db = await Database.open(path)
    await db.migrate()
    await db.close()
    const header = readFileSync(path).subarray(0, 20)
    expect([header[18], header[19]]).toEqual([2, 2])
  })

  test('a 0-byte file opens as a new database', async () => {
    const path = tmp.file('empty.db')
    writeFileSync(path, '')
    const db = await Database.open(path)
    expect((await db.migrate()).length).toBe(BUILTIN.length)
    await db.close()
    expect(readFileSync(path).subarray(0, 16).toString()).toBe('SQLite format 3\0')
  })

  test.each([
    ['text', Buffer.from('these are notes, not a database\n')],
    ['8 KiB of noise', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 2654435761) >>> 13) .map((n) => n & 0xff))],
    ['zeros', Buffer.alloc(4096)],
    ['the SQLite magic string then noise', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0xa5)])],
  ])('a file of %s rejects with NOT_A_DATABASE and is left byte-for-byte as it was', async (_, bytes) => {
    const path = tmp.file('notes.db')
    writeFileSync(path, bytes)
    const err = await rejection(Database.open(path))
    expect(err.code).toBe('NOT_A_DATABASE')
    expect(err.message).toContain(path)
    expect(readFileSync(path).equals(bytes)).toBe(true)
    expect(readdirSync(tmp.dir)).toEqual(['notes.db'])
  })

  test('a truncated database rejects with CORRUPT and is left as it was', async () => {
    const path = tmp.file('whole.db')
    const db = await Database.open(path)
    await db.migrate()
    await db.close()
    const truncated = readFileSync(path).subarray(0, 1000)
    writeFileSync(path, truncated)
    expect((await rejection(Database.open(path))).code).toBe('CORRUPT')
    expect(readFileSync(path).equals(truncated)).toBe(true)
    expect(readdirSync(tmp.dir)).toEqual(['whole.db'])
  })

  test('a missing directory and a directory path reject with CANT_OPEN', async () => {
    const missing = await rejection(Database.open(join(tmp.dir, 'nope', 'a.db')))
    expect(missing.code).toBe('CANT_OPEN')
    expect(missing.message).toContain('does not exist')
    const dir = await rejection(Database.open(tmp.dir))
    expect(dir.code).toBe('CANT_OPEN')
    expect(dir.message).toContain('is a directory')
    expect(readdirSync(tmp.dir)).toEqual([])
  })

  test('a file this user cannot write rejects with READONLY', async () => {
    const path = tmp.file('theirs.db')
    const db = await Database.open(path)
    await db.migrate()
    await db.close()
    chmodSync(path, 0o644)
    const before = readFileSync(path)
    const outcome = await openAsNobody(path)
    expect(outcome.code).toBe('READONLY')
    expect(outcome.message).toContain(path)
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  test('a new file in a directory this user cannot write rejects with CANT_OPEN', async () => {
    const path = tmp.file('new.db')
    expect((await openAsNobody(path)).code).toBe('CANT_OPEN')
    expect(existsSync(path)).toBe(false)
  })

  test.each([
    ['no path', [undefined]],
    ['a null path', [null]],
    ['a numeric path', [42]],
    ['an object path', [{ path: 'a.db' }]],
    ['an empty path', ['']],
    ['a path with NUL', ['a\0b.db']],
    ['options as a string', ['FILE', 'fast']],
    ['options as a number', ['FILE', 5000]],
    ['an unknown option', ['FILE', { timeout: 5 }]],
    ['a negative busyTimeoutMs', ['FILE', { busyTimeoutMs: -1 }]],
    ['a fractional busyTimeoutMs', ['FILE', { busyTimeoutMs: 1.5 }]],
    ['busyTimeoutMs as a string', ['FILE', { busyTimeoutMs: '5000' }]],
    ['a NaN busyTimeoutMs', ['FILE', { busyTimeoutMs: Number.NaN }]],
    ['a busyTimeoutMs above an hour', ['FILE', { busyTimeoutMs: 3_600_001 }]],
    ['no readers', ['FILE', { readers: 0 }]],
    ['a negative readers', ['FILE', { readers: -1 }]],
    ['too many readers', ['FILE', { readers: 65 }]],
    ['a fractional readers', ['FILE', { readers: 1.5 }]],
    ['an unknown durability', ['FILE', { durability: 'fsync' }]],
    ['a durability in capitals', ['FILE', { durability: 'FULL' }]],
    ['a numeric durability', ['FILE', { durability: 2 }]],
  ])('Database.open with %s rejects with INVALID_ARGUMENT and creates nothing', async (_, args) => {
    const path = tmp.file('never.db')
    const open = Database.open as (...a: unknown[]) => Promise<unknown>
    const err = await rejection(open(...args.map((a) => (a === 'FILE' ? path : a))))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(readdirSync(tmp.dir)).toEqual([])
  })
})

describe('durability', () => {
  test.each(['normal', 'full', undefined] as const)('durability %s opens, writes and reads back', async (durability) => {
    const path = tmp.file(`${durability ?? 'default'}.db`)
    const db = await Database.open(path, { durability })
    await db.migrate()
    const agent = await db.createAgent({ name: 'a', model: 'm' })
    await db.close()
    const again = await Database.open(path, { durability })
    expect((await again.getAgent(agent.id))?.name).toBe('a')
    await again.close()
  })

  test('a bad durability names the field and the accepted values', async () => {
    const open = Database.open as (...a: unknown[]) => Promise<unknown>
    const err = await rejection(open(tmp.file('never.db'), { durability: 'fsync' }))
    expect(err.message).toContain('options.durability')
    expect(err.message).toContain("'normal', 'full'")
  })
})

describe('close', () => {
  test('is idempotent, sequentially and concurrently', async () => {
    const db = await Database.open(tmp.file('twice.db'))
    await db.close()
    await db.close()
    expect(db.closed).toBe(true)
    const other = await Database.open(tmp.file('together.db'))
    await Promise.all([other.close(), other.close(), other.close()])
    expect(other.closed).toBe(true)
  })

  test('lets calls made before it finish', async () => {
    const db = await Database.open(tmp.file('queued.db'))
    const migrating = db.migrate()
    await db.close()
    expect((await migrating).length).toBe(BUILTIN.length)
  })

  test('every call after it rejects with DATABASE_CLOSED', async () => {
    const db = await Database.open(tmp.file('closed.db'))
    await db.migrate()
    await db.close()
    const calls: [string, () => Promise<unknown>][] = [
      ['initialize', () => db.initialize()],
      ['migrate', () => db.migrate()],
      ['migrate dryRun', () => db.migrate({ dryRun: true })],
      ['rollbackLast', () => db.rollbackLast()],
      ['rollbackTo', () => db.rollbackTo('001')],
      ['getMigrationSummary', () => db.getMigrationSummary()],
      ['listMigrations', () => db.listMigrations()],
      ['validateMigrations', () => db.validateMigrations()],
      ['repairMigrations', () => db.repairMigrations({ ids: ['001'] })],
      ['query', () => db.query('SELECT 1')],
      ['execute', () => db.execute('CREATE TABLE t (x)')],
    ]
    for (const [name, call] of calls) {
      const err = await rejection(call())
      expect([name, err.code]).toEqual([name, 'DATABASE_CLOSED'])
    }
    // Registering migrations is synchronous: it throws.
    expect(thrown(() => db.addMigration(app('003', ['CREATE TABLE t3 (x)']))).code).toBe('DATABASE_CLOSED')
    expect(thrown(() => db.addMigrations([app('003', ['CREATE TABLE t3 (x)'])])).code).toBe('DATABASE_CLOSED')
  })

  test('releases every file handle and leaves the file whole, to be renamed, reopened and deleted', async () => {
    const dir = realpathSync(tmp.dir)
    const path = join(dir, 'handles.db')
    const db = await Database.open(path)
    await db.migrate()
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')")
    expect(await db.query('SELECT id FROM agents')).toEqual([{ id: 'a1' }])
    expect(descriptorsTo(path).length).toBeGreaterThan(0)
    await db.close()
    expect(descriptorsTo(path)).toEqual([])
    expect(readdirSync(dir)).toEqual(['handles.db'])
    renameSync(path, join(dir, 'moved.db'))
    const moved = await Database.open(join(dir, 'moved.db'))
    expect(await moved.query('SELECT id FROM agents')).toEqual([{ id: 'a1' }])
    await moved.close()
    unlinkSync(join(dir, 'moved.db'))
    expect(readdirSync(dir)).toEqual([])
  })

  test('a second close resolves only once the first has released the handles', async () => {
    const dir = realpathSync(tmp.dir)
    const path = join(dir, 'second.db')
    const db = await Database.open(path)
    // Queued before close, so the first close has work to wait for.
    await db.addMigration(
      app('003', ['CREATE TABLE numbers AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000) SELECT x FROM n']),
    )
    const migrating = db.migrate()
    const first = db.close()
    await db.close()
    expect(descriptorsTo(path)).toEqual([])
    await first
    expect((await migrating).length).toBe(BUILTIN.length + 1)
  })

  test('after a failed open no file handle is left', async () => {
    const dir = realpathSync(tmp.dir)
    const path = join(dir, 'garbage.db')
    writeFileSync(path, 'not a database at all, just some text that is long enough'.repeat(20))
    await rejection(Database.open(path))
    expect(descriptorsTo(path)).toEqual([])
  })
})

describe('two processes opening and migrating one new file at the same moment', () => {
  test('apply each migration exactly once, and both succeed', { timeout: 180_000 }, async () => {
    const reference = await Database.open(':memory:')
    await reference.addMigrations(countingMigrations())
    await reference.migrate()
    const expectedSchema = await appSchema(reference)
    await reference.close()
    const counted = ['003', '004', '005', '006', '007', '008']
    const all = [...library(), ...counted.map((id) => `app ${id}`)]

    for (let round = 0; round < 20; round++) {
      const roundDir = join(tmp.dir, `round-${round}`)
      mkdirSync(roundDir)
      const path = join(roundDir, 'race.db')
      const children = [0, 1].map(() => spawn(process.execPath, [join(CHILDREN, 'migrate.cjs'), path], { stdio: ['pipe', 'pipe', 'inherit'] }))
      const outputs = children.map(
        (child) =>
          new Promise<{ lines: string[]; code: number | null }>((resolve, reject) => {
            let out = ''
            child.stdout.on('data', (chunk) => (out += chunk))
            child.on('error', reject)
            child.on('close', (code) => resolve({ lines: out.trim().split('\n'), code }))
          }),
      )
      await Promise.all(
        children.map((child) => new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))),
      )
      for (const child of children) child.stdin.end('go\n')
      const results = await Promise.all(outputs)
      const applied: string[][] = []
      for (const { lines, code } of results) {
        const outcome = JSON.parse(lines.at(-1) ?? '{}')
        expect([round, code, outcome.error]).toEqual([round, 0, undefined])
        applied.push(outcome.applied)
      }
      expect([round, [...applied[0], ...applied[1]].sort()]).toEqual([round, [...all].sort()])

      const db = await Database.open(path)
      expect(await appliedKeys(db)).toEqual(all)
      expect(await db.query('SELECT id, count(*) AS n FROM runs GROUP BY id ORDER BY id')).toEqual(
        counted.slice(1).map((id) => ({ id, n: 1 })),
      )
      expect(await appSchema(db)).toEqual(expectedSchema)
      await db.close()
    }
  })
})
