// Agents through the addon: createAgent defaults, partial updates, lists, delete, count.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database } from '../../index.js'
import { allPages, counts, expectCode, memoryDb, snapshot } from './helpers'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

let db: Database
beforeEach(async () => {
  db = await memoryDb()
})
afterEach(async () => {
  await db.close()
})

describe('createAgent', () => {
  it('fills in the documented defaults', async () => {
    const agent = await db.createAgent({ name: 'Reviewer', model: 'claude-sonnet' })
    expect(agent).toEqual({
      id: expect.stringMatching(UUID),
      type: 'custom',
      name: 'Reviewer',
      description: null,
      avatar: null,
      instructions: null,
      model: 'claude-sonnet',
      planModel: null,
      smallModel: null,
      builtInTools: [],
      mcps: [],
      knowledges: [],
      configuration: {},
      accessiblePaths: [],
      permissionMode: 'readOnly',
      maxSteps: 10,
      createdAt: expect.stringMatching(ISO),
      updatedAt: agent.createdAt,
    })
    expect(new Date(agent.createdAt).toISOString()).toBe(agent.createdAt)
    expect(await db.getAgent(agent.id)).toEqual(agent)
  })

  it('stores every field it is given, and refuses a taken id', async () => {
    const input = {
      id: 'agent-1',
      type: 'claudeCode' as const,
      name: 'Coder',
      description: 'writes code',
      avatar: '🤖',
      instructions: 'be brief',
      model: 'big',
      planModel: 'plan',
      smallModel: 'small',
      builtInTools: ['file_search', 'bash'],
      mcps: ['mcp-a'],
      knowledges: ['kb-1', 'kb-2'],
      configuration: { temperature: 0.2, nested: { list: [1, 'two', null] } },
      accessiblePaths: ['/src', 'C:\\work'],
      permissionMode: 'acceptEdits' as const,
      maxSteps: 1_000_000,
    }
    const agent = await db.createAgent(input)
    expect(agent).toEqual({ ...input, createdAt: expect.stringMatching(ISO), updatedAt: agent.createdAt })
    expect(await db.getAgent('agent-1')).toEqual(agent)
    await expectCode(db.createAgent({ ...input, name: 'Again' }), 'ALREADY_EXISTS', 'agent-1')
    expect((await db.getAgent('agent-1'))?.name).toBe('Coder')
  })

  it('accepts null for optional fields and every type and permission mode', async () => {
    const agent = await db.createAgent({ name: 'n', model: 'm', description: null, planModel: null, avatar: null })
    expect([agent.description, agent.planModel, agent.avatar]).toEqual([null, null, null])
    for (const type of ['claudeCode', 'codex', 'custom'] as const) {
      for (const permissionMode of ['readOnly', 'acceptEdits', 'bypassPermissions'] as const) {
        const made = await db.createAgent({ name: 'n', model: 'm', type, permissionMode })
        expect([made.type, made.permissionMode]).toEqual([type, permissionMode])
      }
    }
  })
})

describe('getAgent, agentExists, countAgents', () => {
  it('find agents by id and count them', async () => {
    expect(await db.getAgent('missing')).toBeNull()
    expect(await db.agentExists('missing')).toBe(false)
    expect(await db.countAgents()).toBe(0)
    const a = await db.createAgent({ name: 'A', model: 'm' })
    await db.createAgent({ name: 'B', model: 'm' })
    expect(await db.agentExists(a.id)).toBe(true)
    expect(await db.countAgents()).toBe(2)
  })
})

describe('updateAgent', () => {
  it('changes only the given fields; updatedAt moves forward, createdAt never', async () => {
    const original = await db.createAgent({
      name: 'A',
      model: 'm',
      description: 'd',
      planModel: 'p',
      builtInTools: ['t'],
      configuration: { keep: true },
    })
    const updated = await db.updateAgent(original.id, { name: 'B', mcps: ['x'], maxSteps: 3 })
    expect(updated).toEqual({ ...original, name: 'B', mcps: ['x'], maxSteps: 3, updatedAt: updated.updatedAt })
    expect(updated.updatedAt > original.updatedAt).toBe(true)
    expect(await db.getAgent(original.id)).toEqual(updated)

    let last = updated
    for (const patch of [{ model: 'm2' }, { type: 'codex' as const }, { configuration: { replaced: 1 } }, {}]) {
      const next = await db.updateAgent(original.id, patch)
      expect(next).toEqual({ ...last, ...patch, updatedAt: next.updatedAt })
      expect(next.updatedAt > last.updatedAt).toBe(true)
      expect(next.createdAt).toBe(original.createdAt)
      last = next
    }
  })

  it('clears optional fields with null and leaves undefined ones alone', async () => {
    const original = await db.createAgent({
      name: 'A',
      model: 'm',
      description: 'd',
      avatar: 'a',
      instructions: 'i',
      planModel: 'p',
      smallModel: 's',
    })
    const cleared = await db.updateAgent(original.id, { description: null, planModel: null, smallModel: undefined })
    expect(cleared).toEqual({ ...original, description: null, planModel: null, updatedAt: cleared.updatedAt })
    const all = await db.updateAgent(original.id, { avatar: null, instructions: null, smallModel: null })
    expect([all.avatar, all.instructions, all.smallModel, all.description]).toEqual([null, null, null, null])
  })

  it('rejects NOT_FOUND for a missing id and writes nothing', async () => {
    await db.createAgent({ name: 'A', model: 'm' })
    const before = await snapshot(db)
    await expectCode(db.updateAgent('missing', { name: 'x' }), 'NOT_FOUND', 'missing')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('deleteAgent', () => {
  it('removes the agent, its sessions and their logs, and nothing else', async () => {
    const doomed = await db.createAgent({ name: 'Doomed', model: 'm' })
    const kept = await db.createAgent({ name: 'Kept', model: 'm' })
    for (const agent of [doomed, kept]) {
      for (let i = 0; i < 2; i++) {
        const session = await db.createSession({ mainAgentId: agent.id })
        const root = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 'q' })
        const reply = await db.addLog({ sessionId: session.id, parentId: root.id, role: 'agent', type: 'message', content: 'a' })
        await db.addLog({ sessionId: session.id, parentId: reply.id, role: 'tool', type: 'observation', content: 'o' })
      }
    }
    expect(await counts(db)).toEqual({ agents: 2, sessions: 4, logs: 12, orphans: 0 })
    expect(await db.deleteAgent(doomed.id)).toBe(true)
    expect(await counts(db)).toEqual({ agents: 1, sessions: 2, logs: 6, orphans: 0 })
    expect(await db.query('SELECT count(*) AS n FROM sessions WHERE main_agent_id = ?', [doomed.id])).toEqual([{ n: 0 }])
    expect((await db.listSessions({ agentId: kept.id })).items).toHaveLength(2)
    expect(await db.deleteAgent(doomed.id)).toBe(false)
    expect(await db.getAgent(doomed.id)).toBeNull()
  })
})

describe('listAgents', () => {
  it('pages in insertion order by cursor and by offset, across equal and backward timestamps', async () => {
    const ids: string[] = []
    for (let i = 0; i < 23; i++) {
      const agent = await db.createAgent({ id: `agent-${String((i * 7) % 23).padStart(2, '0')}`, name: `n${i}`, model: 'm', type: i % 4 === 0 ? 'codex' : 'custom' })
      ids.push(agent.id)
    }
    // Four timestamps shared by several agents each, going back and forth, so that ties
    // straddle page boundaries: the order is still the order of insertion.
    await db.execute(`UPDATE agents SET created_at = '2026-01-01T00:00:00.00' || (seq % 4) || 'Z'`)
    const expected = ids
    for (const limit of [1, 2, 5, 6, 22, 23, 100]) {
      const seen = await allPages((after) => db.listAgents({ limit, after }), limit)
      expect(seen.map((a) => a.id)).toEqual(expected)
    }
    const byOffset: string[] = []
    for (let offset = 0; offset < 30; offset += 4) {
      byOffset.push(...(await db.listAgents({ limit: 4, offset })).items.map((a) => a.id))
    }
    expect(byOffset).toEqual(expected)
    const codex = await allPages((after) => db.listAgents({ type: 'codex', limit: 2, after }), 2)
    expect(codex.map((a) => a.id)).toEqual(expected.filter((id) => codex.some((a) => a.id === id)))
    expect(codex).toHaveLength(6)
    expect(codex.every((a) => a.type === 'codex')).toBe(true)
    const first = await db.listAgents()
    expect(first.items).toHaveLength(23)
    expect(first.nextCursor).toBeNull()
  })

  it('defaults to 100 per page and allows up to 1000', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ op: 'createAgent' as const, input: { name: `n${i}`, model: 'm' } }))
    await db.batch(inputs)
    const page = await db.listAgents()
    expect(page.items).toHaveLength(100)
    expect(page.nextCursor).not.toBeNull()
    const rest = await db.listAgents({ after: page.nextCursor! })
    expect(rest.items).toHaveLength(1)
    expect((await db.listAgents({ limit: 1000 })).items).toHaveLength(101)
  })
})
