// Results too large for a JavaScript value. Each read runs in a child process, where a crash
// shows as a signal exit: a page or a query result larger than the JavaScript heap has room
// for (the child's heap is limited to 128 MiB so that the data stays small), and a text value
// longer than a JavaScript string can be. Each must reject with RESULT_TOO_LARGE, and the same
// rows must read in pages bounded by maxBytes.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

import { figure, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CHILD = join(ROOT, '__test__', 'children', 'big-results.cjs')
const ADDON = join(ROOT, 'index.js')

type Step = { step: string; resolved?: boolean; code?: string; message?: string; rows?: number; pages?: number; largest?: number }

/** Runs the child with `heapMiB` of JavaScript heap; its steps, and how it exited. */
function run(heapMiB: number | null, args: string[]): { steps: Record<string, Step>; status: number | null; signal: string | null } {
  const flags = heapMiB === null ? [] : [`--max-old-space-size=${heapMiB}`]
  const child = spawnSync(process.execPath, [...flags, CHILD, ADDON, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 })
  const steps: Record<string, Step> = {}
  for (const line of child.stdout.split('\n').filter(Boolean)) {
    const step = JSON.parse(line) as Step
    steps[step.step] = step
  }
  return { steps, status: child.status, signal: child.signal }
}

describe('results too large for JavaScript', () => {
  it('a page larger than the heap has room for rejects, and pages bounded by maxBytes read every row', { timeout: 300_000 }, () => {
    const file = join(tempDir('results'), 'logs.db')
    const ROWS = 15
    const SIZE = 6_000_000
    const MAX_BYTES = 16_000_000
    expect(run(null, [file, 'write', String(ROWS), String(SIZE)]).steps.written.rows).toBe(ROWS)

    const { steps, status, signal } = run(128, [file, 'logs', String(MAX_BYTES)])
    expect({ status, signal }).toEqual({ status: 0, signal: null })
    for (const call of ['getLogs', 'getLatestLogs']) {
      expect(steps[call].code, steps[call].message).toBe('RESULT_TOO_LARGE')
      expect(steps[call].message).toMatch(/the result is 85\.\d MiB .* JavaScript heap.*maxBytes/)
    }
    // Each page stops before the row that would pass the bound: two rows of 6 MB.
    expect(steps.paged).toMatchObject({ rows: ROWS, pages: Math.ceil(ROWS / 2) })
    expect(steps.paged.largest).toBeLessThanOrEqual(MAX_BYTES)
    expect(steps['getLatestLogs maxBytes']).toMatchObject({ resolved: true, rows: 2 })
    figure(`a ${ROWS}-row page of ${(ROWS * SIZE) / 1e6} MB in a 128 MiB heap: RESULT_TOO_LARGE; in pages of maxBytes ${MAX_BYTES / 1e6} MB: ${steps.paged.pages} pages, every row`)
  })

  it('query rows larger than the heap has room for reject, and the process goes on', { timeout: 120_000 }, () => {
    const file = join(tempDir('results'), 'query.db')
    const { steps, status, signal } = run(128, [file, 'query', '200', '1000000'])
    expect({ status, signal }).toEqual({ status: 0, signal: null })
    expect(steps.query.code, steps.query.message).toBe('RESULT_TOO_LARGE')
    expect(steps.query.message).toMatch(/the result is 190\.\d MiB .* JavaScript heap/)
    expect(steps['query small']).toMatchObject({ resolved: true, rows: 2 })
    figure('a query of 200 rows of 1 MB in a 128 MiB heap: RESULT_TOO_LARGE, the next query resolved')
  })

  it('a text value longer than a JavaScript string can be rejects before it is copied', { timeout: 120_000 }, () => {
    const file = join(tempDir('results'), 'string.db')
    // 2^29 - 24 is the longest string V8 makes; SQLite makes the text, nothing is stored.
    const { steps, status, signal } = run(null, [file, 'query', '1', String(2 ** 29)])
    expect({ status, signal }).toEqual({ status: 0, signal: null })
    expect(steps.query.code, steps.query.message).toBe('RESULT_TOO_LARGE')
    expect(steps.query.message).toContain('column "text" of row 1 is 536870912 UTF-16 units')
    expect(steps['query small']).toMatchObject({ resolved: true, rows: 2 })
    figure('a text value of 2^29 characters: RESULT_TOO_LARGE, the next query resolved')
  })
})
