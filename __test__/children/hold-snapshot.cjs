'use strict'
// Holds a read transaction on the database named second, with the addon named first: one
// long query that reads a table, whose snapshot stays open while it runs. Prints
// `{"event":"reading"}` once it has read, and runs until it is killed (or for a minute).
const { Database } = require(process.argv[2])

;(async () => {
  const db = await Database.open(process.argv[3])
  await db.query('SELECT count(*) FROM agents')
  const slow =
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c, (SELECT count(*) FROM agents)'
  const held = db.query(slow, [], { timeoutMs: 60_000 }).catch(() => {})
  // The reader thread takes the statement at once; a moment later its snapshot is open.
  setTimeout(() => process.stdout.write(`${JSON.stringify({ event: 'reading' })}\n`), 500)
  await held
})()
