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

describe('streamed replies', () => {
  it('append text at a path inside the content, then finish with a status', async () => {
    const reply = await db.addLog(message({ text: '', parts: [{ text: '' }] }, { role: 'agent', status: 'pending' }))
    expect(reply.status).toBe('pending')
    const chunks = ['Hel', 'lo, ', 'wörld ', '"quoted"\n', '✓']
    const appended = await Promise.all(chunks.map((delta) => db.appendLogText(reply.id, { path: 'text', delta })))
    expect(appended.map((a) => a.status)).toEqual(chunks.map(() => 'streaming'))
    await db.appendLogText(reply.id, { path: '$.parts[0].text', delta: 'x' })
    expect(await db.getLog(reply.id)).toMatchObject({ status: 'streaming', content: { text: chunks.join(''), parts: [{ text: 'x' }] } })
    const done = await db.finishLog(reply.id, { status: 'complete', metadata: { tokens: 12 } })
    expect(done).toMatchObject({ status: 'complete', metadata: { tokens: 12 }, content: { text: chunks.join('') } })
    const failed = await db.finishLog(reply.id, { status: 'error', content: { text: 'rate limited' } })
    expect(failed).toMatchObject({ status: 'error', content: { text: 'rate limited' } })
    expect((await db.addLog(message('plain'))).status).toBe('complete')
  })

  it('appends and finishes in a batch, all or nothing', async () => {
    const reply = await db.addLog(message({ text: 'a' }, { status: 'streaming' }))
    const before = await snapshot(db)
    await expectCode(
      db.batch([
        { op: 'appendLogText', id: reply.id, options: { path: 'text', delta: 'b' } },
        { op: 'appendLogText', id: reply.id, options: { path: 'missing', delta: 'c' } },
      ]),
      'NOT_TEXT',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    await db.batch([
      { op: 'appendLogText', id: reply.id, options: { path: 'text', delta: 'b' } },
      { op: 'finishLog', id: reply.id, options: { status: 'cancelled' } },
    ])
    expect(await db.getLog(reply.id)).toMatchObject({ status: 'cancelled', content: { text: 'ab' } })
  })

  it('refuses a bad path, a target that is not text and a status that is not finished, writing nothing', async () => {
    const reply = await db.addLog(message({ text: '', n: 1, list: [] }, { status: 'pending' }))
    const before = await snapshot(db)
    await expectCode(db.appendLogText(reply.id, { path: 'te xt', delta: 'x' }), 'INVALID_ARGUMENT', 'options.path')
    await expectCode(db.appendLogText(reply.id, { path: 'n', delta: 'x' }), 'NOT_TEXT', 'holds integer')
    await expectCode(db.appendLogText(reply.id, { path: 'list', delta: 'x' }), 'NOT_TEXT', 'holds array')
    await expectCode(db.appendLogText(reply.id, { path: 'nope', delta: 'x' }), 'NOT_TEXT', 'does not exist')
    await expectCode(db.appendLogText(reply.id + 1, { path: 'text', delta: 'x' }), 'NOT_FOUND')
    // @ts-expect-error not a finished status
    await expectCode(db.finishLog(reply.id, { status: 'streaming' }), 'INVALID_ARGUMENT', 'options.status')
    // @ts-expect-error delta is required
    await expectCode(db.appendLogText(reply.id, { path: 'text' }), 'INVALID_ARGUMENT', 'options.delta')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('the sidebar', () => {
  it('every log write moves its session up; listSessions includes agent, latest log and count in one call', async () => {
    const agent = (await db.getSession(session.id))!.mainAgentId
    const quiet = await db.createSession({ mainAgentId: agent, name: 'quiet' })
    expect(quiet.lastActivityAt).toBe(quiet.createdAt)
    await db.execute(`UPDATE sessions SET last_activity_at = '2000-01-01T00:00:00.000Z' WHERE id = ?`, [session.id])
    const byActivity = async () =>
      (await db.listSessions({ orderBy: 'lastActivityAt', include: ['agent', 'latestLog', 'logCount'] })).items
    expect((await byActivity()).map((s) => s.id)).toEqual([quiet.id, session.id])
    await db.addLog(message('first'))
    const latest = await db.addLog(message({ text: 'newest' }))
    const [top, next] = await byActivity()
    expect(top.id).toBe(session.id)
    expect(top.lastActivityAt > quiet.lastActivityAt).toBe(true)
    expect(top).toMatchObject({ agent: { id: agent, name: 'Chat', type: 'custom', avatar: null }, latestLog: latest, logCount: 2 })
    expect(next).toMatchObject({ id: quiet.id, latestLog: null, logCount: 0 })
    // Another tool's write counts too.
    await db.execute(`UPDATE session_logs SET content = '"edited"' WHERE session_id = ?`, [quiet.id])
    await db.execute(
      `INSERT INTO session_logs (session_id, role, type, content) VALUES (?, 'user', 'message', '"raw"')`,
      [quiet.id],
    )
    expect((await byActivity()).map((s) => s.id)).toEqual([quiet.id, session.id])
    const plain = (await db.listSessions()).items[0]
    expect('agent' in plain || 'latestLog' in plain || 'logCount' in plain).toBe(false)
    // A session read back may be spread into a patch.
    await db.updateSession(plain.id, { ...plain, name: 'renamed' })
  })

  it('pages by last activity with its own cursors, and refuses bad options', async () => {
    const agent = (await db.getSession(session.id))!.mainAgentId
    for (let i = 0; i < 4; i++) await db.createSession({ mainAgentId: agent })
    const first = await db.listSessions({ orderBy: 'lastActivityAt', limit: 2 })
    const rest = await db.listSessions({ orderBy: 'lastActivityAt', limit: 10, after: first.nextCursor! })
    const all = (await db.listSessions({ orderBy: 'lastActivityAt', limit: 10 })).items.map((s) => s.id)
    expect([...first.items, ...rest.items].map((s) => s.id)).toEqual(all)
    await expectCode(db.listSessions({ after: first.nextCursor! }), 'INVALID_ARGUMENT', 'cursor')
    // @ts-expect-error not an order
    await expectCode(db.listSessions({ orderBy: 'name' }), 'INVALID_ARGUMENT', 'options.orderBy')
    // @ts-expect-error not an include
    await expectCode(db.listSessions({ include: ['agent', 'logs'] }), 'INVALID_ARGUMENT', 'options.include[1]')
  })
})

describe('forks', () => {
  it('copies the logs up to a point into a new session, parents remapped, timestamps and statuses kept', async () => {
    const root = await db.addLog(message('question'))
    const answer = await db.addLog(message({ text: 'half' }, { parentId: root.id, role: 'agent', status: 'streaming' }))
    await db.addLog(message('follow-up', { parentId: answer.id }))
    const fork = await db.forkSession(session.id, { atLogId: answer.id, name: 'retry' })
    expect(fork).toMatchObject({ sourceSessionId: session.id, atLogId: answer.id, session: { name: 'retry', status: 'idle' } })
    const copies = (await db.getLogs(fork.session.id)).items
    const strip = ({ id, sessionId, parentId, ...rest }: (typeof copies)[number]) => rest
    expect(copies.map(strip)).toEqual([root, answer].map(strip))
    expect(copies[1].parentId).toBe(copies[0].id)
    expect(copies.every((c) => c.id > answer.id)).toBe(true)
    const all = await db.forkSession(session.id)
    expect(await db.countLogs(all.session.id)).toBe(3)
    expect((await db.listForks(session.id)).map((f) => f.session.id)).toEqual([fork.session.id, all.session.id])
    expect(await db.getFork(fork.session.id)).toEqual(fork)
    expect(await db.getFork(session.id)).toBeNull()
    // Deleting the source leaves the forks intact.
    await db.deleteSession(session.id)
    expect(await db.getFork(fork.session.id)).toMatchObject({ sourceSessionId: null, atLogId: answer.id })
    expect(await db.countLogs(fork.session.id)).toBe(2)
  })

  it('refuses a fork point outside the source, and forks in a batch, writing nothing on failure', async () => {
    const agent = (await db.getSession(session.id))!.mainAgentId
    const other = await db.createSession({ mainAgentId: agent })
    const foreign = await db.addLog({ ...message('elsewhere'), sessionId: other.id })
    await db.addLog(message('mine'))
    const before = await snapshot(db)
    await expectCode(db.forkSession(session.id, { atLogId: foreign.id }), 'NOT_FOUND', 'options.atLogId')
    await expectCode(db.forkSession('missing'), 'NOT_FOUND', 'missing')
    await expectCode(
      db.batch([
        { op: 'forkSession', sessionId: session.id, options: { id: 'copy' } },
        { op: 'forkSession', sessionId: session.id, options: { id: 'copy' } },
      ]),
      'ALREADY_EXISTS',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    const [made] = (await db.batch([{ op: 'forkSession', sessionId: session.id, options: { id: 'copy' } }])) as { session: Session }[]
    expect(made.session.id).toBe('copy')
  })
})
