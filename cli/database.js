'use strict'
// Opening the database for a command: loading the addon (only when a command needs it, so
// `--help` works even without the native binding) and refusing to create a database where
// the command only reads one.

const fs = require('node:fs')
const { DEFAULT_DATABASE } = require('./args')
const { CliError } = require('./exit-codes')

/** The addon's exports; a load failure becomes LOAD_FAILED with every cause in the message. */
function loadAddon() {
  try {
    return require('..')
  } catch (err) {
    const reasons = []
    for (let e = err; e; e = e.cause) reasons.push(String(e.message ?? e).split('\n')[0])
    throw new CliError('LOAD_FAILED', reasons.join('\n  caused by: '))
  }
}

/**
 * Opens the database at `file`, then runs `work(db)` and closes the database whatever
 * happens. Unless `create` is set, a missing file is refused with CANT_OPEN instead of being
 * created as a new, empty database. With `readOnly` (the commands that only inspect), the
 * file is opened so that nothing is written to it or beside it.
 */
async function withDatabase(file, options, work) {
  if (!options.create && file !== ':memory:' && !fs.existsSync(file)) {
    const defaulted = file === DEFAULT_DATABASE ? ', the default: name the database file as the last argument, or' : ';'
    throw new CliError('CANT_OPEN', `no database at ${file}${defaulted} agentdb migrate ${file} creates one`)
  }
  const { Database } = loadAddon()
  // Every command that writes (migrate, rollback, repair) is acknowledged only once synced.
  const openOptions = { durability: 'full' }
  if (options.busyTimeoutMs !== undefined) openOptions.busyTimeoutMs = options.busyTimeoutMs
  if (options.readOnly) openOptions.readOnly = true
  const db = await Database.open(file, openOptions)
  try {
    return await work(db)
  } finally {
    await db.close()
  }
}

/**
 * The `withDatabase` options a command's parsed `--busy-timeout` asks for; `create` for the
 * commands that may make a new database, `readOnly` for those that only inspect one.
 */
function openOptionsFrom(options, { create = false, readOnly = false } = {}) {
  return { create, readOnly, busyTimeoutMs: options['busy-timeout'] }
}

module.exports = { withDatabase, openOptionsFrom }
