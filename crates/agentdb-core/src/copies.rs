//! One SQLite per database file per process.
//!
//! Each copy of this library carries its own SQLite, and on Unix SQLite's locks (POSIX
//! advisory locks) do not exclude each other within one process: two copies of the addon
//! loaded in one process (two packages bundling it, a copy of the binary) would each believe
//! they hold a file's write lock and could corrupt it. So, for every database file it has
//! open, a copy of the library holds an exclusive `flock` on a small file named after the
//! process and the database file; `flock` locks do exclude each other within a process, so
//! another copy finds it held and is refused. Other processes use other lock files and are
//! not affected. Windows locks are per handle and need none of this.

use std::path::Path;

use crate::error::Result;

/// Held while this copy of the library has a database file open; released when dropped.
pub struct FileClaim {
  _claim: imp::Claim,
}

/// Claims `path` for this copy of the library (any number of connections of this copy may
/// then open it), or fails with `CANT_OPEN` when another copy in this process has it open.
/// When no lock file can be made (no writable temporary directory), nothing is claimed.
pub fn claim(path: &Path) -> Result<FileClaim> {
  imp::claim(path).map(|claim| FileClaim { _claim: claim })
}

#[cfg(unix)]
mod imp {
  use std::collections::HashMap;
  use std::fs::{File, OpenOptions, TryLockError};
  use std::hash::{DefaultHasher, Hash, Hasher};
  use std::os::unix::fs::MetadataExt;
  use std::path::{Path, PathBuf};

  use parking_lot::Mutex;

  use crate::error::{Error, ErrorCode, Result};

  /// This copy's lock files: by lock-file path, the locked file and how many claims use it.
  static HELD: Mutex<Option<HashMap<PathBuf, (File, usize)>>> = Mutex::new(None);

  /// A claim on one lock file (`None`: no lock file could be made).
  pub struct Claim(Option<PathBuf>);

  /// The lock file for `path` in this process: in the temporary directory, named after the
  /// process id and a hash of the database file's resolved path.
  pub(super) fn lock_path(path: &Path) -> PathBuf {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let resolved = std::fs::canonicalize(parent)
      .map(|dir| dir.join(path.file_name().unwrap_or_default()))
      .unwrap_or_else(|_| path.to_path_buf());
    let mut hasher = DefaultHasher::new();
    resolved.hash(&mut hasher);
    std::env::temp_dir().join(format!("agentdb-{}-{:016x}.lock", std::process::id(), hasher.finish()))
  }

  /// See [`super::claim`].
  pub fn claim(path: &Path) -> Result<Claim> {
    let lock = lock_path(path);
    let mut held = HELD.lock();
    let held = held.get_or_insert_with(HashMap::new);
    if let Some((_, claims)) = held.get_mut(&lock) {
      *claims += 1;
      return Ok(Claim(Some(lock)));
    }
    let Some(file) = lock_file(&lock, path)? else { return Ok(Claim(None)) };
    held.insert(lock.clone(), (file, 1));
    remove_stale(&lock);
    Ok(Claim(Some(lock)))
  }

  /// Removes the lock files for the same database file left by processes that ended with it
  /// open (killed, or exited without closing it). A live process keeps its lock file locked,
  /// so one that can be locked is stale.
  fn remove_stale(lock: &Path) {
    let (Some(dir), Some(name)) = (lock.parent(), lock.file_name().and_then(|n| n.to_str())) else { return };
    let Some((_, hash)) = name.rsplit_once('-') else { return };
    let suffix = format!("-{hash}");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
      let other = entry.path();
      let sibling = entry.file_name().to_str().is_some_and(|n| n.starts_with("agentdb-") && n.ends_with(&suffix));
      if !sibling || other == lock {
        continue;
      }
      if File::open(&other).is_ok_and(|file| file.try_lock().is_ok()) {
        let _ = std::fs::remove_file(&other);
      }
    }
  }

  /// Opens and locks the lock file; `None` when it cannot be made at all.
  fn lock_file(lock: &Path, path: &Path) -> Result<Option<File>> {
    loop {
      let Ok(file) = OpenOptions::new().create(true).truncate(false).write(true).open(lock) else { return Ok(None) };
      match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
          return Err(Error::new(
            ErrorCode::CantOpen,
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
}

#[cfg(not(unix))]
mod imp {
  use std::path::Path;

  use crate::error::Result;

  /// Nothing to hold: Windows locks exclude each other within a process.
  pub struct Claim;

  /// See [`super::claim`].
  pub fn claim(_: &Path) -> Result<Claim> {
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
    let first = claim(&path).unwrap();
    let second = claim(&path).unwrap();
    #[cfg(unix)]
    {
      let lock = imp::lock_path(&path);
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
    let ours = imp::lock_path(&path);
    let name = ours.file_name().unwrap().to_str().unwrap().to_string();
    let hash = name.rsplit_once('-').unwrap().1;
    let stale = ours.with_file_name(format!("agentdb-4000000001-{hash}"));
    let live = ours.with_file_name(format!("agentdb-4000000002-{hash}"));
    std::fs::write(&stale, b"").unwrap();
    std::fs::write(&live, b"").unwrap();
    let holder = std::fs::File::open(&live).unwrap();
    holder.try_lock().unwrap();
    let claim = claim(&path).unwrap();
    assert!(!stale.exists());
    assert!(live.exists());
    drop((claim, holder));
    let _ = std::fs::remove_file(&live);
  }
}
