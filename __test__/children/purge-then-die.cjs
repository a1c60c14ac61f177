'use strict'
// Opens the database named on the command line and purges every session of it (olderThan a
// time far ahead), and kills itself with SIGKILL as soon as it sees, between two chunks,
// that some sessions are gone and some are left: a purge cut short in the middle, with the
// database never closed. Prints {"event":"finished"} instead if the purge ended first.
const { Database } = require('../../index.js')

async function main() {
  const db = await Database.open(process.argv[2])
  const total = await db.countSessions()
  let finished = false
  const purge = db.purge({ olderThan: '9999-01-01T00:00:00.000Z' }).then(() => {
    finished = true
  })
  while (!finished) {
    const left = await db.countSessions()
    if (left > 0 && left < total) process.kill(process.pid, 'SIGKILL')
  }
  await purge
  process.stdout.write(`${JSON.stringify({ event: 'finished' })}\n`)
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
