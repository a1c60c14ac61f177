'use strict'
// What the schema's CHECKs cost: better-sqlite3 inserting logs into the tables as built-in
// migration 002 left them (enumerations as `IN (…)` lists) and as 003 rebuilds them (OR chains
// and type checks), in the same run, rounds interleaved. `node bench/schema.js [--rows N]
// [--runs N]` prints rows/s for each and their ratio.
const Database = require('better-sqlite3')

const { migrations } = require('./lib/migrations')

function args(argv) {
  const out = { rows: 200_000, runs: 3 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rows') out.rows = Number(argv[++i])
    else if (argv[i] === '--runs') out.runs = Number(argv[++i])
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  return out
}

/** A new in-memory database with the built-in migrations up to and including `last`. */
function open(last) {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = OFF')
  for (const m of migrations.filter((m) => m.id <= last)) db.exec(m.sql)
  db.pragma('foreign_keys = ON')
  db.exec("INSERT INTO agents (id, name, model) VALUES ('a', 'n', 'm'); INSERT INTO sessions (id, main_agent_id) VALUES ('s', 'a')")
  return db
}

/** Rows per second inserting `rows` logs in transactions of 1000. */
function insertRate(db, rows) {
  const insert = db.prepare("INSERT INTO session_logs (session_id, role, type, content) VALUES ('s', 'agent', 'message', ?)")
  const batch = db.transaction((from) => {
    for (let i = from; i < from + 1000; i++) insert.run(`{"text":"message ${i}"}`)
  })
  const started = process.hrtime.bigint()
  for (let i = 0; i < rows; i += 1000) batch(i)
  return rows / (Number(process.hrtime.bigint() - started) / 1e9)
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const { rows, runs } = args(process.argv.slice(2))
const rates = { '002': [], '003': [] }
for (let run = 0; run < runs; run++) {
  for (const schema of run % 2 === 0 ? ['002', '003'] : ['003', '002']) {
    const db = open(schema)
    rates[schema].push(insertRate(db, rows))
    db.close()
  }
}
const [before, after] = [median(rates['002']), median(rates['003'])]
console.log(`better-sqlite3, ${rows} log inserts per run, median of ${runs} interleaved runs:`)
console.log(`  schema of 002 (IN lists):            ${Math.round(before)} rows/s`)
console.log(`  schema of 003 (OR chains and types): ${Math.round(after)} rows/s`)
console.log(`  ratio 003 / 002: ${(after / before).toFixed(2)}x`)
