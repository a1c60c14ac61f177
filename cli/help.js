'use strict'
// Help texts, built from the commands' own declarations.

const { GLOBAL_OPTIONS } = require('./args')
const { EXIT_DESCRIPTIONS } = require('./exit-codes')

/** `agentdb migrate [db] [--dry-run] [--limit N] …` */
function usageLine(command) {
  const positionals = (command.positionals ?? []).map((p) => (p.default === undefined ? `<${p.name}>` : `[${p.name}]`))
  const options = Object.entries(command.options).map(([name, o]) => `[--${name}${o.arg ? ` ${o.arg}` : ''}]`)
  return ['agentdb', command.name, ...positionals, ...options].join(' ')
}

function optionLines(options) {
  const rows = Object.entries(options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`,
    o.help,
  ])
  const width = Math.max(...rows.map(([flag]) => flag.length))
  return rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`)
}

/** The help of one command. */
function commandHelp(command) {
  const lines = [`Usage: ${usageLine(command)}`, '', `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`]
  if (command.description) lines.push('', command.description)
  const positionals = command.positionals ?? []
  if (positionals.length) {
    lines.push('', 'Arguments:')
    const width = Math.max(...positionals.map((p) => p.name.length))
    for (const p of positionals) lines.push(`  ${p.name.padEnd(width)}  ${p.help}`)
  }
  if (Object.keys(command.options).length) lines.push('', 'Options:', ...optionLines(command.options))
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS))
  return `${lines.join('\n')}\n`
}

/** The general help: every command and the exit codes. */
function generalHelp(commands) {
  const width = Math.max(...commands.map((c) => c.name.length))
  return `${[
    'Usage: agentdb <command> [arguments] [options]',
    '',
    'Inspect and maintain an @cherry/agentdb database (default ./agents.db).',
    '',
    'Migrations live in namespaces: the library\'s own (agentdb), the app\'s (app) and any a plugin',
    'names, each with its own ids. Output names a library migration by its id (002) and any other',
    'by namespace and id (app 003); --namespace picks one where an id is in several.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Run "agentdb <command> --help" for a command\'s arguments and options.',
    'Errors print "CODE: message" on stderr.',
    '',
    'Exit codes:',
    ...EXIT_DESCRIPTIONS.map(([code, text]) => `  ${code}  ${text}`),
  ].join('\n')}\n`
}

module.exports = { commandHelp, generalHelp }
