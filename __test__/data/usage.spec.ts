// The usage ledger: a retry never counts twice, a record outlives what it names, totals keep
// currencies apart, and bad input is refused with nothing written.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Database, UsageInput } from '../../index.js'
import { expectCode, memoryDb } from './helpers'

let db: Database
beforeEach(async () => {
  db = await memoryDb()
})
afterEach(async () => {
  await db.close()
})

const usage = (extra: Partial<UsageInput> = {}): UsageInput => ({
  requestId: 'req-1',
  model: 'model-a',
  inputTokens: 100,
  outputTokens: 20,
  ...extra,
})

async function rows(): Promise<number> {
  const [row] = await db.query('SELECT count(*) AS n FROM usage_records')
  return Number(row?.n)
}

describe('recordUsage', () => {
  it('records once per requestId: a retry resolves with the stored record as a duplicate', async () => {
    const first = await db.recordUsage(usage({ cost: 0.12, currency: 'USD' }))
    expect(first).toMatchObject({ requestId: 'req-1', duplicate: false, reasoningTokens: 0, cost: 0.12, currency: 'USD' })
    const retries = await Promise.all([1, 2, 3].map(() => db.recordUsage(usage({ cost: 0.12, currency: 'USD' }))))
    for (const retry of retries) expect(retry).toEqual({ ...first, duplicate: true })
    expect(await rows()).toBe(1)
  })

  it('refuses the same requestId with other values, naming them, and keeps the first', async () => {
    await db.recordUsage(usage())
    await expectCode(db.recordUsage(usage({ outputTokens: 21 })), 'ALREADY_EXISTS', 'outputTokens')
    await expectCode(db.recordUsage(usage({ model: 'model-b' })), 'ALREADY_EXISTS', 'model')
    const [totals] = await db.usageSummary({ groupBy: 'model' })
    expect(totals).toMatchObject({ key: 'model-a', requests: 1, outputTokens: 20 })
  })

  it('keeps the ids of the session, log and agent it names after they are deleted', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    const reply = await db.addLog({ sessionId: session.id, role: 'agent', type: 'message', content: 'hi' })
    const recorded = await db.recordUsage(usage({ logId: reply.id }))
    expect(recorded).toMatchObject({ sessionId: session.id, agentId: agent.id, logId: reply.id })
    await db.deleteLog(reply.id, { children: 'delete' })
    await db.deleteSession(session.id)
    await db.deleteAgent(agent.id)
    const [byAgent] = await db.usageSummary({ groupBy: 'agent' })
    expect(byAgent).toMatchObject({ key: agent.id, requests: 1, inputTokens: 100 })
    const [bySession] = await db.usageSummary({ groupBy: 'session' })
    expect(bySession?.key).toBe(session.id)
  })

  it('goes in a batch with the reply it measures, through a ref, all or nothing', async () => {
    const agent = await db.createAgent({ name: 'A', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id })
    const [reply, recorded] = await db.batch([
      { op: 'addLog', input: { sessionId: session.id, role: 'agent', type: 'message', content: 'hi' } },
      { op: 'recordUsage', input: { ...usage(), logId: { ref: 0 } } },
    ])
    expect(recorded.logId).toBe(reply.id)
    expect(recorded.sessionId).toBe(session.id)
    await expectCode(
      db.batch([
        { op: 'recordUsage', input: usage({ requestId: 'req-2' }) },
        { op: 'addLog', input: { sessionId: 'missing', role: 'agent', type: 'message', content: 'x' } },
      ]),
      'NOT_FOUND',
    )
    expect(await rows()).toBe(1)
  })

  const bad: [string, Partial<UsageInput> | Record<string, unknown>, string][] = [
    ['a negative token count', { inputTokens: -1 }, 'input.inputTokens'],
    ['a fractional token count', { outputTokens: 0.5 }, 'input.outputTokens'],
    ['a token count beyond 2^53 - 1', { cacheWriteTokens: 2 ** 53 }, 'input.cacheWriteTokens'],
    ['a negative cost', { cost: -1, currency: 'USD' }, 'input.cost'],
    ['an infinite cost', { cost: Number.POSITIVE_INFINITY, currency: 'USD' }, 'input.cost'],
    ['a cost without a currency', { cost: 1 }, 'input.currency is required'],
    ['a currency without a cost', { currency: 'USD' }, 'input.cost is required'],
    ['a currency in lower case', { cost: 1, currency: 'usd' }, 'input.currency'],
    ['an empty requestId', { requestId: '' }, 'input.requestId'],
    ['an unknown field', { tokens: 3 }, 'unknown field `tokens`'],
  ]
  for (const [what, extra, mention] of bad) {
    it(`refuses ${what} and writes nothing`, async () => {
      await expectCode(db.recordUsage({ ...usage(), ...extra } as UsageInput), 'INVALID_ARGUMENT', mention)
      expect(await rows()).toBe(0)
    })
  }
})

describe('usageSummary', () => {
  beforeEach(async () => {
    await db.recordUsage(usage({ requestId: 'a', model: 'm1', cost: 1.5, currency: 'USD' }))
    await db.recordUsage(usage({ requestId: 'b', model: 'm1', cost: 2, currency: 'EUR' }))
    await db.recordUsage(usage({ requestId: 'c', model: 'm2', cost: 0.25, currency: 'USD', reasoningTokens: 7 }))
    await db.recordUsage(usage({ requestId: 'd', model: 'm2' }))
    await db.execute(`UPDATE usage_records SET created_at = '2026-03-01T23:59:59.999Z' WHERE request_id IN ('a', 'b')`)
    await db.execute(`UPDATE usage_records SET created_at = '2026-03-02T00:00:00.000Z' WHERE request_id IN ('c', 'd')`)
  })

  it('totals by model with one cost per currency, never added together', async () => {
    expect(await db.usageSummary({ groupBy: 'model' })).toEqual([
      {
        key: 'm1',
        requests: 2,
        inputTokens: 200,
        outputTokens: 40,
        reasoningTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costs: { EUR: 2, USD: 1.5 },
      },
      {
        key: 'm2',
        requests: 2,
        inputTokens: 200,
        outputTokens: 40,
        reasoningTokens: 7,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costs: { USD: 0.25 },
      },
    ])
  })

  it('totals by UTC day, within [since, until)', async () => {
    const days = await db.usageSummary({ groupBy: 'day' })
    expect(days.map((d) => [d.key, d.requests])).toEqual([
      ['2026-03-01', 2],
      ['2026-03-02', 2],
    ])
    const second = await db.usageSummary({ groupBy: 'day', since: '2026-03-02T00:00:00.000Z' })
    expect(second.map((d) => d.key)).toEqual(['2026-03-02'])
    const first = await db.usageSummary({ groupBy: 'day', until: '2026-03-02T00:00:00.000Z' })
    expect(first.map((d) => d.key)).toEqual(['2026-03-01'])
  })

  it('puts records that name no agent under key null', async () => {
    expect(await db.usageSummary({ groupBy: 'agent' })).toMatchObject([{ key: null, requests: 4 }])
  })

  it('refuses a missing or unknown groupBy and a since that is not a time', async () => {
    await expectCode(db.usageSummary({} as never), 'INVALID_ARGUMENT', 'options.groupBy is required')
    await expectCode(db.usageSummary({ groupBy: 'week' } as never), 'INVALID_ARGUMENT', 'options.groupBy')
    await expectCode(db.usageSummary({ groupBy: 'day', since: 'yesterday' }), 'INVALID_ARGUMENT', 'options.since')
  })
})
