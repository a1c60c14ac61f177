//! The conversations migrations: each adds columns and tables without rebuilding any, keeps
//! every row, and its down migration restores the schema before it exactly. Their ids are
//! [`CONVERSATIONS`] and [`CHECKPOINTS`], the one place each is named; the migration before
//! each is read from the list of built-in migrations.

use agentdb_core::connection::{open_writer, Location, OpenOptions};
use agentdb_core::migrations::migrator::{self, MigrateOptions, RollbackOptions, Target};
use agentdb_core::migrations::source::MigrationSet;
use rusqlite::Connection;

mod support;
use support::rows;

/// The id of the conversations migration (statuses, last activity, forks).
const CONVERSATIONS: &str = "006";

/// The id of the compaction checkpoints migration.
const CHECKPOINTS: &str = "007";

fn library(id: &str) -> Target {
  Target { namespace: Some("agentdb".into()), id: id.into() }
}

/// The id of the built-in migration just before migration `id`.
fn previous(set: &MigrationSet, id: &str) -> String {
  let ids: Vec<String> = set.iter().filter(|m| m.namespace == "agentdb").map(|m| m.id.clone()).collect();
  let at = ids.iter().position(|known| known == id).unwrap_or_else(|| panic!("migration {id} is built in"));
  ids[at - 1].clone()
}

fn schema(conn: &Connection) -> Vec<(String, String, Option<String>)> {
  let mut stmt =
    conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE name <> 'migrations' ORDER BY type, name").unwrap();
  stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn the_migration_keeps_every_row_and_its_down_restores_the_schema_before_it() {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  let set = MigrationSet::builtin();
  let before = previous(&set, CONVERSATIONS);
  let options = MigrateOptions { to: Some(library(&before)), ..MigrateOptions::default() };
  migrator::migrate(&mut conn, &set, &options, &mut |_| {}).unwrap();
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a1', 'A', 'm');
       INSERT INTO sessions (id, main_agent_id, created_at, updated_at) VALUES ('s1', 'a1', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
       INSERT INTO session_logs (session_id, role, type, content, created_at, updated_at) VALUES ('s1', 'user', 'message', '{\"text\":\"hi\"}', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z');
       INSERT INTO session_logs (session_id, parent_id, role, type, content) VALUES ('s1', 1, 'agent', 'message', '\"yes\"');",
    )
    .unwrap();
  let (rows_before, schema_before) = (rows(&conn), schema(&conn));

  let applied =
    migrator::migrate(&mut conn, &set, &MigrateOptions { to: Some(library(CONVERSATIONS)), ..Default::default() }, &mut |_| {})
      .unwrap();
  assert_eq!(applied.iter().map(|r| r.migration.id.as_str()).collect::<Vec<_>>(), [CONVERSATIONS]);
  let statuses: Vec<String> = conn
    .prepare("SELECT status FROM session_logs ORDER BY id")
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .map(Result::unwrap)
    .collect();
  assert_eq!(statuses, ["complete", "complete"]);
  // A session's last activity starts from its newest log.
  let newest_log: String = conn.query_row("SELECT max(updated_at) FROM session_logs", [], |r| r.get(0)).unwrap();
  let activity: String = conn.query_row("SELECT last_activity_at FROM sessions", [], |r| r.get(0)).unwrap();
  assert_eq!(activity, newest_log);
  let violations: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
  assert_eq!(violations, 0);

  migrator::rollback_to(&mut conn, &set, &library(&before), &RollbackOptions::default()).unwrap();
  assert_eq!(rows(&conn), rows_before);
  assert_eq!(schema(&conn), schema_before);
  let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(integrity, "ok");
}

#[test]
fn the_checkpoints_migration_keeps_every_row_and_its_down_restores_the_schema_before_it() {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  let set = MigrationSet::builtin();
  let before = previous(&set, CHECKPOINTS);
  let options = MigrateOptions { to: Some(library(&before)), ..MigrateOptions::default() };
  migrator::migrate(&mut conn, &set, &options, &mut |_| {}).unwrap();
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a1', 'A', 'm');
       INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1');
       INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{\"text\":\"hi\"}');",
    )
    .unwrap();
  let (rows_before, schema_before) = (rows(&conn), schema(&conn));

  let applied =
    migrator::migrate(&mut conn, &set, &MigrateOptions { to: Some(library(CHECKPOINTS)), ..Default::default() }, &mut |_| {})
      .unwrap();
  assert_eq!(applied.iter().map(|r| r.migration.id.as_str()).collect::<Vec<_>>(), [CHECKPOINTS]);
  assert_eq!(rows(&conn), rows_before);
  // The table takes a checkpoint of an existing entry, and its CHECKs refuse a negative count
  // and one a JavaScript number does not hold exactly.
  conn.execute_batch("INSERT INTO session_checkpoints (session_id, through_log_id, summary) VALUES ('s1', 1, 'S')").unwrap();
  for bad in ["covered_tokens = -1", "summary_tokens = 9007199254740992", "covered_tokens = 1.5"] {
    let err = conn.execute_batch(&format!("UPDATE session_checkpoints SET {bad}")).unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{bad}: {err}");
  }

  migrator::rollback_to(&mut conn, &set, &library(&before), &RollbackOptions::default()).unwrap();
  assert_eq!(rows(&conn), rows_before);
  assert_eq!(schema(&conn), schema_before);
  let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(integrity, "ok");
}
