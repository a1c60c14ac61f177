// Conversations the way an agent app keeps them: deleting one entry (with its subtree or
// moving its children up), editing one in place.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database, JsonValue, LogInput, Session } from '../../index.js'
import { counts, expectCode, messageOf, sessionsDb, snapshot } from './helpers'

let db: Database
let session: Session
beforeEach(async () => {
  ;({ db, sessions: [session] } = await sessionsDb(1, 'Chat'))
})
afterEach(async () => {
  await db.close()
})

const message = (content: JsonValue, extra: Partial<LogInput> = {}): LogInput => messageOf(session.id, content, extra)

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

describe('compaction checkpoints', () => {
  it('stores a summary up to one entry, read with the session, replaced, cleared; its cursor reads the entries after it', async () => {
    const logs = await db.addLogs(['a', 'b', 'c', 'd'].map((text) => message({ text })))
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toBeNull()
    const set = await db.setCheckpoint(session.id, {
      summary: 'They agreed on a plan.',
      throughLogId: logs[1].id,
      coveredTokens: 1200,
      summaryTokens: 40,
      metadata: { model: 'small' },
    })
    expect(set).toMatchObject({
      sessionId: session.id,
      throughLogId: logs[1].id,
      summary: 'They agreed on a plan.',
      coveredTokens: 1200,
      summaryTokens: 40,
      metadata: { model: 'small' },
      createdAt: expect.stringMatching(/Z$/),
    })
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toEqual(set)
    const after = await db.getLogs(session.id, { after: set.logsAfter })
    expect(after.items.map((l) => l.id)).toEqual([logs[2].id, logs[3].id])
    // Setting it is not activity: the session's place in the sidebar stays.
    const activity = (await db.query('SELECT last_activity_seq AS seq FROM sessions WHERE id = ?', [session.id]))[0].seq
    const replaced = await db.setCheckpoint(session.id, { summary: 'All four.', throughLogId: logs[3].id })
    expect(replaced).toMatchObject({ throughLogId: logs[3].id, coveredTokens: null, summaryTokens: null, metadata: null })
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toEqual(replaced)
    expect((await db.getLogs(session.id, { after: replaced.logsAfter })).items).toEqual([])
    expect((await db.query('SELECT last_activity_seq AS seq FROM sessions WHERE id = ?', [session.id]))[0].seq).toBe(activity)
    expect(await db.clearCheckpoint(session.id)).toBe(true)
    expect(await db.clearCheckpoint(session.id)).toBe(false)
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toBeNull()
  })

  it('refuses bad input with a code naming the field and writes nothing', async () => {
    const [mine] = await db.addLogs([message('mine')])
    const other = await db.createSession({ mainAgentId: session.mainAgentId })
    const foreign = await db.addLog({ ...message('elsewhere'), sessionId: other.id })
    await db.setCheckpoint(session.id, { summary: 'kept', throughLogId: mine.id })
    const before = await snapshot(db)
    const good = { summary: 'S', throughLogId: mine.id }
    for (const [bad, field] of [
      [{ ...good, summary: ' ' }, 'checkpoint.summary'],
      [{ ...good, summary: 'x'.repeat(1_000_001) }, 'checkpoint.summary'],
      [{ ...good, coveredTokens: -1 }, 'checkpoint.coveredTokens'],
      [{ ...good, summaryTokens: 2.5 }, 'checkpoint.summaryTokens'],
      [{ ...good, throughLogId: 0 }, 'checkpoint.throughLogId'],
      [{ summary: 'S' }, 'checkpoint.throughLogId'],
      [{ ...good, tokens: 3 }, 'tokens'],
    ] as const) {
      await expectCode(db.setCheckpoint(session.id, bad as never), 'INVALID_ARGUMENT', field)
    }
    await expectCode(db.setCheckpoint(session.id, { summary: 'S', throughLogId: foreign.id }), 'NOT_FOUND', 'checkpoint.throughLogId')
    await expectCode(db.setCheckpoint('missing', good), 'NOT_FOUND', 'missing')
    await expectCode(
      db.batch([
        { op: 'clearCheckpoint', sessionId: session.id },
        { op: 'setCheckpoint', sessionId: session.id, checkpoint: { summary: 'S', throughLogId: foreign.id } },
      ]),
      'NOT_FOUND',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
  })

  it('goes with its covered entry, not with an earlier one, and follows forks made at or after it', async () => {
    const logs = await db.addLogs(['a', 'b', 'c'].map((text) => message({ text })))
    const set = await db.setCheckpoint(session.id, { summary: 'S', throughLogId: logs[1].id, summaryTokens: 3 })
    const before = await db.forkSession(session.id, { atLogId: logs[0].id })
    expect((await db.getSessionWithAgent(before.session.id))?.checkpoint).toBeNull()
    const at = await db.forkSession(session.id, { atLogId: logs[1].id })
    const copied = (await db.getSessionWithAgent(at.session.id))?.checkpoint
    const copies = (await db.getLogs(at.session.id)).items
    expect(copied).toMatchObject({ sessionId: at.session.id, throughLogId: copies[1].id, summary: 'S', summaryTokens: 3, createdAt: set.createdAt })
    expect((await db.getLogs(at.session.id, { after: copied!.logsAfter })).items).toEqual([])

    await db.deleteLog(logs[0].id, { children: 'reparent' })
    expect((await db.getSessionWithAgent(session.id))?.checkpoint?.throughLogId).toBe(logs[1].id)
    await db.deleteLog(logs[1].id, { children: 'delete' })
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toBeNull()
    await db.setCheckpoint(at.session.id, { summary: 'S', throughLogId: copies[0].id })
    await db.deleteLogs(at.session.id)
    expect((await db.getSessionWithAgent(at.session.id))?.checkpoint).toBeNull()
  })

  it('is set in a batch through the entry written before it', async () => {
    const [log, checkpoint] = await db.batch([
      { op: 'addLog', input: message('the answer') },
      { op: 'setCheckpoint', sessionId: session.id, checkpoint: { summary: 'Answered.', throughLogId: { ref: 0 } } },
    ])
    expect(checkpoint.throughLogId).toBe(log.id)
    expect((await db.getSessionWithAgent(session.id))?.checkpoint).toEqual(checkpoint)
  })
})
