'use strict'
// The schema commands: status, migrate, rollback, validate, repair.
//
// Migrations live in namespaces: the library's own ('agentdb'), the app's ('app', the
// default of addMigrations) and any a plugin names. Output names a library migration by its
// id alone (`002`) and any other by namespace and id (`app 003`).

const fs = require('node:fs')
const path = require('node:path')
const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { CliError, EXIT, usage } = require('../exit-codes')
const { formatBytes, formatMs } = require('../output')

/** The namespace of the library's own migrations. */
const LIBRARY = 'agentdb'

/** The library's tables: rolling back its migrations drops them and their rows. */
const LIBRARY_TABLES = ['agents', 'sessions', 'session_logs', 'usage_records']

/** `--migrations FILE`, shared by every command that compares the database with a build. */
const migrationsOption = {
  migrations: {
    type: 'string',
    arg: 'FILE',
    help: 'a .js or .json module exporting the app\'s own migrations (an array, as for addMigrations)',
  },
}

/** `--namespace NS`, the namespace of the id given with `--to` or `--ids`. */
function namespaceOption(what) {
  return { namespace: { type: 'string', arg: 'NS', help: `the namespace of ${what} (agentdb: the library's; app: the app's default)` } }
}

/**
 * Opens the database (`open`: `create`, `readOnly`, as for `openOptionsFrom`) and registers
 * the app migrations named by `--migrations`, if any.
 */
async function withMigrations(file, options, open, work) {
  const extra = options.migrations === undefined ? null : loadMigrations(options.migrations)
  return withDatabase(file, openOptionsFrom(options, open), async (db) => {
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

/** A migration as output names it: `002` for the library's, `app 003` for another namespace's. */
function label(migration) {
  return migration.namespace === LIBRARY || !migration.namespace ? migration.id : `${migration.namespace} ${migration.id}`
}

/**
 * `Schema version 002: 2 of 2 migrations applied, 0 pending`: the library's schema version,
 * then the totals; the pending ones are named from `migrations` (listMigrations) when given.
 */
function summaryLine(summary, migrations) {
  const names = migrations ? migrations.filter((m) => m.state === 'pending').map(label) : summary.pendingMigrationIds
  const pending = summary.pendingMigrations ? `${summary.pendingMigrations} pending (${names.join(', ')})` : '0 pending'
  return `Schema version ${summary.currentVersion ?? 'none'}: ${summary.appliedMigrations} of ${summary.totalMigrations} migrations applied, ${pending}`
}

/** `Namespace app: version 004, 2 applied, 0 pending`, one per namespace, in run order. */
function namespaceLines(summary) {
  return summary.namespaces.map(
    (n) => `Namespace ${n.namespace}: version ${n.currentVersion ?? 'none'}, ${n.appliedMigrations} applied, ${n.pendingMigrations} pending`,
  )
}

/** The size of the database file and of its write-ahead log, when there is one. */
function fileSizes(file) {
  const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : null)
  return { size: size(file) ?? 0, walSize: size(`${file}-wal`) }
}

/**
 * Every table (the migrations table included) with its row count. Virtual tables and the
 * tables they keep their data in (the search index's) are left out: `check` verifies them.
 */
async function tableCounts(db) {
  const tables = await db.query(
    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
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
  summary: 'show the schema version of each namespace, every migration\'s state, row counts and file size',
  positionals: [databaseArgument],
  options: migrationsOption,
  description:
    'The schema version is the library\'s (namespace agentdb); each namespace (the app\'s, a plugin\'s) has its own ' +
    'line. States: applied (with when and how long it took), pending (this build would apply it), modified ' +
    '(applied, but this build\'s SQL differs), unknown (applied, but this build does not know it: a newer build ' +
    'applied it, or an app migration not given with --migrations).',
  async run({ positionals: { db: file }, options }, out) {
    const report = await withMigrations(file, options, { readOnly: true }, async (db) => ({
      summary: await db.getMigrationSummary(),
      migrations: await db.listMigrations(),
      tables: await tableCounts(db),
    }))
    const { size, walSize } = fileSizes(file)
    out.data({ path: file, size, walSize, ...report })
    out.line(`Database ${file}: ${formatBytes(size)}${walSize === null ? '' : ` (+ ${formatBytes(walSize)} write-ahead log)`}`)
    out.line(summaryLine(report.summary, report.migrations))
    for (const line of namespaceLines(report.summary)) out.line(line)
    out.line()
    out.table(
      [
        ['NAMESPACE', (m) => m.namespace],
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

/** `--namespace` is only a qualifier of `--to`. */
function targetOf(options, flag = 'to') {
  if (options.namespace !== undefined && options[flag] === undefined) {
    throw usage(`--namespace names the namespace of --${flag}, which is missing`)
  }
  return { to: options[flag], namespace: options.namespace }
}

/** The file `migrate --backup` writes: `<db>.before-<first id>.bak`, `<db>.before-app-003.bak`. */
function migrateBackupPath(file, first) {
  const namespace = first.namespace.replace(/[^A-Za-z0-9]/g, '-')
  return `${path.resolve(file)}.before-${first.namespace === LIBRARY ? first.id : `${namespace}-${first.id}`}.bak`
}

const migrate = {
  name: 'migrate',
  summary: 'apply pending migrations (creates the database if it does not exist, except with --dry-run)',
  positionals: [databaseArgument],
  options: {
    'dry-run': { type: 'boolean', help: 'show what would be applied and change nothing' },
    limit: { type: 'string', arg: 'N', help: 'apply at most N migrations' },
    to: { type: 'string', arg: 'ID', help: 'apply migrations up to and including ID, in run order' },
    ...namespaceOption('--to, when several namespaces have that id'),
    backup: { type: 'boolean', help: 'first copy the database to <db>.before-<first id>.bak' },
    ...migrationsOption,
  },
  description:
    'Migrations run in one order: the library\'s (agentdb) first, then each other namespace in the order it was ' +
    'registered, each in id order. Each migration runs in its own transaction with its tracking row; a failure ' +
    'rolls that migration back and stops.',
  async run({ positionals: { db: file }, options }, out) {
    const limit = options.limit === undefined ? undefined : wholeNumber(options.limit, 'limit', 1)
    const { to, namespace } = targetOf(options)
    const progress = out.progress()
    const migrateOptions = {
      dryRun: options['dry-run'] ?? false,
      limit,
      to,
      ...(namespace === undefined ? {} : { namespace }),
      backup: options.backup ?? false,
      onProgress: (event) => {
        if (event.phase === 'start') {
          progress.update(`Migrating ${event.index + 1}/${event.total}: ${label(event.migration)} ${event.migration.description}`)
        }
      },
    }
    let outcome
    try {
      outcome = await withMigrations(file, options, { create: !migrateOptions.dryRun }, async (db) => ({
        results: await db.migrate(migrateOptions),
        summary: await db.getMigrationSummary(),
        migrations: await db.listMigrations(),
      }))
    } catch (err) {
      progress.clear()
      if (Array.isArray(err.results)) printResults(out, err.results, 'Applied')
      throw err
    }
    progress.clear()
    const { results, summary, migrations } = outcome
    const dryRun = migrateOptions.dryRun
    const backup = migrateOptions.backup && !dryRun && results.length > 0 ? migrateBackupPath(file, results[0].migration) : undefined
    out.data({ results, summary, ...(backup ? { backup } : {}) })
    if (backup) out.line(`Backed up to ${backup}`)
    if (results.length === 0) out.line('Nothing to migrate.')
    printResults(out, results, dryRun ? 'Would apply' : 'Applied')
    if (dryRun && results.length > 0) out.line('Dry run: nothing was changed.')
    out.line(summaryLine(summary, migrations))
    return EXIT.OK
  },
}

/** One line per result: `Applied 001 Create … (1.2 ms)`, or the failure. */
function printResults(out, results, verb) {
  for (const r of results) {
    const what = `${label(r.migration)} ${r.migration.description}`
    if (!r.success) out.line(`Failed ${what}: ${r.error}`)
    else if (r.dryRun) out.line(`${verb} ${what}`)
    else out.line(`${verb} ${what} (${formatMs(r.executionTime)})`)
  }
}

/** A migration id's numeric value (ids are digit strings of any length). */
function version(id) {
  return /^\d+$/.test(id) ? BigInt(id) : null
}

/**
 * What a rollback would undo, newest first, worked out from `listMigrations` (which lists in
 * run order) as the library does it: the applied migration that runs last, or (with `to`)
 * every applied migration that runs after migration `to` of `namespace` (without one, of the
 * only namespace with that id; `000` without one: everything).
 */
function rollbackPlan(migrations, to, namespace) {
  const order = [...new Set(migrations.map((m) => m.namespace))]
  const position = (m) => [order.indexOf(m.namespace), version(m.id)]
  const after = ([rankA, versionA], [rankB, versionB]) => rankA > rankB || (rankA === rankB && versionA > versionB)
  const applied = migrations.filter((m) => m.state !== 'pending' && version(m.id) !== null)
  const newestFirst = (list) => [...list].sort((a, b) => (after(position(a), position(b)) ? -1 : after(position(b), position(a)) ? 1 : 0))
  if (to === undefined) return newestFirst(applied).slice(0, 1)
  const target = version(to)
  if (target === null) throw new CliError('INVALID_ARGUMENT', `--to must be a migration id such as 002, got "${to}"`)
  let rank
  if (namespace !== undefined) {
    rank = order.indexOf(namespace)
    if (rank < 0) throw new CliError('INVALID_ARGUMENT', `no migration of the namespace "${namespace}" is known`)
  } else {
    const owners = [...new Set(migrations.filter((m) => version(m.id) === target).map((m) => m.namespace))]
    if (owners.length > 1) {
      throw new CliError('INVALID_ARGUMENT', `migration ${to} exists in the namespaces ${owners.join(' and ')}: give --namespace`)
    }
    if (owners.length === 0 && target !== 0n) {
      throw new CliError('INVALID_ARGUMENT', `no migration ${to} is known; give --namespace if it has one`)
    }
    rank = owners.length ? order.indexOf(owners[0]) : -1
  }
  return newestFirst(applied.filter((m) => after(position(m), [rank, target])))
}

/** Why the library would refuse to undo `m`, or null when it can. */
function irreversible(m, allowRecordedSql) {
  if (m.reversible) return null
  if (m.recordedDown && allowRecordedSql) return null
  if (m.recordedDown) return 'only the down SQL recorded in the database could undo it: --allow-recorded-sql'
  return 'it has no down SQL'
}

/** Rows held by the library's tables that exist. */
async function libraryRows(db) {
  const counts = []
  for (const table of LIBRARY_TABLES) {
    const [{ n }] = await db.query("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?", [table])
    if (n) counts.push({ name: table, rows: (await db.query(`SELECT count(*) AS n FROM "${table}"`))[0].n })
  }
  return counts.filter((t) => t.rows > 0)
}

/** `20261201T221500123Z`: a moment as a file name part. */
function fileStamp(date = new Date()) {
  return date.toISOString().replace(/[-:.]/g, '')
}

const rollback = {
  name: 'rollback',
  summary: 'roll back the last applied migration, or every one after --to; backs up first',
  positionals: [databaseArgument],
  options: {
    to: { type: 'string', arg: 'ID', help: 'roll back every migration that runs after ID (000: everything)' },
    ...namespaceOption('--to, when several namespaces have that id'),
    'dry-run': { type: 'boolean', help: 'show what would be rolled back and change nothing' },
    'no-backup': { type: 'boolean', help: 'do not copy the database to <db>.before-rollback-<time>.bak first' },
    force: { type: 'boolean', help: 'roll back the library\'s own migrations even though its tables hold rows' },
    'allow-recorded-sql': {
      type: 'boolean',
      help: 'undo migrations this build does not know with the down SQL recorded in the database',
    },
    ...migrationsOption,
  },
  description:
    'Runs the down SQL, newest first in run order (the app\'s migrations run after the library\'s, so rolling back ' +
    'to a library migration undoes every app migration too), one transaction each. Down migrations drop tables and ' +
    'their rows: the database is copied first unless --no-backup, and the library\'s own migrations are not rolled ' +
    'back while agents, sessions, session_logs or usage_records hold rows unless --force. Down SQL recorded in the database for a ' +
    'migration this build does not know runs only with --allow-recorded-sql: the file may come from anywhere.',
  async run({ positionals: { db: file }, options }, out) {
    const { to, namespace } = targetOf(options)
    const dryRun = options['dry-run'] ?? false
    const allowRecordedSql = options['allow-recorded-sql'] ?? false
    const outcome = await withMigrations(file, options, {}, async (db) => {
      const plan = rollbackPlan(await db.listMigrations(), to, namespace)
      const library = plan.filter((m) => m.namespace === LIBRARY)
      const rows = library.length ? await libraryRows(db) : []
      const refused = library.length > 0 && rows.length > 0 && !options.force
      if (dryRun) return { dryRun, plan, rows, refused, summary: await db.getMigrationSummary(), migrations: await db.listMigrations() }
      if (refused) {
        const held = rows.map((t) => `${t.name} ${t.rows}`).join(', ')
        throw new CliError(
          'REFUSED',
          `rolling back would undo the library's own migrations ${library.map(label).join(', ')} while its tables hold rows ` +
            `(${held}): their down SQL drops tables and the rows in them. Nothing was changed. See what would be undone ` +
            'with --dry-run; pass --force to roll back anyway (a backup is taken first unless --no-backup)',
        )
      }
      let backup
      const undoable = plan.every((m) => irreversible(m, allowRecordedSql) === null)
      if (plan.length > 0 && undoable && !options['no-backup'] && file !== ':memory:') {
        backup = `${path.resolve(file)}.before-rollback-${fileStamp()}.bak`
        await db.backup(backup)
        out.line(`Backed up to ${backup}`)
      }
      const rollbackOptions = { allowRecordedSql }
      const results =
        to === undefined
          ? [await db.rollbackLast(rollbackOptions)].filter(Boolean)
          : await db.rollbackTo(to, { ...rollbackOptions, ...(namespace === undefined ? {} : { namespace }) })
      return { results, backup, summary: await db.getMigrationSummary(), migrations: await db.listMigrations() }
    })
    if (outcome.dryRun) {
      const { plan, rows, refused, summary, migrations } = outcome
      out.data({ dryRun: true, plan, refused, libraryRows: rows, summary })
      if (plan.length === 0) out.line('Nothing to roll back.')
      for (const m of plan) {
        const why = irreversible(m, allowRecordedSql)
        const how = !m.reversible && m.recordedDown && allowRecordedSql ? ' (with the down SQL recorded in the database)' : ''
        out.line(`Would roll back ${label(m)} ${m.description}${how}${why ? ` — refused: ${why}` : ''}`)
      }
      if (refused) {
        const held = rows.map((t) => `${t.name} ${t.rows}`).join(', ')
        out.line(`Refused without --force: the library's tables hold rows (${held}).`)
      }
      if (plan.length > 0) out.line('Dry run: nothing was changed.')
      out.line(summaryLine(summary, migrations))
      return EXIT.OK
    }
    const { results, backup, summary, migrations } = outcome
    out.data({ results, summary, ...(backup ? { backup } : {}) })
    if (results.length === 0) out.line('Nothing to roll back.')
    printResults(out, results, 'Rolled back')
    out.line(summaryLine(summary, migrations))
    return EXIT.OK
  },
}

const validate = {
  name: 'validate',
  summary: 'compare the applied migrations with this build (checksums, unknown, order, gaps, requirements, drift)',
  positionals: [databaseArgument],
  options: migrationsOption,
  description: `Exits with ${EXIT.CHECK_FAILED} when there are errors; warnings alone do not fail.`,
  async run({ positionals: { db: file }, options }, out) {
    const result = await withMigrations(file, options, { readOnly: true }, (db) => db.validateMigrations())
    out.data(result)
    const what = (issue) => (issue.migrationId ? ` ${label({ namespace: issue.namespace, id: issue.migrationId })}` : '')
    for (const issue of result.errors) out.line(`error   ${issue.code}${what(issue)}: ${issue.message}`)
    for (const issue of result.warnings) out.line(`warning ${issue.code}${what(issue)}: ${issue.message}`)
    out.line(
      result.isValid
        ? `Valid (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}).`
        : `Invalid: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}.`,
    )
    return result.isValid ? EXIT.OK : EXIT.CHECK_FAILED
  },
}

/** `--ids 003,004` → `['003', '004']`. */
function idList(text) {
  if (text === undefined) {
    throw usage('repair needs --ids ID[,ID…]: the modified migrations whose new SQL to accept ("agentdb validate" lists them)')
  }
  const ids = text.split(',').map((id) => id.trim())
  if (ids.some((id) => id === '')) throw usage(`--ids must be a comma-separated list of migration ids, got "${text}"`)
  return ids
}

const repair = {
  name: 'repair',
  summary: 'accept edited migrations: re-record the checksums of the modified migrations given with --ids',
  positionals: [databaseArgument],
  options: {
    ids: { type: 'string', arg: 'ID,…', help: 'the modified migrations to accept, e.g. 003,004' },
    ...namespaceOption('--ids, when an id is modified in several namespaces'),
    'dry-run': { type: 'boolean', help: 'show what would be re-recorded and change nothing' },
    ...migrationsOption,
  },
  description:
    'Only for a migration whose SQL was edited after it was applied (same description): its new checksum and down SQL ' +
    'are recorded, all or none. A different migration under the same id, an unknown, pending or unchanged one is ' +
    'refused: give a different migration an id of its own instead.',
  async run({ positionals: { db: file }, options }, out) {
    const ids = idList(options.ids)
    const dryRun = options['dry-run'] ?? false
    const result = await withMigrations(file, options, {}, (db) =>
      db.repairMigrations({ ids, dryRun, ...(options.namespace === undefined ? {} : { namespace: options.namespace }) }),
    )
    out.data({ ...result, dryRun })
    for (const r of result.repaired) {
      out.line(`${dryRun ? 'Would re-record' : 'Re-recorded'} ${label(r)}: ${r.oldChecksum} -> ${r.newChecksum}`)
      if (JSON.stringify(r.oldDown) !== JSON.stringify(r.newDown)) {
        out.line(`  down SQL: ${JSON.stringify(r.oldDown)} -> ${JSON.stringify(r.newDown)}`)
      }
    }
    if (dryRun) out.line('Dry run: nothing was changed.')
    return EXIT.OK
  },
}

module.exports = { status, migrate, rollback, validate, repair, rollbackPlan }
