//! Migrations that switch foreign-key enforcement off to rebuild a table (SQLite's 12-step
//! ALTER TABLE procedure).

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions};
use crate::migrations::source::{AppMigration, Migration, MigrationSet, APP, BUILTIN};
use rusqlite::Connection;

use super::support::*;

const AGENT_COLUMNS: &str = "id, type, name, description, avatar, instructions, model, plan_model, small_model, built_in_tools, \
  mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at";

/// The built-in `CREATE TABLE agents` statement under another name, optionally with one more
/// column.
fn agents_table(name: &str, extra_column: Option<&str>) -> String {
  let up = BUILTIN[0].up;
  let start = up.find("CREATE TABLE agents (").unwrap();
  let end = start + up[start..].find("\n);").unwrap();
  let body = &up[start + "CREATE TABLE agents (".len()..end];
  match extra_column {
    Some(column) => format!("CREATE TABLE {name} ({body},\n  {column}\n)"),
    None => format!("CREATE TABLE {name} ({body}\n)"),
  }
}

/// Rebuilds `agents` as `target` (its `CREATE TABLE` under the name `temp_name`), copying
/// the rows `filter` selects, then restores its indexes.
fn rebuild(temp_name: &str, target: String, filter: &str) -> String {
  format!(
    "{target};
     INSERT INTO {temp_name} ({AGENT_COLUMNS}) SELECT {AGENT_COLUMNS} FROM agents {filter};
     DROP TABLE agents;
     ALTER TABLE {temp_name} RENAME TO agents;
     CREATE INDEX idx_agents_created ON agents (created_at, id);
     CREATE INDEX idx_agents_type_created ON agents (type, created_at, id);"
  )
}

/// 003: adds `archived` to `agents` by rebuilding it, keeping the rows `filter` selects; its
/// down SQL rebuilds the table without the column, keeping the rows `down_filter` selects.
fn rebuild_migration(filter: &str, down_filter: &str) -> Migration {
  Migration::from_app(AppMigration {
    id: "003".into(),
    description: "add agents.archived by rebuilding agents".into(),
    up: vec![rebuild("agents_new", agents_table("agents_new", Some("archived INTEGER NOT NULL DEFAULT 0")), filter)],
    down: Some(vec![rebuild("agents_old", agents_table("agents_old", None), down_filter)]),
    foreign_keys_off: true,
    ..AppMigration::default()
  })
  .unwrap()
}

/// A migrated database with two agents, a session each and a log in each session.
fn populated() -> Connection {
  let mut conn = memory();
  migrate_all(&mut conn, &MigrationSet::builtin());
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a1', 'one', 'm'), ('a2', 'two', 'm');
       INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1'), ('s2', 'a2');
       INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}'), ('s2', 'user', 'message', '{}');",
    )
    .unwrap();
  conn
}

fn count(conn: &Connection, table: &str) -> i64 {
  conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

fn foreign_keys_on(conn: &Connection) -> bool {
  conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap()
}

fn violations(conn: &Connection) -> usize {
  conn.prepare("PRAGMA foreign_key_check").unwrap().query_map([], |_| Ok(())).unwrap().count()
}

fn has_column(conn: &Connection, table: &str, column: &str) -> bool {
  conn.query_row(&format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?1"), [column], |r| r.get(0)).unwrap()
}

#[test]
fn a_clean_rebuild_commits_and_keeps_every_child_row() {
  let mut conn = populated();
  let set = set_with(vec![rebuild_migration("", "")]);
  assert_eq!(ids(&migrate_all(&mut conn, &set)), ["003"]);
  assert!(foreign_keys_on(&conn));
  assert!(has_column(&conn, "agents", "archived"));
  let row = row_of(&conn, APP, "003");
  assert_eq!(cell(&row, "foreign_keys_off"), Some("1"), "the switch is recorded for builds that do not know 003");
  assert_eq!((count(&conn, "agents"), count(&conn, "sessions"), count(&conn, "session_logs")), (2, 2, 2));
  assert_eq!(violations(&conn), 0);
  conn.execute_batch("DELETE FROM agents WHERE id = 'a1'").unwrap();
  assert_eq!((count(&conn, "sessions"), count(&conn, "session_logs")), (1, 1), "sessions still cascade from the rebuilt table");
}

#[test]
fn a_rebuild_that_leaves_new_violations_is_rolled_back() {
  let mut conn = populated();
  let before = (schema(&conn), tracking_rows(&conn));
  let set = set_with(vec![rebuild_migration("WHERE id <> 'a2'", "")]);
  let failed = failure(migrate(&mut conn, &set, &MigrateOptions::default()));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(
    failed.error.message.contains("foreign key violations") && failed.error.message.contains("sessions"),
    "{}",
    failed.error.message
  );
  assert!(foreign_keys_on(&conn), "enforcement is switched back on after the failure");
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
  assert_eq!((count(&conn, "agents"), count(&conn, "sessions")), (2, 2));
}

#[test]
fn violations_that_were_there_before_do_not_fail_the_rebuild() {
  let mut conn = populated();
  conn
    .execute_batch(
      "PRAGMA foreign_keys = OFF; INSERT INTO sessions (id, main_agent_id) VALUES ('orphan', 'ghost'); PRAGMA foreign_keys = ON;",
    )
    .unwrap();
  assert_eq!(violations(&conn), 1);
  assert_eq!(ids(&migrate_all(&mut conn, &set_with(vec![rebuild_migration("", "")]))), ["003"]);
  assert_eq!(violations(&conn), 1);
}

#[test]
fn rolling_back_a_rebuild_keeps_child_rows_even_in_a_build_that_does_not_know_it() {
  for knows_it in [true, false] {
    let mut conn = populated();
    let set = set_with(vec![rebuild_migration("", "")]);
    migrate_all(&mut conn, &set);
    let rollback_set = if knows_it { set } else { MigrationSet::builtin() };
    // A build that does not know 003 can only run the down SQL recorded in the file, which
    // it does only when asked to.
    let options = if knows_it { BUILD_SQL_ONLY } else { RECORDED_SQL_ALLOWED };
    let undone = migrator::rollback_last(&mut conn, &rollback_set, &options).unwrap().unwrap();
    assert_eq!(undone.migration.id, "003");
    assert!(!has_column(&conn, "agents", "archived"));
    assert!(foreign_keys_on(&conn));
    assert_eq!(
      (count(&conn, "agents"), count(&conn, "sessions"), count(&conn, "session_logs")),
      (2, 2, 2),
      "dropping the old agents table must not cascade (build knows the migration: {knows_it})"
    );
  }
}

#[test]
fn a_rebuild_rollback_that_leaves_new_violations_is_rolled_back() {
  let mut conn = populated();
  let set = set_with(vec![rebuild_migration("", "WHERE id <> 'a2'")]);
  migrate_all(&mut conn, &set);
  let before = (schema(&conn), tracking_rows(&conn));
  let failed = failure(migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY));
  assert_eq!(failed.error.code, ErrorCode::MigrationFailed);
  assert!(failed.error.message.contains("foreign key violations"), "{}", failed.error.message);
  assert!(foreign_keys_on(&conn));
  assert_eq!((schema(&conn), tracking_rows(&conn)), before, "003 is still applied");
  assert_eq!((count(&conn, "agents"), count(&conn, "sessions")), (2, 2));
}
