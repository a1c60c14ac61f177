// The library's calls on a file whose schema lacks the library's migrations: never migrated,
// or rolled back since it was opened, by this Database or by another one.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import { BUILTIN, Database, LIBRARY, rejection, tempDir } from './support'

let tmp: ReturnType<typeof tempDir>
const open: Database[] = []

beforeEach(() => {
  tmp = tempDir('not-migrated')
})

afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()))
  tmp.remove()
})

async function openDb(path: string, options?: Parameters<typeof Database.open>[1]): Promise<Database> {
  const db = await Database.open(path, options)
  open.push(db)
  return db
}

/** "a, b and c": how the error message lists migration ids. */
function listed(ids: string[]): string {
  return ids.length === 1 ? ids[0] : `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`
}

const log = { sessionId: 's1', role: 'user', type: 'message', content: { text: 'hello' } } as const

describe.each([
  ['on reader threads', {}],
  ['with inline reads', { inlineReads: true }],
])('%s', (_, options) => {
  test('every kind of call on a database never migrated says so, and the app SQL keeps its own error', async () => {
    const db = await openDb(tmp.file('new.db'), options)
    const calls: [string, () => Promise<unknown>][] = [
      ['createAgent', () => db.createAgent({ name: 'a', model: 'm' })],
      ['getAgent', () => db.getAgent('a1')],
      ['listAgents', () => db.listAgents()],
      ['listSessions', () => db.listSessions()],
      ['getLogs', () => db.getLogs('s1')],
      ['getLogTree', () => db.getLogTree('s1')],
      ['addLog', () => db.addLog(log)],
      ['batch', () => db.batch([{ op: 'addLog', input: log }])],
      ['searchLogs', () => db.searchLogs('hello')],
      ['usageSummary', () => db.usageSummary({ groupBy: 'model' })],
    ]
    for (const [name, call] of calls) {
      const err = await rejection(call())
      expect([name, err.code]).toEqual([name, 'NOT_MIGRATED'])
      expect(err.message).toContain(`the database was never migrated: ${listed(BUILTIN)} are not applied`)
      expect(err.message).toContain('call migrate() first')
    }
    const raw = await rejection(db.query('SELECT * FROM agents'))
    expect(raw.code).toBe('SQL_ERROR')
    expect((await rejection(db.execute("DELETE FROM agents WHERE id = 'x'"))).code).toBe('SQL_ERROR')
    await db.migrate()
    expect((await db.createAgent({ id: 'a1', name: 'a', model: 'm' })).id).toBe('a1')
  })

  test('a rollback by another Database names what it took away; nothing is written, and migrating again restores every call', async () => {
    const path = tmp.file('shared.db')
    const app = await openDb(path, options)
    await app.migrate()
    await app.createAgent({ id: 'a1', name: 'a', model: 'm' })
    await app.createSession({ id: 's1', mainAgentId: 'a1' })
    await app.addLog(log)

    const other = await openDb(path)
    const at = BUILTIN.indexOf('007')
    expect(at).toBeGreaterThan(0)
    await other.rollbackTo('007', { namespace: LIBRARY })
    const taken = BUILTIN.slice(at + 1)

    for (const call of [() => app.getAgent('a1'), () => app.listSessions(), () => app.addLog(log), () => app.createAgent({ name: 'b', model: 'm' })]) {
      const err = await rejection(call())
      expect(err.code).toBe('NOT_MIGRATED')
      expect(err.message).toContain(`the database lacks migrations of this library: ${listed(taken)} are not applied`)
      expect(err.message).toMatch(/\(no such (column|table): [\w.]+\)$/)
    }
    const [{ n }] = (await other.query('SELECT count(*) AS n FROM session_logs')) as { n: number }[]
    expect(n).toBe(1)

    await other.migrate()
    expect((await app.getAgent('a1'))?.id).toBe('a1')
    expect((await app.addLog(log)).sessionId).toBe('s1')
    expect(await app.countLogs('s1')).toBe(2)
  })
})
