// Large calls (1000-row writes, 1000-row pages) hold the JavaScript thread in short steps,
// each in its own turn of the event loop, and still resolve with the same values, in order.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import { Database } from './support'

const TEXT = 'Reviewed the authentication module: the session token is compared in constant time and refreshed on every request.'

function entry(i: number, sessionId: string) {
  return {
    sessionId,
    role: 'user' as const,
    type: 'message',
    content: { text: TEXT, step: i, tokens: { input: 100 + (i % 900), output: 20 + (i % 300) }, files: ['src/a.ts', 'src/b.ts'] },
    ...(i % 2 === 1 ? { metadata: { model: 'm', latencyMs: i % 5000 } } : {}),
  }
}

/** Holds the JavaScript thread (so the database thread finishes the work meanwhile). */
function hold(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** The next turn of the event loop: what follows runs inside a `setImmediate` callback. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * What happens first once `call` has finished on the database thread: the Promise settling,
 * or a `setImmediate` callback queued after it finished.
 */
async function firstAfterFinish(call: () => Promise<unknown>): Promise<string[]> {
  await nextTurn()
  const order: string[] = []
  const settled = call().then(
    () => order.push('settled'),
    () => order.push('settled'),
  )
  hold(500)
  setImmediate(() => order.push('immediate'))
  await settled
  return order
}

let db: Database
let sessionId: string

beforeEach(async () => {
  db = await Database.open(':memory:')
  await db.migrate()
  const agent = await db.createAgent({ type: 'claudeCode', name: 'a', model: 'm' })
  sessionId = (await db.createSession({ name: 's', mainAgentId: agent.id, model: 'm' })).id
})

afterEach(async () => {
  if (!db.closed) await db.close()
})

const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => entry(from + i, sessionId))

describe('a large result', () => {
  it('lets a callback queued before it is built run before its Promise settles (addLogs)', async () => {
    expect(await firstAfterFinish(() => db.addLogs(rows(1000)))).toEqual(['immediate', 'settled'])
  })

  it('lets a callback queued before it is built run before its Promise settles (getLogs, getLatestLogs)', async () => {
    await db.addLogs(rows(1000))
    expect(await firstAfterFinish(() => db.getLogs(sessionId, { limit: 1000 }))).toEqual(['immediate', 'settled'])
    expect(await firstAfterFinish(() => db.getLatestLogs(sessionId, 1000))).toEqual(['immediate', 'settled'])
  })

  it('equals the same rows read in small pages', async () => {
    const written = await db.addLogs(rows(1000))
    const page = await db.getLogs(sessionId, { limit: 1000 })
    const small: unknown[] = []
    for (let offset = 0; offset < 1000; offset += 50) small.push(...(await db.getLogs(sessionId, { limit: 50, offset })).items)
    expect(page.items).toEqual(small)
    expect(page.items).toEqual(written)
    const { items, ...rest } = page
    const { items: smallItems, ...smallRest } = await db.getLogs(sessionId, { limit: 10 })
    expect(smallItems).toHaveLength(10)
    expect(Object.keys(rest).sort()).toEqual(Object.keys(smallRest).sort())
    const latest = await db.getLatestLogs(sessionId, 1000)
    expect(latest.items).toEqual(written)
  })

  it('settles before the calls that finished after it, and after those that finished before', async () => {
    await db.addLogs(rows(1000))
    await nextTurn()
    const order: string[] = []
    const small = db.countLogs(sessionId).then(() => order.push('count before'))
    hold(200)
    const big = db.getLogs(sessionId, { limit: 1000 }).then(() => order.push('page'))
    hold(500)
    const after = db.countLogs(sessionId).then(() => order.push('count after'))
    const write = db.addLog(entry(0, sessionId)).then(() => order.push('write after'))
    await Promise.all([small, big, after, write])
    expect(order).toEqual(['count before', 'page', 'count after', 'write after'])
  })

  it('delivers change events queued before its settlement first', async () => {
    const seen: string[] = []
    const unwatch = db.watch(() => seen.push('event'))
    try {
      await db.addLogs(rows(1000)).then(() => seen.push('settled'))
      expect(seen[0]).toBe('event')
      expect(seen.at(-1)).toBe('settled')
    } finally {
      unwatch()
    }
  })

  it('resolves a result already made when the database is closed while it is built', async () => {
    await db.addLogs(rows(1000))
    await nextTurn()
    const page = db.getLogs(sessionId, { limit: 1000 })
    hold(500)
    const closing = db.close()
    expect((await page).items).toHaveLength(1000)
    await expect(closing).resolves.toHaveProperty('checkpointed')
  })
})
