// Values as app code holds them: an SDK's message objects with properties left `undefined`,
// arrays with `undefined` elements, Errors with causes, and rows read back spread into the
// next write. `undefined` on a call's own fields means absent; inside a JSON value it is
// what JSON.stringify makes of it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Agent, Database, Session, SessionLog } from '../../index.js'
import { expectCode, memoryDb, snapshot } from './helpers'

/** An SDK's assistant message: an interface, whose optional properties the SDK sets to `undefined`. */
interface AssistantMessage {
  id: string
  role: 'assistant'
  content: Array<{ type: 'text'; text: string; citations?: string[] | undefined }>
  model: string
  stop_reason: 'end_turn' | 'max_tokens' | null
  stop_sequence?: string | null | undefined
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number | undefined }
}

const sdkMessage = (text = 'Hello'): AssistantMessage => ({
  id: 'msg_1',
  role: 'assistant',
  content: [{ type: 'text', text, citations: undefined }],
  model: 'claude',
  stop_reason: 'end_turn',
  stop_sequence: undefined,
  usage: { input_tokens: 3, output_tokens: 1, cache_read_input_tokens: undefined },
})

/** `sdkMessage(text)` as stored: JSON.stringify leaves the `undefined` properties out. */
const storedMessage = (text = 'Hello') => ({
  id: 'msg_1',
  role: 'assistant',
  content: [{ type: 'text', text }],
  model: 'claude',
  stop_reason: 'end_turn',
  usage: { input_tokens: 3, output_tokens: 1 },
})

/** An SDK's error class: a name, an own enumerable `status`, a cause. */
class ApiError extends Error {
  status = 429
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ApiError'
  }
}

const apiError = () => new ApiError('rate limited', { cause: new TypeError('fetch failed', { cause: { code: 'ECONNRESET', errno: undefined } }) })
const storedApiError = {
  name: 'ApiError',
  message: 'rate limited',
  status: 429,
  cause: { name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNRESET' } },
}

let db: Database
let agent: Agent
let session: Session
beforeEach(async () => {
  db = await memoryDb()
  agent = await db.createAgent({ id: 'agent', name: 'A', model: 'm', configuration: { temperature: 1 } })
  session = await db.createSession({ id: 'session', mainAgentId: agent.id })
})
afterEach(async () => {
  await db.close()
})

const log = (fields: Record<string, unknown>) =>
  ({ sessionId: session.id, role: 'agent', type: 'message', content: 'x', ...fields }) as Parameters<Database['addLog']>[0]

describe('undefined', () => {
  it('addLog: an SDK message with undefined properties, and undefined top-level fields, are stored as JSON.stringify has them', async () => {
    const stored = await db.addLog(log({ content: sdkMessage(), metadata: undefined, parentId: undefined }))
    expect(stored.content).toEqual(storedMessage())
    expect(stored.metadata).toBeNull()
    expect(stored.parentId).toBeNull()
    const listed = await db.addLog(log({ content: [1, undefined, 3], metadata: { a: undefined, list: [undefined], keep: 0 } }))
    expect([listed.content, listed.metadata]).toStrictEqual([[1, null, 3], { list: [null], keep: 0 }])
    expect((await db.getLog(listed.id))?.content).toStrictEqual([1, null, 3])
  })

  it('addLogs: every entry as addLog has it', async () => {
    const [first, second] = await db.addLogs([
      log({ content: sdkMessage(), metadata: undefined }),
      log({ content: { stop_sequence: undefined, n: 1 }, metadata: { usage: sdkMessage().usage } }),
    ])
    expect([first.content, first.metadata]).toEqual([storedMessage(), null])
    expect([second.content, second.metadata]).toEqual([{ n: 1 }, { usage: { input_tokens: 3, output_tokens: 1 } }])
  })

  it('updateLog: an undefined field is left unchanged, null clears it', async () => {
    const original = await db.addLog(log({ content: 'Hel', metadata: { tokens: 1 } }))
    const streamed = await db.updateLog(original.id, { content: sdkMessage('Hello'), metadata: undefined, role: undefined })
    expect(streamed).toEqual({ ...original, content: storedMessage('Hello'), updatedAt: streamed.updatedAt })
    const cleared = await db.updateLog(original.id, { metadata: null, content: undefined })
    expect([cleared.content, cleared.metadata]).toEqual([storedMessage('Hello'), null])
  })

  it('createAgent and updateAgent: undefined fields are absent, undefined inside configuration is left out', async () => {
    const created = await db.createAgent({ name: 'B', model: 'm', description: undefined, configuration: undefined, maxSteps: undefined })
    expect([created.configuration, created.description, created.maxSteps]).toEqual([{}, null, 10])
    const configured = await db.createAgent({ name: 'C', model: 'm', configuration: { a: undefined, b: 1, list: [undefined, 2] } })
    expect(configured.configuration).toStrictEqual({ b: 1, list: [null, 2] })
    const unchanged = await db.updateAgent(agent.id, { configuration: undefined, planModel: undefined, name: 'A2' })
    expect(unchanged.configuration).toEqual({ temperature: 1 })
    const changed = await db.updateAgent(agent.id, { configuration: { temperature: undefined, topP: 0.9 } })
    expect(changed.configuration).toStrictEqual({ topP: 0.9 })
  })

  it('createSession and updateSession: an undefined override inherits, undefined inside configuration is left out', async () => {
    const inheriting = await db.createSession({ mainAgentId: agent.id, configuration: undefined, model: undefined, name: undefined })
    expect([inheriting.configuration, inheriting.model, inheriting.name]).toEqual([null, null, null])
    const overriding = await db.createSession({ mainAgentId: agent.id, configuration: { temperature: undefined, seed: 7 } })
    expect(overriding.configuration).toStrictEqual({ seed: 7 })
    const updated = await db.updateSession(overriding.id, { configuration: undefined, userGoal: 'g' })
    expect([updated.configuration, updated.userGoal]).toEqual([{ seed: 7 }, 'g'])
  })

  it('batch: every operation reads undefined as its method does, execute parameters included', async () => {
    const before = await db.addLog(log({ content: 'draft', metadata: { keep: true } }))
    const [created, added, updated, executed] = await db.batch([
      { op: 'createSession', input: { id: 'batch', mainAgentId: agent.id, configuration: undefined, name: undefined } },
      { op: 'addLog', input: log({ sessionId: 'batch', content: sdkMessage(), metadata: undefined }) },
      { op: 'updateLog', id: before.id, patch: { content: [1, undefined, 3], metadata: undefined } },
      { op: 'execute', sql: 'UPDATE agents SET description = ?, avatar = ? WHERE id = ?', params: [undefined, 'a.png', agent.id] },
    ])
    expect((created as Session).configuration).toBeNull()
    expect([(added as SessionLog).content, (added as SessionLog).metadata]).toEqual([storedMessage(), null])
    expect([(updated as SessionLog).content, (updated as SessionLog).metadata]).toStrictEqual([[1, null, 3], { keep: true }])
    expect(executed).toMatchObject({ changes: 1 })
    expect(await db.getAgent(agent.id)).toMatchObject({ description: null, avatar: 'a.png' })
    const [named] = await db.batch([{ op: 'updateAgent', id: agent.id, patch: { configuration: { a: [undefined], b: undefined } } }])
    expect((named as Agent).configuration).toStrictEqual({ a: [null] })
  })

  it('query and execute bind an undefined positional parameter as NULL, as batch does; an undefined named one is missing', async () => {
    expect(await db.query('SELECT ? AS a, ? AS b', [undefined, 2])).toEqual([{ a: null, b: 2 }])
    expect(await db.execute('UPDATE agents SET description = ? WHERE id = ?', [undefined, agent.id])).toMatchObject({ changes: 1 })
    await expectCode(db.execute('UPDATE agents SET description = :d WHERE id = :id', { d: undefined, id: agent.id }), 'INVALID_ARGUMENT', ':d')
    await expectCode(db.query('SELECT :a AS a', { a: undefined }), 'INVALID_ARGUMENT', ':a')
  })

  it('still refuses what JSON would lose or mangle, naming it', async () => {
    const before = await snapshot(db)
    await expectCode(db.addLog(log({ content: { ...sdkMessage(), toString: () => 'x' } })), 'INVALID_ARGUMENT', 'input.content.toString')
    await expectCode(db.addLog(log({ content: sdkMessage(), metadata: { tag: Symbol('t') } })), 'INVALID_ARGUMENT', 'input.metadata.tag')
    await expectCode(db.addLogs([log({}), log({ content: [1, Number.NaN] })]), 'INVALID_ARGUMENT', 'inputs[1].content[1]')
    await expectCode(db.createAgent({ name: 'n', model: 'm', configuration: { big: 1n } as never }), 'INVALID_ARGUMENT', 'input.configuration.big')
    await expectCode(db.batch([{ op: 'addLog', input: log({ content: new Map() }) }]), 'INVALID_ARGUMENT', 'operations[0].input.content')
    expect(await snapshot(db)).toBe(before)
  })
})

describe('Errors in JSON values', () => {
  it('are stored as plain objects: name, message, own enumerable properties and the cause, recursively; no stack', async () => {
    const stored = await db.addLog(log({ type: 'observation', content: apiError(), metadata: { error: new RangeError('too far') } }))
    expect(stored.content).toStrictEqual(storedApiError)
    expect(stored.metadata).toStrictEqual({ error: { name: 'RangeError', message: 'too far' } })
    expect(JSON.stringify(stored)).not.toContain('stack')
    const [agentRow] = await db.batch([{ op: 'updateAgent', id: agent.id, patch: { configuration: { lastError: apiError() } } }])
    expect((agentRow as Agent).configuration).toStrictEqual({ lastError: storedApiError })
    const aggregate = await db.addLog(log({ content: new AggregateError([new Error('one')], 'all failed') }))
    expect(aggregate.content).toStrictEqual({ name: 'AggregateError', message: 'all failed', errors: [{ name: 'Error', message: 'one' }] })
  })

  it('refuse a cause that leads back to the error, as any cycle', async () => {
    const looped = new Error('loop')
    looped.cause = looped
    await expectCode(db.addLog(log({ content: looped })), 'INVALID_ARGUMENT', 'cycle')
    await expectCode(db.addLog(log({ content: new Error('bad cause', { cause: () => 1 }) })), 'INVALID_ARGUMENT', 'input.content.cause')
  })
})

describe('a row read back, spread into the next write', () => {
  it('updates: the row’s own id, createdAt and updatedAt are accepted and ignored, the given fields change', async () => {
    const renamed = await db.updateSession(session.id, { ...session, name: 'renamed' })
    expect(renamed).toEqual({ ...session, name: 'renamed', updatedAt: renamed.updatedAt })
    expect(renamed.createdAt).toBe(session.createdAt)
    const described = await db.updateAgent(agent.id, { ...agent, description: 'reviews' })
    expect(described).toEqual({ ...agent, description: 'reviews', updatedAt: described.updatedAt })
    const entry = await db.addLog(log({ content: 'Hel' }))
    const streamed = await db.updateLog(entry.id, { ...entry, content: 'Hello' })
    expect(streamed).toEqual({ ...entry, content: 'Hello', updatedAt: streamed.updatedAt })
    const [batched] = await db.batch([{ op: 'updateSession', id: session.id, patch: { ...renamed, status: 'completed' } }])
    expect(batched).toMatchObject({ id: session.id, name: 'renamed', status: 'completed' })
  })

  it('creates: a row exported from one database is created in another with its id; createdAt and updatedAt are the new row’s', async () => {
    const exportedAgent = (await db.getAgent(agent.id))!
    const exportedSession = (await db.getSession(session.id))!
    const copy = await memoryDb()
    try {
      const imported = await copy.createAgent({ ...exportedAgent })
      expect(imported).toEqual({ ...exportedAgent, createdAt: imported.createdAt, updatedAt: imported.updatedAt })
      const importedSession = await copy.createSession({ ...exportedSession })
      expect(importedSession).toEqual({
        ...exportedSession,
        createdAt: importedSession.createdAt,
        updatedAt: importedSession.updatedAt,
        lastActivityAt: importedSession.createdAt,
      })
      await expectCode(copy.createAgent({ ...exportedAgent }), 'ALREADY_EXISTS')
    } finally {
      await copy.close()
    }
  })

  it('refuses another row’s id, a move to another session or parent, and timestamps that are not strings', async () => {
    const other = await db.createAgent({ id: 'other', name: 'O', model: 'm' })
    const entry = await db.addLog(log({ content: 'a' }))
    const reply = await db.addLog(log({ content: 'b', parentId: entry.id }))
    const elsewhere = await db.createSession({ id: 'elsewhere', mainAgentId: agent.id })
    const before = await snapshot(db)
    await expectCode(db.updateAgent(agent.id, { ...other, name: 'x' }), 'INVALID_ARGUMENT', 'patch.id')
    await expectCode(db.updateSession(session.id, { ...elsewhere }), 'INVALID_ARGUMENT', 'patch.id')
    await expectCode(db.updateLog(entry.id, { ...reply }), 'INVALID_ARGUMENT', 'patch.id')
    await expectCode(db.updateLog(reply.id, { ...reply, sessionId: elsewhere.id }), 'INVALID_ARGUMENT', 'patch.sessionId')
    await expectCode(db.updateLog(reply.id, { ...reply, parentId: null }), 'INVALID_ARGUMENT', 'patch.parentId')
    await expectCode(db.updateLog(entry.id, { ...entry, parentId: reply.id }), 'INVALID_ARGUMENT', 'patch.parentId')
    await expectCode(db.createAgent({ name: 'n', model: 'm', createdAt: 5 } as never), 'INVALID_ARGUMENT', 'input.createdAt')
    await expectCode(db.updateSession(session.id, { updatedAt: {} } as never), 'INVALID_ARGUMENT', 'patch.updatedAt')
    await expectCode(db.batch([{ op: 'updateLog', id: reply.id, patch: { ...reply, sessionId: elsewhere.id } }]), 'INVALID_ARGUMENT', 'operations[0]: patch.sessionId')
    expect(await snapshot(db)).toBe(before)
  })
})
