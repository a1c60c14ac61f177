//! The trash: agents and sessions moved there instead of being deleted, brought back from
//! it exactly as they were, and the writes refused while they are there.
//!
//! A row is in the trash while its `deleted_at` (migration `trash`) holds the time it was
//! moved there; nothing else of it changes, so restoring it (clearing the column) gives back
//! the same row, with its logs, its place in every list and its search entries (the index
//! keeps them; searches leave out what is in the trash). Moving an agent there moves its
//! sessions that are not there yet, marked `trashed_with_agent`; restoring the agent
//! restores exactly those, and a session trashed on its own before stays in the trash.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, ErrorCode, Result};
use crate::page::ListQuery;

/// Which rows a read sees, as to the trash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trash {
  /// Only rows out of the trash (every read's default).
  #[default]
  Exclude,
  /// Rows in the trash or not (`includeTrashed: true` of the lookups).
  Include,
  /// Only rows in the trash (`trashed: true` of the lists).
  Only,
}

impl Trash {
  /// The lists' `trashed` option: the trash alone, or (absent, false) everything else.
  pub fn of_list(trashed: Option<bool>) -> Trash {
    if trashed == Some(true) {
      Trash::Only
    } else {
      Trash::Exclude
    }
  }

  /// The lookups' `includeTrashed` option.
  pub fn of_lookup(include_trashed: Option<bool>) -> Trash {
    if include_trashed == Some(true) {
      Trash::Include
    } else {
      Trash::Exclude
    }
  }

  /// Adds this to a list's filters (so a cursor of the trash is refused by the list
  /// without it, and the other way round).
  pub fn filter(self, query: &mut ListQuery) {
    query.filter("(deleted_at IS NOT NULL) = :trashed", ":trashed", i64::from(self == Trash::Only));
  }
}

/// The time a row is moved to the trash at, as every timestamp of the schema.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Moves a session to the trash. Whether it was moved: false when it does not exist or is
/// in the trash already.
pub fn trash_session(conn: &Connection, id: &str) -> Result<bool> {
  let sql = format!("UPDATE sessions SET deleted_at = {NOW} WHERE id = ?1 AND deleted_at IS NULL");
  Ok(conn.prepare_cached(&sql)?.execute([id])? > 0)
}

/// Moves an agent to the trash with its sessions that are not there yet. Whether it was
/// moved: false when it does not exist or is in the trash already.
pub fn trash_agent(conn: &Connection, id: &str) -> Result<bool> {
  let sql = format!("UPDATE agents SET deleted_at = {NOW} WHERE id = ?1 AND deleted_at IS NULL");
  if conn.prepare_cached(&sql)?.execute([id])? == 0 {
    return Ok(false);
  }
  let sessions =
    format!("UPDATE sessions SET deleted_at = {NOW}, trashed_with_agent = 1 WHERE main_agent_id = ?1 AND deleted_at IS NULL");
  conn.prepare_cached(&sessions)?.execute([id])?;
  Ok(true)
}

/// Brings a session back from the trash. Whether it was there: false for a session that
/// is not. `NOT_FOUND` when it does not exist, `TRASHED` while its agent is in the trash
/// (restore the agent, which brings back the sessions that went with it).
pub fn restore_session(conn: &Connection, id: &str) -> Result<bool> {
  let state: Option<(bool, Option<String>, String)> = conn
    .prepare_cached(
      "SELECT s.deleted_at IS NOT NULL, a.deleted_at, a.id FROM sessions s JOIN agents a ON a.id = s.main_agent_id \
       WHERE s.id = ?1",
    )?
    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .optional()?;
  let Some((trashed, agent_trashed, agent)) = state else {
    return Err(Error::not_found(format!("session {id:?} does not exist")));
  };
  if agent_trashed.is_some() {
    return Err(Error::new(
      ErrorCode::Trashed,
      format!("session {id:?} cannot leave the trash while its agent {agent:?} is there: restore the agent first"),
    ));
  }
  if !trashed {
    return Ok(false);
  }
  conn.prepare_cached("UPDATE sessions SET deleted_at = NULL, trashed_with_agent = 0 WHERE id = ?1")?.execute([id])?;
  Ok(true)
}

/// Brings an agent back from the trash, with the sessions that went there with it. Whether
/// it was there: false for an agent that is not. `NOT_FOUND` when it does not exist.
pub fn restore_agent(conn: &Connection, id: &str) -> Result<bool> {
  let trashed: Option<bool> =
    conn.prepare_cached("SELECT deleted_at IS NOT NULL FROM agents WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
  match trashed {
    None => Err(Error::not_found(format!("agent {id:?} does not exist"))),
    Some(false) => Ok(false),
    Some(true) => {
      conn.prepare_cached("UPDATE agents SET deleted_at = NULL WHERE id = ?1")?.execute([id])?;
      conn
        .prepare_cached(
          "UPDATE sessions SET deleted_at = NULL, trashed_with_agent = 0 WHERE main_agent_id = ?1 AND trashed_with_agent = 1",
        )?
        .execute([id])?;
      Ok(true)
    }
  }
}

fn refused(what: String) -> Error {
  Error::new(ErrorCode::Trashed, format!("{what} is in the trash: restore it before writing to it"))
}

/// Whether any session is in the trash (a look at its partial index): searches leave the
/// trash out only when there is one, so that a search without filters can read the index
/// alone.
pub fn holds_sessions(conn: &Connection) -> Result<bool> {
  Ok(conn.prepare_cached("SELECT 1 FROM sessions WHERE deleted_at IS NOT NULL LIMIT 1")?.exists([])?)
}

/// `TRASHED` when agent `id` is in the trash. A missing agent passes, for the write to
/// report.
pub fn refuse_agent(conn: &Connection, id: &str) -> Result<()> {
  if conn.prepare_cached("SELECT 1 FROM agents WHERE id = ?1 AND deleted_at IS NOT NULL")?.exists([id])? {
    return Err(refused(format!("agent {id:?}")));
  }
  Ok(())
}

/// `TRASHED` when session `id` is in the trash. A missing session passes, for the write to
/// report.
pub fn refuse_session(conn: &Connection, id: &str) -> Result<()> {
  if conn.prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND deleted_at IS NOT NULL")?.exists([id])? {
    return Err(refused(format!("session {id:?}")));
  }
  Ok(())
}

/// `TRASHED` when the session of log `id` is in the trash. A missing log passes, for the
/// write to report.
pub fn refuse_log(conn: &Connection, id: i64) -> Result<()> {
  let session: Option<String> = conn
    .prepare_cached(
      "SELECT s.id FROM session_logs l JOIN sessions s ON s.id = l.session_id WHERE l.id = ?1 AND s.deleted_at IS NOT NULL",
    )?
    .query_row([id], |r| r.get(0))
    .optional()?;
  match session {
    Some(session) => Err(refused(format!("session {session:?} of log {id}"))),
    None => Ok(()),
  }
}
