// Sessions through the addon: creation against an existing agent, the effective
// configuration (override or inherit, field by field), updates, lists, lookups, delete.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Agent, Database, EffectiveConfig, SessionOverrides } from '../../index.js'
import { allPages, counts, expectCode, memoryDb, snapshot } from './helpers'

let db: Database
beforeEach(async () => {
  db = await memoryDb()
})
afterEach(async () => {
  await db.close()
})

const AGENT_VALUES: EffectiveConfig = {
  model: 'agent-model',
  planModel: 'agent-plan',
  smallModel: 'agent-small',
  builtInTools: ['agent-tool'],
  mcps: ['agent-mcp'],
  knowledges: ['agent-kb'],
  configuration: { from: 'agent', depth: { n: 1 } },
  accessiblePaths: ['/agent'],
  permissionMode: 'acceptEdits',
  maxSteps: 7,
}

const SESSION_VALUES: EffectiveConfig = {
  model: 'session-model',
  planModel: 'session-plan',
  smallModel: 'session-small',
  builtInTools: [],
  mcps: ['session-mcp'],
  knowledges: ['session-kb-1', 'session-kb-2'],
  configuration: { from: 'session' },
  accessiblePaths: ['/session'],
  permissionMode: 'bypassPermissions',
  maxSteps: 99,
}

const FIELDS = Object.keys(AGENT_VALUES) as (keyof EffectiveConfig)[]

function configuredAgent(): Promise<Agent> {
  return db.createAgent({ name: 'Base', ...AGENT_VALUES })
}

describe('createSession', () => {
  it('fills in defaults and inherits every override', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    expect(session).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: null,
      mainAgentId: agent.id,
      subAgentIds: [],
      userGoal: null,
      status: 'idle',
      externalSessionId: null,
      model: null,
      planModel: null,
      smallModel: null,
      builtInTools: null,
      mcps: null,
      knowledges: null,
      configuration: null,
      accessiblePaths: null,
      permissionMode: null,
      maxSteps: null,
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: session.createdAt,
      lastActivityAt: session.createdAt,
    })
    expect(await db.getSession(session.id)).toEqual(session)
  })

  it('stores every field it is given', async () => {
    const agent = await configuredAgent()
    const helper = await db.createAgent({ name: 'Helper', model: 'm' })
    const input = {
      id: 'session-1',
      name: 'Review auth',
      mainAgentId: agent.id,
      subAgentIds: [helper.id],
      userGoal: 'Find the bug',
      status: 'running' as const,
      externalSessionId: 'ext-1',
      ...SESSION_VALUES,
    }
    const session = await db.createSession(input)
    expect(session).toEqual({ ...input, createdAt: session.createdAt, updatedAt: session.createdAt, lastActivityAt: session.createdAt })
    await expectCode(db.createSession(input), 'ALREADY_EXISTS', 'session-1')
  })

  it('rejects NOT_FOUND naming a missing agent and writes nothing', async () => {
    await db.createAgent({ name: 'A', model: 'm' })
    const before = await snapshot(db)
    await expectCode(db.createSession({ mainAgentId: 'ghost' }), 'NOT_FOUND', 'mainAgentId')
    await expectCode(db.createSession({ mainAgentId: 'ghost', name: 'x' }), 'NOT_FOUND', 'ghost')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('getSessionWithAgent', () => {
  it('returns the session, its agent and the agent values where nothing is overridden', async () => {
    const agent = await configuredAgent()
    const session = await db.createSession({ mainAgentId: agent.id })
    expect(await db.getSessionWithAgent(session.id)).toEqual({ session, agent, effective: AGENT_VALUES, checkpoint: null })
    expect(await db.getSessionWithAgent('missing')).toBeNull()
  })

  it('takes every override, including empty lists, over the agent', async () => {
    const agent = await configuredAgent()
    const session = await db.createSession({ mainAgentId: agent.id, ...SESSION_VALUES })
    const view = await db.getSessionWithAgent(session.id)
    expect(view?.effective).toEqual(SESSION_VALUES)
    expect(view?.agent).toEqual(agent)
  })

  it('switches each of the ten fields between override and inherit on its own', async () => {
    const agent = await configuredAgent()
    const session = await db.createSession({ mainAgentId: agent.id })
    for (const field of FIELDS) {
      const overridden = await db.updateSession(session.id, { [field]: SESSION_VALUES[field] } as SessionOverrides)
      expect(overridden[field]).toEqual(SESSION_VALUES[field])
      expect((await db.getSessionWithAgent(session.id))?.effective).toEqual({ ...AGENT_VALUES, [field]: SESSION_VALUES[field] })
      const back = await db.updateSession(session.id, { [field]: null } as SessionOverrides)
      expect(back[field]).toBeNull()
      expect((await db.getSessionWithAgent(session.id))?.effective).toEqual(AGENT_VALUES)
    }
    // Overrides given at creation go back to inheriting the same way.
    const created = await db.createSession({ mainAgentId: agent.id, ...SESSION_VALUES })
    const nulls = Object.fromEntries(FIELDS.map((f) => [f, null])) as SessionOverrides
    const reset = await db.updateSession(created.id, nulls)
    expect(FIELDS.map((f) => reset[f])).toEqual(FIELDS.map(() => null))
    expect((await db.getSessionWithAgent(created.id))?.effective).toEqual(AGENT_VALUES)
  })

  it('follows later changes of the agent where the session inherits only', async () => {
    const agent = await configuredAgent()
    const inherits = await db.createSession({ mainAgentId: agent.id })
    const overrides = await db.createSession({ mainAgentId: agent.id, model: 'pinned', maxSteps: 50 })
    await db.updateAgent(agent.id, { model: 'agent-model-2', maxSteps: 8, planModel: null })
    expect((await db.getSessionWithAgent(inherits.id))?.effective).toMatchObject({ model: 'agent-model-2', maxSteps: 8, planModel: null })
    expect((await db.getSessionWithAgent(overrides.id))?.effective).toMatchObject({ model: 'pinned', maxSteps: 50, planModel: null })
    // Moving the session to another agent changes what it inherits.
    const other = await db.createAgent({ name: 'Other', model: 'other-model', permissionMode: 'readOnly' })
    await db.updateSession(inherits.id, { mainAgentId: other.id })
    const moved = await db.getSessionWithAgent(inherits.id)
    expect(moved?.agent.id).toBe(other.id)
    expect(moved?.effective).toMatchObject({ model: 'other-model', permissionMode: 'readOnly', maxSteps: 10, builtInTools: [] })
  })
})

describe('updateSession and updateSessionStatus', () => {
  it('change only the given fields, moving updatedAt and never createdAt', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const original = await db.createSession({ mainAgentId: agent.id, name: 'first', userGoal: 'goal', externalSessionId: 'x' })
    const renamed = await db.updateSession(original.id, { name: 'second', subAgentIds: [agent.id] })
    expect(renamed).toEqual({ ...original, name: 'second', subAgentIds: [agent.id], updatedAt: renamed.updatedAt })
    expect(renamed.updatedAt > original.updatedAt).toBe(true)
    const cleared = await db.updateSession(original.id, { userGoal: null, externalSessionId: null, name: undefined })
    expect(cleared).toEqual({ ...renamed, userGoal: null, externalSessionId: null, updatedAt: cleared.updatedAt })
    let last = cleared
    for (const status of ['running', 'completed', 'failed', 'stopped', 'idle'] as const) {
      const next = await db.updateSessionStatus(original.id, status)
      expect(next).toEqual({ ...last, status, updatedAt: next.updatedAt })
      expect(next.updatedAt > last.updatedAt).toBe(true)
      expect(next.createdAt).toBe(original.createdAt)
      last = next
    }
  })

  it('reject NOT_FOUND for a missing session or new agent and write nothing', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    const before = await snapshot(db)
    await expectCode(db.updateSession('missing', { name: 'x' }), 'NOT_FOUND', 'missing')
    await expectCode(db.updateSessionStatus('missing', 'running'), 'NOT_FOUND', 'missing')
    await expectCode(db.updateSession(session.id, { name: 'x', mainAgentId: 'ghost' }), 'NOT_FOUND', 'ghost')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('getSessionByExternalId', () => {
  it('finds the newest session with that external id', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    await db.createSession({ id: 'old', mainAgentId: agent.id, externalSessionId: 'ext' })
    await db.createSession({ id: 'new', mainAgentId: agent.id, externalSessionId: 'ext' })
    await db.createSession({ id: 'other', mainAgentId: agent.id, externalSessionId: 'ext-2' })
    await db.execute(`UPDATE sessions SET created_at = CASE id WHEN 'old' THEN '2026-01-01T00:00:00.000Z' ELSE '2026-01-02T00:00:00.000Z' END`)
    expect((await db.getSessionByExternalId('ext'))?.id).toBe('new')
    expect((await db.getSessionByExternalId('ext-2'))?.id).toBe('other')
    expect(await db.getSessionByExternalId('none')).toBeNull()
  })
})

describe('listSessions', () => {
  it('pages newest first by cursor and by offset, across equal and backward timestamps, with filters', async () => {
    const a = await db.createAgent({ name: 'A', model: 'm' })
    const b = await db.createAgent({ name: 'B', model: 'm' })
    const statuses = ['idle', 'running', 'completed'] as const
    await db.batch(
      Array.from({ length: 30 }, (_, i) => ({
        op: 'createSession' as const,
        input: { id: `s${String((i * 11) % 30).padStart(2, '0')}`, mainAgentId: i % 2 ? b.id : a.id, status: statuses[i % 3] },
      })),
    )
    await db.execute(`UPDATE sessions SET created_at = '2026-01-01T00:00:00.00' || (seq % 3) || 'Z'`)
    // Newest first is the reverse of insertion order, whatever the timestamps say.
    const newestFirst = (await db.query('SELECT id, main_agent_id, status FROM sessions ORDER BY seq DESC')) as {
      id: string
      main_agent_id: string
      status: string
    }[]
    expect(newestFirst).toHaveLength(30)
    for (const limit of [1, 4, 7, 10, 29, 30]) {
      const seen = await allPages((after) => db.listSessions({ limit, after }), limit)
      expect(seen.map((s) => s.id)).toEqual(newestFirst.map((r) => r.id))
    }
    const byOffset: string[] = []
    for (let offset = 0; offset < 30; offset += 8) byOffset.push(...(await db.listSessions({ limit: 8, offset })).items.map((s) => s.id))
    expect(byOffset).toEqual(newestFirst.map((r) => r.id))

    const ofB = await allPages((after) => db.listSessions({ agentId: b.id, limit: 4, after }), 4)
    expect(ofB.map((s) => s.id)).toEqual(newestFirst.filter((r) => r.main_agent_id === b.id).map((r) => r.id))
    const running = await allPages((after) => db.listSessions({ status: 'running', limit: 3, after }), 3)
    expect(running.map((s) => s.id)).toEqual(newestFirst.filter((r) => r.status === 'running').map((r) => r.id))
    const runningOfA = await db.listSessions({ status: 'running', agentId: a.id })
    expect(runningOfA.items.map((s) => s.id)).toEqual(newestFirst.filter((r) => r.status === 'running' && r.main_agent_id === a.id).map((r) => r.id))
    expect(await db.listSessions({ agentId: 'nobody' })).toEqual({ items: [], nextCursor: null })
    expect([await db.countSessions(), await db.countSessions(a.id), await db.countSessions('nobody')]).toEqual([30, 15, 0])
  })
})

describe('deleteSession', () => {
  it('removes the session and its logs, leaving other sessions whole', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const doomed = await db.createSession({ mainAgentId: agent.id })
    const kept = await db.createSession({ mainAgentId: agent.id })
    for (const session of [doomed, kept]) {
      const root = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 1 })
      await db.addLogs([
        { sessionId: session.id, parentId: root.id, role: 'agent', type: 'thought', content: 2 },
        { sessionId: session.id, parentId: root.id, role: 'agent', type: 'message', content: 3 },
      ])
    }
    expect(await db.deleteSession(doomed.id)).toBe(true)
    expect(await counts(db)).toEqual({ agents: 1, sessions: 1, logs: 3, orphans: 0 })
    expect(await db.countLogs(doomed.id)).toBe(0)
    expect(await db.countLogs(kept.id)).toBe(3)
    expect(await db.getSession(doomed.id)).toBeNull()
    expect(await db.deleteSession(doomed.id)).toBe(false)
  })
})
