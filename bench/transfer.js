'use strict'
// `node bench/transfer.js [--logs N] [--addon PATH]`: export and import of one session of N
// logs (default 1,000,000: a message every 100 logs, with 99 tool calls and results under
// it, about 200 bytes of content each), with the addon at PATH (default the checkout's).
//
// Prints, as Markdown and as one JSON line: the time to export the session as JSON Lines and
// as Markdown, the file sizes, the process's peak RSS growth above its RSS before each export
// (sampled every 20 ms), and the time and RSS growth of importing the JSON Lines file into a
// new database.

const { mkdtempSync, rmSync, statSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join, resolve } = require('node:path')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : args[at + 1]
}
const LOGS = Number(option('logs', 1_000_000))
const { Database } = require(resolve(option('addon', join(__dirname, '..'))))
const CHUNK = 100

/** Runs `work`, sampling RSS; resolves with its result, its time and the peak RSS growth. */
async function measured(work) {
  const before = process.memoryUsage.rss()
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 20)
  const start = process.hrtime.bigint()
  const result = await work()
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage.rss())
  return { result, ms, rssGrowthMiB: (peak - before) / 2 ** 20 }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-transfer-bench-'))
  try {
    const db = await Database.open(join(dir, 'source.db'), { durability: 'normal' })
    await db.migrate()
    const agent = await db.createAgent({ name: 'Coder', model: 'm' })
    const session = await db.createSession({ mainAgentId: agent.id, name: 'Large session' })
    const pad = 'x'.repeat(150)
    for (let done = 0; done < LOGS; done += CHUNK) {
      const root = await db.addLog({ sessionId: session.id, role: 'user', type: 'message', content: { text: `question ${done} ${pad}` } })
      const n = Math.min(CHUNK, LOGS - done) - 1
      if (n > 0) {
        await db.addLogs(
          Array.from({ length: n }, (_, i) => ({
            sessionId: session.id,
            parentId: root.id,
            role: i % 2 ? 'tool' : 'agent',
            type: i % 2 ? 'observation' : 'action',
            content: { tool: 'grep', step: i, output: pad },
          })),
        )
      }
    }
    const jsonl = join(dir, 'session.jsonl')
    const markdown = join(dir, 'session.md')
    const exportJsonl = await measured(() => db.exportSession(session.id, jsonl))
    const exportMarkdown = await measured(() => db.exportSession(session.id, markdown, { format: 'markdown' }))
    await db.close()
    const target = await Database.open(join(dir, 'target.db'), { durability: 'normal' })
    await target.migrate()
    const imported = await measured(() => target.importSession(jsonl))
    await target.close()
    const figures = {
      logs: LOGS,
      exportJsonlMs: Math.round(exportJsonl.ms),
      exportJsonlMiB: +(statSync(jsonl).size / 2 ** 20).toFixed(1),
      exportJsonlRssGrowthMiB: +exportJsonl.rssGrowthMiB.toFixed(1),
      exportMarkdownMs: Math.round(exportMarkdown.ms),
      exportMarkdownMiB: +(statSync(markdown).size / 2 ** 20).toFixed(1),
      exportMarkdownRssGrowthMiB: +exportMarkdown.rssGrowthMiB.toFixed(1),
      importMs: Math.round(imported.ms),
      importRssGrowthMiB: +imported.rssGrowthMiB.toFixed(1),
      importedLogs: imported.result.logs,
    }
    console.log('| measure | value |\n|---|---|')
    for (const [name, value] of Object.entries(figures)) console.log(`| ${name} | ${value} |`)
    console.log(JSON.stringify(figures))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
