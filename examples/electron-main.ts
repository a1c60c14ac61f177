// A minimal Electron main process using @cherry/agentdb: the database lives in the user's
// data directory, windows reach it only through a few IPC channels, and it is closed before
// the app quits. `npm test` type-checks this file against the package's own typings.

import { copyFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { app, BrowserWindow, dialog, ipcMain } from 'electron'
import type { IpcMainInvokeEvent } from 'electron'
import { Database } from '@cherry/agentdb'
import type { AgentDbError, ChangeEvent, GetLogsOptions, ListSessionsOptions, WatchOptions } from '@cherry/agentdb'

let db: Database | undefined

function database(): Database {
  if (!db || db.closed) throw Object.assign(new Error('the database is closed'), { code: 'DATABASE_CLOSED' })
  return db
}

// Open in the main process, under userData, and migrate before any window asks for data.
async function openDatabase(): Promise<Database> {
  const file = path.join(app.getPath('userData'), 'agents.db')
  const opened = await Database.open(file)
  await opened.migrate({ backup: true })
  return opened
}

// What windows may call: a small allow-list of read calls, never the Database object. Pages
// are bounded by bytes too, so no window can ask for more than one IPC message should carry.
const PAGE_BYTES = 8 * 1024 * 1024
const bounded = <T extends { maxBytes?: number | undefined }>(options?: T) => ({
  ...options,
  maxBytes: Math.min(options?.maxBytes ?? PAGE_BYTES, PAGE_BYTES),
})
const handlers = {
  'agentdb:listSessions': (options?: ListSessionsOptions) => database().listSessions(bounded(options)),
  'agentdb:getSessionWithAgent': (id: string) => database().getSessionWithAgent(id),
  'agentdb:getLogs': (sessionId: string, options?: GetLogsOptions) => database().getLogs(sessionId, bounded(options)),
  'agentdb:changesSince': (seq: number, options?: WatchOptions) => database().changesSince(seq, options),
}

// Only this app's own pages (loaded from disk) may call; the addon validates every argument.
function isTrusted(event: IpcMainInvokeEvent): boolean {
  return event.senderFrame !== null && new URL(event.senderFrame.url).protocol === 'file:'
}

// IPC keeps only an Error's message, so the stable `code` travels in the reply.
export type Reply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }

function registerHandlers(): void {
  for (const [channel, handler] of Object.entries(handlers)) {
    const call = handler as (...args: unknown[]) => Promise<unknown>
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<Reply> => {
      if (!isTrusted(event)) return { ok: false, error: { code: 'FORBIDDEN', message: 'untrusted sender' } }
      try {
        return { ok: true, value: await call(...args) }
      } catch (err) {
        const { code, message } = err as AgentDbError
        return { ok: false, error: { code, message } }
      }
    })
  }
}

// One watch in the main process forwards every change event (this process's commits and
// other processes') to every window; the windows never poll.
let stopForwarding: (() => void) | undefined
function forwardChanges(source: Database): void {
  stopForwarding = source.watch((event: ChangeEvent) => {
    for (const win of BrowserWindow.getAllWindows()) win.webContents.send('agentdb:change', event)
  })
}

// Replace the database with a file the user picked, keeping a copy of the current one.
async function restoreFrom(source: string): Promise<void> {
  const current = database()
  const file = current.path
  const staging = `${file}.restoring`
  await copyFile(source, staging) // never open the user's file itself: opening may change it
  const candidate = await Database.open(staging)
  try {
    const report = await candidate.integrityCheck({ full: true })
    if (!report.ok) throw new Error(`${source} is damaged; nothing was replaced`)
  } finally {
    await candidate.close()
  }
  await current.backup(`${file}.before-restore-${Date.now()}.bak`)
  stopForwarding?.()
  await current.close()
  // The old file's write-ahead log must not be replayed into the new file.
  await rm(`${file}-wal`, { force: true })
  await rm(`${file}-shm`, { force: true })
  await rename(staging, file)
  db = await openDatabase()
  forwardChanges(db)
  // Other data, other change numbers: every window loads again from scratch.
  for (const win of BrowserWindow.getAllWindows()) win.webContents.send('agentdb:replaced')
}

// Close before quitting, so queued writes finish and every file handle is released. Calls
// still running after two seconds are interrupted, so the quit is never held for long.
let closedForQuit = false
app.on('before-quit', (event) => {
  if (closedForQuit || !db) return
  event.preventDefault()
  void db
    .close({ interruptAfterMs: 2000 })
    .then((closed) => {
      if (!closed.checkpointed) console.warn(`agents.db: the -wal file still holds data (${closed.reason}): keep it beside the file`)
    })
    .finally(() => {
      closedForQuit = true
      app.quit()
    })
})

function createWindow(): void {
  const win = new BrowserWindow({
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true },
  })
  void win.loadFile(path.join(__dirname, 'index.html'))
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app
  .whenReady()
  .then(async () => {
    db = await openDatabase()
    forwardChanges(db)
    registerHandlers()
    ipcMain.handle('agentdb:restore', async (event, source: string) => {
      if (!isTrusted(event)) throw new Error('untrusted sender')
      const picked = await dialog.showMessageBox({ message: `Replace your data with ${source}?`, buttons: ['Replace', 'Cancel'] })
      if (picked.response === 0) await restoreFrom(source)
    })
    createWindow()
  })
  .catch((err: AgentDbError) => {
    dialog.showErrorBox('Cannot open the agents database', `${err.code ?? 'ERROR'}: ${err.message}`)
    app.quit()
  })
