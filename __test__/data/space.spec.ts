// Space through the addon: a new file hands freed pages back with compact, stats names the
// session (and the log) that takes the room, and compact rewrites on request.
import { statSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'

import type { Database } from '../../index.js'
import { fileDb, memoryDb, removeTempDirs, snapshot } from './helpers'

let db: Database
afterEach(async () => {
  await db.close()
  removeTempDirs()
})

describe('stats and compact', () => {
  it('stats names the largest session and its largest log; purge then compact gives the room back', async () => {
    db = await fileDb()
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const small = await db.createSession({ mainAgentId: agent.id })
    await db.addLog({ sessionId: small.id, role: 'user', type: 'message', content: 'hi' })
    const big = await db.createSession({ mainAgentId: agent.id })
    const blob = 'x'.repeat(200_000)
    let largest = 0
    for (let i = 0; i < 20; i++) {
      const entry = await db.addLog({ sessionId: big.id, role: 'tool', type: 'observation', content: { out: blob.slice(0, 10_000 * (i + 1)) } })
      largest = entry.id
    }
    const stats = await db.stats()
    expect(stats.autoVacuum).toBe('incremental')
    expect(stats.largestSessions.map((s) => s.sessionId)).toEqual([big.id, small.id])
    expect(stats.largestSessions[0]).toMatchObject({ logs: 20, largestLogId: largest })
    expect(stats.largestSessions[0].bytes).toBeGreaterThan(2_000_000)
    expect(stats.tables.find((t) => t.table === 'session_logs')?.rows).toBe(21)

    await db.purge({ sessionIds: [big.id] })
    await db.checkpoint()
    expect((await db.stats()).freePages).toBeGreaterThan(400)
    const before = statSync(db.path).size
    const compacted = await db.compact()
    expect(compacted).toMatchObject({ mode: 'incremental', checkpointed: true })
    expect(compacted.bytesBefore).toBe(before)
    expect(compacted.bytesAfter).toBe(statSync(db.path).size)
    expect(compacted.bytesAfter).toBeLessThan(before / 4)
    expect((await db.stats()).freePages).toBe(0)
    expect((await db.integrityCheck({ full: true })).ok).toBe(true)
  })

  it('compact({ full: true }) rewrites the file and keeps every row', async () => {
    db = await memoryDb()
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    await db.createSession({ mainAgentId: agent.id })
    const before = await snapshot(db)
    expect((await db.compact({ full: true })).mode).toBe('full')
    expect(await snapshot(db)).toBe(before)
  })
})
