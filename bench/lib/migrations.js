'use strict'
// The schemas the peers are measured on, as directories of up migrations: the built-in
// migrations (migrations/*.up.sql, this addon's schema) and the reference module's bare tables
// (bench/sql/reference/). The peers apply them with the same minimal migrator as the Rust floor:
// one transaction per migration, and a tracking row with its checksum.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

/** Each schema's directory of `NNN_name.up.sql` files. */
const SCHEMAS = {
  agentdb: path.join(__dirname, '..', '..', 'migrations'),
  bare: path.join(__dirname, '..', 'sql', 'reference'),
}

/** Every up migration of `dir`, in id order: `{ id, description, sql }`. */
const readMigrations = (dir) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.up.sql'))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8')
      const description = (/^--\s*description:\s*(.*)$/m.exec(sql) ?? [])[1]?.trim() ?? ''
      return { id: file.split('_')[0], description, sql }
    })

/** The built-in migrations. */
const migrations = readMigrations(SCHEMAS.agentdb)

/** SHA-256 of the text with line endings normalised, in hex. */
const checksum = (sql) => crypto.createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex')

module.exports = { SCHEMAS, readMigrations, migrations, checksum }
