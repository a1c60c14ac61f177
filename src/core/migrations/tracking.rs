//! The `migrations` tracking table: its schema, and reading and writing its rows.

use rusqlite::{params, Connection, OptionalExtension};

use crate::core::error::{Error, Result};
use crate::core::migrations::source::{parse_id, Migration};

/// Creates the tracking table. A table left by the reference TypeScript module (no
/// `down_sql` column) is upgraded in place.
const CREATE_TABLE: &str = "
CREATE TABLE IF NOT EXISTS migrations (
  id             TEXT PRIMARY KEY NOT NULL,
  description    TEXT NOT NULL,
  applied_at     TEXT NOT NULL,
  execution_time INTEGER NOT NULL,
  checksum       TEXT NOT NULL,
  down_sql       TEXT
)";

/// A row of the tracking table: one applied migration.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedMigration {
  /// The id as recorded.
  pub id: String,
  /// The id's numeric value; `None` for an id that is not numeric (written by hand).
  pub version: Option<u64>,
  /// The description recorded when it was applied.
  pub description: String,
  /// When it was applied (ISO-8601 UTC).
  pub applied_at: String,
  /// How long its up SQL took, in milliseconds.
  pub execution_time_ms: i64,
  /// The checksum recorded when it was applied.
  pub checksum: String,
  /// The down SQL recorded when it was applied, so a build that does not know this
  /// migration can still roll it back.
  pub down: Option<Vec<String>>,
}

/// Creates the tracking table if it is missing, and adds `down_sql` to an older one.
pub fn ensure_table(conn: &Connection) -> Result<()> {
  conn.execute_batch(CREATE_TABLE)?;
  if !has_down_column(conn)? {
    conn.execute_batch("ALTER TABLE migrations ADD COLUMN down_sql TEXT")?;
  }
  Ok(())
}

fn table_exists(conn: &Connection) -> Result<bool> {
  let sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'";
  Ok(conn.query_row(sql, [], |_| Ok(())).optional()?.is_some())
}

fn has_down_column(conn: &Connection) -> Result<bool> {
  let sql = "SELECT 1 FROM pragma_table_info('migrations') WHERE name = 'down_sql'";
  Ok(conn.query_row(sql, [], |_| Ok(())).optional()?.is_some())
}

/// Every applied migration, ordered by version (non-numeric ids last). A database without a
/// tracking table has none; nothing is created by reading.
pub fn read_applied(conn: &Connection) -> Result<Vec<AppliedMigration>> {
  if !table_exists(conn)? {
    return Ok(Vec::new());
  }
  let down_column = if has_down_column(conn)? { "down_sql" } else { "NULL" };
  let sql = format!("SELECT id, description, applied_at, execution_time, checksum, {down_column} FROM migrations");
  let mut stmt = conn.prepare(&sql)?;
  let rows = stmt.query_map([], |row| {
    let id: String = row.get(0)?;
    let down: Option<String> = row.get(5)?;
    Ok((id, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, down))
  })?;
  let mut applied = Vec::new();
  for row in rows {
    let (id, description, applied_at, execution_time_ms, checksum, down) = row?;
    let down = match down {
      None => None,
      Some(text) => Some(
        serde_json::from_str(&text)
          .map_err(|e| Error::new(crate::core::error::ErrorCode::Corrupt, format!("migrations.down_sql of {id} is not a JSON string array: {e}")))?,
      ),
    };
    applied.push(AppliedMigration { version: parse_id(&id).ok(), id, description, applied_at, execution_time_ms, checksum, down });
  }
  applied.sort_by_key(|m| (m.version.is_none(), m.version));
  Ok(applied)
}

/// Records `migration` as applied.
pub fn record(conn: &Connection, migration: &Migration, applied_at: &str, execution_time_ms: i64) -> Result<()> {
  let down = migration.down.as_ref().map(|down| serde_json::to_string(down).expect("strings serialise"));
  conn.execute(
    "INSERT INTO migrations (id, description, applied_at, execution_time, checksum, down_sql) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    params![migration.id, migration.description, applied_at, execution_time_ms, migration.checksum, down],
  )?;
  Ok(())
}

/// Removes the row of a rolled-back migration.
pub fn remove(conn: &Connection, id: &str) -> Result<()> {
  conn.execute("DELETE FROM migrations WHERE id = ?1", [id])?;
  Ok(())
}

/// Re-records the checksum, description and down SQL of an applied migration from this build.
pub fn rewrite(conn: &Connection, applied_id: &str, migration: &Migration) -> Result<()> {
  let down = migration.down.as_ref().map(|down| serde_json::to_string(down).expect("strings serialise"));
  conn.execute(
    "UPDATE migrations SET checksum = ?2, description = ?3, down_sql = ?4 WHERE id = ?1",
    params![applied_id, migration.checksum, migration.description, down],
  )?;
  Ok(())
}

/// The current time as ISO-8601 UTC with milliseconds, from SQLite's clock so that it matches
/// the columns' defaults.
pub fn now(conn: &Connection) -> Result<String> {
  Ok(conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| row.get(0))?)
}
