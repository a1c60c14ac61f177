// Writes that share the writer's group transaction with one that ends it, and writes that a
// trigger skips. A statement that rolls back the whole transaction (a trigger's
// RAISE(ROLLBACK), an OR ROLLBACK conflict clause) fails its own call only; a typed write
// that SQLite skipped (a trigger's RAISE(IGNORE)) rejects with NOT_WRITTEN instead of
// resolving with another row.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { figure, outcome, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

type Hooked = Database & { testExec(sql: string): Promise<void> }

async function openWithSessions(tag: string): Promise<Hooked> {
  const db = (await Database.open(join(tempDir(tag), 'a.db'))) as Hooked
  await db.migrate()
  await db.createAgent({ id: 'a1', name: 'A', model: 'm' })
  await db.createSession({ id: 's1', mainAgentId: 'a1' })
  await db.createSession({ id: 's2', mainAgentId: 'a1' })
  return db
}

const LOGS = 2000

describe('a write that rolls back the whole group transaction', () => {
  it(`fails alone among ${LOGS} concurrent addLog calls`, { timeout: 120_000 }, async () => {
    const db = await openWithSessions('neighbours')
    await db.testExec(
      `CREATE TABLE audit (x TEXT NOT NULL);
       CREATE TABLE once (k INTEGER PRIMARY KEY); INSERT INTO once VALUES (1);
       CREATE TRIGGER audit_refuses BEFORE INSERT ON audit WHEN NEW.x = 'refused' BEGIN SELECT RAISE(ROLLBACK, 'refused by a trigger'); END;`,
    )
    const calls: { kind: 'log' | 'trigger' | 'conflict'; i: number; promise: Promise<unknown> }[] = []
    for (let i = 0; i < LOGS; i++) {
      calls.push({ kind: 'log', i, promise: db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: { i } }) })
      if (i % 100 === 50) calls.push({ kind: 'trigger', i, promise: db.execute("INSERT INTO audit (x) VALUES ('refused')") })
      if (i % 100 === 99) calls.push({ kind: 'conflict', i, promise: db.execute('INSERT OR ROLLBACK INTO once (k) VALUES (1)') })
    }
    const outcomes = await Promise.all(calls.map(async (c) => ({ ...c, outcome: await outcome(c.promise) })))
    const tally = (kind: string) => {
      const counts: Record<string, number> = {}
      for (const o of outcomes.filter((o) => o.kind === kind)) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1
      return counts
    }
    const logs = tally('log')
    figure(
      `one bad write among its neighbours: ${LOGS} concurrent addLog calls with ${calls.length - LOGS} execute calls that roll the transaction back; ` +
        `addLog ${JSON.stringify(logs)}, trigger ${JSON.stringify(tally('trigger'))}, conflict ${JSON.stringify(tally('conflict'))}`,
    )
    expect(logs).toEqual({ resolved: LOGS })
    expect(tally('trigger')).toEqual({ CONSTRAINT: calls.filter((c) => c.kind === 'trigger').length })
    expect(tally('conflict')).toEqual({ ALREADY_EXISTS: calls.filter((c) => c.kind === 'conflict').length })
    const stored = (await db.query("SELECT json_extract(content, '$.i') AS i FROM session_logs WHERE session_id = 's1' ORDER BY i")) as { i: number }[]
    expect(stored.map((r) => r.i)).toEqual(Array.from({ length: LOGS }, (_, i) => i))
    // Each resolved log is the row with its id.
    const added = (await Promise.all(calls.filter((c) => c.kind === 'log').map((c) => c.promise))) as { id: number; content: { i: number } }[]
    for (const log of added.slice(0, 50)) expect((await db.getLog(log.id))?.content).toEqual(log.content)
    expect(await db.query('SELECT count(*) AS n FROM audit')).toEqual([{ n: 0 }])
    expect((await db.integrityCheck({ full: true })).ok).toBe(true)
    await db.close()
  })
})

describe('a typed write that a trigger skips', () => {
  it('addLog rejects with NOT_WRITTEN, and no other session\'s log can be reached through it', async () => {
    const db = await openWithSessions('skipped-log')
    const theirs = await db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: 'theirs' })
    await db.testExec("CREATE TRIGGER s2_is_read_only BEFORE INSERT ON session_logs WHEN NEW.session_id = 's2' BEGIN SELECT RAISE(IGNORE); END")
    const attempt = db.addLog({ sessionId: 's2', role: 'user', type: 'message', content: 'mine' })
    const result = await outcome(attempt)
    if (result === 'resolved') {
      // What the call resolved with is somebody else's row: updating it overwrites their log.
      const claimed = (await attempt) as { id: number }
      await db.updateLog(claimed.id, { content: 'overwritten' })
    }
    expect((await db.getLog(theirs.id))?.content).toBe('theirs')
    expect(result).toBe('NOT_WRITTEN')
    const err = await rejection(db.addLog({ sessionId: 's2', role: 'user', type: 'message', content: 'mine' }))
    expect(err.message).toMatch(/session_logs/)
    expect(err.message).toMatch(/trigger or conflict clause/)
    expect(await outcome(db.addLogs([{ sessionId: 's1', role: 'user', type: 'message', content: 'first' }, { sessionId: 's2', role: 'user', type: 'message', content: 'skipped' }]))).toBe('NOT_WRITTEN')
    expect(await db.countLogs('s1')).toBe(1)
    await db.close()
  })

  it('updateLog, createAgent, updateAgent, createSession, updateSession and the deletes reject with NOT_WRITTEN', async () => {
    const db = await openWithSessions('skipped-writes')
    const log = await db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: 'kept' })
    const ignore = 'BEGIN SELECT RAISE(IGNORE); END'
    await db.testExec(
      [
        `CREATE TRIGGER t1 BEFORE UPDATE ON session_logs ${ignore}`,
        `CREATE TRIGGER t2 BEFORE DELETE ON session_logs ${ignore}`,
        `CREATE TRIGGER t3 BEFORE INSERT ON agents WHEN NEW.name = 'skipped' ${ignore}`,
        `CREATE TRIGGER t4 BEFORE UPDATE ON agents ${ignore}`,
        `CREATE TRIGGER t5 BEFORE DELETE ON agents ${ignore}`,
        `CREATE TRIGGER t6 BEFORE INSERT ON sessions WHEN NEW.name = 'skipped' ${ignore}`,
        `CREATE TRIGGER t7 BEFORE UPDATE ON sessions ${ignore}`,
        `CREATE TRIGGER t8 BEFORE DELETE ON sessions WHEN OLD.id = 's2' ${ignore}`,
      ].join(';\n'),
    )
    const calls: [string, Promise<unknown>][] = [
      ['updateLog', db.updateLog(log.id, { content: 'changed' })],
      ['deleteLogs', db.deleteLogs('s1')],
      ['createAgent', db.createAgent({ name: 'skipped', model: 'm' })],
      ['updateAgent', db.updateAgent('a1', { name: 'renamed' })],
      ['deleteAgent', db.deleteAgent('a1')],
      ['createSession', db.createSession({ name: 'skipped', mainAgentId: 'a1' })],
      ['updateSession', db.updateSession('s1', { name: 'renamed' })],
      ['updateSessionStatus', db.updateSessionStatus('s1', 'running')],
      ['deleteSession', db.deleteSession('s2')],
    ]
    const outcomes = Object.fromEntries(await Promise.all(calls.map(async ([name, p]) => [name, await outcome(p)])))
    expect(outcomes).toEqual(Object.fromEntries(calls.map(([name]) => [name, 'NOT_WRITTEN'])))
    expect(await outcome(db.updateLog(log.id + 1000, { content: 'x' }))).toBe('NOT_FOUND')
    expect(await db.deleteAgent('nobody')).toBe(false)
    expect((await db.getLog(log.id))?.content).toBe('kept')
    await db.close()
  })
})
