'use strict'
// The usage ledger's totals: tokens and costs by agent, session, model or day.

const { databaseArgument } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { EXIT, usage: usageError } = require('../exit-codes')

const GROUPS = ['agent', 'session', 'model', 'day']

const usage = {
  name: 'usage',
  summary: 'token and cost totals of the usage ledger, by agent, session, model or day',
  positionals: [databaseArgument],
  options: {
    by: { type: 'string', arg: 'GROUP', help: 'agent, session, model (default) or day (UTC)' },
    since: { type: 'string', arg: 'TIME', help: 'only records made at or after TIME (ISO-8601 UTC, 2026-01-01T00:00:00.000Z)' },
    until: { type: 'string', arg: 'TIME', help: 'only records made before TIME' },
  },
  description: 'Costs are totalled per currency, never added across currencies.',
  async run({ positionals: { db: file }, options }, out) {
    const groupBy = options.by ?? 'model'
    if (!GROUPS.includes(groupBy)) throw usageError(`--by must be one of ${GROUPS.join(', ')}, got "${groupBy}"`)
    const totals = await withDatabase(file, openOptionsFrom(options, { readOnly: true }), (db) =>
      db.usageSummary({ groupBy, since: options.since, until: options.until }),
    )
    out.data(totals)
    if (totals.length === 0) {
      out.line('No usage recorded.')
      return EXIT.OK
    }
    const costs = (t) => Object.entries(t.costs).map(([currency, amount]) => `${amount} ${currency}`).join(', ') || '-'
    out.table(
      [
        [groupBy, (t) => t.key ?? '(none)'],
        ['requests', (t) => t.requests, 'right'],
        ['input', (t) => t.inputTokens, 'right'],
        ['output', (t) => t.outputTokens, 'right'],
        ['reasoning', (t) => t.reasoningTokens, 'right'],
        ['cache read', (t) => t.cacheReadTokens, 'right'],
        ['cache write', (t) => t.cacheWriteTokens, 'right'],
        ['cost', costs],
      ],
      totals,
    )
    return EXIT.OK
  },
}

module.exports = { usage }
