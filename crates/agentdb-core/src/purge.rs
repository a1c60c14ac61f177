//! Retention on purpose: `purge` removes for good the sessions (with their logs) that match
//! every criterion it is given, and agents left empty in the trash, in chunks.
//!
//! Nothing is purged by default, and a call that gives no criterion is refused. A real run
//! is a chain of writes, each queued behind whatever the app queued meanwhile and committed
//! on its own, each removing whole sessions up to a bounded number of logs (one session
//! larger than that alone), so the write lock is never held for long and a killed process
//! leaves every session either whole or gone. A dry run counts, on a reader, exactly what a
//! real run at that moment would remove: both read the same predicate.

use std::ops::RangeInclusive;
use std::sync::Arc;

use rusqlite::{named_params, Connection};
use serde::Serialize;

use crate::cascade;
use crate::error::{Error, Result};
use crate::input::fields::{Fields, Source};
use crate::search::{index, timestamp};
use crate::space::LOG_BYTES;
use crate::store::Store;

/// `keepLatestPerAgent`: at least one (keeping none is a purge of every session, which
/// `sessionIds` or `olderThan` say on purpose).
pub const KEEP_LATEST: RangeInclusive<u64> = 1..=1_000_000_000;

/// A chunk stops taking sessions once it holds this many logs...
const CHUNK_LOGS: i64 = 500;
/// ...or this many sessions.
const CHUNK_SESSIONS: usize = 50;

/// What to purge: the sessions that match every criterion given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeRequest {
  /// Sessions moved to the trash before this ISO-8601 time; also agents moved there before
  /// it, once none of their sessions is left.
  pub trashed_before: Option<String>,
  /// Sessions whose last activity (`lastActivityAt`) is before this ISO-8601 time.
  pub older_than: Option<String>,
  /// Sessions that are not among their agent's this many most recently active (in the
  /// trash or not).
  pub keep_latest_per_agent: Option<u64>,
  /// These sessions (JSON array text).
  pub session_ids: Option<String>,
  /// Count what would be removed, remove nothing.
  pub dry_run: bool,
}

/// What a purge removed (or, in a dry run, would remove).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeReport {
  /// Whether nothing was removed, only counted.
  pub dry_run: bool,
  /// Sessions removed.
  pub sessions: u64,
  /// Their logs.
  pub logs: u64,
  /// The bytes of those logs' stored `content` and `metadata` (their JSON text).
  pub bytes: u64,
  /// Agents removed from the trash (`trashedBefore`), with no session left.
  pub agents: u64,
  /// How many write transactions the purge took (0 in a dry run).
  pub chunks: u64,
}

impl PurgeReport {
  fn add(mut self, other: PurgeReport) -> PurgeReport {
    self.sessions += other.sessions;
    self.logs += other.logs;
    self.bytes += other.bytes;
    self.agents += other.agents;
    self.chunks += other.chunks;
    self
  }
}

impl PurgeRequest {
  /// Reads `purge`'s options. `INVALID_ARGUMENT` for a bad field, or for no criterion at
  /// all (that would be everything).
  pub fn read<S: Source>(options: S) -> Result<PurgeRequest> {
    let names = ["trashedBefore", "olderThan", "keepLatestPerAgent", "sessionIds", "dryRun"];
    let f = Fields::of(options, "options", &names, true)?;
    let request = PurgeRequest {
      trashed_before: f.parsed("trashedBefore", timestamp)?,
      older_than: f.parsed("olderThan", timestamp)?,
      keep_latest_per_agent: f.whole("keepLatestPerAgent", &KEEP_LATEST)?,
      session_ids: f.strings("sessionIds")?.map(|ids| crate::json::text(&ids)),
      dry_run: f.boolean("dryRun")?.unwrap_or(false),
    };
    let PurgeRequest { trashed_before, older_than, keep_latest_per_agent, session_ids, .. } = &request;
    if trashed_before.is_none() && older_than.is_none() && keep_latest_per_agent.is_none() && session_ids.is_none() {
      return Err(Error::invalid(
        "purge needs at least one of options.trashedBefore, olderThan, keepLatestPerAgent, sessionIds: nothing is purged by default",
      ));
    }
    Ok(request)
  }
}

/// Whether session `s` is to be purged: every criterion given holds (one not given holds).
/// Read by the dry run, by each chunk and for the agents, so that they agree.
const MATCHES: &str = "coalesce(( \
     (:trashed_before IS NULL OR (s.deleted_at IS NOT NULL AND s.deleted_at < :trashed_before)) \
     AND (:older_than IS NULL OR s.last_activity_at < :older_than) \
     AND (:ids IS NULL OR s.id IN (SELECT value FROM json_each(:ids))) \
     AND (:keep IS NULL OR (SELECT count(*) FROM (SELECT 1 FROM sessions k \
       WHERE k.main_agent_id = s.main_agent_id AND k.last_activity_seq > s.last_activity_seq LIMIT :keep)) >= :keep) \
   ), 0)";

/// The agents `trashedBefore` removes: in the trash since before it, every session of them
/// purged (none left once the sessions are).
fn agents_sql(select: &str) -> String {
  format!(
    "{select} FROM agents a WHERE :trashed_before IS NOT NULL AND :ids IS NULL \
       AND a.deleted_at IS NOT NULL AND a.deleted_at < :trashed_before \
       AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.main_agent_id = a.id AND NOT {MATCHES})"
  )
}

macro_rules! params_of {
  ($request:expr $(, $name:literal => $value:expr)*) => {
    named_params! {
      ":trashed_before": $request.trashed_before,
      ":older_than": $request.older_than,
      ":ids": $request.session_ids,
      ":keep": $request.keep_latest_per_agent.map(|n| n as i64),
      $($name: $value,)*
    }
  };
}

/// What a run would remove now (a dry run), read in one snapshot.
pub fn count(conn: &Connection, request: &PurgeRequest) -> Result<PurgeReport> {
  let sessions_sql = format!(
    "SELECT count(*), coalesce(sum((SELECT count(*) FROM session_logs l WHERE l.session_id = s.id)), 0), \
       coalesce(sum((SELECT coalesce(sum({LOG_BYTES}), 0) FROM session_logs l WHERE l.session_id = s.id)), 0) \
     FROM sessions s WHERE {MATCHES}"
  );
  let (sessions, logs, bytes): (i64, i64, i64) =
    conn.prepare_cached(&sessions_sql)?.query_row(params_of!(request), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
  let agents: i64 = conn.prepare_cached(&agents_sql("SELECT count(*)"))?.query_row(params_of!(request), |r| r.get(0))?;
  Ok(PurgeReport {
    dry_run: true,
    sessions: sessions as u64,
    logs: logs as u64,
    bytes: bytes as u64,
    agents: agents as u64,
    chunks: 0,
  })
}

/// One chunk of a run: removes the next matching sessions after insertion key `after`, up
/// to the chunk's bounds, and returns what it removed with the key to go on from; `None`
/// once no session is left to remove, in which chunk the agents are removed.
pub fn chunk(conn: &Connection, request: &PurgeRequest, after: i64) -> Result<(PurgeReport, Option<i64>)> {
  let next_sql = format!(
    "SELECT s.seq, s.id, (SELECT count(*) FROM session_logs l WHERE l.session_id = s.id) FROM sessions s \
     WHERE s.seq > :after AND {MATCHES} ORDER BY s.seq"
  );
  let mut taken: Vec<(i64, String)> = Vec::new();
  let mut logs_taken = 0;
  {
    let mut stmt = conn.prepare_cached(&next_sql)?;
    let mut rows = stmt.query(params_of!(request, ":after" => after))?;
    while let Some(row) = rows.next()? {
      let logs: i64 = row.get(2)?;
      if !taken.is_empty() && (logs_taken + logs > CHUNK_LOGS || taken.len() >= CHUNK_SESSIONS) {
        break;
      }
      taken.push((row.get(0)?, row.get(1)?));
      logs_taken += logs;
    }
  }
  let mut report = PurgeReport { chunks: 1, ..PurgeReport::default() };
  let Some(&(last, _)) = taken.last() else {
    let agents: Vec<String> = conn
      .prepare_cached(&agents_sql("SELECT a.id"))?
      .query_map(params_of!(request), |r| r.get(0))?
      .collect::<rusqlite::Result<_>>()?;
    for id in agents {
      cascade::delete_agent(conn, &id)?;
      report.agents += 1;
    }
    return Ok((report, None));
  };
  let size_sql = format!("SELECT count(*), coalesce(sum({LOG_BYTES}), 0) FROM session_logs l WHERE l.session_id = ?1");
  for (_, id) in &taken {
    let (logs, bytes): (i64, i64) = conn.prepare_cached(&size_sql)?.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    cascade::delete_session(conn, id)?;
    report.sessions += 1;
    report.logs += logs as u64;
    report.bytes += bytes as u64;
  }
  Ok((report, Some(last)))
}

/// One chunk in a write transaction of its own, which also brings the search index up to
/// date for the rows it removed (and the few the app's writes left recorded): the index's
/// work is bounded by the chunk, and no app commit inherits it.
pub fn transaction(conn: &Connection, request: &PurgeRequest, after: i64) -> Result<(PurgeReport, Option<i64>)> {
  conn.execute_batch("BEGIN IMMEDIATE")?;
  let done = chunk(conn, request, after).and_then(|removed| {
    index::drain(conn)?;
    conn.execute_batch("COMMIT")?;
    Ok(removed)
  });
  if done.is_err() && !conn.is_autocommit() {
    let _ = conn.execute_batch("ROLLBACK");
  }
  done
}

/// Runs a purge on `store`'s writer as a chain of chunks, each queued once the one before
/// it has committed (behind the writes queued meanwhile) and run as a writer job of its
/// own, never in one transaction with the app's writes: an app write waits for at most the
/// one chunk running when it came. Delivers the sum. A chunk
/// that fails stops the chain; what the chunks before it removed stays removed, and the
/// error says how much that was.
pub fn run(store: Arc<Store>, request: PurgeRequest, deliver: impl FnOnce(Result<PurgeReport>) + Send + 'static) {
  next(store, Arc::new(request), PurgeReport::default(), 0, Box::new(deliver));
}

type Deliver = Box<dyn FnOnce(Result<PurgeReport>) + Send>;

fn next(store: Arc<Store>, request: Arc<PurgeRequest>, done: PurgeReport, after: i64, deliver: Deliver) {
  let this = Arc::clone(&request);
  let again = Arc::clone(&store);
  store.exclusive(
    move |conn| transaction(conn, &this, after),
    move |outcome| match outcome {
      Err(err) => {
        let so_far = format!("purge stopped after removing {} session(s) and {} log(s)", done.sessions, done.logs);
        deliver(Err(err.context(so_far)))
      }
      Ok((part, Some(last))) => next(again, request, done.add(part), last, deliver),
      Ok((part, None)) => deliver(Ok(done.add(part))),
    },
  );
}
