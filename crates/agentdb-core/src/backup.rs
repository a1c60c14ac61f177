//! Consistent copies of a live database through SQLite's online backup API.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::connection::{literal_path, MEMORY_PATH};
use crate::error::{Error, ErrorCode, Result};

/// The files SQLite keeps beside a database (`-wal`, `-shm`, `-journal`), by suffix; with the
/// database itself (`""`), the files a backup must never write.
const DATABASE_FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// Held by the backup in progress.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Copies the database `source` has open into `dest` in one backup step, which reads one
/// consistent snapshot; on a WAL database writers on other connections go on meanwhile. The
/// copy is complete and synced to disk when this returns. `dest` is replaced if it is a
/// database, refused if it is another kind of file (`NOT_A_DATABASE`, left as it was), and
/// never the source itself or one of the files SQLite keeps beside it (`INVALID_ARGUMENT`).
pub fn backup(source: &Connection, dest: &Path) -> Result<()> {
  let name = dest.as_os_str();
  if name.is_empty() || name == MEMORY_PATH || name.as_encoded_bytes().contains(&0) {
    return Err(Error::invalid("backup destination must be a file path (not empty, not ':memory:', no NUL character)"));
  }
  let dest = &literal_path(dest);
  if is_database_file(source, dest) {
    return Err(Error::invalid(format!(
      "backup destination {} is the database itself or one of its -wal, -shm or -journal files",
      dest.display()
    )));
  }
  // Two backups writing one destination at once refuse each other at the end (leaving WAL
  // mode needs the destination to itself), so backups in this process take turns.
  let _turn = ONE_AT_A_TIME.lock();
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let at = |e: rusqlite::Error| Error::from(e).context(format!("backup to {}", dest.display()));
  let mut target = Connection::open_with_flags(dest, flags).map_err(at)?;
  // A destination locked by another connection is waited for as long as the source would wait.
  let busy_timeout_ms: i64 = source.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
  target.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms.max(0) as u64))?;
  target.pragma_update(None, "synchronous", "FULL").map_err(at)?;
  {
    let step = Backup::new(source, &mut target).map_err(at)?;
    // A negative page count copies every page in this one step.
    let outcome = step.step(-1).map_err(at)?;
    if outcome != StepResult::Done {
      return Err(Error::new(
        ErrorCode::Busy,
        format!("backup to {}: the destination stayed locked by another connection ({outcome:?})", dest.display()),
      ));
    }
  }
  // The copy is a plain rollback-journal file: one file to move or ship.
  let mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
  if !mode.eq_ignore_ascii_case("delete") {
    return Err(Error::new(ErrorCode::Io, format!("backup {}: could not leave WAL mode", dest.display())));
  }
  target.close().map_err(|(_, e)| Error::from(e))?;
  sync_directory_of(dest)
    .map_err(|e| Error::new(ErrorCode::Io, format!("backup {}: cannot sync its directory: {e}", dest.display())))
}

/// Whether `path` names the file `conn` has open, or one of the files SQLite keeps beside it.
/// Paths are compared resolved (symbolic links, `..`) and, on Unix, by file identity too, so
/// a hard link or a differently cased name on a case-insensitive disk is caught as well.
pub fn is_database_file(conn: &Connection, path: &Path) -> bool {
  let Some(db) = conn.path().filter(|p| !p.is_empty()) else { return false };
  let resolved_path = resolved(path);
  DATABASE_FILE_SUFFIXES.iter().any(|suffix| {
    let file = PathBuf::from(format!("{db}{suffix}"));
    (resolved_path.is_some() && resolved(&file) == resolved_path) || same_identity(&file, path)
  })
}

/// The absolute, link-free form of `path`, which need not exist yet (its directory must).
fn resolved(path: &Path) -> Option<PathBuf> {
  if let Ok(full) = std::fs::canonicalize(path) {
    return Some(full);
  }
  let name = path.file_name()?;
  let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
  Some(std::fs::canonicalize(parent).ok()?.join(name))
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

/// Makes a newly created file's directory entry durable (Unix; Windows has no equivalent
/// call and journals directory changes itself).
#[cfg(unix)]
fn sync_directory_of(path: &Path) -> std::io::Result<()> {
  let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
  std::fs::File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory_of(_: &Path) -> std::io::Result<()> {
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

  /// A mounted file system, unmounted when dropped.
  struct Mounted(PathBuf);

  impl Drop for Mounted {
    fn drop(&mut self) {
      let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
  }

  /// Mounts a tmpfs of `size` on `dir`; `None` when this process may not mount (it is not
  /// root).
  fn tmpfs(dir: &Path, size: &str) -> Option<Mounted> {
    std::fs::create_dir_all(dir).unwrap();
    let mounted = std::process::Command::new("mount")
      .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
      .arg(dir)
      .stderr(std::process::Stdio::null())
      .status()
      .is_ok_and(|s| s.success());
    mounted.then(|| Mounted(dir.to_path_buf()))
  }

  #[test]
  fn a_full_disk_leaves_the_destination_as_it_was() {
    let dir = TempDir::new("backup-full");
    let small = dir.join("small");
    let Some(_mounted) = tmpfs(&small, "64k") else {
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
}
