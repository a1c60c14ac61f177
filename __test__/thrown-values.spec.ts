// What the error says when reading an argument throws: the thrown value's `message`, read
// once. A thrown value whose `message` getter throws (itself, or something else) is described
// by its kind, without reading the new exception's `message` in turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Database, thrown } from './support'

let db: Database

beforeAll(async () => {
  db = await Database.open(':memory:')
})

afterAll(async () => {
  await db.close()
})

/** An object every read of which throws `value`. */
const throwing = (value: unknown) => new Proxy({}, { get: () => { throw value }, ownKeys: () => { throw value } })

describe('a throwing argument', () => {
  it('throws with the message of the error it threw', async () => {
    const err = thrown(() => db.addMigration(throwing(new Error('trap says no')) as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toBe('migration: reading it threw: trap says no')
  })

  it('reads the message of a thrown value once, even when reading it throws that value again', async () => {
    let reads = 0
    const evil = {
      get message(): string {
        reads++
        throw evil
      },
    }
    const err = thrown(() => db.addMigration(throwing(evil) as never))
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toBe('migration: reading it threw: a thrown an object')
    expect(reads).toBe(1)
    // Nothing is left pending: the next call works.
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
  })

  it('describes a thrown primitive by its kind', async () => {
    for (const [value, kind] of [[null, 'null'], [undefined, 'undefined'], ['text', 'a string'], [7, 'a number']] as const) {
      const err = thrown(() => db.addMigration(throwing(value) as never))
      expect(err.message).toBe(`migration: reading it threw: a thrown ${kind}`)
    }
  })
})

describe('a method called on something that is not a Database', () => {
  it('rejects with INVALID_ARGUMENT saying so, for every method, detached or called on another object', async () => {
    const db = await Database.open(':memory:')
    await db.migrate()
    const proto = Database.prototype as unknown as Record<string, (...args: unknown[]) => unknown>
    const names = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, n)?.value === 'function')
    expect(names.length).toBeGreaterThan(30)
    for (const name of names) {
      for (const receiver of [{}, undefined, Object.create(Database.prototype), 'text']) {
        let outcome: unknown
        try {
          outcome = await proto[name].call(receiver, 'x')
        } catch (err) {
          outcome = err
        }
        expect(outcome, `${name} on ${String(receiver)}`).toMatchObject({ code: 'INVALID_ARGUMENT' })
        expect((outcome as Error).message).toContain(`${name}() was called on`)
      }
    }
    const { getAgent } = db
    await expect(getAgent('a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    // Bound, or called on the Database, it works as before.
    expect(await getAgent.call(db, 'a')).toBeNull()
    await db.close()
  })
})
