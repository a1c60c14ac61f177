// The `agentdb` command line, run as a real child process: output, JSON, help, exit codes,
// and what it does to broken or missing files.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { Database } from '../index.js'
import { BUILTIN } from './support'

const BIN = path.resolve(__dirname, '../bin/agentdb.js')
const COMMANDS = ['status', 'migrate', 'rollback', 'validate', 'repair', 'backup', 'check', 'purge', 'compact', 'stats', 'sessions', 'logs', 'search', 'export', 'import', 'usage']
const python = spawnSync('python3', ['--version']).status === 0
const EXIT = { OK: 0, ERROR: 1, USAGE: 2, CHECK_FAILED: 3, BUSY: 4, NOT_A_DATABASE: 5, CANT_OPEN: 6 }
/** The library's schema version once migrated: its last built-in migration. */
const LATEST = BUILTIN[BUILTIN.length - 1]
const N = BUILTIN.length

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `agentdb args…` in `cwd` and collects its output. */
function agentdb(args: string[], options: { cwd?: string; uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? dir, uid: options.uid, gid: options.gid }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** Asserts the shape every failure shares: one `CODE: message` line first, never a stack trace. */
function expectError(run: Run, exit: number, code: string) {
  expect(run.code).toBe(exit)
  expect(run.stderr.split('\n')[0]).toMatch(new RegExp(`^${code}: \\S`))
  expect(run.stderr).not.toMatch(/^\s+at /m)
}

const root = mkdtempSync(path.join(tmpdir(), 'agentdb-cli-'))
let dir: string
let counter = 0
beforeEach(() => {
  dir = path.join(root, String(counter++))
  mkdirSync(dir, { recursive: true })
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A migrated database with one agent, one session and three logs (one nested). */
async function seeded(file: string) {
  const db = await Database.open(file)
  try {
    await db.migrate()
    const agent = await db.createAgent({ name: 'Reviewer', model: 'model-large' })
    const session = await db.createSession({ mainAgentId: agent.id, name: 'Review auth', status: 'running' })
    const first = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: { text: 'review the login flow' } })
    await db.addLogs([
      { sessionId: session.id, parentId: first.id, role: 'agent', type: 'thought', content: 'reading login.ts' },
      { sessionId: session.id, role: 'agent', type: 'message', content: { text: 'done' } },
    ])
    return { agent, session }
  } finally {
    await db.close()
  }
}

describe('help and usage', () => {
  it('prints the general help with every command and the exit codes', async () => {
    const run = await agentdb(['--help'])
    expect(run.code).toBe(EXIT.OK)
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
    for (const code of Object.values(EXIT)) expect(run.stdout).toMatch(new RegExp(`^  ${code}  \\S`, 'm'))
  })

  it('prints each command\'s help with --help, and with help <command>', async () => {
    for (const name of COMMANDS) {
      const run = await agentdb([name, '--help'])
      expect(run.code).toBe(EXIT.OK)
      expect(run.stdout).toMatch(new RegExp(`^Usage: agentdb ${name}\\b`))
      expect(run.stdout).toContain('--json')
    }
    const viaHelp = await agentdb(['help', 'logs'])
    expect(viaHelp.stdout).toMatch(/^Usage: agentdb logs <sessionId> \[db\]/)
  })

  it('documents the same exit codes in docs/cli.md as in the help', async () => {
    const help = (await agentdb(['--help'])).stdout
    const fromHelp = [...help.matchAll(/^ {2}(\d) {2}(.+)$/gm)].map((m) => [m[1], m[2]])
    const docs = readFileSync(path.resolve(__dirname, '../docs/cli.md'), 'utf8')
    const fromDocs = [...docs.matchAll(/^\| (\d) \| (.+) \|$/gm)].map((m) => [m[1], m[2].replaceAll('`', '')])
    expect(fromDocs.map(([code]) => code)).toEqual(fromHelp.map(([code]) => code))
    fromHelp.forEach(([, text], i) => {
      expect(fromDocs[i][1].startsWith(text)).toBe(true)
    })
  })

  it('prints the package version', async () => {
    const run = await agentdb(['--version'])
    expect(run.code).toBe(EXIT.OK)
    expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')).version)
  })

  it('without a command, prints the help on stderr and exits with the usage code', async () => {
    const run = await agentdb([])
    expect(run.code).toBe(EXIT.USAGE)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('Commands:')
  })

  it('rejects unknown commands, unknown options, bad values and wrong argument counts', async () => {
    expectError(await agentdb(['frobnicate']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['help', 'frobnicate']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['migrate', '--frobnicate']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['migrate', '--limit', 'two']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['migrate', '--limit', '0']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['status', '--busy-timeout', '-5']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['backup', 'only-one.db']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['status', 'a.db', 'b.db']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['logs', 'some-session', '--tree', '--follow']), EXIT.USAGE, 'USAGE')
    const run = await agentdb(['migrate', '--frobnicate'])
    expect(run.stderr).toContain('unknown option --frobnicate')
    expect(run.stderr).toContain('agentdb migrate --help')
    expect(existsSync(path.join(dir, 'agents.db'))).toBe(false)
  })

  it('reports a usage error as JSON on stdout with --json', async () => {
    const run = await agentdb(['migrate', '--limit', 'x', '--json'])
    expect(run.code).toBe(EXIT.USAGE)
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('--limit') } })
  })
})

describe('migrate, status, rollback', () => {
  it('creates and migrates ./agents.db by default, then has nothing left to do', async () => {
    const first = await agentdb(['migrate'])
    expect(first.code).toBe(EXIT.OK)
    expect(first.stdout).toMatch(/^Applied 001 .+\(\d+\.\d ms\)$/m)
    for (const id of BUILTIN) expect(first.stdout).toMatch(new RegExp(`^Applied ${id} `, 'm'))
    expect(first.stdout).toContain(`Schema version ${LATEST}: ${N} of ${N} migrations applied, 0 pending`)
    expect(existsSync(path.join(dir, 'agents.db'))).toBe(true)

    const again = await agentdb(['migrate'])
    expect(again.code).toBe(EXIT.OK)
    expect(again.stdout).toContain('Nothing to migrate.')
    expect(again.stdout).not.toContain('Applied')
  })

  it('honours --dry-run, --limit and --to', async () => {
    await agentdb(['migrate', 'db.sqlite', '--limit', '1'])
    const dry = await agentdb(['migrate', 'db.sqlite', '--dry-run'])
    expect(dry.code).toBe(EXIT.OK)
    expect(dry.stdout).toMatch(/^Would apply 002 /m)
    expect(dry.stdout).toContain('Dry run: nothing was changed.')
    const status = JSON.parse((await agentdb(['status', 'db.sqlite', '--json'])).stdout)
    expect(status.summary.currentVersion).toBe('001')

    const to = JSON.parse((await agentdb(['migrate', 'db.sqlite', '--to', '002', '--json'])).stdout)
    expect(to.results.map((r: { migration: { id: string } }) => r.migration.id)).toEqual(['002'])
    expect(to.summary.currentVersion).toBe('002')
  })

  it('does not create a database for a dry run', async () => {
    expectError(await agentdb(['migrate', 'new.db', '--dry-run']), EXIT.CANT_OPEN, 'CANT_OPEN')
    expect(existsSync(path.join(dir, 'new.db'))).toBe(false)
  })

  it('prints JSON that parses, for migrate and status', async () => {
    const migrate = JSON.parse((await agentdb(['migrate', '--json'])).stdout)
    expect(migrate.results).toHaveLength(N)
    expect(migrate.results[0]).toMatchObject({ migration: { namespace: 'agentdb', id: '001' }, success: true, dryRun: false })
    expect(migrate.summary).toMatchObject({ appliedMigrations: N, pendingMigrations: 0, currentVersion: LATEST })
    expect(migrate.summary.namespaces).toEqual([{ namespace: 'agentdb', currentVersion: LATEST, appliedMigrations: N, pendingMigrations: 0 }])
  })

  it('shows every migration with its namespace and state, each namespace\'s version, row counts and the file size', async () => {
    await seeded(path.join(dir, 'agents.db'))
    const run = await agentdb(['status'])
    expect(run.code).toBe(EXIT.OK)
    expect(run.stdout).toMatch(/^Database \.\/agents\.db: \d/m)
    expect(run.stdout).toMatch(new RegExp(`^Namespace agentdb: version ${LATEST}, ${N} applied, 0 pending$`, 'm'))
    expect(run.stdout).toMatch(/^NAMESPACE +ID +STATE +APPLIED AT +TIME +DESCRIPTION$/m)
    expect(run.stdout).toMatch(/^agentdb +001 +applied +\d{4}-\d\d-\d\dT[\d:.]+Z +\d+\.\d ms +Create the agents table/m)
    expect(run.stdout).toMatch(/^session_logs +3$/m)
    expect(run.stdout).toMatch(/^agents +1$/m)

    const json = JSON.parse((await agentdb(['status', '--json'])).stdout)
    expect(json.size).toBe(statSync(path.join(dir, 'agents.db')).size)
    expect(json.migrations.map((m: { state: string }) => m.state)).toEqual(BUILTIN.map(() => 'applied'))
    expect(json.summary.namespaces.map((n: { namespace: string }) => n.namespace)).toEqual(['agentdb'])
    expect(json.tables).toEqual([
      { name: 'agents', rows: 1 },
      // The change log: the agent, the session and the three logs, each inserted once.
      { name: 'changes', rows: 5 },
      { name: 'log_search_pending', rows: 0 },
      { name: 'log_search_text', rows: 0 },
      { name: 'migrations', rows: N },
      { name: 'session_checkpoints', rows: 0 },
      { name: 'session_forks', rows: 0 },
      { name: 'session_logs', rows: 3 },
      { name: 'session_search_pending', rows: 0 },
      { name: 'sessions', rows: 1 },
      { name: 'usage_records', rows: 0 },
    ])
  })

  it('shows pending, modified and unknown migrations, and validate/repair --ids deal with them', async () => {
    const appMigrations = path.join(dir, 'app-migrations.json')
    writeFileSync(
      appMigrations,
      JSON.stringify([{ id: '003', description: 'Add notes', up: ['CREATE TABLE notes (id INTEGER PRIMARY KEY)'], down: ['DROP TABLE notes'] }]),
    )
    await agentdb(['migrate', '--migrations', appMigrations])
    const withApp = JSON.parse((await agentdb(['status', '--json', '--migrations', appMigrations])).stdout)
    expect(withApp.migrations.map((m: { namespace: string; state: string }) => [m.namespace, m.state])).toEqual([
      ...BUILTIN.map(() => ['agentdb', 'applied']),
      ['app', 'applied'],
    ])
    const withAppText = (await agentdb(['status', '--migrations', appMigrations])).stdout
    expect(withAppText).toMatch(/^Namespace app: version 003, 1 applied, 0 pending$/m)
    expect(withAppText).toMatch(/^app +003 +applied +.+ Add notes$/m)

    // Run without the app's migrations: app 003 is unknown to this build (a warning, not an error).
    const db = await Database.open(path.join(dir, 'agents.db'))
    // App SQL may not write the tracking table; the test hook edits it as another tool would.
    await (db as Database & { testExec(sql: string): Promise<void> }).testExec(
      "UPDATE migrations SET checksum = 'edited' WHERE namespace = 'agentdb' AND id = '001'",
    )
    await db.close()
    const status = JSON.parse((await agentdb(['status', '--json'])).stdout)
    expect(status.migrations.map((m: { namespace: string; id: string; state: string }) => [m.namespace, m.id, m.state])).toEqual([
      ['agentdb', '001', 'modified'],
      ...BUILTIN.slice(1).map((id) => ['agentdb', id, 'applied']),
      ['app', '003', 'unknown'],
    ])

    const invalid = await agentdb(['validate'])
    expect(invalid.code).toBe(EXIT.CHECK_FAILED)
    expect(invalid.stdout).toMatch(/^error +CHECKSUM_MISMATCH 001: .*repairMigrations/m)
    expect(invalid.stdout).toMatch(/^warning UNKNOWN_MIGRATION app 003: /m)
    const invalidJson = JSON.parse((await agentdb(['validate', '--json'])).stdout)
    expect(invalidJson.isValid).toBe(false)

    const refused = await agentdb(['migrate', '--migrations', appMigrations])
    expectError(refused, EXIT.CHECK_FAILED, 'MIGRATION_VALIDATION_FAILED')

    expectError(await agentdb(['repair']), EXIT.USAGE, 'USAGE')
    const plan = await agentdb(['repair', '--ids', '001', '--dry-run'])
    expect(plan.code).toBe(EXIT.OK)
    expect(plan.stdout).toMatch(/^Would re-record 001: edited -> [0-9a-f]{64}$/m)
    expect(plan.stdout).toContain('Dry run: nothing was changed.')
    expect((await agentdb(['validate'])).code).toBe(EXIT.CHECK_FAILED)

    const repair = await agentdb(['repair', '--ids', '001', '--namespace', 'agentdb'])
    expect(repair.code).toBe(EXIT.OK)
    expect(repair.stdout).toMatch(/^Re-recorded 001: edited -> [0-9a-f]{64}$/m)
    const valid = await agentdb(['validate'])
    expect(valid.code).toBe(EXIT.OK)
    expect(valid.stdout).toMatch(/^Valid \(\d+ warnings?\)\.$/m)
    expect(JSON.parse((await agentdb(['validate', '--json'])).stdout).warnings.map((w: { code: string }) => w.code)).toContain('UNKNOWN_MIGRATION')
    // Nothing is changed any more: repairing it again is refused.
    const again = await agentdb(['repair', '--ids', '001'])
    expectError(again, EXIT.USAGE, 'INVALID_ARGUMENT')
    expect(again.stderr).toMatch(/no changed migration 001|not changed/)
  })

  it('rolls back the last migration, down to --to, and says when there is nothing left', async () => {
    await agentdb(['migrate'])
    const last = await agentdb(['rollback'])
    expect(last.code).toBe(EXIT.OK)
    expect(last.stdout).toMatch(new RegExp(`^Rolled back ${LATEST} `, 'm'))
    expect(last.stdout).toContain(`Schema version ${BUILTIN[N - 2]}`)
    const all = JSON.parse((await agentdb(['rollback', '--to', '000', '--json'])).stdout)
    expect(all.results.map((r: { migration: { id: string } }) => r.migration.id)).toEqual(BUILTIN.slice(0, -1).reverse())
    expect(all.summary.appliedMigrations).toBe(0)
    expect((await agentdb(['rollback'])).stdout).toContain('Nothing to roll back.')
    expectError(await agentdb(['rollback', '--to', 'abc']), EXIT.USAGE, 'INVALID_ARGUMENT')
  })

  it('reports a failing migration with the results so far, and exits 1', async () => {
    const appMigrations = path.join(dir, 'broken.json')
    writeFileSync(appMigrations, JSON.stringify([{ id: '003', description: 'Broken', up: ['INSERT INTO missing VALUES (1)'] }]))
    const run = await agentdb(['migrate', '--migrations', appMigrations])
    expectError(run, EXIT.ERROR, 'MIGRATION_FAILED')
    expect(run.stdout).toMatch(/^Applied 001 /m)
    expect(run.stdout).toMatch(/^Failed app 003 Broken: .*no such table: missing/m)
    const json = JSON.parse((await agentdb(['migrate', '--migrations', appMigrations, '--json'])).stdout)
    expect(json.error.code).toBe('MIGRATION_FAILED')
    expect(json.error.results.at(-1)).toMatchObject({ migration: { namespace: 'app', id: '003' }, success: false })
  })

  it('rejects a --migrations file that is missing or does not export migrations', async () => {
    expectError(await agentdb(['status', '--migrations', 'nope.js']), EXIT.USAGE, 'USAGE')
    writeFileSync(path.join(dir, 'wrong.json'), '{"id": "003"}')
    await agentdb(['migrate'])
    expectError(await agentdb(['status', '--migrations', 'wrong.json']), EXIT.USAGE, 'USAGE')
  })
})

/** Writes the app's migrations module (the seed's permissions and workflows tables) into the test's directory. */
function appMigrationsFile(): string {
  const file = path.join(dir, 'app-migrations.js')
  writeFileSync(file, `module.exports = require(${JSON.stringify(path.resolve(__dirname, 'fixtures/legacy/seed-migrations.js'))}).seedMigrations()\n`)
  return file
}

/** Every row of the tracking table and of the library's tables, to show that nothing changed. */
async function snapshot(file: string) {
  const db = await Database.open(file)
  try {
    const rows = []
    for (const table of ['migrations', 'agents', 'sessions', 'session_logs']) rows.push(await db.query(`SELECT * FROM ${table} ORDER BY rowid`))
    return rows
  } finally {
    await db.close()
  }
}

const backups = () => readdirSync(dir).filter((f) => /\.before-rollback-.*\.bak$/.test(f))

describe('namespaces', () => {
  it('migrate --to takes --namespace when several namespaces have the id', async () => {
    const app = appMigrationsFile()
    const ambiguous = await agentdb(['migrate', '--to', '003', '--migrations', app])
    expectError(ambiguous, EXIT.USAGE, 'INVALID_ARGUMENT')
    expect(ambiguous.stderr).toContain('give the namespace')
    expectError(await agentdb(['migrate', '--namespace', 'app', '--migrations', app]), EXIT.USAGE, 'USAGE')
    const to = JSON.parse((await agentdb(['migrate', '--to', '003', '--namespace', 'app', '--migrations', app, '--json'])).stdout)
    expect(to.results.map((r: { migration: { namespace: string; id: string } }) => `${r.migration.namespace} ${r.migration.id}`)).toEqual([
      ...BUILTIN.map((id) => `agentdb ${id}`),
      'app 003',
    ])
    const rest = await agentdb(['migrate', '--backup', '--migrations', app])
    expect(rest.stdout).toMatch(/^Applied app 004 Add workflows table for agent automation \(/m)
    // The copy is named after the first migration applied, with its namespace when it is not the library's.
    expect(/^Backed up to (.+)$/m.exec(rest.stdout)?.[1]).toBe(`${path.join(dir, 'agents.db')}.before-app-004.bak`)
    expect(existsSync(path.join(dir, 'agents.db.before-app-004.bak'))).toBe(true)
    const status = await agentdb(['status', '--migrations', app])
    expect(status.stdout).toMatch(new RegExp(`^Namespace agentdb: version ${LATEST}, ${N} applied, 0 pending$`, 'm'))
    expect(status.stdout).toMatch(/^Namespace app: version 004, 2 applied, 0 pending$/m)
    expect(status.stdout).toMatch(/^app +004 +applied /m)
  })
})

describe('rollback safety', () => {
  it('--dry-run shows what would be rolled back and changes nothing', async () => {
    const app = appMigrationsFile()
    await seeded(path.join(dir, 'agents.db'))
    await agentdb(['migrate', '--migrations', app])
    const before = await snapshot(path.join(dir, 'agents.db'))
    const last = await agentdb(['rollback', '--dry-run', '--migrations', app])
    expect(last.code).toBe(EXIT.OK)
    expect(last.stdout).toMatch(/^Would roll back app 004 Add workflows table/m)
    expect(last.stdout).toContain('Dry run: nothing was changed.')
    const all = await agentdb(['rollback', '--to', '000', '--dry-run', '--migrations', app])
    expect(all.code).toBe(EXIT.OK)
    expect([...all.stdout.matchAll(/^Would roll back (\S+(?: \d+)?) /gm)].map((m) => m[1])).toEqual([
      'app 004',
      'app 003',
      ...[...BUILTIN].reverse(),
    ])
    expect(all.stdout).toMatch(/^Refused without --force: the library's tables hold rows \(agents 1, sessions 1, session_logs 3\)\.$/m)
    const json = JSON.parse((await agentdb(['rollback', '--to', '002', '--namespace', 'agentdb', '--dry-run', '--json', '--migrations', app])).stdout)
    expect(json).toMatchObject({ dryRun: true, refused: true })
    expect(json.plan.map((m: { namespace: string; id: string }) => `${m.namespace} ${m.id}`)).toEqual([
      'app 004',
      'app 003',
      ...BUILTIN.slice(2).reverse().map((id) => `agentdb ${id}`),
    ])
    expect(await snapshot(path.join(dir, 'agents.db'))).toEqual(before)
    expect(backups()).toEqual([])
  })

  it('takes a backup first and prints its path, unless --no-backup', async () => {
    const app = appMigrationsFile()
    const file = path.join(dir, 'agents.db')
    await seeded(file)
    await agentdb(['migrate', '--migrations', app])
    const run = await agentdb(['rollback', '--migrations', app])
    expect(run.code).toBe(EXIT.OK)
    const named = /^Backed up to (.+)$/m.exec(run.stdout)?.[1]
    expect(named).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}\\.before-rollback-\\d{8}T\\d{9}Z\\.bak$`))
    expect(run.stdout).toMatch(/^Rolled back app 004 /m)
    const copy = await Database.open(named!)
    // The copy was taken before the rollback: app 004 is still recorded in it.
    expect((await copy.listMigrations()).filter((m) => m.state !== 'pending').map((m) => `${m.namespace} ${m.id}`)).toContain('app 004')
    expect(await copy.countAgents()).toBe(1)
    await copy.close()

    const json = JSON.parse((await agentdb(['rollback', '--json', '--migrations', app])).stdout)
    expect(existsSync(json.backup)).toBe(true)
    expect(backups()).toHaveLength(2)
    const without = await agentdb(['rollback', '--to', '000', '--namespace', 'app', '--no-backup', '--migrations', app])
    expect(without.code).toBe(EXIT.OK)
    expect(without.stdout).not.toContain('Backed up')
    expect(backups()).toHaveLength(2)
    expect((await agentdb(['rollback', '--to', '000', '--namespace', 'app', '--migrations', app])).stdout).toContain('Nothing to roll back.')
    expect(backups()).toHaveLength(2)
  })

  it("refuses to roll back the library's migrations while its tables hold rows, unless --force", async () => {
    const file = path.join(dir, 'agents.db')
    await seeded(file)
    const before = await snapshot(file)
    for (const args of [['rollback'], ['rollback', '--to', '001'], ['rollback', '--to', '000', '--no-backup']]) {
      const run = await agentdb(args)
      expectError(run, EXIT.USAGE, 'REFUSED')
      expect(run.stderr).toContain('agents 1, sessions 1, session_logs 3')
      expect(run.stderr).toContain('--force')
      expect(run.stdout).toBe('')
    }
    expect(JSON.parse((await agentdb(['rollback', '--json'])).stdout).error.code).toBe('REFUSED')
    expect(await snapshot(file)).toEqual(before)
    expect(backups()).toEqual([])

    const forced = await agentdb(['rollback', '--to', '001', '--force'])
    expect(forced.code).toBe(EXIT.OK)
    expect(forced.stdout).toMatch(/^Backed up to /m)
    expect(forced.stdout).toMatch(/^Rolled back 002 /m)
    expect(forced.stdout).toContain('Schema version 001')
    expect(backups()).toHaveLength(1)
    const copy = await Database.open(path.join(dir, backups()[0]))
    expect(await copy.countLogs((await copy.listSessions()).items[0].id)).toBe(3)
    await copy.close()
  })

  it('rolls back the app\'s namespace with --namespace, which needs no --force', async () => {
    const app = appMigrationsFile()
    const file = path.join(dir, 'agents.db')
    await seeded(file)
    await agentdb(['migrate', '--migrations', app])
    expectError(await agentdb(['rollback', '--namespace', 'app', '--migrations', app]), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['rollback', '--to', '003', '--migrations', app]), EXIT.USAGE, 'INVALID_ARGUMENT')
    expectError(await agentdb(['rollback', '--to', '000', '--namespace', 'nope', '--migrations', app]), EXIT.USAGE, 'INVALID_ARGUMENT')
    const run = await agentdb(['rollback', '--to', '000', '--namespace', 'app', '--migrations', app])
    expect(run.code).toBe(EXIT.OK)
    expect([...run.stdout.matchAll(/^Rolled back (app \d+) /gm)].map((m) => m[1])).toEqual(['app 004', 'app 003'])
    expect(run.stdout).toMatch(/, 2 pending \(app 003, app 004\)$/m)
    const status = JSON.parse((await agentdb(['status', '--json', '--migrations', app])).stdout)
    expect(status.summary.namespaces).toEqual([
      { namespace: 'agentdb', currentVersion: LATEST, appliedMigrations: N, pendingMigrations: 0 },
      { namespace: 'app', currentVersion: null, appliedMigrations: 0, pendingMigrations: 2 },
    ])
  })

  it('undoes a migration this build does not know only with --allow-recorded-sql', async () => {
    const app = appMigrationsFile()
    const file = path.join(dir, 'agents.db')
    await agentdb(['migrate', '--migrations', app])
    // Without --migrations, the app's 003 and 004 are unknown: only their recorded down SQL could undo them.
    const plan = await agentdb(['rollback', '--dry-run'])
    expect(plan.stdout).toMatch(/^Would roll back app 004 .* refused: only the down SQL recorded in the database could undo it: --allow-recorded-sql$/m)
    const before = await snapshot(file)
    const refused = await agentdb(['rollback'])
    expectError(refused, EXIT.ERROR, 'MIGRATION_IRREVERSIBLE')
    expect(refused.stderr).toContain('allowRecordedSql')
    expect(await snapshot(file)).toEqual(before)
    expect(backups()).toEqual([])
    const allowedPlan = await agentdb(['rollback', '--dry-run', '--allow-recorded-sql'])
    expect(allowedPlan.stdout).toMatch(/^Would roll back app 004 .*\(with the down SQL recorded in the database\)$/m)
    const allowed = await agentdb(['rollback', '--to', '000', '--namespace', 'app', '--allow-recorded-sql'])
    expect(allowed.code).toBe(EXIT.OK)
    expect([...allowed.stdout.matchAll(/^Rolled back (app \d+) /gm)].map((m) => m[1])).toEqual(['app 004', 'app 003'])
    const db = await Database.open(file)
    expect(await db.query("SELECT name FROM sqlite_master WHERE name IN ('permissions', 'workflows')")).toEqual([])
    await db.close()
  })
})

describe('repair', () => {
  it('re-records the app migrations given with --ids and --namespace, after a dry run', async () => {
    const app = appMigrationsFile()
    await agentdb(['migrate', '--migrations', app])
    const edited = path.join(dir, 'edited.js')
    writeFileSync(
      edited,
      `const [permissions, workflows] = require(${JSON.stringify(app)})
permissions.up = [permissions.up[0].replace('granted BOOLEAN DEFAULT FALSE', 'granted INTEGER DEFAULT 0')]
workflows.down = [...workflows.down, '-- reviewed']
module.exports = [permissions, workflows]
`,
    )
    const invalid = await agentdb(['validate', '--migrations', edited])
    expect(invalid.code).toBe(EXIT.CHECK_FAILED)
    expect(invalid.stdout).toMatch(/^error +CHECKSUM_MISMATCH app 003: .*repairMigrations\(\{ ids: \['003'\], namespace: 'app' \}\)/m)
    expectError(await agentdb(['repair', '--ids', '', '--migrations', edited]), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['repair', '--ids', '003,', '--migrations', edited]), EXIT.USAGE, 'USAGE')
    // 004's up did not change: it is not a changed migration, and the whole call is refused.
    expectError(await agentdb(['repair', '--ids', '003,004', '--namespace', 'app', '--migrations', edited]), EXIT.USAGE, 'INVALID_ARGUMENT')

    const plan = await agentdb(['repair', '--ids', '003', '--namespace', 'app', '--dry-run', '--migrations', edited])
    expect(plan.code).toBe(EXIT.OK)
    expect(plan.stdout).toMatch(/^Would re-record app 003: [0-9a-f]{64} -> [0-9a-f]{64}$/m)
    expect(plan.stdout).toContain('Dry run: nothing was changed.')
    expect((await agentdb(['validate', '--migrations', edited])).code).toBe(EXIT.CHECK_FAILED)

    const json = JSON.parse((await agentdb(['repair', '--ids', '003', '--namespace', 'app', '--json', '--migrations', edited])).stdout)
    expect(json).toMatchObject({ dryRun: false, repaired: [{ namespace: 'app', id: '003', description: 'Add permissions table for fine-grained access control' }] })
    expect(json.repaired[0].up[0]).toContain('granted INTEGER DEFAULT 0')
    const valid = await agentdb(['validate', '--migrations', edited])
    expect(valid.code).toBe(EXIT.OK)
  })
})

describe('files that are not usable databases', () => {
  it('refuses a file that is not SQLite with NOT_A_DATABASE and leaves it byte for byte', async () => {
    const file = path.join(dir, 'notes.db')
    const bytes = Buffer.from('These are my notes, not a database.\n'.repeat(200))
    writeFileSync(file, bytes)
    for (const command of ['status', 'migrate', 'validate', 'sessions']) {
      const run = await agentdb([command, 'notes.db'])
      expectError(run, EXIT.NOT_A_DATABASE, 'NOT_A_DATABASE')
      expect(run.stderr).toContain('notes.db')
    }
    const json = JSON.parse((await agentdb(['migrate', 'notes.db', '--json'])).stdout)
    expect(json.error.code).toBe('NOT_A_DATABASE')
    expect(readFileSync(file).equals(bytes)).toBe(true)
    expect(existsSync(`${file}-wal`)).toBe(false)
    expect(existsSync(`${file}-shm`)).toBe(false)
  })

  it('reports a missing directory with CANT_OPEN and creates nothing', async () => {
    const missing = path.join(dir, 'no-such-dir', 'agents.db')
    const run = await agentdb(['migrate', missing])
    expectError(run, EXIT.CANT_OPEN, 'CANT_OPEN')
    expect(run.stderr).toContain('does not exist')
    expect(existsSync(path.dirname(missing))).toBe(false)
  })

  it('does not create a database where a command only reads one', async () => {
    for (const command of [['status'], ['validate'], ['repair', '--ids', '001'], ['rollback'], ['rollback', '--dry-run'], ['sessions'], ['check']]) {
      const run = await agentdb([...command, 'typo.db'])
      expectError(run, EXIT.CANT_OPEN, 'CANT_OPEN')
      expect(run.stderr).toContain('no database at typo.db')
    }
    expect(existsSync(path.join(dir, 'typo.db'))).toBe(false)
  })

  it('reports a directory given as the database with CANT_OPEN', async () => {
    expectError(await agentdb(['status', dir]), EXIT.CANT_OPEN, 'CANT_OPEN')
  })

  it.runIf(process.getuid?.() === 0)('reports a file it may not write with READONLY', async () => {
    await agentdb(['migrate'])
    for (const d of [root, dir]) chmodSync(d, 0o755)
    chmodSync(path.join(dir, 'agents.db'), 0o644)
    const run = await agentdb(['migrate'], { uid: 65534, gid: 65534 })
    expectError(run, EXIT.CANT_OPEN, 'READONLY')
  })

  it.runIf(python)('exits with the busy code when another process holds the write lock', async () => {
    const file = path.join(dir, 'locked.db')
    const holder = spawn('python3', [
      '-c',
      [
        'import sqlite3, sys',
        'c = sqlite3.connect(sys.argv[1], isolation_level=None)',
        "c.execute('PRAGMA journal_mode=WAL')",
        "c.execute('BEGIN IMMEDIATE')",
        "print('locked', flush=True)",
        'sys.stdin.read()',
      ].join('\n'),
      file,
    ])
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
    try {
      const run = await agentdb(['migrate', 'locked.db', '--busy-timeout', '100'])
      expectError(run, EXIT.BUSY, 'BUSY')
    } finally {
      holder.stdin.end()
      await new Promise((resolve) => holder.once('exit', resolve))
    }
  })
})

describe('sessions and logs', () => {
  it('says a database lacks migrations (the change log is 010\'s), and how to apply them, instead of an SQL error', async () => {
    const file = path.join(dir, 'agents.db')
    await (await Database.open(file)).close()
    const never = await agentdb(['sessions'])
    expectError(never, EXIT.ERROR, 'NOT_MIGRATED')
    expect(never.stderr).toContain('the database was never migrated')
    expect(never.stderr).toContain('Run "agentdb migrate" on the database to apply them.')

    const db = await Database.open(file)
    await db.migrate({ to: '009', namespace: 'agentdb' })
    const agent = await db.createAgent({ name: 'Reviewer', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    await db.close()
    const follow = await agentdb(['logs', session.id, '--follow'])
    expectError(follow, EXIT.ERROR, 'NOT_MIGRATED')
    expect(follow.stderr).toContain('--follow needs the change log of the latest built-in migration: run agentdb migrate')
  })

  it('lists sessions as a table and as JSON, filtered by status', async () => {
    const { agent, session } = await seeded(path.join(dir, 'agents.db'))
    const run = await agentdb(['sessions'])
    expect(run.code).toBe(EXIT.OK)
    expect(run.stdout).toMatch(/^ID +STATUS +AGENT +AGENT ID +ACTIVE +LOGS +NAME$/m)
    expect(run.stdout).toMatch(new RegExp(`^${session.id} +running +Reviewer +${agent.id} +\\S+Z +3 +Review auth$`, 'm'))
    const json = JSON.parse((await agentdb(['sessions', '--json'])).stdout)
    expect(json.items.map((s: { id: string }) => s.id)).toEqual([session.id])
    expect(json.items[0].agentName).toBe('Reviewer')
    expect((await agentdb(['sessions', '--status', 'completed'])).stdout).toContain('No sessions.')
    expectError(await agentdb(['sessions', '--status', 'sleeping']), EXIT.USAGE, 'USAGE')
  })

  it('prints a session\'s logs in order, as a tree, and as JSON', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    const flat = await agentdb(['logs', session.id])
    expect(flat.code).toBe(EXIT.OK)
    const lines = flat.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/Z {2}user\/message {2}\{"text":"review the login flow"\}$/)
    expect(lines[1]).toMatch(/Z {2}agent\/thought {2}reading login\.ts$/)

    const tree = await agentdb(['logs', session.id, '--tree'])
    expect(tree.stdout).toMatch(/Z {4}agent\/thought {2}reading login\.ts$/m)
    const treeJson = JSON.parse((await agentdb(['logs', session.id, '--tree', '--json'])).stdout)
    expect(treeJson).toHaveLength(2)
    expect(treeJson[0].children).toHaveLength(1)

    const json = JSON.parse((await agentdb(['logs', session.id, '--json'])).stdout)
    expect(json.map((l: { type: string }) => l.type)).toEqual(['message', 'thought', 'message'])
  })

  it('marks the status of a log that is not complete', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const db = await Database.open(file)
    const reply = await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: { text: '' }, status: 'pending' })
    await db.appendLogText(reply.id, { path: 'text', delta: 'Hel' })
    const marked = (status: string) => new RegExp(`^#${reply.id} {2}\\S+Z {2}agent/message {2}\\[${status}\\] {2}\\{"text":"Hel"\\}$`)
    const lines = (await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[2]).not.toContain('[')
    expect(lines[3]).toMatch(marked('streaming'))
    // Closed unfinished: the CLI reads the file read-only, so it shows the entry as stored.
    await db.close()
    expect((await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')[3]).toMatch(marked('streaming'))
    // Opened alone for writing: the reply will never be finished.
    await (await Database.open(file)).close()
    expect((await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')[3]).toMatch(marked('interrupted'))
  })

  it('marks forks: the log a fork was made at, and where a fork came from', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const db = await Database.open(file)
    const [first] = (await db.getLogs(session.id)).items
    const fork = await db.forkSession(session.id, { atLogId: first.id, id: 'retry' })
    await db.close()
    const lines = (await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/ {2}\(forked: retry\)$/)
    expect(lines[1]).not.toContain('forked')
    const forked = (await agentdb(['logs', fork.session.id])).stdout.trimEnd().split('\n')
    expect(forked[0]).toBe(`forked from ${session.id} at #${first.id}`)
    expect(forked).toHaveLength(2)
  })

  it('marks forks with --follow the same way: the header, then the marked logs', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const db = await Database.open(file)
    const [first] = (await db.getLogs(session.id)).items
    const fork = await db.forkSession(session.id, { atLogId: first.id, id: 'retry' })
    await db.close()
    const followed = async (sessionId: string, count: number) => {
      const child = spawn(process.execPath, [BIN, 'logs', sessionId, '--follow'], { cwd: dir })
      let stdout = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      const lines = () => stdout.split('\n').filter(Boolean)
      while (lines().length < count) await new Promise((resolve) => setTimeout(resolve, 50))
      child.kill('SIGINT')
      expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(EXIT.OK)
      return lines()
    }
    const plain = async (sessionId: string) => (await agentdb(['logs', sessionId])).stdout.trimEnd().split('\n')
    expect(await followed(fork.session.id, 2)).toEqual(await plain(fork.session.id))
    const source = await followed(session.id, 3)
    expect(source).toEqual(await plain(session.id))
    expect(source[0]).toMatch(/ {2}\(forked: retry\)$/)
  })

  it('shows a compaction checkpoint: what it covers first, then a mark on the last log it covers', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const db = await Database.open(file)
    const [, second] = (await db.getLogs(session.id)).items
    await db.setCheckpoint(session.id, { summary: 'The user asked for a review.', throughLogId: second.id, coveredTokens: 900, summaryTokens: 12 })
    await db.close()
    const lines = (await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')
    expect(lines[0]).toBe(`checkpoint through #${second.id} (900 tokens summarised in 12): "The user asked for a review."`)
    expect(lines).toHaveLength(4)
    expect(lines[2]).toMatch(/ {2}\(checkpoint\)$/)
    expect(lines[1]).not.toContain('checkpoint')
    expect(lines[3]).not.toContain('checkpoint')
    // JSON stays the logs alone.
    expect(JSON.parse((await agentdb(['logs', session.id, '--json'])).stdout)).toHaveLength(3)
  })

  it('reports an unknown session with NOT_FOUND', async () => {
    await seeded(path.join(dir, 'agents.db'))
    expectError(await agentdb(['logs', 'no-such-session']), EXIT.ERROR, 'NOT_FOUND')
    const agent = await agentdb(['sessions', '--agent', 'no-such-agent'])
    expectError(agent, EXIT.ERROR, 'NOT_FOUND')
    expect(agent.stderr).toContain('no agent no-such-agent')
  })

  it('shows ids, and with --limit only the newest entries', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    const lines = (await agentdb(['logs', session.id])).stdout.trimEnd().split('\n')
    const ids = lines.map((line) => Number(/^#(\d+) {2}\d{4}-/.exec(line)?.[1]))
    expect(ids).toHaveLength(3)
    expect(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]))).toBe(true)
    const tree = (await agentdb(['logs', session.id, '--tree'])).stdout
    expect(tree).toMatch(new RegExp(`^#${ids[1]} {2}\\S+Z {4}agent/thought {2}reading login\\.ts$`, 'm'))

    const latest = await agentdb(['logs', session.id, '--limit', '2'])
    expect(latest.code).toBe(EXIT.OK)
    expect(latest.stdout.trimEnd().split('\n').map((line) => line.split('  ')[0])).toEqual([`#${ids[1]}`, `#${ids[2]}`])
    const latestJson = JSON.parse((await agentdb(['logs', session.id, '--limit', '1', '--json'])).stdout)
    expect(latestJson.map((l: { id: number }) => l.id)).toEqual([ids[2]])
    for (const bad of [['--limit', '0'], ['--limit', 'many'], ['--limit', '2', '--tree']]) {
      const run = await agentdb(['logs', session.id, ...bad])
      expectError(run, EXIT.USAGE, 'USAGE')
      expect(run.stderr).toContain('--limit')
    }
  })

  it('names what is wrong with its arguments: a database given where the session id goes, or the two swapped', async () => {
    const file = path.join(dir, 'app.db')
    const { session } = await seeded(file)
    const missing = await agentdb(['logs', 'app.db'])
    expectError(missing, EXIT.USAGE, 'USAGE')
    expect(missing.stderr).toContain('missing <sessionId>')
    expect(missing.stderr).toContain('"app.db" is a database')
    expect(missing.stderr).toContain('agentdb logs --help')
    const swapped = await agentdb(['logs', 'app.db', session.id])
    expectError(swapped, EXIT.USAGE, 'USAGE')
    expect(swapped.stderr).toContain(`agentdb logs ${session.id} app.db`)
    expectError(await agentdb(['logs', 'other.sqlite']), EXIT.USAGE, 'USAGE')
    expect((await agentdb(['logs', session.id, 'app.db'])).code).toBe(EXIT.OK)
    // Without a database argument, the default is named as such.
    const defaulted = await agentdb(['logs', session.id])
    expectError(defaulted, EXIT.CANT_OPEN, 'CANT_OPEN')
    expect(defaulted.stderr).toContain('no database at ./agents.db, the default')
  })

  it('follows a session\'s log until interrupted', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const child = spawn(process.execPath, [BIN, 'logs', session.id, '--follow', '--json'], { cwd: dir })
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const lines = () => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line))
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await until(() => lines().length === 3)
    const db = await Database.open(file)
    await db.addLog({ sessionId: session.id, role: 'tool', type: 'observation', content: { exitCode: 0 } })
    await db.close()
    await until(() => lines().length === 4)
    expect(lines()[3]).toMatchObject({ role: 'tool', type: 'observation', content: { exitCode: 0 } })
    child.kill('SIGINT')
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(EXIT.OK)
  })

  it('follows a streamed reply: an entry printed again, marked, each time it is updated', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const child = spawn(process.execPath, [BIN, 'logs', session.id, '--follow', '--limit', '1'], { cwd: dir })
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const lines = () => stdout.split('\n').filter(Boolean)
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await until(() => lines().length === 1)
    expect(lines()[0]).toMatch(/agent\/message {2}\{"text":"done"\}$/)
    const db = await Database.open(file)
    const reply = await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: 'Hel' })
    await until(() => lines().length === 2)
    await db.updateLog(reply.id, { content: 'Hello, wor' })
    await until(() => lines().length === 3)
    await db.updateLog(reply.id, { content: 'Hello, world' })
    await until(() => lines().length === 4)
    await db.close()
    expect(lines().slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^#${reply.id} {2}\\S+Z {2}agent/message {2}Hel$`)),
      expect.stringMatching(new RegExp(`^#${reply.id} {2}\\S+Z {2}agent/message {2}\\(updated\\) {2}Hello, wor$`)),
      expect.stringMatching(new RegExp(`^#${reply.id} {2}\\S+Z {2}agent/message {2}\\(updated\\) {2}Hello, world$`)),
    ])
    child.kill('SIGINT')
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(EXIT.OK)
  })
})

describe('search', () => {
  it('prints each hit with its session, time, id and snippet, the matches in brackets', async () => {
    const file = path.join(dir, 'a.db')
    const { session } = await seeded(file)
    const db = await Database.open(file)
    await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: { text: '我想搜索一下历史记录' } })
    await db.close()
    const run = await agentdb(['search', '搜索', file])
    expect(run.code).toBe(EXIT.OK)
    expect(run.stdout).toMatch(new RegExp(`^${session.id}  \\d{4}-\\d\\d-\\d\\dT\\S+Z  #4  agent/message  我想\\[搜索\\]一下历史记录$`, 'm'))
    const login = await agentdb(['search', 'LOGIN', file, '--session', session.id, '--json'])
    const page = JSON.parse(login.stdout)
    expect(page.items.map((h: { log: { id: number } }) => h.log.id).sort()).toEqual([1, 2])
    expect(page.items[0].highlights[0]).toEqual({ start: expect.any(Number), end: expect.any(Number) })
    const none = await agentdb(['search', 'absent', file])
    expect([none.code, none.stdout]).toEqual([EXIT.OK, 'No matches.\n'])
  })

  it('refuses an unknown session and an FTS5 query it cannot parse', async () => {
    const file = path.join(dir, 'a.db')
    await seeded(file)
    expectError(await agentdb(['search', 'login', file, '--session', 'nope']), EXIT.ERROR, 'NOT_FOUND')
    expectError(await agentdb(['search', '(login', file, '--fts5']), EXIT.USAGE, 'QUERY_SYNTAX')
    expect((await agentdb(['search', '(login', file])).code).toBe(EXIT.OK)
  })
})

describe('export, import and usage', () => {
  it('exports a session as JSON Lines and Markdown, imports it back, and refuses an edited file with nothing written', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    const exported = await agentdb(['export', 'agents.db', session.id, 'session.jsonl', '--json'])
    expect(exported.code).toBe(EXIT.OK)
    expect(JSON.parse(exported.stdout)).toMatchObject({ logs: 3, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    const markdown = await agentdb(['export', 'agents.db', session.id, 'session.md', '--format', 'markdown'])
    expect(markdown.stdout).toBe(`Exported session ${session.id}: 3 logs to session.md (${markdown.stdout.split('(')[1]}`)
    expect(readFileSync(path.join(dir, 'session.md'), 'utf8')).toContain('# Review auth')
    expectError(await agentdb(['export', 'agents.db', session.id, 'x.txt', '--format', 'csv']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['export', 'agents.db', 'missing', 'x.jsonl']), EXIT.ERROR, 'NOT_FOUND')

    const imported = await agentdb(['import', 'agents.db', 'session.jsonl', '--json'])
    expect(imported.code).toBe(EXIT.OK)
    const { session: copy, logs } = JSON.parse(imported.stdout)
    expect(logs).toBe(3)
    expect(copy.id).not.toBe(session.id)
    const text = readFileSync(path.join(dir, 'session.jsonl'), 'utf8')
    writeFileSync(path.join(dir, 'edited.jsonl'), text.replace('review the login flow', 'review the logout flow'))
    expectError(await agentdb(['import', 'agents.db', 'edited.jsonl']), EXIT.ERROR, 'CHECKSUM_MISMATCH')
    writeFileSync(path.join(dir, 'cut.jsonl'), text.slice(0, -10))
    expectError(await agentdb(['import', 'agents.db', 'cut.jsonl']), EXIT.ERROR, 'INVALID_EXPORT')
    const db = await Database.open(path.join(dir, 'agents.db'), { readOnly: true })
    expect(await db.countSessions()).toBe(2)
    await db.close()
  })

  it('prints the usage totals by model, agent or day, as a table or JSON', async () => {
    const file = path.join(dir, 'agents.db')
    const { agent, session } = await seeded(file)
    const db = await Database.open(file)
    await db.recordUsage({ requestId: 'r1', sessionId: session.id, model: 'model-large', inputTokens: 120, outputTokens: 30, cost: 0.5, currency: 'USD' })
    await db.recordUsage({ requestId: 'r2', sessionId: session.id, model: 'model-large', inputTokens: 80, outputTokens: 10, cost: 0.25, currency: 'EUR' })
    await db.close()
    const table = await agentdb(['usage', 'agents.db'])
    expect(table.code).toBe(EXIT.OK)
    expect(table.stdout.split('\n')[1]).toMatch(/^model-large\s+2\s+200\s+40\s+0\s+0\s+0\s+0\.25 EUR, 0\.5 USD$/)
    const json = await agentdb(['usage', '--by', 'agent', '--json', 'agents.db'])
    expect(JSON.parse(json.stdout)).toMatchObject([{ key: agent.id, requests: 2, costs: { USD: 0.5, EUR: 0.25 } }])
    const later = await agentdb(['usage', '--by', 'day', '--since', '2999-01-01T00:00:00.000Z', 'agents.db'])
    expect(later.stdout).toBe('No usage recorded.\n')
    expectError(await agentdb(['usage', '--by', 'week', 'agents.db']), EXIT.USAGE, 'USAGE')
    expectError(await agentdb(['usage', '--since', 'yesterday', 'agents.db']), EXIT.USAGE, 'INVALID_ARGUMENT')
  })
})

describe('backup and check', () => {
  it('backs a database up to a file that opens with the same data', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    const run = await agentdb(['backup', 'agents.db', 'copy.db'])
    expect(run.code).toBe(EXIT.OK)
    expect(run.stdout).toMatch(/^Backed up agents\.db to copy\.db \(\d/m)
    const copy = await Database.open(path.join(dir, 'copy.db'))
    expect(await copy.countLogs(session.id)).toBe(3)
    await copy.close()
    const json = JSON.parse((await agentdb(['backup', 'agents.db', 'copy2.db', '--json'])).stdout)
    expect(json).toEqual({ source: 'agents.db', destination: 'copy2.db', size: statSync(path.join(dir, 'copy2.db')).size })
    expectError(await agentdb(['backup', 'missing.db', 'copy3.db']), EXIT.CANT_OPEN, 'CANT_OPEN')
  })

  it('migrate --backup writes the copy it names before migrating', async () => {
    await agentdb(['migrate', '--limit', '1'])
    const run = await agentdb(['migrate', '--backup'])
    expect(run.code).toBe(EXIT.OK)
    const named = /^Backed up to (.+)$/m.exec(run.stdout)?.[1]
    expect(named).toBe(`${path.join(dir, 'agents.db')}.before-002.bak`)
    const copy = await Database.open(named!)
    expect((await copy.getMigrationSummary()).currentVersion).toBe('001')
    await copy.close()
  })

  it('checks a healthy database', async () => {
    await seeded(path.join(dir, 'agents.db'))
    const ok = await agentdb(['check'])
    expect(ok.code).toBe(EXIT.OK)
    expect(ok.stdout).toMatch(/^OK: no integrity errors, no foreign key violations, no bad values \(full check\)\.$/m)
    expect(JSON.parse((await agentdb(['check', '--quick', '--json'])).stdout)).toMatchObject({ ok: true, mode: 'quick' })
  })

  it.runIf(python)('finds a row whose parent is missing, and exits with the check code', async () => {
    await seeded(path.join(dir, 'agents.db'))
    // SQLite leaves foreign keys off unless a connection asks: this one writes an orphan.
    const orphan = spawnSync('python3', [
      '-c',
      "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO sessions (id, main_agent_id) VALUES ('orphan', 'gone')\"); c.commit()",
      path.join(dir, 'agents.db'),
    ])
    expect(orphan.status).toBe(0)
    const run = await agentdb(['check'])
    expect(run.code).toBe(EXIT.CHECK_FAILED)
    expect(run.stdout).toMatch(/^foreign key: sessions row \d+ refers to a missing agents row/m)
    const json = JSON.parse((await agentdb(['check', '--json'])).stdout)
    expect(json).toMatchObject({ ok: false, foreignKeyViolationCount: 1 })
  })
})

describe('purge', () => {
  it('shows what --dry-run would remove, removes it, and refuses to run without a criterion', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const dry = await agentdb(['purge', '--sessions', session.id, '--dry-run', '--json', file])
    expect(dry.code, dry.stderr).toBe(EXIT.OK)
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, sessions: 1, logs: 3, agents: 0 })
    const none = await agentdb(['purge', file])
    expectError(none, EXIT.USAGE, 'INVALID_ARGUMENT')
    const done = await agentdb(['purge', '--sessions', session.id, file])
    expect(done.code, done.stderr).toBe(EXIT.OK)
    expect(done.stdout).toMatch(/^Removed 1 session\(s\), 3 log\(s\) \(\d+ B\), 0 agent\(s\) in \d+ chunk\(s\)\.$/m)
    const db = await Database.open(file)
    expect(await db.countSessions()).toBe(0)
    await db.close()
  })

  it('stats shows the largest session and compact hands the free pages back', async () => {
    const file = path.join(dir, 'agents.db')
    const { session } = await seeded(file)
    const stats = await agentdb(['stats', '--json', file])
    expect(stats.code, stats.stderr).toBe(EXIT.OK)
    const report = JSON.parse(stats.stdout)
    expect(report.largestSessions[0]).toMatchObject({ sessionId: session.id, logs: 3 })
    expect((await agentdb(['stats', file])).stdout).toContain(`${session.id}  `)
    const compacted = await agentdb(['compact', '--json', file])
    expect(compacted.code, compacted.stderr).toBe(EXIT.OK)
    expect(JSON.parse(compacted.stdout)).toMatchObject({ mode: 'incremental', checkpointed: true })
  })
})

describe('output', () => {
  it('ends quietly when its reader goes away (agentdb … | head)', async () => {
    await seeded(path.join(dir, 'agents.db'))
    const child = spawn(process.execPath, [BIN, 'status'], { cwd: dir })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(EXIT.OK)
    expect(stderr).toBe('')
  })
})

describe('the progress line', () => {
  it('writes nothing but results when stdout is not a terminal', async () => {
    const run = await agentdb(['migrate'])
    expect(run.stdout).not.toContain('\r')
    expect(run.stdout).not.toContain('\x1b')
    expect(run.stdout).not.toContain('Migrating')
  })

  const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0
  it.runIf(hasScript)('shows each migration as it runs when stdout is a terminal', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} migrate`
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'utf8' })
    expect(run.status).toBe(EXIT.OK)
    for (const [i, id] of BUILTIN.entries()) expect(run.stdout).toContain(`Migrating ${i + 1}/${N}: ${id} `)
    expect(run.stdout).toMatch(new RegExp(`Applied ${LATEST} `))
  })
})

describe('inspection leaves the file as it was', () => {
  /** Every file in the directory, by name, with its bytes (base64). */
  const files = () => Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(path.join(dir, name)).toString('base64')]))

  async function inspect(sessionId: string): Promise<Record<string, number | null>> {
    const codes: Record<string, number | null> = {}
    for (const args of [['status'], ['status', '--json'], ['check'], ['check', '--quick'], ['validate'], ['sessions'], ['logs', sessionId], ['logs', sessionId, '--tree']]) {
      const withDb = args[0] === 'logs' ? [...args.slice(0, 2), 'agents.db', ...args.slice(2)] : [args[0], 'agents.db', ...args.slice(1)]
      codes[args.join(' ')] = (await agentdb(withDb)).code
    }
    return codes
  }

  it('status, check, validate, sessions and logs change no byte of a WAL file or a rollback-journal file, and leave nothing beside it', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    const wal = files()
    expect(Object.keys(wal)).toEqual(['agents.db'])
    const codes = await inspect(session.id)
    expect(Object.values(codes).every((code) => code === EXIT.OK), JSON.stringify(codes)).toBe(true)
    expect(files()).toEqual(wal)
    if (!python) return
    // A file in rollback-journal mode, as another tool leaves it: it stays out of WAL mode.
    spawnSync('python3', ['-c', "import sqlite3; sqlite3.connect('agents.db').execute('PRAGMA journal_mode=DELETE').fetchall()"], { cwd: dir })
    const journal = files()
    expect(readFileSync(path.join(dir, 'agents.db'))[18]).toBe(1)
    await inspect(session.id)
    expect(files()).toEqual(journal)
  })

  it.runIf(python)('reports a hot journal instead of rolling it back', async () => {
    const { session } = await seeded(path.join(dir, 'agents.db'))
    // A process that stops in the middle of a large transaction leaves a hot journal.
    const script = [
      'import sqlite3, os',
      "c = sqlite3.connect('agents.db', isolation_level=None)",
      "c.execute('PRAGMA journal_mode=DELETE').fetchall()",
      "c.execute('PRAGMA cache_size=1')",
      "c.execute('BEGIN')",
      "c.execute(\"UPDATE agents SET description = hex(randomblob(20000))\")",
      "for i in range(200): c.execute(\"UPDATE session_logs SET content = json_object('pad', hex(randomblob(4000)))\")",
      'os._exit(0)',
    ].join('\n')
    expect(spawnSync('python3', ['-c', script], { cwd: dir }).status).toBe(0)
    expect(statSync(path.join(dir, 'agents.db-journal')).size).toBeGreaterThan(0)
    const hot = files()
    for (const command of ['status', 'check', 'validate', 'sessions']) {
      expectError(await agentdb([command, 'agents.db']), EXIT.ERROR, 'HOT_JOURNAL')
    }
    expectError(await agentdb(['logs', session.id, 'agents.db']), EXIT.ERROR, 'HOT_JOURNAL')
    expect(files()).toEqual(hot)
    // Opened read-write, the transaction is rolled back and the rows are as they were.
    const db = await Database.open(path.join(dir, 'agents.db'))
    expect(await db.countLogs(session.id)).toBe(3)
    expect((await db.integrityCheck()).ok).toBe(true)
    await db.close()
  })
})
