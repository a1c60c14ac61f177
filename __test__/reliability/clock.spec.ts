// A wall clock that goes backwards (an NTP step, a restored VM) and rows created within one
// millisecond. Lists follow the order rows were inserted in, whatever createdAt says: the
// rows written after the step back are rewritten here to an earlier createdAt by raw SQL,
// which is what the clock would have stamped them with.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import { Database, type Page } from '../../index.js'
import { figure } from './helpers'

const BEFORE = 120
const AFTER = 80
const PAGE = 7

let db: Database
beforeEach(async () => {
  db = await Database.open(':memory:')
  await db.migrate()
})
afterEach(async () => {
  await db.close()
})

/** Moves the createdAt of the rows of `table` whose key is above `key` one hour before the
 *  oldest row's: the clock stepped back before they were written. */
async function stepBack(table: string, keyColumn: string, key: number): Promise<void> {
  await db.execute(
    `UPDATE ${table} SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', (SELECT min(created_at) FROM ${table}), '-1 hour') WHERE ${keyColumn} > ?`,
    [key],
  )
}

async function pages<T>(read: (after: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = []
  let after: string | undefined
  for (;;) {
    const page = await read(after)
    items.push(...page.items)
    if (page.nextCursor === null) return items
    after = page.nextCursor
  }
}

describe('a clock that steps back', () => {
  it('leaves the logs written after it the newest, in getLatestLogs and in every cursor walk', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    const append = (from: number, count: number) =>
      db.addLogs(Array.from({ length: count }, (_, i) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: from + i })))
    const early = await append(0, BEFORE)
    await append(BEFORE, AFTER)
    await stepBack('session_logs', 'id', early[early.length - 1].id)
    const appended = Array.from({ length: BEFORE + AFTER }, (_, i) => i)

    const ascending = await pages((after) => db.getLogs(session.id, { limit: PAGE, after }))
    const descending = await pages((after) => db.getLogs(session.id, { limit: PAGE, order: 'desc', after }))
    expect(ascending.map((l) => l.content)).toEqual(appended)
    expect(descending.map((l) => l.content)).toEqual([...appended].reverse())
    const latest = await db.getLatestLogs(session.id, 10)
    expect(latest.items.map((l) => l.content)).toEqual(appended.slice(-10))
    // Scrolling the chat back from the newest page reaches the first entry, each once.
    const scrolled: number[] = []
    for (let page = latest; ; ) {
      scrolled.unshift(...page.items.map((l) => l.content as number))
      if (page.nextCursor === null) break
      page = await db.getLatestLogs(session.id, { limit: PAGE, after: page.nextCursor })
    }
    expect(scrolled).toEqual(appended)
    expect((await db.getLogTree(session.id)).map((n) => n.content)).toEqual(appended)
    figure(`clock stepped back 1 h after ${BEFORE} of ${BEFORE + AFTER} logs: getLogs asc/desc, getLatestLogs and scrolling back by ${PAGE} each returned all ${BEFORE + AFTER} in append order`)
  })

  it('leaves agents and sessions in insertion order, after a step back and within one millisecond', async () => {
    const agents = []
    for (let i = 0; i < 30; i++) agents.push(await db.createAgent({ id: `agent-${(i * 7919) % 30}`, name: `A${i}`, model: 'm' }))
    const sessions = []
    for (let i = 0; i < 30; i++) sessions.push(await db.createSession({ id: `session-${(i * 7919) % 30}`, mainAgentId: agents[0].id }))
    // The last ten stamped an hour too early, the ten before them all within one millisecond.
    for (const [table, rows] of [['agents', agents], ['sessions', sessions]] as const) {
      await db.execute(`UPDATE ${table} SET created_at = '2030-01-01T00:00:00.000Z' WHERE id IN (${rows.slice(10, 20).map(() => '?').join(', ')})`, rows.slice(10, 20).map((r) => r.id))
      await db.execute(`UPDATE ${table} SET created_at = '2000-01-01T00:00:00.000Z' WHERE id IN (${rows.slice(20).map(() => '?').join(', ')})`, rows.slice(20).map((r) => r.id))
    }
    const listedAgents = await pages((after) => db.listAgents({ limit: 4, after }))
    expect(listedAgents.map((a) => a.id)).toEqual(agents.map((a) => a.id))
    const listedSessions = await pages((after) => db.listSessions({ limit: 4, after }))
    expect(listedSessions.map((s) => s.id)).toEqual(sessions.map((s) => s.id).reverse())
    const byAgent = await pages((after) => db.listSessions({ agentId: agents[0].id, status: 'idle', limit: 4, after }))
    expect(byAgent.map((s) => s.id)).toEqual(sessions.map((s) => s.id).reverse())
    figure('30 agents and 30 sessions, 10 stamped within one millisecond and 10 after a step back: listed by 4 in insertion order')
  })
})
