// Every call refuses bad input with a stable code naming the field, as a rejected Promise
// (never a synchronous throw), and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Database } from '../../index.js'
import { memoryDb, rejection, snapshot } from './helpers'

let db: Database
let logId: number
let agentsCursor: string
let logsCursor: string
let before: string

const cyclic: Record<string, unknown> = { a: 1 }
cyclic.self = cyclic
const cyclicArray: unknown[] = [1]
cyclicArray.push(cyclicArray)

beforeAll(async () => {
  db = await memoryDb()
  await db.createAgent({ id: 'agent', name: 'A', model: 'm' })
  await db.createAgent({ id: 'agent-2', name: 'B', model: 'm' })
  await db.createSession({ id: 'session', mainAgentId: 'agent' })
  const logs = await db.addLogs([0, 1].map((content) => ({ sessionId: 'session', role: 'user' as const, type: 'message' as const, content })))
  logId = logs[0].id
  agentsCursor = (await db.listAgents({ limit: 1 })).nextCursor!
  logsCursor = (await db.getLogs('session', { limit: 1 })).nextCursor!
  before = await snapshot(db)
})
afterAll(async () => {
  await db.close()
})

// The database handle is loosely typed here on purpose: these calls break the typings.
const any = () => db as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
const log = (fields: Record<string, unknown>) => ({ sessionId: 'session', role: 'user', type: 'message', content: 'x', ...fields })
const agent = (fields: Record<string, unknown>) => ({ name: 'n', model: 'm', ...fields })

/** [call, arguments, the field the message must name]; every case expects INVALID_ARGUMENT. */
type Case = [string, () => unknown[], string]

const numbers = (field: string, values: unknown[], build: (v: unknown) => unknown[], call: string): Case[] =>
  values.map((v) => [call, () => build(v), field])

const cases: Case[] = [
  // createAgent
  ['createAgent', () => [], 'input'],
  ['createAgent', () => [null], 'input'],
  ['createAgent', () => ['Reviewer'], 'input'],
  ['createAgent', () => [[agent({})]], 'input'],
  ['createAgent', () => [{}], 'input.name'],
  ['createAgent', () => [{ name: 'n' }], 'input.model'],
  ['createAgent', () => [agent({ name: 7 })], 'input.name'],
  ['createAgent', () => [agent({ name: '' })], 'input.name'],
  ['createAgent', () => [agent({ name: ' \t' })], 'input.name'],
  ['createAgent', () => [agent({ model: '' })], 'input.model'],
  ['createAgent', () => [agent({ model: null })], 'input.model'],
  ['createAgent', () => [agent({ id: '' })], 'input.id'],
  ['createAgent', () => [agent({ id: 42 })], 'input.id'],
  ['createAgent', () => [agent({ type: 'robot' })], 'input.type'],
  ['createAgent', () => [agent({ type: 'ClaudeCode' })], 'input.type'],
  ['createAgent', () => [agent({ permissionMode: 'admin' })], 'input.permissionMode'],
  ['createAgent', () => [agent({ description: 5 })], 'input.description'],
  ['createAgent', () => [agent({ builtInTools: 'file_search' })], 'input.builtInTools'],
  ['createAgent', () => [agent({ builtInTools: ['ok', 1] })], 'input.builtInTools[1]'],
  ['createAgent', () => [agent({ mcps: [null] })], 'input.mcps[0]'],
  ['createAgent', () => [agent({ accessiblePaths: {} })], 'input.accessiblePaths'],
  ['createAgent', () => [agent({ configuration: [] })], 'input.configuration'],
  ['createAgent', () => [agent({ configuration: 'x' })], 'input.configuration'],
  ['createAgent', () => [agent({ configuration: { f: () => 1 } })], 'input.configuration.f'],
  ['createAgent', () => [agent({ configuration: { deep: { n: NaN } } })], 'input.configuration.deep.n'],
  ['createAgent', () => [agent({ configuration: { i: -Infinity } })], 'input.configuration.i'],
  ['createAgent', () => [agent({ configuration: { b: 1n } })], 'input.configuration.b'],
  ['createAgent', () => [agent({ configuration: { s: Symbol('s') } })], 'input.configuration.s'],
  ['createAgent', () => [agent({ configuration: { bytes: Buffer.from('x') } })], 'input.configuration.bytes'],
  ['createAgent', () => [agent({ configuration: cyclic })], 'cycle'],
  ['createAgent', () => [agent({ colour: 'red' })], 'colour'],
  ['createAgent', () => [agent({ Name: 'typo' })], 'Name'],
  ['createAgent', () => [agent({ createdAt: 1_577_836_800_000 })], 'input.createdAt'],
  ['createAgent', () => [agent({ updatedAt: {} })], 'input.updatedAt'],
  ...numbers('input.maxSteps', [0, -1, 1.5, NaN, Infinity, 1_000_001, '10', true], (v) => [agent({ maxSteps: v })], 'createAgent'),
  // getAgent, agentExists, deleteAgent
  ['getAgent', () => [], 'id'],
  ['getAgent', () => [''], 'id'],
  ['getAgent', () => [42], 'id'],
  ['agentExists', () => [null], 'id'],
  ['deleteAgent', () => [''], 'id'],
  ['deleteAgent', () => [{ id: 'agent' }], 'id'],
  ['deleteAgent', () => ['agent', { soft: 'yes' }], 'options.soft'],
  ['deleteAgent', () => ['agent', { hard: true }], 'unknown field `hard`'],
  ['restoreAgent', () => [''], 'id'],
  ['getAgent', () => ['agent', { includeTrashed: 1 }], 'options.includeTrashed'],
  ['listAgents', () => [{ trashed: 'yes' }], 'options.trashed'],
  // updateAgent
  ['updateAgent', () => ['', { name: 'x' }], 'id'],
  ['updateAgent', () => ['agent'], 'patch'],
  ['updateAgent', () => ['agent', 'x'], 'patch'],
  ['updateAgent', () => ['agent', { id: 'other' }], 'id'],
  ['updateAgent', () => ['agent', { createdAt: 7 }], 'patch.createdAt'],
  ['updateAgent', () => ['agent', { name: '' }], 'patch.name'],
  ['updateAgent', () => ['agent', { type: 'x' }], 'patch.type'],
  ['updateAgent', () => ['agent', { permissionMode: 'all' }], 'patch.permissionMode'],
  ['updateAgent', () => ['agent', { configuration: { fn() {} } }], 'patch.configuration.fn'],
  ['updateAgent', () => ['agent', { mcps: [1] }], 'patch.mcps[0]'],
  ...['type', 'name', 'model', 'builtInTools', 'mcps', 'knowledges', 'configuration', 'accessiblePaths', 'permissionMode', 'maxSteps'].map(
    (field): Case => ['updateAgent', () => ['agent', { [field]: null }], `patch.${field}`],
  ),
  ...numbers('patch.maxSteps', [0, -5, 2.5, NaN], (v) => ['agent', { maxSteps: v }], 'updateAgent'),
  // listAgents
  ['listAgents', () => ['x'], 'options'],
  ['listAgents', () => [{ type: 'robot' }], 'options.type'],
  ['listAgents', () => [{ order: 'asc' }], 'order'],
  ...numbers('limit', [0, -1, 1.5, 1001, NaN, Infinity, '10'], (v) => [{ limit: v }], 'listAgents'),
  ...numbers('options.offset', [-1, 0.5, NaN, 2 ** 40], (v) => [{ offset: v }], 'listAgents'),
  ['listAgents', () => [{ after: 5 }], 'options.after'],
  ['listAgents', () => [{ after: '' }], 'after'],
  ['listAgents', () => [{ after: 'garbage' }], 'after'],
  ['listAgents', () => [{ after: logsCursor }], 'after'],
  ['listAgents', () => [{ after: agentsCursor, offset: 1 }], 'offset or after'],
  // createSession
  ['createSession', () => [{}], 'input.mainAgentId'],
  ['createSession', () => [{ mainAgentId: '' }], 'input.mainAgentId'],
  ['createSession', () => [{ mainAgentId: 7 }], 'input.mainAgentId'],
  ['createSession', () => [{ mainAgentId: 'agent', id: '' }], 'input.id'],
  ['createSession', () => [{ mainAgentId: 'agent', status: 'done' }], 'input.status'],
  ['createSession', () => [{ mainAgentId: 'agent', subAgentIds: 'agent-2' }], 'input.subAgentIds'],
  ['createSession', () => [{ mainAgentId: 'agent', model: '' }], 'input.model'],
  ['createSession', () => [{ mainAgentId: 'agent', planModel: 5 }], 'input.planModel'],
  ['createSession', () => [{ mainAgentId: 'agent', maxSteps: 0 }], 'input.maxSteps'],
  ['createSession', () => [{ mainAgentId: 'agent', permissionMode: 'root' }], 'input.permissionMode'],
  ['createSession', () => [{ mainAgentId: 'agent', configuration: [1] }], 'input.configuration'],
  ['createSession', () => [{ mainAgentId: 'agent', builtInTools: [true] }], 'input.builtInTools[0]'],
  ['createSession', () => [{ mainAgentId: 'agent', agentId: 'agent' }], 'agentId'],
  // getSession, getSessionByExternalId, getSessionWithAgent, deleteSession
  ['getSession', () => [''], 'id'],
  ['getSessionByExternalId', () => [''], 'externalSessionId'],
  ['getSessionByExternalId', () => [7], 'externalSessionId'],
  ['getSessionWithAgent', () => [undefined], 'id'],
  ['deleteSession', () => [''], 'id'],
  ['deleteSession', () => ['session', 'soft'], 'options'],
  ['restoreSession', () => [7], 'id'],
  ['getSession', () => ['session', { trashed: true }], 'unknown field `trashed`'],
  ['listSessions', () => [{ trashed: 1 }], 'options.trashed'],
  ['compact', () => [{ full: 'yes' }], 'options.full'],
  ['stats', () => [{ largest: 0 }], 'options.largest'],
  ['stats', () => [{ largest: 1001 }], 'options.largest'],
  // purge: never without a criterion
  ['purge', () => [], 'trashedBefore'],
  ['purge', () => [{ dryRun: true }], 'nothing is purged by default'],
  ['purge', () => [{ olderThan: 'last week' }], 'options.olderThan'],
  ['purge', () => [{ keepLatestPerAgent: 0 }], 'options.keepLatestPerAgent'],
  ['purge', () => [{ sessionIds: 's1' }], 'options.sessionIds'],
  ['countSessions', () => [''], 'agentId'],
  // updateSession, updateSessionStatus
  ['updateSession', () => ['', {}], 'id'],
  ['updateSession', () => ['session', null], 'patch'],
  ['updateSession', () => ['session', { id: 'x' }], 'id'],
  ['updateSession', () => ['session', { status: 'paused' }], 'patch.status'],
  ['updateSession', () => ['session', { mainAgentId: '' }], 'patch.mainAgentId'],
  ['updateSession', () => ['session', { model: ' ' }], 'patch.model'],
  ['updateSession', () => ['session', { maxSteps: -1 }], 'patch.maxSteps'],
  ['updateSession', () => ['session', { createdAt: true }], 'patch.createdAt'],
  ...['mainAgentId', 'subAgentIds', 'status'].map((field): Case => ['updateSession', () => ['session', { [field]: null }], `patch.${field}`]),
  ['updateSessionStatus', () => ['session', 'done'], 'status'],
  ['updateSessionStatus', () => ['session'], 'status'],
  ['updateSessionStatus', () => ['session', null], 'status'],
  ['updateSessionStatus', () => ['', 'running'], 'id'],
  // listSessions
  ['listSessions', () => [{ status: 'x' }], 'options.status'],
  ['listSessions', () => [{ agentId: '' }], 'options.agentId'],
  ['listSessions', () => [{ limit: 1001 }], 'options.limit'],
  ['listSessions', () => [{ after: agentsCursor }], 'after'],
  ['listSessions', () => [{ sort: 'asc' }], 'sort'],
  ['listSessions', () => [{ orderBy: 'updatedAt' }], 'options.orderBy'],
  ['listSessions', () => [{ include: 'agent' }], 'options.include'],
  ['listSessions', () => [{ include: ['preview'] }], 'options.include[0]'],
  ['forkSession', () => [''], 'sessionId'],
  ['forkSession', () => ['s', { atLogId: 1.5 }], 'options.atLogId'],
  ['forkSession', () => ['s', { name: 3 }], 'options.name'],
  ['forkSession', () => ['s', { at: 1 }], 'at'],
  ['setCheckpoint', () => ['session'], 'checkpoint'],
  ['setCheckpoint', () => ['session', { summary: 'S' }], 'checkpoint.throughLogId'],
  ['setCheckpoint', () => ['session', { summary: '', throughLogId: logId }], 'checkpoint.summary'],
  ['setCheckpoint', () => ['session', { summary: 'S', throughLogId: logId, coveredTokens: -1 }], 'checkpoint.coveredTokens'],
  ['setCheckpoint', () => ['session', { summary: 'S', throughLogId: logId, summaryTokens: Number.NaN }], 'checkpoint.summaryTokens'],
  ['setCheckpoint', () => ['session', { summary: 'S', throughLogId: logId, metadata: () => 1 }], 'checkpoint.metadata'],
  ['setCheckpoint', () => ['', { summary: 'S', throughLogId: logId }], 'sessionId'],
  ['clearCheckpoint', () => [''], 'sessionId'],
  ['clearCheckpoint', () => [7], 'sessionId'],
  ['listForks', () => [''], 'sessionId'],
  ['getFork', () => [5], 'sessionId'],
  ['changesSince', () => [-1], 'seq'],
  ['changesSince', () => [0, { tables: ['nope'] }], 'options.tables'],
  // addLog
  ['addLog', () => [], 'input'],
  ['addLog', () => [{}], 'input'],
  ['addLog', () => [log({ status: 'done' })], 'input.status'],
  ['addLog', () => [log({ sessionId: undefined })], 'input.sessionId'],
  ['addLog', () => [log({ sessionId: '' })], 'input.sessionId'],
  ['addLog', () => [log({ role: undefined })], 'input.role'],
  ['addLog', () => [log({ role: 'bot' })], 'input.role'],
  ['addLog', () => [log({ type: 'note' })], 'input.type'],
  ['addLog', () => [log({ type: 'Message' })], 'input.type'],
  ['addLog', () => [log({ content: undefined })], 'input.content'],
  ['addLog', () => [log({ content: () => 'x' })], 'input.content'],
  ['addLog', () => [log({ content: NaN })], 'input.content'],
  ['addLog', () => [log({ content: { list: [1, Infinity] } })], 'input.content.list[1]'],
  ['addLog', () => [log({ content: 10n })], 'input.content'],
  ['addLog', () => [log({ content: Symbol('x') })], 'input.content'],
  ['addLog', () => [log({ content: cyclic })], 'cycle'],
  ['addLog', () => [log({ content: cyclicArray })], 'cycle'],
  ['addLog', () => [log({ content: new Uint8Array(2) })], 'binary'],
  ['addLog', () => [log({ metadata: { f: Math.max } })], 'input.metadata.f'],
  ['addLog', () => [log({ parent: 1 })], 'parent'],
  ...numbers('input.parentId', [0, -1, 1.5, NaN, '1', 2 ** 53], (v) => [log({ parentId: v })], 'addLog'),
  // addLogs
  ['addLogs', () => ['x'], 'inputs'],
  ['addLogs', () => [log({})], 'inputs'],
  ['addLogs', () => [[]], 'inputs'],
  ['addLogs', () => [[null]], 'inputs[0]'],
  ['addLogs', () => [[log({}), log({ role: 'bot' })]], 'inputs[1].role'],
  ['addLogs', () => [[log({}), log({ content: { x: () => 1 } })]], 'inputs[1].content.x'],
  // getLog, updateLog
  ...numbers('id', [0, -1, 1.5, NaN, '1', undefined], (v) => [v], 'getLog'),
  ['updateLog', () => [0, { content: 1 }], 'id'],
  ['updateLog', () => [logId], 'patch'],
  ['updateLog', () => [logId, { role: null }], 'patch.role'],
  ['updateLog', () => [logId, { type: null }], 'patch.type'],
  ['updateLog', () => [logId, { type: 'x' }], 'patch.type'],
  ['updateLog', () => [logId, { content: () => 1 }], 'patch.content'],
  ['updateLog', () => [logId, { metadata: NaN }], 'patch.metadata'],
  ['updateLog', () => [logId, { sessionId: 'elsewhere' }], 'patch.sessionId'],
  ['updateLog', () => [logId, { parentId: logId }], 'patch.parentId'],
  ['updateLog', () => [logId, { id: logId + 1 }], 'patch.id'],
  // getLogs, getLatestLogs, deleteLogs, countLogs, getLogTree
  ['getLogs', () => [''], 'sessionId'],
  ['getLogs', () => ['session', 'desc'], 'options'],
  ['getLogs', () => ['session', { order: 'up' }], 'options.order'],
  ['getLogs', () => ['session', { order: 'DESC' }], 'options.order'],
  ['getLogs', () => ['session', { limit: 0 }], 'limit'],
  ['getLogs', () => ['session', { limit: 1001 }], 'options.limit'],
  ['getLogs', () => ['session', { offset: -1 }], 'options.offset'],
  ['getLogs', () => ['session', { after: 'logs:x' }], 'after'],
  ['getLogs', () => ['session', { after: agentsCursor }], 'after'],
  ['getLogs', () => ['session', { after: logsCursor, offset: 3 }], 'offset or after'],
  ['getLogs', () => ['session', { since: 1 }], 'since'],
  ...numbers('limit', [0, -1, 1.5, 1001, '5', NaN], (v) => ['session', v], 'getLatestLogs'),
  ['getLatestLogs', () => ['', 5], 'sessionId'],
  ['appendLogText', () => [0, { path: 'text', delta: 'x' }], 'id'],
  ['appendLogText', () => [logId], 'options'],
  ['appendLogText', () => [logId, { path: 'a b', delta: 'x' }], 'options.path'],
  ['appendLogText', () => [logId, { path: 'text', delta: 5 }], 'options.delta'],
  ['appendLogText', () => [logId, { path: 'text', delta: 'x', at: 3 }], 'at'],
  ['finishLog', () => [logId], 'options'],
  ['finishLog', () => [logId, {}], 'options.status'],
  ['finishLog', () => [logId, { status: 'pending' }], 'options.status'],
  ['finishLog', () => [logId, { status: 'complete', content: () => 1 }], 'options.content'],
  ['listInterruptedLogs', () => [{ sessionId: '' }], 'options.sessionId'],
  ['listInterruptedLogs', () => [{ limit: 0 }], 'limit'],
  ['listInterruptedLogs', () => [{ includeTrashed: 1 }], 'options.includeTrashed'],
  ['listInterruptedLogs', () => [{ status: 'pending' }], 'status'],
  ['deleteLog', () => [0, { children: 'delete' }], 'id'],
  ['deleteLog', () => [logId], 'options'],
  ['deleteLog', () => [logId, { children: 'orphan' }], 'options.children'],
  ['deleteLog', () => [logId, { children: 'delete', deep: true }], 'deep'],
  ['deleteLogs', () => [''], 'sessionId'],
  ['deleteLogs', () => [7], 'sessionId'],
  ['countLogs', () => [''], 'sessionId'],
  ['getLogTree', () => [null], 'sessionId'],
  ['getLogs', () => ['session', { around: 'one' }], 'around'],
  ['getLogs', () => ['session', { around: logId, order: 'desc' }], 'around'],
  // recordUsage, usageSummary
  ['recordUsage', () => [], 'input'],
  ['recordUsage', () => [{ requestId: 'r', model: 'm', inputTokens: -1, outputTokens: 0 }], 'input.inputTokens'],
  ['recordUsage', () => [{ requestId: 'r', model: 'm', inputTokens: 1, outputTokens: 0, cost: 1 }], 'input.currency'],
  ['recordUsage', () => [{ requestId: 'r', sessionId: '', model: 'm', inputTokens: 1, outputTokens: 0 }], 'input.sessionId'],
  ['usageSummary', () => [], 'options'],
  ['usageSummary', () => [{ groupBy: 'hour' }], 'options.groupBy'],
  ['usageSummary', () => [{ groupBy: 'day', until: 5 }], 'options.until'],
  // exportSession, importSession
  ['exportSession', () => ['', 'x.jsonl'], 'sessionId'],
  ['exportSession', () => ['session'], 'path'],
  ['exportSession', () => ['session', 'x.jsonl', { format: 'html' }], 'options.format'],
  ['importSession', () => [7], 'path'],
  ['importSession', () => ['x.jsonl', { agentId: '' }], 'options.agentId'],
  ['importSession', () => ['x.jsonl', { agent: 'a' }], 'unknown field'],
  // searchLogs, searchSessions, rebuildSearchIndex (no arguments: nothing to refuse)
  ['searchLogs', () => [], 'query'],
  ['searchLogs', () => [7], 'query'],
  ['searchLogs', () => ['x', { order: 'oldest' }], 'order'],
  ['searchLogs', () => ['x', { syntax: 'regex' }], 'syntax'],
  ['searchLogs', () => ['x', { since: 'yesterday' }], 'since'],
  ['searchLogs', () => ['x', { until: 5 }], 'until'],
  ['searchLogs', () => ['x', { role: 'robot' }], 'role'],
  ['searchLogs', () => ['x', { sessionId: '' }], 'sessionId'],
  ['searchLogs', () => ['x', { after: logsCursor }], 'after'],
  ['searchLogs', () => ['x', { highlight: true }], 'highlight'],
  ...numbers('limit', [0, 1001, 1.5, '5'], (v) => ['x', { limit: v }], 'searchLogs'),
  ['searchSessions', () => [null], 'query'],
  ['searchSessions', () => ['x', { sessionId: 'session' }], 'sessionId'],
  ['searchSessions', () => ['x', { limit: 0 }], 'limit'],
  // query, execute
  ['query', () => [], 'sql'],
  ['query', () => [42], 'sql'],
  ['query', () => ['SELECT ?', 'x'], 'params'],
  ['execute', () => [null], 'sql'],
  ['execute', () => ['DELETE FROM agents WHERE id = ?', [() => 1]], 'params[0]'],
  ['execute', () => ['DELETE FROM agents WHERE id = :id', { id: undefined }], ':id'],
  ['execute', () => ['DELETE FROM agents', { extra: 1 }], 'extra'],
  ['execute', () => ['DELETE FROM agents WHERE id = ?', []], 'parameter'],
  ['execute', () => ['BEGIN'], 'change the connection'],
  ['execute', () => ['PRAGMA foreign_keys = OFF'], 'change the connection'],
  // batch: a malformed list runs nothing, not even its valid operations.
  ['batch', () => ['x'], 'operations'],
  ['batch', () => [{ op: 'deleteAgent', id: 'agent' }], 'operations'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, null]], 'operations[1]'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'dropEverything' }]], 'operations[1].op'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 5 }]], 'operations[1].op'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, {}]], 'operations[1].op'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'deleteSession' }]], 'operations[1].id'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'deleteSession', id: 'session', input: {} }]], 'input'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'createAgent', input: agent({ type: 'robot' }) }]], 'operations[1].input.type'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'addLog', input: log({ content: NaN }) }]], 'operations[1].input.content'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'addLogs', inputs: [] }]], 'operations[1].inputs'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'updateLog', id: -1, patch: {} }]], 'operations[1].id'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'updateSessionStatus', id: 'session', status: 'x' }]], 'operations[1].status'],
  ['batch', () => [[{ op: 'deleteAgent', id: 'agent' }, { op: 'execute', sql: 'BEGIN' }]], 'change the connection'],
  // backup and integrityCheck
  ['backup', () => [], 'destPath'],
  ['backup', () => [42], 'destPath'],
  ['backup', () => [':memory:'], 'file path'],
  ['integrityCheck', () => ['full'], 'options'],
  ['integrityCheck', () => [{ full: 'yes' }], 'options.full'],
  ['integrityCheck', () => [{ fast: true }], 'fast'],
]

describe('bad input', () => {
  it.each(cases.map(([call, args, field], i) => [`${i}: ${call}`, call, args, field] as const))('%s', async (_, call, args, field) => {
    let promise: Promise<unknown> | undefined
    expect(() => {
      promise = any()[call](...args())
    }).not.toThrow()
    const err = await rejection(promise!)
    expect(err).toBeInstanceOf(Error)
    expect(err.code, err.message).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain(field)
    expect(await snapshot(db)).toBe(before)
  })

  it('covers every method that takes arguments', () => {
    const proto = Object.getPrototypeOf(db) as object
    const methods = Object.getOwnPropertyNames(proto).filter(
      (name) => typeof (db as unknown as Record<string, unknown>)[name] === 'function' && name !== 'constructor',
    )
    const dataMethods = methods.filter(
      (m) => !/migration|migrate|rollback|initialize|close/i.test(m) && !['countAgents', 'checkpoint', 'rebuildSearchIndex', 'watch'].includes(m) && !m.startsWith('test'),
    )
    expect(dataMethods.length).toBeGreaterThan(25)
    expect(dataMethods.filter((m) => !cases.some(([call]) => call === m))).toEqual([])
  })

  it('refuses ids and cursors that do not exist with NOT_FOUND or an empty result, not a crash', async () => {
    expect(await db.getAgent('\u0000')).toBeNull()
    expect(await db.getLog(Number.MAX_SAFE_INTEGER)).toBeNull()
    const err = await rejection(db.updateLog(Number.MAX_SAFE_INTEGER, { content: 1 }))
    expect(err.code).toBe('NOT_FOUND')
    // A cursor pages from its position; one of the previous version is refused, saying so.
    const first = await db.getLogs('session', { limit: 1 })
    expect((await db.getLogs('session', { after: first.nextCursor! })).items).toHaveLength(1)
    const old = await rejection(db.getLogs('session', { after: 'logs:2000-01-01T00:00:00.000Z|0' }))
    expect([old.code, old.message]).toEqual(['INVALID_ARGUMENT', expect.stringContaining('another version')])
    expect(await snapshot(db)).toBe(before)
  })
})
