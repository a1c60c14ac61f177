'use strict'
// Reads results too large for a JavaScript value, in a process of its own: before they were
// refused, such a read ended the process. Arguments: the addon to load, the database file, the
// scenario, then its numbers. Prints one JSON line per step: `{ step, resolved?, code?, message?, ... }`.
//   write COUNT SIZE       adds COUNT logs of SIZE characters to a new session (through SQL, fast)
//   logs MAXBYTES          reads that session in one page, then in pages of MAXBYTES
//   query COUNT SIZE       one query of COUNT rows of SIZE characters, made by SQLite
const { Database } = require(process.argv[2])

const [file, scenario, ...numbers] = process.argv.slice(3)
const [first, second] = numbers.map(Number)

function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

async function step(name, call, describe) {
  try {
    const value = await call()
    print({ step: name, resolved: true, ...describe(value) })
  } catch (err) {
    print({ step: name, code: err.code, message: err.message })
  }
}

const ROWS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)'

async function write(db, count, size) {
  const agent = await db.createAgent({ name: 'writer', model: 'm' })
  const session = await db.createSession({ id: 'big', mainAgentId: agent.id })
  const now = new Date().toISOString()
  await db.execute(
    `INSERT INTO session_logs (session_id, role, type, content, created_at, updated_at)
     ${ROWS} SELECT ?, 'user', 'message', json_quote(printf('%.*c', ?, 'x')), ?, ? FROM c`,
    [count, session.id, size, now, now],
  )
  print({ step: 'written', rows: await db.countLogs(session.id) })
}

async function logs(db, maxBytes) {
  await step('getLogs', () => db.getLogs('big', { limit: 1000 }), (page) => ({ rows: page.items.length }))
  await step('getLatestLogs', () => db.getLatestLogs('big', 1000), (rows) => ({ rows: rows.length }))
  // The same rows in pages bounded by bytes, as the Electron guide reads them.
  let pages = 0
  let rows = 0
  let largest = 0
  let after
  do {
    const page = await db.getLogs('big', { limit: 1000, maxBytes, after })
    pages++
    rows += page.items.length
    largest = Math.max(largest, Buffer.byteLength(JSON.stringify(page.items)))
    after = page.nextCursor ?? undefined
  } while (after)
  print({ step: 'paged', pages, rows, largest })
  await step('getLatestLogs maxBytes', () => db.getLatestLogs('big', { limit: 1000, maxBytes }), (latest) => ({ rows: latest.items.length }))
}

async function query(db, count, size) {
  const sql = `${ROWS} SELECT x, printf('%.*c', ?, 'x') AS text FROM c`
  await step('query', () => db.query(sql, [count, size]), (result) => ({ rows: result.length }))
  await step('query small', () => db.query(sql, [2, 10]), (result) => ({ rows: result.length }))
}

;(async () => {
  const db = await Database.open(file)
  await db.migrate()
  if (scenario === 'write') await write(db, first, second)
  else if (scenario === 'logs') await logs(db, first)
  else await query(db, first, second)
  await db.close()
  print({ step: 'closed' })
})()
