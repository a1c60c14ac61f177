// The addon in another Node than the one running the tests: the Node 24 binary of the
// devDependency `node` (installed by `npm ci`, left off the npm scripts' PATH by `prepare`)
// runs __test__/fixtures/binary-params.js on the addon built in the checkout. Node 24 has
// `Float16Array`, which Node-API reports as `napi_float16_array`, a kind the addon does not
// read: it must be refused, naming the parameter, never read with a guessed element size.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
/** Where the `node` package puts its binary (`bin/node.exe` on Windows). */
const NODE_24 = path.join(ROOT, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
const FIXTURE = path.join(__dirname, 'fixtures', 'binary-params.js')

type Outcome = { rows?: Record<string, unknown>[]; code?: string | null; message?: string }
type Report = { event: string; node: string; napi: string; float16: boolean; outcomes: Record<string, Outcome> }

/** Runs the fixture with `node` on the addon built in the checkout and returns its report. */
function report(node: string): Report {
  const env = { ...process.env, AGENTDB_ADDON: path.join(ROOT, 'index.js') }
  const out = execFileSync(node, [FIXTURE], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env })
  const lines = out.trim().split('\n').map((line) => JSON.parse(line))
  expect(lines.filter((line) => line.event !== 'results')).toEqual([])
  return lines.find((line) => line.event === 'results')
}

const blob = (hex: string) => ({ rows: [{ v: { hex }, type: 'blob' }] })

describe('Node 24', () => {
  it('is a devDependency pinned to one 24.x release, whose install script npm is allowed to run', () => {
    expect(pkg.devDependencies.node).toMatch(/^24\.\d+\.\d+$/)
    expect(pkg.allowScripts).toEqual({ node: true })
  })

  it('is installed and is not the node the npm scripts run', () => {
    expect(existsSync(NODE_24), `${NODE_24} is missing: npm ci installs it`).toBe(true)
    const bin = path.join(ROOT, 'node_modules', '.bin')
    expect(['node', 'node.cmd', 'node.ps1'].filter((f) => existsSync(path.join(bin, f)))).toEqual([])
  })

  let result: Report
  beforeAll(() => {
    if (existsSync(NODE_24)) result = report(NODE_24)
  })

  it('runs the fixture in Node 24, which has Float16Array', () => {
    expect(result?.node).toBe(`v${pkg.devDependencies.node}`)
    expect(result.float16).toBe(true)
  })

  it('refuses a Float16Array parameter with INVALID_ARGUMENT naming it, in query and execute', () => {
    const { outcomes } = result
    for (const [name, param] of [['float16Positional', 'params[1]'], ['float16Named', 'params.blob'], ['float16Execute', 'params[0]']]) {
      expect(outcomes[name].code, name).toBe('INVALID_ARGUMENT')
      expect(outcomes[name].message, name).toMatch(new RegExp(`^${param.replace(/[[\].]/g, '\\$&')} is a Float16Array\\b`))
      expect(outcomes[name].message, name).toContain('Uint8Array')
    }
    expect(outcomes.rowsAfterRefusal).toEqual({ rows: [{ n: 0 }] })
  })

  it('still takes the same bytes as a Uint8Array, and a Uint8Array and a Buffer as blobs', () => {
    const { outcomes } = result
    // 1.5 and -2 as little-endian half-precision floats.
    expect(outcomes.float16Bytes).toEqual(blob('003e00c0'))
    expect(outcomes.uint8Array).toEqual(blob('00017f80ff'))
    expect(outcomes.buffer).toEqual(blob(Buffer.from('blob').toString('hex')))
  })
})

describe('the Node running the tests', () => {
  it('takes a Uint8Array and a Buffer, and refuses a Float16Array where it has one', () => {
    const own = report(process.execPath)
    expect(own.node).toBe(process.version)
    expect(own.outcomes.uint8Array).toEqual(blob('00017f80ff'))
    expect(own.outcomes.buffer).toEqual(blob(Buffer.from('blob').toString('hex')))
    if (own.float16) expect(own.outcomes.float16Positional.code).toBe('INVALID_ARGUMENT')
  })
})
