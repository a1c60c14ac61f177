'use strict'
// `node bench/trial.js DRIVER TRIAL PARAMS_JSON`: runs one trial of one driver in this fresh
// process and prints its record as one line of JSON (bench/run.js starts one per trial).

const { trials } = require('./lib/trials')

async function main([driverName, trial, params]) {
  const driver = require(`./drivers/${driverName}`)
  if (!trials[trial]) throw new Error(`unknown trial ${trial}`)
  const result = await trials[trial](driver, JSON.parse(params))
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
})
