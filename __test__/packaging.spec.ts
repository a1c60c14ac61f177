// What the package ships: the files `npm pack` puts in it, the per-platform packages, the
// loader's error when the platform package is missing, and the Electron guide's snippets.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseTriple } from '@napi-rs/cli'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const targets = (pkg.napi.targets as string[]).map(parseTriple)
/** The target of the machine running the tests (the one whose package the loader looks for). */
const here = targets.find((t) => t.platform === process.platform && t.arch === process.arch)

const scratch = mkdtempSync(path.join(tmpdir(), 'agentdb-pack-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Every file under `dir` (relative to the repository, with forward slashes). */
function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
}

describe('npm pack', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' }),
  )[0]
  const files: string[] = packed.files.map((f: { path: string }) => f.path).sort()

  it('ships exactly the loader and its list of platforms, the typings, the command line, the manifest and the README', () => {
    const expected = ['package.json', 'README.md', 'index.js', 'index.d.ts', 'platforms.js', ...filesUnder('bin'), ...filesUnder('cli')].sort()
    expect(files).toEqual(expected)
  })

  it('ships no sources, build output, binaries or tests', () => {
    for (const file of files) {
      expect(file).not.toMatch(/^(src|target|npm|migrations|typings|__test__|examples|docs)\//)
      expect(file).not.toMatch(/\.(rs|node)$|(?<!\.d)\.ts$|^Cargo\./)
    }
    expect(files).toContain('index.d.ts')
    expect(files).toContain('index.js')
  })

  it('runs the command line through a bin entry with a node shebang', () => {
    expect(pkg.bin).toEqual({ agentdb: 'bin/agentdb.js' })
    expect(readFileSync(path.join(ROOT, pkg.bin.agentdb), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
  })
})

describe('exports', () => {
  it('resolves the package by name from CommonJS and ESM, with its typings first', () => {
    expect(Object.keys(pkg.exports['.'])).toEqual(['types', 'default'])
    const cjs = execFileSync(process.execPath, ['-e', "process.stdout.write(typeof require('@cherry/agentdb').Database)"], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    expect(cjs).toBe('function')
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import { Database } from '@cherry/agentdb'; process.stdout.write(typeof Database.open)"],
      { cwd: ROOT, encoding: 'utf8' },
    )
    expect(esm).toBe('function')
  })

  it('keeps the command line\'s modules private', () => {
    const run = spawnSync(process.execPath, ['-e', "require('@cherry/agentdb/cli/main.js')"], { cwd: ROOT, encoding: 'utf8' })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED')
  })
})

describe('per-platform packages', () => {
  it('has one npm/<platform> package for every target, and no other', () => {
    const dirs = readdirSync(path.join(ROOT, 'npm')).sort()
    expect(dirs).toEqual(targets.map((t) => t.platformArchABI).sort())
  })

  it.each(targets.map((t) => [t.triple, t] as const))('%s: names, os, cpu, libc and the file it ships', (_, target) => {
    const abi = target.platformArchABI
    const platformPkg = JSON.parse(readFileSync(path.join(ROOT, 'npm', abi, 'package.json'), 'utf8'))
    const binary = `${pkg.napi.binaryName}.${abi}.node`
    expect(platformPkg).toMatchObject({
      name: `${pkg.name}-${abi}`,
      version: pkg.version,
      os: [target.platform],
      cpu: [target.arch],
      main: binary,
      files: [binary],
      engines: pkg.engines,
      publishConfig: { access: 'public' },
    })
    if (target.abi === 'gnu') expect(platformPkg.libc).toEqual(['glibc'])
    else expect(platformPkg.libc).toBeUndefined()
  })

  it('the loader knows exactly the platforms of the targets', () => {
    const { BUILT } = require('../platforms.js') as { BUILT: string[] }
    expect([...BUILT].sort()).toEqual(targets.map((t) => t.platformArchABI).sort())
  })

  it.runIf(here)('without its platform package, the loader fails naming that package, and the CLI says so', () => {
    const app = path.join(scratch, 'no-binding')
    for (const item of ['index.js', 'platforms.js', 'package.json', 'bin', 'cli']) cpSync(path.join(ROOT, item), path.join(app, item), { recursive: true })
    const missing = `${pkg.name}-${here!.platformArchABI}`

    const load = spawnSync(
      process.execPath,
      ['-e', "try { require('./index.js') } catch (e) { for (let c = e; c; c = c.cause) console.log(c.message) }"],
      { cwd: app, encoding: 'utf8' },
    )
    // The first line names the missing package and the two ways to get it, and nothing
    // else is tried: no flavour the project does not build.
    const [first] = load.stdout.split('\n')
    expect(first).toMatch(new RegExp(`^Cannot find native binding: the package ${missing.replace('/', '\\/')} is not installed\\.`))
    expect(first).toContain(`npm install ${missing}@${pkg.version}`)
    expect(first).toContain('npm run pack:local')
    expect(load.stdout.trim().split('\n')).toHaveLength(1)
    expect(load.stdout).not.toMatch(/wasm|wasi/i)

    const cli = spawnSync(process.execPath, ['bin/agentdb.js', 'migrate', 'x.db'], { cwd: app, encoding: 'utf8' })
    expect(cli.status).toBe(1)
    expect(cli.stderr).toMatch(/^LOAD_FAILED: Cannot find native binding: the package /)
    expect(cli.stderr).toContain(missing)
    expect(cli.stderr).not.toMatch(/^\s+at /m)
    expect(spawnSync(process.execPath, ['bin/agentdb.js', '--help'], { cwd: app }).status).toBe(0)
  })
})

describe('the Electron guide', () => {
  // Compared with Unix line endings, whatever the checkout did to them.
  const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replaceAll('\r\n', '\n')
  // The guide is the whole of docs/electron.md.
  const guide = read('docs/electron.md')
  const examples = ['electron-main.ts', 'electron-preload.ts', 'electron-renderer.ts', 'electron-builder.json', 'forge.config.js'].map((f) => read(`examples/${f}`))
  const snippets = [...guide.matchAll(/^```(ts|js|json)\n([\s\S]*?)^```$/gm)].map((m) => m[2])

  it('quotes every code snippet in docs/electron.md verbatim from the type-checked examples', () => {
    expect(guide).toMatch(/^# Using it in Electron\n/)
    expect(snippets.length).toBeGreaterThanOrEqual(8)
    for (const snippet of snippets) expect(examples.some((source) => source.includes(snippet)), snippet).toBe(true)
  })

  it('unpacks every platform\'s .node file from app.asar with electron-builder and Forge', async () => {
    const builder = JSON.parse(read('examples/electron-builder.json'))
    const forge = (await import(path.join(ROOT, 'examples/forge.config.js'))).default
    for (const target of targets) {
      const abi = target.platformArchABI
      const file = `node_modules/${pkg.name}-${abi}/${pkg.napi.binaryName}.${abi}.node`
      expect(builder.asarUnpack.some((glob: string) => path.posix.matchesGlob(file, glob)), file).toBe(true)
      expect(path.posix.matchesGlob(file, forge.packagerConfig.asar.unpack), file).toBe(true)
    }
    expect(path.posix.matchesGlob('node_modules/some-lib/index.js', forge.packagerConfig.asar.unpack)).toBe(false)
  })
})
