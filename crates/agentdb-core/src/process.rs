//! What this library asks the operating system about processes: whether one has ended, and
//! which of this process's descriptors are open on given files.

/// A file's identity: its device and inode, the same through every name it has (symbolic
/// and hard links included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
  /// The device holding the file.
  pub dev: u64,
  /// The file's inode on that device.
  pub ino: u64,
}

/// The identity of the file `path` names (following symbolic links); `None` when it
/// cannot be read (missing, no permission) or on a platform without inodes.
pub fn file_id(path: &std::path::Path) -> Option<FileId> {
  imp::file_id(path)
}

/// True when no process with id `pid` exists any more (only a definite "no such process"
/// counts: a process this one may not signal is alive).
pub fn ended(pid: u32) -> bool {
  imp::ended(pid)
}

/// This process's open descriptors on any of `files`, with the file each is open on.
pub fn descriptors_on(files: &[FileId]) -> Vec<(i32, FileId)> {
  imp::descriptors().into_iter().filter(|(_, id)| files.contains(id)).collect()
}

/// True when `err` says this process has no file descriptor left (`EMFILE`; `ENFILE`, the
/// system's table being full, says the same to the caller).
pub fn out_of_descriptors(err: &std::io::Error) -> bool {
  imp::out_of_descriptors(err)
}

/// This process's limit on open files (`RLIMIT_NOFILE`), where there is one.
pub fn descriptor_limit() -> Option<u64> {
  imp::descriptor_limit()
}

/// True when the system error number `errno` (as SQLite's `sqlite3_system_errno` reports
/// it) means the disk is full.
pub fn disk_full(errno: i32) -> bool {
  imp::disk_full(errno)
}

#[cfg(unix)]
mod imp {
  use std::os::unix::fs::MetadataExt;
  use std::path::Path;

  use super::FileId;

  pub fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|meta| FileId { dev: meta.dev(), ino: meta.ino() })
  }

  pub fn out_of_descriptors(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
  }

  pub fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    (known && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
  }

  pub fn disk_full(errno: i32) -> bool {
    errno == libc::ENOSPC || errno == libc::EDQUOT
  }

  pub fn ended(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 sends nothing; kill only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
  }

  /// Every open descriptor of this process, read from `/proc/self/fd`: each entry names the
  /// open file, and reading its metadata reaches the file even when it has been deleted.
  #[cfg(any(target_os = "linux", target_os = "android"))]
  pub fn descriptors() -> Vec<(i32, FileId)> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return scan() };
    entries
      .flatten()
      .filter_map(|entry| {
        let fd = entry.file_name().to_str()?.parse().ok()?;
        Some((fd, file_id(&entry.path())?))
      })
      .collect()
  }

  /// Every open descriptor of this process, found by asking `fstat` about each number below
  /// the descriptor limit (macOS and the BSDs have no `/proc/self/fd`).
  #[cfg(not(any(target_os = "linux", target_os = "android")))]
  pub fn descriptors() -> Vec<(i32, FileId)> {
    scan()
  }

  /// The most descriptor numbers [`scan`] asks about, when the limit is higher or unlimited.
  const SCAN_LIMIT: i32 = 1 << 16;

  fn scan() -> Vec<(i32, FileId)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    let count = if known { i32::try_from(limit.rlim_cur).unwrap_or(SCAN_LIMIT).min(SCAN_LIMIT) } else { SCAN_LIMIT };
    (0..count)
      .filter_map(|fd| {
        // SAFETY: an all-zero stat is a valid value of this plain C struct.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat only writes the struct it is given; a number that is no open
        // descriptor makes it fail with EBADF.
        let open = unsafe { libc::fstat(fd, &mut stat) } == 0;
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        open.then_some((fd, FileId { dev: stat.st_dev as u64, ino: stat.st_ino as u64 }))
      })
      .collect()
  }

  #[cfg(test)]
  #[test]
  fn the_descriptor_scan_finds_what_proc_lists() {
    let dir = crate::test_support::TempDir::new("process-scan");
    let path = dir.join("held");
    let _held = std::fs::File::create(&path).unwrap();
    let id = file_id(&path).unwrap();
    assert_eq!(scan().iter().filter(|(_, f)| *f == id).count(), 1);
    assert_eq!(descriptors().iter().filter(|(_, f)| *f == id).count(), 1);
  }
}

#[cfg(not(unix))]
mod imp {
  use std::path::Path;

  use super::FileId;

  pub fn file_id(_: &Path) -> Option<FileId> {
    None
  }

  /// `ERROR_TOO_MANY_OPEN_FILES`.
  pub fn out_of_descriptors(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(4)
  }

  pub fn descriptor_limit() -> Option<u64> {
    None
  }

  /// `ERROR_HANDLE_DISK_FULL` and `ERROR_DISK_FULL`.
  pub fn disk_full(errno: i32) -> bool {
    errno == 39 || errno == 112
  }

  pub fn ended(_: u32) -> bool {
    false
  }

  pub fn descriptors() -> Vec<(i32, FileId)> {
    Vec::new()
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::test_support::TempDir;

  #[cfg(unix)]
  #[test]
  fn finds_descriptors_through_links() {
    let dir = TempDir::new("process-links");
    let path = dir.join("a.db");
    std::fs::write(&path, b"").unwrap();
    std::os::unix::fs::symlink(&path, dir.join("link.db")).unwrap();
    let id = file_id(&dir.join("link.db")).unwrap();
    assert!(descriptors_on(&[id]).is_empty());
    let held = std::fs::File::open(&path).unwrap();
    assert_eq!(descriptors_on(&[id]).len(), 1);
    drop(held);
    assert!(descriptors_on(&[id]).is_empty());
  }

  #[test]
  fn this_process_has_not_ended() {
    assert!(!ended(std::process::id()));
  }

  #[cfg(unix)]
  #[test]
  fn an_exited_process_has_ended() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(ended(pid));
  }
}
