// A panic inside a call (made to happen by the test-only `testPanic`) rejects that call with
// INTERNAL; the process, the database and its connections stay usable, and nothing the
// panicking call wrote remains.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { figure, outcome, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

type Hooked = Database & {
  testPanic(place: string, sql?: string): Promise<void>
  testExec(sql: string): Promise<void>
}

async function openMigrated(): Promise<Hooked> {
  const db = (await Database.open(join(tempDir('panics'), 'a.db'))) as Hooked
  await db.migrate()
  return db
}

const insertAgent = (id: string) => `INSERT INTO agents (id, name, model) VALUES ('${id}', 'n', 'm')`

async function expectUsable(db: Hooked): Promise<void> {
  expect(await db.migrate()).toEqual([])
  expect((await db.integrityCheck({ full: true })).ok).toBe(true)
  expect((await db.getMigrationSummary()).pendingMigrations).toBe(0)
}

describe('a panic inside a call', () => {
  it.each(['read', 'write', 'exclusive', 'call', 'result'])('on %s rejects with INTERNAL and leaves the database usable', async (place) => {
    const db = await openMigrated()
    const err = await rejection(db.testPanic(place))
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('INTERNAL')
    expect(err.message).toContain('panicked')
    await expectUsable(db)
    await db.close()
  })

  it('on a reader in the middle of a statement leaves every reader usable', async () => {
    const db = await openMigrated()
    const panics = Array.from({ length: 8 }, () => db.testPanic('read', 'SELECT * FROM sqlite_master'))
    expect(await Promise.all(panics.map(outcome))).toEqual(Array(8).fill('INTERNAL'))
    await expectUsable(db)
    await db.close()
  })

  it('in a group write rolls back what it wrote, and only that', async () => {
    const db = await openMigrated()
    expect(await outcome(db.testPanic('write', insertAgent('doomed')))).toBe('INTERNAL')
    expect(await db.agentExists('doomed')).toBe(false)
    await expectUsable(db)
    await db.close()
  })

  it('in a write grouped with others fails that write alone', async () => {
    const db = await openMigrated()
    const calls = Array.from({ length: 40 }, (_, i) =>
      i % 10 === 5 ? db.testPanic('write', insertAgent(`doomed-${i}`)) : db.createAgent({ id: `kept-${i}`, name: 'n', model: 'm' }),
    )
    const codes = await Promise.all(calls.map(outcome))
    expect(codes.filter((c) => c === 'INTERNAL')).toHaveLength(4)
    expect(codes.filter((c) => c === 'resolved')).toHaveLength(36)
    const ids = (await db.listAgents({ limit: 100 })).items.map((a) => a.id).sort()
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 10 !== 5).map((i) => `kept-${i}`).sort())
    await expectUsable(db)
    await db.close()
  })

  it('in work with a transaction of its own rolls that transaction back', async () => {
    const db = await openMigrated()
    expect(await outcome(db.testPanic('exclusive', `BEGIN IMMEDIATE; ${insertAgent('doomed')}`))).toBe('INTERNAL')
    expect(await db.agentExists('doomed')).toBe(false)
    await db.testExec(insertAgent('kept'))
    expect(await db.agentExists('kept')).toBe(true)
    await expectUsable(db)
    await db.close()
  })

  it('after switching foreign keys off leaves them enforced', async () => {
    const db = await openMigrated()
    expect(await outcome(db.testPanic('exclusive', 'PRAGMA foreign_keys = OFF'))).toBe('INTERNAL')
    const orphan = db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s', 'nobody')")
    expect(await outcome(orphan)).toBe('CONSTRAINT')
    const agent = await db.createAgent({ name: 'n', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 'hi' })
    await db.deleteAgent(agent.id)
    expect(await db.query('SELECT count(*) AS n FROM session_logs')).toEqual([{ n: 0 }])
    const report = await db.integrityCheck()
    expect(report.foreignKeyViolationCount).toBe(0)
    await db.close()
  })

  it('many times in a row never takes the process down', async () => {
    const db = await openMigrated()
    const places = ['read', 'write', 'exclusive', 'call', 'result']
    const calls = Array.from({ length: 200 }, (_, i) => db.testPanic(places[i % places.length]))
    const codes = await Promise.all(calls.map(outcome))
    expect(new Set(codes)).toEqual(new Set(['INTERNAL']))
    await expectUsable(db)
    await db.close()
    figure(`${codes.length} panics inside calls, ${codes.filter((c) => c === 'INTERNAL').length} rejected with INTERNAL, process and database usable`)
  })
})
