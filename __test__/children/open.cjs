'use strict'
// Opens the database named on the command line and prints the outcome as JSON: used to open
// a file as another user.
const { Database } = require('../../index.js')

Database.open(process.argv[2]).then(
  (db) => db.close().then(() => process.stdout.write(`${JSON.stringify({ opened: true })}\n`)),
  (err) => process.stdout.write(`${JSON.stringify({ code: err.code, message: err.message })}\n`),
)
