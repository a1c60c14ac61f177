'use strict'
// The built-in migrations' up SQL (migrations/*.up.sql), applied by the peers with the same
// minimal migrator as the Rust floor: one transaction per migration, and a tracking row with
// its checksum.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const dir = path.join(__dirname, '..', '..', 'migrations')

/** Every up migration, in id order: `{ id, description, sql }`. */
const migrations = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.up.sql'))
  .sort()
  .map((file) => {
    const sql = fs.readFileSync(path.join(dir, file), 'utf8')
    const description = (/^--\s*description:\s*(.*)$/m.exec(sql) ?? [])[1]?.trim() ?? ''
    return { id: file.split('_')[0], description, sql }
  })

/** SHA-256 of the text with line endings normalised, in hex. */
const checksum = (sql) => crypto.createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex')

module.exports = { dir, migrations, checksum }
