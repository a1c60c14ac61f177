//! `validate`, `list`, `repair` and the checksum's canonical form.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions, MigrationState};
use crate::migrations::source::{AppMigration, BuiltinMigration, Migration, MigrationSet, Version, APP, BUILTIN, LIBRARY};
use crate::migrations::validation::{IssueCode, Validation};
use rusqlite::Connection;

use super::support::*;

fn states(conn: &Connection, set: &MigrationSet) -> Vec<(String, MigrationState)> {
  migrator::list(conn, set).unwrap().into_iter().map(|m| (format!("{} {}", m.namespace, m.id), m.state)).collect()
}

#[test]
fn a_clean_database_validates() {
  let mut conn = memory();
  let set = MigrationSet::builtin();
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  migrate_all(&mut conn, &set);
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  assert!(states(&conn, &set).iter().all(|(_, s)| *s == MigrationState::Applied));
}

#[test]
fn a_modified_applied_migration_is_a_checksum_mismatch() {
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)]));
  let edited = set_with(vec![app("003", &["CREATE TABLE t3 (x, y)"], None), app("004", &["CREATE TABLE t4 (x)"], None)]);
  let report = migrator::validate(&conn, &edited).unwrap();
  assert!(!report.is_valid());
  assert_eq!(issues(&report.errors), [issue(IssueCode::ChecksumMismatch, APP, "003")]);
  assert!(report.errors[0].message.contains("repairMigrations"), "{}", report.errors[0].message);
  assert_eq!(states(&conn, &edited)[BUILTIN.len()], ("app 003".into(), MigrationState::Modified));

  let before = (schema(&conn), tracking_rows(&conn));
  let failed = failure(migrate(&mut conn, &edited, &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationValidationFailed);
  assert!(failed.error.message.contains("CHECKSUM_MISMATCH"), "{}", failed.error.message);
  assert!(failed.results.is_empty());
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "004 was not applied");

  let unchecked = MigrateOptions { validate_checksums: false, ..MigrateOptions::default() };
  assert_eq!(ids(&migrate(&mut conn, &edited, &unchecked).unwrap()), ["004"]);
}

#[test]
fn an_applied_migration_unknown_to_this_build_is_a_warning() {
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))]));
  let older = MigrationSet::builtin();
  let report = migrator::validate(&conn, &older).unwrap();
  assert!(report.is_valid(), "{report:?}");
  // Its SQL is unknown, so the schema is not compared with the migrations (one drift warning
  // saying so).
  assert_eq!(issues(&report.warnings), [issue(IssueCode::UnknownMigration, APP, "003"), issue(IssueCode::SchemaDrift, "", "")]);
  let message = &report.warnings[0].message;
  assert!(message.contains("rollbackTo") && message.contains("allowRecordedSql"), "{message}");
  assert!(report.warnings[1].message.contains("not compared") && report.warnings[1].message.contains("app 003"), "{report:?}");
  let listed = migrator::list(&conn, &older).unwrap();
  let unknown = &listed[BUILTIN.len()];
  assert_eq!((unknown.namespace.as_str(), unknown.id.as_str(), unknown.state), (APP, "003", MigrationState::Unknown));
  // `reversible` now means "by this build's down SQL"; the recorded down SQL is reported apart
  // (it runs only with allowRecordedSql).
  assert_eq!((unknown.reversible, unknown.recorded_down, unknown.builtin), (false, true, None));
  assert!(migrate_all(&mut conn, &older).is_empty(), "an older build still migrates (nothing to do)");
  let summary = migrator::summary(&conn, &older).unwrap();
  // `current_version` is now the library's schema version; the app's is on its own line.
  assert_eq!(
    (summary.total_migrations, summary.applied_migrations, summary.current_version.as_deref()),
    (BUILTIN.len(), BUILTIN.len() + 1, Some(last_builtin()))
  );
  let app_line = summary.namespaces.iter().find(|n| n.namespace == APP).unwrap();
  assert_eq!(
    (app_line.current_version.as_deref(), app_line.applied_migrations, app_line.pending_migrations),
    (Some("003"), 1, 0)
  );
}

#[test]
fn a_pending_migration_older_than_its_namespaces_current_version_is_out_of_order() {
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![app("004", &["CREATE TABLE t4 (x)"], None)]));
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app("004", &["CREATE TABLE t4 (x)"], None)]);
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(issues(&report.errors), [issue(IssueCode::OutOfOrder, APP, "003")]);
  let before = (schema(&conn), tracking_rows(&conn));
  assert_eq!(failure(migrate(&mut conn, &set, &MigrateOptions::default())).error.code, ErrorCode::MigrationValidationFailed);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);

  // Another namespace's 001 is not older than the app's 004: each namespace has its own sequence.
  let plugin =
    set_with(vec![app("004", &["CREATE TABLE t4 (x)"], None), app_in("plugin", "001", &["CREATE TABLE p1 (x)"], None)]);
  assert_eq!(migrator::validate(&conn, &plugin).unwrap().errors, []);
  assert_eq!(names(&migrate_all(&mut conn, &plugin)), ["plugin 001"]);
}

/// The gap warnings of a report, with their messages.
fn gaps(report: &Validation) -> Vec<(String, String, String)> {
  report
    .warnings
    .iter()
    .filter(|i| i.code == IssueCode::Gap)
    .map(|i| (i.namespace.clone(), i.migration_id.clone(), i.message.clone()))
    .collect()
}

#[test]
fn a_gap_is_one_warning_per_missing_range_and_does_not_block_migrate() {
  // GAP used to be an error; it is a warning now, one per range missing between two ids of
  // a namespace.
  let mut conn = memory();
  let set = set_with(vec![
    app("001", &["CREATE TABLE a1 (x)"], Some(&["DROP TABLE a1"])),
    app("002", &["CREATE TABLE a2 (x)"], Some(&["DROP TABLE a2"])),
    app("005", &["CREATE TABLE a5 (x)"], Some(&["DROP TABLE a5"])),
    app("007", &["CREATE TABLE a7 (x)"], Some(&["DROP TABLE a7"])),
    app("011", &["CREATE TABLE a11 (x)"], Some(&["DROP TABLE a11"])),
    app_in("plugin", "1", &["CREATE TABLE p1 (x)"], Some(&["DROP TABLE p1"])),
    app_in("plugin", "3", &["CREATE TABLE p3 (x)"], Some(&["DROP TABLE p3"])),
  ]);
  let report = migrator::validate(&conn, &set).unwrap();
  assert!(report.is_valid(), "{report:?}");
  let found = gaps(&report);
  let summary: Vec<(&str, &str)> = found.iter().map(|(n, id, _)| (n.as_str(), id.as_str())).collect();
  assert_eq!(summary, [(APP, "003"), (APP, "006"), (APP, "008"), ("plugin", "2")], "{found:?}");
  assert!(found[0].2.starts_with("app: 003–004 missing"), "{}", found[0].2);
  assert!(found[1].2.starts_with("app: 006 missing"), "{}", found[1].2);
  assert!(found[2].2.starts_with("app: 008–010 missing"), "{}", found[2].2);
  assert!(found[3].2.starts_with("plugin: 2 missing"), "{}", found[3].2);
  assert_eq!(report.warnings.len(), 4, "nothing but the gaps: {report:?}");

  let applied = migrate_all(&mut conn, &set);
  assert_eq!(applied.len(), BUILTIN.len() + 7, "a gap does not stop migrate");
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(gaps(&report).len(), 4, "the same gaps once applied, not more");
  assert_eq!(report.warnings.len(), 4, "{report:?}");

  // The library's sequence has no gaps.
  assert!(MigrationSet::builtin().iter().enumerate().all(|(i, m)| m.version == Version::parse(&(i + 1).to_string()).unwrap()));
}

#[test]
fn an_app_sequence_may_start_anywhere_without_a_gap_warning() {
  // An app migration 101 after the library's: its own namespace, whose sequence starts at
  // 101 (ids before a namespace's first are not a gap; an app whose ids once continued the
  // library's starts at 003).
  for first in ["003", "101"] {
    let mut conn = memory();
    let set = set_with(vec![app(first, &["CREATE TABLE t (x)"], Some(&["DROP TABLE t"]))]);
    assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default(), "first id {first}");
    assert_eq!(names(&migrate_all(&mut conn, &set)), builtins_then(&[&format!("app {first}")]));
    assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default(), "first id {first}, applied");
  }
}

#[test]
fn a_migration_without_down_sql_is_a_warning() {
  let conn = memory();
  let report = migrator::validate(&conn, &set_with(vec![app("001", &["CREATE TABLE t1 (x)"], None)])).unwrap();
  assert!(report.is_valid());
  assert_eq!(issues(&report.warnings), [issue(IssueCode::NoDown, APP, "001")]);
}

/// An app migration that says which library migration it was written against.
fn requiring(requires: &str) -> Migration {
  Migration::from_app(AppMigration {
    requires: Some(requires.into()),
    ..app_fields("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))
  })
  .unwrap()
}

#[test]
fn an_app_migration_requiring_a_library_migration_this_build_lacks_is_an_error() {
  let mut conn = memory();
  let set = set_with(vec![requiring("999")]);
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(issues(&report.errors), [issue(IssueCode::RequirementUnmet, APP, "003")]);
  let message = &report.errors[0].message;
  let library_end = BUILTIN.last().unwrap().id;
  assert!(message.contains("app 003") && message.contains("999") && message.contains(library_end), "{message}");
  let failed = failure(migrate(&mut conn, &set, &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationValidationFailed);
  assert!(failed.error.message.contains("REQUIREMENT_UNMET"), "{}", failed.error.message);
  assert!(schema(&conn).is_empty(), "nothing was applied, not even the library's migrations");

  let next = format!("{:03}", BUILTIN.len() + 1);
  assert_eq!(issues(&migrator::validate(&conn, &set_with(vec![requiring(&next)])).unwrap().errors).len(), 1, "requires {next}");
  for met in ["001", "1", library_end] {
    let set = set_with(vec![requiring(met)]);
    assert_eq!(migrator::validate(&conn, &set).unwrap().errors, [], "requires {met}");
  }
  let set = set_with(vec![requiring("001")]);
  assert_eq!(names(&migrate_all(&mut conn, &set)), builtins_then(&["app 003"]));
}

/// A copy of a built-in migration as a checkout with CRLF line endings and a BOM has it.
fn crlf_copy(builtin: &BuiltinMigration) -> Migration {
  let crlf = |text: &str| -> &'static str { Box::leak(format!("\u{feff}{}", text.replace('\n', "\r\n")).into_boxed_str()) };
  assert!(builtin.up.contains('\n'));
  Migration::from_builtin(&BuiltinMigration { up: crlf(builtin.up), down: crlf(builtin.down), ..*builtin })
}

/// An app migration as written (LF), and as a checkout with CRLF line endings and a BOM has it.
fn lf_and_crlf() -> (Migration, Migration) {
  let down: &[&str] = &["DROP TABLE t1"];
  let lf = app("001", &["CREATE TABLE t1 (\n  x\n);\nCREATE INDEX i1 ON t1 (x);\n"], Some(down));
  let crlf = app("001", &["\u{feff}CREATE TABLE t1 (\r\n  x\r\n);\r\nCREATE INDEX i1 ON t1 (x);\r\n"], Some(down));
  (lf, crlf)
}

#[test]
fn crlf_and_bom_copies_have_the_checksums_of_the_lf_originals() {
  let (lf, crlf) = lf_and_crlf();
  assert_eq!(lf.checksum, crlf.checksum);
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![lf]));
  let report = migrator::validate(&conn, &set_with(vec![crlf])).unwrap();
  assert_eq!(report.errors, [], "no checksum mismatch");
  assert!(report.warnings.iter().all(|w| w.code == IssueCode::SchemaDrift), "{report:?}");
  let rows = tracking_rows(&conn);
  for (builtin, row) in BUILTIN.iter().zip(&rows) {
    let copy = crlf_copy(builtin);
    assert_ne!(copy.up[0], builtin.up);
    assert_eq!(cell(row, "namespace"), Some(LIBRARY));
    assert_eq!(cell(row, "checksum"), Some(copy.checksum.as_str()), "the CRLF copy of {} has the LF checksum", copy.id);
  }
}

#[test]
fn crlf_and_bom_copies_report_no_drift_against_a_database_migrated_from_lf() {
  let (lf, crlf) = lf_and_crlf();
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![lf]));
  assert_eq!(migrator::validate(&conn, &set_with(vec![crlf])).unwrap(), Validation::default());
}

/// Inserts a row into the tracking table, as something other than this library might.
fn forge(conn: &Connection, namespace: &str, id: &str) {
  conn
    .execute(
      "INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off)
       VALUES (?1, ?2, 'forged', '2025-01-01T00:00:00.000Z', 1, 'feedface', NULL, 0)",
      [namespace, id],
    )
    .unwrap();
}

#[test]
fn forged_rows_with_huge_ids_give_a_small_report_everywhere() {
  let dir = TempDir::new("forged");
  let path = dir.join("a.db");
  let mut conn = open(&path);
  let builtin = MigrationSet::builtin();
  migrate_all(&mut conn, &builtin);
  let sixty_nines = "9".repeat(60);
  forge(&conn, APP, "9999999999");
  forge(&conn, APP, &sixty_nines);
  drop(conn);
  let mut conn = open(&path);

  // Each forged row is one UNKNOWN_MIGRATION warning; ids of 8+ digits get no gap warning;
  // the schema is not compared (one drift warning says so).
  let report = migrator::validate(&conn, &builtin).unwrap();
  assert!(report.is_valid(), "{report:?}");
  assert_eq!(
    issues(&report.warnings),
    [
      issue(IssueCode::UnknownMigration, APP, "9999999999"),
      issue(IssueCode::UnknownMigration, APP, &sixty_nines),
      issue(IssueCode::SchemaDrift, "", "")
    ]
  );
  assert!(report.warnings.len() <= 5);
  let summary = migrator::summary(&conn, &builtin).unwrap();
  assert_eq!((summary.applied_migrations, summary.current_version.as_deref()), (BUILTIN.len() + 2, Some(last_builtin())));
  let app_line = summary.namespaces.iter().find(|n| n.namespace == APP).unwrap();
  assert_eq!(app_line.current_version.as_deref(), Some(sixty_nines.as_str()));
  let listed = migrator::list(&conn, &builtin).unwrap();
  let unknown: Vec<&str> = listed.iter().filter(|m| m.state == MigrationState::Unknown).map(|m| m.id.as_str()).collect();
  assert_eq!(unknown, ["9999999999", sixty_nines.as_str()], "in version order");
  assert!(migrate_all(&mut conn, &builtin).is_empty());

  // 1 and 9999999 in a namespace of their own: one gap warning for the whole range between;
  // ids that are not versions at all (too long, not digits) are one warning each.
  forge(&conn, "forged", "1");
  forge(&conn, "forged", "9999999");
  forge(&conn, APP, &"9".repeat(65));
  forge(&conn, APP, "abc");
  let report = migrator::validate(&conn, &builtin).unwrap();
  assert!(report.is_valid(), "{report:?}");
  let count = |code: IssueCode| report.warnings.iter().filter(|i| i.code == code).count();
  assert_eq!(
    (count(IssueCode::UnknownMigration), count(IssueCode::Gap), count(IssueCode::SchemaDrift), report.warnings.len()),
    (6, 1, 1, 8),
    "{report:?}"
  );
  let found = gaps(&report);
  assert!(found[0].2.starts_with("forged: 0000002–9999998 missing"), "{}", found[0].2);
  assert_eq!(migrator::list(&conn, &builtin).unwrap().len(), BUILTIN.len() + 6);
  assert_eq!(migrator::summary(&conn, &builtin).unwrap().namespaces.len(), 3);

  // A registered app migration is now older than the forged current version: one error.
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)]);
  let failed = failure(migrate(&mut conn, &set, &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationValidationFailed);
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(issues(&report.errors), [issue(IssueCode::OutOfOrder, APP, "003")]);
  assert!(report.errors.len() + report.warnings.len() <= 10, "{report:?}");

  // Forged rows carry no down SQL: nothing can roll them back, whatever the option.
  let before = tracking_rows(&conn);
  for options in [BUILD_SQL_ONLY, RECORDED_SQL_ALLOWED] {
    assert_eq!(failure(migrator::rollback_last(&mut conn, &builtin, &options)).error.code, ErrorCode::MigrationIrreversible);
  }
  assert_eq!(tracking_rows(&conn), before);
}

/// A database with the app's 003 and 004 applied; the build's 003 has been edited since.
fn edited_after_applying() -> (Connection, MigrationSet, Migration) {
  let mut conn = memory();
  let original = vec![
    app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"])),
    app("004", &["CREATE TABLE t4 (x)"], Some(&["DROP TABLE t4"])),
  ];
  migrate_all(&mut conn, &set_with(original));
  let edited_003 = app("003", &["CREATE TABLE IF NOT EXISTS t3 (x)"], Some(&["DROP TABLE IF EXISTS t3"]));
  let set = set_with(vec![edited_003.clone(), app("004", &["CREATE TABLE t4 (x)"], Some(&["DROP TABLE t4"]))]);
  (conn, set, edited_003)
}

fn strings(items: &[&str]) -> Vec<String> {
  items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn repair_dry_run_reports_the_old_and_new_checksum_and_down_sql_and_changes_nothing() {
  let (mut conn, set, edited_003) = edited_after_applying();
  let old_checksum = cell(&row_of(&conn, APP, "003"), "checksum").unwrap().to_string();
  let before = (schema(&conn), tracking_rows(&conn));
  let repaired = migrator::repair(&mut conn, &set, &strings(&["003"]), None, true).unwrap();
  assert_eq!(repaired.len(), 1);
  let r = &repaired[0];
  assert_eq!((r.namespace.as_str(), r.id.as_str(), r.description.as_str()), (APP, "003", "app migration 003"));
  assert_eq!((&r.old_checksum, &r.new_checksum), (&old_checksum, &edited_003.checksum));
  assert_eq!(r.up, edited_003.up);
  assert_eq!(r.old_down, Some(strings(&["DROP TABLE t3"])));
  assert_eq!(r.new_down, Some(strings(&["DROP TABLE IF EXISTS t3"])));
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "a dry run writes nothing");
  assert_eq!(issues(&migrator::validate(&conn, &set).unwrap().errors), [issue(IssueCode::ChecksumMismatch, APP, "003")]);
}

#[test]
fn repair_re_records_the_checksum_and_down_sql_of_the_given_ids_but_not_the_description() {
  let (mut conn, _, _) = edited_after_applying();
  // The same migration (its description differs only in spacing), with edited SQL.
  let edited_003 = Migration::from_app(AppMigration {
    description: "  app migration 003 ".into(),
    ..app_fields("003", &["CREATE TABLE IF NOT EXISTS t3 (x)"], Some(&["DROP TABLE IF EXISTS t3"]))
  })
  .unwrap();
  let set = set_with(vec![edited_003.clone(), app("004", &["CREATE TABLE t4 (x)"], Some(&["DROP TABLE t4"]))]);
  let schema_before = schema(&conn);
  let others_before: Vec<TrackingRow> = tracking_rows(&conn).into_iter().filter(|r| cell(r, "id") != Some("003")).collect();

  let repaired = migrator::repair(&mut conn, &set, &strings(&["003"]), None, false).unwrap();
  assert_eq!(repaired.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["003"]);
  assert_eq!(migrator::validate(&conn, &set).unwrap().errors, []);
  let rows = tracking_rows(&conn);
  let row = &row_of(&conn, APP, "003");
  assert_eq!(cell(row, "checksum"), Some(edited_003.checksum.as_str()));
  assert_eq!(cell(row, "down_sql"), Some(r#"["DROP TABLE IF EXISTS t3"]"#), "the down SQL is re-recorded too");
  assert_eq!(cell(row, "description"), Some("app migration 003"), "the recorded description stays");
  let others_after: Vec<TrackingRow> = rows.iter().filter(|r| cell(r, "id") != Some("003")).cloned().collect();
  assert_eq!(others_after, others_before, "only the given id is touched");
  assert_eq!(schema(&conn), schema_before, "repair runs no migration SQL");

  // Repairing it again is refused (it used to return an empty list): it is not changed.
  for namespace in [None, Some(APP)] {
    let err = error(migrator::repair(&mut conn, &set, &strings(&["003"]), namespace, false));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{err}");
  }
}

#[test]
fn repair_refuses_what_it_cannot_accept_and_changes_nothing() {
  let (mut conn, set, _) = edited_after_applying();
  let before = tracking_rows(&conn);
  let refused = |conn: &mut Connection, set: &MigrationSet, ids: &[&str], namespace: Option<&str>, expected: &str| {
    let err = error(migrator::repair(conn, set, &strings(ids), namespace, false));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{ids:?}: {err}");
    assert!(err.message.contains(expected), "{ids:?}: {err}");
  };
  refused(&mut conn, &set, &[], None, "give the ids");
  refused(&mut conn, &set, &["004"], None, "no changed migration 004");
  refused(&mut conn, &set, &["004"], Some(APP), "not changed");
  refused(&mut conn, &set, &["003", "004"], None, "004");
  refused(&mut conn, &set, &["005"], None, "no changed migration 005");
  refused(&mut conn, &set, &["3a"], None, "digits");
  refused(&mut conn, &MigrationSet::builtin(), &["003"], Some(APP), "not known to this build");
  let renamed = Migration::from_app(AppMigration {
    description: "a different migration".into(),
    ..app_fields("003", &["CREATE TABLE other (x)"], Some(&["DROP TABLE other"]))
  })
  .unwrap();
  refused(&mut conn, &set_with(vec![renamed]), &["003"], None, "different migration");
  assert_eq!(tracking_rows(&conn), before, "all or none: 003 was not re-recorded alongside the refused 004");
}

#[test]
fn repair_needs_the_namespace_when_the_id_changed_in_several() {
  let mut conn = memory();
  migrate_all(
    &mut conn,
    &set_with(vec![app("001", &["CREATE TABLE a1 (x)"], None), app_in("plugin", "001", &["CREATE TABLE p1 (x)"], None)]),
  );
  let edited = set_with(vec![
    app("001", &["CREATE TABLE IF NOT EXISTS a1 (x)"], None),
    app_in("plugin", "001", &["CREATE TABLE IF NOT EXISTS p1 (x)"], None),
  ]);
  let err = error(migrator::repair(&mut conn, &edited, &strings(&["001"]), None, false));
  assert!(err.message.contains("several namespaces"), "{err}");
  let repaired = migrator::repair(&mut conn, &edited, &strings(&["001"]), Some("plugin"), false).unwrap();
  assert_eq!(repaired.iter().map(|r| format!("{} {}", r.namespace, r.id)).collect::<Vec<_>>(), ["plugin 001"]);
  let report = migrator::validate(&conn, &edited).unwrap();
  assert_eq!(issues(&report.errors), [issue(IssueCode::ChecksumMismatch, APP, "001")], "the app's 001 is still changed");
}
