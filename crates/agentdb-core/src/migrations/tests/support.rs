//! Helpers shared by the engine tests: temporary files, connections, app-defined migrations
//! and snapshots of a database's schema and tracking table.

use std::path::Path;

use crate::connection::{open_writer, Location, OpenOptions};
use crate::error::Error;
use crate::migrations::migrator::{self, MigrateFailure, MigrateOptions, MigrationResult};
use crate::migrations::source::{AppMigration, Migration, MigrationSet};
use rusqlite::Connection;

pub use crate::test_support::TempDir;

/// The writer connection the library opens for a file.
pub fn open(path: &Path) -> Connection {
  open_writer(&Location::File(path.to_path_buf()), &OpenOptions::default()).unwrap()
}

/// The writer connection of a private in-memory database.
pub fn memory() -> Connection {
  open_writer(&Location::Memory, &OpenOptions::default()).unwrap()
}

/// An app-defined migration.
pub fn app(id: &str, up: &[&str], down: Option<&[&str]>) -> Migration {
  Migration::from_app(AppMigration {
    id: id.into(),
    description: format!("app migration {id}"),
    up: up.iter().map(|s| s.to_string()).collect(),
    down: down.map(|d| d.iter().map(|s| s.to_string()).collect()),
    ..AppMigration::default()
  })
  .unwrap()
}

/// The built-in migrations plus `added`.
pub fn set_with(added: Vec<Migration>) -> MigrationSet {
  let mut set = MigrationSet::builtin();
  set.add(added).unwrap();
  set
}

/// `migrate` without a progress callback.
pub fn migrate(
  conn: &mut Connection,
  set: &MigrationSet,
  options: &MigrateOptions,
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  migrator::migrate(conn, set, options, &mut |_| {})
}

/// `migrate` with the default options, which must succeed.
pub fn migrate_all(conn: &mut Connection, set: &MigrationSet) -> Vec<MigrationResult> {
  migrate(conn, set, &MigrateOptions::default()).unwrap()
}

/// The ids of a list of results.
pub fn ids(results: &[MigrationResult]) -> Vec<String> {
  results.iter().map(|r| r.migration.id.clone()).collect()
}

/// One row of `sqlite_master`: type, name, table name and SQL.
pub type SchemaObject = (String, String, String, Option<String>);

/// Every schema object, in a stable order.
pub fn schema(conn: &Connection) -> Vec<SchemaObject> {
  let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").unwrap();
  stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

/// The schema without the `sqlite_sequence` table, which SQLite never drops once created,
/// and without the tracking table and its index.
pub fn app_schema(conn: &Connection) -> Vec<SchemaObject> {
  schema(conn).into_iter().filter(|(_, _, table, _)| table != "sqlite_sequence" && table != "migrations").collect()
}

/// Every row of the tracking table, every column as text; empty when there is no table.
pub fn tracking_rows(conn: &Connection) -> Vec<Vec<Option<String>>> {
  let exists: bool = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'migrations'", [], |r| r.get(0)).unwrap();
  if !exists {
    return Vec::new();
  }
  let mut stmt = conn.prepare("SELECT * FROM migrations ORDER BY id").unwrap();
  let columns = stmt.column_count();
  stmt
    .query_map([], |r| (0..columns).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| value_text(&v))).collect())
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn value_text(value: &rusqlite::types::Value) -> Option<String> {
  use rusqlite::types::Value;
  match value {
    Value::Null => None,
    Value::Integer(i) => Some(i.to_string()),
    Value::Real(f) => Some(f.to_string()),
    Value::Text(t) => Some(t.clone()),
    Value::Blob(b) => Some(format!("{b:?}")),
  }
}

/// The ids recorded in the tracking table.
pub fn applied_ids(conn: &Connection) -> Vec<String> {
  tracking_rows(conn).into_iter().map(|row| row[0].clone().unwrap()).collect()
}

/// Whether a table or index of this name exists.
pub fn has_object(conn: &Connection, name: &str) -> bool {
  conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap()
}

/// The unwrapped failure of a call expected to fail.
pub fn failure<T: std::fmt::Debug>(outcome: Result<T, MigrateFailure>) -> MigrateFailure {
  outcome.expect_err("the call should have failed")
}

/// The error of a core call expected to fail.
pub fn error<T: std::fmt::Debug>(outcome: Result<T, Error>) -> Error {
  outcome.expect_err("the call should have failed")
}

/// Whether `text` has the shape `2026-01-02T03:04:05.678Z`.
pub fn is_iso_millis(text: &str) -> bool {
  let b = text.as_bytes();
  let digits = |range: std::ops::Range<usize>| range.into_iter().all(|i| b[i].is_ascii_digit());
  b.len() == 24
    && digits(0..4)
    && b[4] == b'-'
    && digits(5..7)
    && b[7] == b'-'
    && digits(8..10)
    && b[10] == b'T'
    && digits(11..13)
    && b[13] == b':'
    && digits(14..16)
    && b[16] == b':'
    && digits(17..19)
    && b[19] == b'.'
    && digits(20..23)
    && b[23] == b'Z'
}
