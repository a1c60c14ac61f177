// A reply still streaming when its process dies: the next process to open the database
// alone marks it interrupted; a process that opens it while the writer lives leaves it be.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { Database } from '../../index.js'
import { Child, FIXTURES, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const SCRIPT = join(FIXTURES, 'stream-reply.js')

async function setup(file: string): Promise<string> {
  const db = await Database.open(file)
  await db.migrate()
  const agent = await db.createAgent({ name: 'streamer', model: 'm' })
  const session = await db.createSession({ mainAgentId: agent.id })
  await db.close()
  return session.id
}

describe('interrupted replies', () => {
  it('a reply left streaming by a killed process is interrupted on the next lone open', { timeout: 60_000 }, async () => {
    const file = join(tempDir('interrupted'), 'chat.db')
    const sessionId = await setup(file)
    const child = new Child(SCRIPT, [file, sessionId])
    const { id } = (await child.waitFor('streaming')) as { id: number }

    // The writer is alive: opening beside it must not decide for it.
    const beside = await Database.open(file)
    expect(await beside.getLog(id)).toMatchObject({ status: 'streaming', content: { text: 'Hello' } })
    expect((await beside.listInterruptedLogs()).items).toEqual([])
    await beside.close()

    child.kill()
    expect((await child.exited).signal).toBe('SIGKILL')
    const db = await Database.open(file)
    const log = await db.getLog(id)
    expect(log).toMatchObject({ status: 'interrupted', content: { text: 'Hello' } })
    expect((await db.listInterruptedLogs()).items).toEqual([log])
    expect((await db.listInterruptedLogs({ sessionId })).items).toEqual([log])
    expect((await db.listInterruptedLogs({ sessionId: 'another' })).items).toEqual([])
    // In the trash, the session's entries are listed only with includeTrashed.
    await db.deleteSession(sessionId, { soft: true })
    expect((await db.listInterruptedLogs()).items).toEqual([])
    expect((await db.listInterruptedLogs({ sessionId })).items).toEqual([])
    expect((await db.listInterruptedLogs({ includeTrashed: true })).items).toEqual([log])
    expect((await db.listInterruptedLogs({ sessionId, includeTrashed: true })).items).toEqual([log])
    await db.close()
  })

  it('a reply its process finished stays finished', { timeout: 60_000 }, async () => {
    const file = join(tempDir('finished'), 'chat.db')
    const sessionId = await setup(file)
    const child = new Child(SCRIPT, [file, sessionId])
    const { id } = (await child.waitFor('streaming')) as { id: number }
    child.send({ event: 'finish' })
    await child.waitFor('finished')
    expect((await child.exited).code).toBe(0)
    const db = await Database.open(file)
    expect(await db.getLog(id)).toMatchObject({ status: 'complete', content: { text: 'Hello' } })
    expect((await db.listInterruptedLogs()).items).toEqual([])
    await db.close()
  })

  it('a second Database of the same process does not interrupt the first one\'s reply', async () => {
    const file = join(tempDir('same-process'), 'chat.db')
    const sessionId = await setup(file)
    const first = await Database.open(file)
    const reply = await first.addLog({ sessionId, role: 'agent', type: 'message', content: { text: '' }, status: 'pending' })
    const second = await Database.open(file)
    expect((await second.getLog(reply.id))?.status).toBe('pending')
    await second.close()
    await first.close()
    const again = await Database.open(file)
    expect((await again.getLog(reply.id))?.status).toBe('interrupted')
    await again.close()
  })
})
