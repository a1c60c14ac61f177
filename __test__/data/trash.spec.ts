// The trash through the addon: deleteSession/deleteAgent with { soft: true }, what the trash
// hides (lists in both orders, counts, lookups, search, forks), the writes it refuses, and
// restoreSession/restoreAgent bringing back exactly what went there, also inside a batch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database } from '../../index.js'
import { expectCode, fileDb, removeTempDirs, snapshot } from './helpers'

let db: Database
beforeEach(async () => {
  db = await fileDb()
})
afterEach(async () => {
  await db.close()
  removeTempDirs()
})

const ids = (items: { id: string }[]) => items.map((s) => s.id).sort()

async function seed() {
  const agent = await db.createAgent({ name: 'A', model: 'm' })
  const other = await db.createAgent({ name: 'B', model: 'm' })
  const kept = await db.createSession({ mainAgentId: agent.id, name: 'kept needle', externalSessionId: 'ext-kept' })
  const doomed = await db.createSession({ mainAgentId: agent.id, name: 'doomed needle', externalSessionId: 'ext-doomed' })
  const elsewhere = await db.createSession({ mainAgentId: other.id })
  for (const s of [kept, doomed]) await db.addLog({ sessionId: s.id, role: 'user', type: 'message', content: 'a needle here' })
  return { agent, other, kept, doomed, elsewhere }
}

describe('deleteSession with { soft: true }', () => {
  it('hides the session from lists, counts, lookups and search until restoreSession brings it back exactly', async () => {
    const { agent, kept, doomed, elsewhere } = await seed()
    const before = await snapshot(db)
    expect(await db.deleteSession(doomed.id, { soft: true })).toBe(true)
    expect(await db.deleteSession(doomed.id, { soft: true })).toBe(false)

    for (const orderBy of ['createdAt', 'lastActivityAt'] as const) {
      expect(ids((await db.listSessions({ orderBy })).items.map((s) => s))).toEqual(ids([kept, elsewhere]))
      const trash = (await db.listSessions({ orderBy, trashed: true })).items
      expect(trash.map((s) => s.id)).toEqual([doomed.id])
      expect(typeof trash[0].deletedAt).toBe('string')
    }
    expect(await db.countSessions()).toBe(2)
    expect(await db.countSessions(agent.id)).toBe(1)
    expect(await db.getSession(doomed.id)).toBeNull()
    expect(await db.getSessionWithAgent(doomed.id)).toBeNull()
    expect(await db.getSessionByExternalId('ext-doomed')).toBeNull()
    expect((await db.getSession(doomed.id, { includeTrashed: true }))?.deletedAt).toBeTypeOf('string')
    expect((await db.getSessionWithAgent(doomed.id, { includeTrashed: true }))?.session.id).toBe(doomed.id)
    expect((await db.searchLogs('needle')).items.map((h) => h.log.sessionId)).toEqual([kept.id])
    expect((await db.searchSessions('needle')).map((h) => h.session.id)).toEqual([kept.id])
    // Its logs stay readable by its id, for a view of the trash.
    expect((await db.getLogs(doomed.id)).items).toHaveLength(1)

    expect(await db.restoreSession(doomed.id)).toBe(true)
    expect(await db.restoreSession(doomed.id)).toBe(false)
    expect(await snapshot(db)).toBe(before)
    expect(await db.getSession(doomed.id)).toEqual(await db.getSession(doomed.id, { includeTrashed: true }))
    expect((await db.getSession(doomed.id))?.deletedAt).toBeUndefined()
    expect(ids((await db.searchSessions('needle')).map((h) => h.session))).toEqual(ids([kept, doomed]))
  })

  it('refuses writes into a trashed session with TRASHED and writes nothing', async () => {
    const { doomed } = await seed()
    const [entry] = (await db.getLogs(doomed.id)).items
    await db.deleteSession(doomed.id, { soft: true })
    const before = await snapshot(db)
    await expectCode(db.addLog({ sessionId: doomed.id, role: 'user', type: 'message', content: 'x' }), 'TRASHED', doomed.id)
    await expectCode(db.addLogs([{ sessionId: doomed.id, role: 'user', type: 'message', content: 'x' }]), 'TRASHED')
    await expectCode(db.updateLog(entry.id, { content: 'y' }), 'TRASHED')
    await expectCode(db.appendLogText(entry.id, { path: '$', delta: 'y' }), 'TRASHED')
    await expectCode(db.updateSession(doomed.id, { name: 'n' }), 'TRASHED')
    await expectCode(db.forkSession(doomed.id), 'TRASHED')
    await expectCode(db.restoreSession('nobody'), 'NOT_FOUND')
    await expectCode(db.deleteSession(doomed.id, { soft: 'yes' } as never), 'INVALID_ARGUMENT', 'options.soft')
    expect(await snapshot(db)).toBe(before)
    // A hard delete stays explicit, and reaches a session in the trash.
    expect(await db.deleteSession(doomed.id)).toBe(true)
    expect(await db.getSession(doomed.id, { includeTrashed: true })).toBeNull()
  })
})

describe('deleteAgent with { soft: true }', () => {
  it('trashes the agent with its sessions; restoreAgent brings back those and not one trashed before', async () => {
    const { agent, other, kept, doomed, elsewhere } = await seed()
    await db.deleteSession(doomed.id, { soft: true })
    expect(await db.deleteAgent(agent.id, { soft: true })).toBe(true)
    expect((await db.listAgents()).items.map((a) => a.id)).toEqual([other.id])
    expect((await db.listAgents({ trashed: true })).items.map((a) => a.id)).toEqual([agent.id])
    expect(await db.countAgents()).toBe(1)
    expect(await db.agentExists(agent.id)).toBe(false)
    expect(await db.getAgent(agent.id)).toBeNull()
    expect((await db.getAgent(agent.id, { includeTrashed: true }))?.deletedAt).toBeTypeOf('string')
    expect((await db.listSessions()).items.map((s) => s.id)).toEqual([elsewhere.id])
    expect(ids((await db.listSessions({ trashed: true })).items)).toEqual(ids([kept, doomed]))
    await expectCode(db.createSession({ mainAgentId: agent.id }), 'TRASHED')
    await expectCode(db.restoreSession(kept.id), 'TRASHED', agent.id)

    expect(await db.restoreAgent(agent.id)).toBe(true)
    expect(ids((await db.listSessions()).items)).toEqual(ids([kept, elsewhere]))
    expect((await db.listSessions({ trashed: true })).items.map((s) => s.id)).toEqual([doomed.id])
    expect(await db.getAgent(agent.id)).toEqual(agent)
  })

  it('runs in a batch, all or nothing, with references to earlier operations', async () => {
    const { agent } = await seed()
    const results = await db.batch([
      { op: 'createSession', input: { mainAgentId: agent.id } },
      { op: 'deleteSession', id: { ref: 0 }, options: { soft: true } },
      { op: 'restoreSession', id: { ref: 0 } },
      { op: 'deleteAgent', id: agent.id, options: { soft: true } },
      { op: 'restoreAgent', id: agent.id },
    ])
    expect(results.slice(1)).toEqual([true, true, true, true])
    const before = await snapshot(db)
    await expectCode(
      db.batch([
        { op: 'deleteAgent', id: agent.id, options: { soft: true } },
        { op: 'updateAgent', id: agent.id, patch: { name: 'n' } },
      ]),
      'TRASHED',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
  })
})
