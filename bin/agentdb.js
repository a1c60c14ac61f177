#!/usr/bin/env node
'use strict'
// The `agentdb` command line; `agentdb --help` lists its commands and exit codes.

const { run } = require('../cli/main')

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
