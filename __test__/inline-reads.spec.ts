import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import { Database, rejection, tempDir } from './support'

const TEXT = 'a log line long enough that a thousand of them take a while to read back '.repeat(8)

describe('inlineReads', () => {
  let dir: ReturnType<typeof tempDir>
  beforeEach(() => {
    dir = tempDir('inline-reads')
  })
  afterEach(() => dir.remove())

  async function seeded(logs: number) {
    const db = await Database.open(dir.file('a.db'))
    await db.migrate()
    const agent = await db.createAgent({ name: 'a', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id, name: 's' })
    for (let i = 0; i < logs; i += 1000) {
      const n = Math.min(1000, logs - i)
      await db.addLogs(Array.from({ length: n }, (_, k) => ({ sessionId: session.id, role: 'user' as const, type: 'message' as const, content: { text: TEXT, step: i + k } })))
    }
    await db.close()
    return { agentId: agent.id, sessionId: session.id }
  }

  test('the short reads resolve with what they resolve with on a reader', async () => {
    const { agentId, sessionId } = await seeded(60)
    const read = async (db: Database) => {
      const latest = await db.getLatestLogs(sessionId, { limit: 50 })
      return [
        await db.getSessionWithAgent(sessionId),
        await db.getSession(sessionId),
        await db.getSession('missing'),
        await db.getAgent(agentId),
        await db.agentExists(agentId),
        await db.countAgents(),
        await db.listAgents(),
        await db.listSessions(),
        await db.countSessions(),
        latest,
        await db.getLog(latest.items[0].id),
        await db.getLogs(sessionId, { limit: 20 }),
        await db.countLogs(sessionId),
      ]
    }
    const plain = await Database.open(dir.file('a.db'))
    const expected = await read(plain)
    await plain.close()
    const inline = await Database.open(dir.file('a.db'), { inlineReads: true })
    expect(await read(inline)).toEqual(expected)
    await inline.close()
  })

  test('a read that runs past the budget still resolves with every row', { timeout: 60_000 }, async () => {
    const { sessionId } = await seeded(3000)
    const plain = await Database.open(dir.file('a.db'))
    const expected = await plain.getLogs(sessionId, { limit: 1000 })
    await plain.close()
    const inline = await Database.open(dir.file('a.db'), { inlineReads: true })
    const page = await inline.getLogs(sessionId, { limit: 1000 })
    expect(page).toEqual(expected)
    expect(page.items).toHaveLength(1000)
    await inline.close()
  })

  test('a read sees every write whose Promise settled before it', async () => {
    const { sessionId } = await seeded(0)
    const db = await Database.open(dir.file('a.db'), { inlineReads: true })
    for (let i = 1; i <= 50; i++) {
      const log = await db.addLog({ sessionId, role: 'user', type: 'message', content: { i } })
      expect(await db.countLogs(sessionId)).toBe(i)
      expect((await db.getLog(log.id))?.content).toEqual({ i })
      await db.updateSession(sessionId, { name: `name ${i}` })
      expect((await db.getSessionWithAgent(sessionId))?.session.name).toBe(`name ${i}`)
    }
    await db.close()
  })

  test('close() closes the inline connection too; later reads reject', async () => {
    const { sessionId } = await seeded(5)
    const db = await Database.open(dir.file('a.db'), { inlineReads: true })
    expect(await db.countLogs(sessionId)).toBe(5)
    const closing = db.close()
    expect((await rejection(db.getSession(sessionId))).code).toBe('DATABASE_CLOSED')
    expect((await closing).checkpointed).toBe(true)
    expect((await rejection(db.countLogs(sessionId))).code).toBe('DATABASE_CLOSED')
    // Every handle was released: the file opens again, with the option or without.
    const again = await Database.open(dir.file('a.db'), { inlineReads: true })
    expect(await again.countLogs(sessionId)).toBe(5)
    await again.close()
  })

  test('is refused for an in-memory database and when not a boolean', async () => {
    expect((await rejection(Database.open(':memory:', { inlineReads: true }))).code).toBe('INVALID_ARGUMENT')
    // @ts-expect-error the option is a boolean
    expect((await rejection(Database.open(dir.file('b.db'), { inlineReads: 'yes' }))).code).toBe('INVALID_ARGUMENT')
  })
})
