// Type-checked by `npm run test:types` (tsc --noEmit), never run: every method of the
// public API called with correctly typed arguments, its result used at the type it
// promises, and `@ts-expect-error` lines proving that wrong usage does not compile.
import {
  Database,
  type Agent,
  type AppendedLogText,
  type Change,
  type ChangeEvent,
  type ChangesSince,
  type WatchedTable,
  type AgentDbError,
  type AgentInput,
  type AgentPatch,
  type BatchOperation,
  type BatchResult,
  type CompactResult,
  type DatabaseStats,
  type PurgeResult,
  type SessionSize,
  type Durability,
  type CloseReason,
  type CloseResult,
  type EffectiveConfig,
  type ErrorCode,
  type ListedSession,
  type SessionFork,
  type SessionCheckpoint,
  type LogStatus,
  type ExecuteResult,
  type ExportedSession,
  type ImportedSession,
  type GetLatestLogsOptions,
  type JsonObject,
  type JsonValue,
  type LogInput,
  type LogNode,
  type LogPage,
  type LogPatch,
  type LogSearchHit,
  type Migration,
  type MigrationResult,
  type MigrationStatus,
  type MigrationSummary,
  type NamespaceSummary,
  type RecordedUsage,
  type RepairResult,
  type Page,
  type PermissionMode,
  type SearchHighlight,
  type Session,
  type SessionInput,
  type SessionSearchHit,
  type SessionLog,
  type SessionPatch,
  type SessionStatus,
  type SessionWithAgent,
  type SqlValue,
  type UsageTotals,
  type ValidationIssue,
  type ValidationResult,
} from '../../index.js'

/** An SDK's message type: an interface (no index signature), optional properties. */
interface AssistantMessage {
  role: 'assistant'
  content: Array<{ type: 'text'; text: string }>
  stop_sequence?: string | null | undefined
  usage?: { input_tokens: number; output_tokens: number } | undefined
}

/** An app's own metadata and configuration types. */
interface Usage {
  tokens: number
}
interface ReviewerConfig {
  temperature?: number | undefined
  tools: string[]
}

/** Compiles only when `T` and `U` are the same type. */
type Equal<T, U> = (<V>() => V extends T ? 1 : 2) extends <V>() => V extends U ? 1 : 2 ? true : false
function assertType<_T extends true>(): void {}

export async function useTheWholeApi(): Promise<void> {
  const durability: Durability = 'full'
  const db: Database = await Database.open(':memory:', { busyTimeoutMs: 5000, readers: 2, durability })
  await (await Database.open(':memory:', { durability: 'normal' })).close()
  const path: string = db.path
  const closed: boolean = db.closed
  const applied: MigrationResult[] = await db.migrate({ dryRun: false, onProgress: (event) => void event.phase })
  void [path, closed, applied]

  // Migrations in namespaces
  const own: Migration = { id: '20240101120000', namespace: '@acme/notes', requires: '002', description: 'Notes', up: ['CREATE TABLE acme_notes (x)'], down: ['DROP TABLE acme_notes'] }
  await db.addMigrations([own, { id: '001', description: 'App table', up: ['CREATE TABLE app_t (x)'] }])
  const bounded: MigrationResult[] = await db.migrate({ to: '001', namespace: 'app', backup: true })
  const where: string = bounded[0].migration.namespace
  const summary: MigrationSummary = await db.getMigrationSummary()
  const perNamespace: NamespaceSummary[] = summary.namespaces
  const schemaVersion: string | null = summary.currentVersion
  const listed: MigrationStatus[] = await db.listMigrations()
  const recordedDescription: string | null = listed[0].recordedDescription
  const undoable: boolean = listed[0].reversible && listed[0].recordedDown
  const report: ValidationResult = await db.validateMigrations()
  const issueNamespace: string = report.warnings[0].namespace
  const repaired: RepairResult = await db.repairMigrations({ ids: ['001'], namespace: 'app', dryRun: true })
  const oldDown: string[] | null = repaired.repaired[0].oldDown
  const undone: MigrationResult[] = await db.rollbackTo('000', { namespace: 'app', allowRecordedSql: false })
  const last: MigrationResult | null = await db.rollbackLast({ allowRecordedSql: true })
  void [where, perNamespace, schemaVersion, recordedDescription, undoable, issueNamespace, oldDown, undone, last, await db.rollbackLast()]

  // Agents
  const input: AgentInput = { name: 'Reviewer', model: 'claude-sonnet', builtInTools: ['file_search'], configuration: { depth: { n: 1 } } }
  const agent: Agent = await db.createAgent(input)
  const type: 'claudeCode' | 'codex' | 'custom' = agent.type
  const mode: PermissionMode = agent.permissionMode
  const tools: string[] = agent.builtInTools
  const maybe: Agent | null = await db.getAgent(agent.id)
  const patch: AgentPatch = { description: null, maxSteps: 20, permissionMode: 'acceptEdits' }
  const updated: Agent = await db.updateAgent(agent.id, patch)
  const agents: Page<Agent> = await db.listAgents({ type: 'codex', limit: 10, after: 'cursor' })
  const next: string | null = agents.nextCursor
  const count: number = await db.countAgents()
  const exists: boolean = await db.agentExists(agent.id)
  void [type, mode, tools, maybe, updated, next, count, exists, await db.listAgents(), await db.listAgents({ offset: 20 })]

  // Sessions
  const sessionInput: SessionInput = { mainAgentId: agent.id, userGoal: 'Review auth', status: 'running', model: null, maxSteps: 5 }
  const session: Session = await db.createSession(sessionInput)
  const status: SessionStatus = session.status
  const override: string[] | null = session.mcps
  const sessionPatch: SessionPatch = { name: 'Auth review', model: 'claude-opus', builtInTools: null }
  const changed: Session = await db.updateSession(session.id, sessionPatch)
  const done: Session = await db.updateSessionStatus(session.id, 'completed')
  const sessions: Page<Session> = await db.listSessions({ status: 'running', agentId: agent.id, limit: 5 })
  const byExternal: Session | null = await db.getSessionByExternalId('external-1')
  const view: SessionWithAgent | null = await db.getSessionWithAgent(session.id)
  if (view) {
    const effective: EffectiveConfig = view.effective
    const model: string = effective.model
    const steps: number = effective.maxSteps
    const plan: string | null = effective.planModel
    void [model, steps, plan, view.agent.name, view.session.mainAgentId]
  }
  const sessionCount: number = await db.countSessions(agent.id)
  void [status, override, changed, done, sessions, byExternal, sessionCount, await db.getSession(session.id)]

  // Logs
  const first: SessionLog = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: { text: 'hi' } })
  const inputs: LogInput[] = [
    { sessionId: session.id, parentId: first.id, role: 'agent', type: 'thought', content: ['any', 1, null, { json: true }] },
    { sessionId: session.id, role: 'tool', type: 'observation', content: null, metadata: { tokens: 3 } },
  ]
  const many: SessionLog[] = await db.addLogs(inputs)
  const newIds: number[] = await db.addLogs(inputs, { returning: 'ids' })
  const newRows: SessionLog[] = await db.addLogs(inputs, { returning: 'rows' })
  // @ts-expect-error ids are numbers, not entries
  const notRows: SessionLog[] = await db.addLogs(inputs, { returning: 'ids' })
  // @ts-expect-error returning takes 'rows' or 'ids'
  await db.addLogs(inputs, { returning: 'all' })
  void [newIds, newRows, notRows]
  const content: JsonValue = first.content
  const parentId: number | null = many[0].parentId
  const page: Page<SessionLog> = await db.getLogs(session.id, { limit: 100, order: 'desc', after: 'cursor' })
  const latest: Page<SessionLog> = await db.getLatestLogs(session.id, 20)
  const older: Page<SessionLog> = await db.getLatestLogs(session.id, { limit: 20, after: latest.nextCursor ?? undefined })
  const latestOptions: GetLatestLogsOptions = { after: 'cursor' }
  const logPatch: LogPatch = { content: 'edited', metadata: null }
  const edited: SessionLog = await db.updateLog(first.id, logPatch)
  const one: SessionLog | null = await db.getLog(first.id)
  const tree: LogNode[] = await db.getLogTree(session.id)
  const children: LogNode[] = tree[0].children
  const logCount: number = await db.countLogs(session.id)
  const sidebar: Page<ListedSession> = await db.listSessions({ orderBy: 'lastActivityAt', include: ['agent', 'latestLog', 'logCount'] })
  const lastActivity: string = sidebar.items[0].lastActivityAt
  const preview: SessionLog | null | undefined = sidebar.items[0].latestLog
  const agentName: string | undefined = sidebar.items[0].agent?.name
  void [lastActivity, preview, agentName, sidebar.items[0].logCount]
  const fork: SessionFork = await db.forkSession(session.id, { atLogId: first.id, name: 'retry' })
  const forks: SessionFork[] = await db.listForks(session.id)
  const source: string | null | undefined = (await db.getFork(fork.session.id))?.sourceSessionId
  void [forks, source, await db.forkSession(session.id)]
  const compacted: SessionCheckpoint<{ model: string }> = await db.setCheckpoint<{ model: string }>(session.id, {
    summary: 'They agreed on a plan.',
    throughLogId: first.id,
    coveredTokens: 1200,
    summaryTokens: 40,
    metadata: { model: 'm' },
  })
  const remaining: Page<SessionLog> = await db.getLogs(session.id, { after: compacted.logsAfter })
  const storedCheckpoint: SessionCheckpoint | null | undefined = (await db.getSessionWithAgent(session.id))?.checkpoint
  const [viaBatch, cleared] = await db.batch([
    { op: 'setCheckpoint', sessionId: session.id, checkpoint: { summary: 'S', throughLogId: first.id } },
    { op: 'clearCheckpoint', sessionId: session.id },
  ])
  const throughLogId: number = viaBatch.throughLogId
  const wasCleared: boolean = cleared && (await db.clearCheckpoint(session.id))
  void [remaining, storedCheckpoint, throughLogId, wasCleared, compacted.metadata?.model]
  const pending: SessionLog = await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: { text: '' }, status: 'pending' })
  const appended: AppendedLogText = await db.appendLogText(pending.id, { path: 'text', delta: 'Hel' })
  const logStatus: LogStatus = appended.status
  const finished: SessionLog = await db.finishLog(pending.id, { status: 'complete', content: { text: 'Hello' }, metadata: null })
  const interrupted: Page<SessionLog> = await db.listInterruptedLogs({ sessionId: session.id, limit: 10 })
  void [logStatus, finished, interrupted]
  const deletedOne: number = await db.deleteLog(first.id, { children: 'reparent' })
  const deletedTree: number = (await db.batch([{ op: 'deleteLog', id: first.id, options: { children: 'delete' } }]))[0] as number
  const deletedLogs: number = await db.deleteLogs(session.id)
  const recorded: RecordedUsage = await db.recordUsage({ requestId: 'r1', sessionId: session.id, model: 'm', inputTokens: 1, outputTokens: 2, cost: 0.5, currency: 'USD' })
  const [, usageInBatch] = await db.batch([
    { op: 'addLog', input: { sessionId: session.id, role: 'agent', type: 'message', content: 'reply' } },
    { op: 'recordUsage', input: { requestId: 'r2', logId: { ref: 0 }, model: 'm', inputTokens: 1, outputTokens: 2 } },
  ])
  const totals: UsageTotals[] = await db.usageSummary({ groupBy: 'day', since: '2026-01-01T00:00:00.000Z' })
  const usd: number | undefined = totals[0]?.costs.USD
  void [recorded.duplicate, usageInBatch.logId, usd]
  const exported: ExportedSession = await db.exportSession(session.id, '/tmp/session.jsonl', { format: 'jsonl' })
  const transcript: string | null = (await db.exportSession(session.id, '/tmp/session.md', { format: 'markdown' })).sha256
  const imported: ImportedSession = await db.importSession(exported.path, { agentId: agent.id })
  void [transcript, imported.session.id, imported.logs]
  void [content, parentId, page, latest, older, latestOptions, edited, one, children, logCount, deletedOne, deletedTree, deletedLogs, await db.getLatestLogs(session.id)]
  const found: Page<LogSearchHit> = await db.searchLogs('搜索 "exact phrase"', {
    sessionId: session.id,
    agentId: agent.id,
    role: 'agent',
    type: 'message',
    since: '2026-01-01T00:00:00.000Z',
    until: '2027-01-01T00:00:00.000Z',
    order: 'newest',
    limit: 20,
    after: page.nextCursor ?? undefined,
    syntax: 'plain',
  })
  const highlight: SearchHighlight = found.items[0].highlights[0]
  const marked: string = found.items[0].snippet.slice(highlight.start, highlight.end)
  const hitLog: SessionLog<AssistantMessage> = (await db.searchLogs<AssistantMessage>('x')).items[0].log
  const sessionHits: SessionSearchHit[] = await db.searchSessions('report', { agentId: agent.id, limit: 10, syntax: 'fts5' })
  const sidebarLog: SessionLog | null = sessionHits[0].log
  const around: LogPage<SessionLog> = await db.getLogs(session.id, { around: first.id, limit: 50 })
  const previous: string | null | undefined = around.previousCursor
  const reindexed: number = await db.rebuildSearchIndex()
  const indexErrors: string[] = (await db.integrityCheck()).searchIndexErrors
  await db.addLog({ sessionId: session.id, role: 'tool', type: 'observation', content: { png: '…' }, searchText: 'a caption' })
  await db.updateLog(first.id, { searchText: null })
  void [marked, hitLog, sidebarLog, previous, reindexed, indexErrors]
  // @ts-expect-error not a search order
  await db.searchLogs('x', { order: 'oldest' })
  // @ts-expect-error not a query syntax
  await db.searchLogs('x', { syntax: 'regex' })

  // The trash, purge, space
  const trashed: boolean = await db.deleteSession(session.id, { soft: true })
  const back: boolean = await db.restoreSession(session.id)
  await db.deleteAgent(agent.id, { soft: true })
  await db.restoreAgent(agent.id)
  const inTrash: string | undefined = (await db.listSessions({ trashed: true })).items[0]?.deletedAt
  const peek: Session | null = await db.getSession(session.id, { includeTrashed: true })
  const trashedAgents: Agent[] = (await db.listAgents({ trashed: true })).items
  const purged: PurgeResult = await db.purge({ trashedBefore: '2026-01-01T00:00:00.000Z', keepLatestPerAgent: 5, dryRun: true })
  const compaction: CompactResult = await db.compact({ full: false })
  const compactMode: 'incremental' | 'full' = compaction.mode
  const stats: DatabaseStats = await db.stats({ largest: 3 })
  const biggest: SessionSize | undefined = stats.largestSessions[0]
  const sized = await Database.open(':memory:', { maxLogBytes: 1_000_000 })
  await sized.close()
  void [trashed, back, inTrash, peek, trashedAgents, purged.bytes, compactMode, biggest]
  await db.batch([
    { op: 'deleteSession', id: session.id, options: { soft: true } },
    { op: 'restoreSession', id: session.id },
  ])
  // @ts-expect-error purge takes its criteria as options
  await db.purge()

  // Escape hatch
  const rows: Record<string, SqlValue>[] = await db.query('SELECT * FROM agents WHERE id = ? AND max_steps > ?', [agent.id, 1n])
  const named = await db.query('SELECT :id AS id, @blob AS b', { id: agent.id, blob: new Uint8Array([1, 2]) })
  const result: ExecuteResult = await db.execute('UPDATE agents SET avatar = :avatar', { avatar: null })
  const changes: number = result.changes
  const rowid: number = result.lastInsertRowid
  void [rows, named, changes, rowid, await db.execute('DELETE FROM session_logs')]

  // Atomic batches
  const operations: BatchOperation[] = [
    { op: 'createSession', input: { id: 'batch-session', mainAgentId: agent.id } },
    { op: 'addLog', input: { sessionId: 'batch-session', role: 'user', type: 'message', content: 'first' } },
    { op: 'updateSessionStatus', id: 'batch-session', status: 'completed' },
    { op: 'execute', sql: 'UPDATE agents SET name = ?', params: ['x'] },
  ]
  const results: BatchResult[] = await db.batch(operations)
  void results

  // Errors
  try {
    await db.deleteSession(session.id)
    await db.deleteAgent(agent.id)
  } catch (err) {
    const code: ErrorCode = (err as AgentDbError).code
    if (code === 'NOT_FOUND' || code === 'INVALID_ARGUMENT') void code
  }

  // Values as an app holds them: interface types, Dates, Errors, undefined (with
  // exactOptionalPropertyTypes), and rows read back spread into the next write.
  const reply: AssistantMessage = { role: 'assistant', content: [{ type: 'text', text: 'hi' }], stop_sequence: undefined }
  const stored: SessionLog = await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: reply, metadata: undefined, parentId: undefined })
  await db.addLogs([{ sessionId: session.id, role: 'tool', type: 'observation', content: [1, undefined, 3], metadata: { at: new Date(), error: new Error('x') } }])
  await db.updateLog(stored.id, { content: reply, metadata: undefined, role: undefined })
  await db.updateLog(stored.id, { ...stored, content: { ...reply, stop_sequence: 'end' } })
  const typed: SessionLog<AssistantMessage, Usage> | null = await db.getLog<AssistantMessage, Usage>(stored.id)
  const text: string | undefined = typed?.content.content[0]?.text
  const tokens: number | undefined = typed?.metadata?.tokens
  const typedPage: Page<SessionLog<AssistantMessage>> = await db.getLogs<AssistantMessage>(session.id, { limit: 10 })
  const typedLatest: Page<SessionLog<AssistantMessage, Usage>> = await db.getLatestLogs<AssistantMessage, Usage>(session.id)
  const typedTree: LogNode<AssistantMessage>[] = await db.getLogTree<AssistantMessage>(session.id)
  const grandchild: AssistantMessage | undefined = typedTree[0]?.children[0]?.children[0]?.content
  const added: SessionLog<AssistantMessage, Usage> = await db.addLog<AssistantMessage, Usage>({ sessionId: session.id, role: 'agent', type: 'message', content: reply, metadata: { tokens: 1 } })
  const addedMany: SessionLog<AssistantMessage>[] = await db.addLogs<AssistantMessage>([{ sessionId: session.id, role: 'agent', type: 'message', content: reply }])
  const editedTyped: SessionLog<AssistantMessage> = await db.updateLog<AssistantMessage>(stored.id, { content: reply })
  void [text, tokens, typedPage, typedLatest, grandchild, added, addedMany, editedTyped]

  const config: ReviewerConfig = { tools: ['grep'], temperature: undefined }
  const configured: Agent<ReviewerConfig> = await db.createAgent<ReviewerConfig>({ name: 'R', model: 'm', configuration: config, description: undefined })
  const temperature: number | undefined = configured.configuration.temperature
  const typedAgent: Agent<ReviewerConfig> | null = await db.getAgent<ReviewerConfig>(configured.id)
  const typedAgents: Page<Agent<ReviewerConfig>> = await db.listAgents<ReviewerConfig>()
  const reconfigured: Agent<ReviewerConfig> = await db.updateAgent<ReviewerConfig>(configured.id, { ...configured, configuration: { ...config, tools: [] } })
  const copied: Agent = await db.createAgent({ ...agent, id: 'copy' })
  const typedSession: Session<ReviewerConfig> = await db.createSession<ReviewerConfig>({ mainAgentId: configured.id, configuration: config, model: undefined })
  const sessionTools: string[] | undefined = typedSession.configuration?.tools
  const respread: Session<ReviewerConfig> = await db.updateSession<ReviewerConfig>(typedSession.id, { ...typedSession, name: 'renamed' })
  const typedView: SessionWithAgent<ReviewerConfig> | null = await db.getSessionWithAgent<ReviewerConfig>(typedSession.id)
  const effectiveTools: string[] | undefined = typedView?.effective.configuration.tools
  const typedSessions: Page<Session<ReviewerConfig>> = await db.listSessions<ReviewerConfig>({ agentId: configured.id })
  const typedStatus: Session<ReviewerConfig> = await db.updateSessionStatus<ReviewerConfig>(typedSession.id, 'running')
  const typedById: Session<ReviewerConfig> | null = await db.getSession<ReviewerConfig>(typedSession.id)
  const typedByExternal: Session<ReviewerConfig> | null = await db.getSessionByExternalId<ReviewerConfig>('external-1')
  void [temperature, typedAgent, typedAgents, reconfigured, copied, sessionTools, respread, effectiveTools, typedSessions, typedStatus, typedById, typedByExternal]
  await db.batch([
    { op: 'addLog', input: { sessionId: session.id, role: 'agent', type: 'message', content: reply, metadata: undefined } },
    { op: 'updateSession', id: typedSession.id, patch: { ...typedSession, status: 'completed' } },
    { op: 'execute', sql: 'UPDATE agents SET avatar = ?', params: [null] },
  ])
  db.addMigration({ id: '004', description: 'extra', up: ['CREATE TABLE extra (x)'] })
  db.addMigrations([{ id: '005', description: 'more', up: ['CREATE TABLE more (x)'], down: undefined }])
  assertType<Equal<ReturnType<Database['addMigrations']>, void>>()
  // Without type arguments, a read is typed with the defaults.
  const untypedPage = await db.getLogs(session.id)
  assertType<Equal<typeof untypedPage, LogPage<SessionLog<JsonValue, JsonValue>>>>()
  const untypedAgent = await db.getAgent(agent.id)
  assertType<Equal<typeof untypedAgent, Agent<JsonObject> | null>>()

  // Exact result types.
  const untypedTree = await db.getLogTree(session.id)
  assertType<Equal<typeof untypedTree, LogNode[]>>()
  assertType<Equal<Awaited<ReturnType<Database['deleteAgent']>>, boolean>>()
  const untypedView = await db.getSessionWithAgent(session.id)
  assertType<Equal<typeof untypedView, SessionWithAgent | null>>()
  assertType<Equal<Agent['configuration'], { [key: string]: JsonValue }>>()
  assertType<Equal<Session['permissionMode'], PermissionMode | null>>()
  assertType<Equal<SessionStatus, 'idle' | 'running' | 'completed' | 'failed' | 'stopped'>>()
  assertType<Equal<SessionLog['role'], 'user' | 'agent' | 'system' | 'tool'>>()
  assertType<Equal<SessionLog['type'], 'message' | 'thought' | 'action' | 'observation'>>()
  assertType<Equal<MigrationSummary['namespaces'], NamespaceSummary[]>>()
  assertType<Equal<MigrationStatus['state'], 'applied' | 'pending' | 'modified' | 'unknown'>>()
  assertType<
    Equal<ValidationIssue['code'], 'CHECKSUM_MISMATCH' | 'UNKNOWN_MIGRATION' | 'OUT_OF_ORDER' | 'GAP' | 'NO_DOWN' | 'REQUIREMENT_UNMET' | 'SCHEMA_DRIFT'>
  >()

  // Wrong usage does not compile.
  // @ts-expect-error name and model are required
  await db.createAgent({ name: 'no model' })
  // @ts-expect-error not a durability
  await Database.open(':memory:', { durability: 'fsync' })
  // @ts-expect-error not an agent type
  await db.createAgent({ name: 'n', model: 'm', type: 'robot' })
  // @ts-expect-error a required field cannot be cleared
  await db.updateAgent(agent.id, { name: null })
  // @ts-expect-error unknown field
  await db.updateAgent(agent.id, { colour: 'red' })
  // @ts-expect-error createdAt is set by the database: a row spread into a patch may carry it, a literal one is a mistake
  await db.updateAgent(agent.id, { createdAt: '2020-01-01T00:00:00.000Z' })
  // @ts-expect-error builtInTools is a list of strings
  await db.createAgent({ name: 'n', model: 'm', builtInTools: 'file_search' })
  // @ts-expect-error mainAgentId is required
  await db.createSession({ userGoal: 'x' })
  // @ts-expect-error not a session status
  await db.updateSessionStatus(session.id, 'done')
  // @ts-expect-error status cannot be cleared
  await db.updateSession(session.id, { status: null })
  // @ts-expect-error not a log role
  await db.addLog({ sessionId: session.id, role: 'bot', type: 'message', content: 1 })
  // @ts-expect-error content is required
  await db.addLog({ sessionId: session.id, role: 'user', type: 'message' })
  // @ts-expect-error content must be JSON: no functions
  await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: () => 1 })
  // @ts-expect-error content is required, and undefined is absent
  await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: undefined })
  // @ts-expect-error metadata must be JSON: no symbols
  await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: 1, metadata: Symbol('s') })
  // @ts-expect-error configuration is an object
  await db.createAgent({ name: 'n', model: 'm', configuration: 'fast' })
  // @ts-expect-error log ids are numbers
  await db.getLog('1')
  // @ts-expect-error not an order
  await db.getLogs(session.id, { order: 'newest' })
  // @ts-expect-error repairMigrations takes the ids to accept
  await db.repairMigrations()
  // @ts-expect-error ids are strings
  await db.repairMigrations({ ids: [3] })
  // @ts-expect-error allowRecordedSql is a boolean
  await db.rollbackLast({ allowRecordedSql: 'yes' })
  // @ts-expect-error a namespace is a string
  await db.addMigration({ id: '001', namespace: 1, description: 'd', up: ['SELECT 1'] })
  // @ts-expect-error limit is a number
  await db.listAgents({ limit: '10' })
  // @ts-expect-error agents are listed by type, not status
  await db.listAgents({ status: 'running' })
  // @ts-expect-error not an operation
  await db.batch([{ op: 'dropEverything' }])
  // @ts-expect-error updateSessionStatus takes a status
  await db.batch([{ op: 'updateSessionStatus', id: session.id }])
  // @ts-expect-error parameters are SQL values, not objects
  await db.query('SELECT ?', [{ nested: true }])
  // @ts-expect-error nullable fields are typed as such
  const name: string = session.name
  // @ts-expect-error query resolves with rows, not a page
  const notAPage: Page<Agent> = await db.query('SELECT * FROM agents')
  void [name, notAPage]

  // Bounded reads, stoppable statements, and what close found.
  const small: Page<SessionLog> = await db.getLogs(session.id, { limit: 1000, maxBytes: 8 << 20 })
  const recent: Page<SessionLog> = await db.getLatestLogs(session.id, { limit: 100, maxBytes: 1 << 20 })
  const controller = new AbortController()
  const stopped: Record<string, SqlValue>[] = await db.query('SELECT 1', [], { timeoutMs: 1000, signal: controller.signal })
  const limited: ExecuteResult = await db.execute('DELETE FROM agents WHERE 0', [], { timeoutMs: 1000 })
  void [small, recent, stopped, limited, await Database.open(':memory:', { statementTimeoutMs: 5000 })]
  // @ts-expect-error signal is an AbortSignal, not its controller
  await db.query('SELECT 1', [], { signal: controller })
  // Change events and catch-up.
  const stopWatching: () => void = db.watch(
    (event: ChangeEvent) => {
      const first: Change | undefined = event.changes[0]
      const table: WatchedTable | undefined = first?.table
      void [event.seq, event.external, table, first?.op, first?.id, first?.sessionId]
    },
    { tables: ['sessions', 'session_logs'], sessionId: session.id },
  )
  stopWatching()
  const caught: ChangesSince = await db.changesSince(0, { tables: ['agents'] })
  void [caught.reset, caught.seq, caught.changes, await Database.open(':memory:', { keepChanges: 1000 })]
  // @ts-expect-error only watched tables
  db.watch(() => {}, { tables: ['migrations'] })
  const closedWith: CloseResult = await db.close({ interruptAfterMs: 2000 })
  const reason: CloseReason | null = closedWith.reason
  const whole: boolean = closedWith.checkpointed && !closedWith.interrupted
  assertType<Equal<CloseReason, 'busy' | 'full' | 'io' | 'memory' | 'error'>>()
  assertType<Equal<AgentDbError['code'] & 'TIMEOUT', 'TIMEOUT'>>()
  void [reason, whole]
}
