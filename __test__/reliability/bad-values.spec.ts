// Rows holding values of the wrong type, written past the schema's CHECKs as the sqlite3 shell
// or another tool can write them: each typed reader rejects with BAD_VALUE naming the table,
// the row and the column (not INTERNAL), the rows around them stay readable one by one, and
// integrityCheck lists them.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { figure, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

type Hooked = Database & { testExec(sql: string): Promise<void> }

async function writePastChecks(db: Hooked, sql: string) {
  await db.testExec(`PRAGMA ignore_check_constraints = ON; ${sql}; PRAGMA ignore_check_constraints = OFF`)
}

describe('a row holding a value of the wrong type', () => {
  it('rejects every typed read of it with BAD_VALUE naming table, row and column, and integrityCheck lists it', async () => {
    const db = (await Database.open(join(tempDir('bad-values'), 'a.db'))) as Hooked
    await db.migrate()
    await db.createAgent({ id: 'good', name: 'G', model: 'm' })
    await db.createAgent({ id: 'bad', name: 'B', model: 'm' })
    await db.createSession({ id: 's1', mainAgentId: 'bad' })
    await db.createSession({ id: 's2', mainAgentId: 'good' })
    const entry = await db.addLog({ sessionId: 's2', role: 'user', type: 'message', content: { a: 1 } })
    await writePastChecks(
      db,
      `UPDATE agents SET configuration = x'7b7d' WHERE id = 'bad';
       UPDATE sessions SET max_steps = 'many' WHERE id = 's2';
       UPDATE session_logs SET content = x'00' WHERE id = ${entry.id}`,
    )
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['getAgent', () => db.getAgent('bad'), /agents row "bad": column configuration holds a blob of 2 bytes/],
      ['listAgents', () => db.listAgents(), /agents row "bad": column configuration/],
      ['getSessionWithAgent', () => db.getSessionWithAgent('s1'), /agents row "bad": column configuration/],
      ['getSession', () => db.getSession('s2'), /sessions row "s2": column max_steps holds the text "many"/],
      ['listSessions', () => db.listSessions(), /sessions row "s2": column max_steps/],
      ['getLog', () => db.getLog(entry.id), new RegExp(`session_logs row ${entry.id}: column content holds a blob of 1 byte`)],
      ['getLogs', () => db.getLogs('s2'), /session_logs row \d+: column content/],
      ['getLatestLogs', () => db.getLatestLogs('s2'), /session_logs row \d+: column content/],
      ['getLogTree', () => db.getLogTree('s2'), /session_logs row \d+: column content/],
    ]
    for (const [name, call, message] of cases) {
      const err = await rejection(call())
      expect(err.code, name).toBe('BAD_VALUE')
      expect(err.message, name).toMatch(message)
    }
    expect(await db.getAgent('good')).toMatchObject({ id: 'good' })
    expect(await db.getSession('s1')).toMatchObject({ id: 's1' })
    expect(await db.getMigrationSummary()).toMatchObject({ pendingMigrations: 0 })
    expect(await db.migrate()).toEqual([])
    const report = await db.integrityCheck()
    expect(report.ok).toBe(false)
    expect(report.badValueCount).toBe(3)
    expect(report.badValues.map((b) => [b.table, b.rowId, b.column, b.holds])).toEqual([
      ['agents', '"bad"', 'configuration', 'a blob of 2 bytes'],
      ['sessions', '"s2"', 'max_steps', 'the text "many"'],
      ['session_logs', String(entry.id), 'content', 'a blob of 1 byte'],
    ])
    await db.close()
    figure(`3 rows holding values of the wrong type: ${cases.length} of ${cases.length} typed reads rejected with BAD_VALUE naming table, row and column; integrityCheck listed 3 of 3`)
  })
})
