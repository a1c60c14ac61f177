// maxLogBytes: every write that would leave a log larger than the limit is refused with
// LOG_TOO_LARGE naming the limit and the size, and writes nothing; writes up to the limit go in.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { expectCode, rejection, snapshot } from './helpers'

const LIMIT = 1000
let db: Database
let sessionId: string
beforeEach(async () => {
  db = await Database.open(':memory:', { maxLogBytes: LIMIT })
  await db.migrate()
  const agent = await db.createAgent({ name: 'A', model: 'm' })
  sessionId = (await db.createSession({ mainAgentId: agent.id })).id
})
afterEach(async () => {
  await db.close()
})

/** A string whose JSON text (quotes included) is `n` bytes. */
const text = (n: number) => 'x'.repeat(n - 2)

describe('maxLogBytes', () => {
  it('takes a log of exactly the limit, content and metadata together', async () => {
    const log = await db.addLog({ sessionId, role: 'user', type: 'message', content: text(600), metadata: text(400) })
    expect(log.content).toBe(text(600))
  })

  it('refuses every write that would go past it, naming the limit and the size, and writes nothing', async () => {
    const entry = await db.addLog({ sessionId, role: 'agent', type: 'message', content: { text: '' }, status: 'streaming' })
    const before = await snapshot(db)
    const err = await rejection(db.addLog({ sessionId, role: 'user', type: 'message', content: text(LIMIT + 1) }))
    expect(err.code).toBe('LOG_TOO_LARGE')
    expect(err.message).toContain(`${LIMIT + 1} bytes`)
    expect(err.message).toContain(`maxLogBytes (${LIMIT})`)
    await expectCode(db.addLog({ sessionId, role: 'user', type: 'message', content: text(600), metadata: text(401) }), 'LOG_TOO_LARGE')
    await expectCode(
      db.addLogs([
        { sessionId, role: 'user', type: 'message', content: 'fine' },
        { sessionId, role: 'user', type: 'message', content: text(2000) },
      ]),
      'LOG_TOO_LARGE',
      'logs[1]',
    )
    await expectCode(db.updateLog(entry.id, { metadata: text(2000) }), 'LOG_TOO_LARGE')
    await expectCode(db.appendLogText(entry.id, { path: '$.text', delta: text(LIMIT) }), 'LOG_TOO_LARGE')
    await expectCode(db.finishLog(entry.id, { status: 'complete', content: text(LIMIT * 2) }), 'LOG_TOO_LARGE')
    await expectCode(
      db.batch([
        { op: 'addLog', input: { sessionId, role: 'user', type: 'message', content: 'fine' } },
        { op: 'appendLogText', id: entry.id, options: { path: '$.text', delta: text(LIMIT) } },
      ]),
      'LOG_TOO_LARGE',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    // Appending up to the limit goes on working.
    expect((await db.appendLogText(entry.id, { path: '$.text', delta: 'more' })).id).toBe(entry.id)
  })

  it('is refused when it is not a whole number of at least 1', async () => {
    for (const maxLogBytes of [0, -1, 1.5, '1000']) {
      await expectCode(Database.open(':memory:', { maxLogBytes } as never), 'INVALID_ARGUMENT', 'options.maxLogBytes')
    }
  })
})
