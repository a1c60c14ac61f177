//! What the library's own calls report when the file's schema lacks the library's
//! migrations: a database never migrated, or one whose migrations were rolled back since it
//! was opened (by this connection's `rollbackTo`, another `Database`, another process).
//!
//! SQLite then fails the call's statement with "no such table" or "no such column", which
//! alone says nothing about the cause or the cure. Nothing is checked on the way to a call;
//! only such a failure looks at the tracking table, so calls on a migrated file cost nothing
//! more.

use rusqlite::Connection;

use crate::error::{Error, ErrorCode};
use crate::migrations::migrator;
use crate::migrations::source::MigrationSet;
use crate::migrations::tracking;

/// The beginnings of SQLite's messages for a statement naming what the schema does not hold.
const MISSING_OBJECT: [&str; 2] = ["no such table", "no such column"];

/// `err`, or, when it is SQLite's report of a missing table or column while some of the
/// library's migrations are not applied on `conn`'s file, the `NOT_MIGRATED` error that names
/// them (SQLite's own text kept at its end). Anything else, including a failure to read the
/// tracking table, leaves `err` as it was.
pub fn explain(conn: &Connection, err: Error) -> Error {
  if err.code != ErrorCode::SqlError || !MISSING_OBJECT.iter().any(|start| err.message.starts_with(start)) {
    return err;
  }
  // rusqlite adds the statement to SQLite's text; the library's own SQL is no help here.
  let cause = err.message.split(" in ").next().unwrap_or_default();
  not_migrated(conn, cause).unwrap_or(err)
}

/// The `NOT_MIGRATED` error of a call that found `cause` (what is missing, in SQLite's words)
/// when some of the library's migrations are not applied on `conn`'s file; `None` when all
/// are, or the tracking table cannot be read.
pub fn not_migrated(conn: &Connection, cause: &str) -> Option<Error> {
  let applied = tracking::read_applied(conn).ok()?;
  let library = MigrationSet::builtin();
  let missing: Vec<&str> = migrator::pending(&library, &applied).iter().map(|m| m.id.as_str()).collect();
  if missing.is_empty() {
    return None;
  }
  let state = if missing.len() == library.len() { "was never migrated" } else { "lacks migrations of this library" };
  Some(Error::new(
    ErrorCode::NotMigrated,
    format!(
      "the database {state}: {} not applied (never applied, or rolled back since); call migrate() first ({cause})",
      list(&missing)
    ),
  ))
}

/// "001 is", "001 and 002 are", "001, 002 and 003 are".
fn list(ids: &[&str]) -> String {
  match ids {
    [one] => format!("{one} is"),
    [rest @ .., last] => format!("{} and {last} are", rest.join(", ")),
    [] => String::new(),
  }
}
