//! Deletes that reach what belongs to the deleted row: an agent with its sessions and their
//! logs, a session with its logs, a session's logs, one log with (or without) its subtree. The one owner of every cascade, so the
//! entity modules never call each other to delete.
//!
//! Parent links between the logs concerned are cleared first. With the links in place,
//! deleting an entry cascades to its replies, theirs, and so on, one nesting level per
//! generation: SQLite refuses cascades nested more than 1000 deep ("triggers nested too
//! deep"), so a long chain could never be deleted, and rows removed by a cascade are missing
//! from the count the delete reports.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::LogChildren;
use crate::patch::exists;

/// The ids of entry `?1` and of every entry under it, as a JSON array (one value, so the
/// subtree is still known once its links are cleared). UNION, not UNION ALL, so parent links
/// made into a cycle by hand cannot loop.
const SUBTREE_SQL: &str = "WITH RECURSIVE subtree(id) AS ( \
     SELECT id FROM session_logs WHERE id = ?1 \
     UNION \
     SELECT l.id FROM session_logs l JOIN subtree s ON l.parent_id = s.id) \
   SELECT json_group_array(id) FROM subtree";

/// Deletes an agent, its sessions and their logs (the foreign keys cascade from the agent).
/// Returns whether it existed; `NOT_WRITTEN` when a trigger skipped the delete.
pub fn delete_agent(conn: &Connection, id: &str) -> Result<bool> {
  let unlink = "UPDATE session_logs SET parent_id = NULL \
     WHERE parent_id IS NOT NULL AND session_id IN (SELECT id FROM sessions WHERE main_agent_id = ?1)";
  conn.prepare_cached(unlink)?.execute([id])?;
  deleted(conn, "agents", id, format!("agent {id:?}"))
}

/// Deletes a session and its logs. Returns whether it existed; `NOT_WRITTEN` when a trigger
/// skipped the delete.
pub fn delete_session(conn: &Connection, id: &str) -> Result<bool> {
  unlink_session_logs(conn, id)?;
  deleted(conn, "sessions", id, format!("session {id:?}"))
}

/// Deletes every log entry of a session; returns how many. `NOT_WRITTEN` when a trigger
/// skipped any of them (the caller's savepoint then undoes the others).
pub fn delete_session_logs(conn: &Connection, session_id: &str) -> Result<u64> {
  unlink_session_logs(conn, session_id)?;
  let count = conn.prepare_cached("DELETE FROM session_logs WHERE session_id = ?1")?.execute([session_id])? as u64;
  let left: i64 =
    conn.prepare_cached("SELECT count(*) FROM session_logs WHERE session_id = ?1")?.query_row([session_id], |r| r.get(0))?;
  if left > 0 {
    return Err(Error::not_written("session_logs", format!("the deletion of {left} log(s) of session {session_id:?}")));
  }
  Ok(count)
}

/// Deletes one log entry; returns how many entries were deleted (0 when it did not exist).
/// `Reparent` first moves its children to its parent (or to the root), `Delete` deletes its
/// whole subtree, links cleared first as for a session's logs. `NOT_WRITTEN` when a trigger
/// skipped any of the deletes (the caller's savepoint then undoes the others).
pub fn delete_log(conn: &Connection, id: i64, children: LogChildren) -> Result<u64> {
  let ids = match children {
    LogChildren::Reparent => {
      let reparent = "UPDATE session_logs SET parent_id = (SELECT parent_id FROM session_logs WHERE id = ?1) \
         WHERE parent_id = ?1";
      conn.prepare_cached(reparent)?.execute([id])?;
      format!("[{id}]")
    }
    LogChildren::Delete => {
      let ids: String = conn.prepare_cached(SUBTREE_SQL)?.query_row([id], |r| r.get(0))?;
      let unlink = "UPDATE session_logs SET parent_id = NULL \
         WHERE parent_id IS NOT NULL AND id IN (SELECT value FROM json_each(?1))";
      conn.prepare_cached(unlink)?.execute([&ids])?;
      ids
    }
  };
  let count = conn.prepare_cached("DELETE FROM session_logs WHERE id IN (SELECT value FROM json_each(?1))")?.execute([&ids])?;
  let left: i64 = conn
    .prepare_cached("SELECT count(*) FROM session_logs WHERE id IN (SELECT value FROM json_each(?1))")?
    .query_row([&ids], |r| r.get(0))?;
  if left > 0 {
    return Err(Error::not_written("session_logs", format!("the deletion of {left} log(s) of the subtree of log {id}")));
  }
  Ok(count as u64)
}

/// Deletes the row of `table` with this id; whether it existed. A row still there after the
/// delete was skipped.
fn deleted(conn: &Connection, table: &str, id: &str, what: String) -> Result<bool> {
  if conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?.execute([id])? > 0 {
    return Ok(true);
  }
  if exists(conn, table, ("id", id.to_string().into()))? {
    return Err(Error::not_written(table, format!("the deletion of {what}")));
  }
  Ok(false)
}

fn unlink_session_logs(conn: &Connection, session_id: &str) -> Result<()> {
  let unlink = "UPDATE session_logs SET parent_id = NULL WHERE session_id = ?1 AND parent_id IS NOT NULL";
  conn.prepare_cached(unlink)?.execute([session_id])?;
  Ok(())
}
