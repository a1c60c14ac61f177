// The page of examples/electron-main.ts: a list of sessions that stays up to date from the
// change events the main process forwards, and that, after a reload, catches up on what it
// missed from the change number it had seen, kept in sessionStorage with the list.

import type { Change, ChangeEvent, ChangesSince, ListedSession, Page, SessionWithAgent } from '@cherry/agentdb'
import type { Reply } from './electron-main'
import type { AgentDbBridge } from './electron-preload'

declare global {
  interface Window {
    agentdb: AgentDbBridge
  }
}

// The value of a reply, or its error with its stable `code`.
async function value<T>(reply: Promise<Reply>): Promise<T> {
  const answer = await reply
  if (!answer.ok) throw Object.assign(new Error(answer.error.message), { code: answer.error.code })
  return answer.value as T
}

type Row = { id: string; name: string | null; status: string }
const rows = new Map<string, Row>()
let seen = 0

function save(): void {
  sessionStorage.setItem('agentdb:view', JSON.stringify({ seen, rows: [...rows.values()] }))
  document.title = `${rows.size} sessions`
}

// The number first, then the data: a change committed in between comes again as an event,
// and applying it twice is harmless. A number newer than any answers `reset` and the newest.
async function reloadEverything(): Promise<void> {
  const { seq } = await value<ChangesSince>(window.agentdb.changesSince(Number.MAX_SAFE_INTEGER))
  const page = await value<Page<ListedSession>>(window.agentdb.listSessions({ limit: 100 }))
  rows.clear()
  for (const s of page.items) rows.set(s.id, { id: s.id, name: s.name, status: s.status })
  seen = Math.max(seen, seq)
  save()
}

// A change of a session, or of one of its logs: read the session again (gone: drop it).
async function apply(changes: Change[]): Promise<void> {
  for (const id of new Set(changes.flatMap((c) => (c.sessionId === null ? [] : [c.sessionId])))) {
    const found = await value<SessionWithAgent | null>(window.agentdb.getSessionWithAgent(id))
    if (found) rows.set(id, { id, name: found.session.name, status: found.session.status })
    else rows.delete(id)
  }
}

async function onChange(event: ChangeEvent): Promise<void> {
  if (event.seq <= seen) return
  seen = event.seq
  await apply(event.changes)
  save()
}

// Listen first, then catch up: nothing falls between the two.
async function start(): Promise<void> {
  window.agentdb.onChange((event) => void onChange(event))
  window.agentdb.onReplaced(() => void reloadEverything())
  const kept = sessionStorage.getItem('agentdb:view')
  if (!kept) return reloadEverything()
  const view = JSON.parse(kept) as { seen: number; rows: Row[] }
  for (const row of view.rows) rows.set(row.id, row)
  seen = Math.max(seen, view.seen)
  const missed = await value<ChangesSince>(window.agentdb.changesSince(view.seen))
  if (missed.reset) return reloadEverything()
  await apply(missed.changes)
  seen = Math.max(seen, missed.seq)
  save()
}

void start()
