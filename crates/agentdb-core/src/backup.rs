//! Consistent copies of a live database through SQLite's online backup API.
//!
//! A backup never writes its destination in place. The copy is made in a new temporary file
//! beside it, turned into a rollback-journal file, synced, and only then renamed over the
//! destination, so the destination is either left as it was or replaced by a complete copy,
//! whatever fails and whenever the process dies. No name the backup hands SQLite (the
//! destination, the temporary file, or a file SQLite keeps beside either) is the live
//! database or one of its own side files.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::connection::{literal_path, MEMORY_PATH};
use crate::error::{Error, ErrorCode, Result};

/// The files SQLite keeps beside a database (`-wal`, `-shm`, `-journal`), by suffix; with the
/// database itself (`""`), the files a database name stands for.
pub const DATABASE_FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Held by the backup in progress.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Copies the database `source` has open into `dest` in one backup step, which reads one
/// consistent snapshot; on a WAL database writers on other connections go on meanwhile. The
/// copy is a single rollback-journal file, complete and synced to disk when this returns.
///
/// `dest` is replaced if it is a database (`BUSY`, and left as it was, while another
/// connection keeps it open past the source's busy timeout), refused if it is another kind of
/// file (`NOT_A_DATABASE`), and refused if it is the source itself or one of the files SQLite
/// keeps beside it, or if one of the files SQLite would keep beside it is the source or one of
/// the source's (`INVALID_ARGUMENT`). On any error `dest` is as it was and nothing is left
/// beside it.
pub fn backup(source: &Connection, dest: &Path) -> Result<()> {
  let name = dest.as_os_str();
  if name.is_empty() || name == MEMORY_PATH || name.as_encoded_bytes().contains(&0) {
    return Err(Error::invalid("backup destination must be a file path (not empty, not ':memory:', no NUL character)"));
  }
  let dest = &literal_path(dest);
  if touches_database(source, dest) {
    return Err(Error::invalid(format!(
      "backup destination {} is the database itself or one of its -wal, -shm or -journal files, or its own -wal, -shm \
       or -journal file would be one of those",
      dest.display()
    )));
  }
  check_destination(dest)?;
  // Backups in this process take turns: two renaming over one destination at once would each
  // wait for the other's hold on it.
  let _turn = ONE_AT_A_TIME.lock();
  let busy_timeout_ms: i64 = source.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
  let busy_timeout = Duration::from_millis(busy_timeout_ms.max(0) as u64);
  Temporary::remove_stale(dest);
  let temporary = Temporary::create(source, dest)?;
  copy_into(source, &temporary.path).map_err(|e| e.context(format!("backup to {}", dest.display())))?;
  let io = |what: &str| {
    let dest = dest.display().to_string();
    let what = what.to_string();
    move |e: std::io::Error| io_error(e, format!("backup to {dest}: {what}"))
  };
  File::open(&temporary.path).and_then(|file| file.sync_all()).map_err(io("cannot sync the copy"))?;
  // Held until the copy is in place: no other connection has the old file open meanwhile.
  // Windows refuses to rename over a file that is open, by this connection too: there the
  // hold shows that no other connection had it open, and is let go first.
  let mut held = hold(dest, busy_timeout)?;
  if cfg!(windows) {
    held = None;
  }
  std::fs::rename(&temporary.path, dest).map_err(io("cannot move the copy into place"))?;
  temporary.placed();
  drop(held);
  sync_directory_of(dest).map_err(io("cannot sync its directory"))
}

/// Refuses a destination that is a directory, in a missing directory, or a file that is not
/// an SQLite database (a 0-byte file is an empty database), before anything is written.
fn check_destination(dest: &Path) -> Result<()> {
  let cant_open = |why: String| Error::new(ErrorCode::CantOpen, format!("backup to {}: {why}", dest.display()));
  let parent = parent_of(dest);
  if !parent.is_dir() {
    return Err(cant_open(format!("directory {} does not exist", parent.display())));
  }
  if dest.is_dir() {
    return Err(cant_open("it is a directory".into()));
  }
  let mut file = match File::open(dest) {
    Ok(file) => file,
    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
    Err(e) => return Err(io_error(e, format!("backup to {}", dest.display()))),
  };
  let mut header = Vec::with_capacity(SQLITE_HEADER.len());
  file
    .by_ref()
    .take(SQLITE_HEADER.len() as u64)
    .read_to_end(&mut header)
    .map_err(|e| io_error(e, format!("backup to {}", dest.display())))?;
  if header.is_empty() || header == SQLITE_HEADER {
    return Ok(());
  }
  Err(Error::new(
    ErrorCode::NotADatabase,
    format!("backup to {}: the file is not an SQLite database, so it was left as it was", dest.display()),
  ))
}

/// The temporary file a backup is written to, beside its destination; removed, with any file
/// SQLite made beside it, unless it was moved into place.
struct Temporary {
  path: PathBuf,
  placed: bool,
}

impl Temporary {
  /// Creates a new, empty file beside `dest` (`.<name>.<pid>-<n>.backup`), whose name, and
  /// the names SQLite will give the files beside it, are free and none of `source`'s files.
  fn create(source: &Connection, dest: &Path) -> Result<Temporary> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = dest.file_name().ok_or_else(|| Error::invalid(format!("backup destination {} names no file", dest.display())))?;
    for _ in 0..100 {
      let mut candidate = OsString::from(".");
      candidate.push(name);
      candidate.push(format!(".{}-{}.backup", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
      let path = parent_of(dest).join(candidate);
      if touches_database(source, &path) || DATABASE_FILE_SUFFIXES.iter().any(|suffix| with_suffix(&path, suffix).exists()) {
        continue;
      }
      match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(_) => return Ok(Temporary { path, placed: false }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
        Err(e) => return Err(io_error(e, format!("backup to {}: cannot create a file beside it", dest.display()))),
      }
    }
    Err(Error::new(ErrorCode::Io, format!("backup to {}: no free name for a temporary file beside it", dest.display())))
  }

  /// Removes the temporary files (and the files SQLite made beside them) that backups to
  /// `dest` left when their process was killed: those named as [`Temporary::create`] names
  /// them, after a process that no longer exists. Anything else beside `dest` is left alone.
  fn remove_stale(dest: &Path) {
    let (Some(name), Ok(entries)) = (dest.file_name(), std::fs::read_dir(parent_of(dest))) else { return };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let Some(prefix) = prefix.to_str().map(str::to_string) else { return };
    for entry in entries.flatten() {
      let file_name = entry.file_name();
      let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
      // The temporary file itself, or a file SQLite made beside it (whose temporary may be gone).
      let Some(base) =
        DATABASE_FILE_SUFFIXES.iter().find_map(|suffix| rest.strip_suffix(suffix).filter(|b| b.ends_with(".backup")))
      else {
        continue;
      };
      let Some(pid) = temporary_pid(base) else { continue };
      if crate::process::ended(pid) {
        let temporary = parent_of(dest).join(format!("{prefix}{base}"));
        for suffix in DATABASE_FILE_SUFFIXES {
          let _ = std::fs::remove_file(with_suffix(&temporary, suffix));
        }
      }
    }
  }

  /// The file is the destination now: nothing is removed.
  fn placed(mut self) {
    self.placed = true;
  }
}

impl Drop for Temporary {
  fn drop(&mut self) {
    if !self.placed {
      for suffix in DATABASE_FILE_SUFFIXES {
        let _ = std::fs::remove_file(with_suffix(&self.path, suffix));
      }
    }
  }
}

/// The process id in what follows the destination's name in a temporary file's name
/// (`<pid>-<n>.backup`); `None` for anything else.
fn temporary_pid(rest: &str) -> Option<u32> {
  let (pid, n) = rest.strip_suffix(".backup")?.split_once('-')?;
  n.parse::<u64>().ok()?;
  pid.parse().ok()
}

/// Copies `source` into the empty file `copy` and makes the copy a rollback-journal file,
/// synced at every commit.
fn copy_into(source: &Connection, copy: &Path) -> Result<()> {
  let mut target = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
  target.pragma_update(None, "synchronous", "FULL")?;
  {
    let step = Backup::new(source, &mut target)?;
    // A negative page count copies every page in this one step.
    let outcome = step.step(-1)?;
    if outcome != StepResult::Done {
      return Err(Error::new(ErrorCode::Busy, format!("the copy was not completed ({outcome:?})")));
    }
  }
  // The copy took the source's header, which names WAL mode for a WAL source.
  let mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
  if !mode.eq_ignore_ascii_case("delete") {
    return Err(Error::new(ErrorCode::Io, format!("the copy could not leave {mode} mode")));
  }
  target.close().map_err(|(_, e)| Error::from(e))
}

/// When `dest` exists, a connection to it holding the lock that no other connection's
/// allows, in rollback-journal and WAL mode alike (exclusive locking mode, then an exclusive
/// transaction), waiting for others up to `busy_timeout`. Taking it rolls back a transaction
/// a crashed writer left in the file, and closing it removes the file's own `-wal`.
fn hold(dest: &Path, busy_timeout: Duration) -> Result<Option<Connection>> {
  if !dest.exists() {
    return Ok(None);
  }
  let at = |e: rusqlite::Error| {
    let err = Error::from(e);
    let why = if err.code == ErrorCode::Busy { ": another connection has it open" } else { "" };
    err.context(format!("backup to {}{why}", dest.display()))
  };
  let conn =
    Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(at)?;
  conn.busy_timeout(busy_timeout).map_err(at)?;
  conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |_| Ok(())).map_err(at)?;
  conn.execute_batch("BEGIN EXCLUSIVE").map_err(at)?;
  Ok(Some(conn))
}

/// Whether a database named `path` would have SQLite touch the file `conn` has open or one of
/// its side files: `path` or one of the files SQLite keeps beside it is one of those. Paths
/// are compared resolved (symbolic links, `..`) and, on Unix, by file identity too, so a hard
/// link or a differently cased name on a case-insensitive disk is caught as well.
fn touches_database(conn: &Connection, path: &Path) -> bool {
  let Some(db) = conn.path().filter(|p| !p.is_empty()) else { return false };
  let db = Path::new(db);
  DATABASE_FILE_SUFFIXES.iter().any(|ours| {
    let ours = with_suffix(path, ours);
    let resolved_ours = resolved(&ours);
    DATABASE_FILE_SUFFIXES.iter().any(|theirs| {
      let theirs = with_suffix(db, theirs);
      (resolved_ours.is_some() && resolved(&theirs) == resolved_ours) || same_identity(&theirs, &ours)
    })
  })
}

/// `path` with `suffix` added to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
  let mut name = path.as_os_str().to_owned();
  name.push(suffix);
  PathBuf::from(name)
}

/// The directory a file path is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
  path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// An error of the file system, with `context`: `FULL` for a full disk, `READONLY` for a
/// read-only one, `CANT_OPEN` for a refused permission, `IO` otherwise.
pub(crate) fn io_error(err: std::io::Error, context: String) -> Error {
  use std::io::ErrorKind;
  let code = match err.kind() {
    ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => ErrorCode::Full,
    ErrorKind::ReadOnlyFilesystem => ErrorCode::Readonly,
    ErrorKind::PermissionDenied => ErrorCode::CantOpen,
    _ => ErrorCode::Io,
  };
  Error::new(code, format!("{context}: {err}"))
}

/// The absolute, link-free form of `path`, which need not exist yet (its directory must).
fn resolved(path: &Path) -> Option<PathBuf> {
  if let Ok(full) = std::fs::canonicalize(path) {
    return Some(full);
  }
  let name = path.file_name()?;
  Some(std::fs::canonicalize(parent_of(path)).ok()?.join(name))
}

#[cfg(unix)]
fn same_identity(a: &Path, b: &Path) -> bool {
  use std::os::unix::fs::MetadataExt;
  match (std::fs::metadata(a), std::fs::metadata(b)) {
    (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
    _ => false,
  }
}

#[cfg(not(unix))]
fn same_identity(_: &Path, _: &Path) -> bool {
  false
}

/// Makes a rename in `path`'s directory durable (Unix; Windows has no equivalent call and
/// journals directory changes itself).
#[cfg(unix)]
pub(crate) fn sync_directory_of(path: &Path) -> std::io::Result<()> {
  File::open(parent_of(path))?.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn sync_directory_of(_: &Path) -> std::io::Result<()> {
  Ok(())
}

#[cfg(test)]
mod tests {
  use std::sync::atomic::{AtomicBool, Ordering};
  use std::sync::Arc;

  use super::*;
  use crate::connection::{open_reader, open_writer, Location, OpenOptions};
  use crate::maintenance::integrity_check;
  use crate::test_support::TempDir;

  fn writer(path: &Path) -> Connection {
    let conn = open_writer(&Location::File(path.to_path_buf()), &OpenOptions::default()).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
    conn
  }

  fn count(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
  }

  #[test]
  fn copies_from_a_reader_while_another_connection_writes() {
    let dir = TempDir::new("backup-live");
    let path = dir.join("live.db");
    let conn = writer(&path);
    conn.execute_batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t SELECT i, hex(randomblob(64)) FROM n").unwrap();
    let before = count(&conn);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = {
      let stop = Arc::clone(&stop);
      let path = path.clone();
      std::thread::spawn(move || {
        let conn = writer(&path);
        let mut written = 0;
        while !stop.load(Ordering::Relaxed) {
          conn.execute("INSERT INTO t (v) VALUES (hex(randomblob(64)))", []).unwrap();
          written += 1;
        }
        written
      })
    };
    let reader = open_reader(&path, &OpenOptions::default()).unwrap();
    let dest = dir.join("copy.db");
    backup(&reader, &dest).unwrap();
    stop.store(true, Ordering::Relaxed);
    writes.join().unwrap();
    let copy = Connection::open(&dest).unwrap();
    assert!(integrity_check(&copy, true).unwrap().ok);
    assert!(count(&copy) >= before);
    let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
  }

  #[test]
  fn backups_to_one_destination_at_once_all_succeed() {
    let dir = TempDir::new("backup-concurrent");
    let path = dir.join("a.db");
    let conn = writer(&path);
    conn.execute_batch("INSERT INTO t (v) VALUES ('x')").unwrap();
    let dest = dir.join("copy.db");
    let copies: Vec<_> = (0..6)
      .map(|_| {
        let (path, dest) = (path.clone(), dest.clone());
        std::thread::spawn(move || backup(&open_reader(&path, &OpenOptions::default()).unwrap(), &dest))
      })
      .collect();
    for copy in copies {
      copy.join().unwrap().unwrap();
    }
    assert_eq!(count(&Connection::open(&dest).unwrap()), 1);
  }

  #[test]
  fn replaces_an_existing_database() {
    let dir = TempDir::new("backup-replace");
    let conn = writer(&dir.join("a.db"));
    conn.execute_batch("INSERT INTO t (v) VALUES ('new')").unwrap();
    let dest = dir.join("old.db");
    let old = Connection::open(&dest).unwrap();
    old.execute_batch("CREATE TABLE stale (x); INSERT INTO stale VALUES (1);").unwrap();
    drop(old);
    backup(&conn, &dest).unwrap();
    let copy = Connection::open(&dest).unwrap();
    let tables: Vec<String> =
      copy.prepare("SELECT name FROM sqlite_master").unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(tables, vec!["t".to_string()]);
  }

  #[test]
  fn refuses_the_source_and_its_files() {
    let dir = TempDir::new("backup-self");
    let path = dir.join("self.db");
    let conn = writer(&path);
    let link = dir.join("link.db");
    std::fs::hard_link(&path, &link).unwrap();
    let dotted = dir.join(".").join("self.db");
    for dest in [path.clone(), dotted, link, dir.join("self.db-wal"), dir.join("self.db-shm"), dir.join("self.db-journal")] {
      let err = backup(&conn, &dest).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidArgument, "{}: {err}", dest.display());
    }
    assert!(!dir.join("self.db-journal").exists());
    assert!(integrity_check(&conn, true).unwrap().ok);
    for dest in ["", MEMORY_PATH, "a\0b"] {
      assert_eq!(backup(&conn, Path::new(dest)).unwrap_err().code, ErrorCode::InvalidArgument);
    }
  }

  #[test]
  fn refuses_a_file_that_is_not_a_database_and_leaves_it_untouched() {
    let dir = TempDir::new("backup-not-db");
    let conn = writer(&dir.join("a.db"));
    let dest = dir.join("notes.txt");
    let text = "these are somebody's notes, not a database\n".repeat(200);
    std::fs::write(&dest, &text).unwrap();
    let err = backup(&conn, &dest).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotADatabase, "{err}");
    assert!(err.message.contains("backup to"), "the message names the destination: {err}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), text);
  }

  #[test]
  fn a_locked_destination_is_busy_after_the_timeout() {
    let dir = TempDir::new("backup-locked");
    let options = OpenOptions { busy_timeout: std::time::Duration::from_millis(50), ..OpenOptions::default() };
    let conn = open_writer(&Location::File(dir.join("a.db")), &options).unwrap();
    let dest = dir.join("copy.db");
    let holder = Connection::open(&dest).unwrap();
    holder.execute_batch("CREATE TABLE held (x); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1);").unwrap();
    let err = backup(&conn, &dest).unwrap_err();
    assert_eq!(err.code, ErrorCode::Busy, "{err}");
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    backup(&conn, &dest).unwrap();
  }

  /// The names in `dir`, sorted.
  fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
      std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
  }

  #[test]
  fn a_destination_beside_which_the_database_would_be_a_side_file_is_refused() {
    let dir = TempDir::new("backup-side-name");
    for suffix in ["-journal", "-wal", "-shm"] {
      let live = dir.join(&format!("copy.db{suffix}"));
      let conn = writer(&live);
      conn.execute_batch("INSERT INTO t (v) VALUES ('kept')").unwrap();
      let err = backup(&conn, &dir.join("copy.db")).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidArgument, "live database copy.db{suffix}: {err}");
      assert!(live.exists(), "copy.db{suffix} was deleted");
      drop(conn);
      let reopened = Connection::open(&live).unwrap();
      assert!(integrity_check(&reopened, true).unwrap().ok, "copy.db{suffix}");
      assert_eq!(count(&reopened), 1, "copy.db{suffix}");
      drop(reopened);
      for name in names(dir.path()) {
        std::fs::remove_file(dir.join(&name)).unwrap();
      }
    }
  }

  #[test]
  fn a_destination_another_connection_has_open_is_busy_and_left_as_it_was() {
    let dir = TempDir::new("backup-open-dest");
    let options = OpenOptions { busy_timeout: std::time::Duration::from_millis(50), ..OpenOptions::default() };
    let conn = open_writer(&Location::File(dir.join("a.db")), &options).unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); INSERT INTO t (v) VALUES ('ours')").unwrap();
    let dest = dir.join("copy.db");
    let holder = writer(&dest);
    holder.execute_batch("INSERT INTO t (v) VALUES ('theirs'), ('theirs too')").unwrap();
    let err = backup(&conn, &dest).unwrap_err();
    assert_eq!(err.code, ErrorCode::Busy, "{err}");
    let rows: Vec<String> =
      holder.prepare("SELECT v FROM t ORDER BY id").unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(rows, ["theirs", "theirs too"], "the destination was overwritten");
    let other = Connection::open(&dest).unwrap();
    assert_eq!(count(&other), 2, "a new connection sees the destination as it was");
    drop((holder, other));
    assert_eq!(names(dir.path()).iter().filter(|n| !n.starts_with("a.db") && !n.starts_with("copy.db")).count(), 0);
    backup(&conn, &dest).unwrap();
    assert_eq!(count(&Connection::open(&dest).unwrap()), 1);
  }

  #[test]
  fn a_full_disk_leaves_the_destination_as_it_was() {
    let dir = TempDir::new("backup-full");
    let small = dir.join("small");
    let Some(_mounted) = crate::test_support::tmpfs(&small, "64k") else {
      eprintln!("skipped: mounting a 64 KiB tmpfs needs root");
      return;
    };
    let conn = writer(&dir.join("a.db"));
    conn.execute_batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, hex(randomblob(100)) FROM n").unwrap();

    let new = small.join("new.db");
    let err = backup(&conn, &new).unwrap_err();
    assert_eq!(err.code, ErrorCode::Full, "{err}");
    assert_eq!(names(&small), Vec::<String>::new(), "a failed backup to a new file leaves nothing");

    let old = small.join("old.db");
    let previous = Connection::open(&old).unwrap();
    previous.execute_batch("CREATE TABLE kept (x); INSERT INTO kept VALUES ('the previous backup')").unwrap();
    drop(previous);
    let bytes = std::fs::read(&old).unwrap();
    let err = backup(&conn, &old).unwrap_err();
    assert_eq!(err.code, ErrorCode::Full, "{err}");
    assert_eq!(names(&small), ["old.db"]);
    assert!(std::fs::read(&old).unwrap() == bytes, "the previous backup was changed");
  }

  #[test]
  fn a_missing_directory_cannot_be_opened() {
    let dir = TempDir::new("backup-missing");
    let conn = writer(&dir.join("a.db"));
    let err = backup(&conn, &dir.join("nope").join("copy.db")).unwrap_err();
    assert_eq!(err.code, ErrorCode::CantOpen, "{err}");
  }

  #[cfg(unix)]
  #[test]
  fn temporaries_left_by_killed_backups_are_removed_by_the_next_backup() {
    let dir = TempDir::new("backup-stale");
    let source = writer(&dir.join("live.db"));
    let dest = dir.join("copy.db");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let ended = child.id();
    child.wait().unwrap();
    let left = [format!(".copy.db.{ended}-0.backup"), format!(".copy.db.{ended}-7.backup-journal")];
    let kept = [
      format!(".copy.db.{}-0.backup", std::process::id()),
      format!(".other.db.{ended}-0.backup"),
      format!(".copy.db.{ended}-x.backup"),
      "notes.txt".to_string(),
    ];
    for name in left.iter().chain(&kept) {
      std::fs::write(dir.join(name), b"").unwrap();
    }
    backup(&source, &dest).unwrap();
    let mut expected: Vec<String> = kept.to_vec();
    expected.extend(["copy.db".to_string(), "live.db".to_string(), "live.db-shm".to_string(), "live.db-wal".to_string()]);
    expected.sort();
    assert_eq!(names(dir.path()), expected);
  }
}
