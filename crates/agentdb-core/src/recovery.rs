//! What opening a database after a crash repairs: log entries left `pending` or `streaming`
//! by a process that ended before finishing them become `interrupted`.
//!
//! Only the sole opener may decide that an entry will never be finished: while another
//! connection has the file open, it may still be streaming into it. Before the writer opens,
//! a probe connection asks SQLite for the database file's exclusive lock (`locking_mode =
//! EXCLUSIVE`, no busy wait). In WAL mode every open connection, of any process, holds a
//! shared lock on the file for as long as it is open, so the exclusive lock is granted only
//! when no other connection has the file open; then, and only then, the probe marks the
//! entries in one transaction and closes, and the writer opens as usual. When the lock is
//! refused, or the file is new, not yet migrated or not a database, the probe changes
//! nothing and leaves reporting to the writer.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;
use crate::logs;

/// Marks the unfinished entries of the file at `path` as interrupted when no other
/// connection has it open; returns how many were marked, `None` when it could not decide
/// (another connection has the file open, or the file cannot hold them).
pub fn interrupt_unfinished_logs(path: &Path) -> Option<u64> {
  if !path.exists() {
    return None;
  }
  probe(path).ok().flatten()
}

fn probe(path: &Path) -> Result<Option<u64>> {
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let mut conn = Connection::open_with_flags(path, flags)?;
  conn.busy_timeout(std::time::Duration::ZERO)?;
  let _: String = conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get(0))?;
  // The first read takes the locks: a WAL file is opened with the exclusive lock, or not at all.
  let has_status: bool =
    conn.query_row("SELECT count(*) > 0 FROM pragma_table_info('session_logs') WHERE name = 'status'", [], |r| r.get(0))?;
  if !has_status {
    return Ok(None);
  }
  let tx = conn.transaction()?;
  let marked = logs::interrupt_unfinished(&tx)?;
  tx.commit()?;
  Ok(Some(marked))
}
