'use strict'
// Opens the database named on the command line, adds one log per further argument (to
// session s1, one call each, all in flight at once) and kills itself with SIGKILL the moment
// the last resolves, before the writer is idle: the search index has rows still recorded
// and not indexed, and the process never closes the database.
const { Database } = require('../../index.js')

async function main() {
  const [path, ...texts] = process.argv.slice(2)
  const db = await Database.open(path)
  await Promise.all(texts.map((text) => db.addLog({ sessionId: 's1', role: 'user', type: 'message', content: { text } })))
  process.kill(process.pid, 'SIGKILL')
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
