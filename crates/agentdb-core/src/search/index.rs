//! Keeping the search index exact: indexing the rows the triggers of migration
//! `search_index` recorded as changed, rebuilding the index, and checking it.
//!
//! The triggers are plain SQL, so a write by any tool records its rows in
//! `log_search_pending` / `session_search_pending`, in the write's own transaction.
//! [`drain`] brings the index up to date for every recorded row, inside the caller's
//! transaction. The writer runs it at open, in a commit that finds [`PENDING_LIMIT`] rows
//! recorded, once its queue has been idle a moment, before a search or an integrity check
//! that finds rows recorded, and at close; a search therefore never reads the index while
//! rows are recorded.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;
use crate::search::text;

/// How many recorded rows [`drain`] reads at a time.
pub const CHUNK: usize = 1000;

/// Whether the database has the search index (migration `search_index` is applied).
const HAS_INDEX_SQL: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'log_search_pending')";
/// Whether any row waits to be indexed.
const HAS_PENDING_SQL: &str = "SELECT EXISTS (SELECT 1 FROM log_search_pending) OR EXISTS (SELECT 1 FROM session_search_pending)";
const PENDING_COUNT_SQL: &str =
  "SELECT (SELECT count(*) FROM log_search_pending) + (SELECT count(*) FROM session_search_pending)";
const NEXT_LOGS_SQL: &str = "SELECT p.log_id, l.content, t.text FROM log_search_pending p \
  LEFT JOIN session_logs l ON l.id = p.log_id LEFT JOIN log_search_text t ON t.log_id = p.log_id ORDER BY p.log_id LIMIT ?1";
const HAS_PENDING_SESSIONS_SQL: &str = "SELECT EXISTS (SELECT 1 FROM session_search_pending)";
const LOG_SOURCE_SQL: &str =
  "SELECT l.content, t.text FROM session_logs l LEFT JOIN log_search_text t ON t.log_id = l.id WHERE l.id = ?1";
const HIGHEST_SQL: &str = "SELECT rowid FROM log_search ORDER BY rowid DESC LIMIT 1";
const DELETE_LOG_SQL: &str = "DELETE FROM log_search WHERE rowid = ?1";
const INSERT_LOG_SQL: &str = "INSERT INTO log_search (rowid, body) VALUES (?1, ?2)";
const DONE_LOGS_SQL: &str = "DELETE FROM log_search_pending WHERE log_id <= ?1";
const NEXT_SESSIONS_SQL: &str = "SELECT session_id FROM session_search_pending ORDER BY session_id LIMIT ?1";
const SESSION_SOURCE_SQL: &str = "SELECT name, user_goal FROM sessions WHERE id = ?1";
const DELETE_SESSIONS_SQL: &str =
  "DELETE FROM session_search WHERE session_id IN (SELECT session_id FROM session_search_pending)";
const INSERT_SESSION_SQL: &str = "INSERT INTO session_search (session_id, body) VALUES (?1, ?2)";
const DONE_SESSION_SQL: &str = "DELETE FROM session_search_pending WHERE session_id = ?1";
const SET_TEXT_SQL: &str = "INSERT OR REPLACE INTO log_search_text (log_id, text) VALUES (?1, ?2)";
const CLEAR_TEXT_SQL: &str = "DELETE FROM log_search_text WHERE log_id = ?1";
const RECORD_LOG_SQL: &str = "INSERT INTO log_search_pending (log_id) VALUES (?1) ON CONFLICT DO NOTHING";

/// Whether `conn`'s database has the search index.
pub fn exists(conn: &Connection) -> Result<bool> {
  Ok(conn.prepare_cached(HAS_INDEX_SQL)?.query_row([], |r| r.get(0))?)
}

/// Whether rows wait to be indexed (false when there is no index).
pub fn has_pending(conn: &Connection) -> Result<bool> {
  if !exists(conn)? {
    return Ok(false);
  }
  Ok(conn.prepare_cached(HAS_PENDING_SQL)?.query_row([], |r| r.get(0))?)
}

/// How many recorded rows make a commit index them: below it, rows wait for the writer to
/// be idle, a search, an integrity check or the close, so that many commits share one FTS5
/// segment write.
pub const PENDING_LIMIT: i64 = 1000;

/// Whether the recorded logs' ids span [`PENDING_LIMIT`] or more, or at least that many
/// sessions are recorded. The span is read off the ends of the primary key, so every commit
/// pays two seeks however many logs wait, rather than a walk over them; as no two recorded
/// logs share an id, it is never smaller than their count.
const PENDING_REACHED_SQL: &str =
  "SELECT coalesce((SELECT max(log_id) FROM log_search_pending) - (SELECT min(log_id) FROM log_search_pending) + 1, 0) >= ?1 \
  OR EXISTS (SELECT 1 FROM session_search_pending LIMIT 1 OFFSET ?1 - 1)";

/// Whether [`PENDING_LIMIT`] rows or more wait to be indexed (false when there is no index).
/// Logs count by the span of their ids: an early drain when old logs were changed among
/// new ones, never a late one.
pub fn pending_reached(conn: &Connection) -> Result<bool> {
  if !exists(conn)? {
    return Ok(false);
  }
  Ok(conn.prepare_cached(PENDING_REACHED_SQL)?.query_row([PENDING_LIMIT], |r| r.get(0))?)
}

/// Indexes every recorded row, [`CHUNK`] at a time, calling `progress(done, total)` after
/// each chunk. Runs inside the caller's transaction; does nothing without an index.
/// Returns how many rows it indexed.
pub fn drain_with_progress(conn: &Connection, progress: &mut dyn FnMut(u64, u64)) -> Result<u64> {
  if !has_pending(conn)? {
    return Ok(0);
  }
  let total: u64 = conn.prepare_cached(PENDING_COUNT_SQL)?.query_row([], |r| r.get::<_, i64>(0))? as u64;
  let mut done = 0;
  // Logs above the index's highest rowid (new ones) have no entry to delete.
  let highest: i64 = conn.prepare_cached(HIGHEST_SQL)?.query_row([], |r| r.get(0)).optional()?.unwrap_or(0);
  loop {
    let chunk: Vec<(i64, Option<String>, Option<String>)> = conn
      .prepare_cached(NEXT_LOGS_SQL)?
      .query_map([CHUNK as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
      .collect::<rusqlite::Result<_>>()?;
    let Some(&(last, _, _)) = chunk.last() else { break };
    for (id, content, explicit) in &chunk {
      if *id <= highest {
        conn.prepare_cached(DELETE_LOG_SQL)?.execute([id])?;
      }
      // A log that is gone (content NULL) stays out of the index.
      let source = match (explicit, content) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(content)) => Some(text::of_content(content)),
        (None, None) => None,
      };
      if let Some(source) = source.filter(|s| text::has_token(s)) {
        conn.prepare_cached(INSERT_LOG_SQL)?.execute(rusqlite::params![id, text::prepare(&source)])?;
      }
    }
    // The chunk is every recorded id up to `last`: nothing else records rows meanwhile.
    conn.prepare_cached(DONE_LOGS_SQL)?.execute([last])?;
    done += chunk.len() as u64;
    progress(done, total);
  }
  if !conn.prepare_cached(HAS_PENDING_SESSIONS_SQL)?.query_row([], |r| r.get::<_, bool>(0))? {
    return Ok(done);
  }
  // One pass over the session index removes the old rows of every recorded session (its
  // session_id column cannot be looked up, only scanned).
  conn.prepare_cached(DELETE_SESSIONS_SQL)?.execute([])?;
  loop {
    let ids: Vec<String> =
      conn.prepare_cached(NEXT_SESSIONS_SQL)?.query_map([CHUNK as i64], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
      break;
    }
    for id in &ids {
      index_session(conn, id)?;
    }
    done += ids.len() as u64;
    progress(done, total);
  }
  Ok(done)
}

/// [`drain_with_progress`] without progress.
pub fn drain(conn: &Connection) -> Result<u64> {
  drain_with_progress(conn, &mut |_, _| {})
}

/// The searchable text of log `id` as it is now, or `None` when the log is gone.
pub fn log_text(conn: &Connection, id: i64) -> Result<Option<String>> {
  let source: Option<(String, Option<String>)> =
    conn.prepare_cached(LOG_SOURCE_SQL)?.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
  Ok(source.map(|(content, explicit)| explicit.unwrap_or_else(|| text::of_content(&content))))
}

/// The searchable text of session `id` as it is now, or `None` when the session is gone.
pub fn session_text(conn: &Connection, id: &str) -> Result<Option<String>> {
  let source: Option<(Option<String>, Option<String>)> =
    conn.prepare_cached(SESSION_SOURCE_SQL)?.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
  Ok(source.map(|(name, goal)| text::of_session(name.as_deref(), goal.as_deref())))
}

fn index_session(conn: &Connection, id: &str) -> Result<()> {
  if let Some(source) = session_text(conn, id)? {
    if text::has_token(&source) {
      conn.prepare_cached(INSERT_SESSION_SQL)?.execute(rusqlite::params![id, text::prepare(&source)])?;
    }
  }
  conn.prepare_cached(DONE_SESSION_SQL)?.execute([id])?;
  Ok(())
}

/// Records `text` as log `id`'s searchable text in place of its content's (the `searchText`
/// of `addLog`/`updateLog`), to be indexed before the transaction commits. Does nothing
/// without an index.
pub fn set_log_text(conn: &Connection, id: i64, text: &str) -> Result<()> {
  if !exists(conn)? {
    return Ok(());
  }
  conn.prepare_cached(SET_TEXT_SQL)?.execute(rusqlite::params![id, text])?;
  conn.prepare_cached(RECORD_LOG_SQL)?.execute([id])?;
  Ok(())
}

/// Drops log `id`'s explicit search text: it is searched by its content's text again.
pub fn clear_log_text(conn: &Connection, id: i64) -> Result<()> {
  if !exists(conn)? {
    return Ok(());
  }
  conn.prepare_cached(CLEAR_TEXT_SQL)?.execute([id])?;
  conn.prepare_cached(RECORD_LOG_SQL)?.execute([id])?;
  Ok(())
}

/// Empties the index and indexes every log and session again, inside the caller's
/// transaction. Returns how many rows it indexed (0 without an index).
pub fn rebuild(conn: &Connection, progress: &mut dyn FnMut(u64, u64)) -> Result<u64> {
  if !exists(conn)? {
    return Ok(0);
  }
  conn.execute_batch(
    "INSERT INTO log_search (log_search) VALUES ('delete-all'); \
     DELETE FROM session_search; \
     DELETE FROM log_search_text WHERE log_id NOT IN (SELECT id FROM session_logs); \
     INSERT INTO log_search_pending (log_id) SELECT id FROM session_logs WHERE true ON CONFLICT DO NOTHING; \
     INSERT INTO session_search_pending (session_id) SELECT id FROM sessions WHERE true ON CONFLICT DO NOTHING;",
  )?;
  drain_with_progress(conn, progress)
}

/// The most problems [`check`] lists.
const MAX_LISTED: usize = 20;

/// Checks the index against the tables: FTS5's own consistency check of both indexes, then
/// that the log index holds exactly the logs with searchable text and the session index
/// exactly the sessions with a name or goal, each with the text they have now (rows still
/// waiting to be indexed aside). Returns one line per problem (at most [`MAX_LISTED`], then
/// a count); empty when the index is exact or absent.
pub fn check(conn: &Connection) -> Result<Vec<String>> {
  if !exists(conn)? {
    return Ok(Vec::new());
  }
  let mut problems = Vec::new();
  // FTS5's own structure check is a command written as an INSERT, which a read-only
  // connection may not run; there the index is only compared with the rows below.
  let read_only = conn.is_readonly(rusqlite::MAIN_DB)? || conn.pragma_query_value(None, "query_only", |r| r.get::<_, bool>(0))?;
  for table in ["log_search", "session_search"].into_iter().filter(|_| !read_only) {
    if let Err(err) = conn.execute_batch(&format!("INSERT INTO {table} ({table}) VALUES ('integrity-check')")) {
      problems.push(format!("{table}: {}", crate::error::Error::from(err).message));
    }
  }
  let pending: BTreeSet<i64> =
    conn.prepare("SELECT log_id FROM log_search_pending")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
  let indexed: BTreeSet<i64> =
    conn.prepare("SELECT rowid FROM log_search")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
  let mut count = 0usize;
  let mut report = |line: String, problems: &mut Vec<String>| {
    count += 1;
    if problems.len() < MAX_LISTED {
      problems.push(line);
    }
  };
  let mut expected = BTreeSet::new();
  let mut stmt =
    conn.prepare("SELECT l.id, l.content, t.text FROM session_logs l LEFT JOIN log_search_text t ON t.log_id = l.id")?;
  let mut rows = stmt.query([])?;
  let mut probe = conn.prepare("SELECT 1 FROM log_search WHERE log_search MATCH ?1 AND rowid = ?2")?;
  while let Some(row) = rows.next()? {
    let id: i64 = row.get(0)?;
    if pending.contains(&id) {
      continue;
    }
    let source =
      row.get::<_, Option<String>>(2)?.unwrap_or_else(|| text::of_content(&row.get::<_, String>(1).unwrap_or_default()));
    if !text::has_token(&source) {
      continue;
    }
    expected.insert(id);
    if !indexed.contains(&id) {
      report(format!("log_search: log {id} has searchable text but is not indexed"), &mut problems);
    } else if !probe.exists(rusqlite::params![format!("\"{}\"", text::prepare(&source).replace('"', "\"\"")), id])? {
      report(format!("log_search: log {id} is indexed with other text than it has"), &mut problems);
    }
  }
  for id in indexed.difference(&expected).filter(|id| !pending.contains(id)) {
    report(format!("log_search: row {id} is not a log with searchable text"), &mut problems);
  }
  let mut stmt = conn.prepare(
    "SELECT s.id, s.name, s.user_goal, i.body FROM sessions s LEFT JOIN session_search i ON i.session_id = s.id \
     WHERE s.id NOT IN (SELECT session_id FROM session_search_pending)",
  )?;
  let mut rows = stmt.query([])?;
  while let Some(row) = rows.next()? {
    let id: String = row.get(0)?;
    let source = text::of_session(row.get::<_, Option<String>>(1)?.as_deref(), row.get::<_, Option<String>>(2)?.as_deref());
    let want = text::has_token(&source).then(|| text::prepare(&source));
    if want != row.get::<_, Option<String>>(3)? {
      report(format!("session_search: session {id:?} is not indexed with its name and goal"), &mut problems);
    }
  }
  let orphans: i64 = conn.query_row(
    "SELECT count(*) FROM session_search WHERE session_id NOT IN (SELECT id FROM sessions) \
     AND session_id NOT IN (SELECT session_id FROM session_search_pending)",
    [],
    |r| r.get(0),
  )?;
  if orphans > 0 {
    report(format!("session_search: {orphans} rows name no session"), &mut problems);
  }
  if count > problems.len() {
    problems.push(format!("… and {} more", count - problems.len()));
  }
  Ok(problems)
}
