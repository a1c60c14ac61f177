//! The maintenance methods of `Database` (backup, integrity check, checkpoint) and the
//! objects they return.

use std::path::PathBuf;

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use agentdb_core::backup;
use agentdb_core::error::Result;
use agentdb_core::input::fields::Fields;
use agentdb_core::maintenance::{self, Checkpoint, ForeignKeyViolation, IntegrityReport};

/// A row whose foreign key points at a parent row that does not exist.
#[napi(object, js_name = "ForeignKeyViolation", use_nullable = true)]
pub struct JsForeignKeyViolation {
  /// The table holding the orphan row.
  pub table: String,
  /// The orphan row's rowid; `null` for a table without rowids.
  pub rowid: Option<i64>,
  /// The table the row should reference.
  pub parent: String,
  /// The referencing columns of the broken foreign key.
  pub columns: Vec<String>,
}

/// A row of the library's tables holding a value the typed calls cannot read.
#[napi(object, js_name = "BadValueRow", use_nullable = true)]
pub struct JsBadValue {
  /// The table (`agents`, `sessions` or `session_logs`).
  pub table: String,
  /// The row's id, as JSON text (`"a1"` for an agent or session, `17` for a log entry).
  pub row_id: String,
  /// The column holding the value.
  pub column: String,
  /// What it holds, in words (`a blob of 2 bytes`, `the integer 5`).
  pub holds: String,
  /// Why it cannot be read.
  pub reason: String,
}

/// The report of `integrityCheck`.
#[napi(object, js_name = "IntegrityReport", use_nullable = true)]
pub struct JsIntegrityReport {
  /// True when the check found nothing wrong, no foreign key is violated and no row holds
  /// a value of the wrong type.
  pub ok: bool,
  /// `'quick'` (`PRAGMA quick_check`) or `'full'` (`PRAGMA integrity_check`).
  #[napi(ts_type = "'quick' | 'full'")]
  pub mode: String,
  /// What the check found wrong with the file, in SQLite's words (at most 100 lines); empty
  /// when the file is sound.
  pub integrity_errors: Vec<String>,
  /// The first 100 foreign key violations (`PRAGMA foreign_key_check`).
  pub foreign_key_violations: Vec<JsForeignKeyViolation>,
  /// How many foreign key violations there are in all.
  pub foreign_key_violation_count: u32,
  /// The first 100 rows holding a value of the wrong type (written by another tool or raw
  /// SQL); the typed calls reject with `BAD_VALUE` on them.
  pub bad_values: Vec<JsBadValue>,
  /// How many such rows there are in all.
  pub bad_value_count: u32,
  /// Where the search index differs from the logs and sessions it indexes (at most 20
  /// lines, then a count); empty when it is exact. `rebuildSearchIndex()` repairs it.
  pub search_index_errors: Vec<String>,
}

/// What `checkpoint` did.
#[napi(object, js_name = "CheckpointResult", use_nullable = true)]
pub struct JsCheckpointResult {
  /// How many frames the write-ahead log held when the checkpoint began; all of them are now
  /// in the database file.
  pub frames: i64,
  /// The size of the `-wal` file afterwards: 0, since the log is truncated.
  pub wal_bytes: i64,
}

impl From<ForeignKeyViolation> for JsForeignKeyViolation {
  fn from(v: ForeignKeyViolation) -> Self {
    JsForeignKeyViolation { table: v.table, rowid: v.rowid, parent: v.parent, columns: v.columns }
  }
}

impl From<IntegrityReport> for JsIntegrityReport {
  fn from(r: IntegrityReport) -> Self {
    JsIntegrityReport {
      ok: r.ok,
      mode: if r.full { "full" } else { "quick" }.to_string(),
      integrity_errors: r.integrity_errors,
      foreign_key_violations: r.foreign_key_violations.into_iter().map(Into::into).collect(),
      foreign_key_violation_count: u32::try_from(r.foreign_key_violation_count).unwrap_or(u32::MAX),
      bad_values: r
        .bad_values
        .into_iter()
        .map(|b| JsBadValue { table: b.table.to_string(), row_id: b.row_id, column: b.column, holds: b.holds, reason: b.reason })
        .collect(),
      bad_value_count: u32::try_from(r.bad_value_count).unwrap_or(u32::MAX),
      search_index_errors: r.search_index_errors,
    }
  }
}

impl From<Checkpoint> for JsCheckpointResult {
  fn from(c: Checkpoint) -> Self {
    JsCheckpointResult { frames: c.frames as i64, wal_bytes: c.wal_bytes as i64 }
  }
}

/// Reads `integrityCheck`'s options: whether to run the full check.
fn parse_integrity_options(options: JsArg) -> Result<bool> {
  let fields = Fields::of(options, "options", &["full"], true)?;
  Ok(fields.boolean("full")?.unwrap_or(false))
}

#[napi]
impl Database {
  /// Writes a consistent copy of the database to `destPath` with SQLite's online backup API:
  /// one snapshot, read on a reader connection while other calls (writes included) go on.
  /// Resolves once the copy is complete and synced to disk. The copy is a single file (no
  /// `-wal`), written beside `destPath` and renamed over it only when complete; an existing
  /// database at `destPath` is replaced. On any rejection `destPath` is as it was.
  ///
  /// To restore: `close()` the database, replace its file with the copy (and delete any `-wal`
  /// and `-shm` files beside it), then `Database.open` it again.
  ///
  /// Rejects with `INVALID_ARGUMENT` (not a path, `':memory:'`, the database's own file or its
  /// `-wal`, `-shm` or `-journal` file, or a path whose own such file would be the database),
  /// `NOT_A_DATABASE` (`destPath` holds something else), `CANT_OPEN` (missing directory, a
  /// directory path), `READONLY`, `BUSY` (another connection kept the destination open past
  /// the busy timeout), `FULL`, `IO` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "destPath: string", ts_return_type = "Promise<void>")]
  pub fn backup(&self, env: Env, dest_path: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let dest = dest_path.string("destPath").map(PathBuf::from);
      self.read(env, dest, |conn, dest| backup::backup(conn, &dest))
    })
  }

  /// Checks the file for damage (`PRAGMA quick_check`, or the slower `PRAGMA
  /// integrity_check` with `{ full: true }`, which also verifies every index against its
  /// table) and for rows whose foreign keys point nowhere (`PRAGMA foreign_key_check`). Runs on
  /// a reader connection; writes go on meanwhile (when rows wait to be indexed for search, the
  /// writer indexes them and runs the check right after). A damaged database gives a report
  /// with `ok: false`, never a rejection.
  ///
  /// Rejects with `INVALID_ARGUMENT`, `BUSY`, `IO` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options?: IntegrityCheckOptions", ts_return_type = "Promise<IntegrityReport>")]
  pub fn integrity_check(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read_indexed(env, parse_integrity_options(options), |conn, full| {
        maintenance::integrity_check(conn, full).map(JsIntegrityReport::from)
      })
    })
  }

  /// Copies every committed transaction from the write-ahead log into the database file and
  /// truncates the log (`PRAGMA wal_checkpoint(TRUNCATE)`), so the database file alone holds
  /// everything: for an app that copies the file itself (prefer `backup`, which needs no
  /// pause in writing). Runs after the writes queued before it; waits up to the busy timeout
  /// for other connections. On `':memory:'` there is no log and it does nothing.
  ///
  /// Rejects with `BUSY` (another connection kept reading an older snapshot or writing for
  /// longer than the busy timeout; the log was not truncated), `IO` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<CheckpointResult>")]
  pub fn checkpoint(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || self.exclusive(env, Ok(()), |conn, (), _| maintenance::checkpoint(conn).map(JsCheckpointResult::from)))
  }
}
