'use strict'
// Timing, event-loop delay and memory readings, reported as bench/floor/src/measure.rs
// reports them.

const { monitorEventLoopDelay } = require('node:perf_hooks')

const record = (ops, rows, seconds) => ({ ops, rows, seconds, opsPerSec: ops / seconds, rowsPerSec: rows / seconds })

/** Awaits `op(i, timeCall)` for `warmup` seconds, then counts its calls (and the rows each
 *  returns) for `seconds` with the event loop watched (`watchEventLoop`; `op` wraps its
 *  driver call in `timeCall`). */
async function throughput(warmup, seconds, op) {
  let i = 0
  const untimed = (call) => call()
  for (const until = performance.now() + warmup * 1000; performance.now() < until; ) await op(i++, untimed)
  return watchEventLoop(async (timeCall) => {
    let ops = 0
    let rows = 0
    const started = performance.now()
    const until = started + seconds * 1000
    do {
      rows += await op(i++, timeCall)
      ops++
    } while (performance.now() < until)
    return record(ops, rows, (performance.now() - started) / 1000)
  })
}

/** Watches the event loop while `work(timeCall)` runs: how late a 1 ms timer fires (p50, p99,
 *  max, in ms), and the longest time one call kept the JavaScript thread (`timeCall` wraps
 *  each call; for a synchronous driver that is the whole call; null when no call was
 *  wrapped). */
async function watchEventLoop(work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  let longestCallMs = null
  const timeCall = (call) => {
    const started = performance.now()
    const result = call()
    longestCallMs = Math.max(longestCallMs ?? 0, performance.now() - started)
    return result
  }
  histogram.enable()
  // The histogram records a delay when its timer fires after an earlier firing: let it fire
  // once before the work, so that a stall from the very start is recorded too.
  await new Promise((resolve) => setTimeout(resolve, 5))
  const result = await work(timeCall)
  // Let the loop turn once more, so that a stall lasting to the end of the work is recorded.
  await new Promise((resolve) => setTimeout(resolve, 2))
  histogram.disable()
  const ms = (ns) => ns / 1e6
  result.eventLoop = {
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    samples: histogram.count,
    longestCallMs,
  }
  return result
}

const rss = () => process.memoryUsage.rss()

/** Peak resident memory of this process so far (VmHWM), in bytes. */
function peakRss() {
  const status = require('node:fs').readFileSync('/proc/self/status', 'utf8')
  const match = /^VmHWM:\s*(\d+)\s*kB/m.exec(status)
  return match ? Number(match[1]) * 1024 : 0
}

module.exports = { record, throughput, watchEventLoop, rss, peakRss }
