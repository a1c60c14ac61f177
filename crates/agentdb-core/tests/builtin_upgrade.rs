//! The library's first built-in upgrade, migration 003: it rebuilds the three tables with
//! CHECKs that cost no temporary b-tree per row and that check each column's type, keeps
//! every row and what an app added to the tables, refuses what it cannot keep, and its down
//! migration restores the schema of 002.

use agentdb_core::command::{Command, Kind};
use agentdb_core::connection::{open_writer, Location, OpenOptions};
use agentdb_core::error::ErrorCode;
use agentdb_core::migrations::migrator::{self, MigrateOptions, RollbackOptions, Target};
use agentdb_core::migrations::source::MigrationSet;
use rusqlite::Connection;

mod support;
use support::rows;

fn database() -> Connection {
  open_writer(&Location::Memory, &OpenOptions::default()).unwrap()
}

fn library(id: &str) -> Option<Target> {
  Some(Target { namespace: Some("agentdb".into()), id: id.into() })
}

fn migrate(conn: &mut Connection, set: &MigrationSet, to: Option<Target>) -> Vec<String> {
  let options = MigrateOptions { to, ..MigrateOptions::default() };
  let results = migrator::migrate(conn, set, &options, &mut |_| {}).unwrap();
  results.into_iter().map(|r| format!("{} {}", r.migration.namespace, r.migration.id)).collect()
}

fn run(conn: &Connection, kind: Kind, args: &str) {
  Command::decode(kind, args).unwrap().run(conn).unwrap();
}

/// Agents, sessions and a few logs with parents, then the last log deleted, so that the
/// AUTOINCREMENT high-water mark is above the largest id. Written with SQL, which the schema
/// of 002 takes as it is (the typed calls write the newest schema's columns).
fn seed(conn: &Connection) {
  run(
    conn,
    Kind::Execute,
    r#"{"sql":"INSERT INTO agents (id, name, model, max_steps, mcps) VALUES ('a1', 'Reviewer', 'm', 7, '[\"x\"]')"}"#,
  );
  run(
    conn,
    Kind::Execute,
    r#"{"sql":"INSERT INTO sessions (id, main_agent_id, model, status) VALUES ('s1', 'a1', 'o', 'running')"}"#,
  );
  for i in 0..5 {
    let parent = if i == 0 { "NULL".to_string() } else { i.to_string() };
    run(
      conn,
      Kind::Execute,
      &format!(
        r#"{{"sql":"INSERT INTO session_logs (session_id, parent_id, role, type, content) VALUES ('s1', {parent}, 'agent', 'message', '{{\"n\":{i}}}')"}}"#
      ),
    );
  }
  run(conn, Kind::Execute, r#"{"sql":"DELETE FROM session_logs WHERE id = 5"}"#);
}

/// The library's schema objects, with SQLite's quoting of a renamed table's name undone.
fn schema(conn: &Connection) -> Vec<(String, String, Option<String>)> {
  let mut stmt = conn
    .prepare(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> 'migrations' ORDER BY type, name",
    )
    .unwrap();
  let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?))).unwrap();
  rows
    .map(Result::unwrap)
    .map(|(kind, name, sql): (String, String, Option<String>)| {
      let sql = sql.map(|s| s.replacen(&format!("CREATE TABLE \"{name}\""), &format!("CREATE TABLE {name}"), 1));
      (kind, name, sql)
    })
    .collect()
}

fn check_clean(conn: &Connection) {
  let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(integrity, "ok");
  let violations: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
  assert_eq!(violations, 0);
  let enforced: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
  assert_eq!(enforced, 1);
}

#[test]
fn inserts_build_no_temporary_b_tree_and_raw_sql_cannot_store_a_wrong_type() {
  let mut conn = database();
  migrate(&mut conn, &MigrationSet::builtin(), None);
  for insert in [
    "INSERT INTO agents (id, name, model) VALUES ('a', 'n', 'm')",
    "INSERT INTO sessions (id, main_agent_id, status) VALUES ('s', 'a', 'idle')",
    "INSERT INTO session_logs (session_id, role, type, content) VALUES ('s', 'user', 'message', '1')",
  ] {
    let mut stmt = conn.prepare(&format!("EXPLAIN {insert}")).unwrap();
    let ops: Vec<String> = stmt.query_map([], |r| r.get(1)).unwrap().map(Result::unwrap).collect();
    assert!(!ops.iter().any(|op| op == "OpenEphemeral"), "{insert} builds a temporary b-tree");
  }
  seed(&conn);
  for bad in [
    "UPDATE agents SET max_steps = 'lots'",
    "UPDATE agents SET name = X'00'",
    "UPDATE agents SET mcps = 5",
    "UPDATE agents SET configuration = '[]'",
    "UPDATE sessions SET max_steps = 2.5",
    "UPDATE sessions SET sub_agent_ids = '{}'",
    "UPDATE session_logs SET content = X'7B7D'",
    "UPDATE session_logs SET role = 'robot'",
  ] {
    let err = conn.execute_batch(bad).unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{bad}: {err}");
  }
}

#[test]
fn the_upgrade_keeps_every_row_and_what_an_app_added_and_down_restores_002() {
  let mut conn = database();
  let set = MigrationSet::builtin();
  assert_eq!(migrate(&mut conn, &set, library("002")), ["agentdb 001", "agentdb 002"]);
  seed(&conn);
  // What an app's own migrations added to the library's tables while the library was at 002.
  conn
    .execute_batch(
      "CREATE INDEX app_agents_name ON agents (name);
       CREATE TRIGGER app_sessions_touch AFTER UPDATE OF status ON sessions BEGIN UPDATE sessions SET name = name WHERE id = NEW.id; END;
       CREATE VIEW app_running AS SELECT s.id, a.name FROM sessions s JOIN agents a ON a.id = s.main_agent_id WHERE s.status = 'running';",
    )
    .unwrap();
  let (rows_at_002, schema_at_002) = (rows(&conn), schema(&conn));

  assert_eq!(migrate(&mut conn, &set, library("003")), ["agentdb 003"]);
  check_clean(&conn);
  assert_eq!(rows(&conn), rows_at_002);
  let at_003 = schema(&conn);
  for name in ["app_agents_name", "app_sessions_touch", "app_running"] {
    assert!(at_003.iter().any(|(_, n, _)| n == name), "{name} was lost");
  }
  let running: Vec<String> =
    conn.prepare("SELECT name FROM app_running").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
  assert_eq!(running, ["Reviewer"]);
  // The high-water mark survived: a new log does not reuse the deleted log's id 5.
  run(
    &conn,
    Kind::Execute,
    r#"{"sql":"INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '\"after\"')"}"#,
  );
  let newest: i64 = conn.query_row("SELECT max(id) FROM session_logs", [], |r| r.get(0)).unwrap();
  assert_eq!(newest, 6);
  run(&conn, Kind::Execute, r#"{"sql":"DELETE FROM session_logs WHERE id = 6"}"#);

  let undone = migrator::rollback_to(&mut conn, &set, &library("002").unwrap(), &RollbackOptions::default()).unwrap();
  let undone: Vec<String> = undone.into_iter().map(|r| format!("{} {}", r.migration.namespace, r.migration.id)).collect();
  assert_eq!(undone, ["agentdb 003"]);
  check_clean(&conn);
  let mut expected_rows = rows_at_002.clone();
  for row in expected_rows.iter_mut().filter(|r| r.starts_with("sqlite_sequence: Text(\"session_logs\")")) {
    *row = row.replace("Integer(5)", "Integer(6)");
  }
  assert_eq!(rows(&conn), expected_rows);
  assert_eq!(schema(&conn), schema_at_002);
}

#[test]
fn the_upgrade_refuses_a_column_an_app_added_and_changes_nothing() {
  let mut conn = database();
  let set = MigrationSet::builtin();
  migrate(&mut conn, &set, library("002"));
  seed(&conn);
  conn.execute_batch("ALTER TABLE agents ADD COLUMN colour TEXT").unwrap();
  let before = (rows(&conn), schema(&conn));
  let options = MigrateOptions { to: library("003"), ..MigrateOptions::default() };
  let failure = migrator::migrate(&mut conn, &set, &options, &mut |_| {}).unwrap_err();
  assert_eq!(failure.error.code, ErrorCode::MigrationFailed);
  assert!(failure.error.message.contains("colour"), "{}", failure.error.message);
  assert_eq!((rows(&conn), schema(&conn)), before);
  check_clean(&conn);
}

#[test]
fn a_value_of_the_wrong_type_stops_the_upgrade_naming_the_column() {
  let mut conn = database();
  migrate(&mut conn, &MigrationSet::builtin(), library("002"));
  seed(&conn);
  conn.execute_batch("UPDATE agents SET max_steps = 'lots'").unwrap();
  let before = (rows(&conn), schema(&conn));
  let options = MigrateOptions { to: library("003"), ..MigrateOptions::default() };
  let failure = migrator::migrate(&mut conn, &MigrationSet::builtin(), &options, &mut |_| {}).unwrap_err();
  assert_eq!(failure.error.code, ErrorCode::MigrationFailed);
  assert!(failure.error.message.contains("max_steps"), "{}", failure.error.message);
  assert_eq!((rows(&conn), schema(&conn)), before);
}

/// The upgrade and its rollback on a file of a million logs: every row kept, integrity and
/// foreign keys clean. A stress run, not part of `cargo test`:
/// `cargo test --release -p agentdb-core --test builtin_upgrade -- --ignored --nocapture`.
#[test]
#[ignore]
fn the_upgrade_and_its_rollback_on_a_million_logs() {
  let dir = std::env::temp_dir().join(format!("agentdb-stress-{}", std::process::id()));
  std::fs::create_dir_all(&dir).unwrap();
  let path = dir.join("million.db");
  let mut conn = open_writer(&Location::File(path.clone()), &OpenOptions::default()).unwrap();
  let set = MigrationSet::builtin();
  migrate(&mut conn, &set, library("002"));
  seed(&conn);
  let started = std::time::Instant::now();
  conn
    .execute_batch(
      "BEGIN;
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
       INSERT INTO session_logs (session_id, parent_id, role, type, content)
       SELECT 's1', CASE WHEN i % 10 = 0 THEN NULL ELSE 1 END, 'agent', 'message', json_object('text', 'message ' || i) FROM n;
       COMMIT;",
    )
    .unwrap();
  let count = |conn: &Connection| -> i64 { conn.query_row("SELECT count(*) FROM session_logs", [], |r| r.get(0)).unwrap() };
  let logs = count(&conn);
  println!("seeded {logs} logs in {:.1} s", started.elapsed().as_secs_f64());
  let digest = |conn: &Connection| -> String {
    conn
      .query_row("SELECT sum(id), sum(length(content)), count(parent_id) FROM session_logs", [], |r| {
        Ok(format!("{:?} {:?} {:?}", r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
      })
      .unwrap()
  };
  let before = digest(&conn);
  let started = std::time::Instant::now();
  assert_eq!(migrate(&mut conn, &set, library("003")), ["agentdb 003"]);
  println!("003 up on {logs} logs: {:.1} s", started.elapsed().as_secs_f64());
  let started = std::time::Instant::now();
  check_clean(&conn);
  println!("integrity_check and foreign_key_check: {:.1} s", started.elapsed().as_secs_f64());
  assert_eq!((count(&conn), digest(&conn)), (logs, before.clone()));
  let started = std::time::Instant::now();
  migrator::rollback_to(&mut conn, &set, &library("002").unwrap(), &RollbackOptions::default()).unwrap();
  println!("003 down on {logs} logs: {:.1} s", started.elapsed().as_secs_f64());
  check_clean(&conn);
  assert_eq!((count(&conn), digest(&conn)), (logs, before));
  drop(conn);
  std::fs::remove_dir_all(&dir).unwrap();
}
