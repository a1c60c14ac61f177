'use strict'
// Reads one command's arguments with node:util's parseArgs against the command's own
// declaration, so the parser and the help text come from the same place.

const { parseArgs } = require('node:util')
const { usage } = require('./exit-codes')

/** The database every command uses when none is given. */
const DEFAULT_DATABASE = './agents.db'

/** Options every command accepts. */
const GLOBAL_OPTIONS = {
  json: { type: 'boolean', help: 'print the result as JSON (errors too, as { "error": { code, message } })' },
  'busy-timeout': { type: 'string', arg: 'MS', help: 'wait this long for another process\'s lock (default 5000)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}

/**
 * Parses `argv` for `command`: returns `{ positionals, given, options }` with positionals by
 * name (defaults applied), the positionals as given, and option values by flag name. Throws a USAGE error on an unknown
 * option, a missing or extra positional, or a value of the wrong shape.
 */
function parseCommand(command, argv) {
  const options = { ...command.options, ...GLOBAL_OPTIONS }
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    const unknown = /^Unknown option '([^']+)'/.exec(err.message)
    throw usage(unknown ? `unknown option ${unknown[1]}` : err.message.split('\n')[0])
  }
  const values = parsed.values
  if (values.help) return { help: true }
  const positionals = {}
  const given = parsed.positionals
  const declared = command.positionals ?? []
  if (given.length > declared.length) {
    throw usage(`unexpected argument "${given[declared.length]}"`)
  }
  declared.forEach((p, i) => {
    if (i < given.length) positionals[p.name] = given[i]
    else if (p.default !== undefined) positionals[p.name] = p.default
    else throw usage(`missing <${p.name}>`)
  })
  for (const [name, o] of Object.entries(options)) {
    if (o.type === 'string' && values[name] === '') throw usage(`--${name} needs a value`)
  }
  if (values['busy-timeout'] !== undefined) values['busy-timeout'] = wholeNumber(values['busy-timeout'], 'busy-timeout', 0)
  return { help: false, positionals, given, options: values }
}

/** Reads a whole number of at least `min` from option `--name`. */
function wholeNumber(text, name, min) {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw usage(`--${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${text}"`)
  }
  return Number(text)
}

/** The positional that names the database, with the default. */
const databaseArgument = { name: 'db', default: DEFAULT_DATABASE, help: `the database file (default ${DEFAULT_DATABASE})` }

module.exports = { parseCommand, wholeNumber, GLOBAL_OPTIONS, DEFAULT_DATABASE, databaseArgument }
