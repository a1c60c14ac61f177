//! What the core's tests share: a temporary directory of their own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
  /// A new, empty directory whose name holds `tag`, the process id and a counter.
  pub fn new(tag: &str) -> TempDir {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("agentdb-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
  }

  /// The directory itself.
  pub fn path(&self) -> &Path {
    &self.0
  }

  /// A path inside the directory.
  pub fn join(&self, name: &str) -> PathBuf {
    self.0.join(name)
  }
}

impl Drop for TempDir {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.0);
  }
}

/// A mounted file system, unmounted when dropped.
pub struct Mounted(PathBuf);

impl Drop for Mounted {
  fn drop(&mut self) {
    let _ = std::process::Command::new("umount").arg(&self.0).status();
  }
}

/// Mounts a tmpfs of `size` on `dir`; `None` when this process may not mount (it is not
/// root).
pub fn tmpfs(dir: &Path, size: &str) -> Option<Mounted> {
  std::fs::create_dir_all(dir).unwrap();
  let mounted = std::process::Command::new("mount")
    .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
    .arg(dir)
    .stderr(std::process::Stdio::null())
    .status()
    .is_ok_and(|s| s.success());
  mounted.then(|| Mounted(dir.to_path_buf()))
}
