// Type-checked by `npm run test:types`, never run: `batch` resolves with a tuple of each
// operation's result, without `as const` from the caller, and a later operation refers to a
// row an earlier one wrote with `{ ref: i }`.
import type { Agent, BatchOperation, BatchResult, Database, ExecuteResult, Session, SessionLog } from '../../index'

type Equal<T, U> = (<V>() => V extends T ? 1 : 2) extends <V>() => V extends U ? 1 : 2 ? true : false
function assertType<_T extends true>(): void {}

export async function batches(db: Database, agent: Agent): Promise<void> {
  // A list written in the call: a tuple, destructured without casts.
  const [session, log] = await db.batch([
    { op: 'createSession', input: { mainAgentId: agent.id } },
    { op: 'addLog', input: { sessionId: { ref: 0 }, role: 'user', type: 'message', content: 'hi' } },
  ])
  assertType<Equal<typeof session, Session>>()
  assertType<Equal<typeof log, SessionLog>>()
  const id: string = session.id
  const logId: number = log.id
  void [id, logId]

  // Every kind of operation, in order.
  const every = await db.batch([
    { op: 'createAgent', input: { name: 'A', model: 'm' } },
    { op: 'updateAgent', id: { ref: 0 }, patch: { name: 'B' } },
    { op: 'deleteAgent', id: 'gone' },
    { op: 'createSession', input: { mainAgentId: { ref: 0 } } },
    { op: 'updateSession', id: { ref: 3 }, patch: { name: 'S' } },
    { op: 'updateSessionStatus', id: { ref: 3 }, status: 'running' },
    { op: 'deleteSession', id: 'gone' },
    { op: 'addLog', input: { sessionId: { ref: 3 }, role: 'agent', type: 'message', content: { text: 'reply' } } },
    {
      op: 'addLogs',
      inputs: [
        { sessionId: { ref: 3 }, parentId: { ref: 7 }, role: 'agent', type: 'action', content: { tool: 'grep' } },
        { sessionId: { ref: 3 }, parentId: { ref: 7 }, role: 'agent', type: 'action', content: { tool: 'ls' } },
      ],
    },
    { op: 'updateLog', id: { ref: 7 }, patch: { content: 'edited' } },
    { op: 'deleteLogs', sessionId: { ref: 3 } },
    { op: 'execute', sql: 'UPDATE agents SET avatar = ?', params: [null] },
  ])
  assertType<
    Equal<
      typeof every,
      [Agent, Agent, boolean, Session, Session, Session, boolean, SessionLog, SessionLog[], SessionLog, number, ExecuteResult]
    >
  >()

  // A list built elsewhere: an array of the union, as before.
  const built: BatchOperation[] = [{ op: 'deleteLogs', sessionId: session.id }]
  const results = await db.batch(built)
  assertType<Equal<typeof results, BatchResult[]>>()
  // A tuple type keeps its results typed.
  const pair: [BatchOperation & { op: 'deleteAgent' }, BatchOperation & { op: 'execute' }] = [
    { op: 'deleteAgent', id: 'x' },
    { op: 'execute', sql: 'SELECT 1' },
  ]
  const [deleted, changed] = await db.batch(pair)
  assertType<Equal<typeof deleted, boolean>>()
  assertType<Equal<typeof changed, ExecuteResult>>()

  // @ts-expect-error a reference is { ref: index }
  await db.batch([{ op: 'addLog', input: { sessionId: { id: 0 }, role: 'user', type: 'message', content: 'x' } }])
  // @ts-expect-error an agent is created with its own fields: no references there
  await db.batch([{ op: 'createAgent', input: { name: { ref: 0 }, model: 'm' } }])
  // @ts-expect-error the result of deleteAgent is a boolean
  const [notAnAgent]: [Agent] = await db.batch([{ op: 'deleteAgent', id: 'x' }])
  void notAnAgent
}
