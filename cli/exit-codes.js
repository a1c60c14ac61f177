'use strict'
// The exit codes of `agentdb` and the error codes each one stands for. Scripts rely on these
// numbers: they never change meaning.

/** Exit codes, with what each means (printed by `agentdb --help`). */
const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  CHECK_FAILED: 3,
  BUSY: 4,
  NOT_A_DATABASE: 5,
  CANT_OPEN: 6,
}

/** One line per exit code, for the help text. */
const EXIT_DESCRIPTIONS = [
  [EXIT.OK, 'success'],
  [EXIT.ERROR, 'any other failure (a migration failed, I/O error, not found, …)'],
  [EXIT.USAGE, 'usage error: unknown command or option, bad value (also INVALID_ARGUMENT, QUERY_SYNTAX); REFUSED: a refusal that an option overrides'],
  [EXIT.CHECK_FAILED, 'validation or integrity check found errors (validate, check, migrate refused)'],
  [EXIT.BUSY, 'the database stayed locked by another process past the busy timeout (BUSY)'],
  [EXIT.NOT_A_DATABASE, 'the file is not an SQLite database, or it is damaged (NOT_A_DATABASE, CORRUPT)'],
  [EXIT.CANT_OPEN, 'the file cannot be opened: missing file or directory, a directory, no permission'],
]

const BY_ERROR_CODE = new Map([
  ['USAGE', EXIT.USAGE],
  ['INVALID_ARGUMENT', EXIT.USAGE],
  ['QUERY_SYNTAX', EXIT.USAGE],
  ['REFUSED', EXIT.USAGE],
  ['MIGRATION_VALIDATION_FAILED', EXIT.CHECK_FAILED],
  ['CHECK_FAILED', EXIT.CHECK_FAILED],
  ['BUSY', EXIT.BUSY],
  ['NOT_A_DATABASE', EXIT.NOT_A_DATABASE],
  ['CORRUPT', EXIT.NOT_A_DATABASE],
  ['CANT_OPEN', EXIT.CANT_OPEN],
  ['READONLY', EXIT.CANT_OPEN],
])

/** The exit code for an error `code` (the library's, or one of the command line's own). */
function exitCodeFor(code) {
  return BY_ERROR_CODE.get(code) ?? EXIT.ERROR
}

/** An error the command line raises itself, with a stable `code` like the library's. */
class CliError extends Error {
  constructor(code, message) {
    super(message)
    this.code = code
  }
}

/** A usage error: the command line itself is wrong. */
function usage(message) {
  return new CliError('USAGE', message)
}

module.exports = { EXIT, EXIT_DESCRIPTIONS, exitCodeFor, CliError, usage }
