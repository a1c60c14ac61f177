'use strict'
// The life of the data: purging on purpose, handing space back, and what takes it.

const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { EXIT } = require('../exit-codes')
const { formatBytes } = require('../output')

const purge = {
  name: 'purge',
  summary: 'remove for good the sessions that match every criterion given (at least one)',
  positionals: [databaseArgument],
  options: {
    'trashed-before': { type: 'string', arg: 'TIME', help: 'sessions (and agents) moved to the trash before TIME (ISO-8601 UTC)' },
    'older-than': { type: 'string', arg: 'TIME', help: 'sessions whose last activity is before TIME (ISO-8601 UTC)' },
    'keep-latest': { type: 'string', arg: 'N', help: "keep each agent's N most recently active sessions" },
    sessions: { type: 'string', arg: 'ID,…', help: 'only these sessions' },
    'dry-run': { type: 'boolean', help: 'show what would be removed and change nothing' },
  },
  description: 'Nothing is purged without a criterion. Runs in short chunks, so an app using the file keeps writing.',
  async run({ positionals: { db: file }, options }, out) {
    const dryRun = options['dry-run'] ?? false
    const request = {
      trashedBefore: options['trashed-before'],
      olderThan: options['older-than'],
      keepLatestPerAgent: options['keep-latest'] === undefined ? undefined : wholeNumber(options['keep-latest'], 'keep-latest', 1),
      sessionIds: options.sessions?.split(',').filter((id) => id !== ''),
      dryRun,
    }
    const progress = out.progress()
    progress.waiting(`${dryRun ? 'Counting' : 'Purging'} in ${file}…`)
    let report
    try {
      report = await withDatabase(file, openOptionsFrom(options, { readOnly: dryRun }), (db) => db.purge(request))
    } finally {
      progress.clear()
    }
    out.data(report)
    const what = `${report.sessions} session(s), ${report.logs} log(s) (${formatBytes(report.bytes)}), ${report.agents} agent(s)`
    out.line(dryRun ? `Would remove ${what}.` : `Removed ${what} in ${report.chunks} chunk(s).`)
    return EXIT.OK
  },
}

const stats = {
  name: 'stats',
  summary: 'the file\'s size and free space, rows per table, and the sessions that take the most room',
  positionals: [databaseArgument],
  options: {
    largest: { type: 'string', arg: 'N', help: 'list the N largest sessions (default 10)' },
  },
  description: 'Reads every log once, to size it. Opens the file read-only.',
  async run({ positionals: { db: file }, options }, out) {
    const largest = options.largest === undefined ? undefined : wholeNumber(options.largest, 'largest', 1)
    const report = await withDatabase(file, openOptionsFrom(options, { readOnly: true }), (db) => db.stats({ largest }))
    out.data(report)
    out.line(`File ${formatBytes(report.fileBytes)} (+ ${formatBytes(report.walBytes)} write-ahead log), ${report.pages} pages of ${report.pageSize} B`)
    out.line(`Free ${formatBytes(report.freeBytes)} (${report.freePages} pages; auto_vacuum ${report.autoVacuum}): agentdb compact hands it back`)
    out.line(`In the trash: ${report.trashedAgents} agent(s), ${report.trashedSessions} session(s)`)
    for (const t of report.tables) out.line(`  ${t.table}: ${t.rows} row(s)`)
    if (report.largestSessions.length > 0) out.line('Largest sessions:')
    for (const s of report.largestSessions) {
      out.line(`  ${s.sessionId}  ${formatBytes(s.bytes)} in ${s.logs} log(s); largest log #${s.largestLogId} (${formatBytes(s.largestLogBytes)})`)
    }
    return EXIT.OK
  },
}

const compact = {
  name: 'compact',
  summary: 'hand the free space inside the file back to the file system',
  positionals: [databaseArgument],
  options: {
    full: { type: 'boolean', help: 'rewrite the whole file (VACUUM; needs free disk space about its size)' },
  },
  description: 'A file created by this library hands free pages back alone; any other file is rewritten, and becomes such a file.',
  async run({ positionals: { db: file }, options }, out) {
    const progress = out.progress()
    progress.waiting(`Compacting ${file}…`)
    let report
    try {
      report = await withDatabase(file, openOptionsFrom(options), (db) => db.compact({ full: options.full ?? false }))
    } finally {
      progress.clear()
    }
    out.data(report)
    out.line(`Compacted ${file} (${report.mode}): ${formatBytes(report.bytesBefore)} → ${formatBytes(report.bytesAfter)}.`)
    return EXIT.OK
  },
}

module.exports = { compact, purge, stats }
