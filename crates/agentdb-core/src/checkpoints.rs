//! Compaction checkpoints: the summary an app made of a session's log up to one entry, so
//! that a long conversation fits a model's context (the summary, then only the entries after
//! it). One per session, in `session_checkpoints`; setting it again replaces it.
//!
//! What happens to it with the log: deleting the covered entry (`throughLogId`, by
//! `deleteLog`, `deleteLogs`, a cascade or raw SQL) deletes the checkpoint with it, through
//! the table's foreign key (the point it summarises up to is gone); deleting or editing an
//! earlier entry keeps it. A fork at or after the covered entry (or of every entry) gets a
//! copy pointing at the copied entry; a fork before it gets none.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::logs;
use crate::page::Order;
use crate::stored;

/// A checkpoint to store: what `setCheckpoint`'s `checkpoint` argument holds, checked.
#[derive(Clone, Debug)]
pub struct NewCheckpoint {
  /// The last entry the summary covers: an entry of the same session.
  pub through_log_id: i64,
  /// The summary: text, not blank, at most [`crate::rules::SUMMARY_UNITS`] UTF-16 units.
  pub summary: String,
  /// How many tokens the covered entries took.
  pub covered_tokens: Option<i64>,
  /// How many tokens the summary takes.
  pub summary_tokens: Option<i64>,
  /// Any JSON value of the app's (the model that summarised, a version).
  pub metadata: Option<Json>,
}

/// A checkpoint as stored, with the cursor that reads the entries after it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
  /// The session it belongs to.
  pub session_id: String,
  /// The last entry the summary covers.
  pub through_log_id: i64,
  /// The summary.
  pub summary: String,
  /// How many tokens the covered entries took, if the app said.
  pub covered_tokens: Option<i64>,
  /// How many tokens the summary takes, if the app said.
  pub summary_tokens: Option<i64>,
  /// The app's metadata, or null.
  pub metadata: Option<Json>,
  /// When it was set (ISO-8601 UTC, ms).
  pub created_at: String,
  /// A cursor of `getLogs(sessionId)` (oldest first) that starts just after the covered
  /// entry: passed as `after`, the list holds only the entries the summary does not cover.
  pub logs_after: String,
}

/// The columns of `session_checkpoints`, in the order [`checkpoint_from_row`] reads them.
pub const CHECKPOINT_COLUMNS: &str = "session_id, through_log_id, summary, covered_tokens, summary_tokens, metadata, created_at";

/// How many columns [`CHECKPOINT_COLUMNS`] has.
pub const CHECKPOINT_COLUMN_COUNT: usize = 7;

/// Reads a checkpoint from `row`, starting at column `at`; `None` when its columns are NULL
/// (a session without one, through a LEFT JOIN).
pub fn checkpoint_from_row(row: &Row, at: usize) -> rusqlite::Result<Option<Checkpoint>> {
  if row.get_ref(at)? == ValueRef::Null {
    return Ok(None);
  }
  stored::read("session_checkpoints", row, at, || {
    let session_id: String = row.get(at)?;
    let through_log_id: i64 = row.get(at + 1)?;
    Ok(Some(Checkpoint {
      logs_after: logs::session_query("logs", &session_id, Order::Ascending).cursor_at(through_log_id).encode(),
      session_id,
      through_log_id,
      summary: row.get(at + 2)?,
      covered_tokens: row.get(at + 3)?,
      summary_tokens: row.get(at + 4)?,
      metadata: json::nullable_column(row, at + 5)?,
      created_at: row.get(at + 6)?,
    }))
  })
}

/// Sets (or replaces) the checkpoint of session `session_id`. `NOT_FOUND` for a missing
/// session, or a `throughLogId` that is not one of its entries; `NOT_WRITTEN` when a trigger
/// skipped the write.
pub fn set(conn: &Connection, session_id: &str, input: &NewCheckpoint) -> Result<Checkpoint> {
  logs::require_of_session(conn, input.through_log_id, session_id, "checkpoint.throughLogId")?;
  let sql = format!(
    "INSERT INTO session_checkpoints (session_id, through_log_id, summary, covered_tokens, summary_tokens, metadata) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (session_id) DO UPDATE SET through_log_id = excluded.through_log_id, summary = excluded.summary, \
       covered_tokens = excluded.covered_tokens, summary_tokens = excluded.summary_tokens, metadata = excluded.metadata, \
       created_at = excluded.created_at \
     RETURNING {CHECKPOINT_COLUMNS}"
  );
  let metadata = input.metadata.as_ref().map(|m| m.get());
  let values = params![session_id, input.through_log_id, input.summary, input.covered_tokens, input.summary_tokens, metadata];
  conn
    .prepare_cached(&sql)?
    .query_row(values, |row| checkpoint_from_row(row, 0))
    .optional()?
    .flatten()
    .ok_or_else(|| Error::not_written("session_checkpoints", format!("the checkpoint of session {session_id:?}")))
}

/// Deletes the checkpoint of session `session_id`; whether it had one. `NOT_WRITTEN` when a
/// trigger skipped the delete.
pub fn clear(conn: &Connection, session_id: &str) -> Result<bool> {
  if conn.prepare_cached("DELETE FROM session_checkpoints WHERE session_id = ?1")?.execute([session_id])? > 0 {
    return Ok(true);
  }
  if conn.prepare_cached("SELECT 1 FROM session_checkpoints WHERE session_id = ?1")?.exists([session_id])? {
    return Err(Error::not_written("session_checkpoints", format!("the deletion of the checkpoint of session {session_id:?}")));
  }
  Ok(false)
}

/// Copies the checkpoint of session `?1` to its fork `?2` when the fork holds its covered
/// entry (the copies are the entries up to `?3`, ids moved by `?4`), pointing at that entry's
/// copy; a fork made before the covered entry gets none.
const COPY_TO_FORK_SQL: &str = "INSERT INTO session_checkpoints \
     (session_id, through_log_id, summary, covered_tokens, summary_tokens, metadata, created_at) \
   SELECT ?2, c.through_log_id + ?4, c.summary, c.covered_tokens, c.summary_tokens, c.metadata, c.created_at \
   FROM session_checkpoints c JOIN session_logs l ON l.id = c.through_log_id AND l.session_id = ?1 \
   WHERE c.session_id = ?1 AND c.through_log_id <= ?3";

/// Gives the fork `fork` of session `source` a copy of the source's checkpoint, as
/// [`COPY_TO_FORK_SQL`] says; `last` and `delta` are the fork's copy bounds.
pub fn copy_to_fork(conn: &Connection, source: &str, fork: &str, last: i64, delta: i64) -> Result<()> {
  conn.prepare_cached(COPY_TO_FORK_SQL)?.execute(params![source, fork, last, delta])?;
  Ok(())
}
