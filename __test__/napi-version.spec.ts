// The built addon must not ask for a newer Node-API version than the one declared (the `napiN`
// feature of the `napi` crate in Cargo.toml), or it would load in an older Node or Electron and
// fail later, at the first call of the missing function.
//
// On Linux and macOS napi-sys links Node-API functions as undefined symbols that the dynamic
// loader resolves against the host process (lazily, at their first call), so the binary's
// symbol table lists every function it can call. Each is looked up in Node's own headers,
// which guard every function with the Node-API version that introduced it. On Windows the
// functions are looked up at load time through GetProcAddress and leave no import to read, so
// the check runs on the other platforms.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseTriple } from '@napi-rs/cli'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

/** The version declared by the `napiN` feature of the `napi` dependency. */
function declaredVersion(): number {
  const cargo = readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8')
  const line = cargo.split('\n').find((l) => /^napi\s*=/.test(l))
  const feature = line && /"napi(\d+)"/.exec(line)
  if (!feature) throw new Error('Cargo.toml: the napi dependency declares no napiN feature')
  return Number(feature[1])
}

/**
 * Every function Node's headers declare, with the Node-API version that introduced it
 * (`Infinity` for experimental ones), read from the `#if NAPI_VERSION >= N` blocks.
 */
function nodeApiVersions(headers: string[]): Map<string, number> {
  const versions = new Map<string, number>()
  for (const header of headers) {
    const guards: number[] = []
    let pending = false
    for (const line of readFileSync(header, 'utf8').split('\n')) {
      const directive = /^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$/.exec(line)
      if (directive) {
        const [, kind, condition] = directive
        const guard = /NAPI_VERSION\s*>=\s*(\d+)/.exec(condition)
        const level = guard ? Number(guard[1]) : /NAPI_EXPERIMENTAL/.test(condition) && kind !== 'ifndef' ? Infinity : 0
        if (kind === 'endif') guards.pop()
        else if (kind === 'else' || kind === 'elif') guards[guards.length - 1] = kind === 'elif' ? level : 0
        else guards.push(level)
        continue
      }
      if (/\bNAPI_EXTERN\b/.test(line)) pending = true
      const name = pending && /\b((?:napi|node_api)_\w+)\s*\(/.exec(line)
      if (name) {
        const level = Math.max(1, ...guards)
        versions.set(name[1], Math.min(versions.get(name[1]) ?? Infinity, level))
        pending = false
      }
    }
  }
  return versions
}

/** The Node-API functions the binary imports. */
function importedFunctions(binary: string): string[] {
  const args = process.platform === 'darwin' ? ['-u', binary] : ['-D', '--undefined-only', binary]
  return execFileSync('nm', args, { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/).pop() ?? '')
    .map((symbol) => (process.platform === 'darwin' ? symbol.replace(/^_/, '') : symbol))
    .filter((symbol) => /^(napi|node_api)_/.test(symbol))
}

const includeDir = [path.resolve(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) =>
  existsSync(path.join(d, 'node_api.h')),
)
const target = (pkg.napi.targets as string[]).map(parseTriple).find((t) => t.platform === process.platform && t.arch === process.arch)

describe.skipIf(process.platform === 'win32')('Node-API version', () => {
  const versions = () => {
    if (!includeDir) throw new Error(`Node's headers (include/node/node_api.h) are not installed beside ${process.execPath}`)
    return nodeApiVersions([path.join(includeDir, 'js_native_api.h'), path.join(includeDir, 'node_api.h')])
  }

  it('reads the version of each function from Node\'s headers', () => {
    const table = versions()
    expect(table.get('napi_create_object')).toBe(1)
    expect(table.get('napi_create_threadsafe_function')).toBe(4)
    expect(table.get('napi_type_tag_object')).toBe(8)
    expect(table.get('node_api_symbol_for')).toBe(9)
  })

  it('the built binary imports no function newer than the declared version', () => {
    expect(target, `no napi target for ${process.platform}-${process.arch}`).toBeDefined()
    const binary = path.join(ROOT, `${pkg.napi.binaryName}.${target!.platformArchABI}.node`)
    expect(existsSync(binary), `${binary} is not built (npm run build:debug)`).toBe(true)
    const table = versions()
    const declared = declaredVersion()
    const imported = importedFunctions(binary)
    expect(imported.length).toBeGreaterThan(20)
    expect(imported.filter((f) => !table.has(f))).toEqual([])
    const tooNew = imported.filter((f) => table.get(f)! > declared).map((f) => `${f} (Node-API ${table.get(f)})`)
    expect(tooNew, `declared Node-API ${declared}`).toEqual([])
    expect(Math.max(...imported.map((f) => table.get(f)!))).toBe(declared)
  })

  it('the built binary creates no external buffers (Electron\'s memory cage forbids them)', () => {
    const binary = path.join(ROOT, `${pkg.napi.binaryName}.${target!.platformArchABI}.node`)
    expect(importedFunctions(binary).filter((f) => /external_(array)?buffer/.test(f))).toEqual([])
  })
})
