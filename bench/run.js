#!/usr/bin/env node
'use strict'
// `npm run bench [-- --quick] [--runs N] [--drivers a,b] [--schemas a,b] [--trials key,…] [--session-logs N] [--no-build]`
//
// Builds what is measured (the addon in release mode, the Rust floor), fetches the Node
// binaries some drivers run under, seeds the databases (a pair per schema), then runs every
// trial of every driver on every schema in a fresh process (with --quick, all of a driver's
// trials but the memory ones in one), under the Node the driver needs, several rounds with
// the driver order rotated, writes the medians to bench/results/: a JSON file, markdown
// tables and a chart, and prints the run's total wall time.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { NODE_VERSIONS, SCHEMAS, DRIVER_SPECS, DRIVERS, variants, SIZES, plan } = require('./lib/config')
const { SCHEMAS: SCHEMA_DIRS, writeDerivedSchemas } = require('./lib/migrations')
const { nodePackage, nodeBinary } = require('./lib/node-binaries')
const { idleLoop } = require('./lib/measure')

const ROOT = path.join(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const TMP = path.join(RESULTS, 'tmp')
const FLOOR = path.join(__dirname, 'floor', 'target', 'release', 'agentdb-floor')

function parseArgs(argv) {
  const args = { quick: false, build: true, runs: null, drivers: DRIVERS, schemas: SCHEMAS, trials: null, sessionLogs: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--no-build') args.build = false
    else if (a === '--runs') args.runs = Number(argv[++i])
    else if (a === '--drivers') {
      args.drivers = argv[++i].split(',')
      args.named = true
    }
    else if (a === '--schemas') args.schemas = argv[++i].split(',')
    else if (a === '--trials') args.trials = argv[++i].split(',')
    else if (a === '--session-logs') args.sessionLogs = Number(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  if (args.sessionLogs !== undefined && !(Number.isInteger(args.sessionLogs) && args.sessionLogs > 0)) {
    throw new Error('--session-logs takes a whole number of logs, at least 1')
  }
  for (const d of args.drivers) if (!DRIVERS.includes(d)) throw new Error(`unknown driver ${d} (known: ${DRIVERS.join(', ')})`)
  for (const s of args.schemas) if (!SCHEMAS.includes(s)) throw new Error(`unknown schema ${s} (known: ${SCHEMAS.join(', ')})`)
  return args
}

const log = (text) => process.stderr.write(`${text}\n`)

function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`)
  execFileSync(command, args, { stdio: 'inherit', cwd: ROOT, ...options })
}

/** Installs the peers (bench/package.json) when one is missing, fetches the Node binaries the
 *  selected drivers run under, and builds the addon in release mode and the floor. */
function prepare(drivers, build) {
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(__dirname, 'package.json'), 'utf8'))
  if (Object.keys(dependencies).some((name) => !fs.existsSync(path.join(__dirname, 'node_modules', name, 'package.json')))) {
    run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: __dirname })
  }
  const nodes = new Set(drivers.map((d) => DRIVER_SPECS[d].node).filter(Boolean))
  for (const major of nodes) nodePackage(NODE_VERSIONS[major])
  if (build) {
    run('npm', ['run', 'build'])
    run('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(__dirname, 'floor', 'Cargo.toml')])
  }
}

/** The command that runs `driver`'s trials: the floor's binary, or trial.js under the Node
 *  the driver needs. */
function driverCommand(driver) {
  if (driver === 'floor') return [FLOOR, []]
  const spec = DRIVER_SPECS[driver]
  const node = spec?.node ? nodeBinary(nodePackage(NODE_VERSIONS[spec.node])) : process.execPath
  return [node, ['--expose-gc', path.join(__dirname, 'trial.js'), spec?.module ?? driver]]
}

/** Runs `argv` after `driver`'s command in a fresh process; returns its lines of output, or
 *  `{ error }` when it failed. */
function driverProcess(driver, argv) {
  const [command, base] = driverCommand(driver)
  const child = spawnSync(command, [...base, ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 1 << 24 })
  const lines = child.stdout?.trim().split('\n').filter(Boolean) ?? []
  if (child.status === 0 && lines.length > 0) return { lines }
  const why = (child.stderr || child.error?.message || `exit ${child.status}`)
    .trim()
    .split('\n')
    .filter((l) => !/ExperimentalWarning|--trace-warnings/.test(l))
  return { error: why.slice(0, 3).join(' | '), lines }
}

/** Runs one trial of `driver` in a fresh process, under the Node the driver needs, and
 *  returns its record (or `{ error }`). */
function trialProcess(driver, trial, params) {
  const out = driverProcess(driver, [trial, JSON.stringify(params)])
  return out.error ? { error: out.error } : JSON.parse(out.lines[out.lines.length - 1])
}

/** Runs the trials `runs` (`{ trial, params }`) of a JavaScript driver one after the other in
 *  one fresh process; returns a record (or `{ error }`) per trial. */
function trialsProcess(driver, runs) {
  const out = driverProcess(driver, ['--each', JSON.stringify(runs)])
  const records = out.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
  return runs.map((_, i) => records[i] ?? { error: out.error ?? 'no record' })
}

/** Seeds, for every schema, `read.db` (every trial that reads) and `write.db` (copied for
 *  each write trial), reusing them when the sizes and the migrations are unchanged. Returns
 *  the files by schema. */
function seed(size, schemas) {
  fs.mkdirSync(TMP, { recursive: true })
  const sqlOf = (dir) => fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
  const stamp = JSON.stringify({ seed: size.seed, schemas: schemas.map((s) => [s, sqlOf(SCHEMA_DIRS[s])]), floor: fs.statSync(FLOOR).mtimeMs })
  const stampFile = path.join(TMP, 'seed.json')
  const files = Object.fromEntries(
    schemas.map((schema) => {
      const suffix = schema === 'agentdb' ? '' : `-${schema}`
      return [schema, { read: path.join(TMP, `read${suffix}.db`), write: path.join(TMP, `write${suffix}.db`) }]
    }),
  )
  const all = Object.values(files).flatMap((f) => [f.read, f.write])
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp && all.every((f) => fs.existsSync(f))) return files
  fs.rmSync(stampFile, { force: true })
  log(`seeding ${JSON.stringify(size.seed)} on ${schemas.join(', ')}`)
  const started = Date.now()
  for (const schema of schemas) {
    for (const [which, file] of Object.entries(files[schema])) {
      const params = which === 'read' ? size.seed : { ...size.seed, midLogs: 0, bigLogs: 0 }
      const result = trialProcess('floor', 'seed', { ...params, db: file, migrations: SCHEMA_DIRS[schema] })
      if (result.error) throw new Error(`seeding ${which}.db (${schema}) failed: ${result.error}`)
    }
  }
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  fs.writeFileSync(stampFile, stamp)
  return files
}

function copyDatabase(from, to) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(to + suffix, { force: true })
  fs.copyFileSync(from, to)
}

/** The processes that run `jobs` (`{ item, variant }`), in their order: one per job, or, when
 *  `share` (the quick run), one per JavaScript variant for all of its trials but those that
 *  run alone (memory), placed where its first trial was. The floor always runs one trial per
 *  process (it starts in milliseconds). */
function processGroups(jobs, share) {
  const groups = []
  const shared = new Map()
  for (const job of jobs) {
    if (!share || job.item.alone || job.variant.driver === 'floor') {
      groups.push([job])
      continue
    }
    if (!shared.has(job.variant.key)) {
      shared.set(job.variant.key, [])
      groups.push(shared.get(job.variant.key))
    }
    shared.get(job.variant.key).push(job)
  }
  return groups
}

/** The parameters of `item` for `variant`: its database (a fresh copy of the write database
 *  for a write trial) and its schema's migrations. */
function trialParams(item, variant, files, size) {
  const params = { ...item.params, dir: TMP, migrations: SCHEMA_DIRS[variant.schema] }
  if (item.db === 'read') params.db = files[variant.schema].read
  if (item.db === 'write') {
    params.db = path.join(TMP, `work-${variant.key.replace(/\W/g, '-')}-${item.key}.db`)
    copyDatabase(files[variant.schema].write, params.db)
  }
  if (item.trial === 'rss-calls') params.calls = size.callsByDriver[variant.driver] ?? size.calls
  return params
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
  const peer = (name) => pkg(path.join(__dirname, 'node_modules', name))
  const out = { '@cherry/agentdb': pkg(ROOT) }
  if (drivers.includes('better-sqlite3')) {
    const Database = require('better-sqlite3')
    const db = new Database(':memory:')
    out['better-sqlite3'] = `${peer('better-sqlite3')} (SQLite ${db.prepare('select sqlite_version() v').get().v})`
    db.close()
  }
  const v13 = drivers.find((d) => DRIVER_SPECS[d].module === 'better-sqlite3-13')
  if (v13) {
    const binary = nodeBinary(nodePackage(NODE_VERSIONS[DRIVER_SPECS[v13].node]))
    const query = "new (require('better-sqlite3-13'))(':memory:').prepare('select sqlite_version() v').get().v"
    out['better-sqlite3 13'] = `${peer('better-sqlite3-13')} (SQLite ${execFileSync(binary, ['-p', query], { cwd: __dirname, encoding: 'utf8' }).trim()})`
  }
  if (drivers.includes('sqlite3')) out['node-sqlite3'] = `${peer('sqlite3')} (SQLite ${require('sqlite3').VERSION})`
  if (drivers.includes('libsql')) out['@libsql/client'] = peer('@libsql/client')
  if (drivers.includes('turso')) out['@tursodatabase/database'] = peer('@tursodatabase/database')
  const nodes = new Set(drivers.map((d) => DRIVER_SPECS[d].node).filter(Boolean))
  for (const major of [...nodes].sort()) {
    const binary = nodeBinary(nodePackage(NODE_VERSIONS[major]))
    const sqlite = execFileSync(binary, ['-p', 'process.versions.sqlite'], { encoding: 'utf8' }).trim()
    out[`Node ${major}`] = `${NODE_VERSIONS[major]} (node:sqlite: SQLite ${sqlite})`
  }
  const floor = trialProcess('floor', 'version', {})
  if (!floor.error) out['rusqlite (addon and floor)'] = `SQLite ${floor.sqlite}`
  return out
}

async function main() {
  const wallStarted = Date.now()
  const args = parseArgs(process.argv.slice(2))
  const mode = args.quick ? 'quick' : 'full'
  const size = SIZES[mode]
  const rounds = args.runs ?? size.runs
  // Drivers named with --drivers run under their Node even when the run's sizes leave it out.
  const columns = variants(args.drivers, args.schemas, args.named ? undefined : size.nodes)
  prepare(columns.map((v) => v.driver), args.build)
  const started = Date.now()
  writeDerivedSchemas()
  const files = seed(size, args.schemas)
  const idle = await idleLoop(2)
  const items = plan(size, { sessionLogs: args.sessionLogs }).filter((item) => !args.trials || args.trials.some((t) => item.key.startsWith(t)))
  const raw = {}
  const load = [os.loadavg()[0]]
  for (let round = 0; round < rounds; round++) {
    const order = columns.map((_, i) => columns[(i + round) % columns.length])
    const jobs = []
    for (const item of items) {
      if (item.once && round > 0) continue
      for (const variant of order) {
        if (item.drivers && !item.drivers.includes(variant.driver)) continue
        if (item.schemas && !item.schemas.includes(variant.schema)) continue
        jobs.push({ item, variant })
      }
    }
    for (const group of processGroups(jobs, size.shareProcess)) {
      const { driver } = group[0].variant
      const runs = group.map(({ item, variant }) => ({ trial: item.trial, params: trialParams(item, variant, files, size) }))
      const groupStarted = Date.now()
      const results = group.length === 1 ? [trialProcess(driver, runs[0].trial, runs[0].params)] : trialsProcess(driver, runs)
      const took = ((Date.now() - groupStarted) / 1000).toFixed(1)
      group.forEach(({ item, variant }, i) => {
        if (item.db === 'write') for (const suffix of ['', '-wal', '-shm']) fs.rmSync(runs[i].params.db + suffix, { force: true })
        const result = results[i]
        raw[item.key] ??= {}
        raw[item.key][variant.key] ??= []
        raw[item.key][variant.key].push(result)
        const shown = result.error ? `error: ${result.error}` : summary(result)
        log(`[round ${round + 1}/${rounds}] ${item.label} · ${variant.key}: ${shown}${group.length === 1 ? ` (${took} s)` : ''}`)
      })
      if (group.length > 1) log(`[round ${round + 1}/${rounds}] ${group[0].variant.key}: ${group.length} trials in one process (${took} s)`)
    }
    load.push(os.loadavg()[0])
  }
  const trialSeconds = (Date.now() - started) / 1000
  const { writeReports } = require('./lib/report')
  const results = {
    mode,
    date: new Date().toISOString(),
    seconds: trialSeconds,
    machine: machine(),
    loadAverage: load,
    idleLoop: idle,
    versions: versions([...new Set(columns.map((v) => v.driver))]),
    rounds,
    sizes: size,
    variants: columns,
    trials: items.map(({ key, label, trial, params }) => ({ key, label, trial, params })),
    raw,
  }
  const written = await writeReports(results, RESULTS)
  log(`wrote ${written.map((f) => path.relative(ROOT, f)).join(', ')}: ${results.seconds.toFixed(0)} s of trials`)
  log(`total wall time ${((Date.now() - wallStarted) / 1000).toFixed(1)} s`)
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
