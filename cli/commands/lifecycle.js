'use strict'
// The life of the data: purging on purpose.

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

module.exports = { purge }
