'use strict'
// The schemas the peers are measured on, as directories of up migrations: the built-in
// migrations (migrations/*.up.sql, this addon's schema), the reference module's bare tables
// (bench/sql/reference/), and the built-in migrations without their FTS5 tables (for the
// engine that has no FTS5). The peers apply them with the same minimal migrator as the Rust floor:
// one transaction per migration, and a tracking row with its checksum.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

/** Each schema's directory of `NNN_name.up.sql` files; `agentdb-nofts`'s is written by
 *  `writeDerivedSchemas`. */
const SCHEMAS = {
  agentdb: path.join(__dirname, '..', '..', 'migrations'),
  bare: path.join(__dirname, '..', 'sql', 'reference'),
  'agentdb-nofts': path.join(__dirname, '..', 'results', 'tmp', 'migrations-nofts'),
}

/** The search index's FTS5 tables in a migration. */
const FTS5_TABLE = /CREATE VIRTUAL TABLE\s+\w+\s+USING\s+fts5\s*\([^;]*\);\n?/g

/** Writes `agentdb-nofts`: the built-in migrations with their FTS5 virtual tables left out,
 *  everything else (the triggers that record the rows to index, the tables they record
 *  into, every CHECK and index) as it is. An engine without FTS5 cannot create those tables,
 *  and cannot read a file that holds them (@tursodatabase/database then loads no index of
 *  the file, and refuses every foreign key whose parent key is a UNIQUE column). */
function writeDerivedSchemas() {
  const dir = SCHEMAS['agentdb-nofts']
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (const file of fs.readdirSync(SCHEMAS.agentdb).filter((f) => f.endsWith('.up.sql'))) {
    const sql = fs.readFileSync(path.join(SCHEMAS.agentdb, file), 'utf8')
    fs.writeFileSync(path.join(dir, file), sql.replace(FTS5_TABLE, ''))
  }
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

module.exports = { SCHEMAS, writeDerivedSchemas, readMigrations, migrations, checksum }
