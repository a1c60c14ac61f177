#!/usr/bin/env node
'use strict'
// `npm run bench [-- --quick] [--runs N] [--drivers a,b] [--trials key,…] [--session-logs N] [--no-build]`
//
// Builds what is measured (the addon in release mode, the Rust floor), seeds the databases,
// then runs every trial of every driver in a fresh process, several rounds with the driver
// order rotated, and writes the medians to bench/results/: a JSON file, a markdown table
// and a chart.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { DRIVERS, SIZES, plan } = require('./lib/config')

const ROOT = path.join(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const TMP = path.join(RESULTS, 'tmp')
const FLOOR = path.join(__dirname, 'floor', 'target', 'release', 'agentdb-floor')
const MIGRATIONS = path.join(ROOT, 'migrations')

function parseArgs(argv) {
  const args = { quick: false, build: true, runs: null, drivers: DRIVERS, trials: null, sessionLogs: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--no-build') args.build = false
    else if (a === '--runs') args.runs = Number(argv[++i])
    else if (a === '--drivers') args.drivers = argv[++i].split(',')
    else if (a === '--trials') args.trials = argv[++i].split(',')
    else if (a === '--session-logs') args.sessionLogs = Number(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  if (args.sessionLogs !== undefined && !(Number.isInteger(args.sessionLogs) && args.sessionLogs > 0)) {
    throw new Error('--session-logs takes a whole number of logs, at least 1')
  }
  for (const d of args.drivers) if (!DRIVERS.includes(d)) throw new Error(`unknown driver ${d} (known: ${DRIVERS.join(', ')})`)
  return args
}

const log = (text) => process.stderr.write(`${text}\n`)

function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`)
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT, ...options })
}

/** Installs the peers (bench/package.json) when they are missing, builds the addon in
 *  release mode and the floor. */
function prepare(args) {
  if (!fs.existsSync(path.join(__dirname, 'node_modules', '.package-lock.json'))) {
    run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: __dirname })
  }
  if (args.build) {
    run('npx', ['napi', 'build', '--platform', '--release'])
    run('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(__dirname, 'floor', 'Cargo.toml')])
  }
}

/** Runs one trial in a fresh process and returns its record (or `{ error }`). */
function trialProcess(driver, trial, params) {
  const json = JSON.stringify(params)
  const [command, argv] = driver === 'floor'
    ? [FLOOR, [trial, json]]
    : [process.execPath, ['--expose-gc', path.join(__dirname, 'trial.js'), driver, trial, json]]
  const child = spawnSync(command, argv, { cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 1 << 24 })
  const line = child.stdout?.trim().split('\n').pop()
  if (child.status === 0 && line) return JSON.parse(line)
  const why = (child.stderr || child.error?.message || `exit ${child.status}`).trim().split('\n')
  return { error: why.slice(0, 3).join(' | ') }
}

/** Seeds `read.db` (every trial that reads) and `write.db` (copied for each write trial),
 *  reusing them when the sizes and migrations are unchanged. */
function seed(size) {
  fs.mkdirSync(TMP, { recursive: true })
  const migrations = fs.readdirSync(MIGRATIONS).sort().map((f) => fs.readFileSync(path.join(MIGRATIONS, f), 'utf8'))
  const stamp = JSON.stringify({ seed: size.seed, migrations, floor: fs.statSync(FLOOR).mtimeMs })
  const stampFile = path.join(TMP, 'seed.json')
  const files = { read: path.join(TMP, 'read.db'), write: path.join(TMP, 'write.db') }
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp && fs.existsSync(files.read)) return files
  fs.rmSync(stampFile, { force: true })
  log(`seeding ${JSON.stringify(size.seed)}`)
  const started = Date.now()
  for (const [which, file] of Object.entries(files)) {
    const params = which === 'read' ? size.seed : { ...size.seed, midLogs: 0, bigLogs: 0 }
    const result = trialProcess('floor', 'seed', { ...params, db: file, migrations: MIGRATIONS })
    if (result.error) throw new Error(`seeding ${which}.db failed: ${result.error}`)
  }
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  fs.writeFileSync(stampFile, stamp)
  return files
}

function copyDatabase(from, to) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(to + suffix, { force: true })
  fs.copyFileSync(from, to)
}

function machine() {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  }
}

function versions(drivers) {
  const pkg = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  const out = { '@cherry/agentdb': pkg(ROOT) }
  if (drivers.includes('better-sqlite3')) {
    const Database = require('better-sqlite3')
    const db = new Database(':memory:')
    out['better-sqlite3'] = `${pkg(path.join(__dirname, 'node_modules', 'better-sqlite3'))} (SQLite ${db.prepare('select sqlite_version() v').get().v})`
    db.close()
  }
  if (drivers.includes('libsql')) out['@libsql/client'] = pkg(path.join(__dirname, 'node_modules', '@libsql', 'client'))
  const floor = trialProcess('floor', 'version', {})
  if (!floor.error) out['rusqlite (addon and floor)'] = `SQLite ${floor.sqlite}`
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const mode = args.quick ? 'quick' : 'full'
  const size = SIZES[mode]
  const rounds = args.runs ?? size.runs
  prepare(args)
  const started = Date.now()
  const files = seed(size)
  const items = plan(size, { sessionLogs: args.sessionLogs }).filter((item) => !args.trials || args.trials.some((t) => item.key.startsWith(t)))
  const raw = {}
  const load = [os.loadavg()[0]]
  for (let round = 0; round < rounds; round++) {
    const order = args.drivers.map((_, i) => args.drivers[(i + round) % args.drivers.length])
    for (const item of items) {
      if (item.once && round > 0) continue
      for (const driver of order) {
        if (item.drivers && !item.drivers.includes(driver)) continue
        const params = { ...item.params, dir: TMP, migrations: MIGRATIONS }
        if (item.db === 'read') params.db = files.read
        if (item.db === 'write') {
          params.db = path.join(TMP, `work-${driver}.db`)
          copyDatabase(files.write, params.db)
        }
        if (item.trial === 'rss-calls') params.calls = size.callsByDriver[driver] ?? size.calls
        const result = trialProcess(driver, item.trial, params)
        if (item.db === 'write') for (const suffix of ['', '-wal', '-shm']) fs.rmSync(params.db + suffix, { force: true })
        raw[item.key] ??= {}
        raw[item.key][driver] ??= []
        raw[item.key][driver].push(result)
        const shown = result.error ? `error: ${result.error}` : summary(result)
        log(`[round ${round + 1}/${rounds}] ${item.label} · ${driver}: ${shown}`)
      }
    }
    load.push(os.loadavg()[0])
  }
  const { writeReports } = require('./lib/report')
  const results = {
    mode,
    date: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: machine(),
    loadAverage: load,
    versions: versions(args.drivers),
    rounds,
    sizes: size,
    trials: items.map(({ key, label, trial, params }) => ({ key, label, trial, params })),
    raw,
  }
  const written = await writeReports(results, RESULTS)
  log(`wrote ${written.map((f) => path.relative(ROOT, f)).join(', ')} in ${results.seconds.toFixed(0)} s`)
}

function summary(r) {
  if (r.opsPerSec !== undefined) {
    const el = r.eventLoop ? ` · loop p99 ${r.eventLoop.p99.toFixed(1)} ms max ${r.eventLoop.max.toFixed(1)} ms` : ''
    return `${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s${el}`
  }
  if (r.growth !== undefined) return `RSS +${(r.growth / 2 ** 20).toFixed(1)} MiB over ${r.rows} rows`
  if (r.samples) return `RSS ${r.samples.map((s) => (s / 2 ** 20).toFixed(0)).join(' ')} MiB`
  return JSON.stringify(r)
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
})
