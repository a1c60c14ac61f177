//! Export and import of one session: its agent, the session and every log, as a JSON Lines
//! file that imports back, or as a Markdown transcript to read.
//!
//! The JSON Lines form ([`FORMAT`], version [`VERSION`]): a header line
//! `{"format","version","schemaVersion","exportedAt","agent","session","fork"}`, one line
//! `{"log":{…}}` per log in insertion (`id`) order, so a parent comes before its children,
//! and a last line `{"end":{"logs","sha256"}}` holding how many logs there are and the
//! SHA-256, in lowercase hex, of every byte before it. Every line ends with `\n`.

pub mod export;
pub mod import;
mod markdown;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::backup::io_error;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{LogRole, LogStatus, LogType};

/// The `format` of the header line.
pub const FORMAT: &str = "agentdb-session";

/// The format version this build writes, and the newest it reads.
pub const VERSION: u64 = 1;

/// How many logs an export reads per page.
const PAGE: i64 = 1000;

/// One log as a line of the file holds it: the log without its session (the file's own)
/// and with its `searchText` override, if it has one.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogLine {
  /// Its id in the database it was exported from.
  pub id: i64,
  /// Its parent's id there.
  pub parent_id: Option<i64>,
  /// Who produced it.
  pub role: LogRole,
  /// What it records.
  #[serde(rename = "type")]
  pub log_type: LogType,
  /// Its content, as stored.
  pub content: Box<RawValue>,
  /// Its metadata, as stored.
  pub metadata: Option<Box<RawValue>>,
  /// Its status.
  pub status: LogStatus,
  /// When it was created.
  pub created_at: String,
  /// When it last changed.
  pub updated_at: String,
  /// The text search finds it by in place of its content's, when it has one.
  pub search_text: Option<String>,
}

/// The last line's fields.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
  /// How many log lines come before it.
  pub logs: u64,
  /// The SHA-256 of every byte before the last line, lowercase hex.
  pub sha256: String,
}

/// What `exportSession` writes: `jsonl` (the form that imports back) or `markdown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
  /// JSON Lines, with a header and a checksum.
  Jsonl,
  /// A Markdown transcript.
  Markdown,
}

impl Format {
  /// Reads a `format` option.
  pub fn parse(text: &str, what: impl std::fmt::Display) -> Result<Format> {
    match text {
      "jsonl" => Ok(Format::Jsonl),
      "markdown" => Ok(Format::Markdown),
      other => Err(Error::invalid(format!("{what} must be 'jsonl' or 'markdown', got {other:?}"))),
    }
  }
}

/// The error for a file that is not a whole export, naming its line.
fn invalid(line: u64, message: impl std::fmt::Display) -> Error {
  Error::new(ErrorCode::InvalidExport, format!("line {line}: {message}"))
}

/// Lowercase hex of a digest.
fn hex(digest: &[u8]) -> String {
  digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file being written beside its destination, under a name of its own, moved over the
/// destination only once it is whole and synced; removed if it never gets there.
struct Temporary {
  path: PathBuf,
  dest: PathBuf,
  file: Option<io::BufWriter<File>>,
  hasher: Sha256,
  bytes: u64,
}

impl Temporary {
  /// Creates `.<name>.<pid>-<n>.export` beside `dest`.
  fn create(dest: &Path) -> Result<Temporary> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = dest.file_name().ok_or_else(|| Error::invalid(format!("path {} names no file", dest.display())))?;
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    loop {
      let mut candidate = OsString::from(".");
      candidate.push(name);
      candidate.push(format!(".{}-{}.export", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
      let path = dir.join(candidate);
      match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => {
          let file = Some(io::BufWriter::with_capacity(1 << 16, file));
          return Ok(Temporary { path, dest: dest.to_path_buf(), file, hasher: Sha256::new(), bytes: 0 });
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
        Err(e) => return Err(io_error(e, format!("export to {}: cannot create a file beside it", dest.display()))),
      }
    }
  }

  fn io<'a>(&'a self, what: &'a str) -> impl Fn(io::Error) -> Error + 'a {
    move |e| io_error(e, format!("export to {}: {what}", self.dest.display()))
  }

  /// Writes `bytes`, counted in the checksum.
  fn write(&mut self, bytes: &[u8]) -> Result<()> {
    self.hasher.update(bytes);
    self.bytes += bytes.len() as u64;
    let file = self.file.as_mut().ok_or_else(|| Error::internal("the export file is closed"))?;
    file.write_all(bytes).map_err(|e| io_error(e, format!("export to {}: cannot write", self.dest.display())))
  }

  /// The SHA-256 of what was written so far.
  fn digest(&self) -> String {
    hex(&self.hasher.clone().finalize())
  }

  /// Flushes, syncs and moves the file over the destination, and syncs its directory.
  fn place(mut self) -> Result<u64> {
    let file = self.file.take().ok_or_else(|| Error::internal("the export file is closed"))?;
    let file =
      file.into_inner().map_err(|e| io_error(e.into_error(), format!("export to {}: cannot write", self.dest.display())))?;
    file.sync_all().map_err(self.io("cannot sync the file"))?;
    drop(file);
    std::fs::rename(&self.path, &self.dest).map_err(self.io("cannot move the file into place"))?;
    crate::backup::sync_directory_of(&self.dest).map_err(self.io("cannot sync its directory"))?;
    self.path = PathBuf::new();
    Ok(self.bytes)
  }
}

impl Drop for Temporary {
  fn drop(&mut self) {
    self.file.take();
    if !self.path.as_os_str().is_empty() {
      let _ = std::fs::remove_file(&self.path);
    }
  }
}
