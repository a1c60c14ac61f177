//! Consistent copies of a live database through SQLite's online backup API.

use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::core::error::{Error, ErrorCode, Result};

/// Copies the database `source` has open into `dest` in one backup step, which reads one
/// consistent snapshot; on a WAL database writers on other connections go on meanwhile. The
/// copy is complete and synced to disk when this returns. `dest` is replaced if it is a
/// database, refused if it is another kind of file, and never the source itself.
pub fn backup(source: &Connection, dest: &Path) -> Result<()> {
  if is_same_file(source, dest) {
    return Err(Error::invalid(format!("backup destination {} is the database itself", dest.display())));
  }
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let mut target = Connection::open_with_flags(dest, flags).map_err(|e| Error::from(e).context(dest.display()))?;
  target.pragma_update(None, "synchronous", "FULL")?;
  // A destination locked by another connection is waited for as long as the source would wait.
  let busy_timeout_ms: i64 = source.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
  target.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms.max(0) as u64))?;
  {
    let step = Backup::new(source, &mut target)?;
    // A negative page count copies every page in this one step.
    let outcome = step.step(-1).map_err(|e| Error::from(e).context(format!("backup to {}", dest.display())))?;
    if outcome != StepResult::Done {
      return Err(Error::new(ErrorCode::Busy, format!("backup to {}: the destination stayed locked by another connection ({outcome:?})", dest.display())));
    }
  }
  // The copy is a plain rollback-journal file: one file to move or ship.
  let mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
  if !mode.eq_ignore_ascii_case("delete") {
    return Err(Error::new(ErrorCode::Io, format!("backup {}: could not leave WAL mode", dest.display())));
  }
  target.close().map_err(|(_, e)| Error::from(e))?;
  Ok(())
}

/// Whether `path` names the file `conn` has open.
pub fn is_same_file(conn: &Connection, path: &Path) -> bool {
  let Some(db) = conn.path().filter(|p| !p.is_empty()) else { return false };
  match (std::fs::canonicalize(db), std::fs::canonicalize(path)) {
    (Ok(a), Ok(b)) => a == b,
    _ => false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn copies_every_row() {
    let dir = std::env::temp_dir().join(format!("agentdb-backup-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = Connection::open_in_memory().unwrap();
    source.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);").unwrap();
    backup(&source, &dir.join("copy.db")).unwrap();
    let copy = Connection::open(dir.join("copy.db")).unwrap();
    assert_eq!(copy.query_row("SELECT sum(x) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 6);
  }
}
