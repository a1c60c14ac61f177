// searchLogs, searchSessions, getLogs around, rebuildSearchIndex: every script, queries users
// type (property-tested), and an index that stays exact through batches that fail, other
// tools writing the file, backups and the migration that creates it.
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'

import type { LogInput, LogSearchHit, MigrationProgress } from '../index'
import { BUILTIN, Database, LIBRARY, rejection, tempDir } from './support'

const CHILDREN = join(__dirname, 'children')

const dirs: { remove: () => void }[] = []
afterAll(() => {
  for (const d of dirs) d.remove()
})

function file(name: string): string {
  const dir = tempDir('search')
  dirs.push(dir)
  return dir.file(name)
}

/** The built-in migration that creates the search index. */
const SEARCH_MIGRATION = await (async () => {
  const db = await Database.open(':memory:')
  try {
    const found = (await db.listMigrations()).find((m) => m.namespace === LIBRARY && m.description.startsWith('Full-text search'))
    if (!found) throw new Error('no built-in search migration')
    return found.id
  } finally {
    await db.close()
  }
})()

async function seeded(path = ':memory:', texts: unknown[] = []) {
  const db = await Database.open(path)
  await db.migrate()
  await db.createAgent({ id: 'a1', name: 'A', model: 'm' })
  await db.createSession({ id: 's1', mainAgentId: 'a1', name: 'Quarterly report' })
  const logs = texts.length
    ? await db.addLogs(texts.map((content) => ({ sessionId: 's1', role: 'user' as const, type: 'message' as const, content: content as LogInput['content'] })))
    : []
  return { db, ids: logs.map((l) => l.id) }
}

const marked = (hit: LogSearchHit) => hit.highlights.map((h) => hit.snippet.slice(h.start, h.end))
const found = async (db: Database, query: string) => (await db.searchLogs(query, { limit: 1000 })).items.map((h) => h.log.id).sort((a, b) => a - b)

describe('searchLogs', () => {
  test('finds every script by any part, with highlights as JavaScript string offsets', async () => {
    const { db, ids } = await seeded(':memory:', [
      { text: 'Le café était fermé' },
      { text: '我想搜索一下历史记录' },
      ['履歴を検索する', { nested: '기록을 검색합니다' }],
      { text: '🎉 Party time 🎉 mixed文本' },
    ])
    const cases: [string, number[]][] = [
      ['cafe', [ids[0]]],
      ['CAFÉ', [ids[0]]],
      ['搜索', [ids[1]]],
      ['搜', [ids[1]]],
      ['历史记录', [ids[1]]],
      ['検索', [ids[2]]],
      ['검색', [ids[2]]],
      ['🎉', [ids[3]]],
      ['mixed文', [ids[3]]],
      ['"party time"', [ids[3]]],
      ['"time party"', []],
    ]
    for (const [query, want] of cases) expect(await found(db, query), query).toEqual(want)
    const [hit] = (await db.searchLogs('搜')).items
    expect(hit.sessionId).toBe('s1')
    expect(hit.log.content).toEqual({ text: '我想搜索一下历史记录' })
    expect(marked(hit)).toEqual(['搜'])
    const [emoji] = (await db.searchLogs('party')).items
    expect(marked(emoji)).toEqual(['Party'])
    expect(emoji.snippet.slice(0, emoji.highlights[0].start)).toBe('🎉 ')
    await db.close()
  })

  test('whatever a user types never rejects (property)', async () => {
    const { db } = await seeded(':memory:', [{ text: 'one "two" (three) OR NEAR four-five 六七八' }])
    const typed = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('"', '*', '-', '(', ')', ':', '^', '+', ' ', 'OR', 'AND', 'NOT', 'NEAR', 'a', '六', '🎉', "'"), maxLength: 20 }),
    )
    await fc.assert(
      fc.asyncProperty(typed, async (query) => {
        const page = await db.searchLogs(query)
        expect(Array.isArray(page.items)).toBe(true)
      }),
      { numRuns: 300 },
    )
    expect(await found(db, '(three) OR')).toHaveLength(1)
    await db.close()
  })

  test("syntax: 'fts5' takes the engine's syntax and rejects its errors with QUERY_SYNTAX", async () => {
    const { db, ids } = await seeded(':memory:', ['alpha beta', 'alpha gamma', '搜索记录'])
    expect((await db.searchLogs('beta OR gamma', { syntax: 'fts5' })).items).toHaveLength(2)
    expect((await db.searchLogs('alpha NOT beta', { syntax: 'fts5' })).items.map((h) => h.log.id)).toEqual([ids[1]])
    expect((await db.searchLogs('gam*', { syntax: 'fts5' })).items).toHaveLength(1)
    expect((await db.searchLogs('记录', { syntax: 'fts5' })).items).toHaveLength(1)
    for (const bad of ['(alpha', 'alpha AND', '"', 'NEAR(']) {
      expect((await rejection(db.searchLogs(bad, { syntax: 'fts5' }))).code, bad).toBe('QUERY_SYNTAX')
    }
    expect((await rejection(db.searchLogs('x', { order: 'oldest' as 'newest' }))).code).toBe('INVALID_ARGUMENT')
    expect((await rejection(db.searchLogs('x', { after: 'logs:nonsense' }))).code).toBe('INVALID_ARGUMENT')
    await db.close()
  })

  test('filters, both orders and cursors; deleted logs and sessions never appear', async () => {
    const { db, ids } = await seeded(':memory:', Array.from({ length: 30 }, (_, i) => `needle ${'hay '.repeat(i % 5)}`))
    await db.createSession({ id: 's2', mainAgentId: 'a1' })
    await db.addLog({ sessionId: 's2', role: 'agent', type: 'thought', content: 'needle elsewhere' })
    for (const order of ['newest', 'relevance'] as const) {
      const seen: number[] = []
      let after: string | undefined
      do {
        const page = await db.searchLogs('needle', { sessionId: 's1', order, limit: 7, after })
        seen.push(...page.items.map((h) => h.log.id))
        after = page.nextCursor ?? undefined
      } while (after)
      expect(seen.slice().sort((a, b) => a - b), order).toEqual(ids)
    }
    expect((await db.searchLogs('needle', { role: 'agent' })).items.map((h) => h.sessionId)).toEqual(['s2'])
    expect((await db.searchLogs('needle', { type: 'thought', agentId: 'a1' })).items).toHaveLength(1)
    expect((await db.searchLogs('needle', { since: '2999-01-01T00:00:00.000Z' })).items).toEqual([])
    await db.deleteSession('s2')
    await db.execute('DELETE FROM session_logs WHERE id = ?', [ids[0]])
    expect(await found(db, 'needle')).toEqual(ids.slice(1))
    expect((await db.integrityCheck()).searchIndexErrors).toEqual([])
    await db.close()
  })

  test('searchText replaces the content for search; a batch that fails indexes nothing', async () => {
    const { db } = await seeded()
    const log = await db.addLog({ sessionId: 's1', role: 'tool', type: 'observation', content: { blob: 'b64...' }, searchText: 'screenshot of the login page' })
    expect(await found(db, 'login')).toEqual([log.id])
    expect(await found(db, 'b64')).toEqual([])
    await db.updateLog(log.id, { searchText: null })
    expect(await found(db, 'b64')).toEqual([log.id])
    const failed = db.batch([
      { op: 'addLog', input: { sessionId: 's1', role: 'user', type: 'message', content: 'phantom words' } },
      { op: 'addLog', input: { sessionId: 'missing', role: 'user', type: 'message', content: 'phantom' } },
    ])
    expect((await rejection(failed)).code).toBe('NOT_FOUND')
    expect(await found(db, 'phantom')).toEqual([])
    expect((await db.integrityCheck()).ok).toBe(true)
    await db.close()
  })
})

describe('the index and other tools', () => {
  test('rows the sqlite3 shell inserts, updates and deletes are found as they are', async () => {
    const path = file('shell.db')
    const { db, ids } = await seeded(path, ['first entry', 'second entry'])
    await db.close()
    const shell = (sql: string) => execFileSync('sqlite3', [path, sql], { encoding: 'utf8' })
    shell(
      `INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '"外部工具写入"');
       UPDATE session_logs SET content = '"changed entry"' WHERE id = ${ids[0]};
       DELETE FROM session_logs WHERE id = ${ids[1]};
       UPDATE sessions SET user_goal = 'ship the installer' WHERE id = 's1';`,
    )
    const reopened = await Database.open(path)
    expect(await found(reopened, '工具')).toHaveLength(1)
    expect(await found(reopened, 'first')).toEqual([])
    expect(await found(reopened, 'changed')).toEqual([ids[0]])
    expect(await found(reopened, 'second')).toEqual([])
    // While it is open too: the next search indexes what the shell changed.
    shell(`INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '"late arrival"')`)
    expect(await found(reopened, 'arrival')).toHaveLength(1)
    const [session] = await reopened.searchSessions('installer')
    expect([session.session.id, session.log, marked(session as unknown as LogSearchHit)]).toEqual(['s1', null, ['installer']])
    expect((await reopened.integrityCheck({ full: true })).ok).toBe(true)
    await reopened.close()
  })

  test('integrityCheck reports a damaged index and rebuildSearchIndex repairs it', async () => {
    const { db: reopened, ids } = await seeded(':memory:', ['kept words', 'more words'])
    expect(await found(reopened, 'kept')).toEqual([ids[0]])
    // The search indexed the rows the writes recorded. Damage only the index, as no write through the library or another tool can.
    await (reopened as Database & { testExec(sql: string): Promise<void> }).testExec(`DELETE FROM log_search WHERE rowid = ${ids[0]}`)
    const report = await reopened.integrityCheck()
    expect(report.ok).toBe(false)
    expect(report.searchIndexErrors).toEqual([`log_search: log ${ids[0]} has searchable text but is not indexed`])
    expect(await reopened.rebuildSearchIndex()).toBe(3)
    expect((await reopened.integrityCheck()).ok).toBe(true)
    expect(await found(reopened, 'kept')).toEqual([ids[0]])
    await reopened.close()
  })

  test('a search right after a write finds it as written, updated or deleted', async () => {
    const { db } = await seeded(file('right-after.db'))
    const words = Array.from({ length: 64 }, (_, i) => `word${i}x`)
    // Single calls in flight together, each searched for the moment it resolves.
    const hits = await Promise.all(
      words.map(async (word) => {
        const log = await db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: { text: word } })
        return { id: log.id, found: await found(db, word) }
      }),
    )
    expect(hits.filter((h) => h.found.length !== 1 || h.found[0] !== h.id)).toEqual([])
    const [first, second] = hits
    await db.updateLog(first.id, { content: { text: 'rewritten words' } })
    expect(await found(db, words[0])).toEqual([])
    expect(await found(db, 'rewritten')).toEqual([first.id])
    await db.execute('DELETE FROM session_logs WHERE id = ?', [second.id])
    expect(await found(db, words[1])).toEqual([])
    await db.createSession({ id: 's2', mainAgentId: 'a1' })
    await db.addLog({ sessionId: 's2', role: 'user', type: 'message', content: { text: 'cascaded away' } })
    expect(await found(db, 'cascaded')).toHaveLength(1)
    await db.deleteSession('s2')
    expect(await found(db, 'cascaded')).toEqual([])
    await db.updateSession('s1', { userGoal: 'ship the installer' })
    expect((await db.searchSessions('installer')).map((h) => h.session.id)).toEqual(['s1'])
    expect((await db.integrityCheck({ full: true })).ok).toBe(true)
    await db.close()
  })

  test('a process killed while rows wait to be indexed loses none of them from the index', async () => {
    const path = file('killed.db')
    const { db } = await seeded(path, ['before the crash'])
    await db.close()
    const words = Array.from({ length: 20 }, (_, i) => `crash${i}word`)
    const child = spawnSync(process.execPath, [join(CHILDREN, 'append-then-die.cjs'), path, ...words], { encoding: 'utf8' })
    expect([child.signal, child.stderr]).toEqual(['SIGKILL', ''])
    // The kill came before the writer indexed them: the logs are recorded, not yet indexed.
    const shell = (sql: string) => execFileSync('sqlite3', [path, sql], { encoding: 'utf8' }).trim()
    expect(Number(shell('SELECT count(*) FROM session_logs'))).toBe(words.length + 1)
    expect(Number(shell('SELECT count(*) FROM log_search_pending'))).toBeGreaterThan(0)
    const reopened = await Database.open(path)
    for (const word of words) expect(await found(reopened, word), word).toHaveLength(1)
    expect(await found(reopened, 'before')).toHaveLength(1)
    expect(await reopened.query('SELECT count(*) AS n FROM log_search_pending')).toEqual([{ n: 0 }])
    expect((await reopened.integrityCheck({ full: true })).ok).toBe(true)
    await reopened.close()
  })

  test('a backup opens with its index exact and searchable', async () => {
    const { db } = await seeded(file('live.db'), ['backed up text'])
    const copy = file('copy.db')
    await db.backup(copy)
    await db.close()
    const restored = await Database.open(copy)
    expect(await found(restored, 'backed')).toHaveLength(1)
    expect((await restored.integrityCheck()).ok).toBe(true)
    await restored.close()
  })

  test('the migration indexes existing rows, reporting progress, and rolls back exactly', async () => {
    const db = await Database.open(':memory:')
    const previous = BUILTIN[BUILTIN.indexOf(SEARCH_MIGRATION) - 1]
    await db.migrate({ to: previous, namespace: LIBRARY })
    // Rows as the release before the search index wrote them (with the columns it had).
    await db.execute("INSERT INTO agents (id, name, model) VALUES ('a1', 'A', 'm')")
    await db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1')")
    await db.execute(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1499) INSERT INTO session_logs (session_id, role, type, content) SELECT 's1', 'user', 'message', json_quote('old ' || i) FROM n",
    )
    const schema = () => db.query("SELECT name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    const before = await schema()
    const events: MigrationProgress[] = []
    await db.migrate({ to: SEARCH_MIGRATION, namespace: LIBRARY, onProgress: (e) => events.push(e) })
    const indexing = events.filter((e) => e.phase === 'indexing').map((e) => [e.indexed, e.toIndex])
    expect(indexing).toEqual([[1000, 1501], [1500, 1501], [1501, 1501]])
    expect(await db.query(`SELECT rowid FROM log_search WHERE log_search MATCH '"1499"'`)).toHaveLength(1)
    await db.rollbackTo(previous, { namespace: LIBRARY })
    expect(await schema()).toEqual(before)
    expect((await rejection(db.searchLogs('old'))).code).toBe('NOT_MIGRATED')
    await db.close()
  })
})

describe('getLogs around a hit', () => {
  test('opens the page around the entry with cursors both ways', async () => {
    const { db, ids } = await seeded(':memory:', Array.from({ length: 20 }, (_, i) => `entry ${i}`))
    const [hit] = (await db.searchLogs('10')).items
    const page = await db.getLogs('s1', { around: hit.log.id, limit: 5 })
    expect(page.items.map((l) => l.id)).toEqual(ids.slice(8, 13))
    const later = await db.getLogs('s1', { after: page.nextCursor ?? undefined, limit: 100 })
    expect(later.items.map((l) => l.id)).toEqual(ids.slice(13))
    const earlier = await db.getLogs('s1', { after: page.previousCursor ?? undefined, order: 'desc', limit: 100 })
    expect(earlier.items.map((l) => l.id)).toEqual(ids.slice(0, 8).reverse())
    expect((await rejection(db.getLogs('s1', { around: 999999 }))).code).toBe('NOT_FOUND')
    expect((await rejection(db.getLogs('s1', { around: ids[0], offset: 2 }))).code).toBe('INVALID_ARGUMENT')
    await db.close()
  })
})
