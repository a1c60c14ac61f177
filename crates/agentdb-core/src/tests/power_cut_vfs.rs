//! A SQLite VFS for tests that simulates power cuts: it wraps the real OS VFS and keeps, for
//! every file opened through it, the image a power cut would leave.
//!
//! Every call goes to the real VFS, so files, locks and the WAL's shared memory (`xShm*`,
//! which live in the real `-shm` file) behave exactly as in production, between the store's
//! connections and threads. Beside that, the VFS records, per file, the bytes made durable
//! by the last `xSync` and the writes and truncations made since, not yet durable. A sync
//! makes a file's pending changes durable; the real file is not synced, since nothing here
//! outlives the test and what a power cut keeps is computed from the record. A deletion is
//! durable at once (SQLite deletes a `-wal` or `-journal` only once nothing depends on it).
//!
//! A plan, asked before every write, truncation, sync and deletion, says where to cut: the
//! VFS then takes a [`Cut`], the durable bytes and the pending changes of every file at that
//! instant, and carries on (the run goes on, to be cut again later). A [`Cut`] gives the
//! files a power cut would leave under a [`Loss`]: every pending change lost, a random subset
//! of the pending sector writes kept, or every pending change kept but the last one torn.
//! The `-shm` file is never part of a cut: shared memory does not survive a power cut.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rusqlite::ffi;

/// The granularity of [`Loss::RandomSectors`]: a pending write is kept or lost in pieces of
/// this many bytes, aligned in the file.
const SECTOR: u64 = 512;

/// Decides, from the number of changes applied so far, whether to cut before the next one.
pub type Plan = Box<dyn FnMut(u64) -> bool + Send>;

/// One change not yet made durable.
#[derive(Clone, Debug)]
enum Change {
  Write { offset: u64, data: Vec<u8> },
  Truncate(u64),
}

impl Change {
  fn apply(&self, bytes: &mut Vec<u8>) {
    match self {
      Change::Write { offset, data } => {
        let start = *offset as usize;
        if bytes.len() < start + data.len() {
          bytes.resize(start + data.len(), 0);
        }
        bytes[start..start + data.len()].copy_from_slice(data);
      }
      Change::Truncate(size) => bytes.resize(*size as usize, 0),
    }
  }
}

/// A file as the record has it.
#[derive(Clone, Debug, Default)]
struct Shadow {
  durable: Vec<u8>,
  /// Changes since the last sync, in order, each with its global sequence number.
  pending: Vec<(u64, Change)>,
}

/// What a power cut does to the changes not yet made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
  /// All of them are lost.
  AllUnsynced,
  /// Each sector a pending write covers, and each pending truncation, is kept or lost at
  /// random, with a chance of being kept drawn for the cut, from none to all (were it one
  /// half, the first pending WAL frame, nine sectors, would almost never survive whole).
  RandomSectors,
  /// All of them are kept, but the last write reached only a random prefix of its bytes.
  TornLast,
}

impl Loss {
  /// Every kind of loss.
  pub const ALL: [Loss; 3] = [Loss::AllUnsynced, Loss::RandomSectors, Loss::TornLast];
}

/// The files at one instant: what a power cut then would leave.
pub struct Cut {
  /// How many changes had been applied when the cut came.
  pub applied: u64,
  files: Vec<(String, Shadow)>,
}

impl Cut {
  /// Writes the files the cut leaves under `loss` into `dir`, each under its own file name;
  /// `random` gives the random numbers the loss needs.
  pub fn write_survivors(&self, dir: &Path, loss: Loss, random: &mut dyn FnMut() -> u64) {
    let last = self.files.iter().flat_map(|(_, shadow)| shadow.pending.iter().map(|(seq, _)| *seq)).max();
    let keep_per_mille = random() % 1001;
    let kept = |random: &mut dyn FnMut() -> u64| random() % 1000 < keep_per_mille;
    for (path, shadow) in &self.files {
      let mut bytes = shadow.durable.clone();
      for (seq, change) in &shadow.pending {
        match (loss, change) {
          (Loss::AllUnsynced, _) => {}
          (Loss::RandomSectors, Change::Truncate(_)) => {
            if kept(random) {
              change.apply(&mut bytes);
            }
          }
          (Loss::RandomSectors, Change::Write { offset, data }) => {
            let end = offset + data.len() as u64;
            let mut at = *offset;
            while at < end {
              let next = ((at / SECTOR + 1) * SECTOR).min(end);
              if kept(random) {
                let piece = data[(at - offset) as usize..(next - offset) as usize].to_vec();
                Change::Write { offset: at, data: piece }.apply(&mut bytes);
              }
              at = next;
            }
          }
          (Loss::TornLast, Change::Write { offset, data }) if Some(*seq) == last => {
            let kept = (random() % data.len().max(1) as u64) as usize;
            Change::Write { offset: *offset, data: data[..kept].to_vec() }.apply(&mut bytes);
          }
          (Loss::TornLast, _) => change.apply(&mut bytes),
        }
      }
      let name = Path::new(path).file_name().expect("a file name");
      std::fs::write(dir.join(name), bytes).unwrap();
    }
  }

  /// How many changes were pending (not durable) at the cut.
  pub fn pending(&self) -> usize {
    self.files.iter().map(|(_, shadow)| shadow.pending.len()).sum()
  }
}

/// The record of every file opened through the VFS.
struct Disk {
  files: HashMap<String, Shadow>,
  /// How many changes (writes, truncations, syncs, deletions) have been applied.
  applied: u64,
  plan: Plan,
  cuts: Vec<Cut>,
}

impl Disk {
  /// Called before every change: takes a cut if the plan says so, and counts the change.
  fn before_change(&mut self) {
    if (self.plan)(self.applied) {
      let files = self.files.iter().map(|(path, shadow)| (path.clone(), shadow.clone())).collect();
      self.cuts.push(Cut { applied: self.applied, files });
    }
    self.applied += 1;
  }

  fn shadow(&mut self, path: &str) -> &mut Shadow {
    self
      .files
      .entry(path.to_string())
      .or_insert_with(|| Shadow { durable: std::fs::read(path).unwrap_or_default(), pending: Vec::new() })
  }

  fn pend(&mut self, path: &str, change: Change) {
    let seq = self.applied;
    self.shadow(path).pending.push((seq, change));
  }

  fn sync(&mut self, path: &str) {
    let shadow = self.shadow(path);
    for (_, change) in std::mem::take(&mut shadow.pending) {
      change.apply(&mut shadow.durable);
    }
  }
}

/// What the VFS's `pAppData` points to.
struct Shared {
  real: *mut ffi::sqlite3_vfs,
  disk: Mutex<Disk>,
}

/// A registered power-cut VFS; unregistered when dropped, which must come after every
/// connection opened through it is closed.
pub struct PowerCutVfs {
  name: String,
  vfs: *mut ffi::sqlite3_vfs,
  shared: *mut Shared,
  _name: CString,
}

// SAFETY: the raw pointers are owned by this value; `Shared` is only reached through its
// mutex or read-only fields, and SQLite's VFS registry is thread-safe.
unsafe impl Send for PowerCutVfs {}
// SAFETY: as for `Send`: `&PowerCutVfs` only reads `name` and locks the disk's mutex.
unsafe impl Sync for PowerCutVfs {}

impl PowerCutVfs {
  /// Registers a new VFS over SQLite's default one, under a name of its own, cutting where
  /// `plan` says.
  pub fn register(plan: Plan) -> PowerCutVfs {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("power-cut-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let c_name = CString::new(name.clone()).unwrap();
    // SAFETY: a null name asks for the default VFS (initialising SQLite if need be); SQLite
    // keeps registered VFSs alive while they are registered, and the default is never
    // unregistered.
    let real = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
    assert!(!real.is_null(), "SQLite has no default VFS");
    let disk = Mutex::new(Disk { files: HashMap::new(), applied: 0, plan, cuts: Vec::new() });
    let shared = Box::into_raw(Box::new(Shared { real, disk }));
    // SAFETY: `real` is a valid VFS (checked above), read only.
    let real_ref = unsafe { &*real };
    let vfs = Box::into_raw(Box::new(ffi::sqlite3_vfs {
      iVersion: 2,
      szOsFile: std::mem::size_of::<CutFile>() as c_int,
      mxPathname: real_ref.mxPathname,
      pNext: std::ptr::null_mut(),
      zName: c_name.as_ptr(),
      pAppData: shared.cast(),
      xOpen: Some(vfs_open),
      xDelete: Some(vfs_delete),
      xAccess: Some(vfs_access),
      xFullPathname: Some(vfs_full_pathname),
      xDlOpen: None,
      xDlError: None,
      xDlSym: None,
      xDlClose: None,
      xRandomness: Some(vfs_randomness),
      xSleep: Some(vfs_sleep),
      xCurrentTime: Some(vfs_current_time),
      xGetLastError: Some(vfs_get_last_error),
      xCurrentTimeInt64: Some(vfs_current_time_int64),
      xSetSystemCall: None,
      xGetSystemCall: None,
      xNextSystemCall: None,
    }));
    // SAFETY: `vfs` is a fully initialised VFS whose name and app data live until `drop`
    // unregisters it; 0: not the default.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    assert_eq!(rc, ffi::SQLITE_OK, "cannot register the power-cut VFS");
    PowerCutVfs { name, vfs, shared, _name: c_name }
  }

  /// The name to open connections with.
  pub fn name(&self) -> &str {
    &self.name
  }

  /// How many changes have been applied so far.
  pub fn applied(&self) -> u64 {
    self.disk().lock().applied
  }

  /// The cuts taken so far, taken out of the record.
  pub fn take_cuts(&self) -> Vec<Cut> {
    std::mem::take(&mut self.disk().lock().cuts)
  }

  fn disk(&self) -> &Mutex<Disk> {
    // SAFETY: `shared` lives until `drop`.
    unsafe { &(*self.shared).disk }
  }
}

impl Drop for PowerCutVfs {
  fn drop(&mut self) {
    // SAFETY: `vfs` was registered by `register`; once unregistered SQLite no longer
    // reaches it, so it and `shared` can be freed (every connection through it is closed).
    unsafe {
      ffi::sqlite3_vfs_unregister(self.vfs);
      drop(Box::from_raw(self.vfs));
      drop(Box::from_raw(self.shared));
    }
  }
}

/// A file opened through the VFS: SQLite's base struct first, then the real VFS's file.
#[repr(C)]
struct CutFile {
  base: ffi::sqlite3_file,
  real: *mut ffi::sqlite3_file,
  real_size: usize,
  shared: *const Shared,
  /// The file's path, for files that have one (not SQLite's nameless temporary files).
  path: Option<String>,
}

/// The alignment of the real VFS's file structures.
const REAL_ALIGN: usize = 16;

/// The VFS's shared state.
///
/// # Safety
/// `vfs` must be a VFS made by [`PowerCutVfs::register`], still registered.
unsafe fn shared<'a>(vfs: *mut ffi::sqlite3_vfs) -> &'a Shared {
  // SAFETY: by the contract, `pAppData` points to the live `Shared`.
  unsafe { &*((*vfs).pAppData as *const Shared) }
}

/// The real VFS under `vfs`.
///
/// # Safety
/// As for [`shared`].
unsafe fn real_vfs<'a>(vfs: *mut ffi::sqlite3_vfs) -> (&'a ffi::sqlite3_vfs, *mut ffi::sqlite3_vfs) {
  // SAFETY: by the contract; the real VFS outlives ours.
  unsafe {
    let real = shared(vfs).real;
    (&*real, real)
  }
}

unsafe extern "C" fn vfs_open(
  vfs: *mut ffi::sqlite3_vfs,
  name: ffi::sqlite3_filename,
  file: *mut ffi::sqlite3_file,
  flags: c_int,
  out_flags: *mut c_int,
) -> c_int {
  // SAFETY: SQLite calls this with our VFS and `szOsFile` bytes at `file`, which we fill in;
  // the real file gets a zeroed allocation of the real VFS's size, freed in `io_close` (or
  // here when the open fails). A non-null `name` is a NUL-terminated path.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    let real_size = real.szOsFile as usize;
    let layout = std::alloc::Layout::from_size_align(real_size, REAL_ALIGN).unwrap();
    let real_file = std::alloc::alloc_zeroed(layout) as *mut ffi::sqlite3_file;
    assert!(!real_file.is_null(), "out of memory");
    let rc = (real.xOpen.unwrap())(real_ptr, name, real_file, flags, out_flags);
    if rc != ffi::SQLITE_OK {
      if !(*real_file).pMethods.is_null() {
        ((*(*real_file).pMethods).xClose.unwrap())(real_file);
      }
      std::alloc::dealloc(real_file.cast(), layout);
      (*file).pMethods = std::ptr::null();
      return rc;
    }
    let path = (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned());
    let shared = shared(vfs);
    if let Some(path) = &path {
      shared.disk.lock().shadow(path);
    }
    std::ptr::write(
      file as *mut CutFile,
      CutFile { base: ffi::sqlite3_file { pMethods: &IO_METHODS }, real: real_file, real_size, shared, path },
    );
    ffi::SQLITE_OK
  }
}

unsafe extern "C" fn vfs_delete(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, sync_dir: c_int) -> c_int {
  // SAFETY: SQLite passes our VFS and a NUL-terminated path.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    let mut disk = shared(vfs).disk.lock();
    disk.before_change();
    let rc = (real.xDelete.unwrap())(real_ptr, name, sync_dir);
    if rc == ffi::SQLITE_OK || rc == ffi::SQLITE_IOERR_DELETE_NOENT {
      disk.files.remove(CStr::from_ptr(name).to_string_lossy().as_ref());
    }
    rc
  }
}

unsafe extern "C" fn vfs_access(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, flags: c_int, out: *mut c_int) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xAccess.unwrap())(real_ptr, name, flags, out)
  }
}

unsafe extern "C" fn vfs_full_pathname(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, n: c_int, out: *mut c_char) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xFullPathname.unwrap())(real_ptr, name, n, out)
  }
}

unsafe extern "C" fn vfs_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xRandomness.unwrap())(real_ptr, n, out)
  }
}

unsafe extern "C" fn vfs_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xSleep.unwrap())(real_ptr, micros)
  }
}

unsafe extern "C" fn vfs_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xCurrentTime.unwrap())(real_ptr, out)
  }
}

unsafe extern "C" fn vfs_current_time_int64(vfs: *mut ffi::sqlite3_vfs, out: *mut ffi::sqlite3_int64) -> c_int {
  // SAFETY: forwarded as given to the real VFS, which is of version 2 or later (unix, win32).
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    (real.xCurrentTimeInt64.unwrap())(real_ptr, out)
  }
}

unsafe extern "C" fn vfs_get_last_error(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
  // SAFETY: forwarded as given to the real VFS.
  unsafe {
    let (real, real_ptr) = real_vfs(vfs);
    match real.xGetLastError {
      Some(get) => get(real_ptr, n, out),
      None => 0,
    }
  }
}

/// The methods of a [`CutFile`]: version 2 (shared memory, no memory mapping, so every
/// write goes through `xWrite`).
static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
  iVersion: 2,
  xClose: Some(io_close),
  xRead: Some(io_read),
  xWrite: Some(io_write),
  xTruncate: Some(io_truncate),
  xSync: Some(io_sync),
  xFileSize: Some(io_file_size),
  xLock: Some(io_lock),
  xUnlock: Some(io_unlock),
  xCheckReservedLock: Some(io_check_reserved_lock),
  xFileControl: Some(io_file_control),
  xSectorSize: Some(io_sector_size),
  xDeviceCharacteristics: Some(io_device_characteristics),
  xShmMap: Some(io_shm_map),
  xShmLock: Some(io_shm_lock),
  xShmBarrier: Some(io_shm_barrier),
  xShmUnmap: Some(io_shm_unmap),
  xFetch: None,
  xUnfetch: None,
};

/// The [`CutFile`] behind `file`, and its real file's methods.
///
/// # Safety
/// `file` must be a file `vfs_open` opened and `io_close` has not closed.
unsafe fn parts<'a>(file: *mut ffi::sqlite3_file) -> (&'a CutFile, &'a ffi::sqlite3_io_methods) {
  // SAFETY: by the contract, `file` is a live `CutFile` whose real file is open.
  unsafe {
    let cut = &*(file as *const CutFile);
    (cut, &*(*cut.real).pMethods)
  }
}

/// Forwards an I/O method to the real file, as is.
macro_rules! forward {
  ($name:ident, $method:ident $(, $arg:ident: $ty:ty)*) => {
    unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
      // SAFETY: SQLite calls I/O methods only on files `vfs_open` opened, until `xClose`;
      // the arguments are forwarded as given.
      unsafe {
        let (cut, real) = parts(file);
        (real.$method.unwrap())(cut.real $(, $arg)*)
      }
    }
  };
}

forward!(io_read, xRead, buf: *mut c_void, amount: c_int, offset: ffi::sqlite3_int64);
forward!(io_file_size, xFileSize, size: *mut ffi::sqlite3_int64);
forward!(io_lock, xLock, level: c_int);
forward!(io_unlock, xUnlock, level: c_int);
forward!(io_check_reserved_lock, xCheckReservedLock, out: *mut c_int);
forward!(io_file_control, xFileControl, op: c_int, arg: *mut c_void);
forward!(io_sector_size, xSectorSize);
forward!(io_device_characteristics, xDeviceCharacteristics);
forward!(io_shm_map, xShmMap, region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void);
forward!(io_shm_lock, xShmLock, offset: c_int, n: c_int, flags: c_int);
forward!(io_shm_unmap, xShmUnmap, delete: c_int);

unsafe extern "C" fn io_shm_barrier(file: *mut ffi::sqlite3_file) {
  // SAFETY: as for the forwarded methods.
  unsafe {
    let (cut, real) = parts(file);
    (real.xShmBarrier.unwrap())(cut.real)
  }
}

unsafe extern "C" fn io_close(file: *mut ffi::sqlite3_file) -> c_int {
  // SAFETY: called once per opened file: the real file is closed and freed with the layout
  // it was allocated with, and the `CutFile` is dropped in place (SQLite frees its memory).
  unsafe {
    let (cut, real) = parts(file);
    let rc = (real.xClose.unwrap())(cut.real);
    let layout = std::alloc::Layout::from_size_align(cut.real_size, REAL_ALIGN).unwrap();
    std::alloc::dealloc(cut.real.cast(), layout);
    std::ptr::drop_in_place(file as *mut CutFile);
    (*file).pMethods = std::ptr::null();
    rc
  }
}

unsafe extern "C" fn io_write(
  file: *mut ffi::sqlite3_file,
  buf: *const c_void,
  amount: c_int,
  offset: ffi::sqlite3_int64,
) -> c_int {
  // SAFETY: as for the forwarded methods; `buf` holds `amount` bytes.
  unsafe {
    let (cut, real) = parts(file);
    let mut disk = (*cut.shared).disk.lock();
    if cut.path.is_some() {
      disk.before_change();
    }
    let rc = (real.xWrite.unwrap())(cut.real, buf, amount, offset);
    if let (ffi::SQLITE_OK, Some(path)) = (rc, &cut.path) {
      let data = std::slice::from_raw_parts(buf as *const u8, amount as usize).to_vec();
      disk.pend(path, Change::Write { offset: offset as u64, data });
    }
    rc
  }
}

unsafe extern "C" fn io_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
  // SAFETY: as for the forwarded methods.
  unsafe {
    let (cut, real) = parts(file);
    let mut disk = (*cut.shared).disk.lock();
    if cut.path.is_some() {
      disk.before_change();
    }
    let rc = (real.xTruncate.unwrap())(cut.real, size);
    if let (ffi::SQLITE_OK, Some(path)) = (rc, &cut.path) {
      disk.pend(path, Change::Truncate(size as u64));
    }
    rc
  }
}

unsafe extern "C" fn io_sync(file: *mut ffi::sqlite3_file, _flags: c_int) -> c_int {
  // SAFETY: as for the forwarded methods. The real file is not synced (see the module's
  // documentation).
  unsafe {
    let (cut, _) = parts(file);
    if let Some(path) = &cut.path {
      let mut disk = (*cut.shared).disk.lock();
      disk.before_change();
      disk.sync(path);
    }
    ffi::SQLITE_OK
  }
}
