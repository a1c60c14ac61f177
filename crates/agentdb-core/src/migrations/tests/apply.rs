//! `migrate`: fresh runs, re-runs, bounds, dry runs, failures and runs without transactions.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions, MigrationState, Progress};
use crate::migrations::source::{BuiltinMigration, Migration, MigrationSet, Version, APP, BUILTIN, LIBRARY, MAX_ID_DIGITS};
use crate::migrations::validation::Validation;

use super::support::*;

#[test]
fn fresh_migrate_applies_every_builtin_in_order_and_records_it() {
  let dir = TempDir::new("fresh");
  let mut conn = open(&dir.join("a.db"));
  let set = MigrationSet::builtin();
  let results = migrate_all(&mut conn, &set);
  assert_eq!(ids(&results), builtin_ids());
  for result in &results {
    assert!(result.success && result.error.is_none() && !result.dry_run, "{result:?}");
    assert!(is_iso_millis(&result.executed_at), "{}", result.executed_at);
    assert!(result.execution_time_ms >= 0.0);
  }
  for table in ["agents", "sessions", "session_logs", "migrations"] {
    assert!(has_object(&conn, table), "{table} is missing");
  }
  assert_eq!(
    tracking_columns(&conn),
    ["namespace", "id", "description", "applied_at", "execution_time", "checksum", "down_sql", "foreign_keys_off"]
  );
  let rows = tracking_rows(&conn);
  assert_eq!(rows.len(), BUILTIN.len());
  for (row, migration) in rows.iter().zip(set.iter()) {
    assert_eq!(cell(row, "namespace"), Some(LIBRARY));
    assert_eq!(cell(row, "id"), Some(migration.id.as_str()));
    assert_eq!(cell(row, "description"), Some(migration.description.as_str()));
    assert!(is_iso_millis(cell(row, "applied_at").unwrap()));
    assert_eq!(cell(row, "checksum"), Some(migration.checksum.as_str()));
    let down: Vec<String> = serde_json::from_str(cell(row, "down_sql").unwrap()).unwrap();
    assert_eq!(Some(down), migration.down);
    assert_eq!(cell(row, "foreign_keys_off"), Some(if migration.foreign_keys_off { "1" } else { "0" }));
  }
  let summary = migrator::summary(&conn, &set).unwrap();
  assert_eq!((summary.applied_migrations, summary.pending_migrations), (BUILTIN.len(), 0));
  assert_eq!(summary.current_version.as_deref(), Some(last_builtin()));
  let library = &summary.namespaces[..];
  assert_eq!(library.len(), 1, "{library:?}");
  assert_eq!(
    (
      library[0].namespace.as_str(),
      library[0].current_version.as_deref(),
      library[0].applied_migrations,
      library[0].pending_migrations
    ),
    (LIBRARY, Some(last_builtin()), BUILTIN.len(), 0)
  );
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
  let set = set_with(vec![app("903", &["CREATE TABLE t3 (x)"], None), app("904", &["CREATE TABLE t4 (x)"], None)]);
  let mut conn = memory();
  let none = MigrateOptions { limit: Some(0), ..MigrateOptions::default() };
  assert!(migrate(&mut conn, &set, &none).unwrap().is_empty());
  assert!(schema(&conn).is_empty());
  let one = MigrateOptions { limit: Some(1), ..MigrateOptions::default() };
  assert_eq!(ids(&migrate(&mut conn, &set, &one).unwrap()), ["001"]);
  assert_eq!(applied_ids(&conn), ["001"]);
  // The app's 903: the rest of the library's migrations run before it.
  let to_three = MigrateOptions { to: Some(target_in(APP, "903")), ..MigrateOptions::default() };
  assert_eq!(names(&migrate(&mut conn, &set, &to_three).unwrap()), builtins_then(&["app 903"])[1..]);
  assert!(has_object(&conn, "t3") && !has_object(&conn, "t4"));
  // "904" alone names the app's 904, the only migration of that id.
  let both = MigrateOptions { limit: Some(5), ..up_to("904") };
  assert_eq!(names(&migrate(&mut conn, &set, &both).unwrap()), ["app 904"]);
  assert_eq!(applied_keys(&conn), builtins_then(&["app 903", "app 904"]));
}

#[test]
fn dry_run_reports_the_plan_and_changes_nothing() {
  let dir = TempDir::new("dry");
  let mut conn = open(&dir.join("a.db"));
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)]);
  let dry = MigrateOptions { dry_run: true, ..MigrateOptions::default() };
  let plan = migrate(&mut conn, &set, &dry).unwrap();
  assert_eq!(names(&plan), builtins_then(&["app 003"]));
  assert!(plan.iter().all(|r| r.dry_run && r.success && r.execution_time_ms == 0.0));
  assert!(schema(&conn).is_empty(), "a dry run on a new database created {:?}", schema(&conn));

  migrate(&mut conn, &set, &MigrateOptions { limit: Some(1), ..MigrateOptions::default() }).unwrap();
  let (schema_before, rows_before) = (schema(&conn), tracking_rows(&conn));
  let plan = migrate(&mut conn, &set, &MigrateOptions { dry_run: true, ..up_to("002") }).unwrap();
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
      Progress::Indexing { migration, done, rows, .. } => format!("indexing {} {done}/{rows}", migration.id),
    })
  })
  .unwrap();
  let total = BUILTIN.len();
  let expected: Vec<String> = BUILTIN
    .iter()
    .enumerate()
    .flat_map(|(i, b)| [format!("start {} {i}/{total}", b.id), format!("end {} {i}/{total} true", b.id)])
    .collect();
  assert_eq!(events, expected);
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
    Progress::Indexing { .. } => {}
  })
  .unwrap();
  assert_eq!(ids(&other_results), builtin_ids()[1..], "the other connection applied the rest");
  assert_eq!(ids(&results), ["001"]);
  assert_eq!(events, ["start 001", "end 001"], "no start event for the migrations that did not run here");
  assert_eq!(applied_ids(&conn), builtin_ids());
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
  migrate(&mut conn, &set, &MigrateOptions { to: Some(target_in(APP, "003")), ..MigrateOptions::default() }).unwrap();
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
  assert_eq!(names(&failed.results), builtins_then(&["app 003", "app 004"]));
  let (done, failing) = failed.results.split_at(failed.results.len() - 1);
  assert!(done.iter().all(|r| r.success) && !failing[0].success);
  assert!(!failed.error.message.contains("rolled back"), "it was not rolled back: {}", failed.error.message);
  assert!(failed.error.message.contains("without a transaction"), "{}", failed.error.message);
  assert!(has_object(&conn, "half"), "the first statement of 004 stays applied");
  assert!(!has_object(&conn, "t5"), "005 did not run");
  assert_eq!(applied_keys(&conn), builtins_then(&["app 003"]));
}

/// A built-in migration `id` as a future release of the library may add.
fn future_builtin(id: &'static str) -> Migration {
  Migration::from_builtin(&BuiltinMigration {
    id,
    name: "future",
    description: "a built-in of a future release",
    foreign_keys_off: false,
    rebuilds: &[],
    up: "CREATE TABLE future_builtin (x)",
    down: "DROP TABLE future_builtin",
  })
}

/// Namespace, id, state and whether it is built in, for each row of `list`.
fn listed(conn: &rusqlite::Connection, set: &MigrationSet) -> Vec<(String, MigrationState, Option<bool>)> {
  migrator::list(conn, set).unwrap().into_iter().map(|m| (format!("{} {}", m.namespace, m.id), m.state, m.builtin)).collect()
}

#[test]
fn an_app_migration_003_lives_in_the_app_namespace_beside_the_library_s_own_003() {
  let app_003 = app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]));
  let version = Version::parse("003").unwrap();
  // The library's 003: this build's if it has one, else one as a future release may add.
  let mut set = MigrationSet::builtin();
  if set.get(LIBRARY, &version).is_none() {
    set.add(vec![future_builtin("003")]).unwrap();
  }
  let library_names: Vec<String> = set.iter().map(Migration::name).collect();
  set.add(vec![app_003.clone()]).unwrap();
  assert!(set.get(LIBRARY, &version).is_some_and(Migration::is_builtin));
  assert!(set.get(APP, &version).is_some_and(|m| !m.is_builtin() && m.description == "app migration 003"));

  let mut conn = memory();
  let mut expected = library_names.clone();
  expected.push("app 003".into());
  assert_eq!(names(&migrate_all(&mut conn, &set)), expected, "the library's first, then the app's");
  assert!(has_object(&conn, "t3"));
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default(), "no clash, no gap, no drift");
  let rows = listed(&conn, &set);
  let library_003 = rows.iter().find(|(name, _, _)| name == "agentdb 003").unwrap();
  assert_eq!((library_003.1, library_003.2), (MigrationState::Applied, Some(true)));
  assert_eq!(rows.last().unwrap(), &("app 003".to_string(), MigrationState::Applied, Some(false)));
  assert_eq!(rows.len(), expected.len());

  // "003" alone is ambiguous; with its namespace it is not.
  let ambiguous = failure(migrator::rollback_to(&mut conn, &set, &target("003"), &BUILD_SQL_ONLY));
  assert_eq!(ambiguous.error.code, ErrorCode::InvalidArgument);
  assert!(ambiguous.error.message.contains("agentdb and app"), "{}", ambiguous.error.message);
  let undone = migrator::rollback_to(&mut conn, &set, &target_in(LIBRARY, "003"), &BUILD_SQL_ONLY).unwrap();
  let mut expected_undone = vec!["app 003".to_string()];
  let after_003 = library_names.iter().position(|n| n == "agentdb 003").unwrap() + 1;
  expected_undone.extend(library_names[after_003..].iter().rev().cloned());
  assert_eq!(names(&undone), expected_undone, "the app's 003 and the library's after 003");
  assert!(!has_object(&conn, "t3"));
}

#[test]
fn a_library_migration_added_after_an_app_migration_of_the_same_id_applies_beside_it() {
  // The app took the id after the library's last one (as apps did when the sequence was
  // shared); a later release of the library adds a migration of that same id.
  let next: &'static str = Box::leak(format!("{:03}", BUILTIN.len() + 1).into_boxed_str());
  let app_next = app(next, &["CREATE TABLE app_next (x)"], Some(&["DROP TABLE app_next"]));
  let today = set_with(vec![app_next.clone()]);
  let mut conn = memory();
  assert_eq!(names(&migrate_all(&mut conn, &today)), builtins_then(&[&format!("app {next}")]));

  let mut future = MigrationSet::builtin();
  future.add(vec![app_next, future_builtin(next)]).unwrap();
  let mut order = builtins_then(&[&format!("agentdb {next}")]);
  order.push(format!("app {next}"));
  assert_eq!(future.iter().map(Migration::name).collect::<Vec<_>>(), order);
  let report = migrator::validate(&conn, &future).unwrap();
  assert!(report.is_valid(), "the library's pending {next} is not out of order: {report:?}");
  let rows = listed(&conn, &future);
  assert_eq!(rows[BUILTIN.len()], (format!("agentdb {next}"), MigrationState::Pending, Some(true)));
  assert_eq!(rows[BUILTIN.len() + 1], (format!("app {next}"), MigrationState::Applied, Some(false)));
  let summary = migrator::summary(&conn, &future).unwrap();
  assert_eq!(summary.pending_migration_ids, [next]);
  assert_eq!(summary.current_version.as_deref(), Some(last_builtin()));

  // Without a namespace the id is ambiguous; with it, it is not.
  let ambiguous = failure(migrate(&mut conn, &future, &up_to(next)));
  assert_eq!(ambiguous.error.code, ErrorCode::InvalidArgument);
  assert!(ambiguous.error.message.contains("agentdb and app"), "{}", ambiguous.error.message);
  let to_library = MigrateOptions { to: Some(target_in(LIBRARY, next)), ..MigrateOptions::default() };
  assert_eq!(names(&migrate(&mut conn, &future, &to_library).unwrap()), [format!("agentdb {next}")]);
  let mut recorded = builtins_then(&[&format!("app {next}")]);
  recorded.push(format!("agentdb {next}"));
  assert_eq!(applied_keys(&conn), recorded, "recorded in the order applied");
  assert_eq!(migrator::summary(&conn, &future).unwrap().current_version.as_deref(), Some(next));
  assert!(migrator::validate(&conn, &future).unwrap().is_valid());

  // In run order the app's migration is last, though the library's was applied after it.
  let undone = migrator::rollback_last(&mut conn, &future, &BUILD_SQL_ONLY).unwrap().unwrap();
  assert_eq!(names(&[undone]), [format!("app {next}")]);

  // A new database runs the library's first.
  let mut fresh = memory();
  assert_eq!(names(&migrate_all(&mut fresh, &future)), order);
}

#[test]
fn timestamp_ids_run_in_order_without_gap_warnings() {
  let (jan, feb) = ("20240101120000", "20240201090000");
  // Registered out of order: the set orders them by version.
  let set = set_with(vec![
    app(feb, &["ALTER TABLE notes ADD COLUMN tag TEXT"], Some(&["ALTER TABLE notes DROP COLUMN tag"])),
    app(jan, &["CREATE TABLE notes (body TEXT)"], Some(&["DROP TABLE notes"])),
  ]);
  let mut conn = memory();
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default(), "no GAP for timestamp ids");
  let dry = migrate(&mut conn, &set, &MigrateOptions { dry_run: true, ..MigrateOptions::default() }).unwrap();
  assert_eq!(names(&dry), builtins_then(&[&format!("app {jan}"), &format!("app {feb}")]));
  assert_eq!(names(&migrate(&mut conn, &set, &up_to(jan)).unwrap()), builtins_then(&[&format!("app {jan}")]));
  assert_eq!(ids(&migrate_all(&mut conn, &set)), [feb]);
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  let summary = migrator::summary(&conn, &set).unwrap();
  let app_line = summary.namespaces.iter().find(|n| n.namespace == APP).unwrap();
  assert_eq!((app_line.current_version.as_deref(), app_line.applied_migrations), (Some(feb), 2));
  assert_eq!(summary.current_version.as_deref(), Some(last_builtin()), "the library's version");
  assert_eq!(ids(&migrator::rollback_to(&mut conn, &set, &target(jan), &BUILD_SQL_ONLY).unwrap()), [feb]);
  assert_eq!(applied_keys(&conn), builtins_then(&[&format!("app {jan}")]));
}

#[test]
fn ids_of_up_to_64_digits_are_accepted_and_longer_ones_refused() {
  let longest = format!("1{}", "0".repeat(MAX_ID_DIGITS - 1));
  let just_below = "9".repeat(MAX_ID_DIGITS - 1);
  assert_eq!(longest.len(), 64);
  let set = set_with(vec![
    app(&longest, &["CREATE TABLE longest (x)"], Some(&["DROP TABLE longest"])),
    app(&just_below, &["CREATE TABLE below (x)"], Some(&["DROP TABLE below"])),
  ]);
  let mut conn = memory();
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  assert_eq!(names(&migrate_all(&mut conn, &set)), builtins_then(&[&format!("app {just_below}"), &format!("app {longest}")]));
  assert!(listed(&conn, &set).iter().all(|(_, state, _)| *state == MigrationState::Applied));
  let undone = migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap();
  assert_eq!(undone.migration.id, longest);

  let too_long = format!("1{}", "0".repeat(MAX_ID_DIGITS));
  let err = error(Migration::from_app(app_fields(&too_long, &["CREATE TABLE t (x)"], None)));
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  assert!(err.message.contains("64 digits"), "{err}");
  let failed = failure(migrate(&mut conn, &set, &up_to(&too_long)));
  assert_eq!(failed.error.code, ErrorCode::InvalidArgument, "{}", failed.error.message);
}

#[test]
fn migrate_to_a_namespace_the_build_does_not_know_is_refused() {
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)]);
  let mut conn = memory();
  let typo = MigrateOptions { to: Some(target_in("ap", "001")), ..MigrateOptions::default() };
  let failed = failure(migrate(&mut conn, &set, &typo));
  assert_eq!(failed.error.code, ErrorCode::InvalidArgument);
  assert!(schema(&conn).is_empty(), "nothing was applied");
}
