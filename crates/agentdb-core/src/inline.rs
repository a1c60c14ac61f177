//! Short reads on the calling thread: a read connection that runs a read only within a
//! small time budget, so a caller (the JavaScript thread) can skip the hop to a reader
//! thread for reads that are short, and hand the others to a reader.
//!
//! The connection is opened like the readers' (same pragmas, authorizer, defensive mode,
//! read-only), waits for no lock (a busy database hands the read on at once instead of
//! blocking the caller), and is stopped by its progress handler once a read runs past
//! [`BUDGET`]. It only ever reads, in autocommit: every read starts a snapshot of its own, so
//! it sees every write committed before it started.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::connection::{self, OpenOptions};
use crate::error::{ErrorCode, Result};
use crate::interrupt::{Closing, Limits, Watch};

/// How long a read may run on the calling thread before it is stopped and handed on.
pub const BUDGET: Duration = Duration::from_micros(200);

/// A read connection for the calling thread (see the module comment).
pub struct InlineReader {
  conn: Connection,
  watch: Arc<Watch>,
}

impl InlineReader {
  /// Opens the connection to the database file at `path`, which the store already holds
  /// open with `options`.
  pub fn open(path: &Path, options: &OpenOptions) -> Result<InlineReader> {
    let mut conn = connection::open_reader(path, options)?;
    conn.busy_timeout(Duration::ZERO)?;
    let watch = Watch::install(&mut conn, Arc::new(Closing::default()))?;
    Ok(InlineReader { conn, watch })
  }

  /// Runs `work` within [`BUDGET`]: `None` when it ran past it or found the database busy
  /// (nothing was changed: the caller runs it elsewhere), otherwise its outcome.
  pub fn run<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
    let limits = Limits { timeout: Some(BUDGET), abort: None };
    match self.watch.run(&limits, || work(&self.conn)) {
      Err(err) if matches!(err.code, ErrorCode::Timeout | ErrorCode::Busy) => None,
      outcome => Some(outcome),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::connection::Location;
  use crate::store::Store;
  use crate::test_support::TempDir;

  fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
  }

  #[test]
  fn a_short_read_runs_and_a_long_one_is_handed_on() {
    let dir = TempDir::new("inline");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions::default()).unwrap();
    let inline = InlineReader::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(inline.run(|conn| count(conn, "SELECT 1")).unwrap().unwrap(), 1);
    let runaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";
    assert!(inline.run(|conn| count(conn, runaway)).is_none());
    // The connection is usable again after a read it stopped.
    assert_eq!(inline.run(|conn| count(conn, "SELECT 2")).unwrap().unwrap(), 2);
    drop(inline);
    drop(store);
  }

  #[test]
  fn it_only_reads() {
    let dir = TempDir::new("inline");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions::default()).unwrap();
    let inline = InlineReader::open(&path, &OpenOptions::default()).unwrap();
    let written = inline.run(|conn| Ok(conn.execute("CREATE TABLE t(x)", [])?));
    assert!(written.unwrap().is_err());
    drop(inline);
    drop(store);
  }
}
