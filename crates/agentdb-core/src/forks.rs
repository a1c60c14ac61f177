//! Forks: a new session holding copies of another session's logs up to one of them, made in
//! one transaction inside SQLite (INSERT … SELECT; no row leaves it), and the record of where
//! each fork came from.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::checkpoints;
use crate::error::{Error, Result};
use crate::logs;
use crate::model::NEW_UUID;
use crate::sessions::{self, Session};

/// What `forkSession` is asked for: the source session, the log to copy up to (all when
/// `None`) and the new session's id and name (the source's name when `None`).
#[derive(Clone, Debug, Default)]
pub struct ForkRequest {
  /// The session to fork.
  pub source: String,
  /// Copy the logs up to and including this one, in insertion order.
  pub at_log_id: Option<i64>,
  /// The new session's id; a random UUID when absent.
  pub id: Option<String>,
  /// The new session's name.
  pub name: Option<String>,
}

/// A session made by `forkSession`, with where it came from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fork {
  /// The new session.
  pub session: Session,
  /// The session it was forked from; `None` once that session is deleted.
  pub source_session_id: Option<String>,
  /// The source's log it was forked at; `None` when it took them all.
  pub at_log_id: Option<i64>,
  /// When it was forked.
  pub created_at: String,
}

/// The new session: the source's agent, goal and overrides, status `idle`, no external id.
fn insert_session_sql() -> String {
  let columns = format!("name, main_agent_id, sub_agent_ids, user_goal, {}", *crate::settings::COLUMNS);
  let copied = columns.replacen("name, ", "", 1);
  format!(
    "INSERT INTO sessions (id, {columns}) SELECT coalesce(?2, {NEW_UUID}), coalesce(?3, name), {copied} \
     FROM sessions WHERE id = ?1 RETURNING id"
  )
}

/// How far the copies of session `?1`'s logs are moved: past every id AUTOINCREMENT has
/// handed out, so they keep their order and their parent links.
const DELTA_SQL: &str = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_logs'), 0) + 1 \
   - coalesce((SELECT min(id) FROM session_logs WHERE session_id = ?1), 1)";

/// Copies the logs of `?1` with ids up to `?3` into session `?2`, ids moved by `?4`, with
/// their statuses (a parent copied later than its child by a hand-made link is dropped to the
/// root). The search triggers record every copy as to be indexed.
const COPY_LOGS_SQL: &str = "INSERT INTO session_logs \
     (id, session_id, parent_id, role, type, content, metadata, status, created_at, updated_at) \
   SELECT id + ?4, ?2, CASE WHEN parent_id < id THEN parent_id + ?4 END, \
     role, type, content, metadata, status, created_at, updated_at \
   FROM session_logs WHERE session_id = ?1 AND id <= ?3 ORDER BY id";

/// Copies the `searchText` of the copied logs, so that a copy is found by the same text as
/// its original when it is indexed (before the fork commits).
const COPY_SEARCH_TEXT_SQL: &str = "INSERT INTO log_search_text (log_id, text) \
   SELECT t.log_id + ?3, t.text FROM session_logs l JOIN log_search_text t ON t.log_id = l.id \
   WHERE l.session_id = ?1 AND l.id <= ?2";

/// Forks a session. `NOT_FOUND` for a missing source, or a fork point that is not one of its
/// logs; `ALREADY_EXISTS` for a taken id.
pub fn fork(conn: &Connection, request: &ForkRequest) -> Result<Fork> {
  if let Some(at) = request.at_log_id {
    logs::require_of_session(conn, at, &request.source, "options.atLogId")?;
  }
  let id: Option<String> = conn
    .prepare_cached(&insert_session_sql())?
    .query_row(params![request.source, request.id, request.name], |r| r.get(0))
    .optional()
    .map_err(|e| Error::from(e).naming_duplicate("session", request.id.as_deref()))?;
  let Some(id) = id else {
    return Err(Error::not_found(format!("session {:?} does not exist", request.source)));
  };
  let last = request.at_log_id.unwrap_or(i64::MAX);
  let delta: i64 = conn.prepare_cached(DELTA_SQL)?.query_row([&request.source], |r| r.get(0))?;
  conn.prepare_cached(COPY_LOGS_SQL)?.execute(params![request.source, id, last, delta])?;
  conn.prepare_cached(COPY_SEARCH_TEXT_SQL)?.execute(params![request.source, last, delta])?;
  checkpoints::copy_to_fork(conn, &request.source, &id, last, delta)?;
  conn
    .prepare_cached("INSERT INTO session_forks (session_id, source_session_id, at_log_id) VALUES (?1, ?2, ?3)")?
    .execute(params![id, request.source, request.at_log_id])?;
  get(conn, &id)?.ok_or_else(|| Error::internal(format!("the fork {id:?} was not read back")))
}

/// `Fork`'s columns: the session's, then the record's; forks in the trash are left out.
fn select_sql(filter: &str) -> String {
  let columns = sessions::SESSION_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ");
  format!(
    "SELECT {columns}, f.source_session_id, f.at_log_id, f.created_at FROM session_forks f \
     JOIN sessions s ON s.id = f.session_id WHERE s.deleted_at IS NULL AND {filter}"
  )
}

fn read(row: &Row) -> rusqlite::Result<Fork> {
  let at = sessions::SESSION_COLUMN_COUNT;
  Ok(Fork {
    session: sessions::session_from_row(row, 0)?,
    source_session_id: row.get(at)?,
    at_log_id: row.get(at + 1)?,
    created_at: row.get(at + 2)?,
  })
}

/// The fork record of session `id`, if it was made by forking.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Fork>> {
  Ok(conn.prepare_cached(&select_sql("f.session_id = ?1"))?.query_row([id], read).optional()?)
}

/// The forks made from session `source`, oldest first (in the order they were made).
pub fn list(conn: &Connection, source: &str) -> Result<Vec<Fork>> {
  let sql =
    format!("{} ORDER BY f.created_at, f.rowid", select_sql("f.source_session_id IS NOT NULL AND f.source_session_id = ?1"));
  Ok(conn.prepare_cached(&sql)?.query_map([source], read)?.collect::<rusqlite::Result<_>>()?)
}
