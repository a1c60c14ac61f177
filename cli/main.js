'use strict'
// Runs one `agentdb` invocation: finds the command, parses its arguments, runs it, and turns
// any error into `CODE: message` and an exit code.

const { parseCommand } = require('./args')
const { EXIT, exitCodeFor, usage } = require('./exit-codes')
const { commandHelp, generalHelp } = require('./help')
const { Output } = require('./output')
const migrations = require('./commands/migrations')
const maintenance = require('./commands/maintenance')
const lifecycle = require('./commands/lifecycle')
const search = require('./commands/search')
const sessions = require('./commands/sessions')
const transfer = require('./commands/transfer')
const ledger = require('./commands/usage')

/** Every command, in the order the help lists them. */
const COMMANDS = [
  migrations.status,
  migrations.migrate,
  migrations.rollback,
  migrations.validate,
  migrations.repair,
  maintenance.backup,
  maintenance.check,
  lifecycle.purge,
  lifecycle.compact,
  lifecycle.stats,
  sessions.sessions,
  sessions.logs,
  search.search,
  transfer.exportSession,
  transfer.importSession,
  ledger.usage,
]

/** Runs `argv` (the arguments after the program name); resolves with the exit code. */
async function run(argv) {
  const io = { stdout: process.stdout, stderr: process.stderr }
  const out = new Output({ ...io, json: argv.includes('--json') })
  try {
    const [name, ...rest] = argv
    if (name === undefined) {
      io.stderr.write(generalHelp(COMMANDS))
      return EXIT.USAGE
    }
    if (name === '--help' || name === '-h' || name === 'help') return help(rest[0], io)
    if (name === '--version') {
      io.stdout.write(`${require('../package.json').version}\n`)
      return EXIT.OK
    }
    const command = COMMANDS.find((c) => c.name === name)
    if (!command) throw usage(`unknown command "${name}"`)
    const parsed = parseCommand(command, rest)
    if (parsed.help) {
      io.stdout.write(commandHelp(command))
      return EXIT.OK
    }
    return await command.run(parsed, out)
  } catch (err) {
    return fail(err, out, argv[0])
  }
}

function help(name, io) {
  if (name === undefined) {
    io.stdout.write(generalHelp(COMMANDS))
    return EXIT.OK
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) throw usage(`unknown command "${name}"`)
  io.stdout.write(commandHelp(command))
  return EXIT.OK
}

/** Prints `CODE: message` (never a stack trace) and picks the exit code. */
function fail(err, out, commandName) {
  const code = typeof err?.code === 'string' ? err.code : 'INTERNAL'
  const message = err instanceof Error ? err.message : String(err)
  out.error(code, message, Array.isArray(err?.results) ? { results: err.results } : undefined)
  if (code === 'USAGE') {
    const known = COMMANDS.some((c) => c.name === commandName)
    out.stderr.write(`Run "agentdb ${known ? `${commandName} ` : ''}--help" for usage.\n`)
  }
  if (code === 'NOT_MIGRATED') out.stderr.write('Run "agentdb migrate" on the database to apply them.\n')
  return exitCodeFor(code)
}

module.exports = { run }
