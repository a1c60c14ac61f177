'use strict'
// Turns the raw records of a run into medians, checks them against the targets, and writes
// the JSON file, the markdown tables and the chart (vega-lite, rendered to SVG in Node).

const fs = require('node:fs')
const path = require('node:path')
const { DRIVERS, LABELS } = require('./config')

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

/** Every performance target, evaluated on the medians. */
function targets(m, depths) {
  const get = (key, driver) => rate(key, m[key]?.[driver])
  const ratio = (key, peer) => div(get(key, 'agentdb'), get(key, peer))
  const el = (key) => m[key]?.agentdb?.eventLoop
  const deep = depths[depths.length - 1]
  const calls = m['rss-calls']?.agentdb?.samples
  const t = (trial, goal, value, met, unit = 'x') => ({ trial, goal, value, unit, met: value === undefined ? null : met(value) })
  return [
    t('2 sequential appends', '>= 0.8x better-sqlite3', ratio('append', 'better-sqlite3'), (v) => v >= 0.8),
    t('2 sequential appends', '>= 2x @libsql/client', ratio('append', 'libsql'), (v) => v >= 2),
    t('3 concurrent appends', ">= 3x better-sqlite3's trial 2 rate", div(get('append-concurrent', 'agentdb'), get('append', 'better-sqlite3')), (v) => v >= 3),
    t('4 batch append', '>= 1.0x better-sqlite3', ratio('append-batch', 'better-sqlite3'), (v) => v >= 1),
    t('4 batch append', '>= 0.8x the Rust floor', ratio('append-batch', 'floor'), (v) => v >= 0.8),
    t('5 latest 50', '>= 1.0x better-sqlite3', ratio('latest', 'better-sqlite3'), (v) => v >= 1),
    t('6 point read', '>= 10x @libsql/client', ratio('point-read', 'libsql'), (v) => v >= 10),
    t('6 point read', '>= 0.5x better-sqlite3', ratio('point-read', 'better-sqlite3'), (v) => v >= 0.5),
    t('7 keyset depth', `cost at ${deep.toLocaleString('en-US')} <= 2x cost at 0`, div(get('page-keyset-0', 'agentdb'), get(`page-keyset-${deep}`, 'agentdb')), (v) => v <= 2),
    t('8 event loop (trial 3)', 'p99 <= 2 ms', el('append-concurrent')?.p99, (v) => v <= 2, 'ms'),
    t('8 event loop (trial 3)', 'max <= 10 ms', el('append-concurrent')?.max, (v) => v <= 10, 'ms'),
    t('8 event loop (trial 4)', 'p99 <= 2 ms', el('append-batch')?.p99, (v) => v <= 2, 'ms'),
    t('8 event loop (trial 4)', 'max <= 10 ms', el('append-batch')?.max, (v) => v <= 10, 'ms'),
    t('9 memory', 'RSS growth <= 64 MB paging all logs', div(m['rss-paging']?.agentdb?.growth, MB), (v) => v <= 64, 'MB'),
    t('9 memory', 'flat across the calls (<= 8 MB from the first tenth to the last)', calls && div(calls[calls.length - 1] - calls[0], MB), (v) => v <= 8, 'MB'),
    t('1 open + migrate', '<= 3x the Rust floor', div(m['open-migrate']?.agentdb?.medianMs, m['open-migrate']?.floor?.medianMs), (v) => v <= 3),
  ]
}

function div(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : undefined
}

const fmt = (v, digits = 0) => (v === undefined ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const fmtRatio = (v) => (v === undefined ? 'n/a' : `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}x`)

function markdown(results, m, checks) {
  const drivers = DRIVERS.filter((d) => Object.values(m).some((byDriver) => byDriver[d]))
  const lines = []
  const { machine: mc } = results
  lines.push(`Measured ${results.date.slice(0, 10)} (${results.mode} run, medians of ${results.rounds} round${results.rounds > 1 ? 's' : ''}, a fresh process per driver and trial) on ${mc.cores} × ${mc.cpu}, ${mc.memoryGiB} GiB, ${mc.os}, Node ${mc.node}; load average ${results.loadAverage.map((l) => l.toFixed(1)).join(' → ')}.`)
  lines.push('')
  lines.push(`Versions: ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join('; ')}.`)
  lines.push('')
  lines.push('### Throughput (operations per second; trial 4 in rows per second)')
  lines.push('')
  const peers = ['better-sqlite3', 'libsql', 'floor'].filter((d) => drivers.includes(d))
  lines.push(`| trial | ${drivers.map((d) => LABELS[d]).join(' | ')} | ${peers.map((p) => `agentdb ÷ ${LABELS[p]}`).join(' | ')} |`)
  lines.push(`|---|${drivers.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`)
  for (const t of results.trials) {
    if (t.trial.startsWith('rss')) continue
    const row = m[t.key] ?? {}
    const cells = drivers.map((d) => (row[d]?.error ? 'error' : fmt(rate(t.key, row[d]))))
    const ratios = peers.map((p) => fmtRatio(div(rate(t.key, row.agentdb), rate(t.key, row[p]))))
    lines.push(`| ${t.label} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`)
  }
  const open = m['open-migrate'] ?? {}
  lines.push('')
  lines.push(`Trial 1 in milliseconds per open + migrate + close: ${drivers.map((d) => `${LABELS[d]} ${fmt(open[d]?.medianMs, 1)}`).join(', ')}.`)
  lines.push('')
  lines.push('### Event loop while trials 3 and 4 run (trial 8, ms)')
  lines.push('')
  lines.push('| driver | trial | p50 | p99 | max | longest call on the JS thread |')
  lines.push('|---|---|---:|---:|---:|---:|')
  for (const d of drivers.filter((d) => d !== 'floor')) {
    for (const key of ['append-concurrent', 'append-batch']) {
      const el = m[key]?.[d]?.eventLoop
      lines.push(`| ${LABELS[d]} | ${key === 'append-batch' ? '4 batch' : '3 concurrent'} | ${fmt(el?.p50, 2)} | ${fmt(el?.p99, 2)} | ${fmt(el?.max, 1)} | ${fmt(el?.longestCallMs, 2)} |`)
    }
  }
  lines.push('')
  lines.push('### Memory (trial 9, MB = 10^6 bytes)')
  lines.push('')
  lines.push('| driver | rows paged | RSS before | peak while paging | growth | calls | RSS after 1st tenth → after last | growth across calls |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const d of drivers) {
    const p = m['rss-paging']?.[d]
    const c = m['rss-calls']?.[d]
    const s = c?.samples
    lines.push(`| ${LABELS[d]} | ${fmt(p?.rows)} | ${fmt(div(p?.rssBefore, MB), 1)} | ${fmt(div(p?.rssPeak, MB), 1)} | ${fmt(div(p?.growth, MB), 1)} | ${fmt(c?.calls)} | ${s ? `${fmt(s[0] / MB, 1)} → ${fmt(s[s.length - 1] / MB, 1)}` : 'n/a'} | ${s ? fmt((s[s.length - 1] - s[0]) / MB, 1) : 'n/a'} |`)
  }
  lines.push('')
  lines.push('### Targets')
  lines.push('')
  lines.push('| trial | target | measured | met |')
  lines.push('|---|---|---:|:---:|')
  for (const c of checks) {
    const value = c.value === undefined ? 'n/a' : c.unit === 'x' ? fmtRatio(c.value) : `${fmt(c.value, 2)} ${c.unit}`
    lines.push(`| ${c.trial} | ${c.goal} | ${value} | ${c.met === null ? 'n/a' : c.met ? 'yes' : '**no**'} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/** A vega-lite chart: each trial's rate relative to better-sqlite3 (log scale), and the
 *  event-loop delay while trials 3 and 4 run. */
function chartSpec(results, m) {
  const rows = []
  for (const t of results.trials) {
    if (t.trial.startsWith('rss')) continue
    const base = rate(t.key, m[t.key]?.['better-sqlite3'])
    for (const d of DRIVERS) {
      const v = rate(t.key, m[t.key]?.[d])
      if (v !== undefined && base) rows.push({ trial: t.label, driver: LABELS[d], ratio: v / base })
    }
  }
  const delays = []
  for (const d of DRIVERS.filter((d) => d !== 'floor')) {
    for (const [key, name] of [['append-concurrent', '3 concurrent'], ['append-batch', '4 batch']]) {
      const el = m[key]?.[d]?.eventLoop
      if (!el) continue
      for (const stat of ['p99', 'max']) delays.push({ run: `${name} ${stat}`, driver: LABELS[d], ms: Math.max(el[stat], 0.01) })
    }
  }
  const color = { field: 'driver', type: 'nominal', sort: DRIVERS.map((d) => LABELS[d]), title: null }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `@cherry/agentdb benchmark (${results.machine.cores} × ${results.machine.cpu}, ${results.date.slice(0, 10)})`,
    config: { font: 'sans-serif' },
    vconcat: [
      {
        title: 'Rate relative to better-sqlite3 (higher is better)',
        data: { values: rows },
        mark: 'bar',
        width: { step: 12 },
        height: 260,
        encoding: {
          x: { field: 'trial', type: 'nominal', sort: null, title: null, axis: { labelAngle: -35, labelLimit: 220 } },
          xOffset: { field: 'driver', sort: DRIVERS.map((d) => LABELS[d]) },
          // Log-scale bars need an explicit base: the bottom of the fixed domain.
          y: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domain: [0.01, 10] }, title: '× better-sqlite3' },
          y2: { datum: 0.01 },
          color,
        },
      },
      {
        title: 'Event-loop delay while appending (ms, lower is better)',
        data: { values: delays },
        mark: 'bar',
        width: { step: 14 },
        height: 200,
        encoding: {
          x: { field: 'run', type: 'nominal', sort: null, title: null, axis: { labelAngle: -35 } },
          xOffset: { field: 'driver', sort: DRIVERS.map((d) => LABELS[d]) },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log', domain: [0.1, 10000] }, title: 'ms' },
          y2: { datum: 0.1 },
          color,
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
  const checks = targets(m, results.sizes.depths)
  const base = path.join(dir, results.mode === 'quick' ? 'results-quick' : 'results')
  const files = [`${base}.json`, `${base}.md`, `${base}.svg`]
  fs.writeFileSync(files[0], `${JSON.stringify({ ...results, median: m, targets: checks }, null, 2)}\n`)
  fs.writeFileSync(files[1], markdown(results, m, checks))
  fs.writeFileSync(files[2], await renderSvg(chartSpec(results, m)))
  return files
}

module.exports = { writeReports }
