#!/usr/bin/env node
'use strict'
// The `agentdb` command line; `agentdb --help` lists its commands and exit codes.

const { run } = require('../cli/main')
const { EXIT } = require('../cli/exit-codes')

// A reader that stops early (`agentdb logs … | head`) ends the output quietly; any other
// failure of the output streams, or a fault outside a command, still ends without a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => process.exit(err.code === 'EPIPE' ? (process.exitCode ?? EXIT.OK) : EXIT.ERROR))
}
process.on('uncaughtException', (err) => {
  process.stderr.write(`INTERNAL: ${err?.message ?? err}\n`)
  process.exit(EXIT.ERROR)
})

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
