//! Looking after an open database: integrity checks and WAL checkpoints. (Consistent copies
//! are in [`crate::backup`].)

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, ErrorCode, Result};
use crate::stored::{self, BadValue};
use crate::{agents, logs, sessions};

/// How many foreign key violations [`integrity_check`] lists; it counts them all.
pub const MAX_LISTED_VIOLATIONS: usize = 100;

/// A row that references a parent row that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKeyViolation {
  /// The table holding the orphan row.
  pub table: String,
  /// The orphan row's rowid (`None` for a `WITHOUT ROWID` table).
  pub rowid: Option<i64>,
  /// The table the row should reference.
  pub parent: String,
  /// The referencing columns of the broken foreign key.
  pub columns: Vec<String>,
}

/// How many rows holding values of the wrong type [`integrity_check`] lists; it counts them
/// all.
pub const MAX_LISTED_BAD_VALUES: usize = 100;

/// The report of [`integrity_check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrityReport {
  /// True when the check found nothing wrong and no foreign key is violated.
  pub ok: bool,
  /// Whether `integrity_check` (true) or `quick_check` (false) ran.
  pub full: bool,
  /// What the check reported (at most 100 lines, SQLite's limit); empty when the file is sound.
  pub integrity_errors: Vec<String>,
  /// The first [`MAX_LISTED_VIOLATIONS`] foreign key violations.
  pub foreign_key_violations: Vec<ForeignKeyViolation>,
  /// How many foreign key violations there are in all.
  pub foreign_key_violation_count: usize,
  /// The first [`MAX_LISTED_BAD_VALUES`] rows of the library's tables holding a value the
  /// typed calls cannot read (they reject with `BAD_VALUE` on those rows).
  pub bad_values: Vec<BadValue>,
  /// How many such rows there are in all.
  pub bad_value_count: usize,
  /// Where the search index differs from the logs and sessions it indexes (see
  /// [`crate::search::index::check`]); empty when it is exact. `rebuildSearchIndex` repairs it.
  pub search_index_errors: Vec<String>,
}

/// Runs `PRAGMA quick_check` (or `integrity_check` when `full`) and `PRAGMA
/// foreign_key_check`. Damage is reported, never returned as an error: a file too damaged for
/// the check to run at all gives a report whose `integrity_errors` holds SQLite's message.
/// Errors are left for what stops the check from reading (`BUSY`, `IO`).
///
/// `quick_check` verifies the structure of every page and row; `integrity_check` also
/// verifies that every index matches its table, which reads the whole file more than once.
///
/// A read-only connection does not load CHECK constraints (it cannot break them), so the
/// checks on a file database opened read-only run on a connection of their own that could
/// write, and only reads; except on a database opened with `read_only` (its connections are
/// `query_only`), where nothing may open the file for writing: CHECK constraints are then
/// not verified, the typed values still are.
pub fn integrity_check(conn: &Connection, full: bool) -> Result<IntegrityReport> {
  let checker;
  let query_only: bool = conn.query_row("PRAGMA query_only", [], |row| row.get(0))?;
  let conn = match conn.path().filter(|p| !p.is_empty()) {
    Some(path) if conn.is_readonly(rusqlite::MAIN_DB)? && !query_only => {
      checker = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
      let busy_timeout_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
      checker.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms.max(0) as u64))?;
      &checker
    }
    _ => conn,
  };
  let sql = if full { "PRAGMA integrity_check" } else { "PRAGMA quick_check" };
  let mut integrity_errors = match check_lines(conn, sql) {
    Ok(lines) => lines.into_iter().filter(|line| line != "ok").collect(),
    Err(err) if is_damage(&err) => vec![err.message],
    Err(err) => return Err(err),
  };
  let mut foreign_key_violations = Vec::new();
  let mut foreign_key_violation_count = 0;
  let walked = for_each_foreign_key_violation(conn, |violation| {
    foreign_key_violation_count += 1;
    if foreign_key_violations.len() < MAX_LISTED_VIOLATIONS {
      foreign_key_violations.push(violation);
    }
  });
  match walked {
    Ok(()) => {}
    Err(err) if is_damage(&err) => integrity_errors.push(format!("foreign_key_check: {}", err.message)),
    Err(err) => return Err(err),
  }
  let (mut bad_values, mut bad_value_count) = (Vec::new(), 0);
  let scanned = for_each_bad_value(conn, &mut |bad| {
    bad_value_count += 1;
    if bad_values.len() < MAX_LISTED_BAD_VALUES {
      bad_values.push(bad);
    }
  });
  match scanned {
    Ok(()) => {}
    Err(err) if is_damage(&err) => integrity_errors.push(format!("reading rows: {}", err.message)),
    Err(err) => return Err(err),
  }
  // A file too damaged to read has its damage reported above; the index check would only
  // repeat it.
  let search_index_errors = match crate::search::index::check(conn) {
    Ok(lines) => lines,
    Err(err) if is_damage(&err) => Vec::new(),
    Err(err) => return Err(err),
  };
  Ok(IntegrityReport {
    ok: integrity_errors.is_empty() && foreign_key_violation_count == 0 && bad_value_count == 0 && search_index_errors.is_empty(),
    search_index_errors,
    full,
    integrity_errors,
    foreign_key_violations,
    foreign_key_violation_count,
    bad_values,
    bad_value_count,
  })
}

/// Reads every row of the library's tables as the typed calls read them, and calls `visit`
/// for each one holding a value they cannot read.
fn for_each_bad_value(conn: &Connection, visit: &mut dyn FnMut(BadValue)) -> Result<()> {
  stored::scan(conn, "agents", &agents::AGENT_COLUMNS, |row| agents::agent_from_row(row, 0), visit)?;
  stored::scan(conn, "sessions", &sessions::SESSION_COLUMNS, |row| sessions::session_from_row(row, 0), visit)?;
  stored::scan(conn, "session_logs", logs::LOG_COLUMNS, logs::log_from_row, visit)
}

/// The lines of `quick_check` / `integrity_check`: `ok` alone, or one line per problem.
fn check_lines(conn: &Connection, sql: &str) -> Result<Vec<String>> {
  let mut stmt = conn.prepare(sql)?;
  let lines = stmt.query_map([], |row| row.get::<_, String>(0))?;
  Ok(lines.collect::<rusqlite::Result<_>>()?)
}

/// Whether an error means "the file is damaged", which a check reports rather than fails on.
fn is_damage(err: &Error) -> bool {
  matches!(err.code, ErrorCode::Corrupt | ErrorCode::NotADatabase)
}

/// Calls `visit` for every row `PRAGMA foreign_key_check` reports, with the referencing
/// columns of the broken key looked up. Foreign key enforcement need not be on.
pub fn for_each_foreign_key_violation(conn: &Connection, mut visit: impl FnMut(ForeignKeyViolation)) -> Result<()> {
  let mut check = conn.prepare("PRAGMA foreign_key_check")?;
  let mut columns = conn.prepare("SELECT \"from\" FROM pragma_foreign_key_list(?1) WHERE id = ?2 ORDER BY seq")?;
  let mut rows = check.query([])?;
  while let Some(row) = rows.next()? {
    let table: String = row.get(0)?;
    let fk_id: i64 = row.get(3)?;
    let names =
      columns.query_map(rusqlite::params![table, fk_id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
    visit(ForeignKeyViolation { table, rowid: row.get(1)?, parent: row.get(2)?, columns: names });
  }
  Ok(())
}

/// What [`checkpoint`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
  /// How many frames the write-ahead log held when the checkpoint began; all of them are now
  /// in the database file.
  pub frames: u64,
  /// The size of the `-wal` file afterwards: 0, since the log is truncated.
  pub wal_bytes: u64,
}

/// Copies every committed transaction from the write-ahead log into the database file and
/// truncates the log (`PRAGMA wal_checkpoint(TRUNCATE)`), so that the database file alone
/// holds everything, for an app that copies files itself. Waits up to the busy timeout for
/// other connections to finish; fails with `BUSY` if they do not. On an in-memory database
/// there is no log and nothing to do.
pub fn checkpoint(conn: &Connection) -> Result<Checkpoint> {
  // A passive pass first tells how many frames the log holds; the truncating pass then
  // waits for readers and writers and empties the log.
  let (_, frames) = wal_checkpoint(conn, "PASSIVE")?;
  let (busy, _) = wal_checkpoint(conn, "TRUNCATE")?;
  if busy {
    return Err(Error::new(
      ErrorCode::Busy,
      "the checkpoint could not finish within the busy timeout: another connection kept reading an older snapshot or writing; the log was not truncated",
    ));
  }
  let wal_bytes = wal_path(conn).and_then(|wal| std::fs::metadata(wal).ok()).map_or(0, |m| m.len());
  Ok(Checkpoint { frames, wal_bytes })
}

/// Runs one `wal_checkpoint` pragma: whether it was blocked, and the log's frame count.
fn wal_checkpoint(conn: &Connection, mode: &str) -> Result<(bool, u64)> {
  let (busy, log): (i64, i64) =
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| Ok((row.get(0)?, row.get(1)?)))?;
  Ok((busy != 0, log.max(0) as u64))
}

/// The `-wal` file of a file database.
pub(crate) fn wal_path(conn: &Connection) -> Option<PathBuf> {
  conn.path().filter(|p| !p.is_empty()).map(|p| PathBuf::from(format!("{p}-wal")))
}

#[cfg(test)]
mod tests {
  use std::path::Path;

  use super::*;
  use crate::connection::{open_writer, Location, OpenOptions};
  use crate::test_support::TempDir;

  fn open(path: &Path) -> Connection {
    open_writer(&Location::File(path.to_path_buf()), &OpenOptions::default()).unwrap()
  }

  const SCHEMA: &str = "
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT);
    CREATE INDEX child_note ON child (note);";

  #[test]
  fn a_sound_database_reports_ok() {
    let dir = TempDir::new("maint-sound");
    let conn = open(&dir.join("a.db"));
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch("INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 'x');").unwrap();
    for full in [false, true] {
      let report = integrity_check(&conn, full).unwrap();
      assert_eq!(
        report,
        IntegrityReport {
          ok: true,
          full,
          integrity_errors: vec![],
          foreign_key_violations: vec![],
          foreign_key_violation_count: 0,
          bad_values: vec![],
          bad_value_count: 0,
          search_index_errors: vec![],
        }
      );
    }
  }

  #[test]
  fn orphans_are_listed_with_their_columns() {
    let dir = TempDir::new("maint-orphans");
    let conn = open(&dir.join("a.db"));
    conn.execute_batch(SCHEMA).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute_batch("INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 'a'), (2, 7, 'b');").unwrap();
    let report = integrity_check(&conn, false).unwrap();
    assert!(!report.ok);
    assert!(report.integrity_errors.is_empty(), "{:?}", report.integrity_errors);
    assert_eq!(report.foreign_key_violation_count, 1);
    assert_eq!(
      report.foreign_key_violations,
      vec![ForeignKeyViolation {
        table: "child".into(),
        rowid: Some(2),
        parent: "parent".into(),
        columns: vec!["parent_id".into()]
      }]
    );
  }

  #[test]
  fn check_constraint_violations_are_found_from_a_read_only_connection() {
    let dir = TempDir::new("maint-check");
    let path = dir.join("a.db");
    let conn = open(&path);
    conn
      .execute_batch(
        "CREATE TABLE limits (n INTEGER CHECK (n > 0)); PRAGMA ignore_check_constraints = ON; INSERT INTO limits VALUES (-1);",
      )
      .unwrap();
    let reader = crate::connection::open_reader(&path, &OpenOptions::default()).unwrap();
    let report = integrity_check(&reader, true).unwrap();
    assert!(!report.ok);
    assert_eq!(report.integrity_errors, vec!["CHECK constraint failed in limits".to_string()]);
  }

  #[test]
  fn violations_beyond_the_listed_ones_are_counted() {
    let dir = TempDir::new("maint-many-orphans");
    let conn = open(&dir.join("a.db"));
    conn.execute_batch(SCHEMA).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn
      .execute_batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) INSERT INTO child SELECT i, 1000 + i, NULL FROM n")
      .unwrap();
    let report = integrity_check(&conn, false).unwrap();
    assert_eq!((report.foreign_key_violation_count, report.foreign_key_violations.len()), (250, MAX_LISTED_VIOLATIONS));
  }

  /// Overwrites the middle of the page holding `index`'s root with garbage.
  fn damage_index(path: &Path, index: &str) {
    let (root, page_size) = {
      let conn = open(path);
      let root: i64 = conn.query_row("SELECT rootpage FROM sqlite_master WHERE name = ?1", [index], |r| r.get(0)).unwrap();
      let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
      checkpoint(&conn).unwrap();
      (root as u64, page_size as u64)
    };
    let mut bytes = std::fs::read(path).unwrap();
    let start = ((root - 1) * page_size) as usize;
    for (i, b) in bytes[start + 8..start + page_size as usize].iter_mut().enumerate() {
      *b = (i * 37 % 251) as u8;
    }
    std::fs::write(path, bytes).unwrap();
  }

  #[test]
  fn damage_is_reported_not_thrown() {
    let dir = TempDir::new("maint-damaged");
    let path = dir.join("a.db");
    {
      let conn = open(&path);
      conn.execute_batch(SCHEMA).unwrap();
      conn
        .execute_batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO child SELECT i, NULL, hex(randomblob(40)) FROM n")
        .unwrap();
    }
    damage_index(&path, "child_note");
    let conn = open(&path);
    for full in [false, true] {
      let report = integrity_check(&conn, full).unwrap();
      assert!(!report.ok);
      assert!(!report.integrity_errors.is_empty());
    }
  }

  #[test]
  fn checkpoint_empties_the_log() {
    let dir = TempDir::new("maint-checkpoint");
    let path = dir.join("a.db");
    let conn = open(&path);
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch("INSERT INTO parent VALUES (1), (2), (3)").unwrap();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let done = checkpoint(&conn).unwrap();
    assert!(done.frames > 0, "{done:?}");
    assert_eq!(done.wal_bytes, 0);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    // The database file alone now holds everything.
    let copy = path.with_file_name("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let copied = Connection::open(&copy).unwrap();
    assert_eq!(copied.query_row("SELECT count(*) FROM parent", [], |r| r.get::<_, i64>(0)).unwrap(), 3);
  }

  #[test]
  fn checkpoint_blocked_by_a_writer_is_busy() {
    let dir = TempDir::new("maint-checkpoint-busy");
    let path = dir.join("a.db");
    let options = OpenOptions { busy_timeout: std::time::Duration::from_millis(50), ..OpenOptions::default() };
    let conn = open_writer(&Location::File(path.clone()), &options).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let other = open(&path);
    other.execute_batch("BEGIN IMMEDIATE; INSERT INTO parent VALUES (9);").unwrap();
    let err = checkpoint(&conn).unwrap_err();
    assert_eq!(err.code, ErrorCode::Busy, "{err}");
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(checkpoint(&conn).unwrap().wal_bytes, 0);
  }

  #[test]
  fn checkpoint_of_memory_database_does_nothing() {
    let conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    assert_eq!(checkpoint(&conn).unwrap(), Checkpoint { frames: 0, wal_bytes: 0 });
  }
}
