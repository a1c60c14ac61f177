'use strict'
// Turns the raw records of a run into medians, checks them against the targets, and writes
// the JSON file, the markdown tables and the chart (vega-lite, rendered to SVG in Node).

const fs = require('node:fs')
const path = require('node:path')
const { DRIVER_SPECS, SCHEMAS } = require('./config')

const LABELS = Object.fromEntries(Object.entries(DRIVER_SPECS).map(([d, spec]) => [d, spec.label]))

const median = (values) => {
  const s = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (s.length === 0) return undefined
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** The median of every numeric field (and of `eventLoop`'s) over the runs without error. */
function medianRecord(records) {
  const ok = records.filter((r) => !r.error)
  if (ok.length === 0) return { error: records[0]?.error ?? 'no run' }
  if (ok.length === 1) return ok[0]
  const out = { runs: ok.length }
  for (const key of Object.keys(ok[0])) {
    if (typeof ok[0][key] === 'number') out[key] = median(ok.map((r) => r[key]))
    else if (key === 'eventLoop') {
      out.eventLoop = {}
      for (const k of Object.keys(ok[0].eventLoop)) out.eventLoop[k] = median(ok.map((r) => r.eventLoop[k]))
    }
  }
  return out
}

/** The figure a trial is compared on: rows per second for the batch trial, calls per
 *  second otherwise. */
const rate = (key, r) => (r && !r.error ? (key === 'append-batch' ? r.rowsPerSec : r.opsPerSec) : undefined)

const MB = 1e6

/** The trials compared across drivers (1 to 7), by key: every trial but this addon's own
 *  (10 to 12) and memory (9). */
const comparedTrials = (trials) => trials.filter((t) => !/^(stream|fork|delete|rss)/.test(t.trial)).map((t) => t.key)

/** What @cherry/agentdb must reach against each peer, as a multiple of the peer's rate, by
 *  trial key (`every`: the trials without a goal of their own; none: no goal). */
const PEER_GOALS = [
  { peer: 'sqlite3', every: 2 },
  { peer: 'libsql', every: 2 },
  { peer: 'turso', goals: { append: 1 }, every: 1.5 },
  { peer: 'better-sqlite3', goals: { append: 0.8, 'append-batch': 1, latest: 1, 'point-read': 0.5 } },
]

/** The trials of single awaited calls, whose JavaScript-thread CPU per call has a goal. */
const AWAITED_CALLS = ['append', 'point-read']

/** Every performance target, evaluated on the medians `m` of the run's `trials` and
 *  `variants`. A target against a peer compares the addon on its schema with the peer on
 *  the bare schema (the reference module's, as the performance goals are stated) and gives
 *  the same-schema ratio beside it (`same`: the peer on this addon's schema, or on the
 *  nearest it can run). */
function targets(m, depths, trials, variants) {
  const get = (key, variant) => rate(key, m[key]?.[variant])
  const ratio = (key, variant) => div(get(key, 'agentdb'), get(key, variant))
  const sameSchema = (peer) => variants.find((v) => v.driver === peer && v.schema !== 'bare')?.key
  const label = (key) => trials.find((t) => t.key === key)?.label ?? key
  const deep = depths[depths.length - 1]
  const calls = m['rss-calls']?.agentdb?.samples
  const t = (trial, goal, value, met, unit = 'x', extra = {}) => ({ trial, goal, value, unit, met: value === undefined ? null : met(value), ...extra })
  const vsPeer = (trial, goal, key, peer, min) =>
    t(trial, goal, ratio(key, `${peer}/bare`), (v) => v >= min, 'x', { same: ratio(key, sameSchema(peer)) })
  const list = []
  for (const { peer, goals = {}, every } of PEER_GOALS) {
    for (const key of comparedTrials(trials)) {
      const min = goals[key] ?? every
      if (min === undefined) continue
      list.push(vsPeer(label(key), `>= ${min.toFixed(1)}x ${LABELS[peer]}`, key, peer, min))
    }
  }
  list.push(
    t('3 concurrent appends', ">= 3x better-sqlite3 12's trial 2 rate", div(get('append-concurrent', 'agentdb'), get('append', 'better-sqlite3/bare')), (v) => v >= 3, 'x', {
      same: div(get('append-concurrent', 'agentdb'), get('append', 'better-sqlite3')),
    }),
    vsPeer('6 point read', '>= 10x @libsql/client', 'point-read', 'libsql', 10),
    t('4 batch append', '>= 0.8x the Rust floor', ratio('append-batch', 'floor'), (v) => v >= 0.8),
    t('7 keyset depth', `cost at ${deep.toLocaleString('en-US')} <= 2x cost at 0`, div(get('page-keyset-0', 'agentdb'), get(`page-keyset-${deep}`, 'agentdb')), (v) => v <= 2),
    t('1 open + migrate', '<= 3x the Rust floor', div(m['open-migrate']?.agentdb?.medianMs, m['open-migrate']?.floor?.medianMs), (v) => v <= 3),
  )
  for (const trial of trials) {
    const el = m[trial.key]?.agentdb?.eventLoop
    if (!el) continue
    list.push(t(`8 event loop (${trial.label})`, 'p99 <= 2 ms and max <= 5 ms', el.p99, () => el.p99 <= 2 && el.max <= 5, 'ms', { shown: `${fmt(el.p99, 2)} / ${fmt(el.max, 2)} ms` }))
  }
  for (const key of AWAITED_CALLS) {
    list.push(t(`JS-thread CPU (${label(key)})`, '<= 6 µs per awaited call', m[key]?.agentdb?.jsCpuUsPerCall ?? undefined, (v) => v <= 6, 'µs'))
  }
  list.push(
    t('9 memory', 'RSS growth <= 64 MB paging all logs', div(m['rss-paging']?.agentdb?.growth, MB), (v) => v <= 64, 'MB'),
    t('9 memory', 'flat across the calls: <= 4 MB from the second tenth to the last', calls && calls.length > 1 ? div(calls[calls.length - 1] - calls[1], MB) : undefined, (v) => v <= 4, 'MB'),
  )
  return list
}

function div(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : undefined
}

const fmt = (v, digits = 0) => (v === undefined || v === null ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const fmtRatio = (v) => (v === undefined ? 'n/a' : `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}x`)

/** The trials of a run split into the tables of the report: trials 1 to 6, the pages of
 *  trial 7, and the trials of this addon only (10, 11). Trial 9 has its own table. */
function trialGroups(trials) {
  const memory = trials.filter((t) => t.trial.startsWith('rss'))
  const pages = trials.filter((t) => t.trial === 'page')
  const own = trials.filter((t) => t.trial === 'stream' || t.trial === 'fork')
  const main = trials.filter((t) => !memory.includes(t) && !pages.includes(t) && !own.includes(t))
  return { main, pages, own, memory }
}

/** A markdown table with a row per variant that has a record of one of `trials`, and a
 *  column per trial; `cell(trialKey, record)` writes one cell. */
function variantTable(lines, columns, m, trials, cell) {
  const shown = columns.filter((v) => trials.some((t) => m[t.key]?.[v.key]))
  if (shown.length === 0 || trials.length === 0) return
  lines.push(`| driver | ${trials.map((t) => t.label).join(' | ')} |`)
  lines.push(`|---|${trials.map(() => '---:').join('|')}|`)
  for (const v of shown) {
    const cells = trials.map((t) => {
      const r = m[t.key]?.[v.key]
      if (!r) return ''
      return r.error ? 'error' : cell(t.key, r)
    })
    lines.push(`| ${v.label} | ${cells.join(' | ')} |`)
  }
  lines.push('')
}

/** The errors of the medians, one line per variant and message (the trials it failed in
 *  listed), so that a table's "error" says why. */
function errorLines(lines, columns, m, trials) {
  const errors = new Map()
  for (const v of columns) {
    for (const t of trials) {
      const error = m[t.key]?.[v.key]?.error
      if (!error) continue
      const message = error.split(' |')[0].slice(0, 240)
      const key = `${v.label}: ${message}`
      errors.set(key, [...(errors.get(key) ?? []), t.label])
    }
  }
  if (errors.size === 0) return
  lines.push('Errors:')
  lines.push('')
  for (const [key, failed] of errors) {
    const [label, ...message] = key.split(': ')
    lines.push(`- ${label} (${failed.join(', ')}): ${message.join(': ')}`)
  }
  lines.push('')
}

function markdown(results, m, checks) {
  const columns = results.variants
  const lines = []
  const { machine: mc } = results
  lines.push(`Measured ${results.date.slice(0, 10)} (${results.mode} run, medians of ${results.rounds} round${results.rounds > 1 ? 's' : ''}, ${results.sizes.shareProcess ? 'a fresh process per driver for its trials but trial 9' : 'a fresh process per driver and trial'}, ${fmt(results.seconds)} s of trials) on ${mc.cores} × ${mc.cpu}, ${mc.memoryGiB} GiB, ${mc.os}, Node ${mc.node}; load average ${results.loadAverage.map((l) => l.toFixed(1)).join(' → ')}.`)
  lines.push('')
  lines.push(`Versions: ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join('; ')}.`)
  lines.push('')
  lines.push("Each peer runs on this addon's schema (the built-in migrations) and on the reference module's bare tables (`bare schema`: bench/sql/reference/); the addon runs on its own.")
  lines.push('')
  for (const driver of new Set(columns.map((v) => v.driver))) {
    if (DRIVER_SPECS[driver].note) lines.push(DRIVER_SPECS[driver].note, '')
  }
  const { main, pages, own, memory } = trialGroups(results.trials)
  const rateCell = (key, r) => {
    if (key === 'open-migrate') return `${fmt(r.medianMs, 1)} ms`
    const value = rate(key, r)
    return fmt(value, value < 10 ? 1 : 0)
  }
  lines.push('### Throughput (operations per second; trial 1 in milliseconds per open + migrate + close; trial 4 in rows per second)')
  lines.push('')
  variantTable(lines, columns, m, main, rateCell)
  variantTable(lines, columns, m, pages, rateCell)
  variantTable(lines, columns, m, own, rateCell)
  errorLines(lines, columns, m, [...main, ...pages, ...own, ...memory])
  const agentdb = (key) => rate(key, m[key]?.agentdb)
  lines.push('### @cherry/agentdb ÷ each peer (higher: the addon is faster)')
  lines.push('')
  variantTable(lines, columns.filter((v) => v.key !== 'agentdb'), m, [...main, ...pages], (key, r) => fmtRatio(div(agentdb(key), rate(key, r))))
  const withLoop = [...main, ...pages, ...own, ...memory].filter((t) => columns.some((v) => m[t.key]?.[v.key]?.eventLoop))
  const loopCell = (_, r) => (r.eventLoop ? `${fmt(r.eventLoop.p50, 1)} / ${fmt(r.eventLoop.p99, 1)} / ${fmt(r.eventLoop.max, 1)}` : 'n/a')
  lines.push('### Event loop during every trial (ms: p50 / p99 / max of the interval between the firings of a 1 ms timer)')
  lines.push('')
  const idle = results.idleLoop
  const floor = idle
    ? ` The same histogram on an idle Node process of this run, before the trials: ${fmt(idle.p50, 2)} / ${fmt(idle.p99, 2)} / ${fmt(idle.max, 2)}.`
    : ''
  lines.push(
    `Watched while each trial counts, after its warm-up (trial 9 across calls is not watched: its forced garbage collections would be what it measured). An interval of about 1 ms is a loop nothing held; what is above it is how late the timer fired.${floor} The floor has no event loop.`,
  )
  lines.push('')
  const js = columns.filter((v) => v.driver !== 'floor')
  for (const group of [main, pages, [...own, ...memory]]) variantTable(lines, js, m, withLoop.filter((t) => group.includes(t)), loopCell)
  lines.push('### Longest call on the JavaScript thread (ms; for a synchronous driver, the whole call)')
  lines.push('')
  variantTable(lines, js, m, withLoop.filter((t) => main.includes(t)), (_, r) => fmt(r.eventLoop?.longestCallMs, 2))
  lines.push('### JS-thread CPU µs/call (CPU time of the JavaScript thread while the trial counted, kernel time included, ÷ calls)')
  lines.push('')
  lines.push("Read from the main thread's `/proc/self/task/<pid>/schedstat` (else `process.threadCpuUsage()`); it includes the trial's own loop around each call (making the log to append). Trial 4 counts calls of 1000 rows. The floor has no JavaScript thread.")
  lines.push('')
  const withCpu = [...main, ...pages, ...own].filter((t) => columns.some((v) => typeof m[t.key]?.[v.key]?.jsCpuUsPerCall === 'number'))
  variantTable(lines, columns, m, withCpu, (_, r) => (typeof r.jsCpuUsPerCall === 'number' ? fmt(r.jsCpuUsPerCall, r.jsCpuUsPerCall < 100 ? 1 : 0) : 'n/a'))
  lines.push('### Memory (trial 9, MB = 10^6 bytes)')
  lines.push('')
  lines.push('| driver | rows paged | RSS before | peak while paging | growth | calls | RSS after 1st tenth → after last | growth across calls |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const v of columns.filter((v) => memory.some((t) => m[t.key]?.[v.key]))) {
    const p = m['rss-paging']?.[v.key]
    const c = m['rss-calls']?.[v.key]
    const s = c?.samples
    lines.push(`| ${v.label} | ${fmt(p?.rows)} | ${fmt(div(p?.rssBefore, MB), 1)} | ${fmt(div(p?.rssPeak, MB), 1)} | ${fmt(div(p?.growth, MB), 1)} | ${fmt(c?.calls)} | ${s ? `${fmt(s[0] / MB, 1)} → ${fmt(s[s.length - 1] / MB, 1)}` : 'n/a'} | ${s ? fmt((s[s.length - 1] - s[0]) / MB, 1) : 'n/a'} |`)
  }
  lines.push('')
  lines.push('### Targets')
  lines.push('')
  lines.push("Against a peer, the measured ratio is the addon on its schema ÷ the peer on the bare schema (the reference module's, as the goals are stated), and decides whether the target is met; the same-schema ratio beside it is the addon ÷ the peer on the addon's schema (for @tursodatabase/database: without the FTS5 tables, which it cannot run). Every figure is a median of this run.")
  lines.push('')
  lines.push('| trial | target | measured | met | same schema |')
  lines.push('|---|---|---:|:---:|---:|')
  for (const c of checks) {
    const value = c.shown ?? (c.value === undefined ? 'n/a' : c.unit === 'x' ? fmtRatio(c.value) : `${fmt(c.value, 2)} ${c.unit}`)
    const same = 'same' in c ? fmtRatio(c.same) : ''
    lines.push(`| ${c.trial} | ${c.goal} | ${value} | ${c.met === null ? 'n/a' : c.met ? 'yes' : '**no**'} | ${same} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/** A vega-lite chart of every driver on every schema: each trial's rate relative to
 *  better-sqlite3 12 on this addon's schema (log scale), one panel per trial; and the
 *  event-loop delay of every trial (p50 to max as a bar, p99 as a tick). Colour is the
 *  driver, the other schemas' bars are paler. */
function chartSpec(results, m) {
  const columns = results.variants
  const { main, pages, own, memory } = trialGroups(results.trials)
  const rows = []
  for (const t of [...main, ...pages, ...own]) {
    const base = rate(t.key, m[t.key]?.['better-sqlite3'])
    for (const v of columns) {
      const value = rate(t.key, m[t.key]?.[v.key])
      if (value !== undefined && base) rows.push({ trial: t.label, variant: v.label, driver: LABELS[v.driver], schema: v.schema, ratio: Math.min(Math.max(value / base, 0.001), 1000) })
    }
  }
  const delays = []
  for (const t of [...main, ...pages, ...own, ...memory]) {
    for (const v of columns) {
      const el = m[t.key]?.[v.key]?.eventLoop
      if (!el) continue
      const ms = (x) => Math.max(x, 0.1)
      delays.push({ trial: t.label, variant: v.label, driver: LABELS[v.driver], schema: v.schema, p50: ms(el.p50), p99: ms(el.p99), max: ms(el.max) })
    }
  }
  const order = columns.map((v) => v.label)
  const drivers = [...new Set(columns.map((v) => LABELS[v.driver]))]
  const color = { field: 'driver', type: 'nominal', sort: drivers, scale: { domain: drivers, scheme: 'category10' }, title: 'driver', legend: { labelLimit: 260 } }
  const opacity = { field: 'schema', type: 'ordinal', sort: SCHEMAS, scale: { domain: SCHEMAS, range: [1, 0.45, 0.75] }, title: 'schema' }
  const y = { field: 'variant', type: 'nominal', sort: order, title: null, axis: { labelLimit: 0 } }
  const facet = { field: 'trial', type: 'nominal', sort: results.trials.map((t) => t.label), title: null, header: { labelFontWeight: 'bold' } }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `@cherry/agentdb benchmark (${results.mode} run, ${results.machine.cores} × ${results.machine.cpu}, ${results.date.slice(0, 10)})`,
    config: { font: 'sans-serif' },
    vconcat: [
      {
        title: 'Rate relative to better-sqlite3 12 on the addon schema (higher is better)',
        data: { values: rows },
        facet,
        columns: 3,
        resolve: { scale: { y: 'independent' }, axis: { y: 'independent' } },
        spec: {
          width: 200,
          height: { step: 9 },
          mark: 'bar',
          encoding: {
            y,
            // Log-scale bars need an explicit base: the bottom of the fixed domain.
            x: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domain: [0.001, 1000] }, title: '× better-sqlite3 12' },
            x2: { datum: 0.001 },
            color,
            opacity,
          },
        },
      },
      {
        title: 'Event-loop delay during each trial (ms; bar p50 to max, tick p99; lower is better)',
        data: { values: delays },
        facet,
        columns: 3,
        resolve: { scale: { y: 'independent' }, axis: { y: 'independent' } },
        spec: {
          width: 200,
          height: { step: 9 },
          layer: [
            {
              mark: 'bar',
              encoding: {
                y,
                x: { field: 'p50', type: 'quantitative', scale: { type: 'log', domain: [0.1, 10000] }, title: 'ms' },
                x2: { field: 'max' },
                color,
                opacity,
              },
            },
            { mark: { type: 'tick', color: 'black', thickness: 1 }, encoding: { y, x: { field: 'p99', type: 'quantitative' } } },
          ],
        },
      },
    ],
  }
}

async function renderSvg(spec) {
  const vegaLite = await import('vega-lite')
  const vega = await import('vega')
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' })
  return view.toSVG()
}

/** Writes results[-quick].json, .md and .svg into `dir`; returns their paths. */
async function writeReports(results, dir) {
  const m = {}
  for (const [key, byDriver] of Object.entries(results.raw)) {
    m[key] = {}
    for (const [driver, records] of Object.entries(byDriver)) m[key][driver] = medianRecord(records)
  }
  const checks = targets(m, results.sizes.depths, results.trials, results.variants)
  const base = path.join(dir, results.mode === 'quick' ? 'results-quick' : 'results')
  const files = [`${base}.json`, `${base}.md`, `${base}.svg`]
  fs.writeFileSync(files[0], `${JSON.stringify({ ...results, median: m, targets: checks }, null, 2)}\n`)
  fs.writeFileSync(files[1], markdown(results, m, checks))
  fs.writeFileSync(files[2], await renderSvg(chartSpec(results, m)))
  return files
}

module.exports = { writeReports }
