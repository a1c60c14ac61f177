// Backup under load: backups taken while 4 writer processes append logs to the file. Each
// copy must pass integrity_check and hold every row committed before its backup began.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, FIXTURES, figure, removeTempDirs, sleep, tempDir } from './helpers'

afterAll(removeTempDirs)

const WRITERS = 4
const BACKUPS = 3

function ackedIds(children: Child[]): number[] {
  return children.flatMap((c) => c.messages.filter((m) => m.event === 'ok').flatMap((m) => m.ids as number[]))
}

async function untilAcked(children: Child[], count: number): Promise<void> {
  while (ackedIds(children).length < count) {
    if (children.some((c) => c.process.exitCode !== null)) throw new Error(`a writer exited: ${children.map((c) => c.stderr).join('')}`)
    await sleep(20)
  }
}

describe('backup under load', () => {
  it(`copies hold every committed row while ${WRITERS} processes write`, { timeout: 300_000 }, async () => {
    const dir = tempDir('backup-load')
    const file = join(dir, 'busy.db')
    const db = await Database.open(file)
    await db.migrate()
    const agent = await db.createAgent({ name: 'writer', model: 'm' })
    const sessions = await Promise.all(Array.from({ length: WRITERS }, () => db.createSession({ mainAgentId: agent.id })))
    const writers = sessions.map((s, i) => new Child(join(FIXTURES, 'append-logs.js'), [file, s.id, `w${i}`, '4']))
    await Promise.all(writers.map((w) => w.waitFor('ready')))

    const copies: { dest: string; committed: number[] }[] = []
    let resolvedDuringBackups = 0
    for (let b = 0; b < BACKUPS; b++) {
      await untilAcked(writers, (b + 1) * 500)
      const committed = ackedIds(writers)
      const dest = join(dir, `copy-${b}.db`)
      await db.backup(dest)
      resolvedDuringBackups += ackedIds(writers).length - committed.length
      copies.push({ dest, committed })
    }
    for (const w of writers) w.kill()
    await Promise.all(writers.map((w) => w.exited))
    await db.close()

    let rowsChecked = 0
    for (const { dest, committed } of copies) {
      const copy = await Database.open(dest)
      const report = await copy.integrityCheck({ full: true })
      expect(report.integrityErrors).toEqual([])
      expect(report.foreignKeyViolations).toEqual([])
      const present = (await copy.query('SELECT count(*) AS n FROM session_logs WHERE id IN (SELECT value FROM json_each(?))', [
        JSON.stringify(committed),
      ])) as { n: number }[]
      expect(present).toEqual([{ n: committed.length }])
      const partialBatches = await copy.query(
        `SELECT json_extract(content, '$.batch') AS batch FROM session_logs
          WHERE batch IS NOT NULL GROUP BY batch HAVING count(*) != json_extract(content, '$.size')`,
      )
      expect(partialBatches).toEqual([])
      rowsChecked += committed.length
      await copy.close()
    }
    figure(
      `backup under load: ${BACKUPS} backups while ${WRITERS} writer processes appended (${resolvedDuringBackups} appends resolved during the backups); ` +
        `${rowsChecked} rows committed before the backups began, all in the copies; every copy passed integrity_check`,
    )
  })
})
