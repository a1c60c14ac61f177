//! The tracking table: a table left by the reference module is read as it is and upgraded in
//! place by the first write; reading never creates or changes it.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrationState, Validation};
use crate::migrations::source::{MigrationSet, BUILTIN};
use rusqlite::Connection;

use super::support::*;

/// The tracking table as the reference module creates it.
const REFERENCE_TABLE: &str = "CREATE TABLE migrations (
  id TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time INTEGER NOT NULL,
  checksum TEXT NOT NULL
)";

fn columns(conn: &Connection) -> Vec<String> {
  let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('migrations') ORDER BY cid").unwrap();
  stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// A database whose built-in migrations were applied and recorded by the reference module.
fn reference_database() -> Connection {
  let conn = memory();
  conn.execute_batch(REFERENCE_TABLE).unwrap();
  for (builtin, migration) in BUILTIN.iter().zip(MigrationSet::builtin().iter()) {
    conn.execute_batch(builtin.up).unwrap();
    conn
      .execute(
        "INSERT INTO migrations (id, description, applied_at, execution_time, checksum) VALUES (?1, ?2, '2024-12-10T10:00:00.000Z', 12, ?3)",
        [&migration.id, &migration.description, &migration.checksum],
      )
      .unwrap();
  }
  conn
}

#[test]
fn reading_a_reference_table_changes_nothing() {
  let conn = reference_database();
  let before = (schema(&conn), tracking_rows(&conn));
  let set = MigrationSet::builtin();
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  let listed = migrator::list(&conn, &set).unwrap();
  assert!(listed.iter().all(|m| m.state == MigrationState::Applied && m.reversible && m.execution_time_ms == Some(12.0)));
  assert_eq!(migrator::summary(&conn, &set).unwrap().current_version.as_deref(), Some("002"));
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_reference_table_is_upgraded_in_place_by_the_next_migrate() {
  let mut conn = reference_database();
  let reference_columns = columns(&conn);
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))]);
  assert_eq!(ids(&migrate_all(&mut conn, &set)), ["003"]);
  let upgraded = columns(&conn);
  assert_eq!(upgraded[..5], reference_columns[..], "the reference's columns stay as they were");
  assert_eq!(upgraded[5..], ["down_sql", "foreign_keys_off"]);
  let rows = tracking_rows(&conn);
  assert_eq!(rows[0][2].as_deref(), Some("2024-12-10T10:00:00.000Z"), "old rows are kept");
  assert_eq!((rows[0][5].as_deref(), rows[0][6].as_deref()), (None, Some("0")), "the reference recorded no down SQL");
  assert_eq!(rows[2][5].as_deref(), Some(r#"["DROP TABLE t3"]"#));
  assert_eq!(ids(&migrator::rollback_to(&mut conn, &set, 1).unwrap()), ["003", "002"], "this build's down SQL undoes old rows");
  assert_eq!(applied_ids(&conn), ["001"]);
}

#[test]
fn an_unknown_reference_row_without_down_sql_is_irreversible() {
  let mut conn = reference_database();
  conn.execute_batch("CREATE TABLE legacy (x)").unwrap();
  conn.execute_batch("INSERT INTO migrations VALUES ('003', 'legacy table', '2024-12-11T10:00:00.000Z', 3, 'deadbeef')").unwrap();
  let set = MigrationSet::builtin();
  let listed = migrator::list(&conn, &set).unwrap();
  assert_eq!((listed[2].state, listed[2].reversible), (MigrationState::Unknown, false));
  let before = (schema(&conn), tracking_rows(&conn));
  assert_eq!(failure(migrator::rollback_last(&mut conn, &set)).error.code, ErrorCode::MigrationIrreversible);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn down_sql_that_is_not_a_json_array_is_reported_as_corrupt() {
  let mut conn = memory();
  let set = MigrationSet::builtin();
  migrate_all(&mut conn, &set);
  conn.execute_batch("UPDATE migrations SET down_sql = 'DROP TABLE agents' WHERE id = '001'").unwrap();
  let err = error(migrator::validate(&conn, &set));
  assert_eq!(err.code, ErrorCode::Corrupt);
  assert!(err.message.contains("001"), "{err}");
}
