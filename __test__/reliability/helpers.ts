// Shared by the reliability specs: temporary directories, child processes that speak JSON
// lines, error codes, and the one-line figures each test prints.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const FIXTURES = join(ROOT, '__test__', 'fixtures')

/** Every code a call of this library may reject with (typings/header.d.ts). */
export const DOCUMENTED_CODES = new Set([
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CONSTRAINT',
  'NOT_WRITTEN',
  'NOT_TEXT',
  'TRASHED',
  'LOG_TOO_LARGE',
  'BUSY',
  'DATABASE_CLOSED',
  'NOT_A_DATABASE',
  'CORRUPT',
  'READONLY',
  'CANT_OPEN',
  'OPEN_ELSEWHERE_IN_PROCESS',
  'BAD_VALUE',
  'HOT_JOURNAL',
  'FULL',
  'IO',
  'SQL_ERROR',
  'SCHEMA_CHANGE_REFUSED',
  'NOT_MIGRATED',
  'MIGRATION_FAILED',
  'MIGRATION_VALIDATION_FAILED',
  'MIGRATION_IRREVERSIBLE',
  'RESULT_TOO_LARGE',
  'TIMEOUT',
  'ABORTED',
  'INTERRUPTED',
  'QUERY_SYNTAX',
  'UNSUPPORTED_FORMAT',
  'CHECKSUM_MISMATCH',
  'INVALID_EXPORT',
  'INTERNAL',
])

const made: string[] = []

/** A new empty directory, removed by `removeTempDirs`. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agentdb-${tag}-`))
  made.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Prints one parseable line of what a test tried, e.g. `reliability: 40 kills during migration, 0 inconsistent files`. */
export function figure(text: string): void {
  console.log(`reliability: ${text}`)
}

/** The `code` a Promise rejects with, or `'resolved'`. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'resolved'
  } catch (err) {
    return (err as { code?: string }).code ?? `uncoded: ${String(err)}`
  }
}

/** The error a Promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code: string }
  }
  throw new Error('expected the call to reject, but it resolved')
}

/** A pseudo-random generator with a seed, so a failing run can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A child process running a fixture script that reports on stdout, one JSON object a line. */
export class Child {
  readonly process: ChildProcess
  readonly messages: Record<string, unknown>[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr = ''
  private waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = []

  constructor(script: string, args: string[], options: SpawnOptions = {}) {
    this.process = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
    let buffered = ''
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line.trim()) this.receive(JSON.parse(line))
      }
    })
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })))
  }

  private receive(message: Record<string, unknown>): void {
    this.messages.push(message)
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(message)) return true
      w.resolve(message)
      return false
    })
  }

  /** The first message (past or future) with `event`; rejects if the child exits first. */
  waitFor(event: string): Promise<Record<string, unknown>> {
    const seen = this.messages.find((m) => m.event === event)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      this.waiters.push({ match: (m) => m.event === event, resolve })
      this.exited.then(({ code, signal }) =>
        reject(new Error(`child exited (code ${code}, signal ${signal}) before '${event}': ${this.stderr}`)),
      )
    })
  }

  send(message: unknown): void {
    this.process.stdin!.write(`${JSON.stringify(message)}\n`)
  }

  kill(): void {
    this.process.kill('SIGKILL')
  }
}

/**
 * Copies the built addon and the named fixtures into `dir` and makes them readable by every
 * user, for children that run as another user (uid 65534), who may not be able to read the
 * work tree. Returns the copied fixtures' paths and the environment that makes them load the
 * copied addon.
 */
export function publicCopy(dir: string, fixtures: string[]): { scripts: string[]; env: NodeJS.ProcessEnv } {
  // The loader with what it reads (its list of platforms and the manifest), and the addon.
  const addonFiles = ['index.js', 'platforms.js', 'package.json', ...readdirSync(ROOT).filter((f) => f.endsWith('.node'))]
  for (const file of addonFiles) copyFileSync(join(ROOT, file), join(dir, file))
  for (const file of ['report.js', ...fixtures]) copyFileSync(join(FIXTURES, file), join(dir, file))
  for (const file of [...addonFiles, 'report.js', ...fixtures]) chmodSync(join(dir, file), 0o755)
  chmodSync(dir, 0o755)
  return { scripts: fixtures.map((f) => join(dir, f)), env: { ...process.env, AGENTDB_ADDON: join(dir, 'index.js') } }
}
