//! One SQLite per database file per process.
//!
//! Each copy of SQLite in a process keeps its own locks, and on Unix SQLite's locks (POSIX
//! advisory locks) do not exclude each other within one process: another copy of the addon
//! (two packages bundling it), or another SQLite library (better-sqlite3, @libsql/client,
//! node:sqlite) with the same file open, would believe it holds the file's locks while this
//! library writes, and the file is corrupted (<https://sqlite.org/howtocorrupt.html>,
//! section 2.2.1). Two guards, both keyed on the file's device and inode, so that no
//! symbolic or hard link gets around them:
//!
//! - for every database file it has open, a copy of the library holds an exclusive `flock`
//!   on a small lock file in the temporary directory, named after the process and the
//!   file; `flock` locks do exclude each other within a process, so another copy of the
//!   addon finds it held and is refused;
//! - when a copy first opens a file, no descriptor of the process may be open on the file or
//!   on its `-wal`, `-journal` or `-shm` files: any that is was opened by some other code
//!   (this copy's own SQLite has none, it has not opened the file yet), and the open is
//!   refused. Later `Database`s of the same copy on the same file are allowed: one SQLite
//!   coordinates its own connections.
//!
//! Windows locks are per handle and mandatory, so none of this is needed there.

use std::path::Path;

use crate::error::Result;

/// Held while this copy of the library has a database file open; released when dropped.
pub struct FileClaim {
  _claim: imp::Claim,
}

/// Claims `path` for this copy of the library (any number of connections of this copy may
/// then open it), or fails with `OPEN_ELSEWHERE_IN_PROCESS` when another copy of the library
/// in this process has it open, or, at this copy's first claim on it, when any descriptor of
/// the process is open on it or its side files. With `create`, a missing file is created
/// empty first (as SQLite would create it), so that it has an identity. When no lock file can be made (no
/// writable temporary directory), the descriptor check still runs but no lock is held.
pub fn claim(path: &Path, create: bool) -> Result<FileClaim> {
  imp::claim(path, create).map(|claim| FileClaim { _claim: claim })
}

#[cfg(unix)]
mod imp {
  use std::collections::HashMap;
  use std::fs::{File, OpenOptions, TryLockError};
  use std::hash::{DefaultHasher, Hash, Hasher};
  use std::os::unix::fs::MetadataExt;
  use std::path::{Path, PathBuf};

  use parking_lot::Mutex;

  use crate::backup::{with_suffix, DATABASE_FILE_SUFFIXES};
  use crate::error::{Error, ErrorCode, Result};
  use crate::process::{self, FileId};

  /// This copy's lock files: by lock-file path, the locked file and how many claims use it.
  static HELD: Mutex<Option<HashMap<PathBuf, (File, usize)>>> = Mutex::new(None);

  /// A claim on one lock file (`None`: no lock file could be made).
  pub struct Claim(Option<PathBuf>);

  /// What names the database file in its lock file's name: its device and inode, or, when
  /// it has none that can be read, its resolved path.
  #[derive(Hash)]
  enum Key {
    File(FileId),
    Path(PathBuf),
  }

  /// The identity of `path`; with `create`, the file is created (empty, as SQLite would)
  /// when it is missing.
  fn identify(path: &Path, create: bool) -> Key {
    if let Some(id) = process::file_id(path) {
      return Key::File(id);
    }
    if create {
      let _ = OpenOptions::new().write(true).create_new(true).open(path);
    }
    match process::file_id(path) {
      Some(id) => Key::File(id),
      None => {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let resolved = std::fs::canonicalize(parent)
          .map(|dir| dir.join(path.file_name().unwrap_or_default()))
          .unwrap_or_else(|_| path.to_path_buf());
        Key::Path(resolved)
      }
    }
  }

  /// The prefix of every lock file's name; the process id and a hash of the file's
  /// [`Key`] follow it.
  const LOCK_PREFIX: &str = "agentdb-";

  /// The lock file for `key` in this process: in the temporary directory, named after the
  /// process id and a hash of the key.
  fn lock_path(key: &Key) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    std::env::temp_dir().join(format!("{LOCK_PREFIX}{}-{:016x}.lock", std::process::id(), hasher.finish()))
  }

  /// The lock file [`claim`] uses for `path`.
  #[cfg(test)]
  pub(super) fn lock_path_of(path: &Path) -> PathBuf {
    lock_path(&identify(path, true))
  }

  /// See [`super::claim`].
  pub fn claim(path: &Path, create: bool) -> Result<Claim> {
    let key = identify(path, create);
    let lock = lock_path(&key);
    let mut held = HELD.lock();
    let held = held.get_or_insert_with(HashMap::new);
    if let Some((_, claims)) = held.get_mut(&lock) {
      *claims += 1;
      return Ok(Claim(Some(lock)));
    }
    // Another copy of the library is named as such by its lock file, so that is tried first.
    let file = lock_file(&lock, path)?;
    if let Err(refused) = refuse_foreign_descriptors(path) {
      if file.is_some() {
        let _ = std::fs::remove_file(&lock);
      }
      return Err(refused);
    }
    let Some(file) = file else { return Ok(Claim(None)) };
    held.insert(lock.clone(), (file, 1));
    remove_stale(&lock);
    Ok(Claim(Some(lock)))
  }

  /// Refuses `path` when a descriptor of this process is open on it or one of its side
  /// files. Called only before this copy's SQLite has opened the file, so such a descriptor
  /// belongs to other code: another SQLite library, or an `open()` of the file.
  fn refuse_foreign_descriptors(path: &Path) -> Result<()> {
    // SQLite names the side files after the path with symbolic links resolved.
    let names = [Some(path.to_path_buf()), std::fs::canonicalize(path).ok()];
    let files: Vec<(&str, FileId)> = names
      .iter()
      .flatten()
      .flat_map(|name| DATABASE_FILE_SUFFIXES.iter().map(move |suffix| (*suffix, with_suffix(name, suffix))))
      .filter_map(|(suffix, file)| process::file_id(&file).map(|id| (suffix, id)))
      .collect();
    let ids: Vec<FileId> = files.iter().map(|(_, id)| *id).collect();
    let Some((fd, id)) = process::descriptors_on(&ids).into_iter().next() else { return Ok(()) };
    let suffix = files.iter().find(|(_, file)| *file == id).map_or("", |(suffix, _)| *suffix);
    Err(Error::new(
      ErrorCode::OpenElsewhereInProcess,
      format!(
        "{}{suffix} is already open in this process by code other than @cherry/agentdb (descriptor {fd}), most likely through \
         another SQLite library (better-sqlite3, @libsql/client, node:sqlite); two SQLite libraries in one process \
         do not see each other's locks and corrupt the file, so close the other library's connection first",
        path.display()
      ),
    ))
  }

  /// Removes lock files left in the temporary directory by processes that ended without
  /// closing their databases (killed, crashed): those whose process no longer exists, and
  /// those for the same database file that can be locked (a live process keeps its lock
  /// file locked).
  fn remove_stale(lock: &Path) {
    let (Some(dir), Some(name)) = (lock.parent(), lock.file_name().and_then(|n| n.to_str())) else { return };
    let Some((_, hash)) = name.rsplit_once('-') else { return };
    let suffix = format!("-{hash}");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
      let other = entry.path();
      let Some(other_name) = entry.file_name().to_str().map(str::to_string) else { continue };
      let Some(pid) = lock_file_pid(&other_name) else { continue };
      if other == lock {
        continue;
      }
      let stale =
        process::ended(pid) || (other_name.ends_with(&suffix) && File::open(&other).is_ok_and(|file| file.try_lock().is_ok()));
      if stale {
        let _ = std::fs::remove_file(&other);
      }
    }
  }

  /// The process id in a lock file's name (`agentdb-<pid>-<16 hex digits>.lock`); `None` for
  /// any other name.
  fn lock_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(LOCK_PREFIX)?.strip_suffix(".lock")?;
    let (pid, hash) = rest.split_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
    pid.parse().ok()
  }

  /// Opens and locks the lock file; `None` when it cannot be made at all.
  fn lock_file(lock: &Path, path: &Path) -> Result<Option<File>> {
    loop {
      let Ok(file) = OpenOptions::new().create(true).truncate(false).write(true).open(lock) else { return Ok(None) };
      match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
          return Err(Error::new(
            ErrorCode::OpenElsewhereInProcess,
            format!(
              "{} is already open in this process through another copy of @cherry/agentdb; each copy carries its own SQLite, \
               whose locks cannot exclude each other within one process, so open the file through one copy only",
              path.display()
            ),
          ))
        }
        Err(TryLockError::Error(_)) => return Ok(None),
      }
      // The copy that held it may have removed the file in between: lock the file that is there.
      let same = match (file.metadata(), std::fs::metadata(lock)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
      };
      if same {
        return Ok(Some(file));
      }
    }
  }

  impl Drop for Claim {
    fn drop(&mut self) {
      let Some(lock) = self.0.take() else { return };
      let mut held = HELD.lock();
      let Some(held) = held.as_mut() else { return };
      if let Some((_, claims)) = held.get_mut(&lock) {
        *claims -= 1;
        if *claims == 0 {
          // Removed while still locked, so no other copy can lock this file in between.
          let _ = std::fs::remove_file(&lock);
          held.remove(&lock);
        }
      }
    }
  }

  #[cfg(test)]
  #[test]
  fn lock_file_names_are_recognised() {
    assert_eq!(lock_file_pid("agentdb-123-00112233445566ff.lock"), Some(123));
    assert_eq!(lock_file_pid("agentdb-123-0011.lock"), None);
    assert_eq!(lock_file_pid("agentdb-copies-1-2"), None);
    assert_eq!(lock_file_pid("other-123-00112233445566ff.lock"), None);
  }
}

#[cfg(not(unix))]
mod imp {
  use std::path::Path;

  use crate::error::Result;

  /// Nothing to hold: Windows locks exclude each other within a process.
  pub struct Claim;

  /// See [`super::claim`].
  pub fn claim(_: &Path, _: bool) -> Result<Claim> {
    Ok(Claim)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::test_support::TempDir;

  #[test]
  fn claims_of_one_copy_share_the_lock_file_and_release_it() {
    let dir = TempDir::new("copies");
    let path = dir.join("a.db");
    let first = claim(&path, true).unwrap();
    let second = claim(&path, true).unwrap();
    #[cfg(unix)]
    {
      let lock = imp::lock_path_of(&path);
      assert!(lock.exists());
      // Another open file description (as another copy of the library would make) is refused.
      let other = std::fs::File::open(&lock).unwrap();
      assert!(other.try_lock().is_err());
      drop(other);
      drop(first);
      assert!(lock.exists());
      drop(second);
      assert!(!lock.exists());
    }
    #[cfg(not(unix))]
    drop((first, second));
  }

  #[cfg(unix)]
  #[test]
  fn lock_files_left_by_ended_processes_are_removed() {
    let dir = TempDir::new("copies-stale");
    let path = dir.join("a.db");
    let ours = imp::lock_path_of(&path);
    let name = ours.file_name().unwrap().to_str().unwrap().to_string();
    let hash = name.rsplit_once('-').unwrap().1;
    let stale = ours.with_file_name(format!("agentdb-4000000001-{hash}"));
    let live = ours.with_file_name(format!("agentdb-4000000002-{hash}"));
    std::fs::write(&stale, b"").unwrap();
    std::fs::write(&live, b"").unwrap();
    let holder = std::fs::File::open(&live).unwrap();
    holder.try_lock().unwrap();
    let claim = claim(&path, true).unwrap();
    assert!(!stale.exists());
    assert!(live.exists());
    drop((claim, holder));
    let _ = std::fs::remove_file(&live);
  }

  #[cfg(unix)]
  #[test]
  fn a_link_to_a_claimed_file_shares_its_lock_file() {
    let dir = TempDir::new("copies-links");
    let path = dir.join("a.db");
    std::fs::write(&path, b"").unwrap();
    std::os::unix::fs::symlink(&path, dir.join("symlink.db")).unwrap();
    std::fs::hard_link(&path, dir.join("hardlink.db")).unwrap();
    let ours = imp::lock_path_of(&path);
    assert_eq!(imp::lock_path_of(&dir.join("symlink.db")), ours);
    assert_eq!(imp::lock_path_of(&dir.join("hardlink.db")), ours);
  }

  #[cfg(unix)]
  #[test]
  fn a_missing_file_is_created_so_that_a_link_made_later_finds_its_claim() {
    let dir = TempDir::new("copies-new");
    let path = dir.join("new.db");
    let claim = claim(&path, true).unwrap();
    assert!(path.exists());
    std::os::unix::fs::symlink(&path, dir.join("link.db")).unwrap();
    assert_eq!(imp::lock_path_of(&dir.join("link.db")), imp::lock_path_of(&path));
    drop(claim);
  }

  #[cfg(unix)]
  #[test]
  fn a_file_held_open_by_other_code_in_this_process_is_refused() {
    let dir = TempDir::new("copies-foreign");
    let path = dir.join("a.db");
    std::fs::write(&path, b"").unwrap();
    std::os::unix::fs::symlink(&path, dir.join("link.db")).unwrap();
    for held in [path.clone(), dir.join("a.db-wal"), dir.join("a.db-journal")] {
      std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&held).unwrap();
      let holder = std::fs::File::open(&held).unwrap();
      for name in ["a.db", "link.db"] {
        let err = claim(&dir.join(name), true).err().unwrap_or_else(|| panic!("{held:?} {name}"));
        assert_eq!(err.code, crate::error::ErrorCode::OpenElsewhereInProcess, "{err}");
        assert!(err.message.contains("another SQLite library"), "{err}");
      }
      drop(holder);
      if held != path {
        std::fs::remove_file(&held).unwrap();
      }
    }
    drop(claim(&path, true).unwrap());
  }

  #[cfg(unix)]
  #[test]
  fn once_claimed_the_file_is_claimed_again_by_the_same_copy() {
    let dir = TempDir::new("copies-again");
    let path = dir.join("a.db");
    let first = claim(&path, true).unwrap();
    // This copy's SQLite now holds the file open; its second Database on it is safe.
    let own = std::fs::File::open(&path).unwrap();
    let second = claim(&path, true).unwrap();
    drop((own, first, second));
  }

  #[cfg(unix)]
  #[test]
  fn lock_files_of_ended_processes_are_removed_whatever_file_they_were_for() {
    let dir = TempDir::new("copies-ended");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let ended = child.id();
    child.wait().unwrap();
    let ours = imp::lock_path_of(&dir.join("a.db"));
    let left = ours.with_file_name(format!("agentdb-{ended}-0123456789abcdef.lock"));
    let alive = ours.with_file_name(format!("agentdb-{}-0123456789abcdef.lock", std::process::id()));
    std::fs::write(&left, b"").unwrap();
    std::fs::write(&alive, b"").unwrap();
    let claim = claim(&dir.join("a.db"), true).unwrap();
    assert!(!left.exists());
    assert!(alive.exists());
    drop(claim);
    std::fs::remove_file(&alive).unwrap();
  }
}
