// Change events (`watch`) and catch-up (`changesSince`): one event per committed
// transaction, none for what rolled back, commit order, filters, commits of other processes,
// catch-up after a reload, reset when what was missed is no longer kept, listeners that
// throw, and releasing everything at close (in a child process and in a worker thread).
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import type { ChangeEvent } from '../index'
import { Database, rejection, tempDir } from './support'
import { Child, FIXTURES } from './reliability/helpers'

const dirs: { remove: () => void }[] = []
afterAll(() => {
  for (const d of dirs) d.remove()
})

async function fileDb(options: Parameters<typeof Database.open>[1] = {}) {
  const dir = tempDir('changes')
  dirs.push(dir)
  const file = dir.file('agents.db')
  const db = await Database.open(file, options)
  await db.migrate()
  return { db, file }
}

/** Collects the events of a new watch; `next(n)` resolves once `n` events (in all) came. */
function collect(db: Database, options?: Parameters<Database['watch']>[1]) {
  const events: ChangeEvent[] = []
  let waiting: { n: number; resolve: () => void } | null = null
  const stop = db.watch((event) => {
    events.push(event)
    if (waiting && events.length >= waiting.n) waiting.resolve()
  }, options)
  const next = (n: number) =>
    new Promise<ChangeEvent[]>((resolve) => {
      if (events.length >= n) return resolve(events)
      waiting = { n, resolve: () => resolve(events) }
    })
  return { events, stop, next }
}

const rows = (event: ChangeEvent) => event.changes.map((c) => `${c.table} ${c.op} ${c.id}`)

describe('watch', () => {
  it('sends one event per committed transaction, before its Promises settle, in commit order', async () => {
    const { db } = await fileDb()
    const agent = await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
    const { events, stop } = collect(db)
    const session = await db.createSession({ id: 's1', mainAgentId: agent.id })
    expect(events.map(rows)).toEqual([['sessions insert s1']])
    expect(events[0]).toMatchObject({ external: false, changes: [{ sessionId: 's1' }] })

    // One batch is one transaction: one event.
    const [, log] = await db.batch([
      { op: 'updateAgent', id: 'a1', patch: { name: 'renamed' } },
      { op: 'addLog', input: { sessionId: session.id, role: 'user', type: 'message', content: { text: 'hi' } } },
    ])
    const logId = (log as { id: number }).id
    expect(events.map(rows).slice(1)).toEqual([['agents update a1', `session_logs insert ${logId}`]])

    // Writes made at once share commits; each change comes once, in order, with growing seqs.
    const ids = (await Promise.all(Array.from({ length: 20 }, (_, i) => db.addLog({ sessionId: 's1', role: 'agent', type: 'thought', content: { i } })))).map((l) => l.id)
    const later = events.slice(2)
    expect(later.flatMap((e) => e.changes.map((c) => c.id))).toEqual(ids)
    const seqs = events.flatMap((e) => e.changes.map((c) => c.seq))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(events.every((e) => e.seq === e.changes.at(-1)!.seq)).toBe(true)
    stop()
    await db.close()
  })

  it('coalesces writes queued behind a lock into one event per group commit', async () => {
    const { db, file } = await fileDb({ busyTimeoutMs: 600_000 })
    await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
    await db.createSession({ id: 's1', mainAgentId: 'a1' })
    const holder = new Child(join(FIXTURES, 'hold-lock.js'), [file])
    await holder.waitFor('locked')
    const { events, stop } = collect(db)
    const writes = Array.from({ length: 10 }, (_, i) => db.addLog({ sessionId: 's1', role: 'agent', type: 'thought', content: { i } }))
    holder.send({ event: 'release' })
    const ids = (await Promise.all(writes)).map((l) => l.id)
    expect((await holder.exited).code).toBe(0)
    const own = events.filter((e) => !e.external)
    // The first write may have been taken alone before the others were queued; the rest
    // waited for the lock together and committed together.
    expect(own.length).toBeLessThanOrEqual(2)
    expect(own.flatMap((e) => e.changes.map((c) => c.id))).toEqual(ids)
    // The other process's commit, found when this writer began, comes first, as external.
    expect(events[0]).toMatchObject({ external: true, changes: [{ table: 'agents', op: 'insert', id: 'held' }] })
    stop()
    await db.close()
  })

  it('sends nothing for writes that failed or rolled back', async () => {
    const { db } = await fileDb()
    await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
    const { events, stop } = collect(db)
    expect((await rejection(db.createAgent({ id: 'a1', name: 'n', model: 'm' }))).code).toBe('ALREADY_EXISTS')
    const failed = await rejection(
      db.batch([
        { op: 'createAgent', input: { id: 'a2', name: 'n', model: 'm' } },
        { op: 'createAgent', input: { id: 'a1', name: 'n', model: 'm' } },
      ]),
    )
    expect(failed.code).toBe('ALREADY_EXISTS')
    await db.createAgent({ id: 'a3', name: 'n', model: 'm' })
    expect(events.map(rows)).toEqual([['agents insert a3']])
    stop()
    await db.close()
  })

  it('filters by table and session, and stops', async () => {
    const { db } = await fileDb()
    await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
    const logsOfS1 = collect(db, { tables: ['session_logs'], sessionId: 's1' })
    const agents = collect(db, { tables: ['agents'] })
    const all = collect(db)
    await db.createSession({ id: 's1', mainAgentId: 'a1' })
    await db.createSession({ id: 's2', mainAgentId: 'a1' })
    const mine = await db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: 'x' })
    await db.addLog({ sessionId: 's2', role: 'user', type: 'message', content: 'y' })
    await db.updateAgent('a1', { name: 'renamed' })
    expect(logsOfS1.events.map(rows)).toEqual([[`session_logs insert ${mine.id}`]])
    expect(agents.events.map(rows)).toEqual([['agents update a1']])
    expect(all.events).toHaveLength(5)
    agents.stop()
    agents.stop()
    await db.updateAgent('a1', { name: 'again' })
    expect(agents.events).toHaveLength(1)
    expect(all.events).toHaveLength(6)
    all.stop()
    logsOfS1.stop()
    await db.close()
  })

  it('refuses a listener that is not a function, bad options and a closed database', async () => {
    const { db } = await fileDb()
    const thrown = (f: () => unknown) => {
      try {
        f()
      } catch (err) {
        return err as Error & { code: string }
      }
      throw new Error('did not throw')
    }
    expect(thrown(() => db.watch(42 as never)).code).toBe('INVALID_ARGUMENT')
    expect(thrown(() => db.watch(() => {}, { tables: ['migrations' as never] }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/options\.tables/) })
    expect(thrown(() => db.watch(() => {}, { sessionId: 5 as never })).code).toBe('INVALID_ARGUMENT')
    expect(thrown(() => db.watch(() => {}, { colour: 'red' } as never)).code).toBe('INVALID_ARGUMENT')
    expect((await rejection(db.changesSince(-1))).code).toBe('INVALID_ARGUMENT')
    expect((await rejection(db.changesSince(1.5))).code).toBe('INVALID_ARGUMENT')
    expect((await rejection(db.changesSince(0, { tables: ['nope' as never] }))).code).toBe('INVALID_ARGUMENT')
    await db.close()
    expect(thrown(() => db.watch(() => {})).code).toBe('DATABASE_CLOSED')
    expect((await rejection(db.changesSince(0))).code).toBe('DATABASE_CLOSED')
  })

  it('a listener that throws disturbs neither the writer nor the other listeners', async () => {
    const { db } = await fileDb()
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const stopThrowing = db.watch(() => {
        throw new Error('listener bug')
      })
      const { events, stop } = collect(db)
      await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
      await db.createAgent({ id: 'a2', name: 'n', model: 'm' })
      expect(events.map(rows)).toEqual([['agents insert a1'], ['agents insert a2']])
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.name === 'AgentDBWatchWarning').map((w) => w.message)).toEqual([
        expect.stringMatching(/listener bug/),
        expect.stringMatching(/listener bug/),
      ])
      stopThrowing()
      stop()
    } finally {
      process.off('warning', onWarning)
    }
    await db.close()
  })

  it('delivers the commits of another process, as external events', async () => {
    const { db, file } = await fileDb()
    const { next, stop } = collect(db)
    await db.createAgent({ id: 'mine', name: 'n', model: 'm' })
    const writer = new Child(join(FIXTURES, 'write-agents.js'), [file, 'x1', 'x2', 'x3'])
    expect((await writer.exited).code).toBe(0)
    const [mine, event] = await next(2)
    expect(mine).toMatchObject({ external: false, changes: [{ id: 'mine' }] })
    expect(event).toMatchObject({ external: true, seq: mine.seq + 3 })
    expect(rows(event)).toEqual(['agents insert x1', 'agents insert x2', 'agents insert x3'])
    stop()
    await db.close()
  })

  it('is released by close: a process and a worker that watch and close exit by themselves', async () => {
    for (const mode of [[], ['worker']]) {
      const dir = tempDir('changes-child')
      dirs.push(dir)
      const child = new Child(join(FIXTURES, 'watch-child.js'), [dir.file('a.db'), ...mode])
      const changed = await child.waitFor('changed')
      expect(changed.changes).toEqual([{ seq: expect.any(Number), table: 'agents', op: 'insert', id: 'watched', sessionId: null }])
      if (mode.length) expect((await child.waitFor('worker-exited')).code).toBe(0)
      expect(await child.exited).toEqual({ code: 0, signal: null })
    }
  })
})

describe('changesSince', () => {
  it('replays exactly what a window missed while it reloaded', async () => {
    const { db } = await fileDb()
    await db.createAgent({ id: 'a1', name: 'n', model: 'm' })
    const { events, stop } = collect(db)
    await db.createSession({ id: 's1', mainAgentId: 'a1' })
    const seen = events.at(-1)!.seq
    stop()
    // The window is gone while these commit.
    const log = await db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: 'x' })
    await db.updateLog(log.id, { content: 'y' })
    await db.deleteAgent('a1')
    const caught = await db.changesSince(seen)
    expect(caught.reset).toBe(false)
    expect(caught.changes.map((c) => `${c.table} ${c.op} ${c.id}`)).toEqual([
      `session_logs insert ${log.id}`,
      `session_logs update ${log.id}`,
      `session_logs delete ${log.id}`,
      'sessions delete s1',
      'agents delete a1',
    ])
    expect(caught.seq).toBe(caught.changes.at(-1)!.seq)
    expect((await db.changesSince(caught.seq)).changes).toEqual([])
    const logs = await db.changesSince(seen, { tables: ['session_logs'] })
    expect(logs.changes).toHaveLength(3)
    await db.close()
  })

  it('says reset when changes after the number were pruned, and keeps keepChanges rows', async () => {
    const { db } = await fileDb({ keepChanges: 3 })
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) await db.createAgent({ id, name: 'n', model: 'm' })
    const [{ n }] = await db.query<{ n: number }>('SELECT count(*) AS n FROM changes')
    expect(n).toBe(3)
    expect(await db.changesSince(1)).toEqual({ seq: 6, reset: true, changes: [] })
    const kept = await db.changesSince(3)
    expect(kept.reset).toBe(false)
    expect(kept.changes.map((c) => c.id)).toEqual(['a4', 'a5', 'a6'])
    expect((await db.changesSince(7)).reset).toBe(true)
    expect((await rejection(Database.open(':memory:', { keepChanges: 0 }))).code).toBe('INVALID_ARGUMENT')
    await db.close()
  })

  it('rejects with NOT_MIGRATED before the database is migrated', async () => {
    const db = await Database.open(':memory:')
    const err = await rejection(db.changesSince(0))
    expect(err.code).toBe('NOT_MIGRATED')
    expect(err.message).toMatch(/^the database was never migrated: .* \(no such table: changes\)$/)
    await db.migrate()
    expect(await db.changesSince(0)).toEqual({ seq: 0, reset: false, changes: [] })
    await db.close()
  })
})
