//! `rollbackLast` and `rollbackTo`: round trips, irreversible migrations and migrations
//! unknown to this build.

use crate::error::ErrorCode;
use crate::migrations::migrator;
use crate::migrations::source::{MigrationSet, APP, BUILTIN, LIBRARY};
use rusqlite::Connection;

use super::support::*;

/// The schema of a new database migrated up to the library's `to`.
fn schema_at(to: &str) -> Vec<SchemaObject> {
  let mut conn = memory();
  migrate(&mut conn, &MigrationSet::builtin(), &up_to(to)).unwrap();
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
  let all = builtin_ids();
  let n = all.len();
  let at: Vec<Vec<SchemaObject>> = all.iter().map(|id| schema_at(id)).collect();
  assert!(at.windows(2).all(|pair| pair[0] != pair[1]), "every built-in migration changes the schema");
  let (at_1, at_before_last, at_last) = (&at[0], &at[n - 2], &at[n - 1]);
  let dir = TempDir::new("roundtrip");
  let mut conn = open(&dir.join("a.db"));
  let set = MigrationSet::builtin();
  migrate_all(&mut conn, &set);
  add_rows(&conn);
  let autoincrement_tables: i64 = conn
    .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'", [], |r| r.get(0))
    .unwrap();
  assert_eq!(sequence_rows(&conn), autoincrement_tables);

  let undone = migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap();
  assert_eq!(
    (undone.migration.namespace.as_str(), undone.migration.id.as_str(), undone.success),
    (LIBRARY, last_builtin(), true)
  );
  assert!(is_iso_millis(&undone.executed_at));
  assert_eq!(&app_schema(&conn), at_before_last);
  assert_eq!(applied_ids(&conn), all[..n - 1]);

  assert_eq!(ids(&migrate_all(&mut conn, &set)), [last_builtin()]);
  assert_eq!(&app_schema(&conn), at_last);

  let undone = migrator::rollback_to(&mut conn, &set, &target("001"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(ids(&undone), all[1..].iter().rev().cloned().collect::<Vec<_>>());
  assert_eq!(&app_schema(&conn), at_1);
  assert_eq!(applied_ids(&conn), ["001"]);
  assert_eq!(sequence_rows(&conn), 0, "the down migrations clear their tables' rows in sqlite_sequence");

  migrate_all(&mut conn, &set);
  let undone = migrator::rollback_to(&mut conn, &set, &target("000"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(ids(&undone), all.iter().rev().cloned().collect::<Vec<_>>());
  assert!(app_schema(&conn).is_empty(), "{:?}", app_schema(&conn));
  assert!(applied_ids(&conn).is_empty());
  assert_eq!(migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap(), None, "nothing left to roll back");

  migrate_all(&mut conn, &set);
  assert_eq!(&app_schema(&conn), at_last);
  let before_last = target(&all[n - 2]);
  assert_eq!(migrator::rollback_to(&mut conn, &set, &before_last, &BUILD_SQL_ONLY).unwrap().len(), 1);
  assert_eq!(&app_schema(&conn), at_before_last);
  assert!(migrator::rollback_to(&mut conn, &set, &before_last, &BUILD_SQL_ONLY).unwrap().is_empty(), "already there");
  // An id no migration of the namespace has is refused, not taken as "above the current
  // version", so that a mistyped target never rolls back what it did not mean.
  let above = failure(migrator::rollback_to(&mut conn, &set, &target_in(LIBRARY, "999"), &BUILD_SQL_ONLY));
  assert_eq!(above.error.code, ErrorCode::InvalidArgument, "{}", above.error.message);
  // Without a namespace, the id must name a migration that is known or applied (it used to
  // mean "above the current version": nothing to do).
  let unknown = failure(migrator::rollback_to(&mut conn, &set, &target("999"), &BUILD_SQL_ONLY));
  assert_eq!(unknown.error.code, ErrorCode::InvalidArgument, "{}", unknown.error.message);
  assert_eq!(&app_schema(&conn), at_before_last);
}

#[test]
fn rolling_back_a_migration_without_down_sql_changes_nothing() {
  let set =
    set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app("004", &["CREATE TABLE t4 (x)"], Some(&["DROP TABLE t4"]))]);
  let mut conn = memory();
  migrate_all(&mut conn, &set);
  let before = (schema(&conn), tracking_rows(&conn));
  // The library's last migration: every app migration runs after it.
  let failed = failure(migrator::rollback_to(&mut conn, &set, &target_in(LIBRARY, last_builtin()), &BUILD_SQL_ONLY));
  assert_eq!(failed.error.code, ErrorCode::MigrationIrreversible);
  assert!(failed.error.message.contains("app 003"), "{}", failed.error.message);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "004, which has down SQL, was not rolled back either");

  migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap();
  assert!(!has_object(&conn, "t4"));
  let before = (schema(&conn), tracking_rows(&conn));
  // The recorded down SQL does not help: this build knows 003, and knows it has none.
  for options in [BUILD_SQL_ONLY, RECORDED_SQL_ALLOWED] {
    assert_eq!(failure(migrator::rollback_last(&mut conn, &set, &options)).error.code, ErrorCode::MigrationIrreversible);
  }
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_failing_down_migration_is_rolled_back_and_stays_applied() {
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3", "DROP TABLE no_such_table"]))]);
  let mut conn = memory();
  migrate_all(&mut conn, &set);
  let before = (schema(&conn), tracking_rows(&conn));
  let failed = failure(migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(failed.error.message.contains("no such table: no_such_table"), "{}", failed.error.message);
  assert_eq!(ids(&failed.results), ["003"]);
  assert!(!failed.results[0].success);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_build_that_does_not_know_a_migration_rolls_it_back_with_the_recorded_down_sql_only_when_allowed() {
  let newer = set_with(vec![
    app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"])),
    app("004", &["ALTER TABLE t3 ADD COLUMN y"], Some(&["ALTER TABLE t3 DROP COLUMN y"])),
  ]);
  let mut conn = memory();
  migrate_all(&mut conn, &newer);
  let older = MigrationSet::builtin();

  // The recorded down SQL came with the file: without the option it does not run.
  let before = (schema(&conn), tracking_rows(&conn));
  let refused = failure(migrator::rollback_last(&mut conn, &older, &BUILD_SQL_ONLY));
  assert_eq!(refused.error.code, ErrorCode::MigrationIrreversible);
  assert!(refused.error.message.contains("allowRecordedSql"), "{}", refused.error.message);
  assert!(refused.error.message.contains("app 004"), "{}", refused.error.message);
  let library_end = target_in(LIBRARY, last_builtin());
  let refused = failure(migrator::rollback_to(&mut conn, &older, &library_end, &BUILD_SQL_ONLY));
  assert_eq!(refused.error.code, ErrorCode::MigrationIrreversible);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "nothing was rolled back");

  let undone = migrator::rollback_last(&mut conn, &older, &RECORDED_SQL_ALLOWED).unwrap().unwrap();
  assert_eq!((undone.migration.namespace.as_str(), undone.migration.id.as_str()), (APP, "004"));
  assert_eq!(undone.migration.description, "app migration 004", "the recorded description");
  assert!(undone.success);
  let undone = migrator::rollback_to(&mut conn, &older, &library_end, &RECORDED_SQL_ALLOWED).unwrap();
  assert_eq!(names(&undone), ["app 003"]);
  assert!(!has_object(&conn, "t3"));
  assert_eq!(applied_keys(&conn), builtins_then(&[]));
  assert_eq!(app_schema(&conn), schema_at(last_builtin()));
}

#[test]
fn allowing_recorded_sql_changes_nothing_for_migrations_this_build_knows() {
  // The build's own down SQL is used even when the recorded one differs.
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))]);
  let mut conn = memory();
  migrate_all(&mut conn, &set);
  conn.execute_batch(r#"UPDATE migrations SET down_sql = '["DROP TABLE agents"]' WHERE namespace = 'app'"#).unwrap();
  let undone = migrator::rollback_last(&mut conn, &set, &RECORDED_SQL_ALLOWED).unwrap().unwrap();
  assert_eq!(names(&[undone]), ["app 003"]);
  assert!(!has_object(&conn, "t3") && has_object(&conn, "agents"), "this build's down SQL ran, not the recorded one");
}

#[test]
fn rollback_targets_follow_the_run_order_across_namespaces() {
  let set = set_with(vec![
    app("001", &["CREATE TABLE a1 (x)"], Some(&["DROP TABLE a1"])),
    app("002", &["CREATE TABLE a2 (x)"], Some(&["DROP TABLE a2"])),
    app_in("plugin", "001", &["CREATE TABLE p1 (x)"], Some(&["DROP TABLE p1"])),
  ]);
  let mut conn = memory();
  assert_eq!(names(&migrate_all(&mut conn, &set)), builtins_then(&["app 001", "app 002", "plugin 001"]));
  // "002" is in two namespaces: ambiguous without one.
  let ambiguous = failure(migrator::rollback_to(&mut conn, &set, &target("002"), &BUILD_SQL_ONLY));
  assert_eq!(ambiguous.error.code, ErrorCode::InvalidArgument);
  assert!(ambiguous.error.message.contains("agentdb") && ambiguous.error.message.contains("app"), "{}", ambiguous.error.message);

  // rollbackLast undoes the migration that runs last: the plugin's.
  assert_eq!(names(&[migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap()]), ["plugin 001"]);
  migrate_all(&mut conn, &set);
  // The app's 001: its later migrations and every namespace after it.
  let undone = migrator::rollback_to(&mut conn, &set, &target_in(APP, "001"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(names(&undone), ["plugin 001", "app 002"]);
  migrate_all(&mut conn, &set);
  // '000' of the app: the whole app namespace and those after it; the library stays.
  let undone = migrator::rollback_to(&mut conn, &set, &target_in(APP, "000"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(names(&undone), ["plugin 001", "app 002", "app 001"]);
  assert_eq!(applied_keys(&conn), builtins_then(&[]));
  migrate_all(&mut conn, &set);
  // The library's 001: the app's migrations run after it, so they go too.
  let undone = migrator::rollback_to(&mut conn, &set, &target_in(LIBRARY, "001"), &BUILD_SQL_ONLY).unwrap();
  let mut expected = vec!["plugin 001".to_string(), "app 002".into(), "app 001".into()];
  expected.extend(builtins_then(&[])[1..].iter().rev().cloned());
  assert_eq!(names(&undone), expected);
  migrate_all(&mut conn, &set);
  // '000' without a namespace: everything.
  let undone = migrator::rollback_to(&mut conn, &set, &target("000"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(undone.len(), BUILTIN.len() + 3);
  assert!(applied_keys(&conn).is_empty() && app_schema(&conn).is_empty());
}
