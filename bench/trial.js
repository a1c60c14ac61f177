'use strict'
// `node bench/trial.js DRIVER TRIAL PARAMS_JSON`: runs one trial of one driver in this fresh
// process and prints its record as one line of JSON (bench/run.js starts one per trial).
// `node bench/trial.js DRIVER --each RUNS_JSON`: runs every `{ trial, params }` of the array
// one after the other in this process, and prints a line per trial, in their order (a trial
// that throws prints `{ error }` and the next one runs); the quick run starts one per driver.

const { trials } = require('./lib/trials')

async function runOne(driver, trial, params) {
  if (!trials[trial]) throw new Error(`unknown trial ${trial}`)
  return trials[trial](driver, params)
}

async function main([driverName, trial, params]) {
  const driver = require(`./drivers/${driverName}`)
  if (trial !== '--each') {
    process.stdout.write(`${JSON.stringify(await runOne(driver, trial, JSON.parse(params)))}\n`)
    return
  }
  for (const run of JSON.parse(params)) {
    let result
    try {
      result = await runOne(driver, run.trial, run.params)
    } catch (err) {
      result = { error: String(err.stack ?? err).split('\n').slice(0, 3).join(' | ') }
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
})
