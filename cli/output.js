'use strict'
// Everything `agentdb` writes: plain text, JSON for scripts, aligned tables, and a progress
// line that only appears when stdout is a terminal.

/** Writes one command's output to the given streams, as text or as JSON. */
class Output {
  constructor({ stdout, stderr, json }) {
    this.stdout = stdout
    this.stderr = stderr
    this.json = json
  }

  /** A line of text (ignored in JSON mode, where only `data` writes to stdout). */
  line(text = '') {
    if (!this.json) this.stdout.write(`${text}\n`)
  }

  /** The command's result as JSON (JSON mode only). */
  data(value) {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  /** One JSON value on one line, for streams of records (`logs --follow --json`). */
  record(value) {
    this.stdout.write(`${JSON.stringify(value)}\n`)
  }

  /** An aligned table: `columns` are `[header, row => text, 'right'?]`. */
  table(columns, rows) {
    const cells = rows.map((row) => columns.map(([, cell]) => String(cell(row) ?? '')))
    const widths = columns.map(([header], i) => Math.max(header.length, ...cells.map((r) => r[i].length)))
    const format = (values) =>
      values
        .map((value, i) => (columns[i][2] === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])))
        .join('  ')
        .trimEnd()
    this.line(format(columns.map(([header]) => header)))
    for (const row of cells) this.line(format(row))
  }

  /** An error as `CODE: message` on stderr; in JSON mode also `{ error }` on stdout. */
  error(code, message, extra) {
    this.stderr.write(`${code}: ${message}\n`)
    if (this.json) this.stdout.write(`${JSON.stringify({ error: { code, message, ...extra } }, null, 2)}\n`)
  }

  /** A progress line, live only when stdout is a terminal and the output is not JSON. */
  progress() {
    return new Progress(this.stdout, Boolean(this.stdout.isTTY) && !this.json)
  }
}

/** A single status line rewritten in place; `clear()` removes it before the result prints. */
class Progress {
  constructor(stream, enabled) {
    this.stream = stream
    this.enabled = enabled
    this.timer = null
  }

  /** Shows `text`. */
  update(text) {
    if (this.enabled) this.stream.write(`\r\x1b[2K${text}`)
  }

  /** Shows `text` followed by the seconds elapsed, refreshed until `clear()`. */
  waiting(text) {
    if (!this.enabled) return
    const started = Date.now()
    const show = () => this.update(`${text} ${Math.floor((Date.now() - started) / 1000)}s`)
    show()
    this.timer = setInterval(show, 250)
  }

  /** Removes the line. */
  clear() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.enabled) this.stream.write('\r\x1b[2K')
  }
}

/** `1536` → `1.5 KiB`. */
function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** A duration in milliseconds, to one decimal (seconds past 10 s). */
function formatMs(ms) {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`
}

module.exports = { Output, formatBytes, formatMs }
