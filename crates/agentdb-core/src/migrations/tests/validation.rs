//! `validate`, `list`, `repair` and the checksum's canonical form.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, IssueCode, MigrateOptions, MigrationState, Validation};
use crate::migrations::source::{BuiltinMigration, Migration, MigrationSet, BUILTIN};

use super::support::*;

fn codes(issues: &[migrator::Issue]) -> Vec<(IssueCode, String)> {
  issues.iter().map(|i| (i.code, i.migration_id.clone())).collect()
}

fn states(conn: &rusqlite::Connection, set: &MigrationSet) -> Vec<(String, MigrationState)> {
  migrator::list(conn, set).unwrap().into_iter().map(|m| (m.id, m.state)).collect()
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
  assert_eq!(codes(&report.errors), [(IssueCode::ChecksumMismatch, "003".to_string())]);
  assert!(report.errors[0].message.contains("repairMigrations"), "{}", report.errors[0].message);
  assert_eq!(states(&conn, &edited)[2], ("003".into(), MigrationState::Modified));

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
  assert_eq!(codes(&report.warnings), [(IssueCode::UnknownMigration, "003".to_string())]);
  assert!(report.warnings[0].message.contains("rollbackTo"), "{}", report.warnings[0].message);
  let listed = migrator::list(&conn, &older).unwrap();
  assert_eq!((listed[2].id.as_str(), listed[2].state, listed[2].reversible), ("003", MigrationState::Unknown, true));
  assert!(migrate_all(&mut conn, &older).is_empty(), "an older build still migrates (nothing to do)");
  let summary = migrator::summary(&conn, &older).unwrap();
  assert_eq!((summary.total_migrations, summary.applied_migrations, summary.current_version.as_deref()), (2, 3, Some("003")));
}

#[test]
fn a_pending_migration_older_than_the_current_version_is_out_of_order() {
  let mut conn = memory();
  let unchecked = MigrateOptions { validate_checksums: false, ..MigrateOptions::default() };
  migrate(&mut conn, &set_with(vec![app("004", &["CREATE TABLE t4 (x)"], None)]), &unchecked).unwrap();
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app("004", &["CREATE TABLE t4 (x)"], None)]);
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(codes(&report.errors), [(IssueCode::OutOfOrder, "003".to_string())]);
  let before = (schema(&conn), tracking_rows(&conn));
  assert_eq!(failure(migrate(&mut conn, &set, &MigrateOptions::default())).error.code, ErrorCode::MigrationValidationFailed);
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn a_gap_is_reported_and_blocks_migrate() {
  let mut conn = memory();
  let set = set_with(vec![app("005", &["CREATE TABLE t5 (x)"], None)]);
  let report = migrator::validate(&conn, &set).unwrap();
  assert_eq!(codes(&report.errors), [(IssueCode::Gap, "003".to_string()), (IssueCode::Gap, "004".to_string())]);
  let failed = failure(migrate(&mut conn, &set, &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationValidationFailed);
  assert!(failed.error.message.contains("GAP"), "{}", failed.error.message);
  assert!(schema(&conn).is_empty(), "nothing was applied, not even the tracking table");
}

#[test]
fn a_migration_without_down_sql_is_a_warning() {
  let conn = memory();
  let report = migrator::validate(&conn, &set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None)])).unwrap();
  assert!(report.is_valid());
  assert_eq!(codes(&report.warnings), [(IssueCode::NoDown, "003".to_string())]);
}

/// A copy of a built-in migration as a checkout with CRLF line endings and a BOM has it.
fn crlf_copy(builtin: &BuiltinMigration) -> Migration {
  let crlf = |text: &str| -> &'static str { Box::leak(format!("\u{feff}{}", text.replace('\n', "\r\n")).into_boxed_str()) };
  assert!(builtin.up.contains('\n'));
  Migration::from_builtin(&BuiltinMigration { up: crlf(builtin.up), down: crlf(builtin.down), ..*builtin })
}

#[test]
fn crlf_and_bom_copies_validate_against_a_database_migrated_from_lf() {
  let down: &[&str] = &["DROP TABLE t3"];
  let lf = app("003", &["CREATE TABLE t3 (\n  x\n);\nCREATE INDEX i3 ON t3 (x);\n"], Some(down));
  let crlf = app("003", &["\u{feff}CREATE TABLE t3 (\r\n  x\r\n);\r\nCREATE INDEX i3 ON t3 (x);\r\n"], Some(down));
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![lf]));
  assert_eq!(migrator::validate(&conn, &set_with(vec![crlf])).unwrap(), Validation::default());
  let rows = tracking_rows(&conn);
  for (builtin, row) in BUILTIN.iter().zip(&rows) {
    let copy = crlf_copy(builtin);
    assert_ne!(copy.up[0], builtin.up);
    assert_eq!(row[4].as_deref(), Some(copy.checksum.as_str()), "the CRLF copy of {} has the LF checksum", copy.id);
  }
}

#[test]
fn repair_re_records_the_checksums_of_modified_migrations() {
  let mut conn = memory();
  migrate_all(&mut conn, &set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))]));
  let edited_003 = app("003", &["CREATE TABLE IF NOT EXISTS t3 (x)"], Some(&["DROP TABLE IF EXISTS t3"]));
  let edited = set_with(vec![edited_003.clone()]);
  let old_checksum = tracking_rows(&conn)[2][4].clone().unwrap();
  let schema_before = schema(&conn);

  let repaired = migrator::repair(&mut conn, &edited).unwrap();
  assert_eq!(repaired.len(), 1);
  assert_eq!(
    (repaired[0].id.as_str(), &repaired[0].old_checksum, &repaired[0].new_checksum),
    ("003", &old_checksum, &edited_003.checksum)
  );
  assert_eq!(migrator::validate(&conn, &edited).unwrap(), Validation::default());
  let row = &tracking_rows(&conn)[2];
  assert_eq!(row[4].as_deref(), Some(edited_003.checksum.as_str()));
  assert_eq!(row[5].as_deref(), Some(r#"["DROP TABLE IF EXISTS t3"]"#), "the down SQL is re-recorded too");
  assert_eq!(schema(&conn), schema_before, "repair runs no migration SQL");
  assert!(migrator::repair(&mut conn, &edited).unwrap().is_empty());
}
