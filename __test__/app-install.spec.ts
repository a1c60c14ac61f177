// An app installs the package built from a checkout: `npm run pack:local` writes the package
// and this machine's platform package as tarballs, and a fresh app directory outside the
// repository installs both without a network and uses the addon from CommonJS, ESM and
// TypeScript (`strict`, against the installed typings). The tarballs hold the addon last
// built in the checkout (`--no-build`), so the spec needs no release build.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const { currentPlatform } = require('../platforms.js') as { currentPlatform: () => string }
const platform = currentPlatform()
const platformPackage = `${pkg.name}-${platform}`
const built = existsSync(path.join(ROOT, `${pkg.napi.binaryName}.${platform}.node`))

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const shell = process.platform === 'win32'
const scratch = mkdtempSync(path.join(tmpdir(), 'agentdb-app-'))
const out = path.join(scratch, 'tarballs')
const app = path.join(scratch, 'app')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Runs `node` with `args` in the app and returns what it printed. */
const node = (...args: string[]) => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 30_000 })

/** The calls each module makes: open, migrate, create an agent, read it back, close. */
const calls = (banner: string) => `
  const db = await Database.open(':memory:')
  await db.migrate()
  const agent = await db.createAgent({ name: ${JSON.stringify(banner)}, model: 'm' })
  const again = await db.getAgent(agent.id)
  await db.close()
  process.stdout.write(again ? again.name : 'missing')`

describe.runIf(built)('installed into an app from the tarballs of npm run pack:local', () => {
  let tarballs: string[] = []
  beforeAll(() => {
    const printed = execFileSync(npm, ['run', '--silent', 'pack:local', '--', '--no-build', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      shell,
      timeout: 120_000,
    })
    tarballs = printed.split('\n').filter((line) => line.endsWith('.tgz')).map((line) => path.resolve(ROOT, line))
    mkdirSync(app)
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }))
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: app, encoding: 'utf8', shell, timeout: 120_000 })
  }, 240_000)

  it('writes the package and this machine\'s platform package, the second the first\'s optional dependency', () => {
    expect(tarballs.map((file) => path.basename(file)).sort()).toEqual(
      [`cherry-agentdb-${pkg.version}.tgz`, `cherry-agentdb-${platform}-${pkg.version}.tgz`].sort(),
    )
    const installed = JSON.parse(readFileSync(path.join(app, 'node_modules', pkg.name, 'package.json'), 'utf8'))
    expect(installed.optionalDependencies).toEqual({ [platformPackage]: pkg.version })
    const binary = path.join(app, 'node_modules', platformPackage, `${pkg.napi.binaryName}.${platform}.node`)
    expect(existsSync(binary)).toBe(true)
    // The package itself holds no binary: the loader finds the one of the platform package.
    expect(existsSync(path.join(app, 'node_modules', pkg.name, `${pkg.napi.binaryName}.${platform}.node`))).toBe(false)
  })

  it('loads from CommonJS', () => {
    writeFileSync(path.join(app, 'main.cjs'), `const { Database } = require('${pkg.name}')\n;(async () => {${calls('cjs')}\n})()\n`)
    expect(node('main.cjs')).toBe('cjs')
  })

  it('loads from ESM', () => {
    writeFileSync(path.join(app, 'main.mjs'), `import { Database } from '${pkg.name}'\n${calls('esm')}\n`)
    expect(node('main.mjs')).toBe('esm')
  })

  it('type-checks with tsc --strict against the installed typings, and runs', () => {
    const source = [
      `import { Database, type Agent, type AgentDbError } from '${pkg.name}'`,
      '',
      'async function main(): Promise<void> {',
      calls('ts'),
      '  const typed: Agent = agent',
      '  void typed',
      '}',
      '',
      '/** Never called: the typings must refuse these. */',
      'async function refused(db: Database): Promise<void> {',
      '  // @ts-expect-error a name is a string',
      "  await db.createAgent({ name: 1, model: 'm' })",
      '  // @ts-expect-error no such method',
      '  await db.createAgents([])',
      '  const code: AgentDbError["code"] = "INVALID_ARGUMENT"',
      '  void code',
      '}',
      'void refused',
      'void main()',
      '',
    ].join('\n')
    writeFileSync(path.join(app, 'main.ts'), source)
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        outDir: 'out',
        skipLibCheck: false,
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['main.ts'],
    }
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig))
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
      cwd: app,
      encoding: 'utf8',
    })
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
    expect(node('out/main.js')).toBe('ts')
  }, 120_000)

  it('runs the agentdb command', () => {
    const bin = path.join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'agentdb.cmd' : 'agentdb')
    const run = spawnSync(bin, ['migrate', 'app.db'], { cwd: app, encoding: 'utf8', shell })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(existsSync(path.join(app, 'app.db'))).toBe(true)
  })
})

describe('the addon for this machine', () => {
  it('is built in the checkout (npm run build:test), which the tarballs above hold', () => {
    expect(built).toBe(true)
  })
})
