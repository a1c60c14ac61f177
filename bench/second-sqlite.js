#!/usr/bin/env node
'use strict'
// `node bench/second-sqlite.js [rounds]` (after `npm ci` in bench/, which builds better-sqlite3)
//
// The hazard of a second SQLite library in one process (https://sqlite.org/howtocorrupt.html,
// section 2.2.1): better-sqlite3 carries its own SQLite, whose POSIX locks this library's
// SQLite cannot see. Each round opens a database with better-sqlite3 (read-only, as an app
// that merely peeks at the file), then opens it with @cherry/agentdb, which must refuse with
// OPEN_ELSEWHERE_IN_PROCESS; once better-sqlite3 has closed it, the open succeeds. Prints one
// line of counts; exits 1 if any round was not refused. Not part of the CI suite: the peer
// driver needs a compile step.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const BetterSqlite3 = require('better-sqlite3')
const { Database } = require('..')

async function main() {
  const rounds = Number(process.argv[2] ?? 20)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentdb-second-sqlite-'))
  const file = path.join(dir, 'a.db')
  const link = path.join(dir, 'link.db')
  const seed = await Database.open(file)
  await seed.migrate()
  await seed.createAgent({ id: 'a1', name: 'A', model: 'm' })
  await seed.close()
  fs.symlinkSync(file, link)
  const counts = { refused: 0, opened: 0, other: 0, reopened: 0 }
  for (let round = 0; round < rounds; round++) {
    const peer = new BetterSqlite3(file, { readonly: true })
    peer.prepare('SELECT count(*) FROM agents').get()
    try {
      const db = await Database.open(round % 2 ? link : file)
      counts.opened++
      await db.close()
    } catch (err) {
      if (err.code === 'OPEN_ELSEWHERE_IN_PROCESS') counts.refused++
      else counts.other++
    }
    peer.close()
    const db = await Database.open(file)
    if ((await db.getAgent('a1'))?.id === 'a1') counts.reopened++
    await db.close()
  }
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(
    `better-sqlite3 holding the file (by its name or a symlink): ${counts.refused} of ${rounds} opens refused with ` +
      `OPEN_ELSEWHERE_IN_PROCESS, ${counts.opened} opened, ${counts.other} other errors; ${counts.reopened} of ${rounds} ` +
      'opened once it was closed',
  )
  process.exit(counts.refused === rounds && counts.reopened === rounds ? 0 : 1)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
