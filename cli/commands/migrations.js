'use strict'
// The schema commands: status, migrate, rollback, validate, repair.

const fs = require('node:fs')
const path = require('node:path')
const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { EXIT, usage } = require('../exit-codes')
const { formatBytes, formatMs } = require('../output')

/** `--migrations FILE`, shared by every command that compares the database with a build. */
const migrationsOption = {
  migrations: {
    type: 'string',
    arg: 'FILE',
    help: 'a .js or .json module exporting the app\'s own migrations (an array, as for addMigrations)',
  },
}

/** Opens the database and registers the app migrations named by `--migrations`, if any. */
async function withMigrations(file, options, create, work) {
  const extra = options.migrations === undefined ? null : loadMigrations(options.migrations)
  return withDatabase(file, openOptionsFrom(options, create), async (db) => {
    if (extra) db.addMigrations(extra)
    return work(db)
  })
}

function loadMigrations(file) {
  let exported
  try {
    exported = require(path.resolve(file))
  } catch (err) {
    throw usage(`--migrations ${file}: ${String(err.message).split('\n')[0]}`)
  }
  const list = Array.isArray(exported) ? exported : exported?.migrations
  if (!Array.isArray(list)) throw usage(`--migrations ${file} must export an array of migrations (or { migrations })`)
  return list
}

/** `Schema version 002: 2 of 2 migrations applied, 0 pending`. */
function summaryLine(summary) {
  const pending = summary.pendingMigrations
    ? `${summary.pendingMigrations} pending (${summary.pendingMigrationIds.join(', ')})`
    : '0 pending'
  return `Schema version ${summary.currentVersion ?? 'none'}: ${summary.appliedMigrations} of ${summary.totalMigrations} migrations applied, ${pending}`
}

/** The size of the database file and of its write-ahead log, when there is one. */
function fileSizes(file) {
  const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : null)
  return { size: size(file) ?? 0, walSize: size(`${file}-wal`) }
}

/** Every table (the migrations table included) with its row count. */
async function tableCounts(db) {
  const tables = await db.query(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
  )
  const counts = []
  for (const { name } of tables) {
    const [row] = await db.query(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`)
    counts.push({ name, rows: row.n })
  }
  return counts
}

const status = {
  name: 'status',
  summary: 'show the schema version, every migration\'s state, row counts and file size',
  positionals: [databaseArgument],
  options: migrationsOption,
  description:
    'States: applied (with when and how long it took), pending (this build would apply it), modified ' +
    '(applied, but this build\'s SQL differs), unknown (applied by a build that knew a migration this one does not).',
  async run({ positionals: { db: file }, options }, out) {
    const report = await withMigrations(file, options, false, async (db) => ({
      summary: await db.getMigrationSummary(),
      migrations: await db.listMigrations(),
      tables: await tableCounts(db),
    }))
    const { size, walSize } = fileSizes(file)
    out.data({ path: file, size, walSize, ...report })
    out.line(`Database ${file}: ${formatBytes(size)}${walSize === null ? '' : ` (+ ${formatBytes(walSize)} write-ahead log)`}`)
    out.line(summaryLine(report.summary))
    out.line()
    out.table(
      [
        ['ID', (m) => m.id],
        ['STATE', (m) => m.state],
        ['APPLIED AT', (m) => m.appliedAt ?? ''],
        ['TIME', (m) => (m.executionTime === null ? '' : formatMs(m.executionTime)), 'right'],
        ['DESCRIPTION', (m) => m.description],
      ],
      report.migrations,
    )
    out.line()
    out.table([['TABLE', (t) => t.name], ['ROWS', (t) => t.rows, 'right']], report.tables)
    return EXIT.OK
  },
}

const migrate = {
  name: 'migrate',
  summary: 'apply pending migrations (creates the database if it does not exist, except with --dry-run)',
  positionals: [databaseArgument],
  options: {
    'dry-run': { type: 'boolean', help: 'show what would be applied and change nothing' },
    limit: { type: 'string', arg: 'N', help: 'apply at most N migrations' },
    to: { type: 'string', arg: 'ID', help: 'apply migrations up to and including ID' },
    backup: { type: 'boolean', help: 'first copy the database to <db>.before-<first id>.bak' },
    ...migrationsOption,
  },
  description: 'Each migration runs in its own transaction with its tracking row; a failure rolls that migration back and stops.',
  async run({ positionals: { db: file }, options }, out) {
    const limit = options.limit === undefined ? undefined : wholeNumber(options.limit, 'limit', 1)
    const progress = out.progress()
    const migrateOptions = {
      dryRun: options['dry-run'] ?? false,
      limit,
      to: options.to,
      backup: options.backup ?? false,
      onProgress: (event) => {
        if (event.phase === 'start') {
          progress.update(`Migrating ${event.index + 1}/${event.total}: ${event.migration.id} ${event.migration.description}`)
        }
      },
    }
    let outcome
    try {
      outcome = await withMigrations(file, options, !migrateOptions.dryRun, async (db) => ({
        results: await db.migrate(migrateOptions),
        summary: await db.getMigrationSummary(),
      }))
    } catch (err) {
      progress.clear()
      if (Array.isArray(err.results)) printResults(out, err.results, 'Applied')
      throw err
    }
    progress.clear()
    const { results, summary } = outcome
    const dryRun = migrateOptions.dryRun
    const backup = migrateOptions.backup && !dryRun && results.length > 0 ? `${path.resolve(file)}.before-${results[0].migration.id}.bak` : undefined
    out.data({ results, summary, ...(backup ? { backup } : {}) })
    if (backup) out.line(`Backed up to ${backup}`)
    if (results.length === 0) out.line('Nothing to migrate.')
    printResults(out, results, dryRun ? 'Would apply' : 'Applied')
    if (dryRun && results.length > 0) out.line('Dry run: nothing was changed.')
    out.line(summaryLine(summary))
    return EXIT.OK
  },
}

/** One line per result: `Applied 001 Create … (1.2 ms)`, or the failure. */
function printResults(out, results, verb) {
  for (const r of results) {
    const what = `${r.migration.id} ${r.migration.description}`
    if (!r.success) out.line(`Failed ${what}: ${r.error}`)
    else if (r.dryRun) out.line(`${verb} ${what}`)
    else out.line(`${verb} ${what} (${formatMs(r.executionTime)})`)
  }
}

const rollback = {
  name: 'rollback',
  summary: 'roll back the last applied migration, or every one above --to',
  positionals: [databaseArgument],
  options: {
    to: { type: 'string', arg: 'ID', help: 'roll back until ID is the current version (000: everything)' },
    ...migrationsOption,
  },
  description:
    'Runs the recorded down SQL, newest first, one transaction each. Down migrations drop tables and their rows: ' +
    'take a copy first with "agentdb backup".',
  async run({ positionals: { db: file }, options }, out) {
    const { results, summary } = await withMigrations(file, options, false, async (db) => {
      const results = options.to === undefined ? [await db.rollbackLast()].filter(Boolean) : await db.rollbackTo(options.to)
      return { results, summary: await db.getMigrationSummary() }
    })
    out.data({ results, summary })
    if (results.length === 0) out.line('Nothing to roll back.')
    printResults(out, results, 'Rolled back')
    out.line(summaryLine(summary))
    return EXIT.OK
  },
}

const validate = {
  name: 'validate',
  summary: 'compare the applied migrations with this build (checksums, unknown, order, gaps)',
  positionals: [databaseArgument],
  options: migrationsOption,
  description: `Exits with ${EXIT.CHECK_FAILED} when there are errors; warnings alone do not fail.`,
  async run({ positionals: { db: file }, options }, out) {
    const result = await withMigrations(file, options, false, (db) => db.validateMigrations())
    out.data(result)
    for (const issue of result.errors) out.line(`error   ${issue.code} ${issue.migrationId}: ${issue.message}`)
    for (const issue of result.warnings) out.line(`warning ${issue.code} ${issue.migrationId}: ${issue.message}`)
    out.line(
      result.isValid
        ? `Valid (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}).`
        : `Invalid: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}.`,
    )
    return result.isValid ? EXIT.OK : EXIT.CHECK_FAILED
  },
}

const repair = {
  name: 'repair',
  summary: 'accept edited migrations: re-record the checksums of modified applied migrations',
  positionals: [databaseArgument],
  options: migrationsOption,
  async run({ positionals: { db: file }, options }, out) {
    const result = await withMigrations(file, options, false, (db) => db.repairMigrations())
    out.data(result)
    if (result.repaired.length === 0) out.line('Nothing to repair: every applied migration matches this build.')
    for (const r of result.repaired) out.line(`Re-recorded ${r.id}: ${r.oldChecksum} -> ${r.newChecksum}`)
    return EXIT.OK
  },
}

module.exports = { status, migrate, rollback, validate, repair }
