//! Drift: validation compares the live schema with what the applied migrations create.

use agentdb_core::connection::{open_writer, Location, OpenOptions};
use agentdb_core::migrations::migrator::{self, MigrateOptions};
use agentdb_core::migrations::source::MigrationSet;
use agentdb_core::migrations::validation::IssueCode;
use rusqlite::Connection;

fn migrated() -> (Connection, MigrationSet) {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  let set = MigrationSet::builtin();
  migrator::migrate(&mut conn, &set, &MigrateOptions::default(), &mut |_| {}).unwrap();
  (conn, set)
}

fn drift(conn: &Connection, set: &MigrationSet) -> Vec<String> {
  let report = migrator::validate(conn, set).unwrap();
  report.warnings.into_iter().filter(|w| w.code == IssueCode::SchemaDrift).map(|w| w.message).collect()
}

#[test]
fn a_schema_made_by_its_migrations_has_no_drift_even_after_a_rebuild() {
  let (conn, set) = migrated();
  assert_eq!(drift(&conn, &set), Vec::<String>::new());
}

#[test]
fn extra_missing_and_changed_objects_are_each_reported() {
  let (conn, set) = migrated();
  conn
    .execute_batch(
      "CREATE INDEX by_hand ON agents (name);
       DROP INDEX idx_sessions_status_seq;
       DROP TRIGGER session_logs_parent_same_session_update;
       CREATE TRIGGER session_logs_parent_same_session_update AFTER UPDATE ON session_logs BEGIN SELECT 1; END;",
    )
    .unwrap();
  let mut found = drift(&conn, &set);
  found.sort();
  assert_eq!(found.len(), 3, "{found:?}");
  assert!(found.iter().any(|m| m.contains("index by_hand is not created by any applied migration")), "{found:?}");
  assert!(
    found.iter().any(|m| m.contains("index idx_sessions_status_seq that the applied migrations create is missing")),
    "{found:?}"
  );
  assert!(found.iter().any(|m| m.contains("trigger session_logs_parent_same_session_update differs")), "{found:?}");
}

#[test]
fn an_applied_migration_unknown_to_this_build_is_said_instead_of_guessed() {
  let (conn, set) = migrated();
  conn
    .execute(
      "INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum) VALUES ('app', '007', 'later', '2026-01-01T00:00:00.000Z', 1, 'x')",
      [],
    )
    .unwrap();
  conn.execute_batch("CREATE TABLE made_by_007 (x)").unwrap();
  let found = drift(&conn, &set);
  assert_eq!(found.len(), 1, "{found:?}");
  assert!(found[0].contains("not compared") && found[0].contains("app 007"), "{found:?}");
}
