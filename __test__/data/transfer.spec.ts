// Export and import of a session: a round trip gives the session back whole except its ids,
// and every damaged file (truncated, edited, newer, malformed, a parent missing) is refused
// with its code and writes nothing. A full disk mid-export leaves no file at the destination.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database, Session } from '../../index.js'
import { expectCode, memoryDb, snapshot } from './helpers'

const dir = mkdtempSync(join(tmpdir(), 'agentdb-transfer-'))
const mounts: string[] = []
afterAll(() => {
  for (const mount of mounts.splice(0)) execFileSync('umount', [mount])
  rmSync(dir, { recursive: true, force: true })
})

let db: Database
let session: Session
beforeEach(async () => {
  db = await memoryDb()
  const agent = await db.createAgent({ id: 'agent-1', name: 'Coder', model: 'm', instructions: 'Be brief', mcps: ['fs'] })
  session = await db.createSession({
    mainAgentId: agent.id,
    name: 'Fix <the> bug',
    userGoal: 'green tests',
    status: 'running',
    model: 'override',
    configuration: { temperature: 0.2 },
    externalSessionId: 'ext-9',
  })
  const ask = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 'Why does <b>it</b> fail?' })
  const reply = await db.addLog({ sessionId: session.id, parentId: ask.id, role: 'agent', type: 'message', content: { text: 'Looking' } })
  const call = await db.addLog({ sessionId: session.id, parentId: reply.id, role: 'agent', type: 'action', content: { tool: 'grep', args: ['```x'] } })
  await db.addLog({ sessionId: session.id, parentId: call.id, role: 'tool', type: 'observation', content: { z: 1, a: [null] }, metadata: { ms: 3 } })
  await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: { text: '' }, status: 'streaming', searchText: 'findable' })
})
afterEach(async () => {
  await db.close()
})

let n = 0
const file = (name = 'export') => join(dir, `${name}-${++n}.jsonl`)

/** The session's logs without ids: each with the index of its parent, and its search text. */
async function logsOf(target: Database, sessionId: string) {
  const rows = await target.query(
    `SELECT l.id, l.parent_id AS parentId, l.role, l.type, l.content, l.metadata, l.status, l.created_at AS createdAt,
       l.updated_at AS updatedAt, t.text AS searchText
     FROM session_logs l LEFT JOIN log_search_text t ON t.log_id = l.id WHERE l.session_id = ? ORDER BY l.id`,
    [sessionId],
  )
  const index = new Map(rows.map((r, i) => [r.id, i]))
  return rows.map(({ id, parentId, ...rest }) => ({ ...rest, parent: parentId === null ? null : index.get(parentId) }))
}

/** The lines of an export, to damage, and the file written back from them. */
function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1)
}
function write(path: string, text: string[]): string {
  writeFileSync(path, `${text.join('\n')}\n`)
  return path
}
/** Lines with a new last line whose count and checksum fit them, as a careful forger would write. */
function resealed(body: string[]): string[] {
  const bytes = `${body.join('\n')}\n`
  return [...body, JSON.stringify({ end: { logs: body.length - 1, sha256: createHash('sha256').update(bytes).digest('hex') } })]
}

describe('export then import', () => {
  it('gives a session equal to the original except its ids, into another database', async () => {
    const path = file()
    const exported = await db.exportSession(session.id, path)
    expect(exported).toMatchObject({ path, logs: 5, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    const other = await memoryDb()
    try {
      const imported = await other.importSession(path)
      expect(imported.agentCreated).toBe(true)
      expect(imported.logs).toBe(5)
      expect(imported.session.id).not.toBe(session.id)
      const original = await db.getSession(session.id)
      expect({ ...imported.session, id: null }).toEqual({ ...original, id: null })
      expect(await other.getAgent('agent-1')).toEqual(await db.getAgent('agent-1'))
      expect(await logsOf(other, imported.session.id)).toEqual(await logsOf(db, session.id))
      expect((await other.searchLogs('findable')).items.map((h) => h.sessionId)).toEqual([imported.session.id])
    } finally {
      await other.close()
    }
  })

  it('into the same database: new ids, the existing agent reused, or the agent agentId names', async () => {
    const path = file()
    await db.exportSession(session.id, path)
    const again = await db.importSession(path)
    expect(again.agentCreated).toBe(false)
    expect(again.session.mainAgentId).toBe('agent-1')
    expect(await logsOf(db, again.session.id)).toEqual(await logsOf(db, session.id))
    const [before] = await db.query('SELECT max(id) AS m FROM session_logs WHERE session_id = ?', [session.id])
    const [after] = await db.query('SELECT min(id) AS m FROM session_logs WHERE session_id = ?', [again.session.id])
    expect(Number(after?.m)).toBeGreaterThan(Number(before?.m))
    const other = await db.createAgent({ name: 'Other', model: 'm' })
    expect((await db.importSession(path, { agentId: other.id })).session.mainAgentId).toBe(other.id)
    const before2 = await snapshot(db)
    await expectCode(db.importSession(path, { agentId: 'nobody' }), 'NOT_FOUND', 'nobody')
    expect(await snapshot(db)).toBe(before2)
  })

  it('the header holds the format version, the schema version, the agent, the session; the last line the count and checksum', async () => {
    const path = file()
    await db.exportSession(session.id, path)
    const text = lines(path)
    const header = JSON.parse(text[0] as string)
    expect(header).toMatchObject({ format: 'agentdb-session', version: 1, agent: { id: 'agent-1' }, session: { id: session.id }, fork: null })
    const [latest] = await db.query("SELECT max(id) AS v FROM migrations WHERE namespace = 'agentdb'")
    expect(header.schemaVersion).toBe(latest?.v)
    const end = JSON.parse(text.at(-1) as string).end
    const body = `${text.slice(0, -1).join('\n')}\n`
    expect(end).toEqual({ logs: 5, sha256: createHash('sha256').update(body).digest('hex') })
  })

  it('a fork exports where it came from', async () => {
    const fork = await db.forkSession(session.id)
    const path = file()
    await db.exportSession(fork.session.id, path)
    expect(JSON.parse(lines(path)[0] as string).fork).toMatchObject({ sourceSessionId: session.id, atLogId: null })
  })

  it('refuses a missing session and leaves no file', async () => {
    const path = file()
    await expectCode(db.exportSession('missing', path), 'NOT_FOUND', 'missing')
    await expectCode(db.exportSession(session.id, path, { format: 'csv' as never }), 'INVALID_ARGUMENT', 'options.format')
    expect(readdirSync(dir).filter((name) => name.includes(`-${n}.`))).toEqual([])
  })
})

describe('a damaged export is refused with its code and writes nothing', () => {
  let path: string
  let target: Database
  let before: string
  beforeEach(async () => {
    path = file()
    await db.exportSession(session.id, path)
    target = await memoryDb()
    before = await snapshot(target)
  })
  afterEach(async () => {
    expect(await snapshot(target)).toBe(before)
    await target.close()
  })

  it('truncated in the middle of a line', async () => {
    const bytes = readFileSync(path)
    writeFileSync(path, bytes.subarray(0, bytes.length - 30))
    await expectCode(target.importSession(path), 'INVALID_EXPORT', 'truncated')
  })

  it('truncated at a line: the last line missing', async () => {
    await expectCode(target.importSession(write(path, lines(path).slice(0, -1))), 'INVALID_EXPORT', 'truncated')
  })

  it('a log line edited (still valid JSON)', async () => {
    const text = lines(path)
    text[1] = (text[1] as string).replace('fail?', 'pass!')
    await expectCode(target.importSession(write(path, text)), 'CHECKSUM_MISMATCH')
  })

  it('a newer format version', async () => {
    const text = lines(path)
    text[0] = (text[0] as string).replace('"version":1', '"version":2')
    await expectCode(target.importSession(write(path, resealed(text.slice(0, -1)))), 'UNSUPPORTED_FORMAT', 'version 2')
  })

  it('a malformed line', async () => {
    const text = lines(path)
    text[2] = '{"log":{"id":'
    await expectCode(target.importSession(write(path, text)), 'INVALID_EXPORT', 'line 3')
  })

  it('a parent link to a log not in the file', async () => {
    const text = lines(path)
    await expectCode(target.importSession(write(path, resealed([text[0] as string, text[2] as string]))), 'INVALID_EXPORT', 'not an earlier log')
  })

  it('a count that does not match, a line after the last, a file that is not an export', async () => {
    const text = lines(path)
    const end = JSON.parse(text.at(-1) as string)
    end.end.logs = 4
    await expectCode(target.importSession(write(path, [...text.slice(0, -1), JSON.stringify(end)])), 'INVALID_EXPORT', 'counts 4')
    await expectCode(target.importSession(write(path, [...text, '{}'])), 'INVALID_EXPORT', 'after the last')
    await expectCode(target.importSession(write(path, ['{"hello":1}'])), 'INVALID_EXPORT', 'not a session export')
    await expectCode(target.importSession(join(dir, 'none.jsonl')), 'NOT_FOUND', 'no such file')
  })
})

describe('markdown', () => {
  it('nests tool calls and results under the message they belong to and escapes HTML', async () => {
    const path = file('transcript')
    expect((await db.exportSession(session.id, path, { format: 'markdown' })).logs).toBe(5)
    const text = readFileSync(path, 'utf8')
    expect(text.startsWith('# Fix &lt;the&gt; bug\n')).toBe(true)
    expect(text).toContain('Why does &lt;b&gt;it&lt;/b&gt; fail?')
    expect(text).toContain('\n**agent** · message · ')
    expect(text).toMatch(/\n> \*\*agent\*\* · action · [^\n]+\n>\n> ````json\n/)
    expect(text).toMatch(/\n> > \*\*tool\*\* · observation · /)
    expect(text).toMatch(/\*\*agent\*\* · message · [^\n]+ \(streaming\)/)
    expect(text.indexOf('action')).toBeLessThan(text.lastIndexOf('(streaming)'))
  })
})

const asRoot = process.platform === 'linux' && process.getuid?.() === 0

describe.skipIf(!asRoot)('a full disk (a 64 KiB tmpfs)', () => {
  it('rejects with FULL and leaves no file for a new destination and an existing one as it was', async () => {
    const small = join(dir, 'small')
    mkdirSync(small)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small])
    mounts.push(small)
    const big = 'x'.repeat(1000)
    for (let i = 0; i < 4; i++) {
      await db.addLogs(Array.from({ length: 100 }, () => ({ sessionId: session.id, role: 'agent' as const, type: 'message' as const, content: big })))
    }
    await expectCode(db.exportSession(session.id, join(small, 'new.jsonl')), 'FULL')
    expect(readdirSync(small)).toEqual([])
    writeFileSync(join(small, 'old.md'), 'the previous export')
    await expectCode(db.exportSession(session.id, join(small, 'old.md'), { format: 'markdown' }), 'FULL')
    expect(readdirSync(small)).toEqual(['old.md'])
    expect(readFileSync(join(small, 'old.md'), 'utf8')).toBe('the previous export')
  })
})
