'use strict'
// Moving one session between databases: export (JSON Lines or Markdown) and import.

const { withDatabase, openOptionsFrom } = require('../database')
const { EXIT, usage } = require('../exit-codes')
const { formatBytes } = require('../output')

const FORMATS = ['jsonl', 'markdown']

const exportSession = {
  name: 'export',
  summary: 'write one session to a file: JSON Lines that import reads back, or a Markdown transcript',
  positionals: [
    { name: 'db', help: 'the database' },
    { name: 'sessionId', help: 'the session to export' },
    { name: 'file', help: 'the file to write (replaced if it exists; left as it was if the export fails)' },
  ],
  options: {
    format: { type: 'string', arg: 'FORMAT', help: 'jsonl (default) or markdown' },
  },
  description: 'Reads the session page by page from one snapshot, so a running app can go on writing.',
  async run({ positionals: { db: file, sessionId, file: dest }, options }, out) {
    const format = options.format ?? 'jsonl'
    if (!FORMATS.includes(format)) throw usage(`--format must be ${FORMATS.join(' or ')}, got "${format}"`)
    const exported = await withDatabase(file, openOptionsFrom(options, { readOnly: true }), (db) =>
      db.exportSession(sessionId, dest, { format }),
    )
    out.data(exported)
    out.line(`Exported session ${sessionId}: ${exported.logs} logs to ${dest} (${formatBytes(exported.bytes)}).`)
    return EXIT.OK
  },
}

const importSession = {
  name: 'import',
  summary: 'read a JSON Lines export back as a new session, all or nothing',
  positionals: [
    { name: 'db', help: 'the database (migrated)' },
    { name: 'file', help: 'a file written by agentdb export or exportSession' },
  ],
  options: {
    agent: { type: 'string', arg: 'ID', help: 'attach the session to this existing agent instead of the file\'s' },
  },
  description: [
    'The session and its logs get new ids; timestamps, statuses and parent links are kept.',
    'A newer format version (UNSUPPORTED_FORMAT), a bad checksum (CHECKSUM_MISMATCH) or a',
    'truncated or malformed file (INVALID_EXPORT) writes nothing.',
  ].join('\n'),
  async run({ positionals: { db: file, file: source }, options }, out) {
    const imported = await withDatabase(file, openOptionsFrom(options), (db) =>
      db.importSession(source, { agentId: options.agent }),
    )
    out.data(imported)
    const agent = imported.agentCreated ? 'a new agent' : 'agent'
    out.line(`Imported ${imported.logs} logs as session ${imported.session.id} (${agent} ${imported.session.mainAgentId}).`)
    return EXIT.OK
  },
}

module.exports = { exportSession, importSession }
