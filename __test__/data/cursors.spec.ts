// Cursors carry what they belong to: the list, its session/agent/status/type filters and its
// order. Given anywhere else, or made by the previous version, they are refused with
// INVALID_ARGUMENT instead of reading a wrong or empty page. getLatestLogs pages back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Agent, Database, Session } from '../../index.js'
import { expectCode, memoryDb } from './helpers'

let db: Database
let agent: Agent
let session: Session
let other: Session
beforeEach(async () => {
  db = await memoryDb()
  agent = await db.createAgent({ name: 'A', model: 'm', type: 'codex' })
  await db.createAgent({ name: 'B', model: 'm', type: 'codex' })
  await db.createAgent({ name: 'C', model: 'm' })
  session = await db.createSession({ mainAgentId: agent.id })
  other = await db.createSession({ mainAgentId: agent.id })
  await db.createSession({ mainAgentId: agent.id, status: 'running' })
  for (const s of [session, other]) {
    await db.addLogs(Array.from({ length: 5 }, (_, i) => ({ sessionId: s.id, role: 'user' as const, type: 'message' as const, content: i })))
  }
})
afterEach(async () => {
  await db.close()
})

const cursorOf = (page: { nextCursor: string | null }): string => {
  expect(page.nextCursor).not.toBeNull()
  return page.nextCursor as string
}

describe('a cursor given to another list, filter or order', () => {
  it('of another session is refused', async () => {
    const after = cursorOf(await db.getLogs(session.id, { limit: 2 }))
    await expectCode(db.getLogs(other.id, { after }), 'INVALID_ARGUMENT', 'other filters')
    expect((await db.getLogs(session.id, { after })).items.map((l) => l.content)).toEqual([2, 3, 4])
  })

  it('of the other order is refused', async () => {
    const asc = cursorOf(await db.getLogs(session.id, { limit: 2 }))
    const desc = cursorOf(await db.getLogs(session.id, { limit: 2, order: 'desc' }))
    await expectCode(db.getLogs(session.id, { order: 'desc', after: asc }), 'INVALID_ARGUMENT', "order 'asc'")
    await expectCode(db.getLogs(session.id, { after: desc }), 'INVALID_ARGUMENT', "order 'desc'")
  })

  it('of another list is refused', async () => {
    const logs = cursorOf(await db.getLogs(session.id, { limit: 2 }))
    const latest = cursorOf(await db.getLatestLogs(session.id, 2))
    const sessions = cursorOf(await db.listSessions({ limit: 1 }))
    await expectCode(db.listAgents({ after: logs }), 'INVALID_ARGUMENT', 'list logs')
    await expectCode(db.listSessions({ after: logs }), 'INVALID_ARGUMENT', 'list logs')
    await expectCode(db.getLogs(session.id, { order: 'desc', after: latest }), 'INVALID_ARGUMENT', 'list latestLogs')
    await expectCode(db.getLatestLogs(session.id, { after: logs }), 'INVALID_ARGUMENT', 'list logs')
    await expectCode(db.listAgents({ after: sessions }), 'INVALID_ARGUMENT', 'list sessions')
  })

  it('of another agent, status or type is refused', async () => {
    const byAgent = cursorOf(await db.listSessions({ agentId: agent.id, limit: 1 }))
    await expectCode(db.listSessions({ after: byAgent }), 'INVALID_ARGUMENT', 'other filters')
    await expectCode(db.listSessions({ agentId: agent.id, status: 'idle', after: byAgent }), 'INVALID_ARGUMENT', 'other filters')
    expect((await db.listSessions({ agentId: agent.id, after: byAgent })).items).toHaveLength(2)
    const codex = cursorOf(await db.listAgents({ type: 'codex', limit: 1 }))
    await expectCode(db.listAgents({ type: 'custom', after: codex }), 'INVALID_ARGUMENT', 'other filters')
    expect((await db.listAgents({ type: 'codex', after: codex })).items.map((a) => a.name)).toEqual(['B'])
  })

  it('made by the previous version is refused saying so', async () => {
    for (const [read, list] of [
      [(after: string) => db.getLogs(session.id, { after }), 'logs'],
      [(after: string) => db.listSessions({ after }), 'sessions'],
      [(after: string) => db.listAgents({ after }), 'agents'],
    ] as const) {
      await expectCode(read(`${list}:2026-01-02T03:04:05.678Z|1`), 'INVALID_ARGUMENT', 'another version')
    }
    await expectCode(db.getLogs(session.id, { after: 'nonsense' }), 'INVALID_ARGUMENT', 'is not a cursor')
  })
})

describe('getLatestLogs', () => {
  it('resolves with a page whose cursor scrolls back, oldest of each page first', async () => {
    const newest = await db.getLatestLogs(session.id, { limit: 2 })
    expect(newest.items.map((l) => l.content)).toEqual([3, 4])
    const before = await db.getLatestLogs(session.id, { limit: 2, after: cursorOf(newest) })
    expect(before.items.map((l) => l.content)).toEqual([1, 2])
    const first = await db.getLatestLogs(session.id, { limit: 2, after: cursorOf(before) })
    expect(first).toEqual({ items: [expect.objectContaining({ content: 0 })], nextCursor: null })
    expect(await db.getLatestLogs(session.id)).toEqual({ items: (await db.getLogs(session.id)).items, nextCursor: null })
    await expectCode(db.getLatestLogs(session.id, { limit: 2, after: cursorOf(newest), offset: 1 } as never), 'INVALID_ARGUMENT', 'offset')
  })
})
