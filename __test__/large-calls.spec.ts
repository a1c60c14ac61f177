// Large calls (1000-row writes, 1000-row pages) hold the JavaScript thread in short steps,
// each in its own turn of the event loop, and still resolve with the same values, in order.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import { Database, rejection, tempDir } from './support'

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

describe('a long list input', () => {
  it('is encoded across turns of the event loop: a callback queued after the call runs first', async () => {
    await nextTurn()
    const order: string[] = []
    const inputs = rows(2000)
    const last = inputs[1999]
    Object.defineProperty(inputs, 1999, {
      enumerable: true,
      get: () => {
        order.push('read last')
        return last
      },
    })
    const written = db.addLogs(inputs)
    setImmediate(() => order.push('immediate'))
    expect(await written).toHaveLength(2000)
    expect(order[0]).toBe('immediate')
    expect(order).toContain('read last')
  })

  it('refuses a bad entry in a late slice, naming its index, and writes nothing', async () => {
    const inputs: unknown[] = rows(1500)
    inputs[1400] = { ...entry(1400, sessionId), content: { tokens: Number.NaN } }
    const err = await rejection(db.addLogs(inputs as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('inputs[1400].content.tokens')
    inputs[1400] = { ...entry(1400, sessionId), role: 'nobody' }
    const late = await rejection(db.addLogs(inputs as never))
    expect(late.code).toBe('INVALID_ARGUMENT')
    expect(late.message).toContain('inputs[1400]')
    expect(await db.countLogs(sessionId)).toBe(0)
  })

  it('is written with the same values as the same entries written a few at a time', async () => {
    const inputs = rows(300)
    const many = await db.addLogs(inputs)
    const few: unknown[] = []
    for (let i = 0; i < 300; i += 30) few.push(...(await db.addLogs(inputs.slice(i, i + 30))))
    const strip = (logs: unknown[]) => logs.map((log) => ({ ...(log as object), id: 0, createdAt: '', updatedAt: '' }))
    expect(strip(many)).toEqual(strip(few))
  })

  it('keeps the writes called after it behind it', async () => {
    const batch = db.addLogs(rows(1000))
    const one = db.addLog(entry(5000, sessionId))
    const ops = db.batch([{ op: 'addLog', input: entry(5001, sessionId) }])
    const [logs, log, [other]] = await Promise.all([batch, one, ops])
    expect(log.id).toBeGreaterThan(logs[999].id)
    expect(other.id).toBeGreaterThan(log.id)
  })

  it('is written, with the writes behind it, before a close() called meanwhile closes the database', async () => {
    const tmp = tempDir('close-while-encoding')
    try {
      const file = tmp.file('agents.db')
      const own = await Database.open(file)
      await own.migrate()
      const agent = await own.createAgent({ type: 'claudeCode', name: 'a', model: 'm' })
      const id = (await own.createSession({ name: 's', mainAgentId: agent.id, model: 'm' })).id
      const list = Array.from({ length: 2000 }, (_, i) => entry(i, id))
      const batch = own.addLogs(list, { returning: 'ids' })
      const behind = own.addLog(entry(0, id))
      const closing = own.close()
      expect(own.closed).toBe(true)
      expect((await rejection(own.countLogs(id))).code).toBe('DATABASE_CLOSED')
      expect((await rejection(own.addLogs(list.slice(0, 100)))).code).toBe('DATABASE_CLOSED')
      expect(await batch).toHaveLength(2000)
      expect((await behind).sessionId).toBe(id)
      await closing
      const reopened = await Database.open(file)
      try {
        expect(await reopened.countLogs(id)).toBe(2001)
      } finally {
        await reopened.close()
      }
    } finally {
      tmp.remove()
    }
  })

  it('takes the one-step path when short, with the same refusals', async () => {
    const err = await rejection(db.addLogs([entry(0, sessionId), { ...entry(1, sessionId), content: () => 1 }] as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('inputs[1].content')
  })
})

describe("addLogs with returning: 'ids'", () => {
  it('resolves with the ids of the entries written, in order, short or long', async () => {
    for (const n of [3, 1000]) {
      const ids = await db.addLogs(rows(n), { returning: 'ids' })
      expect(ids).toHaveLength(n)
      const page = await db.getLogs(sessionId, { limit: n, order: 'desc' })
      expect(page.items.map((log) => log.id).reverse()).toEqual(ids)
    }
    expect(await db.addLogs(rows(2), { returning: 'rows' })).toEqual((await db.getLogs(sessionId, { limit: 2, order: 'desc' })).items.reverse())
  })

  it('refuses another value, and writes nothing', async () => {
    const err = await rejection(db.addLogs(rows(2), { returning: 'all' } as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('options.returning')
    expect(await db.countLogs(sessionId)).toBe(0)
  })
})

describe('a long batch', () => {
  it('is encoded in slices with the same results, references across slices included', async () => {
    const operations = [
      { op: 'addLog' as const, input: entry(0, sessionId) },
      ...rows(199, 1).map((input) => ({ op: 'addLog' as const, input: { ...input, parentId: { ref: 0 } } })),
    ]
    const results = await db.batch(operations)
    expect(results).toHaveLength(200)
    expect(results.slice(1).every((log) => log.parentId === results[0].id)).toBe(true)
  })

  it('refuses a bad operation in a late slice, naming it, and runs none', async () => {
    const operations: unknown[] = rows(200).map((input) => ({ op: 'addLog', input }))
    operations[190] = { op: 'addLog', input: { ...entry(190, sessionId), content: { n: Number.POSITIVE_INFINITY } } }
    const err = await rejection(db.batch(operations as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('operations[190].input.content.n')
    expect(await db.countLogs(sessionId)).toBe(0)
  })
})
