//! Opening connections: where the database lives, the checks made before SQLite touches the
//! file, and the pragmas every connection gets.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::durability::Durability;
use crate::error::{Error, ErrorCode, Result};

/// The path that opens a private in-memory database.
pub const MEMORY_PATH: &str = ":memory:";

/// How many prepared statements each connection keeps ready for reuse.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Options for [`crate::store::Store::open`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
  /// How long a call waits for another process's lock before it fails with `BUSY`.
  pub busy_timeout: Duration,
  /// How many read-only connections serve reads in parallel (file databases only).
  pub readers: usize,
  /// What an acknowledged write survives (file databases only).
  pub durability: Durability,
  /// The SQLite VFS the store's connections open the file through; `None` is SQLite's
  /// default. Not an option of the JavaScript API: the power-cut tests use it to open the
  /// store on a VFS that records which writes were synced.
  pub vfs: Option<String>,
  /// Open an existing file without ever writing it or anything beside it (see
  /// [`open_writer`]); every write is refused with `READONLY`.
  pub read_only: bool,
  /// How many of the newest change-log rows the writer keeps (see [`crate::changes`]).
  pub keep_changes: u64,
}

impl Default for OpenOptions {
  fn default() -> Self {
    OpenOptions {
      busy_timeout: Duration::from_millis(5000),
      readers: default_readers(),
      durability: Durability::default(),
      vfs: None,
      read_only: false,
      keep_changes: crate::changes::DEFAULT_KEEP,
    }
  }
}

/// Readers default to the number of cores, between 2 and 4.
fn default_readers() -> usize {
  std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 4)
}

/// Where a database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
  /// A private in-memory database (`':memory:'`), gone when closed.
  Memory,
  /// A database file.
  File(PathBuf),
}

impl Location {
  /// Parses the path given to `open`: `':memory:'` or a file path.
  pub fn parse(path: &str) -> Result<Location> {
    if path == MEMORY_PATH {
      return Ok(Location::Memory);
    }
    if path.is_empty() {
      return Err(Error::invalid("path must not be empty (use ':memory:' for an in-memory database)"));
    }
    if path.contains('\0') {
      return Err(Error::invalid("path must not contain a NUL character"));
    }
    Ok(Location::File(literal_path(Path::new(path))))
  }
}

/// `path` as SQLite must be given it to take it as a file name. This build of SQLite reads a
/// name that starts with `file:` as a URI, whose options (`mode=memory`, `nolock=1`,
/// `immutable=1`, …) would change what is opened and how it is locked; such a (relative)
/// name is given as `./file:…` instead.
pub fn literal_path(path: &Path) -> PathBuf {
  if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
    Path::new(".").join(path)
  } else {
    path.to_path_buf()
  }
}

/// Opens the read-write connection, after checking that the path can hold a database, and
/// verifies that an existing file is SQLite before anything writes to it: a file that is not
/// a database is left byte-for-byte as it was.
///
/// With `read_only`, nothing is written to the file or beside it: see [`open_read_only`].
pub fn open_writer(location: &Location, options: &OpenOptions) -> Result<Connection> {
  let mut conn = match location {
    Location::Memory => Connection::open_in_memory()?,
    Location::File(path) if options.read_only => {
      let mut conn = open_read_only(path)?;
      prepare(&mut conn, options).map_err(|e| describe(e, location))?;
      return Ok(conn);
    }
    Location::File(path) => {
      check_path(path)?;
      let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
      let conn = open_file(path, flags, options).map_err(|e| opening_failed(e.into(), path))?;
      if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(Error::new(ErrorCode::Readonly, format!("{}: the file is read-only", path.display())));
      }
      conn
    }
  };
  prepare(&mut conn, options).map_err(|e| describe(system_cause(&conn, e), location))?;
  crate::space::make_new_file_incremental(&conn).map_err(|e| describe(system_cause(&conn, e), location))?;
  enforce_foreign_keys(&conn)?;
  if let Location::File(_) = location {
    let mode = switch_to_wal(&conn, options.busy_timeout).map_err(|e| describe(system_cause(&conn, e), location))?;
    if !mode.eq_ignore_ascii_case("wal") {
      return Err(Error::new(
        ErrorCode::CantOpen,
        format!("{}: cannot use WAL mode (journal mode is {mode})", location_name(location)),
      ));
    }
    options.durability.apply(&conn)?;
  }
  Ok(conn)
}

/// Switches foreign-key enforcement on, as every writer connection has it, and checks that it
/// is on: SQLite ignores the switch while a transaction is open.
pub fn enforce_foreign_keys(conn: &Connection) -> Result<()> {
  conn.pragma_update(None, "foreign_keys", true)?;
  let on: bool = conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0))?;
  if on {
    Ok(())
  } else {
    Err(Error::internal("foreign-key enforcement could not be switched back on: a transaction is still open"))
  }
}

/// Puts the writer's connection back as [`open_writer`] left it, after work on it was cut
/// short by a panic: a transaction left open is rolled back and foreign keys are enforced
/// again (work may switch them off around a table rebuild). Failures are left for the next
/// statement on the connection to report.
pub fn restore_writer(conn: &Connection) {
  if !conn.is_autocommit() {
    let _ = conn.execute_batch("ROLLBACK");
  }
  let _ = conn.pragma_update(None, "foreign_keys", true);
}

/// `PRAGMA journal_mode = WAL`, returning the mode in force. When several connections open a
/// new file at once, each holds a read lock while it asks for the write lock the switch
/// needs; SQLite answers some of them `SQLITE_BUSY` at once, without calling the busy
/// handler (waiting could deadlock). They retry, with a growing pause, until `busy_timeout`.
fn switch_to_wal(conn: &Connection, busy_timeout: Duration) -> Result<String> {
  let deadline = Instant::now() + busy_timeout;
  let mut pause = Duration::from_millis(1);
  loop {
    match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
      Ok(mode) => return Ok(mode),
      Err(err) => {
        let err = Error::from(err);
        if err.code != ErrorCode::Busy || Instant::now() >= deadline {
          return Err(err);
        }
      }
    }
    std::thread::sleep(pause);
    pause = (pause * 2).min(Duration::from_millis(50));
  }
}

/// Opens a read-only connection to a file database that the writer has already set up.
pub fn open_reader(path: &Path, options: &OpenOptions) -> Result<Connection> {
  let location = Location::File(path.to_path_buf());
  let mut conn = if options.read_only {
    open_read_only(path)?
  } else {
    open_file(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX, options)
      .map_err(|e| opening_failed(e.into(), path))?
  };
  prepare(&mut conn, options).map_err(|e| describe(system_cause(&conn, e), &location))?;
  Ok(conn)
}

/// Opens a connection to the file at `path` through the VFS `options` name.
fn open_file(path: &Path, flags: OpenFlags, options: &OpenOptions) -> rusqlite::Result<Connection> {
  match &options.vfs {
    Some(vfs) => Connection::open_with_flags_and_vfs(path, flags, vfs.as_str()),
    None => Connection::open_with_flags(path, flags),
  }
}

/// An `IO` error on `conn` told apart by the system error behind it: a full disk (SQLite
/// reports `SQLITE_FULL` only for some writes; growing the `-shm` file or writing the `-wal`
/// header on a full disk is an I/O error) is `FULL`.
fn system_cause(conn: &Connection, err: Error) -> Error {
  if err.code != ErrorCode::Io {
    return err;
  }
  // SAFETY: the handle is `conn`'s open connection, used on this thread while it is
  // borrowed; sqlite3_system_errno only reads a number from it.
  let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
  if crate::process::disk_full(errno) {
    return Error::new(
      ErrorCode::Full,
      format!("the disk is full: no space left for the database or its -wal or -shm file ({})", err.message),
    );
  }
  err
}

/// An error from opening `path` (before there is a connection), with the cause named when it
/// is one SQLite reports only vaguely: this process has run out of file descriptors.
fn opening_failed(err: Error, path: &Path) -> Error {
  if err.code == ErrorCode::CantOpen {
    if let Err(probe) = std::fs::File::open(path) {
      if crate::process::out_of_descriptors(&probe) {
        let limit = crate::process::descriptor_limit().map_or_else(String::new, |n| format!(" of {n}"));
        return Error::new(
          ErrorCode::CantOpen,
          format!(
            "{}: this process has no file descriptor left (it has reached its limit{limit} open files, `ulimit -n`): \
             close files or databases it no longer needs, or raise the limit ({})",
            path.display(),
            err.message
          ),
        );
      }
    }
  }
  err.context(path.display())
}

/// Opens an existing database file for inspection, writing nothing to it or beside it:
///
/// - a file with a hot journal (a `-journal` left by a process that stopped mid-transaction)
///   is refused with `HOT_JOURNAL`: reading it would roll that transaction back;
/// - a file with a `-wal` beside it (in use, or left by a process that stopped) is opened
///   read-only, so SQLite reads the log but never checkpoints it into the file, nor removes
///   it when the connection closes;
/// - any other file is opened immutable (`immutable=1`): SQLite takes no locks and creates no
///   `-wal` or `-shm`, and a file in WAL mode stays in WAL mode.
pub fn open_read_only(path: &Path) -> Result<Connection> {
  let name = path.display();
  if !path.is_file() {
    return Err(Error::new(ErrorCode::CantOpen, format!("{name}: no database file to open read-only")));
  }
  let journal = crate::backup::with_suffix(path, "-journal");
  if std::fs::metadata(&journal).is_ok_and(|meta| meta.len() > 0) {
    return Err(Error::new(
      ErrorCode::HotJournal,
      format!(
        "{name} has a hot journal ({}): a process stopped in the middle of a transaction; reading the file would roll that \
         transaction back, which a read-only open does not do. Copy both files for a bug report; open the database \
         read-write to roll the transaction back",
        journal.display()
      ),
    ));
  }
  let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
  let immutable = !crate::backup::with_suffix(path, "-wal").exists();
  let uri = file_uri(path, if immutable { "mode=ro&immutable=1" } else { "mode=ro" })?;
  let conn = Connection::open_with_flags(&uri, flags).map_err(|e| opening_failed(e.into(), path))?;
  // Marks the connection as one that may not write even through a checker of its own (see
  // `maintenance::integrity_check`).
  conn.pragma_update(None, "query_only", true)?;
  Ok(conn)
}

/// The `file:` URI of `path` (made absolute) with the query `query`.
fn file_uri(path: &Path, query: &str) -> Result<String> {
  let absolute = std::path::absolute(path).map_err(|e| Error::new(ErrorCode::CantOpen, format!("{}: {e}", path.display())))?;
  let text = absolute.to_string_lossy().replace('\\', "/");
  let mut uri = String::from(if text.starts_with('/') { "file:" } else { "file:///" });
  for byte in text.bytes() {
    match byte {
      b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => uri.push(byte as char),
      _ => uri.push_str(&format!("%{byte:02X}")),
    }
  }
  uri.push('?');
  uri.push_str(query);
  Ok(uri)
}

/// Settings shared by every connection, and a first read of the header, which is where a
/// file that is not a database is caught.
///
/// The query planner stability guarantee (QPSG) is switched on so that no plan depends on
/// the values bound to it. Without it SQLite marks a statement whose plan looked at a bound
/// value (`LIMIT ?`, and some joins) to be re-prepared whenever its bindings are cleared,
/// and rusqlite's statement cache clears them every time a statement goes back to the
/// cache: such statements were parsed and planned again on every call.
fn prepare(conn: &mut Connection, options: &OpenOptions) -> Result<()> {
  conn.busy_timeout(options.busy_timeout)?;
  // No SQL can corrupt the file: no writes to sqlite_master, no schema_version changes, no
  // journal_mode=OFF, even from app-defined migrations.
  conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
  conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
  conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
  crate::guard::guard_connection(conn)?;
  conn.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
  Ok(())
}

/// Rejects paths SQLite would report only vaguely: a directory, a missing parent directory.
fn check_path(path: &Path) -> Result<()> {
  if path.is_dir() {
    return Err(Error::new(ErrorCode::CantOpen, format!("{} is a directory, not a database file", path.display())));
  }
  let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
  if !parent.is_dir() {
    return Err(Error::new(ErrorCode::CantOpen, format!("{}: directory {} does not exist", path.display(), parent.display())));
  }
  Ok(())
}

fn location_name(location: &Location) -> String {
  match location {
    Location::Memory => MEMORY_PATH.to_string(),
    Location::File(path) => path.display().to_string(),
  }
}

/// Names the file in an error raised while opening it.
fn describe(err: Error, location: &Location) -> Error {
  let name = location_name(location);
  match err.code {
    ErrorCode::NotADatabase => Error::new(ErrorCode::NotADatabase, format!("{name} is not an SQLite database ({})", err.message)),
    _ => err.context(name),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::test_support::TempDir;

  fn open(path: &Path) -> Result<Connection> {
    open_writer(&Location::File(path.to_path_buf()), &OpenOptions::default())
  }

  #[test]
  fn parses_paths() {
    assert_eq!(Location::parse(":memory:").unwrap(), Location::Memory);
    assert_eq!(Location::parse("").unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(Location::parse("a\0b").unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(Location::parse("file:a.db?mode=memory").unwrap(), Location::File(PathBuf::from("./file:a.db?mode=memory")));
    assert_eq!(Location::parse("/data/file:a.db").unwrap(), Location::File(PathBuf::from("/data/file:a.db")));
  }

  #[test]
  fn file_connections_get_wal_the_durability_s_syncs_and_foreign_keys() {
    let dir = TempDir::new("conn-pragmas");
    let pragmas = |durability| {
      let path = dir.join(&format!("{durability:?}.db"));
      let conn = open_writer(&Location::File(path), &OpenOptions { durability, ..OpenOptions::default() }).unwrap();
      let get =
        |pragma: &str| conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get::<_, rusqlite::types::Value>(0)).unwrap();
      (get("journal_mode"), get("synchronous"), get("fullfsync"), get("foreign_keys"))
    };
    use rusqlite::types::Value::{Integer, Text};
    assert_eq!(pragmas(Durability::Full), (Text("wal".into()), Integer(2), Integer(1), Integer(1)));
    assert_eq!(pragmas(Durability::Normal), (Text("wal".into()), Integer(1), Integer(0), Integer(1)));
    assert_eq!(OpenOptions::default().durability, Durability::Full);
  }

  /// Runs the cached statement `sql` once for each pair of `values` bound to `?1, ?2`, and
  /// says how often SQLite had to prepare it again.
  fn reprepares(conn: &Connection, sql: &str, values: &[(&str, i64)]) -> i32 {
    for (text, number) in values {
      let mut stmt = conn.prepare_cached(sql).unwrap();
      stmt.query_map(rusqlite::params![text, number], |_| Ok(())).unwrap().for_each(drop);
    }
    conn.prepare_cached(sql).unwrap().get_status(rusqlite::StatementStatus::RePrepare)
  }

  fn migrated() -> Connection {
    use crate::migrations::{migrator, source::MigrationSet};
    let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    migrator::migrate(&mut conn, &MigrationSet::builtin(), &migrator::MigrateOptions::default(), &mut |_| {}).unwrap();
    conn
  }

  #[test]
  fn cached_statements_are_not_prepared_again() {
    let conn = migrated();
    let values = [("session-1", 50), ("session-2", 20), ("session-3", 1)];
    let latest = "SELECT id FROM session_logs WHERE session_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2";
    let joined = "SELECT s.id, a.id FROM sessions s JOIN agents a ON a.id = s.main_agent_id WHERE s.id = ?1 AND ?2 > 0";
    assert_eq!(reprepares(&conn, latest, &values), 0);
    assert_eq!(reprepares(&conn, joined, &values), 0);
  }

  #[test]
  fn the_external_id_lookup_still_uses_its_partial_index() {
    let conn = migrated();
    let sql = "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE external_session_id = ?1";
    let plan: Vec<String> = conn.prepare(sql).unwrap().query_map(["x"], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
    assert!(plan.iter().any(|step| step.contains("idx_sessions_external_id")), "{plan:?}");
  }

  #[test]
  fn foreign_keys_are_switched_back_on_only_outside_a_transaction() {
    let conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN").unwrap();
    let err = enforce_foreign_keys(&conn).unwrap_err();
    assert!(err.message.contains("a transaction is still open"), "{err}");
    conn.execute_batch("ROLLBACK").unwrap();
    enforce_foreign_keys(&conn).unwrap();
    let on: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert!(on);
  }

  #[test]
  fn sql_cannot_write_the_schema_table() {
    let dir = TempDir::new("conn-defensive");
    let conn = open(&dir.join("a.db")).unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    let _ = conn.execute_batch("PRAGMA writable_schema = ON");
    let err: Error = conn.execute_batch("UPDATE sqlite_master SET sql = 'CREATE TABLE t (y)'").unwrap_err().into();
    assert_eq!(err.code, ErrorCode::SqlError, "{err}");
  }

  #[test]
  fn zero_byte_file_opens_as_new_database() {
    let dir = TempDir::new("conn-empty");
    let path = dir.join("empty.db");
    std::fs::write(&path, b"").unwrap();
    open(&path).unwrap();
  }

  #[test]
  fn non_database_is_refused_and_left_untouched() {
    let dir = TempDir::new("conn-garbage");
    let path = dir.join("garbage.db");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let err = open(&path).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotADatabase, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(!dir.join("garbage.db-wal").exists());
  }

  #[test]
  fn bad_paths_have_clear_codes() {
    let dir = TempDir::new("conn-paths");
    let err = open(dir.path()).unwrap_err();
    assert_eq!(err.code, ErrorCode::CantOpen);
    assert!(err.message.contains("is a directory"), "{err}");
    let err = open(&dir.join("missing").join("a.db")).unwrap_err();
    assert_eq!(err.code, ErrorCode::CantOpen);
    assert!(err.message.contains("does not exist"), "{err}");
  }

  #[test]
  fn a_read_only_open_writes_nothing_and_refuses_a_hot_journal() {
    let dir = TempDir::new("conn-read-only");
    let path = dir.join("a.db");
    let conn = open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)").unwrap();
    drop(conn);
    let bytes = std::fs::read(&path).unwrap();
    let options = OpenOptions { read_only: true, ..OpenOptions::default() };
    let location = Location::File(path.clone());
    let conn = open_writer(&location, &options).unwrap();
    let reader = open_reader(&path, &options).unwrap();
    assert_eq!(reader.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
    let err: Error = conn.execute_batch("INSERT INTO t VALUES (2)").unwrap_err().into();
    assert!(matches!(err.code, ErrorCode::Readonly | ErrorCode::SqlError), "{err}");
    drop((conn, reader));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    std::fs::write(dir.join("a.db-journal"), b"journal").unwrap();
    assert_eq!(open_writer(&location, &options).unwrap_err().code, ErrorCode::HotJournal);
    assert_eq!(open_writer(&Location::File(dir.join("missing.db")), &options).unwrap_err().code, ErrorCode::CantOpen);
  }

  #[test]
  fn a_full_disk_at_open_is_full() {
    let dir = TempDir::new("conn-full");
    let small = dir.join("small");
    let Some(_mounted) = crate::test_support::tmpfs(&small, "64k") else {
      eprintln!("skipped: mounting a 64 KiB tmpfs needs root");
      return;
    };
    // Whatever step of the open finds the disk full (the file, its -wal, its -shm), it is FULL.
    let mut refused = 0;
    for free_pages in 0..16 {
      for name in std::fs::read_dir(&small).unwrap() {
        std::fs::remove_file(name.unwrap().path()).unwrap();
      }
      let filler = small.join("filler");
      let _ = std::fs::write(&filler, vec![0u8; (64 - 4 * free_pages) * 1024]);
      let opened = crate::store::Store::open(Location::File(small.join("new.db")), OpenOptions::default());
      match opened {
        Ok(_) => {}
        Err(err) => {
          refused += 1;
          assert_eq!(err.code, ErrorCode::Full, "{free_pages} pages free: {err}");
        }
      }
    }
    assert!(refused > 0);
  }
}
