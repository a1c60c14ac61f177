// Statements that run away, and what close() promises. A raw statement stops at its time
// limit or when its signal aborts, failing only its own call (on a reader, and inside the
// writer's group transaction); close() interrupts what still runs after its wait and always
// settles; and close() says whether the database file holds everything on its own: not when
// another process reads an older snapshot, nor when the disk is full.
import { execFileSync } from 'node:child_process'
import { existsSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, figure, outcome, rejection, removeTempDirs, tempDir } from './helpers'

const mounts: string[] = []
const children: Child[] = []
afterAll(() => {
  for (const child of children.splice(0)) child.kill()
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir])
  removeTempDirs()
})

const ROOT = new URL('../../', import.meta.url).pathname
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c'
const asRoot = process.getuid?.() === 0

async function opened(tag: string, options?: Parameters<typeof Database.open>[1]) {
  const file = join(tempDir(tag), 'a.db')
  const db = await Database.open(file, options)
  await db.migrate()
  const agent = await db.createAgent({ name: 'a', model: 'm' })
  const session = await db.createSession({ mainAgentId: agent.id })
  return { db, file, session: session.id }
}

describe('runaway statements', () => {
  it('a time limit or an aborted signal stops a query on its reader, and only it', { timeout: 60_000 }, async () => {
    const { db } = await opened('stop-read', { readers: 2 })
    const controller = new AbortController()
    const timed = outcome(db.query(RUNAWAY, [], { timeoutMs: 200 }))
    const aborted = outcome(db.query(RUNAWAY, [], { signal: controller.signal }))
    // Short queries keep coming on the same two readers meanwhile.
    const short = Array.from({ length: 200 }, (_, i) => db.query('SELECT ? AS n', [i]))
    setTimeout(() => controller.abort(), 100)
    expect(await timed).toBe('TIMEOUT')
    expect(await aborted).toBe('ABORTED')
    expect((await Promise.all(short)).map((rows) => rows[0].n)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    // An aborted signal keeps a later call from starting; a reused signal is watched again.
    expect(await outcome(db.query('SELECT 1', [], { signal: controller.signal }))).toBe('ABORTED')
    const reused = new AbortController()
    for (let i = 0; i < 50; i++) await db.query('SELECT 1', [], { signal: reused.signal })
    expect((await rejection(db.query('SELECT 1', [], { timeoutMs: 0 }))).code).toBe('INVALID_ARGUMENT')
    expect((await rejection(db.query('SELECT 1', [], { signal: {} as AbortSignal }))).message).toContain('AbortSignal')
    await db.close()
    figure('a runaway query with timeoutMs 200 and one aborted, among 200 short queries on 2 readers: TIMEOUT, ABORTED, 200 resolved')
  })

  it('an interrupted write fails alone inside the group transaction', { timeout: 60_000 }, async () => {
    const { db, session } = await opened('stop-write', { statementTimeoutMs: 200 })
    const insert = `INSERT INTO agents (id, name, model, created_at, updated_at)
      SELECT 'runaway', 'r', 'm', x, x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) AS x FROM c)`
    const logs = Array.from({ length: 300 }, (_, i) => db.addLog({ sessionId: session, role: 'user', type: 'message', content: i }))
    const runaway = outcome(db.execute(insert))
    const more = Array.from({ length: 300 }, (_, i) => db.addLog({ sessionId: session, role: 'user', type: 'message', content: 300 + i }))
    expect(await runaway).toBe('TIMEOUT')
    expect((await Promise.all([...logs, ...more])).map((log) => log.content)).toEqual(Array.from({ length: 600 }, (_, i) => i))
    expect(await db.countLogs(session)).toBe(600)
    expect(await db.getAgent('runaway')).toBeNull()
    // statementTimeoutMs is the default; a call's own timeoutMs wins.
    expect(await outcome(db.query(RUNAWAY, [], { timeoutMs: 50 }))).toBe('TIMEOUT')
    await db.close()
    figure('a runaway INSERT past statementTimeoutMs among 600 concurrent addLog calls: TIMEOUT alone, 600 of 600 written')
  })

  it('close() interrupts what still runs after interruptAfterMs and settles', { timeout: 60_000 }, async () => {
    const { db, file } = await opened('stop-close')
    const reading = outcome(db.query(RUNAWAY))
    const writing = outcome(db.execute(`UPDATE agents SET name = (${RUNAWAY})`))
    const queued = outcome(db.query('SELECT count(*) FROM agents'))
    const closed = await db.close({ interruptAfterMs: 300 })
    expect(closed).toEqual({ checkpointed: true, reason: null, message: null, interrupted: true })
    expect([await reading, await writing]).toEqual(['INTERRUPTED', 'INTERRUPTED'])
    // A short call made before close settles too, whichever way its race with close went.
    expect(['resolved', 'INTERRUPTED']).toContain(await queued)
    expect(existsSync(`${file}-wal`)).toBe(false)
    // A close with nothing running interrupts nothing.
    const again = await Database.open(file)
    expect(await again.close({ interruptAfterMs: 0 })).toMatchObject({ checkpointed: true, interrupted: false })
    figure('close({ interruptAfterMs: 300 }) with a runaway query and a runaway UPDATE: both INTERRUPTED, close resolved')
  })
})

describe('what close() says of the database file', () => {
  it('another process reading an older snapshot: not checkpointed, the rows safe in the -wal file', { timeout: 60_000 }, async () => {
    const { db, file, session } = await opened('close-reader')
    const child = new Child(join(ROOT, '__test__', 'children', 'hold-snapshot.cjs'), [join(ROOT, 'index.js'), file])
    children.push(child)
    await child.waitFor('reading')
    const ROWS = 500
    await db.addLogs(Array.from({ length: ROWS }, (_, i) => ({ sessionId: session, role: 'user', type: 'message', content: i })))
    const closed = await db.close()
    expect(closed).toMatchObject({ checkpointed: false, reason: 'busy', interrupted: false })
    expect(closed.message).toContain('older snapshot')
    expect(existsSync(`${file}-wal`)).toBe(true)
    child.kill()
    await child.exited
    const reopened = await Database.open(file)
    expect(await reopened.countLogs(session)).toBe(ROWS)
    expect(await reopened.close()).toMatchObject({ checkpointed: true, reason: null })
    expect(existsSync(`${file}-wal`)).toBe(false)
    figure(`close() while another process read an older snapshot: checkpointed false (busy), ${ROWS} rows in the -wal file, all read back`)
  })

  it.skipIf(!asRoot)('a full disk: not checkpointed, the rows safe in the -wal file', { timeout: 60_000 }, async () => {
    const dir = join(tempDir('close-full'), 'small')
    execFileSync('mkdir', [dir])
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir])
    mounts.push(dir)
    const file = join(dir, 'a.db')
    const db = await Database.open(file)
    await db.migrate()
    const agent = await db.createAgent({ name: 'a', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    const ROWS = 100
    await db.addLogs(Array.from({ length: ROWS }, () => ({ sessionId: session.id, role: 'user', type: 'message', content: 'x'.repeat(4000) })))
    // Whatever room is left goes to another file: the database file cannot grow.
    const { bavail, bsize } = statfsSync(dir)
    writeFileSync(join(dir, 'filler'), Buffer.alloc(bavail * bsize))
    const closed = await db.close()
    expect(closed).toMatchObject({ checkpointed: false, reason: 'full' })
    expect(existsSync(`${file}-wal`)).toBe(true)
    execFileSync('rm', [join(dir, 'filler')])
    const reopened = await Database.open(file)
    expect(await reopened.countLogs(session.id)).toBe(ROWS)
    expect(await reopened.close()).toMatchObject({ checkpointed: true })
    figure(`close() on a full disk (a 2 MiB tmpfs): checkpointed false (full), ${ROWS} rows in the -wal file, all read back once there was room`)
  })
})
