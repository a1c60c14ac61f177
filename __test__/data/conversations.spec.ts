// Conversations the way an agent app keeps them: deleting one entry (with its subtree or
// moving its children up), editing one in place.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database, JsonValue, LogInput, Session } from '../../index.js'
import { counts, expectCode, memoryDb, snapshot } from './helpers'

let db: Database
let session: Session
beforeEach(async () => {
  db = await memoryDb()
  const agent = await db.createAgent({ name: 'Chat', model: 'm' })
  session = await db.createSession({ mainAgentId: agent.id })
})
afterEach(async () => {
  await db.close()
})

const message = (content: JsonValue, extra: Partial<LogInput> = {}): LogInput => ({
  sessionId: session.id,
  role: 'user',
  type: 'message',
  content,
  ...extra,
})

/** `[content, parent's content]` of every log of the session, in id order. */
async function shape(): Promise<[JsonValue, JsonValue][]> {
  const rows = await db.query(
    `SELECT l.content AS c, p.content AS p FROM session_logs l LEFT JOIN session_logs p ON p.id = l.parent_id
     WHERE l.session_id = ? ORDER BY l.id`,
    [session.id],
  )
  return rows.map((r) => [JSON.parse(String(r.c)), r.p === null ? null : JSON.parse(String(r.p))])
}

describe('deleteLog', () => {
  it('raw SQL, the only way before, deletes the children too', async () => {
    const root = await db.addLog(message('root'))
    await db.addLog(message('reply', { parentId: root.id }))
    await db.execute('DELETE FROM session_logs WHERE id = ?', [root.id])
    expect(await db.countLogs(session.id)).toBe(0)
  })

  it("children: 'reparent' deletes one entry and moves its children to its parent, or to the root", async () => {
    const root = await db.addLog(message('root'))
    const mid = await db.addLog(message('mid', { parentId: root.id }))
    const a = await db.addLog(message('a', { parentId: mid.id }))
    await db.addLog(message('b', { parentId: mid.id }))
    await db.addLog(message('a1', { parentId: a.id }))
    expect(await db.deleteLog(mid.id, { children: 'reparent' })).toBe(1)
    expect(await shape()).toEqual([
      ['root', null],
      ['a', 'root'],
      ['b', 'root'],
      ['a1', 'a'],
    ])
    expect(await db.deleteLog(root.id, { children: 'reparent' })).toBe(1)
    expect(await shape()).toEqual([
      ['a', null],
      ['b', null],
      ['a1', 'a'],
    ])
    expect(await db.deleteLog(root.id, { children: 'reparent' })).toBe(0)
  })

  it("children: 'delete' deletes the whole subtree and nothing else", async () => {
    const root = await db.addLog(message('root'))
    const branch = await db.addLog(message('branch', { parentId: root.id }))
    await db.addLog(message('kept', { parentId: root.id }))
    const leaf = await db.addLog(message('leaf', { parentId: branch.id }))
    await db.addLog(message('deeper', { parentId: leaf.id }))
    expect(await db.deleteLog(branch.id, { children: 'delete' })).toBe(3)
    expect(await shape()).toEqual([
      ['root', null],
      ['kept', 'root'],
    ])
    expect((await counts(db)).orphans).toBe(0)
  })

  it('is a batch operation, all or nothing', async () => {
    const root = await db.addLog(message('root'))
    const reply = await db.addLog(message('reply', { parentId: root.id }))
    const before = await snapshot(db)
    await expectCode(
      db.batch([
        { op: 'deleteLog', id: reply.id, options: { children: 'delete' } },
        { op: 'addLog', input: message('x', { parentId: reply.id }) },
      ]),
      'CONSTRAINT',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    expect(await db.batch([{ op: 'deleteLog', id: root.id, options: { children: 'reparent' } }])).toEqual([1])
    expect(await shape()).toEqual([['reply', null]])
  })

  it('refuses bad options with INVALID_ARGUMENT and writes nothing', async () => {
    const root = await db.addLog(message('root'))
    const before = await snapshot(db)
    // @ts-expect-error options are required
    await expectCode(db.deleteLog(root.id), 'INVALID_ARGUMENT', 'options is required')
    // @ts-expect-error not a choice
    await expectCode(db.deleteLog(root.id, { children: 'orphan' }), 'INVALID_ARGUMENT', 'options.children')
    await expectCode(db.deleteLog(-1, { children: 'delete' }), 'INVALID_ARGUMENT', 'id')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('updateLog', () => {
  it('edits one entry in place: same id, parent, creation time and children', async () => {
    const root = await db.addLog(message('root'))
    const entry = await db.addLog(message('draft', { parentId: root.id }))
    const child = await db.addLog(message('child', { parentId: entry.id }))
    const edited = await db.updateLog(entry.id, { ...entry, content: 'final' })
    expect(edited).toEqual({ ...entry, content: 'final', updatedAt: edited.updatedAt })
    expect(await db.getLog(child.id)).toEqual(child)
    expect((await db.getLogs(session.id)).items.map((l) => l.id)).toEqual([root.id, entry.id, child.id])
  })
})
