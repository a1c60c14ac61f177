'use strict'
// Timing, event-loop delay and memory readings, reported as bench/floor/src/measure.rs
// reports them.

const fs = require('node:fs')
const { monitorEventLoopDelay } = require('node:perf_hooks')

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`

/** Nanoseconds the JavaScript thread (the main thread, whose id is the process's) has spent on
 *  a CPU, kernel time included: the first field of its schedstat on Linux, else
 *  `process.threadCpuUsage()` (Node 23.9 and later), else null. */
function threadCpuNs() {
  try {
    return Number(fs.readFileSync(SCHEDSTAT, 'utf8').split(' ')[0])
  } catch {
    if (typeof process.threadCpuUsage !== 'function') return null
    const { user, system } = process.threadCpuUsage()
    return (user + system) * 1000
  }
}

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

/** p50, p99 and max in ms, and the sample count, of an event-loop histogram. */
function loopFigures(histogram) {
  const ms = (ns) => ns / 1e6
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), samples: histogram.count }
}

/** Watches the event loop while `work(timeCall)` runs: the interval between the firings of a
 *  1 ms timer (p50, p99, max, in ms; about 1 ms when nothing holds the loop), and the longest
 *  time one call kept the JavaScript thread (`timeCall` wraps each call; for a synchronous
 *  driver that is the whole call; null when no call was wrapped). Adds `jsCpuUsPerCall`: the JavaScript thread's CPU time during the work, in
 *  microseconds, divided by the record's `ops` (null when the thread's CPU time cannot be
 *  read or the record counts no `ops`). */
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
  const cpuBefore = threadCpuNs()
  const result = await work(timeCall)
  const cpuAfter = threadCpuNs()
  // Let the loop turn once more, so that a stall lasting to the end of the work is recorded.
  await new Promise((resolve) => setTimeout(resolve, 2))
  histogram.disable()
  result.eventLoop = { ...loopFigures(histogram), longestCallMs }
  result.jsCpuUsPerCall = cpuBefore !== null && cpuAfter !== null && result.ops > 0 ? (cpuAfter - cpuBefore) / 1000 / result.ops : null
  return result
}

const rss = () => process.memoryUsage.rss()

/** Peak resident memory of this process so far (VmHWM), in bytes. */
function peakRss() {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const match = /^VmHWM:\s*(\d+)\s*kB/m.exec(status)
  return match ? Number(match[1]) * 1024 : 0
}

/** The same histogram as `watchEventLoop`'s on a loop with nothing to do for `seconds`: the
 *  machine's own floor (the histogram records the interval between the timer's firings, so a
 *  loop that nothing holds reads about 1 ms, and the scheduler adds its own delays). */
async function idleLoop(seconds) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  histogram.disable()
  return loopFigures(histogram)
}

module.exports = { record, throughput, watchEventLoop, idleLoop, rss, peakRss }
