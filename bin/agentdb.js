#!/usr/bin/env node
'use strict'
// The `agentdb` command line.

const { Database } = require('..')

async function main(argv) {
  const [command = 'migrate', file = './agents.db'] = argv
  if (command !== 'migrate') throw Object.assign(new Error(`unknown command ${command}`), { code: 'USAGE' })
  const db = await Database.open(file)
  try {
    const results = await db.migrate()
    for (const r of results) console.log(`applied ${r.migration.id} ${r.migration.description} (${r.executionTime.toFixed(1)} ms)`)
    console.log(JSON.stringify(await db.getMigrationSummary(), null, 2))
  } finally {
    await db.close()
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`${err.code ?? 'ERROR'}: ${err.message}`)
  process.exitCode = 1
})
