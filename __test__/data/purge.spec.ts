// purge through the addon: refused without a criterion, a dry run that counts what the run
// removes, app writes that go on while a large purge runs, and a purge killed midway that
// leaves every session whole or gone and the search index exact.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child } from '../reliability/helpers'
import { counts, expectCode, fileDb, removeTempDirs, snapshot } from './helpers'

const CHILD = join(__dirname, '..', 'children', 'purge-then-die.cjs')
const FAR = '9999-01-01T00:00:00.000Z'

let db: Database
afterEach(async () => {
  await db?.close()
  removeTempDirs()
})

/** An agent with `sessions` sessions of `logs` logs each, every log holding "needle". */
async function seed(sessions: number, logs: number) {
  const agent = await db.createAgent({ name: 'A', model: 'm' })
  const ids: string[] = []
  for (let i = 0; i < sessions; i += 100) {
    const operations = []
    for (let j = i; j < Math.min(sessions, i + 100); j++) {
      operations.push({ op: 'createSession' as const, input: { mainAgentId: agent.id } })
      const ref = { ref: operations.length - 1 }
      for (let k = 0; k < logs; k++) {
        operations.push({ op: 'addLog' as const, input: { sessionId: ref, role: 'user' as const, type: 'message' as const, content: `needle ${j}.${k}` } })
      }
    }
    const results = await db.batch(operations)
    for (const r of results) if (typeof r === 'object' && r !== null && 'mainAgentId' in r) ids.push(r.id)
  }
  return { agent, ids }
}

describe('purge', () => {
  it('refuses a call with no criterion and writes nothing', async () => {
    db = await fileDb()
    await seed(3, 2)
    const before = await snapshot(db)
    await expectCode(db.purge({}), 'INVALID_ARGUMENT', 'nothing is purged by default')
    await expectCode(db.purge({ dryRun: true }), 'INVALID_ARGUMENT')
    expect(await snapshot(db)).toBe(before)
  })

  it('removes what its dry run counted, while app writes go on', async () => {
    db = await fileDb()
    const { agent, ids } = await seed(450, 4)
    const live = await db.createSession({ mainAgentId: agent.id })
    const options = { sessionIds: ids }
    const dry = await db.purge({ ...options, dryRun: true })
    expect(dry).toMatchObject({ dryRun: true, sessions: 450, logs: 1800, chunks: 0 })
    expect(dry.bytes).toBeGreaterThan(0)
    const purging = db.purge(options)
    // Writes queued while it runs complete (interleaved between its chunks).
    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) => db.addLog({ sessionId: live.id, role: 'user', type: 'message', content: `live ${i}` })),
    )
    const done = await purging
    expect({ ...done, dryRun: true, chunks: 0 }).toEqual(dry)
    expect(done.chunks).toBeGreaterThan(1)
    expect(appended).toHaveLength(20)
    expect((await db.listSessions()).items.map((s) => s.id)).toEqual([live.id])
    expect((await db.searchLogs('needle')).items).toEqual([])
    expect((await db.integrityCheck()).ok).toBe(true)
  })

  it('killed midway leaves every session whole or gone and the search index exact', { timeout: 120_000 }, async () => {
    db = await fileDb()
    const sessions = 1500
    const logs = 4
    await seed(sessions, logs)
    const path = db.path
    await db.close()
    const child = new Child(CHILD, [path])
    const { signal } = await child.exited
    expect(signal, `${child.stderr} ${JSON.stringify(child.messages)}`).toBe('SIGKILL')

    db = await Database.open(path)
    const left = await db.countSessions()
    expect(left).toBeGreaterThan(0)
    expect(left).toBeLessThan(sessions)
    const partial = await db.query(
      'SELECT s.id FROM sessions s WHERE (SELECT count(*) FROM session_logs l WHERE l.session_id = s.id) <> ?',
      [logs],
    )
    expect(partial).toEqual([])
    expect(await counts(db)).toMatchObject({ sessions: left, logs: left * logs, orphans: 0 })
    const report = await db.integrityCheck({ full: true })
    expect(report.ok).toBe(true)
    expect(report.searchIndexErrors).toEqual([])
    expect((await db.searchLogs('needle', { limit: 1000 })).items.length).toBe(Math.min(1000, left * logs))
    // Running it again finishes the work.
    expect(await db.purge({ olderThan: FAR })).toMatchObject({ sessions: left, logs: left * logs })
    expect(await db.countSessions()).toBe(0)
  })
})
