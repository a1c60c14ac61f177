//! What the library's calls report on a file that lacks its migrations.

use crate::error::{Error, ErrorCode};
use crate::migrations::required::explain;
use crate::migrations::source::MigrationSet;

use super::support::*;

fn missing_column() -> Error {
  Error::new(ErrorCode::SqlError, "no such column: deleted_at")
}

#[test]
fn an_unmigrated_file_names_every_migration() {
  let conn = memory();
  let err = explain(&conn, Error::new(ErrorCode::SqlError, "no such table: agents"));
  assert_eq!(err.code, ErrorCode::NotMigrated);
  let ids = builtin_ids();
  let (last, rest) = ids.split_last().unwrap();
  let expected = format!(
    "the database was never migrated: {} and {last} are not applied (never applied, or rolled back since); \
     call migrate() first (no such table: agents)",
    rest.join(", ")
  );
  assert_eq!(err.message, expected);
}

#[test]
fn a_partly_migrated_file_names_what_is_missing() {
  let mut conn = memory();
  let ids = builtin_ids();
  let (last, _) = ids.split_last().unwrap();
  let before_last = &ids[ids.len() - 2];
  migrate(&mut conn, &MigrationSet::builtin(), &up_to(before_last)).unwrap();
  let err = explain(&conn, missing_column());
  assert_eq!(err.code, ErrorCode::NotMigrated);
  assert!(
    err.message.starts_with(&format!("the database lacks migrations of this library: {last} is not applied")),
    "{}",
    err.message
  );
  assert!(err.message.ends_with("(no such column: deleted_at)"), "{}", err.message);
}

#[test]
fn other_errors_and_migrated_files_keep_their_error() {
  let mut migrated = memory();
  migrate(&mut migrated, &MigrationSet::builtin(), &Default::default()).unwrap();
  assert_eq!(explain(&migrated, missing_column()), missing_column());
  let unmigrated = memory();
  let syntax = Error::new(ErrorCode::SqlError, "near \"SELEC\": syntax error");
  assert_eq!(explain(&unmigrated, syntax.clone()), syntax);
  let constraint = Error::new(ErrorCode::Constraint, "no such table: agents");
  assert_eq!(explain(&unmigrated, constraint.clone()), constraint);
}
