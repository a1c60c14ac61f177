//! The `migrations` tracking table: its schema, the upgrade of the tables earlier releases
//! and the reference module left, and reading and writing its rows.
//!
//! A row's identity is its namespace and its id. Its rows are input from a file that may
//! come from anywhere: they are read as data, never trusted as SQL (see the migrator's
//! rollback, which runs recorded down SQL only when the caller opts in).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, ErrorCode, Result};
use crate::migrations::source::{Migration, MigrationSet, Version, APP, LIBRARY};

/// The tracking table's name; app SQL may read it but not write it (see [`crate::guard`]).
pub const TABLE: &str = "migrations";

/// Creates the tracking table.
const CREATE_TABLE: &str = "
CREATE TABLE IF NOT EXISTS migrations (
  namespace        TEXT NOT NULL,
  id               TEXT NOT NULL,
  description      TEXT NOT NULL,
  applied_at       TEXT NOT NULL,
  execution_time   REAL NOT NULL,
  checksum         TEXT NOT NULL,
  down_sql         TEXT,
  foreign_keys_off INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, id)
)";

/// The columns earlier tables may lack (the reference module's has only the first five of
/// [`LEGACY_SELECT`]), with the value such a table is read as.
const OPTIONAL_COLUMNS: [(&str, &str); 2] = [("down_sql", "NULL"), ("foreign_keys_off", "0")];

/// The columns every table has, the reference module's included, in the order rows are read.
const LEGACY_SELECT: &str = "rowid, id, description, applied_at, execution_time, checksum";

/// A row of the tracking table: one applied migration.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedMigration {
  /// Whose migration it is.
  pub namespace: String,
  /// The id as recorded.
  pub id: String,
  /// The id's numeric value; `None` for an id that is not numeric (written by hand).
  pub version: Option<Version>,
  /// The description recorded when it was applied.
  pub description: String,
  /// When it was applied (ISO-8601 UTC).
  pub applied_at: String,
  /// How long its up SQL took, in milliseconds.
  pub execution_time_ms: f64,
  /// The checksum recorded when it was applied.
  pub checksum: String,
  /// The down SQL recorded when it was applied. It is as trustworthy as the file it came in,
  /// so it runs only when the caller opts in.
  pub down: Option<Vec<String>>,
  /// Whether the migration runs with foreign-key enforcement off, recorded so that a build
  /// that does not know it rolls it back the same way.
  pub foreign_keys_off: bool,
}

/// Creates the tracking table if it is missing, and upgrades one written by an earlier
/// release or by the reference module (no namespaces, one shared sequence) in place: rows
/// whose id and checksum match one of this library's migrations are the library's, the rest
/// the app's. Atomic: the upgrade happens whole or not at all.
pub fn ensure_table(conn: &Connection) -> Result<()> {
  if !table_exists(conn)? {
    conn.execute_batch(CREATE_TABLE)?;
    return Ok(());
  }
  if has_column(conn, "namespace")? {
    return Ok(());
  }
  let rows = read_legacy(conn)?;
  conn.execute_batch("SAVEPOINT tracking_upgrade")?;
  let upgraded = (|| -> Result<()> {
    conn.execute_batch("ALTER TABLE migrations RENAME TO migrations_before_namespaces")?;
    conn.execute_batch(CREATE_TABLE)?;
    for (_, row) in &rows {
      insert(conn, row)?;
    }
    conn.execute_batch("DROP TABLE migrations_before_namespaces")?;
    Ok(())
  })();
  match upgraded {
    Ok(()) => conn.execute_batch("RELEASE tracking_upgrade")?,
    Err(err) => {
      conn.execute_batch("ROLLBACK TO tracking_upgrade; RELEASE tracking_upgrade")?;
      return Err(err.context("upgrading the migrations table"));
    }
  }
  Ok(())
}

/// Whether the tracking table is one without namespaces, which [`ensure_table`] upgrades.
pub fn needs_upgrade(conn: &Connection) -> Result<bool> {
  Ok(table_exists(conn)? && !has_column(conn, "namespace")?)
}

fn table_exists(conn: &Connection) -> Result<bool> {
  let sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'";
  Ok(conn.query_row(sql, [], |_| Ok(())).optional()?.is_some())
}

fn has_column(conn: &Connection, name: &str) -> Result<bool> {
  let sql = "SELECT 1 FROM pragma_table_info('migrations') WHERE name = ?1";
  Ok(conn.query_row(sql, [name], |_| Ok(())).optional()?.is_some())
}

/// Every applied migration, in the order they were recorded. A database without a tracking
/// table has none; nothing is created or changed by reading (a table without namespaces is
/// read as [`ensure_table`] would upgrade it).
pub fn read_applied(conn: &Connection) -> Result<Vec<AppliedMigration>> {
  if !table_exists(conn)? {
    return Ok(Vec::new());
  }
  let mut rows = if has_column(conn, "namespace")? { read_namespaced(conn)? } else { read_legacy(conn)? };
  rows.sort_by_key(|(order, _)| *order);
  Ok(rows.into_iter().map(|(_, row)| row).collect())
}

fn read_namespaced(conn: &Connection) -> Result<Vec<(i64, AppliedMigration)>> {
  let sql = format!("SELECT {LEGACY_SELECT}, down_sql, foreign_keys_off, namespace FROM migrations ORDER BY rowid");
  read_rows(conn, &sql, |_, _, _, namespace| Ok(namespace.unwrap_or_default()))
}

/// Rows of a table without namespaces, each given the namespace it belongs to: the
/// library's when its id is one of the library's migrations and its checksum or its
/// description matches that migration (a matching description with another checksum is the
/// library's migration, changed, which validation reports), else the app's.
fn read_legacy(conn: &Connection) -> Result<Vec<(i64, AppliedMigration)>> {
  let mut optional = Vec::new();
  for (name, absent) in OPTIONAL_COLUMNS {
    optional.push(if has_column(conn, name)? { name } else { absent });
  }
  let sql = format!("SELECT {LEGACY_SELECT}, {}, NULL FROM migrations ORDER BY rowid", optional.join(", "));
  let library = MigrationSet::builtin();
  read_rows(conn, &sql, |id, checksum, description, _| {
    let builtin = Version::parse(id).ok().and_then(|version| library.get(LIBRARY, &version));
    let ours = builtin.is_some_and(|m| m.checksum == checksum || m.description.trim() == description.trim());
    Ok(if ours { LIBRARY } else { APP }.to_string())
  })
}

/// Runs `sql` (the columns of [`LEGACY_SELECT`], then down SQL, the foreign-key switch and
/// the namespace) and reads each row, `namespace` deciding its namespace from the id, the
/// checksum, the description and the stored namespace.
fn read_rows(
  conn: &Connection,
  sql: &str,
  namespace: impl Fn(&str, &str, &str, Option<String>) -> Result<String>,
) -> Result<Vec<(i64, AppliedMigration)>> {
  let mut stmt = conn.prepare(sql)?;
  let mut rows = stmt.query([])?;
  let mut applied = Vec::new();
  while let Some(row) = rows.next()? {
    let id: String = text(row, 1, "id")?;
    let what = |column: &str| format!("migrations.{column} of {id:?}");
    let checksum = text(row, 5, "checksum")?;
    let down: Option<String> = row.get(6).map_err(|_| unreadable(&what("down_sql"), "text or NULL"))?;
    let down = match down {
      None => None,
      Some(text) => {
        Some(serde_json::from_str(&text).map_err(|e| unreadable(&what("down_sql"), &format!("a JSON array of strings ({e})")))?)
      }
    };
    let stored: Option<String> = row.get(8).map_err(|_| unreadable(&what("namespace"), "text"))?;
    let description = text(row, 2, "description")?;
    applied.push((
      row.get(0)?,
      AppliedMigration {
        namespace: namespace(&id, &checksum, &description, stored)?,
        version: Version::parse(&id).ok(),
        description,
        applied_at: text(row, 3, "applied_at")?,
        execution_time_ms: row.get(4).map_err(|_| unreadable(&what("execution_time"), "a number"))?,
        checksum,
        down,
        foreign_keys_off: row.get(7).map_err(|_| unreadable(&what("foreign_keys_off"), "0 or 1"))?,
        id,
      },
    ));
  }
  Ok(applied)
}

fn text(row: &rusqlite::Row, index: usize, column: &str) -> Result<String> {
  row.get(index).map_err(|_| unreadable(&format!("a row's migrations.{column}"), "text"))
}

fn unreadable(what: &str, expected: &str) -> Error {
  Error::new(ErrorCode::Corrupt, format!("{what} is not {expected}: the tracking table was written by something else"))
}

fn insert(conn: &Connection, row: &AppliedMigration) -> Result<()> {
  let down = row.down.as_ref().map(|down| serde_json::to_string(down).unwrap_or_else(|_| unreachable!("strings serialise")));
  conn.execute(
    "INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    params![
      row.namespace,
      row.id,
      row.description,
      row.applied_at,
      row.execution_time_ms,
      row.checksum,
      down,
      row.foreign_keys_off
    ],
  )?;
  Ok(())
}

/// Records `migration` as applied.
pub fn record(conn: &Connection, migration: &Migration, applied_at: &str, execution_time_ms: f64) -> Result<()> {
  insert(
    conn,
    &AppliedMigration {
      namespace: migration.namespace.clone(),
      id: migration.id.clone(),
      version: Some(migration.version.clone()),
      description: migration.description.clone(),
      applied_at: applied_at.to_string(),
      execution_time_ms,
      checksum: migration.checksum.clone(),
      down: migration.down.clone(),
      foreign_keys_off: migration.foreign_keys_off,
    },
  )
}

/// Removes the row of a rolled-back migration.
pub fn remove(conn: &Connection, applied: &AppliedMigration) -> Result<()> {
  conn.execute("DELETE FROM migrations WHERE namespace = ?1 AND id = ?2", params![applied.namespace, applied.id])?;
  Ok(())
}

/// Re-records the checksum, down SQL and foreign-key switch of an applied migration from
/// this build (its description, which says which migration it is, stays).
pub fn rewrite(conn: &Connection, applied: &AppliedMigration, migration: &Migration) -> Result<()> {
  let down =
    migration.down.as_ref().map(|down| serde_json::to_string(down).unwrap_or_else(|_| unreachable!("strings serialise")));
  conn.execute(
    "UPDATE migrations SET checksum = ?3, down_sql = ?4, foreign_keys_off = ?5 WHERE namespace = ?1 AND id = ?2",
    params![applied.namespace, applied.id, migration.checksum, down, migration.foreign_keys_off],
  )?;
  Ok(())
}

/// The current time as ISO-8601 UTC with milliseconds, from SQLite's clock so that it matches
/// the columns' defaults.
pub fn now(conn: &Connection) -> Result<String> {
  Ok(conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| row.get(0))?)
}
