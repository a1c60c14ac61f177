// Several processes on one file. Four processes migrate the same new file at the same moment
// (repeated): every migration runs exactly once, and then their concurrent writes all land
// with no BUSY reaching the app while each lock is held briefly. A process that holds the
// write lock past the busy timeout makes a call reject with BUSY, saying so; once the lock
// is released the same call succeeds and nothing is lost.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { library } from '../support'
import { Child, FIXTURES, figure, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const ROUNDS = Number(process.env.RELIABILITY_PROCESS_ROUNDS ?? 10)
const PROCESSES = 4
const WRITES = 250

describe('many processes', () => {
  it(`${PROCESSES} processes migrate one new file at once and then write concurrently, ${ROUNDS} times`, { timeout: 300_000 }, async () => {
    const dir = tempDir('processes')
    let rows = 0
    let busy = 0
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(dir, `shared-${round}.db`)
      const children = Array.from({ length: PROCESSES }, () => new Child(join(FIXTURES, 'migrate-and-write.js'), [file, String(WRITES)]))
      await Promise.all(children.map((c) => c.waitFor('ready')))
      for (const c of children) c.send({ event: 'go' })
      const reports = await Promise.all(children.map((c) => c.waitFor('written')))
      const exits = await Promise.all(children.map((c) => c.exited))
      expect(exits.map((e) => e.code)).toEqual(Array(PROCESSES).fill(0))

      const applied = children.flatMap((c) => c.messages.filter((m) => m.event === 'migrated').flatMap((m) => m.applied as string[]))
      expect(applied.sort()).toEqual([...library(), 'app 003'].sort())
      for (const r of reports) {
        busy += (r.errors as Record<string, number>).BUSY ?? 0
        expect(r.errors).toEqual({})
        expect(r.written).toBe(WRITES)
      }

      const db = await Database.open(file)
      expect(await db.query('SELECT count(*) AS n FROM migration_runs')).toEqual([{ n: 1 }])
      for (const r of reports) expect(await db.countLogs(r.sessionId as string)).toBe(WRITES)
      const [{ n }] = (await db.query('SELECT count(*) AS n FROM session_logs')) as { n: number }[]
      expect(n).toBe(PROCESSES * WRITES)
      expect((await db.integrityCheck({ full: true })).ok).toBe(true)
      rows += n
      await db.close()
    }
    figure(
      `${ROUNDS} rounds of ${PROCESSES} processes migrating one new file at once: each migration applied once; ` +
        `${rows} rows written concurrently, all found, ${busy} BUSY`,
    )
  })
})

describe('a lock held too long', () => {
  it('rejects with BUSY saying so, and the same call succeeds once the lock is released', async () => {
    const file = join(tempDir('held-lock'), 'held.db')
    const db = await Database.open(file, { busyTimeoutMs: 200 })
    await db.migrate()
    const holder = new Child(join(FIXTURES, 'hold-lock.js'), [file])
    await holder.waitFor('locked')

    const input = { id: 'after', name: 'written after the lock', model: 'm' }
    const err = await rejection(db.createAgent(input))
    expect(err.code).toBe('BUSY')
    expect(err.message).toMatch(/locked/)
    expect(err.message).toMatch(/busy timeout/)
    expect(await rejection(db.execute("UPDATE agents SET name = 'x'"))).toMatchObject({ code: 'BUSY' })
    // Reads are not held up by another process's write lock.
    expect(await db.countAgents()).toBe(0)

    holder.send({ event: 'release' })
    await holder.waitFor('released')
    expect((await holder.exited).code).toBe(0)
    expect((await db.createAgent(input)).id).toBe('after')
    expect((await db.getAgent('held'))?.name).toBe('written while holding the lock')
    expect(await db.countAgents()).toBe(2)
    await db.close()
    figure('lock held by another process past the 200 ms busy timeout: 2 writes rejected with BUSY, 1 read served; after release the same write succeeded, 0 rows lost')
  })

  it('refuses bad input at once while another process holds the lock, without waiting for it', async () => {
    const file = join(tempDir('held-lock-bad-input'), 'held.db')
    // A busy timeout far longer than the test's own: a call that waited for the lock would
    // make the test time out instead of settling.
    const db = await Database.open(file, { busyTimeoutMs: 600_000 })
    await db.migrate()
    const holder = new Child(join(FIXTURES, 'hold-lock.js'), [file])
    await holder.waitFor('locked')

    const refused = await Promise.all([
      rejection(db.createAgent({} as never)),
      rejection(db.updateAgent('held', { maxSteps: -1 })),
      rejection(db.addLogs([])),
      rejection(db.updateLog(0, { content: 'x' })),
      rejection(db.batch([{ op: 'createAgent', input: { name: '', model: 'm' } }])),
    ])
    expect(refused.map((e) => e.code)).toEqual(Array(refused.length).fill('INVALID_ARGUMENT'))
    // A good write queued meanwhile waits for the lock and lands once it is released.
    const queued = db.createAgent({ id: 'queued', name: 'queued behind the lock', model: 'm' })
    holder.send({ event: 'release' })
    await holder.waitFor('released')
    expect((await holder.exited).code).toBe(0)
    expect((await queued).id).toBe('queued')
    expect(await db.countAgents()).toBe(2)
    await db.close()
  })
})
