//! Helpers shared by the engine tests: temporary files, connections, app-defined migrations
//! and snapshots of a database's schema and tracking table.

use std::collections::BTreeMap;
use std::path::Path;

use crate::connection::{open_writer, Location, OpenOptions};
use crate::error::Error;
use crate::migrations::migrator::{self, MigrateFailure, MigrateOptions, MigrationResult, RollbackOptions, Target};
use crate::migrations::source::{AppMigration, Migration, MigrationSet, BUILTIN, LIBRARY};
use crate::migrations::validation::{Issue, IssueCode};
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

/// An app-defined migration, in the app's namespace (none given).
pub fn app(id: &str, up: &[&str], down: Option<&[&str]>) -> Migration {
  Migration::from_app(app_fields(id, up, down)).unwrap()
}

/// An app-defined migration of a named namespace (a plugin's).
pub fn app_in(namespace: &str, id: &str, up: &[&str], down: Option<&[&str]>) -> Migration {
  Migration::from_app(AppMigration { namespace: Some(namespace.into()), ..app_fields(id, up, down) }).unwrap()
}

/// The fields `app` gives an app migration, described as `app migration <id>`.
pub fn app_fields(id: &str, up: &[&str], down: Option<&[&str]>) -> AppMigration {
  AppMigration {
    id: id.into(),
    description: format!("app migration {id}"),
    up: up.iter().map(|s| s.to_string()).collect(),
    down: down.map(|d| d.iter().map(|s| s.to_string()).collect()),
    ..AppMigration::default()
  }
}

/// A target named by its id alone (it must name a migration of exactly one namespace).
pub fn target(id: &str) -> Target {
  Target { namespace: None, id: id.into() }
}

/// A target in a given namespace.
pub fn target_in(namespace: &str, id: &str) -> Target {
  Target { namespace: Some(namespace.into()), id: id.into() }
}

/// `migrate` options that apply up to and including `id` (named without a namespace).
pub fn up_to(id: &str) -> MigrateOptions {
  MigrateOptions { to: Some(target(id)), ..MigrateOptions::default() }
}

/// Rollback options that run only this build's down SQL (the default).
pub const BUILD_SQL_ONLY: RollbackOptions = RollbackOptions { allow_recorded_sql: false };

/// Rollback options that also run the down SQL recorded for migrations this build does not
/// know.
pub const RECORDED_SQL_ALLOWED: RollbackOptions = RollbackOptions { allow_recorded_sql: true };

/// The ids of the built-in migrations, in order.
pub fn builtin_ids() -> Vec<String> {
  BUILTIN.iter().map(|b| b.id.to_string()).collect()
}

/// The id of the last built-in migration (the library's schema version once migrated).
pub fn last_builtin() -> &'static str {
  BUILTIN.last().expect("there are built-in migrations").id
}

/// The built-in migrations as `agentdb 001`, …, followed by `then` (as `app 003`).
pub fn builtins_then(then: &[&str]) -> Vec<String> {
  BUILTIN.iter().map(|b| format!("{LIBRARY} {}", b.id)).chain(then.iter().map(|s| s.to_string())).collect()
}

/// `migrate` options that apply the library's migrations only (up to its last one).
pub fn library_only() -> MigrateOptions {
  MigrateOptions { to: Some(target_in(LIBRARY, last_builtin())), ..MigrateOptions::default() }
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

/// The namespaces and ids of a list of results, as `agentdb 001`.
pub fn names(results: &[MigrationResult]) -> Vec<String> {
  results.iter().map(|r| format!("{} {}", r.migration.namespace, r.migration.id)).collect()
}

/// The code, namespace and id of each issue of a validation report.
pub fn issues(issues: &[Issue]) -> Vec<(IssueCode, String, String)> {
  issues.iter().map(|i| (i.code, i.namespace.clone(), i.migration_id.clone())).collect()
}

/// One issue, as [`issues`] lists it.
pub fn issue(code: IssueCode, namespace: &str, id: &str) -> (IssueCode, String, String) {
  (code, namespace.to_string(), id.to_string())
}

/// One row of `sqlite_master`: type, name, table name and SQL.
pub type SchemaObject = (String, String, String, Option<String>);

/// Every schema object, in a stable order. A table renamed into place by a rebuild is
/// stored as `CREATE TABLE "name"`; the quotes are taken off, so that it compares equal to
/// the same table created under its name.
pub fn schema(conn: &Connection) -> Vec<SchemaObject> {
  let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").unwrap();
  stmt
    .query_map([], |r| {
      let (kind, name, table, sql): (String, String, String, Option<String>) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
      let sql = sql.map(|s| s.replacen(&format!("CREATE TABLE \"{name}\""), &format!("CREATE TABLE {name}"), 1));
      Ok((kind, name, table, sql))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The schema without the `sqlite_sequence` table, which SQLite never drops once created,
/// and without the tracking table and its index.
pub fn app_schema(conn: &Connection) -> Vec<SchemaObject> {
  schema(conn).into_iter().filter(|(_, _, table, _)| table != "sqlite_sequence" && table != "migrations").collect()
}

/// One row of the tracking table: each column's value as text, by column name (so that
/// tests do not depend on the column order, which changed when `namespace` came first).
pub type TrackingRow = BTreeMap<String, Option<String>>;

/// Every row of the tracking table, in the order they were recorded (rowid), every column
/// as text; empty when there is no table.
pub fn tracking_rows(conn: &Connection) -> Vec<TrackingRow> {
  let exists: bool = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'migrations'", [], |r| r.get(0)).unwrap();
  if !exists {
    return Vec::new();
  }
  let mut stmt = conn.prepare("SELECT * FROM migrations ORDER BY rowid").unwrap();
  let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
  stmt
    .query_map([], |r| {
      (0..names.len()).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| (names[i].clone(), value_text(&v)))).collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The text of `column` in a tracking row.
pub fn cell<'a>(row: &'a TrackingRow, column: &str) -> Option<&'a str> {
  row.get(column).unwrap_or_else(|| panic!("the tracking table has no column {column}: {row:?}")).as_deref()
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

/// The ids recorded in the tracking table, in the order they were recorded.
pub fn applied_ids(conn: &Connection) -> Vec<String> {
  tracking_rows(conn).iter().map(|row| cell(row, "id").unwrap().to_string()).collect()
}

/// The tracking row of `namespace`'s `id`.
pub fn row_of(conn: &Connection, namespace: &str, id: &str) -> TrackingRow {
  tracking_rows(conn)
    .into_iter()
    .find(|row| cell(row, "namespace") == Some(namespace) && cell(row, "id") == Some(id))
    .unwrap_or_else(|| panic!("no tracking row for {namespace} {id}"))
}

/// The namespaces and ids recorded in the tracking table, as `agentdb 001`, in the order
/// they were recorded.
pub fn applied_keys(conn: &Connection) -> Vec<String> {
  tracking_rows(conn).iter().map(|row| format!("{} {}", cell(row, "namespace").unwrap(), cell(row, "id").unwrap())).collect()
}

/// The column names of the tracking table, in order.
pub fn tracking_columns(conn: &Connection) -> Vec<String> {
  let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('migrations') ORDER BY cid").unwrap();
  stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
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
