'use strict'
// The file-level commands: backup and check.

const fs = require('node:fs')
const { databaseArgument } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { EXIT } = require('../exit-codes')
const { formatBytes } = require('../output')

const backup = {
  name: 'backup',
  summary: 'write a consistent copy of a database, even while an app is using it',
  positionals: [
    { name: 'db', help: 'the database to copy' },
    { name: 'dest', help: 'the file to write (an existing database there is replaced)' },
  ],
  options: {},
  description: 'Uses SQLite\'s online backup API; the copy is a single file (no write-ahead log beside it).',
  async run({ positionals: { db: file, dest }, options }, out) {
    const progress = out.progress()
    progress.waiting(`Backing up ${file}…`)
    try {
      await withDatabase(file, openOptionsFrom(options), (db) => db.backup(dest))
    } finally {
      progress.clear()
    }
    const size = fs.statSync(dest).size
    out.data({ source: file, destination: dest, size })
    out.line(`Backed up ${file} to ${dest} (${formatBytes(size)}).`)
    return EXIT.OK
  },
}

const check = {
  name: 'check',
  summary: 'check the file\'s integrity and its foreign keys',
  positionals: [databaseArgument],
  options: {
    quick: { type: 'boolean', help: 'a faster check that skips index contents' },
  },
  description: `Exits with ${EXIT.CHECK_FAILED} when a problem is found.`,
  async run({ positionals: { db: file }, options }, out) {
    const progress = out.progress()
    progress.waiting(`Checking ${file}…`)
    let report
    try {
      report = await withDatabase(file, openOptionsFrom(options, { readOnly: true }), (db) => db.integrityCheck({ full: !options.quick }))
    } finally {
      progress.clear()
    }
    out.data(report)
    for (const error of report.integrityErrors) out.line(`integrity: ${error}`)
    for (const v of report.foreignKeyViolations) {
      out.line(`foreign key: ${v.table} row ${v.rowid ?? '?'} refers to a missing ${v.parent} row (${v.columns.join(', ')})`)
    }
    const unlisted = report.foreignKeyViolationCount - report.foreignKeyViolations.length
    if (unlisted > 0) out.line(`foreign key: … and ${unlisted} more`)
    for (const b of report.badValues) out.line(`bad value: ${b.table} row ${b.rowId}, column ${b.column}, holds ${b.holds}`)
    const unlistedValues = report.badValueCount - report.badValues.length
    if (unlistedValues > 0) out.line(`bad value: … and ${unlistedValues} more`)
    out.line(
      report.ok
        ? `OK: no integrity errors, no foreign key violations, no bad values (${report.mode} check).`
        : `Found ${report.integrityErrors.length} integrity error(s), ${report.foreignKeyViolationCount} foreign key violation(s) ` +
            `and ${report.badValueCount} row(s) holding bad values.`,
    )
    return report.ok ? EXIT.OK : EXIT.CHECK_FAILED
  },
}

module.exports = { backup, check }
