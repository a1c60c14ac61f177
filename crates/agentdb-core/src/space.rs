//! Space: new files that give freed pages back incrementally, `compact` that gives them back
//! on any file, and `stats`, which says what takes the room.
//!
//! SQLite keeps the pages a delete frees inside the file, for later inserts; the file only
//! shrinks when they are handed back. A file created with `auto_vacuum = INCREMENTAL`
//! (every file this library creates) records where its pages are, so that
//! `PRAGMA incremental_vacuum` can move free pages to the end and cut them off without
//! rewriting anything else. A file created otherwise (by an earlier release, another tool)
//! needs `VACUUM`, which rewrites the whole file and turns it incremental on the way.

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;
use crate::maintenance::wal_path;
use crate::store::Store;

/// The size of a log as stored, over `session_logs l`: its content's and metadata's JSON
/// text, in bytes.
pub const LOG_BYTES: &str = "length(CAST(l.content AS BLOB)) + coalesce(length(CAST(l.metadata AS BLOB)), 0)";

/// How many free pages one step (one transaction, one writer job) of an incremental
/// compaction hands back.
pub(crate) const CHUNK_PAGES: i64 = 2048;

/// `auto_vacuum`'s value for incremental.
const INCREMENTAL: i64 = 2;

/// Makes a new, empty file incremental: `auto_vacuum` only takes effect when set before the
/// first table is created. A file that already holds pages is left as it is.
pub fn make_new_file_incremental(conn: &Connection) -> Result<()> {
  let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
  if pages == 0 {
    conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
  }
  Ok(())
}

/// How `compact` handed the space back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CompactMode {
  /// `PRAGMA incremental_vacuum`, in chunks: only free pages move.
  Incremental,
  /// `VACUUM`: the whole file rewritten (and made incremental).
  Full,
}

/// What `compact` did.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactReport {
  /// How.
  pub mode: CompactMode,
  /// The database file and its `-wal` on disk before (for `:memory:`, its pages).
  pub bytes_before: u64,
  /// The same, after.
  pub bytes_after: u64,
  /// Whether the `-wal` file could be emptied afterwards, so that the file shrank on disk
  /// now; false while another connection reads an older snapshot (it shrinks at a later
  /// checkpoint).
  pub checkpointed: bool,
}

/// Hands free pages back to the file system: incrementally on an incremental file, else (or
/// with `full`) with `VACUUM`, which needs free disk space about the size of the file and
/// fails with `FULL`, changing nothing, when there is not enough. Runs on the writer's
/// connection with no transaction open, all at once; [`run`] gives the app's writes their
/// turn between the steps.
pub fn compact(conn: &Connection, full: bool) -> Result<CompactReport> {
  let started = start(conn, full)?;
  if started.mode == CompactMode::Incremental {
    while step(conn)? {}
  }
  finish(conn, started)
}

/// Where a compaction started from: the mode it goes by and the size before.
#[derive(Clone, Copy, Debug)]
pub struct Started {
  mode: CompactMode,
  bytes_before: u64,
}

/// Starts a compaction: measures the file and picks the mode; a full one rewrites the file
/// here, in one go (`VACUUM` cannot be split, and holds the write lock all along).
pub fn start(conn: &Connection, full: bool) -> Result<Started> {
  let bytes_before = size_on_disk(conn)?;
  let auto_vacuum: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
  let mode = if full || auto_vacuum != INCREMENTAL { CompactMode::Full } else { CompactMode::Incremental };
  if mode == CompactMode::Full {
    conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
    conn.execute_batch("VACUUM")?;
  }
  Ok(Started { mode, bytes_before })
}

/// One step of an incremental compaction, in a transaction of its own: hands back up to
/// [`CHUNK_PAGES`] free pages. Returns whether free pages are left for another step.
pub fn step(conn: &Connection) -> Result<bool> {
  let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
  if free == 0 {
    return Ok(false);
  }
  conn.execute_batch("BEGIN IMMEDIATE")?;
  if let Err(err) = vacuum_pages(conn).and_then(|()| conn.execute_batch("COMMIT")) {
    let _ = conn.execute_batch("ROLLBACK");
    return Err(err.into());
  }
  let left: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
  Ok(left > 0)
}

/// `PRAGMA incremental_vacuum(CHUNK_PAGES)`, stepped to its end: it hands back one page per
/// step of its statement, so a single step (what `execute_batch` does) hands back one.
fn vacuum_pages(conn: &Connection) -> rusqlite::Result<()> {
  let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({CHUNK_PAGES})"))?;
  let mut rows = stmt.query([])?;
  while rows.next()?.is_some() {}
  Ok(())
}

/// Ends a compaction: empties the `-wal` file when no reader holds an older snapshot, and
/// says what was done.
pub fn finish(conn: &Connection, started: Started) -> Result<CompactReport> {
  let checkpointed = match wal_path(conn) {
    None => true,
    Some(_) => conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0))? == 0,
  };
  Ok(CompactReport { mode: started.mode, bytes_before: started.bytes_before, bytes_after: size_on_disk(conn)?, checkpointed })
}

/// Runs `compact` on `store`'s writer: the start (with a full rewrite, the whole of it), each
/// incremental step and the end are writer jobs of their own, each queued once the one
/// before it is done, behind the writes queued meanwhile. A step that fails stops the chain
/// (the pages handed back before it stay handed back).
pub fn run(store: Arc<Store>, full: bool, deliver: impl FnOnce(Result<CompactReport>) + Send + 'static) {
  let again = Arc::clone(&store);
  store.exclusive(
    move |conn| start(conn, full),
    move |outcome| match outcome {
      Err(err) => deliver(Err(err)),
      Ok(started) if started.mode == CompactMode::Full => again.exclusive(move |conn| finish(conn, started), deliver),
      Ok(started) => next_step(again, started, Box::new(deliver)),
    },
  );
}

type Deliver = Box<dyn FnOnce(Result<CompactReport>) + Send>;

fn next_step(store: Arc<Store>, started: Started, deliver: Deliver) {
  let again = Arc::clone(&store);
  store.exclusive(
    move |conn| match step(conn)? {
      true => Ok(None),
      false => finish(conn, started).map(Some),
    },
    move |outcome| match outcome {
      Err(err) => deliver(Err(err)),
      Ok(None) => next_step(again, started, deliver),
      Ok(Some(report)) => deliver(Ok(report)),
    },
  );
}

/// A session that takes room, as `stats` lists them.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSize {
  /// The session.
  pub session_id: String,
  /// How many logs it has.
  pub logs: u64,
  /// Their stored bytes ([`LOG_BYTES`]).
  pub bytes: u64,
  /// Its largest log.
  pub largest_log_id: i64,
  /// That log's bytes.
  pub largest_log_bytes: u64,
}

/// Rows of one table.
#[derive(Clone, Debug, Serialize)]
pub struct TableRows {
  /// The table.
  pub table: String,
  /// How many rows it holds.
  pub rows: u64,
}

/// What `stats` reports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
  /// The database file on disk (for `:memory:`, its pages).
  pub file_bytes: u64,
  /// The `-wal` file beside it (0 when there is none).
  pub wal_bytes: u64,
  /// SQLite's page size.
  pub page_size: u64,
  /// Pages in the database.
  pub pages: u64,
  /// Free pages inside it, which `compact` hands back.
  pub free_pages: u64,
  /// Their bytes.
  pub free_bytes: u64,
  /// `'incremental'` (compact hands pages back without rewriting), `'full'` or `'none'`.
  pub auto_vacuum: &'static str,
  /// Rows of every table (the search index's own tables included), by name.
  pub tables: Vec<TableRows>,
  /// Agents and sessions in the trash.
  pub trashed_agents: u64,
  /// See `trashed_agents`.
  pub trashed_sessions: u64,
  /// The sessions whose logs take the most bytes, largest first.
  pub largest_sessions: Vec<SessionSize>,
}

/// The file's size, free space, rows per table and the `largest` sessions by bytes. Reads
/// every log once (to size them).
pub fn stats(conn: &Connection, largest: u64) -> Result<Stats> {
  let pragma =
    |name: &str| -> Result<u64> { Ok(conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))?.max(0) as u64) };
  let (page_size, pages, free_pages) = (pragma("page_size")?, pragma("page_count")?, pragma("freelist_count")?);
  let auto_vacuum = match pragma("auto_vacuum")? {
    1 => "full",
    2 => "incremental",
    _ => "none",
  };
  let names: Vec<String> = conn
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")?
    .query_map([], |r| r.get(0))?
    .collect::<rusqlite::Result<_>>()?;
  let mut tables = Vec::with_capacity(names.len());
  for table in names {
    let quoted = table.replace('"', "\"\"");
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |r| r.get(0))?;
    tables.push(TableRows { table, rows: rows as u64 });
  }
  // A file not migrated to the trash yet has none.
  let has_trash: bool =
    conn.query_row("SELECT count(*) > 0 FROM pragma_table_info('sessions') WHERE name = 'deleted_at'", [], |r| r.get(0))?;
  let (trashed_agents, trashed_sessions): (i64, i64) = if has_trash {
    conn.query_row(
      "SELECT (SELECT count(*) FROM agents WHERE deleted_at IS NOT NULL), (SELECT count(*) FROM sessions WHERE deleted_at IS NOT NULL)",
      [],
      |r| Ok((r.get(0)?, r.get(1)?)),
    )?
  } else {
    (0, 0)
  };
  let by_bytes = format!(
    "SELECT l.session_id, count(*), sum({LOG_BYTES}) AS bytes FROM session_logs l GROUP BY l.session_id ORDER BY bytes DESC LIMIT ?1"
  );
  let sessions: Vec<(String, i64, i64)> = conn
    .prepare(&by_bytes)?
    .query_map([largest as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
    .collect::<rusqlite::Result<_>>()?;
  let biggest =
    format!("SELECT l.id, {LOG_BYTES} AS bytes FROM session_logs l WHERE l.session_id = ?1 ORDER BY bytes DESC, l.id LIMIT 1");
  let mut largest_sessions = Vec::with_capacity(sessions.len());
  for (session_id, logs, bytes) in sessions {
    let (largest_log_id, largest_log_bytes): (i64, i64) =
      conn.query_row(&biggest, [&session_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    largest_sessions.push(SessionSize {
      session_id,
      logs: logs as u64,
      bytes: bytes as u64,
      largest_log_id,
      largest_log_bytes: largest_log_bytes as u64,
    });
  }
  let (file_bytes, wal_bytes) = match conn.path().filter(|p| !p.is_empty()) {
    Some(path) => (file_len(PathBuf::from(path)), wal_path(conn).map_or(0, file_len)),
    None => (pages * page_size, 0),
  };
  Ok(Stats {
    file_bytes,
    wal_bytes,
    page_size,
    pages,
    free_pages,
    free_bytes: free_pages * page_size,
    auto_vacuum,
    tables,
    trashed_agents: trashed_agents as u64,
    trashed_sessions: trashed_sessions as u64,
    largest_sessions,
  })
}

fn file_len(path: PathBuf) -> u64 {
  std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The database file and its `-wal` on disk; for `:memory:`, its pages.
fn size_on_disk(conn: &Connection) -> Result<u64> {
  match conn.path().filter(|p| !p.is_empty()) {
    Some(path) => Ok(file_len(PathBuf::from(path)) + wal_path(conn).map_or(0, file_len)),
    None => Ok(
      conn.query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |r| r.get::<_, i64>(0))?
        as u64,
    ),
  }
}
