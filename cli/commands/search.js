'use strict'
// Finding what an agent said: full-text search over every session's logs.

const { databaseArgument, wholeNumber } = require('../args')
const { withDatabase, openOptionsFrom } = require('../database')
const { CliError, EXIT } = require('../exit-codes')

const search = {
  name: 'search',
  summary: 'find logs by their text, in any language, best match first',
  positionals: [{ name: 'query', help: 'what to find: words (all of them), "a phrase" in double quotes' }, databaseArgument],
  options: {
    session: { type: 'string', arg: 'ID', help: 'only the logs of session ID' },
    newest: { type: 'boolean', help: 'most recent first instead of best match first' },
    fts5: { type: 'boolean', help: 'read the query in SQLite FTS5 syntax (AND, OR, NOT, NEAR, prefix*)' },
    limit: { type: 'string', arg: 'N', help: 'show at most N hits (default 20)' },
  },
  description: [
    'Each hit is one line: session, time, #id, role/type, and the text around the match with the',
    'matches in [brackets]. With --json: the page of hits, each with its log, sessionId, snippet',
    'and highlights (UTF-16 offsets into snippet).',
  ].join('\n'),
  async run({ positionals: { query, db: file }, options }, out) {
    const limit = options.limit === undefined ? 20 : wholeNumber(options.limit, 'limit', 1)
    const page = await withDatabase(file, openOptionsFrom(options), async (db) => {
      if (options.session !== undefined && !(await db.getSession(options.session))) {
        throw new CliError('NOT_FOUND', `no session ${options.session} in ${file} (agentdb sessions ${file} lists them)`)
      }
      return db.searchLogs(query, {
        sessionId: options.session,
        order: options.newest ? 'newest' : 'relevance',
        syntax: options.fts5 ? 'fts5' : 'plain',
        limit,
      })
    })
    out.data(page)
    if (page.items.length === 0) {
      out.line('No matches.')
      return EXIT.OK
    }
    for (const hit of page.items) {
      out.line(`${hit.sessionId}  ${hit.log.createdAt}  #${hit.log.id}  ${hit.log.role}/${hit.log.type}  ${marked(hit)}`)
    }
    if (page.nextCursor) out.line('… more matches: raise --limit to see them.')
    return EXIT.OK
  },
}

/** The snippet with each match in brackets. */
function marked({ snippet, highlights }) {
  let text = ''
  let at = 0
  for (const { start, end } of highlights) {
    text += `${snippet.slice(at, start)}[${snippet.slice(start, end)}]`
    at = end
  }
  return text + snippet.slice(at)
}

module.exports = { search }
