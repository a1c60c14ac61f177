// The addon in the Node versions Electron ships (Electron 33 and later ship Node 22, newer
// releases Node 24): each binary, fetched from the npm registry (see node-binaries.ts), runs
// two fixtures on the addon built in the checkout, through Node-API's stable ABI:
// __test__/fixtures/every-method.js calls every public member of `Database` (taken from the
// class, so a new method cannot be left out) and must get what the Node running the tests
// gets; __test__/fixtures/binary-params.js checks binary parameters. Node 24 has `Float16Array`, which Node-API reports as `napi_float16_array`, a
// kind the addon does not read: it must be refused, naming the parameter, never read with a
// guessed element size.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

import { nodeBinary } from './node-binaries'

const ROOT = path.resolve(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'binary-params.js')
const EVERY_METHOD = path.join(__dirname, 'fixtures', 'every-method.js')
/** The Node releases the addon is tested on besides the one running the tests. */
const VERSIONS = { 22: '22.22.0', 24: '24.21.0' }

type Outcome = { rows?: Record<string, unknown>[]; code?: string | null; message?: string }
type Report = { event: string; node: string; napi: string; float16: boolean; outcomes: Record<string, Outcome> }

type Calls = { event: string; node: string; members: string[]; uncalled: string[]; outcomes: Record<string, { value?: unknown; code?: string }> }

/** Runs `fixture` (binary-params.js unless told) with `node` on the addon built in the
 *  checkout and returns its report. */
function report<T = Report>(node: string, fixture = FIXTURE): T {
  const env = { ...process.env, AGENTDB_ADDON: path.join(ROOT, 'index.js') }
  const out = execFileSync(node, [fixture], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env })
  const lines = out.trim().split('\n').map((line) => JSON.parse(line))
  expect(lines.filter((line) => line.event !== 'results')).toEqual([])
  return lines.find((line) => line.event === 'results')
}

/** The public members of `Database` as the running Node sees the class. */
function members(): string[] {
  const { Database } = require('../index.js')
  const own = (target: object) =>
    Object.entries(Object.getOwnPropertyDescriptors(target))
      .filter(([name, d]) => name !== 'constructor' && (typeof d.value === 'function' || d.get))
      .map(([name]) => name)
  // Without the test hooks of the test-hooks build (testExec, testPanic: src/test_hooks.rs).
  return [...own(Database), ...own(Database.prototype)].filter((name) => !/^test[A-Z]/.test(name)).sort()
}

/** What every public member gives in the Node running the tests: what the others must give. */
let own: Calls
beforeAll(() => {
  own = report<Calls>(process.execPath, EVERY_METHOD)
})

const blob = (hex: string) => ({ rows: [{ v: { hex }, type: 'blob' }] })

for (const [major, version] of Object.entries(VERSIONS)) {
  const binary = nodeBinary(version)
  // The registry has no binary of this release for some platforms: there is nothing to run.
  const unpublished = 'missing' in binary && binary.unpublished
  describe.skipIf(unpublished)(`Node ${major}`, () => {
    it(`is fetched from the registry for this platform`, () => {
      expect('missing' in binary ? binary.missing : '').toBe('')
    })

    let result: Report
    beforeAll(() => {
      if ('path' in binary) result = report(binary.path)
    })

    it('calls every public member of Database and gets what the Node running the tests gets', () => {
      const calls = report<Calls>('path' in binary ? binary.path : binary.missing, EVERY_METHOD)
      expect(calls.node).toBe(`v${version}`)
      expect(calls.members).toEqual(members())
      expect(calls.uncalled).toEqual([])
      expect(calls.outcomes).toEqual(own.outcomes)
    })

    it('runs the fixture on the addon built in the checkout', () => {
      expect(result?.node).toBe(`v${version}`)
      expect(result.float16).toBe(Number(major) >= 24)
    })

    it('takes a Uint8Array and a Buffer as blobs', () => {
      expect(result.outcomes.uint8Array).toEqual(blob('00017f80ff'))
      expect(result.outcomes.buffer).toEqual(blob(Buffer.from('blob').toString('hex')))
    })

    if (Number(major) < 24) return

    it('refuses a Float16Array parameter with INVALID_ARGUMENT naming it, in query and execute', () => {
      const { outcomes } = result
      for (const [name, param] of [['float16Positional', 'params[1]'], ['float16Named', 'params.blob'], ['float16Execute', 'params[0]']]) {
        expect(outcomes[name].code, name).toBe('INVALID_ARGUMENT')
        expect(outcomes[name].message, name).toMatch(new RegExp(`^${param.replace(/[[\].]/g, '\\$&')} is a Float16Array\\b`))
        expect(outcomes[name].message, name).toContain('Uint8Array')
      }
      expect(outcomes.rowsAfterRefusal).toEqual({ rows: [{ n: 0 }] })
    })

    it('still takes the same bytes as a Uint8Array', () => {
      // 1.5 and -2 as little-endian half-precision floats.
      expect(result.outcomes.float16Bytes).toEqual(blob('003e00c0'))
    })
  })
}

describe('the Node running the tests', () => {
  it('calls every public member of Database, each resolving', () => {
    expect(own.node).toBe(process.version)
    expect(own.uncalled).toEqual([])
    expect(Object.keys(own.outcomes).sort()).toEqual(members())
    const rejected = Object.entries(own.outcomes).filter(([, outcome]) => 'code' in outcome)
    expect(rejected).toEqual([])
    expect(own.outcomes.batch).toEqual({ value: ['reply', 'call'] })
    expect(own.outcomes.close).toEqual({ value: true })
  })

  it('takes a Uint8Array and a Buffer, and refuses a Float16Array where it has one', () => {
    const own = report(process.execPath)
    expect(own.node).toBe(process.version)
    expect(own.outcomes.uint8Array).toEqual(blob('00017f80ff'))
    expect(own.outcomes.buffer).toEqual(blob(Buffer.from('blob').toString('hex')))
    if (own.float16) expect(own.outcomes.float16Positional.code).toBe('INVALID_ARGUMENT')
  })
})
