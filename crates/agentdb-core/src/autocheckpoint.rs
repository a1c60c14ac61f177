//! The automatic checkpoint of the write-ahead log, moved out of the commit.
//!
//! SQLite's own automatic checkpoint runs inside `COMMIT` once the `-wal` file holds
//! [`PAGES`] pages, so the write whose commit crossed the mark waits for every page to be
//! copied into the database file before its result can be delivered. The writer's
//! connection replaces it with a WAL hook that only notes the mark; the writer runs the same
//! `PASSIVE` checkpoint right after it has delivered that transaction's results, before its
//! next job. The next write then starts the `-wal` file over, as it did before.
//!
//! An app that sets `PRAGMA wal_autocheckpoint` itself replaces the hook and gets SQLite's
//! own behaviour back.
//!
//! A transaction larger than the checkpoint's mark (an import, a purge, a long batch) grows
//! the `-wal` file past it, and SQLite reuses the file from its start afterwards without
//! shrinking it: the connection's `journal_size_limit` ([`WAL_BYTES_KEPT`]) truncates it
//! when it starts over.

use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::hooks::Wal;
use rusqlite::Connection;

use crate::error::Result;

/// How many pages in the `-wal` file make a checkpoint due: SQLite's default for its own.
pub const PAGES: c_int = 1000;

/// The most bytes the `-wal` file keeps once it starts over: twice what it reaches between
/// two automatic checkpoints with 4 KiB pages, so that a file of ordinary writes is never
/// truncated only to grow again.
pub const WAL_BYTES_KEPT: i64 = 2 * PAGES as i64 * (4096 + 24);

/// The mark the writer's WAL hook sets, and the checkpoint it calls for.
pub struct Autocheckpoint {
  due: Arc<AtomicBool>,
}

impl Autocheckpoint {
  /// Installs the hook on `conn` in place of SQLite's automatic checkpoint, and the limit on
  /// what the `-wal` file keeps.
  pub fn install(conn: &mut Connection) -> Result<Autocheckpoint> {
    conn.pragma_update(None, "journal_size_limit", WAL_BYTES_KEPT)?;
    let due = Arc::new(AtomicBool::new(false));
    let mark = Arc::clone(&due);
    conn.wal_hook(Some(move |_: &mut Wal, pages: c_int| {
      if pages >= PAGES {
        mark.store(true, Ordering::Relaxed);
      }
      Ok(())
    }))?;
    Ok(Autocheckpoint { due })
  }

  /// Runs a `PASSIVE` checkpoint if a commit since the last one left [`PAGES`] pages or
  /// more in the `-wal` file. Like SQLite's own, it copies what no older snapshot still
  /// needs, waits for no one, and a failure only leaves the pages for the next one.
  pub fn run_if_due(&self, conn: &Connection) {
    if self.due.swap(false, Ordering::Relaxed) {
      let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
  }
}
