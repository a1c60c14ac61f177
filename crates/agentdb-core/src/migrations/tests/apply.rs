//! `migrate`: fresh runs, re-runs, bounds, dry runs, failures and runs without transactions.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions, Progress};
use crate::migrations::source::MigrationSet;

use super::support::*;

#[test]
fn fresh_migrate_applies_every_builtin_in_order_and_records_it() {
  let dir = TempDir::new("fresh");
  let mut conn = open(&dir.join("a.db"));
  let set = MigrationSet::builtin();
  let results = migrate_all(&mut conn, &set);
  assert_eq!(ids(&results), ["001", "002"]);
  for result in &results {
    assert!(result.success && result.error.is_none() && !result.dry_run, "{result:?}");
    assert!(is_iso_millis(&result.executed_at), "{}", result.executed_at);
    assert!(result.execution_time_ms >= 0.0);
  }
  for table in ["agents", "sessions", "session_logs", "migrations"] {
    assert!(has_object(&conn, table), "{table} is missing");
  }
  let rows = tracking_rows(&conn);
  assert_eq!(rows.len(), 2);
  for (row, migration) in rows.iter().zip(set.iter()) {
    assert_eq!(row[0].as_deref(), Some(migration.id.as_str()));
    assert_eq!(row[1].as_deref(), Some(migration.description.as_str()));
    assert!(is_iso_millis(row[2].as_deref().unwrap()));
    assert_eq!(row[4].as_deref(), Some(migration.checksum.as_str()));
    let down: Vec<String> = serde_json::from_str(row[5].as_deref().unwrap()).unwrap();
    assert_eq!(Some(down), migration.down);
  }
  let summary = migrator::summary(&conn, &set).unwrap();
  assert_eq!((summary.applied_migrations, summary.pending_migrations), (2, 0));
  assert_eq!(summary.current_version.as_deref(), Some("002"));
}

#[test]
fn migrating_again_changes_nothing() {
  let mut conn = memory();
  let set = MigrationSet::builtin();
  migrate_all(&mut conn, &set);
  let (schema_before, rows_before) = (schema(&conn), tracking_rows(&conn));
  assert!(migrate_all(&mut conn, &set).is_empty());
  assert_eq!(schema(&conn), schema_before);
  assert_eq!(tracking_rows(&conn), rows_before);
}

#[test]
fn limit_and_to_bound_the_run() {
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app("004", &["CREATE TABLE t4 (x)"], None)]);
  let mut conn = memory();
  let none = MigrateOptions { limit: Some(0), ..MigrateOptions::default() };
  assert!(migrate(&mut conn, &set, &none).unwrap().is_empty());
  assert!(schema(&conn).is_empty());
  let one = MigrateOptions { limit: Some(1), ..MigrateOptions::default() };
  assert_eq!(ids(&migrate(&mut conn, &set, &one).unwrap()), ["001"]);
  assert_eq!(applied_ids(&conn), ["001"]);
  let to_three = MigrateOptions { to: Some(3), ..MigrateOptions::default() };
  assert_eq!(ids(&migrate(&mut conn, &set, &to_three).unwrap()), ["002", "003"]);
  assert!(has_object(&conn, "t3") && !has_object(&conn, "t4"));
  let both = MigrateOptions { to: Some(4), limit: Some(5), ..MigrateOptions::default() };
  assert_eq!(ids(&migrate(&mut conn, &set, &both).unwrap()), ["004"]);
  assert_eq!(applied_ids(&conn), ["001", "002", "003", "004"]);
}

#[test]
fn dry_run_reports_the_plan_and_changes_nothing() {
  let dir = TempDir::new("dry");
  let mut conn = open(&dir.join("a.db"));
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)]);
  let dry = MigrateOptions { dry_run: true, ..MigrateOptions::default() };
  let plan = migrate(&mut conn, &set, &dry).unwrap();
  assert_eq!(ids(&plan), ["001", "002", "003"]);
  assert!(plan.iter().all(|r| r.dry_run && r.success && r.execution_time_ms == 0.0));
  assert!(schema(&conn).is_empty(), "a dry run on a new database created {:?}", schema(&conn));

  migrate(&mut conn, &set, &MigrateOptions { limit: Some(1), ..MigrateOptions::default() }).unwrap();
  let (schema_before, rows_before) = (schema(&conn), tracking_rows(&conn));
  let plan = migrate(&mut conn, &set, &MigrateOptions { to: Some(2), ..dry.clone() }).unwrap();
  assert_eq!(ids(&plan), ["002"]);
  assert_eq!(schema(&conn), schema_before);
  assert_eq!(tracking_rows(&conn), rows_before);
}

#[test]
fn progress_reports_start_then_end_for_each_migration() {
  let mut conn = memory();
  let mut events = Vec::new();
  migrator::migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |event| {
    events.push(match event {
      Progress::Started { migration, index, total } => format!("start {} {index}/{total}", migration.id),
      Progress::Finished { result, index, total } => format!("end {} {index}/{total} {}", result.migration.id, result.success),
    })
  })
  .unwrap();
  assert_eq!(events, ["start 001 0/2", "end 001 0/2 true", "start 002 1/2", "end 002 1/2 true"]);
}

#[test]
fn a_migration_another_connection_applied_meanwhile_is_skipped_without_events() {
  let dir = TempDir::new("skip");
  let path = dir.join("a.db");
  let set = MigrationSet::builtin();
  let mut conn = open(&path);
  let mut other = open(&path);
  let mut events = Vec::new();
  let mut other_results = Vec::new();
  let results = migrator::migrate(&mut conn, &set, &MigrateOptions::default(), &mut |event| match event {
    Progress::Started { migration, .. } => events.push(format!("start {}", migration.id)),
    Progress::Finished { result, .. } => {
      events.push(format!("end {}", result.migration.id));
      // Between 001 and 002, another connection applies 002.
      other_results = migrate_all(&mut other, &set);
    }
  })
  .unwrap();
  assert_eq!(ids(&other_results), ["002"]);
  assert_eq!(ids(&results), ["001"]);
  assert_eq!(events, ["start 001", "end 001"], "no start event for the migration that did not run here");
  assert_eq!(applied_ids(&conn), ["001", "002"]);
}

/// 004 fails on its second statement, after its first one created a table.
fn failing_set() -> MigrationSet {
  set_with(vec![
    app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"])),
    app("004", &["CREATE TABLE half (x); INSERT INTO t3 VALUES (1)", "INSERT INTO missing_table VALUES (1)"], None),
    app("005", &["CREATE TABLE t5 (x)"], None),
  ])
}

#[test]
fn a_failing_migration_leaves_no_trace_and_stops_the_run() {
  let set = failing_set();
  let mut conn = memory();
  migrate(&mut conn, &set, &MigrateOptions { to: Some(3), ..MigrateOptions::default() }).unwrap();
  let (schema_before, rows_before) = (schema(&conn), tracking_rows(&conn));

  let mut events = Vec::new();
  let failed = migrator::migrate(&mut conn, &set, &MigrateOptions::default(), &mut |event| {
    events.push(matches!(event, Progress::Started { .. }));
  })
  .unwrap_err();
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(
    failed.error.message.contains("004") && failed.error.message.contains("no such table: missing_table"),
    "{}",
    failed.error.message
  );
  assert_eq!(ids(&failed.results), ["004"]);
  assert!(!failed.results[0].success);
  assert!(failed.results[0].error.as_deref().unwrap().contains("missing_table"));
  assert_eq!(events, [true, false], "004 starts and ends, 005 never starts");

  assert_eq!(schema(&conn), schema_before);
  assert_eq!(tracking_rows(&conn), rows_before);
  let rows: i64 = conn.query_row("SELECT count(*) FROM t3", [], |r| r.get(0)).unwrap();
  assert_eq!(rows, 0, "004's insert was rolled back");
}

#[test]
fn a_failing_first_migration_leaves_no_tracking_table() {
  let mut conn = memory();
  conn.execute_batch("CREATE TABLE agents (id TEXT)").unwrap();
  let before = schema(&conn);
  let failed = failure(migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(failed.error.message.contains("already exists"), "{}", failed.error.message);
  assert_eq!(ids(&failed.results), ["001"]);
  assert_eq!(schema(&conn), before);
}

#[test]
fn without_a_transaction_earlier_statements_of_a_failing_migration_stay() {
  let set = failing_set();
  let mut conn = memory();
  let options = MigrateOptions { use_transaction: false, ..MigrateOptions::default() };
  let failed = failure(migrate(&mut conn, &set, &options));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert_eq!(ids(&failed.results), ["001", "002", "003", "004"]);
  assert!(failed.results[..3].iter().all(|r| r.success));
  assert!(!failed.error.message.contains("rolled back"), "it was not rolled back: {}", failed.error.message);
  assert!(failed.error.message.contains("without a transaction"), "{}", failed.error.message);
  assert!(has_object(&conn, "half"), "the first statement of 004 stays applied");
  assert!(!has_object(&conn, "t5"), "005 did not run");
  assert_eq!(applied_ids(&conn), ["001", "002", "003"]);
}
