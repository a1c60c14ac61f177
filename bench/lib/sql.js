'use strict'
// The workload's SQL, one statement per file in bench/sql/, shared with the Rust floor.

const fs = require('node:fs')
const path = require('node:path')

const dir = path.join(__dirname, '..', 'sql')
const sql = {}
for (const file of fs.readdirSync(dir)) {
  if (file.endsWith('.sql')) sql[path.basename(file, '.sql')] = fs.readFileSync(path.join(dir, file), 'utf8')
}

module.exports = sql
