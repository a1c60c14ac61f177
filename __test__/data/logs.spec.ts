// Session logs through the addon: append one or many, pages in append (id) order over
// equal and backward timestamps, latest, updates, delete and count, trees of any depth, and JSON values.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database, JsonValue, LogInput, LogNode, Session } from '../../index.js'
import { allPages, counts, expectCode, messageOf, rejection, sessionsDb, snapshot } from './helpers'

let db: Database
let session: Session
let other: Session
beforeEach(async () => {
  ;({ db, sessions: [session, other] } = await sessionsDb(2))
})
afterEach(async () => {
  await db.close()
})

const message = (content: JsonValue, extra: Partial<LogInput> = {}): LogInput => messageOf(session.id, content, extra)

/** Ids of a session's logs straight from the table, in append (id) order. */
async function orderInTable(sessionId: string, direction: 'ASC' | 'DESC'): Promise<number[]> {
  const rows = await db.query(`SELECT id FROM session_logs WHERE session_id = ? ORDER BY id ${direction}`, [sessionId])
  return rows.map((r) => r.id as number)
}

describe('addLog and addLogs', () => {
  it('store every field and return the rows as stored, in order', async () => {
    const root = await db.addLog(message({ text: 'hi' }))
    expect(root).toEqual({
      id: expect.any(Number),
      sessionId: session.id,
      parentId: null,
      role: 'user',
      type: 'message',
      content: { text: 'hi' },
      metadata: null,
      status: 'complete',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: root.createdAt,
    })
    const roles = ['user', 'agent', 'system', 'tool'] as const
    const types = ['message', 'thought', 'action', 'observation'] as const
    const inputs = roles.flatMap((role) => types.map((type) => message([role, type], { role, type, parentId: root.id, metadata: { role } })))
    const added = await db.addLogs(inputs)
    expect(added.map((l) => [l.role, l.type, l.content, l.metadata, l.parentId])).toEqual(
      inputs.map((i) => [i.role, i.type, i.content, i.metadata, root.id]),
    )
    const ids = added.map((l) => l.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(ids[0]).toBeGreaterThan(root.id)
    expect(await db.getLog(ids[3])).toEqual(added[3])
    expect(await db.getLog(ids[15] + 1000)).toBeNull()
    expect(await db.countLogs(session.id)).toBe(17)
  })

  it('refuse a parent from another session, or a missing one, and write nothing', async () => {
    const foreign = await db.addLog({ ...message('x'), sessionId: other.id })
    const before = await snapshot(db)
    await expectCode(db.addLog(message('reply', { parentId: foreign.id })), 'CONSTRAINT', 'parentId')
    await expectCode(db.addLog(message('reply', { parentId: foreign.id + 99 })), 'CONSTRAINT', 'parentId')
    await expectCode(db.addLogs([message('ok'), message('reply', { parentId: foreign.id })]), 'CONSTRAINT', 'logs[1]')
    await expectCode(db.addLog({ ...message('x'), sessionId: 'ghost' }), 'NOT_FOUND', 'ghost')
    expect(await snapshot(db)).toBe(before)
  })

  it('addLogs with one bad row rejects naming it and writes none of them', async () => {
    await db.addLog(message('existing'))
    const before = await snapshot(db)
    const good = Array.from({ length: 50 }, (_, i) => message(i))
    await expectCode(db.addLogs([...good, { ...message('bad'), sessionId: 'ghost' }, ...good]), 'NOT_FOUND', 'logs[50]')
    await expectCode(db.addLogs([...good, { ...message('bad'), role: 'robot' as 'user' }]), 'INVALID_ARGUMENT', 'inputs[50].role')
    await expectCode(db.addLogs([...good, message(undefined as unknown as JsonValue)]), 'INVALID_ARGUMENT', 'inputs[50].content')
    expect(await snapshot(db)).toBe(before)
    expect(await db.addLogs(good)).toHaveLength(50)
  })

  it('may name a parent added earlier in the same call', async () => {
    const [root] = await db.addLogs([message('root')])
    const next = await db.addLogs([message('a', { parentId: root.id }), message('b', { parentId: root.id + 1 })])
    expect(next.map((l) => l.parentId)).toEqual([root.id, root.id + 1])
  })
})

describe('getLogs', () => {
  it('pages in append order both ways, each row once, across equal and backward timestamps', async () => {
    const added = await db.addLogs(Array.from({ length: 60 }, (_, i) => message(i)))
    await db.addLogs(Array.from({ length: 5 }, (_, i) => ({ ...message(i), sessionId: other.id })))
    // One call writes rows faster than the clock moves: force ties, in an order unlike the
    // ids' (a clock going back and forth), so that equal timestamps straddle every page boundary.
    await db.execute(`UPDATE session_logs SET created_at = '2026-01-01T00:00:00.00' || ((id * 7) % 4) || 'Z' WHERE session_id = ?`, [session.id])
    const ascending = await orderInTable(session.id, 'ASC')
    const descending = await orderInTable(session.id, 'DESC')
    expect(new Set(ascending)).toEqual(new Set(added.map((l) => l.id)))
    expect(descending).toEqual([...ascending].reverse())
    for (const limit of [1, 2, 7, 15, 59, 60, 1000]) {
      const up = await allPages((after) => db.getLogs(session.id, { limit, after }), limit)
      expect(up.map((l) => l.id)).toEqual(ascending)
      const down = await allPages((after) => db.getLogs(session.id, { limit, after, order: 'desc' }), limit)
      expect(down.map((l) => l.id)).toEqual(descending)
    }
    for (const [order, expected] of [['asc', ascending], ['desc', descending]] as const) {
      const byOffset: number[] = []
      for (let offset = 0; offset < 60; offset += 9) byOffset.push(...(await db.getLogs(session.id, { limit: 9, offset, order })).items.map((l) => l.id))
      expect(byOffset).toEqual(expected)
    }
    const whole = await db.getLogs(session.id)
    expect(whole.items.map((l) => l.id)).toEqual(ascending)
    expect(whole.nextCursor).toBeNull()
    expect(await db.getLogs('no-such-session')).toEqual({ items: [], nextCursor: null })
  })

  it('keeps the natural order of rows written in one call', async () => {
    const added = await db.addLogs(Array.from({ length: 200 }, (_, i) => message(i)))
    const read = await allPages((after) => db.getLogs(session.id, { limit: 16, after }), 16)
    expect(read.map((l) => l.id)).toEqual(await orderInTable(session.id, 'ASC'))
    expect(read.map((l) => l.content)).toEqual(added.map((l) => l.content))
  })

  it('refuses a cursor of another list or a malformed one', async () => {
    await db.addLogs([message(1), message(2)])
    const agents = await db.listAgents({ limit: 1 })
    await db.createAgent({ name: 'B', model: 'm' })
    const agentCursor = (await db.listAgents({ limit: 1 })).nextCursor!
    expect(agents.nextCursor).toBeNull()
    for (const after of [agentCursor, 'garbage', 'logs:', 'logs:2026-01-01T00:00:00.000Z', 'logs:2026|1']) {
      await expectCode(db.getLogs(session.id, { after }), 'INVALID_ARGUMENT', 'after')
    }
  })
})

describe('getLatestLogs', () => {
  it('returns the newest entries, oldest of them first', async () => {
    const added = await db.addLogs(Array.from({ length: 80 }, (_, i) => message(i)))
    await db.execute(`UPDATE session_logs SET created_at = '2026-01-01T00:00:00.000Z'`)
    expect((await db.getLatestLogs(session.id, 5)).items.map((l) => l.content)).toEqual([75, 76, 77, 78, 79])
    expect((await db.getLatestLogs(session.id)).items.map((l) => l.id)).toEqual(added.slice(30).map((l) => l.id))
    expect((await db.getLatestLogs(session.id, { limit: 1000 })).items).toHaveLength(80)
    expect(await db.getLatestLogs(other.id, 3)).toEqual({ items: [], nextCursor: null })
  })
})

describe('updateLog', () => {
  it('changes only the given fields and moves updatedAt', async () => {
    const original = await db.addLog(message('draft', { metadata: { tokens: 3 } }))
    const edited = await db.updateLog(original.id, { content: { final: true } })
    expect(edited).toEqual({ ...original, content: { final: true }, updatedAt: edited.updatedAt })
    expect(edited.updatedAt > original.updatedAt).toBe(true)
    const retyped = await db.updateLog(original.id, { role: 'agent', type: 'action', metadata: null })
    expect(retyped).toEqual({ ...edited, role: 'agent', type: 'action', metadata: null, updatedAt: retyped.updatedAt })
    const nulled = await db.updateLog(original.id, { content: null })
    expect(nulled.content).toBeNull()
    expect(nulled.createdAt).toBe(original.createdAt)
    await expectCode(db.updateLog(original.id + 1, { content: 1 }), 'NOT_FOUND', String(original.id + 1))
  })
})

describe('deleteLogs and countLogs', () => {
  it('delete every entry of one session, replies included, and count them', async () => {
    const root = await db.addLog(message('root'))
    const reply = await db.addLog(message('reply', { parentId: root.id }))
    await db.addLogs([message('deeper', { parentId: reply.id }), message('sibling', { parentId: root.id }), message('root 2')])
    await db.addLog({ ...message('elsewhere'), sessionId: other.id })
    expect(await db.countLogs(session.id)).toBe(5)
    expect(await db.deleteLogs(session.id)).toBe(5)
    expect([await db.countLogs(session.id), await db.countLogs(other.id)]).toEqual([0, 1])
    expect(await db.deleteLogs(session.id)).toBe(0)
    expect(await db.getSession(session.id)).not.toBeNull()
    expect((await counts(db)).orphans).toBe(0)
  })
})

describe('getLogTree', () => {
  it('nests entries by parent several levels deep, siblings in append order', async () => {
    const a = await db.addLog(message('a'))
    const b = await db.addLog(message('b'))
    const a1 = await db.addLog(message('a1', { parentId: a.id }))
    const a2 = await db.addLog(message('a2', { parentId: a.id }))
    const a1x = await db.addLog(message('a1x', { parentId: a1.id }))
    const a1xy = await db.addLog(message('a1xy', { parentId: a1x.id }))
    const a1xyz = await db.addLog(message('a1xyz', { parentId: a1xy.id }))
    const b1 = await db.addLog(message('b1', { parentId: b.id }))
    await db.addLog({ ...message('other session'), sessionId: other.id })
    // b is stamped the oldest (a clock stepped back): roots still sort by append order.
    await db.execute(`UPDATE session_logs SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?`, [b.id])
    const shape = (nodes: LogNode[]): unknown[] => nodes.map((n) => [n.content, shape(n.children)])
    const tree = await db.getLogTree(session.id)
    expect(shape(tree)).toEqual([
      ['a', [['a1', [['a1x', [['a1xy', [['a1xyz', []]]]]]]], ['a2', []]]],
      ['b', [['b1', []]]],
    ])
    const { children, ...node } = tree[0].children[0]
    expect(node).toEqual(await db.getLog(a1.id))
    expect(children.map((c) => c.id)).toEqual([a1x.id])
    expect([a2.id, a1xyz.id, b1.id].every((id) => JSON.stringify(tree).includes(`"id":${id},`))).toBe(true)
    expect(await db.getLogTree('no-such-session')).toEqual([])
  })

  it('reads a 5000-level chain, and every delete still removes it', async () => {
    const depth = 5000
    const chain = async (sessionId: string) => {
      const root = await db.addLog({ ...message('root'), sessionId })
      // One statement builds the rest of the chain: each row's parent is the row before it.
      await db.execute(
        `INSERT INTO session_logs (id, session_id, parent_id, role, type, content)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         SELECT ?2 + i, ?3, ?2 + i - 1, 'agent', 'thought', i FROM n`,
        [depth - 1, root.id, sessionId],
      )
      return root
    }
    const root = await chain(session.id)
    const tree = await db.getLogTree(session.id)
    let node: LogNode | undefined = tree[0]
    let levels = 0
    while (node) {
      expect(node.id).toBe(root.id + levels)
      levels += 1
      node = node.children[0]
    }
    expect(levels).toBe(depth)
    expect(await db.deleteLogs(session.id)).toBe(depth)
    await chain(session.id)
    expect(await db.deleteSession(session.id)).toBe(true)
    await chain(other.id)
    expect(await db.deleteAgent(other.mainAgentId)).toBe(true)
    expect(await counts(db)).toEqual({ agents: 0, sessions: 0, logs: 0, orphans: 0 })
  })
})

describe('content and metadata', () => {
  const values: [string, JsonValue][] = [
    ['a string', 'hello'],
    ['an empty string', ''],
    ['zero', 0],
    ['a negative number', -42],
    ['a fraction', -0.125],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['the smallest safe integer', Number.MIN_SAFE_INTEGER],
    ['a huge double', 1.7976931348623157e308],
    ['a tiny double', 5e-324],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an empty array', []],
    ['an empty object', {}],
    ['nested arrays and objects', { list: [1, [2, [3, { deep: [null, true, 'x'] }]]], map: { a: { b: { c: {} } } } }],
    ['unicode, emoji and NUL', { '\u0000key': 'NUL \u0000 inside, emoji 🦀👩‍👩‍👧, accents é, CJK 漢字, RTL עברית, \u2028 and \uFEFF' }],
    ['quotes and backslashes', 'a "quoted" \\ back\\slash \n newline \t tab'],
    ['keys in insertion order', { zeta: 1, alpha: 2, mid: 3, '': 4, 'with space': 5 }],
    ['integer-like keys', { b: 1, 10: 'ten', 2: 'two', a: 0 }],
    ['a key named __proto__', JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as JsonValue],
  ]

  /** Arrays nested `levels` deep. */
  const nested = (levels: number): JsonValue => Array.from({ length: levels - 1 }).reduce<JsonValue>((v) => [v], [])

  it.each(values)('round-trips %s unchanged', async (_, value) => {
    const stored = await db.addLog(message(value, { metadata: value }))
    for (const log of [stored, await db.getLog(stored.id), (await db.getLogs(session.id)).items[0], (await db.getLogTree(session.id))[0]]) {
      expect(log?.content).toStrictEqual(value)
      expect(log?.metadata).toStrictEqual(value)
      expect(JSON.stringify(log?.content)).toBe(JSON.stringify(value))
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const updated = await db.updateLog(stored.id, { content: { wrapped: value }, metadata: [value] })
    expect([updated.content, updated.metadata]).toStrictEqual([{ wrapped: value }, [value]])
  })

  it('keeps a Date as its ISO string, as JSON.stringify does', async () => {
    const date = new Date('2026-03-04T05:06:07.089Z')
    const stored = await db.addLog(message({ at: date } as unknown as JsonValue))
    expect(stored.content).toEqual({ at: '2026-03-04T05:06:07.089Z' })
  })

  it('takes 128 levels of nesting and refuses 129, naming the field', async () => {
    const stored = await db.addLog(message(nested(128), { metadata: { a: nested(127) } }))
    expect([stored.content, stored.metadata]).toStrictEqual([nested(128), { a: nested(127) }])
    const err = await rejection(db.addLog(message(nested(129))))
    expect([err.code, err.message.startsWith('input.content[0][0]')]).toEqual(['INVALID_ARGUMENT', true])
    expect(err.message).toContain('128 levels')
    await expectCode(db.updateLog(stored.id, { metadata: { a: nested(128) } }), 'INVALID_ARGUMENT', 'patch.metadata.a')
  })
})
