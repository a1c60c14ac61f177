// Crash during writes: a child appends logs (single, batched, and in sessions it deletes
// again) and reports every append it saw resolved; the parent SIGKILLs it at random moments,
// many times, on the same file. Every append the child saw resolved must be in the file,
// every batch must be whole or absent, and no log may be left without its session or parent.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, FIXTURES, figure, removeTempDirs, seeded, sleep, tempDir } from './helpers'

afterAll(removeTempDirs)

const KILLS = Number(process.env.RELIABILITY_WRITE_KILLS ?? 30)
const SCRIPT = join(FIXTURES, 'append-logs.js')

describe('crash during writes', () => {
  it(`loses nothing that resolved across ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const file = join(tempDir('crash-writes'), 'logs.db')
    const setup = await Database.open(file)
    await setup.migrate()
    const agent = await setup.createAgent({ name: 'writer', model: 'm' })
    const session = await setup.createSession({ mainAgentId: agent.id })
    await setup.close()

    const random = seeded(0x5eed_0002)
    const acked = new Map<number, number | undefined>() // log id -> seq (single appends)
    const deletedSessions: string[] = []
    let lost = 0

    for (let round = 0; round < KILLS; round++) {
      const child = new Child(SCRIPT, [file, session.id, `w${round}`, '8'])
      await child.waitFor('ready')
      await sleep(50 + random() * 600)
      child.kill()
      const { signal } = await child.exited
      expect(signal, child.stderr).toBe('SIGKILL')
      for (const m of child.messages) {
        if (m.event === 'ok') for (const id of m.ids as number[]) acked.set(id, m.seq as number | undefined)
        if (m.event === 'deleted') deletedSessions.push(m.sessionId as string)
      }

      const db = await Database.open(file)
      const report = await db.integrityCheck({ full: true })
      expect(report.integrityErrors).toEqual([])
      expect(report.foreignKeyViolations).toEqual([])
      const rows = (await db.query('SELECT id, content FROM session_logs WHERE session_id = ?', [session.id])) as {
        id: number
        content: string
      }[]
      const stored = new Map(rows.map((r) => [r.id, JSON.parse(r.content)]))
      for (const [id, seq] of acked) {
        if (!stored.has(id)) lost++
        else if (seq !== undefined) expect(stored.get(id).seq).toBe(seq)
      }
      expect(lost).toBe(0)
      const partialBatches = await db.query(
        `SELECT json_extract(content, '$.batch') AS batch, json_extract(content, '$.size') AS size, count(*) AS n
           FROM session_logs WHERE json_extract(content, '$.batch') IS NOT NULL GROUP BY batch HAVING n != size`,
      )
      expect(partialBatches).toEqual([])
      const strayParents = await db.query(
        `SELECT l.id FROM session_logs l WHERE l.parent_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM session_logs p WHERE p.id = l.parent_id AND p.session_id = l.session_id)`,
      )
      expect(strayParents).toEqual([])
      const deleted = JSON.stringify(deletedSessions)
      const survivors = await db.query(
        `SELECT (SELECT count(*) FROM sessions WHERE id IN (SELECT value FROM json_each(?1))) AS sessions,
                (SELECT count(*) FROM session_logs WHERE session_id IN (SELECT value FROM json_each(?1))) AS logs`,
        [deleted],
      )
      expect(survivors).toEqual([{ sessions: 0, logs: 0 }])
      await db.close()
    }

    const db = await Database.open(file)
    const total = await db.countLogs(session.id)
    await db.close()
    figure(
      `${KILLS} kills during writes, ${acked.size} acknowledged appends all found (${lost} lost), ` +
        `${deletedSessions.length} deleted sessions without orphans, ${total} logs in the file, 0 half-written batches`,
    )
    expect(acked.size).toBeGreaterThan(KILLS)
  })
})
