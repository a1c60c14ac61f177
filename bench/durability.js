#!/usr/bin/env node
'use strict'
// `npm run bench:durability [-- --quick] [--runs N] [--no-build]`
//
// What `durability: 'full'` costs: trials 2 (sequential appends) and 3 (8 concurrent
// appenders) of the main benchmark, run on this addon opened with `durability: 'normal'` and
// with `durability: 'full'`, in the same run, each in a fresh process on a fresh database,
// the two orders alternating from round to round. Reports each median and the ratio
// full / normal, and writes bench/results/durability.{json,md} (durability-quick.* with
// `--quick`, which git ignores).

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { SIZES } = require('./lib/config')
const { sessionId } = require('./lib/workload')

const ROOT = path.join(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const TMP = path.join(RESULTS, 'tmp')
const DRIVERS = { normal: 'agentdb', full: 'agentdb-full' }
const CONCURRENCY = 8
const TRIALS = [
  { key: 'append', label: '2 sequential appends', params: {} },
  { key: 'append-concurrent', label: `3 ${CONCURRENCY} concurrent appenders`, params: { concurrency: CONCURRENCY } },
]

const log = (text) => process.stderr.write(`${text}\n`)

function parseArgs(argv) {
  const args = { quick: false, build: true, runs: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--no-build') args.build = false
    else if (a === '--runs') args.runs = Number(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  return args
}

/** A migrated database with an agent and the sessions the appenders write to. */
async function seed(file) {
  const { Database } = require('..')
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true })
  const db = await Database.open(file)
  await db.migrate()
  const agent = await db.createAgent({ name: 'bench', model: 'model' })
  for (let i = 0; i < CONCURRENCY; i++) await db.createSession({ id: sessionId(i), mainAgentId: agent.id })
  await db.close()
}

/** Runs one trial in a fresh process on a fresh copy of `seeded`; its record or `{ error }`. */
function trial(driver, key, params, seeded) {
  const db = path.join(TMP, `durability-${driver}.db`)
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db + suffix, { force: true })
  fs.copyFileSync(seeded, db)
  const argv = ['--expose-gc', path.join(__dirname, 'trial.js'), driver, key, JSON.stringify({ ...params, db, dir: TMP })]
  const child = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', timeout: 10 * 60_000 })
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db + suffix, { force: true })
  const line = child.stdout?.trim().split('\n').pop()
  if (child.status === 0 && line) return JSON.parse(line)
  return { error: (child.stderr || `exit ${child.status}`).trim().split('\n').slice(0, 3).join(' | ') }
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b)
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

function markdown(results) {
  const lines = [
    '# Durability: what `full` costs',
    '',
    `Written by \`npm run bench:durability${results.mode === 'quick' ? ' -- --quick' : ''}\` on ${results.date}: ${results.rounds} round(s), ${results.seconds.toFixed(0)} s.`,
    `Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.os}, Node ${results.machine.node}; load average ${results.loadAverage.map((l) => l.toFixed(2)).join(' → ')}.`,
    '',
    '| trial | normal (ops/s) | full (ops/s) | full / normal |',
    '|---|---:|---:|---:|',
  ]
  for (const row of results.medians) {
    const ops = (v) => Math.round(v).toLocaleString('en-US')
    lines.push(`| ${row.label} | ${ops(row.normal)} | ${ops(row.full)} | ${row.ratio.toFixed(2)} |`)
  }
  lines.push('', 'Medians of the rounds; every round of each setting is in the JSON file beside this one.', '')
  return lines.join('\n')
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const mode = args.quick ? 'quick' : 'full'
  const size = SIZES[mode]
  const rounds = args.runs ?? size.runs
  if (args.build) execFileSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: ROOT })
  fs.mkdirSync(TMP, { recursive: true })
  const started = Date.now()
  const seeded = path.join(TMP, 'durability-seed.db')
  await seed(seeded)
  const load = [os.loadavg()[0]]
  const raw = {}
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['normal', 'full'] : ['full', 'normal']
    for (const t of TRIALS) {
      for (const durability of order) {
        const result = trial(DRIVERS[durability], t.key, { warmup: size.warmup, seconds: size.seconds, ...t.params }, seeded)
        if (result.error) throw new Error(`${t.label}, ${durability}: ${result.error}`)
        raw[t.key] ??= { normal: [], full: [] }
        raw[t.key][durability].push(result)
        log(`[round ${round + 1}/${rounds}] ${t.label} · ${durability}: ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s`)
      }
    }
    load.push(os.loadavg()[0])
  }
  const medians = TRIALS.map((t) => {
    const normal = median(raw[t.key].normal.map((r) => r.opsPerSec))
    const full = median(raw[t.key].full.map((r) => r.opsPerSec))
    return { key: t.key, label: t.label, normal, full, ratio: full / normal }
  })
  const cpus = os.cpus()
  const results = {
    mode,
    date: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, os: `${os.type()} ${os.release()}`, node: process.version },
    loadAverage: load,
    rounds,
    medians,
    raw,
  }
  const base = path.join(RESULTS, mode === 'quick' ? 'durability-quick' : 'durability')
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`)
  fs.writeFileSync(`${base}.md`, markdown(results))
  for (const f of [seeded, `${seeded}-wal`, `${seeded}-shm`]) fs.rmSync(f, { force: true })
  process.stdout.write(markdown(results))
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
})
