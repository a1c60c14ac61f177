'use strict'
// Opens the database named first on the command line with the addon named second (a copy
// the child's user can read) and prints the outcome as JSON: used to open a file as another
// user.
const { Database } = require(process.argv[3])

Database.open(process.argv[2]).then(
  (db) => db.close().then(() => process.stdout.write(`${JSON.stringify({ opened: true })}\n`)),
  (err) => process.stdout.write(`${JSON.stringify({ code: err.code, message: err.message })}\n`),
)
