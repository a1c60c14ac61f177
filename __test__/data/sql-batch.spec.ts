// The escape hatch (query, execute) and atomic batches.
import { afterAll, afterEach, describe, expect, it } from 'vitest'

import type { BatchOperation, Database, Session } from '../../index.js'
import { counts, expectCode, fileDb, memoryDb, removeTempDirs, snapshot } from './helpers'

const INJECTIONS = [
  "'); DROP TABLE agents; --",
  "Robert'); DELETE FROM sessions WHERE ('1'='1",
  '" OR 1=1 --',
  "x' || (SELECT group_concat(sql) FROM sqlite_master) || '",
  '; ATTACH DATABASE \'/tmp/evil.db\' AS evil; --',
]

const opened: Database[] = []
async function open(kind: 'memory' | 'file'): Promise<Database> {
  const db = kind === 'memory' ? await memoryDb() : await fileDb()
  opened.push(db)
  return db
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close()
})
afterAll(removeTempDirs)

describe.each(['memory', 'file'] as const)('query and execute (%s database)', (kind) => {
  it('bind positional and named parameters', async () => {
    const db = await open(kind)
    await db.addMigration({ id: '003', description: 'app notes', up: ['CREATE TABLE app_notes (id INTEGER PRIMARY KEY, body BLOB)'] })
    await db.migrate()
    const inserted = await db.execute('INSERT INTO agents (id, name, model) VALUES (?, ?, ?)', ['a1', 'First', 'm'])
    expect(inserted).toEqual({ changes: 1, lastInsertRowid: expect.any(Number) })
    await db.execute('INSERT INTO agents (id, name, model) VALUES (:id, @name, $model)', { id: 'a2', name: 'Second', model: 'm' })
    await db.execute('INSERT INTO agents (id, name, model) VALUES (?1, ?2, ?2)', ['a3', 'Third'])
    expect(await db.query('SELECT id, name, model FROM agents WHERE id >= ? ORDER BY id', ['a2'])).toEqual([
      { id: 'a2', name: 'Second', model: 'm' },
      { id: 'a3', name: 'Third', model: 'Third' },
    ])
    expect(await db.query('SELECT name FROM agents WHERE id = :id', { id: 'a1' })).toEqual([{ name: 'First' }])
    expect(await db.query('SELECT count(*) AS n FROM agents')).toEqual([{ n: 3 }])
    expect(await db.query('SELECT count(*) AS n FROM agents', null as never)).toEqual([{ n: 3 }])
    const updated = await db.execute('UPDATE agents SET description = ? WHERE id <> ?', ['d', 'a1'])
    expect(updated.changes).toBe(2)
    expect((await db.getAgent('a2'))?.description).toBe('d')
    expect(await db.execute('DELETE FROM agents WHERE id = ?', ['nobody'])).toMatchObject({ changes: 0 })
    // A statement that changes no rows reports none, whatever SQLite's count of the last one.
    expect((await db.execute('REINDEX')).changes).toBe(0)
    const note = await db.execute('INSERT INTO app_notes (body) VALUES (?)', [null])
    expect(note).toEqual({ changes: 1, lastInsertRowid: 1 })
  })

  it('round-trip every SQL type: null, numbers, bigints, strings, booleans, blobs', async () => {
    const db = await open(kind)
    await db.addMigration({ id: '003', description: 'blobs', up: ['CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)'] })
    await db.migrate()
    const blob = Buffer.from([0, 1, 2, 253, 254, 255])
    const [row] = await db.query('SELECT ? AS n, ? AS i, ? AS f, ? AS big, ? AS small, ? AS s, ? AS t, ? AS b, ? AS u8, ? AS u16', [
      null,
      -42,
      0.5,
      2n ** 62n,
      -(2n ** 63n),
      'é🦀\u0000z',
      true,
      blob,
      new Uint8Array([9, 8]),
      new Uint16Array([1]),
    ])
    expect(row).toEqual({
      n: null,
      i: -42,
      f: 0.5,
      big: 2n ** 62n,
      small: -(2n ** 63n),
      s: 'é🦀\u0000z',
      t: 1,
      b: blob,
      u8: Buffer.from([9, 8]),
      u16: Buffer.from(new Uint8Array(new Uint16Array([1]).buffer)),
    })
    expect(Buffer.isBuffer(row.b)).toBe(true)
    // Integers beyond 2^53 come back as bigints, the safe ones as numbers, exactly.
    expect(
      await db.query(`SELECT 9007199254740991 AS safe, -9007199254740991 AS negSafe, 9007199254740992 AS unsafe,
        9223372036854775807 AS max, -9223372036854775807 - 1 AS min`),
    ).toEqual([{ safe: 9007199254740991, negSafe: -9007199254740991, unsafe: 9007199254740992n, max: 2n ** 63n - 1n, min: -(2n ** 63n) }])
    const big = Buffer.alloc(256 * 1024, 7)
    const { lastInsertRowid } = await db.execute('INSERT INTO blobs (data) VALUES (?)', [big])
    const [stored] = await db.query('SELECT data, length(data) AS size FROM blobs WHERE id = ?', [lastInsertRowid])
    expect(stored.size).toBe(big.length)
    expect((stored.data as Buffer).equals(big)).toBe(true)
  })

  it('store SQL-injection strings verbatim, through typed calls and raw SQL', async () => {
    const db = await open(kind)
    for (const [i, text] of INJECTIONS.entries()) {
      const agent = await db.createAgent({ id: `${text}#${i}`, name: text, model: text, description: text, configuration: { [text]: text } })
      expect(await db.getAgent(agent.id)).toEqual(agent)
      expect([agent.name, agent.configuration]).toEqual([text, { [text]: text }])
      const session = await db.createSession({ mainAgentId: agent.id, name: text, externalSessionId: text })
      expect((await db.getSessionByExternalId(text))?.id).toBe(session.id)
      await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: text, metadata: { [text]: [text] } })
      expect((await db.getLogs(session.id)).items[0]).toMatchObject({ content: text, metadata: { [text]: [text] } })
      await db.execute('UPDATE agents SET instructions = ? WHERE id = ?', [text, agent.id])
      expect(await db.query('SELECT instructions FROM agents WHERE name = :name', { name: text })).toEqual([{ instructions: text }])
    }
    expect(await counts(db)).toEqual({ agents: INJECTIONS.length, sessions: INJECTIONS.length, logs: INJECTIONS.length, orphans: 0 })
    expect(await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'agents'")).toHaveLength(1)
  })

  it('refuse several statements, writes in query, and anything that changes the connection', async () => {
    const db = await open(kind)
    await db.createAgent({ id: 'keep', name: 'n', model: 'm' })
    const before = await snapshot(db)
    await expectCode(db.query('SELECT 1; DELETE FROM agents'), 'SQL_ERROR', 'one statement')
    await expectCode(db.execute("DELETE FROM agents; INSERT INTO agents (id, name, model) VALUES ('x', 'n', 'm')"), 'SQL_ERROR', 'one statement')
    for (const sql of ['DELETE FROM agents', "INSERT INTO agents (id, name, model) VALUES ('x', 'n', 'm')", "UPDATE agents SET name = 'x'"]) {
      await expectCode(db.query(sql), 'INVALID_ARGUMENT', 'execute()')
    }
    const connectionChanges = [
      'BEGIN',
      'BEGIN IMMEDIATE',
      'COMMIT',
      'END',
      'ROLLBACK',
      'SAVEPOINT app',
      'RELEASE app',
      '/* comment */ -- line\n begin',
      'EXPLAIN BEGIN',
      "ATTACH DATABASE ':memory:' AS other",
      'DETACH DATABASE main',
      'PRAGMA foreign_keys = OFF',
      'PRAGMA ignore_check_constraints = ON',
      'PRAGMA query_only(1)',
      'SELECT 1; PRAGMA foreign_keys = OFF',
    ]
    for (const sql of connectionChanges) {
      await expectCode(db.query(sql), 'INVALID_ARGUMENT', 'change the connection')
      await expectCode(db.execute(sql), 'INVALID_ARGUMENT', 'change the connection')
    }
    await expectCode(db.query(''), 'SQL_ERROR')
    await expectCode(db.query('SELEC 1'), 'SQL_ERROR', 'syntax error')
    await expectCode(db.query('SELECT * FROM no_such_table'), 'SQL_ERROR', 'no_such_table')
    expect(await snapshot(db)).toBe(before)
    // The connections are as they were: foreign keys and CHECKs still hold, reads see new
    // writes, and writes still commit.
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }])
    await expectCode(db.execute("INSERT INTO sessions (id, main_agent_id) VALUES ('s', 'ghost')"), 'CONSTRAINT', 'FOREIGN KEY')
    await expectCode(db.execute("UPDATE agents SET type = 'robot'"), 'CONSTRAINT', 'CHECK')
    await db.createAgent({ id: 'after', name: 'n', model: 'm' })
    expect(await db.query('SELECT id FROM agents ORDER BY id')).toEqual([{ id: 'after' }, { id: 'keep' }])
    expect(await db.query("SELECT name FROM pragma_table_info('agents') WHERE cid < 2")).toEqual([{ name: 'id' }, { name: 'type' }])
  })

  it('refuse schema changes through query, execute and batch: they belong in migrations', async () => {
    const db = await open(kind)
    const agent = await db.createAgent({ id: 'keep', name: 'n', model: 'm' })
    const [home, other] = [await db.createSession({ mainAgentId: agent.id }), await db.createSession({ mainAgentId: agent.id })]
    const parent = await db.addLog({ sessionId: home.id, role: 'user', type: 'message', content: 'parent' })
    const schema = () => db.query('SELECT type, name, sql FROM sqlite_master UNION ALL SELECT type, name, sql FROM sqlite_temp_master ORDER BY 1, 2')
    const [schemaBefore, rowsBefore] = [await schema(), await snapshot(db)]
    const schemaChanges = [
      'DROP TABLE agents',
      'CREATE TABLE x (y)',
      'CREATE INDEX idx_agents_name ON agents (name)',
      'DROP TRIGGER session_logs_parent_same_session_insert',
      'CREATE TEMP TABLE agents (id TEXT PRIMARY KEY, name TEXT, model TEXT)',
      'CREATE VIEW agent_names AS SELECT name FROM agents',
      'ALTER TABLE agents ADD COLUMN extra TEXT',
      'CREATE VIRTUAL TABLE notes USING fts5(body)',
    ]
    for (const sql of schemaChanges) {
      await expectCode(db.execute(sql), 'SCHEMA_CHANGE_REFUSED', 'addMigration')
      await expectCode(db.query(sql), 'SCHEMA_CHANGE_REFUSED', 'addMigration')
      await expectCode(
        db.batch([
          { op: 'execute', sql: "UPDATE agents SET name = 'changed'" },
          { op: 'execute', sql },
        ]),
        'SCHEMA_CHANGE_REFUSED',
        'operations[1]',
      )
    }
    expect(await schema()).toEqual(schemaBefore)
    expect(await snapshot(db)).toBe(rowsBefore)
    // No TEMP table shadows agents on the writer, and the trigger still keeps a log's parent
    // in its own session.
    await db.createAgent({ id: 'after', name: 'n', model: 'm' })
    expect(await db.query('SELECT id FROM main.agents ORDER BY id')).toEqual([{ id: 'after' }, { id: 'keep' }])
    const reply = { sessionId: other.id, parentId: parent.id, role: 'agent' as const, type: 'message' as const, content: 'reply' }
    await expectCode(db.addLog(reply), 'CONSTRAINT')
    // ANALYZE and REINDEX change statistics and index storage, not the schema's meaning.
    await db.execute('ANALYZE')
    await db.execute('REINDEX idx_agents_type_seq')
  })

  it('refuse parameters that do not match the statement', async () => {
    const db = await open(kind)
    await expectCode(db.query('SELECT ?, ?', [1]), 'INVALID_ARGUMENT', '2 parameter')
    await expectCode(db.query('SELECT ?', [1, 2]), 'INVALID_ARGUMENT')
    await expectCode(db.query('SELECT :a', { b: 1 }), 'INVALID_ARGUMENT', ':a')
    await expectCode(db.query('SELECT :a', { a: 1, typo: 2 }), 'INVALID_ARGUMENT', 'typo')
    await expectCode(db.query('SELECT ?', { a: 1 }), 'INVALID_ARGUMENT', 'positional')
    await expectCode(db.query('SELECT ?', [Symbol('s') as never]), 'INVALID_ARGUMENT', 'params[0]')
    await expectCode(db.query('SELECT ?', [NaN]), 'INVALID_ARGUMENT', 'params[0]')
    await expectCode(db.query('SELECT ?', [{} as never]), 'INVALID_ARGUMENT', 'params[0]')
    await expectCode(db.query('SELECT ?', [2n ** 64n]), 'INVALID_ARGUMENT', '64-bit')
    await expectCode(db.query('SELECT ?', 'x' as never), 'INVALID_ARGUMENT', 'params')
    await expectCode(db.query(42 as never), 'INVALID_ARGUMENT', 'sql')
  })

  it('return rows as plain objects, keeping every column name', async () => {
    const db = await open(kind)
    const rows = await db.query("SELECT 'x' AS __proto__, 1 AS \"with space\", 2 AS constructor, 3 AS dup, 4 AS dup")
    expect(Object.keys(rows[0])).toEqual(['__proto__', 'with space', 'constructor', 'dup'])
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value).toBe('x')
    expect(rows[0].dup).toBe(4)
    expect(await db.query('SELECT 1 AS a WHERE 0')).toEqual([])
  })
})

describe('batch', () => {
  async function seeded() {
    const db = await open('memory')
    const agent = await db.createAgent({ id: 'agent', name: 'A', model: 'm' })
    const session = await db.createSession({ id: 'session', mainAgentId: agent.id, status: 'running' })
    return { db, agent, session }
  }

  it('creates a session and its first user message as one unit', async () => {
    const { db, agent } = await seeded()
    const [session, first] = await db.batch([
      { op: 'createSession', input: { id: 'new', mainAgentId: agent.id, userGoal: 'Review auth', status: 'running' } },
      { op: 'addLog', input: { sessionId: 'new', role: 'user', type: 'message', content: { text: 'Review auth' } } },
    ])
    expect(session).toMatchObject({ id: 'new', status: 'running', userGoal: 'Review auth' })
    expect(first).toMatchObject({ sessionId: 'new', parentId: null, content: { text: 'Review auth' } })
    expect(await db.getLogs('new')).toEqual({ items: [first], nextCursor: null })

    const before = await snapshot(db)
    await expectCode(
      db.batch([
        { op: 'createSession', input: { id: 'newer', mainAgentId: agent.id } },
        { op: 'addLog', input: { sessionId: 'newer', parentId: first.id, role: 'user', type: 'message', content: 'x' } },
      ]),
      'CONSTRAINT',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    expect(await db.getSession('newer')).toBeNull()
  })

  it('writes a reply and its tool calls as one unit, the calls referring to the reply with { ref }', async () => {
    const { db, agent } = await seeded()
    const [session, reply, calls, result] = await db.batch([
      { op: 'createSession', input: { mainAgentId: agent.id, status: 'running' } },
      { op: 'addLog', input: { sessionId: { ref: 0 }, role: 'agent', type: 'message', content: { text: 'Looking' } } },
      {
        op: 'addLogs',
        inputs: [
          { sessionId: { ref: 0 }, parentId: { ref: 1 }, role: 'agent', type: 'action', content: { tool: 'grep' } },
          { sessionId: { ref: 0 }, parentId: { ref: 1 }, role: 'agent', type: 'action', content: { tool: 'ls' } },
        ],
      },
      { op: 'updateSessionStatus', id: { ref: 0 }, status: 'completed' },
    ])
    expect(calls.map((call) => [call.sessionId, call.parentId])).toEqual([
      [session.id, reply.id],
      [session.id, reply.id],
    ])
    expect(result).toMatchObject({ id: session.id, status: 'completed' })
    expect(await db.getLogTree(session.id)).toMatchObject([{ id: reply.id, children: [{ id: calls[0].id }, { id: calls[1].id }] }])

    // A reference forward, or to an operation that wrote no log, is refused whole.
    const before = await snapshot(db)
    const reply2 = { op: 'addLog', input: { sessionId: session.id, role: 'agent', type: 'message', content: 'r' } } as const
    await expectCode(
      db.batch([
        { op: 'addLog', input: { sessionId: session.id, parentId: { ref: 1 }, role: 'agent', type: 'action', content: 'c' } },
        reply2,
      ]),
      'INVALID_ARGUMENT',
      'operations[0].input.parentId.ref is 1, which is not an earlier operation of the batch',
    )
    await expectCode(
      db.batch([
        reply2,
        { op: 'updateSessionStatus', id: session.id, status: 'failed' },
        { op: 'addLog', input: { sessionId: session.id, parentId: { ref: 1 }, role: 'agent', type: 'action', content: 'c' } },
      ]),
      'INVALID_ARGUMENT',
      'operations[2].input.parentId refers to operations[1] (updateSessionStatus), which does not resolve with a log',
    )
    expect(await snapshot(db)).toBe(before)
  })

  it('marks a session completed and appends its final log as one unit', async () => {
    const { db, session } = await seeded()
    const question = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 'q' })
    const before = await snapshot(db)
    // The final log is refused (its parent belongs to no session): the status stays.
    await expectCode(
      db.batch([
        { op: 'updateSessionStatus', id: session.id, status: 'completed' },
        { op: 'addLog', input: { sessionId: session.id, parentId: question.id + 100, role: 'agent', type: 'message', content: 'done' } },
      ]),
      'CONSTRAINT',
      'operations[1]',
    )
    expect(await snapshot(db)).toBe(before)
    expect((await db.getSession(session.id))?.status).toBe('running')
    const [completed, final] = await db.batch([
      { op: 'updateSessionStatus', id: session.id, status: 'completed' },
      { op: 'addLog', input: { sessionId: session.id, parentId: question.id, role: 'agent', type: 'message', content: 'done' } },
    ])
    expect((completed as Session).status).toBe('completed')
    expect(await db.getLogTree(session.id)).toEqual([{ ...question, children: [{ ...(final as object), children: [] }] }])
  })

  it('writes nothing when a later operation fails, whatever the earlier ones were', async () => {
    const { db, agent, session } = await seeded()
    const log = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 1 })
    const before = await snapshot(db)
    const earlier: BatchOperation[] = [
      { op: 'createAgent', input: { id: 'b', name: 'B', model: 'm' } },
      { op: 'updateAgent', id: agent.id, patch: { name: 'renamed' } },
      { op: 'createSession', input: { id: 's2', mainAgentId: 'b' } },
      { op: 'updateSession', id: session.id, patch: { name: 'renamed', model: 'override' } },
      { op: 'addLogs', inputs: [{ sessionId: 's2', role: 'user', type: 'message', content: 1 }] },
      { op: 'updateLog', id: log.id, patch: { content: 2 } },
      { op: 'execute', sql: 'UPDATE agents SET description = ?', params: ['touched'] },
      { op: 'deleteLogs', sessionId: session.id },
      { op: 'deleteSession', id: session.id },
      { op: 'deleteAgent', id: agent.id },
    ]
    const failures: [BatchOperation, string][] = [
      [{ op: 'createAgent', input: { id: 'b', name: 'dup', model: 'm' } }, 'ALREADY_EXISTS'],
      [{ op: 'updateAgent', id: 'ghost', patch: { name: 'x' } }, 'NOT_FOUND'],
      [{ op: 'createSession', input: { mainAgentId: 'ghost' } }, 'NOT_FOUND'],
      [{ op: 'updateSessionStatus', id: 'ghost', status: 'failed' }, 'NOT_FOUND'],
      [{ op: 'addLog', input: { sessionId: 'ghost', role: 'user', type: 'message', content: 1 } }, 'NOT_FOUND'],
      [{ op: 'updateLog', id: 999_999, patch: { content: 1 } }, 'NOT_FOUND'],
      [{ op: 'execute', sql: "INSERT INTO agents (id, name, model) VALUES ('b', 'n', 'm')" }, 'ALREADY_EXISTS'],
      [{ op: 'execute', sql: 'INSERT INTO nowhere VALUES (1)' }, 'SQL_ERROR'],
    ]
    for (const [failing, code] of failures) {
      await expectCode(db.batch([...earlier, failing]), code, `operations[${earlier.length}]`)
      expect(await snapshot(db)).toBe(before)
    }
    const results = await db.batch(earlier)
    expect(results.slice(6)).toEqual([{ changes: 2, lastInsertRowid: expect.any(Number) }, 1, true, true])
    expect(await counts(db)).toEqual({ agents: 1, sessions: 1, logs: 1, orphans: 0 })
    expect(await db.batch([])).toEqual([])
  })

  it('sends nothing when the app throws while building the operations', async () => {
    const { db, session } = await seeded()
    const before = await snapshot(db)
    const build = (): BatchOperation[] => {
      const operations: BatchOperation[] = [{ op: 'updateSessionStatus', id: session.id, status: 'completed' }]
      operations.push({ op: 'addLog', input: { sessionId: session.id, role: 'agent', type: 'message', content: 'final' } })
      throw new Error('the app failed midway')
    }
    await expect(async () => db.batch(build())).rejects.toThrow('the app failed midway')
    // An operation whose fields throw while the addon reads them is refused as a whole.
    const throwing = {
      op: 'addLog',
      input: {
        sessionId: session.id,
        role: 'agent',
        type: 'message',
        get content(): string {
          throw new Error('getter failed')
        },
      },
    } as unknown as BatchOperation
    const ops: BatchOperation[] = [{ op: 'updateSessionStatus', id: session.id, status: 'completed' }, throwing]
    await expectCode(db.batch(ops), 'INVALID_ARGUMENT', 'getter failed')
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('proxy failed') } }) as BatchOperation
    await expectCode(db.batch([ops[0], proxy]), 'INVALID_ARGUMENT', 'proxy failed')
    expect(await snapshot(db)).toBe(before)
    // The database is not left inside a transaction: the next batch commits.
    await db.batch([ops[0]])
    expect((await db.getSession(session.id))?.status).toBe('completed')
  })

  it('runs batches queued together independently: one failing leaves the others whole', async () => {
    const { db, agent } = await seeded()
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        db.batch([
          { op: 'createSession', input: { id: `s${i}`, mainAgentId: agent.id } },
          i % 3 === 0
            ? { op: 'addLog', input: { sessionId: 'ghost', role: 'user', type: 'message', content: i } }
            : { op: 'addLog', input: { sessionId: `s${i}`, role: 'user', type: 'message', content: i } },
        ]),
      ),
    )
    expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 'rejected' : 'fulfilled')))
    const ids = (await db.query("SELECT id FROM sessions WHERE id <> 'session'")).map((r) => r.id)
    expect(ids.sort()).toEqual(['s1', 's10', 's11', 's2', 's4', 's5', 's7', 's8'])
    expect(await counts(db)).toEqual({ agents: 1, sessions: 9, logs: 8, orphans: 0 })
  })
})
