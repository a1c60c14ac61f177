// Binary parameters of `query` and `execute`: a Buffer or a typed array of any kind the addon
// knows becomes a blob of exactly the bytes it views, in memory order; a DataView, an
// ArrayBuffer and typed arrays of kinds it does not know (see node-versions.spec.ts for
// Float16Array) are refused with INVALID_ARGUMENT naming the parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Database, rejection } from './support'

let db: Database

beforeAll(async () => {
  db = await Database.open(':memory:')
  // Schema changes go through migrations (raw SQL may not make them).
  db.addMigration({ id: '001', description: 'a table of blobs', up: ['CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)'] })
  await db.migrate()
})

afterAll(async () => {
  await db.close()
})

/** 16 distinct bytes, so that a wrong element size or offset shows. */
const BYTES = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i * 7)
const hex = (bytes: ArrayLike<number>) => Buffer.from(Uint8Array.from(bytes)).toString('hex')

/** The blob `value` is bound as, read back with its SQL type. */
async function bound(value: unknown): Promise<{ hex: string; type: string }> {
  const [row] = await db.query('SELECT ?1 AS v, typeof(?1) AS type', [value as Uint8Array])
  expect(Buffer.isBuffer(row.v)).toBe(true)
  return { hex: (row.v as Buffer).toString('hex'), type: row.type as string }
}

const KINDS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const

describe('typed arrays of every known kind', () => {
  for (const Kind of KINDS) {
    it(`${Kind.name}: the bytes it views, whole and as a view at an offset`, async () => {
      const whole = new Kind(BYTES.slice().buffer)
      expect(await bound(whole)).toEqual({ hex: hex(BYTES), type: 'blob' })
      const size = Kind.BYTES_PER_ELEMENT
      const part = new Kind(BYTES.slice().buffer, size, 8 / size)
      expect(await bound(part)).toEqual({ hex: hex(BYTES.subarray(size, size + 8)), type: 'blob' })
      expect(await bound(new Kind(0))).toEqual({ hex: '', type: 'blob' })
    })
  }

  it('a Buffer, including one that is a slice of a larger allocation', async () => {
    expect(await bound(Buffer.from(BYTES))).toEqual({ hex: hex(BYTES), type: 'blob' })
    expect(await bound(Buffer.from(BYTES).subarray(3, 9))).toEqual({ hex: hex(BYTES.subarray(3, 9)), type: 'blob' })
  })

  it('a view of a SharedArrayBuffer', async () => {
    const shared = new SharedArrayBuffer(16)
    new Uint8Array(shared).set(BYTES)
    expect(await bound(new Uint8Array(shared, 4, 8))).toEqual({ hex: hex(BYTES.subarray(4, 12)), type: 'blob' })
    expect(await bound(new Uint32Array(shared))).toEqual({ hex: hex(BYTES), type: 'blob' })
  })

  it('a view of a detached buffer is an empty blob', async () => {
    const buffer = new ArrayBuffer(8)
    const view = new Uint16Array(buffer)
    structuredClone(buffer, { transfer: [buffer] })
    expect(view.length).toBe(0)
    expect(await bound(view)).toEqual({ hex: '', type: 'blob' })
  })

  it('execute stores the bytes, named or positional', async () => {
    const doubles = new Float64Array([1.5, -0])
    await db.execute('INSERT INTO blobs (id, b) VALUES (?, ?)', [1, doubles])
    await db.execute('INSERT INTO blobs (id, b) VALUES (:id, :b)', { id: 2, b: new Int16Array([-1, 2]) })
    const rows = await db.query('SELECT id, hex(b) AS b FROM blobs ORDER BY id')
    expect(rows).toEqual([
      { id: 1, b: hex(new Uint8Array(doubles.buffer)).toUpperCase() },
      { id: 2, b: hex(new Uint8Array(new Int16Array([-1, 2]).buffer)).toUpperCase() },
    ])
  })
})

describe('binary data that is refused', () => {
  for (const [name, make] of [
    ['a DataView', () => new DataView(new ArrayBuffer(4))],
    ['an ArrayBuffer', () => new ArrayBuffer(4)],
    ['a SharedArrayBuffer', () => new SharedArrayBuffer(4)],
  ] as const) {
    it(`${name}, naming the parameter, in query and execute`, async () => {
      const positional = await rejection(db.query('SELECT ?, ? AS v', [1, make() as never]))
      expect(positional.code).toBe('INVALID_ARGUMENT')
      expect(positional.message).toMatch(/^params\[1\] is an object\b/)
      const named = await rejection(db.execute('INSERT INTO blobs (b) VALUES (:b)', { b: make() as never }))
      expect(named.code).toBe('INVALID_ARGUMENT')
      expect(named.message).toMatch(/^params\.b is an object\b/)
    })
  }
})
