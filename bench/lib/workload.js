'use strict'
// The workload every driver runs, kept in step with bench/floor/src/workload.rs: the logs
// that are appended, the shape reads are turned into, and a seeded random source.

const ROLES = ['user', 'agent', 'system', 'tool']
const TYPES = ['message', 'thought', 'action', 'observation']
const TEXT =
  'Reviewed the authentication module: the session token is compared in constant time ' +
  'and refreshed on every request; two handlers still log the raw token.'

/** The `i`-th log appended to `sessionId`, as an application hands it over. */
function makeLog(i, sessionId) {
  const log = {
    sessionId,
    role: ROLES[i % 4],
    type: TYPES[i % 4],
    content: {
      text: TEXT,
      step: i,
      tokens: { input: 100 + (i % 900), output: 20 + (i % 300) },
      files: ['src/auth/login.ts', 'src/auth/middleware.ts'],
    },
  }
  if (i % 2 === 1) log.metadata = { model: 'claude-sonnet', latencyMs: i % 5000 }
  return log
}

const sessionId = (i) => `session-${String(i).padStart(6, '0')}`

/** A seeded generator (mulberry32): every run draws the same ids. */
function rng(seed) {
  let a = seed >>> 0
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0
  }
}

const parseJson = (text) => (text == null ? null : JSON.parse(text))

/** A row of the log queries in bench/sql/ (an array, in their column order) as a log. */
function logFromRow(r) {
  return {
    id: Number(r[0]),
    sessionId: r[1],
    parentId: r[2] == null ? null : Number(r[2]),
    role: r[3],
    type: r[4],
    content: JSON.parse(r[5]),
    metadata: parseJson(r[6]),
    createdAt: r[7],
    updatedAt: r[8],
  }
}

/** A row of bench/sql/session_with_agent.sql as `{ session, agent, effective }`. */
function sessionWithAgentFromRow(r) {
  const session = {
    id: r[0],
    name: r[1],
    mainAgentId: r[2],
    subAgentIds: parseJson(r[3]),
    userGoal: r[4],
    status: r[5],
    externalSessionId: r[6],
    model: r[7],
    planModel: r[8],
    smallModel: r[9],
    builtInTools: parseJson(r[10]),
    mcps: parseJson(r[11]),
    knowledges: parseJson(r[12]),
    configuration: parseJson(r[13]),
    accessiblePaths: parseJson(r[14]),
    permissionMode: r[15],
    maxSteps: r[16] == null ? null : Number(r[16]),
    createdAt: r[17],
    updatedAt: r[18],
  }
  const agent = {
    id: r[19],
    type: r[20],
    name: r[21],
    description: r[22],
    avatar: r[23],
    instructions: r[24],
    model: r[25],
    planModel: r[26],
    smallModel: r[27],
    builtInTools: parseJson(r[28]),
    mcps: parseJson(r[29]),
    knowledges: parseJson(r[30]),
    configuration: parseJson(r[31]),
    accessiblePaths: parseJson(r[32]),
    permissionMode: r[33],
    maxSteps: Number(r[34]),
    createdAt: r[35],
    updatedAt: r[36],
  }
  const effective = {}
  for (const key of ['model', 'planModel', 'smallModel', 'builtInTools', 'mcps', 'knowledges', 'configuration', 'accessiblePaths', 'permissionMode', 'maxSteps']) {
    effective[key] = session[key] ?? agent[key]
  }
  return { session, agent, effective }
}

module.exports = { makeLog, sessionId, rng, logFromRow, sessionWithAgentFromRow }
