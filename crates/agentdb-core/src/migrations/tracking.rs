//! The `migrations` tracking table: its schema, and reading and writing its rows.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::migrations::source::{parse_id, Migration};

/// Creates the tracking table. A table left by the reference TypeScript module (only the
/// first five columns) is upgraded in place by [`ensure_table`].
const CREATE_TABLE: &str = "
CREATE TABLE IF NOT EXISTS migrations (
  id               TEXT PRIMARY KEY NOT NULL,
  description      TEXT NOT NULL,
  applied_at       TEXT NOT NULL,
  execution_time   REAL NOT NULL,
  checksum         TEXT NOT NULL,
  down_sql         TEXT,
  foreign_keys_off INTEGER NOT NULL DEFAULT 0
)";

/// The columns this library adds to the reference module's five: name, definition for
/// `ALTER TABLE ADD COLUMN`, and the value a table without the column is read as.
const ADDED_COLUMNS: [(&str, &str, &str); 2] =
  [("down_sql", "TEXT", "NULL"), ("foreign_keys_off", "INTEGER NOT NULL DEFAULT 0", "0")];

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
  pub execution_time_ms: f64,
  /// The checksum recorded when it was applied.
  pub checksum: String,
  /// The down SQL recorded when it was applied, so a build that does not know this
  /// migration can still roll it back.
  pub down: Option<Vec<String>>,
  /// Whether the migration runs with foreign-key enforcement off, recorded so that such a
  /// build rolls it back the same way (a table rebuild with enforcement on would cascade).
  pub foreign_keys_off: bool,
}

/// Creates the tracking table if it is missing, and adds the columns an older one lacks.
pub fn ensure_table(conn: &Connection) -> Result<()> {
  conn.execute_batch(CREATE_TABLE)?;
  for (name, definition, _) in ADDED_COLUMNS {
    if !has_column(conn, name)? {
      conn.execute_batch(&format!("ALTER TABLE migrations ADD COLUMN {name} {definition}"))?;
    }
  }
  Ok(())
}

fn table_exists(conn: &Connection) -> Result<bool> {
  let sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'";
  Ok(conn.query_row(sql, [], |_| Ok(())).optional()?.is_some())
}

fn has_column(conn: &Connection, name: &str) -> Result<bool> {
  let sql = "SELECT 1 FROM pragma_table_info('migrations') WHERE name = ?1";
  Ok(conn.query_row(sql, [name], |_| Ok(())).optional()?.is_some())
}

/// Every applied migration, ordered by version (non-numeric ids last). A database without a
/// tracking table has none; nothing is created by reading.
pub fn read_applied(conn: &Connection) -> Result<Vec<AppliedMigration>> {
  if !table_exists(conn)? {
    return Ok(Vec::new());
  }
  let mut added = Vec::new();
  for (name, _, absent) in ADDED_COLUMNS {
    added.push(if has_column(conn, name)? { name } else { absent });
  }
  let sql = format!("SELECT id, description, applied_at, execution_time, checksum, {} FROM migrations", added.join(", "));
  let mut stmt = conn.prepare(&sql)?;
  let rows = stmt.query_map([], |row| {
    let id: String = row.get(0)?;
    let down: Option<String> = row.get(5)?;
    Ok((id, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, down, row.get(6)?))
  })?;
  let mut applied = Vec::new();
  for row in rows {
    let (id, description, applied_at, execution_time_ms, checksum, down, foreign_keys_off) = row?;
    let down = match down {
      None => None,
      Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
        Error::new(crate::error::ErrorCode::Corrupt, format!("migrations.down_sql of {id} is not a JSON string array: {e}"))
      })?),
    };
    applied.push(AppliedMigration {
      version: parse_id(&id).ok(),
      id,
      description,
      applied_at,
      execution_time_ms,
      checksum,
      down,
      foreign_keys_off,
    });
  }
  applied.sort_by_key(|m| (m.version.is_none(), m.version));
  Ok(applied)
}

/// Records `migration` as applied.
pub fn record(conn: &Connection, migration: &Migration, applied_at: &str, execution_time_ms: f64) -> Result<()> {
  let down = migration.down.as_ref().map(|down| serde_json::to_string(down).expect("strings serialise"));
  conn.execute(
    "INSERT INTO migrations (id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    params![
      migration.id,
      migration.description,
      applied_at,
      execution_time_ms,
      migration.checksum,
      down,
      migration.foreign_keys_off
    ],
  )?;
  Ok(())
}

/// Removes the row of a rolled-back migration.
pub fn remove(conn: &Connection, id: &str) -> Result<()> {
  conn.execute("DELETE FROM migrations WHERE id = ?1", [id])?;
  Ok(())
}

/// Re-records the checksum, description, down SQL and foreign-key switch of an applied
/// migration from this build.
pub fn rewrite(conn: &Connection, applied_id: &str, migration: &Migration) -> Result<()> {
  let down = migration.down.as_ref().map(|down| serde_json::to_string(down).expect("strings serialise"));
  conn.execute(
    "UPDATE migrations SET checksum = ?2, description = ?3, down_sql = ?4, foreign_keys_off = ?5 WHERE id = ?1",
    params![applied_id, migration.checksum, migration.description, down, migration.foreign_keys_off],
  )?;
  Ok(())
}

/// The current time as ISO-8601 UTC with milliseconds, from SQLite's clock so that it matches
/// the columns' defaults.
pub fn now(conn: &Connection) -> Result<String> {
  Ok(conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| row.get(0))?)
}
