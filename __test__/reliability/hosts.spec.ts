// Host environments: the addon in worker_threads (one, and two at once on one file), loaded
// a second time and from a second copy of the binary, two Database objects on one file in
// one process, close() while calls are in flight, and workers terminated while calls are
// pending.
import { closeSync, existsSync, linkSync, openSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { BUILTIN } from '../support'
import { Child, FIXTURES, figure, rejection, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

type WorkerReport = { event: string; applied: string[]; sessionId: string; written: number; count: number; code?: string; message?: string }

function runWorker(file: string, writes: number): Promise<WorkerReport> {
  const worker = new Worker(join(FIXTURES, 'worker.js'), { workerData: { file, writes, mode: 'write' } })
  return new Promise((resolve, reject) => {
    let report: WorkerReport | undefined
    worker.on('message', (m) => (report = m))
    worker.on('error', reject)
    worker.on('exit', (code) => (code === 0 && report ? resolve(report) : reject(new Error(`worker exited with ${code}: ${JSON.stringify(report)}`))))
  })
}

async function runChild(script: string, args: string[]) {
  const child = new Child(join(FIXTURES, script), args)
  child.process.stdin!.end()
  const { code, signal } = await child.exited
  expect({ code, signal }, child.stderr).toEqual({ code: 0, signal: null })
  return child.messages
}

describe('host environments', () => {
  it('works in a worker thread, and in two workers at once on one file', async () => {
    const dir = tempDir('workers')
    const alone = await runWorker(join(dir, 'alone.db'), 100)
    expect(alone).toMatchObject({ event: 'done', applied: BUILTIN, written: 100, count: 100 })

    const shared = join(dir, 'shared.db')
    const pair = await Promise.all([runWorker(shared, 300), runWorker(shared, 300)])
    expect(pair.map((r) => r.event)).toEqual(['done', 'done'])
    expect(pair.flatMap((r) => r.applied).sort()).toEqual(BUILTIN)
    const db = await Database.open(shared)
    for (const r of pair) expect(await db.countLogs(r.sessionId)).toBe(300)
    expect((await db.integrityCheck({ full: true })).ok).toBe(true)
    await db.close()
    figure('worker_threads: 1 worker alone and 2 workers at once on one file, 700 logs written, every migration applied once')
  })

  it('works when the module is loaded a second time, and keeps a second copy of the binary off an open file', async () => {
    const dir = tempDir('reload')
    const [report] = await runChild('reload-module.js', [join(dir, 'reloaded.db'), dir])
    expect(report).toMatchObject({
      event: 'done',
      created: ['from-module-0', 'from-module-1'],
      copyWhileOpen: 'OPEN_ELSEWHERE_IN_PROCESS',
      seen: ['from-module-0', 'from-module-1', 'from-the-copy'],
      integrity: true,
    })
    expect((report.applied as string[][]).flat().sort()).toEqual(BUILTIN)
    figure(
      'module loaded twice (require cache cleared) and used on one file at once; a copy of the binary (its own SQLite) ' +
        'refused with OPEN_ELSEWHERE_IN_PROCESS while the file was open, then used once it was closed',
    )
  })

  it('refuses a file this process holds open outside the addon, through any name, and its -wal and -journal', async () => {
    const dir = tempDir('foreign-fd')
    const file = join(dir, 'a.db')
    const db = await Database.open(file)
    await db.migrate()
    await db.close()
    symlinkSync(file, join(dir, 'symlink.db'))
    linkSync(file, join(dir, 'hardlink.db'))
    writeFileSync(`${file}-journal`, '')
    let refused = 0
    // A descriptor held by plain fs.openSync is what another SQLite library holds.
    for (const held of [file, `${file}-wal`, `${file}-journal`]) {
      if (!existsSync(held)) writeFileSync(held, '')
      const fd = openSync(held, 'r')
      try {
        for (const name of ['a.db', 'symlink.db', 'hardlink.db']) {
          if (held !== file && name === 'hardlink.db') continue
          const err = await rejection(Database.open(join(dir, name)))
          expect(err.code, `${held} through ${name}`).toBe('OPEN_ELSEWHERE_IN_PROCESS')
          expect(err.message).toMatch(/another SQLite library/)
          refused++
        }
      } finally {
        closeSync(fd)
      }
    }
    const again = await Database.open(join(dir, 'symlink.db'))
    expect(await again.listAgents()).toMatchObject({ items: [] })
    await again.close()
    figure(`a file held open by fs.openSync (the database, its -wal, its -journal; by its name, a symlink, a hard link): ${refused} of ${refused} opens refused with OPEN_ELSEWHERE_IN_PROCESS`)
  })

  it('lets two Database objects on one file in one process write at once', async () => {
    const file = join(tempDir('two-objects'), 'two.db')
    const [a, b] = await Promise.all([Database.open(file), Database.open(file)])
    const applied = await Promise.all([a.migrate(), b.migrate()])
    expect(applied.flat().map((r) => r.migration.id).sort()).toEqual(BUILTIN)
    const agent = await a.createAgent({ name: 'shared', model: 'm' })
    const [sa, sb] = await Promise.all([a.createSession({ mainAgentId: agent.id }), b.createSession({ mainAgentId: agent.id })])
    const writes = (db: Database, sessionId: string) =>
      Promise.all(Array.from({ length: 200 }, (_, i) => db.addLog({ sessionId, role: 'user', type: 'message', content: { i } })))
    await Promise.all([writes(a, sa.id), writes(b, sb.id)])
    expect([await b.countLogs(sa.id), await a.countLogs(sb.id)]).toEqual([200, 200])
    await Promise.all([a.close(), b.close()])
    figure('two Database objects on one file in one process: 400 concurrent writes, none refused')
  })

  it('settles every call made before and after close(), leaks no file handle and lets the file be deleted', async () => {
    const dir = tempDir('close-inflight')
    const [report] = await runChild('close-inflight.js', [join(dir, 'closing.db'), '400'])
    const outcomes = report.outcomes as Record<string, number>
    expect(Object.keys(outcomes).filter((k) => k !== 'resolved' && k !== 'DATABASE_CLOSED')).toEqual([])
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(402)
    expect(report.lateCodes).toEqual(['DATABASE_CLOSED', 'DATABASE_CLOSED'])
    if (report.fdsBefore !== null) expect(report.fdsAfter).toBe(report.fdsBefore)
    expect(report.left).toEqual([])
    expect(report.closed).toBe(true)
    expect(existsSync(join(dir, 'closing.db'))).toBe(false)
    figure(
      `close() with 402 calls in flight: ${outcomes.resolved ?? 0} resolved, ${outcomes.DATABASE_CLOSED ?? 0} DATABASE_CLOSED, ` +
        `0 left pending; open file descriptors ${report.fdsBefore} before and ${report.fdsAfter} after; file deleted`,
    )
  })

  it('survives workers terminated while their calls are pending', async () => {
    const file = join(tempDir('terminate'), 'terminated.db')
    const rounds = 12
    const [report] = await runChild('terminate-workers.js', [file, String(rounds), '99'])
    expect(report).toMatchObject({ event: 'checked', terminated: rounds, ok: true, agents: rounds })
    figure(`${rounds} workers terminated with calls pending: process unharmed, file passes integrity_check (${report.logs} logs written before the terminations)`)
  })
})
