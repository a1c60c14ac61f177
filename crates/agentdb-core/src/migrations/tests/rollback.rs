//! `rollbackLast` and `rollbackTo`: round trips, irreversible migrations and migrations
//! unknown to this build.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions};
use crate::migrations::source::MigrationSet;
use rusqlite::Connection;

use super::support::*;

/// The schema of a new database migrated up to `to`.
fn schema_at(to: u64) -> Vec<SchemaObject> {
  let mut conn = memory();
  migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions { to: Some(to), ..MigrateOptions::default() }).unwrap();
  app_schema(&conn)
}

/// Adds an agent, a session and two logs, so that `sqlite_sequence` has a row for
/// `session_logs`.
fn add_rows(conn: &Connection) {
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm');
       INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1');
       INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}');
       INSERT INTO session_logs (session_id, parent_id, role, type, content) VALUES ('s1', 1, 'agent', 'message', '{}');",
    )
    .unwrap();
}

fn sequence_rows(conn: &Connection) -> i64 {
  conn.query_row("SELECT count(*) FROM sqlite_sequence", [], |r| r.get(0)).unwrap()
}

#[test]
fn rollback_last_and_rollback_to_round_trip_the_schema() {
  let (at_1, at_2) = (schema_at(1), schema_at(2));
  assert_ne!(at_1, at_2);
  let dir = TempDir::new("roundtrip");
  let mut conn = open(&dir.join("a.db"));
  let set = MigrationSet::builtin();
  migrate_all(&mut conn, &set);
  add_rows(&conn);
  assert_eq!(sequence_rows(&conn), 1);

  let undone = migrator::rollback_last(&mut conn, &set).unwrap().unwrap();
  assert_eq!((undone.migration.id.as_str(), undone.success), ("002", true));
  assert!(is_iso_millis(&undone.executed_at));
  assert_eq!(app_schema(&conn), at_1);
  assert_eq!(applied_ids(&conn), ["001"]);
  assert_eq!(sequence_rows(&conn), 0, "the down migration clears session_logs' row in sqlite_sequence");

  assert_eq!(ids(&migrate_all(&mut conn, &set)), ["002"]);
  assert_eq!(app_schema(&conn), at_2);

  let undone = migrator::rollback_to(&mut conn, &set, 0).unwrap();
  assert_eq!(ids(&undone), ["002", "001"]);
  assert!(app_schema(&conn).is_empty(), "{:?}", app_schema(&conn));
  assert!(applied_ids(&conn).is_empty());
  assert_eq!(migrator::rollback_last(&mut conn, &set).unwrap(), None, "nothing left to roll back");

  migrate_all(&mut conn, &set);
  assert_eq!(app_schema(&conn), at_2);
  assert_eq!(migrator::rollback_to(&mut conn, &set, 1).unwrap().len(), 1);
  assert_eq!(app_schema(&conn), at_1);
  assert!(migrator::rollback_to(&mut conn, &set, 1).unwrap().is_empty(), "already at 001");
  assert!(migrator::rollback_to(&mut conn, &set, 7).unwrap().is_empty(), "above the current version");
}

#[test]
fn rolling_back_a_migration_without_down_sql_changes_nothing() {
  let set =
    set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app("004", &["CREATE TABLE t4 (x)"], Some(&["DROP TABLE t4"]))]);
  let mut conn = memory();
  migrate_all(&mut conn, &set);
  let before = (schema(&conn), tracking_rows(&conn));
  let failed = failure(migrator::rollback_to(&mut conn, &set, 2));
  assert_eq!(failed.error.code, ErrorCode::MigrationIrreversible);
  assert!(failed.error.message.contains("003"), "{}", failed.error.message);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "004, which has down SQL, was not rolled back either");

  migrator::rollback_last(&mut conn, &set).unwrap().unwrap();
  assert!(!has_object(&conn, "t4"));
  let before = (schema(&conn), tracking_rows(&conn));
  assert_eq!(failure(migrator::rollback_last(&mut conn, &set)).error.code, ErrorCode::MigrationIrreversible);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_failing_down_migration_is_rolled_back_and_stays_applied() {
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3", "DROP TABLE no_such_table"]))]);
  let mut conn = memory();
  migrate_all(&mut conn, &set);
  let before = (schema(&conn), tracking_rows(&conn));
  let failed = failure(migrator::rollback_last(&mut conn, &set));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(failed.error.message.contains("no such table: no_such_table"), "{}", failed.error.message);
  assert_eq!(ids(&failed.results), ["003"]);
  assert!(!failed.results[0].success);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_build_that_does_not_know_a_migration_rolls_it_back_with_the_recorded_down_sql() {
  let newer = set_with(vec![
    app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"])),
    app("004", &["ALTER TABLE t3 ADD COLUMN y"], Some(&["ALTER TABLE t3 DROP COLUMN y"])),
  ]);
  let mut conn = memory();
  migrate_all(&mut conn, &newer);
  let older = MigrationSet::builtin();
  let undone = migrator::rollback_last(&mut conn, &older).unwrap().unwrap();
  assert_eq!(undone.migration.id, "004");
  assert_eq!(undone.migration.description, "app migration 004", "the recorded description");
  let undone = migrator::rollback_to(&mut conn, &older, 2).unwrap();
  assert_eq!(ids(&undone), ["003"]);
  assert!(!has_object(&conn, "t3"));
  assert_eq!(applied_ids(&conn), ["001", "002"]);
  assert_eq!(app_schema(&conn), schema_at(2));
}
