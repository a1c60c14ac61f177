'use strict'
// `node bench/search.js [--logs N] [--runs N] [--appends N] [--append-rounds N] [--fresh]`: full-text search on a
// database of N logs (default 1,000,000; a mix of English, Chinese and code), with the release addon.
//
// The search database is kept in bench/results/tmp/, named by a hash of what builds it (N,
// the generator, the migrations and the crate's text preparation), and reused
// by the next run with the same hash; `--fresh` builds it again.
//
// Prints, as Markdown and as one JSON line: searchLogs latency p50/p95 for a common and a
// rare English word and a 2- and a 4-character Chinese term, each beside a LIKE '%…%' scan of
// the same database in the same run; appends per second with the index and without it
// (without: every migration applied, then the search triggers dropped; medians of N rounds that
// alternate the two, each on new files); and the index's size beside the
// table's (dbstat).

const { createHash } = require('node:crypto')
const { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

const { Database } = require('..')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(args[at + 1])
}
const LOGS = option('logs', 1_000_000)
const RUNS = option('runs', 50)
const BATCH = 1000
const SESSIONS = 2000
const APPENDS = option('appends', 100_000)
const APPEND_ROUNDS = option('append-rounds', 1)
const FRESH = args.includes('--fresh')

const ROOT = join(__dirname, '..')
const CACHE = join(ROOT, 'bench', 'results', 'tmp')

/**
 * The cached search database's path: a hash of what decides its rows and the text they are
 * indexed with (LOGS, the generator below, the migrations, and the crate's text
 * preparation).
 */
function cachedPath() {
  const hash = createHash('sha256').update(JSON.stringify({ LOGS, BATCH, SESSIONS, ENGLISH, CHINESE, CODE }))
  for (const code of [random, contentOf, fill, open]) hash.update(code.toString())
  const migrations = join(ROOT, 'migrations')
  const files = readdirSync(migrations).sort().map((f) => join(migrations, f))
  files.push(join(ROOT, 'crates', 'agentdb-core', 'src', 'search', 'text.rs'))
  for (const file of files) hash.update(readFileSync(file))
  return join(CACHE, `search-${LOGS}-${hash.digest('hex').slice(0, 16)}.db`)
}

/** A deterministic generator (xorshift), so every run writes the same database. */
function random(seed) {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

const ENGLISH = (
  'the a to of and in is it for that you this with on be are as was have not can error file run test ' +
  'function value result request response server client user data build change update check return ' +
  'please could would should let me see how what why when where fix issue problem works failed success ' +
  'install package module import export config option path directory output input line code project'
).split(' ')
/** The 600 most frequent Chinese characters, in frequency order. */
const CHINESE = [...'我你他的是了在不有这个们中来上大为和国地到以说时要就出会可也对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男']
const CODE = [
  'fn main() { let x = compute(42).unwrap(); println!("{x}"); }',
  'const result = await fetch(url, { method: "POST", body: JSON.stringify(payload) })',
  'SELECT id, name FROM users WHERE created_at > ? ORDER BY id LIMIT 20',
  'def handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event)}',
  'git rebase -i HEAD~3 && npm test -- --run src/parser.spec.ts',
  'TypeError: Cannot read properties of undefined (reading "map") at render (app.js:120:15)',
]

/** One log's content: English (60%), Chinese (30%) or code (10%), with the searched terms mixed in. */
function contentOf(next, i) {
  const kind = next()
  // One log in 20,000 holds the rare word.
  if (kind < 0.6 || i % 20_000 === 7) {
    const words = Array.from({ length: 8 + Math.floor(next() * 30) }, () => ENGLISH[Math.floor(next() ** 2 * ENGLISH.length)])
    if (i % 20_000 === 7) words.push('quokka')
    return { type: 'text', text: words.join(' ') }
  }
  if (kind < 0.9) {
    let text = Array.from({ length: 10 + Math.floor(next() * 40) }, () => CHINESE[Math.floor(next() ** 3 * CHINESE.length)]).join('')
    if (next() < 0.05) text += '我想搜索一下'
    if (next() < 0.01) text += '历史记录'
    return { type: 'text', text }
  }
  return { type: 'tool_use', name: 'shell', input: { command: CODE[Math.floor(next() * CODE.length)] } }
}

async function fill(db, count, seed) {
  const next = random(seed)
  for (let s = 0; s < SESSIONS; s++) await db.createSession({ id: `s${s}`, mainAgentId: 'a1', name: `Session ${s}` })
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start)
    await db.addLogs(
      Array.from({ length: n }, (_, k) => ({
        sessionId: `s${Math.floor(next() * SESSIONS)}`,
        role: next() < 0.5 ? 'user' : 'agent',
        type: 'message',
        content: contentOf(next, start + k),
      })),
    )
  }
}

/**
 * A migrated database; without the index, the search triggers and the tables they record
 * rows in are dropped (by another SQLite, as any tool could), so the library keeps no index.
 */
async function open(file, { index }) {
  if (!index) {
    const setup = await Database.open(file)
    await setup.migrate()
    await setup.close()
    const sqlite = new (require('better-sqlite3'))(file)
    const triggers = sqlite.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND sql LIKE '%search_pending%'").all()
    for (const { name } of triggers) sqlite.exec(`DROP TRIGGER "${name}"`)
    sqlite.exec('DROP TABLE log_search_pending; DROP TABLE session_search_pending')
    sqlite.close()
  }
  const db = await Database.open(file)
  if (index) await db.migrate()
  await db.createAgent({ id: 'a1', name: 'Bench', model: 'm' })
  return db
}

async function timed(work) {
  const started = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - started) / 1e6
}

async function latencies(work, runs = RUNS) {
  await work()
  const times = []
  for (let i = 0; i < runs; i++) times.push(await timed(work))
  times.sort((a, b) => a - b)
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
  return { p50: at(0.5), p95: at(0.95) }
}

/**
 * Appends per second: `APPENDS` logs as addLogs batches of 100, then 10,000 single addLog
 * calls, 64 in flight. With the index each phase ends with a search, which indexes the rows
 * still recorded first: the time counts every row indexed, none left for later.
 */
async function appendRate(index, prefix) {
  const db = await open(`${prefix}append-${index ? 'index' : 'plain'}.db`, { index })
  await db.createSession({ id: 's0', mainAgentId: 'a1' })
  const next = random(99)
  const log = (i) => ({ sessionId: 's0', role: 'user', type: 'message', content: contentOf(next, i) })
  const caughtUp = async () => index && (await db.searchLogs('quokka', { limit: 1 }))
  const batched = await timed(async () => {
    for (let i = 0; i < APPENDS; i += 100) await db.addLogs(Array.from({ length: 100 }, (_, k) => log(i + k)))
    await caughtUp()
  })
  const singles = await timed(async () => {
    let i = 0
    const worker = async () => {
      while (i < 10_000) await db.addLog(log(i++))
    }
    await Promise.all(Array.from({ length: 64 }, worker))
    await caughtUp()
  })
  await db.close()
  return { batched: APPENDS / (batched / 1000), single: 10_000 / (singles / 1000) }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'agentdb-search-bench-'))
  try {
    // Built under a temporary name and renamed when complete, so an interrupted run leaves
    // nothing to reuse; searched on a copy, so a run never changes the cached file.
    const cached = cachedPath()
    let generation = null
    if (FRESH || !existsSync(cached)) {
      mkdirSync(CACHE, { recursive: true })
      const building = `${cached}.building`
      rmSync(building, { force: true })
      const fresh = await open(building, { index: true })
      generation = await timed(() => fill(fresh, LOGS, 1))
      await fresh.close()
      renameSync(building, cached)
    }
    copyFileSync(cached, join(dir, 'search.db'))
    const db = await Database.open(join(dir, 'search.db'))
    const terms = [
      ['common English word', 'error'],
      ['rare English word', 'quokka'],
      ['2-character Chinese', '搜索'],
      ['4-character Chinese', '历史记录'],
    ]
    const rows = []
    for (const [label, term] of terms) {
      const hits = (await db.query("SELECT count(*) AS n FROM log_search WHERE log_search MATCH ?", [`"${term.length > 1 && /\p{Script=Han}/u.test(term) ? [...term].join(' ') : term}"`]))[0].n
      const relevance = await latencies(() => db.searchLogs(term, { limit: 20 }))
      const newest = await latencies(() => db.searchLogs(term, { limit: 20, order: 'newest' }))
      const likeAll = await latencies(() => db.query('SELECT count(*) FROM session_logs WHERE content LIKE ?', [`%${term}%`]), 5)
      const likeNewest = await latencies(() => db.query('SELECT id FROM session_logs WHERE content LIKE ? ORDER BY id DESC LIMIT 20', [`%${term}%`]), 5)
      rows.push({ label, term, hits, relevance, newest, likeAll, likeNewest })
    }
    const sizes = await db.query(
      "SELECT CASE WHEN name LIKE 'log_search%' OR name LIKE 'session_search%' THEN 'search index' WHEN name LIKE '%session_logs%' THEN 'session_logs' ELSE 'other' END AS part, sum(pgsize) AS bytes FROM dbstat GROUP BY part",
    )
    await db.close()
    // Rounds alternate with and without the index, each on new files; the medians are kept.
    const rounds = []
    for (let round = 0; round < APPEND_ROUNDS; round++) {
      rounds.push({ withIndex: await appendRate(true, join(dir, `r${round}-`)), without: await appendRate(false, join(dir, `r${round}-`)) })
    }
    const median = (pick) => {
      const sorted = rounds.map(pick).sort((a, b) => a - b)
      return sorted[Math.floor(sorted.length / 2)]
    }
    const rate = (side) => ({ batched: median((r) => r[side].batched), single: median((r) => r[side].single) })
    const withIndex = rate('withIndex')
    const without = rate('without')
    const record = { logs: LOGS, generationMs: generation, rows, sizes, appends: { withIndex, without } }
    const ms = (x) => x.toFixed(2)
    const lines = [
      `${LOGS.toLocaleString('en')} logs (${generation === null ? 'cached database' : `generated in ${(generation / 1000).toFixed(0)} s`}); searchLogs limit 20, ${RUNS} runs; LIKE 5 runs.`,
      '',
      '| query | hits | relevance p50 / p95 ms | newest p50 / p95 ms | LIKE count(*) p50 ms | LIKE newest 20 p50 ms |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.label} (${r.term}) | ${r.hits} | ${ms(r.relevance.p50)} / ${ms(r.relevance.p95)} | ${ms(r.newest.p50)} / ${ms(r.newest.p95)} | ${ms(r.likeAll.p50)} | ${ms(r.likeNewest.p50)} |`,
      ),
      '',
      `| appends per second | with the index | without | ratio |`,
      '|---|---:|---:|---:|',
      `| addLogs, batches of 100 | ${withIndex.batched.toFixed(0)} | ${without.batched.toFixed(0)} | ${(withIndex.batched / without.batched).toFixed(2)} |`,
      `| addLog, 64 in flight | ${withIndex.single.toFixed(0)} | ${without.single.toFixed(0)} | ${(withIndex.single / without.single).toFixed(2)} |`,
      '',
      ...sizes.map((s) => `- ${s.part}: ${(s.bytes / 1048576).toFixed(1)} MiB`),
    ]
    process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify(record)}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
})
