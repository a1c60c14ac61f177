'use strict'
// Prints "ready" once loaded, waits for a line on stdin, then opens the database named on the
// command line, registers the counting migrations, migrates, prints the applied migrations
// (`namespace id`) as JSON
// and closes. Used by the spec that races two processes opening and migrating one new file.
const { createInterface } = require('node:readline')
const { Database } = require('../../index.js')

/** 003 creates `runs`; 004 to 008 each add a row to it, so a migration run twice shows. */
function countingMigrations() {
  const migrations = [{ id: '003', description: 'runs table', up: ['CREATE TABLE runs (id TEXT NOT NULL)'], down: ['DROP TABLE runs'] }]
  for (let n = 4; n <= 8; n++) {
    const id = String(n).padStart(3, '0')
    migrations.push({ id, description: `run ${id}`, up: [`INSERT INTO runs VALUES ('${id}'); CREATE TABLE t${n} (x)`], down: [`DROP TABLE t${n}`] })
  }
  return migrations
}

async function main(path) {
  process.stdout.write('ready\n')
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve))
  const db = await Database.open(path)
  try {
    await db.addMigrations(countingMigrations())
    const results = await db.migrate()
    process.stdout.write(`${JSON.stringify({ applied: results.map((r) => `${r.migration.namespace} ${r.migration.id}`) })}\n`)
  } finally {
    await db.close()
  }
}

module.exports = { countingMigrations }

if (require.main === module) {
  main(process.argv[2]).catch((err) => {
    process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`)
    process.exitCode = 1
  })
}
