//! The built-in schema: CHECK constraints, defaults, timestamps, the parent-log trigger,
//! foreign keys and their cascades, on the writer connection the library opens.

use crate::error::{Error, ErrorCode};
use crate::migrations::source::MigrationSet;
use rusqlite::Connection;

use super::support::*;

fn migrated() -> (TempDir, Connection) {
  let dir = TempDir::new("schema");
  let mut conn = open(&dir.join("a.db"));
  migrate_all(&mut conn, &MigrationSet::builtin());
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm');
       INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1');",
    )
    .unwrap();
  (dir, conn)
}

/// The code of the error `sql` fails with.
fn refused(conn: &Connection, sql: &str) -> ErrorCode {
  let err: Error = conn.execute_batch(sql).expect_err(sql).into();
  err.code
}

fn count(conn: &Connection, table: &str) -> i64 {
  conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// For each enumerated column: its allowed values, and an INSERT template where `$v` is the
/// value (the row's id is made unique from the value).
const ENUMERATIONS: &[(&str, &[&str], &str)] = &[
  (
    "agents.type",
    &["claudeCode", "codex", "custom"],
    "INSERT INTO agents (id, name, model, type) VALUES ('t-$v', 'n', 'm', '$v')",
  ),
  (
    "agents.permission_mode",
    &["readOnly", "acceptEdits", "bypassPermissions"],
    "INSERT INTO agents (id, name, model, permission_mode) VALUES ('p-$v', 'n', 'm', '$v')",
  ),
  (
    "sessions.status",
    &["idle", "running", "completed", "failed", "stopped"],
    "INSERT INTO sessions (id, main_agent_id, status) VALUES ('st-$v', 'a1', '$v')",
  ),
  (
    "sessions.permission_mode",
    &["readOnly", "acceptEdits", "bypassPermissions"],
    "INSERT INTO sessions (id, main_agent_id, permission_mode) VALUES ('pm-$v', 'a1', '$v')",
  ),
  (
    "session_logs.role",
    &["user", "agent", "system", "tool"],
    "INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', '$v', 'message', '{}')",
  ),
  (
    "session_logs.type",
    &["message", "thought", "action", "observation"],
    "INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', '$v', '{}')",
  ),
];

#[test]
fn every_enumerated_column_accepts_its_values_and_nothing_else() {
  let (_dir, conn) = migrated();
  for (column, allowed, template) in ENUMERATIONS {
    for value in allowed.iter().copied() {
      conn.execute_batch(&template.replace("$v", value)).unwrap_or_else(|e| panic!("{column} = {value}: {e}"));
    }
    for bad in ["bogus", "", "READONLY"] {
      let sql = template.replace("$v", bad);
      assert_eq!(refused(&conn, &sql), ErrorCode::Constraint, "{column} = {bad:?}");
    }
  }
}

#[test]
fn json_and_count_columns_are_checked() {
  let (_dir, conn) = migrated();
  for sql in [
    "INSERT INTO agents (id, name, model, built_in_tools) VALUES ('x', 'n', 'm', 'not json')",
    "INSERT INTO agents (id, name, model, configuration) VALUES ('x', 'n', 'm', '{')",
    "INSERT INTO agents (id, name, model, max_steps) VALUES ('x', 'n', 'm', 0)",
    "INSERT INTO agents (id, name, model) VALUES ('', 'n', 'm')",
    "INSERT INTO sessions (id, main_agent_id, mcps) VALUES ('x', 'a1', '[')",
    "INSERT INTO sessions (id, main_agent_id, max_steps) VALUES ('x', 'a1', -1)",
    "INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', 'hi')",
    "INSERT INTO session_logs (session_id, role, type, content, metadata) VALUES ('s1', 'user', 'message', '{}', 'x')",
  ] {
    assert_eq!(refused(&conn, sql), ErrorCode::Constraint, "{sql}");
  }
}

#[test]
fn agents_get_the_reference_defaults_and_sessions_inherit_through_null() {
  let (_dir, conn) = migrated();
  let agent: (String, String, i64, String, String) = conn
    .query_row("SELECT type, permission_mode, max_steps, built_in_tools, configuration FROM agents WHERE id = 'a1'", [], |r| {
      Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap();
  assert_eq!(agent, ("custom".into(), "readOnly".into(), 10, "[]".into(), "{}".into()));
  let overrides = [
    "model",
    "plan_model",
    "small_model",
    "built_in_tools",
    "mcps",
    "knowledges",
    "configuration",
    "accessible_paths",
    "permission_mode",
    "max_steps",
  ];
  for column in overrides {
    let value: rusqlite::types::Value =
      conn.query_row(&format!("SELECT {column} FROM sessions WHERE id = 's1'"), [], |r| r.get(0)).unwrap();
    assert_eq!(value, rusqlite::types::Value::Null, "sessions.{column} must default to NULL (inherit from the agent)");
  }
  let (status, sub_agents): (String, String) =
    conn.query_row("SELECT status, sub_agent_ids FROM sessions WHERE id = 's1'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
  assert_eq!((status.as_str(), sub_agents.as_str()), ("idle", "[]"));
}

#[test]
fn timestamps_are_iso_8601_utc_with_milliseconds() {
  let (_dir, conn) = migrated();
  conn
    .execute_batch("INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}')")
    .unwrap();
  for table in ["agents", "sessions", "session_logs"] {
    let (created, updated): (String, String) =
      conn.query_row(&format!("SELECT created_at, updated_at FROM {table}"), [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(is_iso_millis(&created) && is_iso_millis(&updated), "{table}: {created} / {updated}");
  }
}

#[test]
fn a_log_parent_must_belong_to_the_same_session() {
  let (_dir, conn) = migrated();
  conn
    .execute_batch(
      "INSERT INTO sessions (id, main_agent_id) VALUES ('s2', 'a1');
       INSERT INTO session_logs (id, session_id, role, type, content) VALUES (1, 's1', 'user', 'message', '{}');
       INSERT INTO session_logs (id, session_id, role, type, content) VALUES (2, 's2', 'user', 'message', '{}');
       INSERT INTO session_logs (id, session_id, parent_id, role, type, content) VALUES (3, 's1', 1, 'agent', 'message', '{}');",
    )
    .unwrap();
  let insert = "INSERT INTO session_logs (session_id, parent_id, role, type, content) VALUES ('s2', 1, 'agent', 'message', '{}')";
  assert_eq!(refused(&conn, insert), ErrorCode::Constraint);
  let err: Error = conn.execute_batch(insert).unwrap_err().into();
  assert!(err.message.contains("same session"), "{err}");
  assert_eq!(refused(&conn, "UPDATE session_logs SET parent_id = 2 WHERE id = 3"), ErrorCode::Constraint);
  assert_eq!(refused(&conn, "UPDATE session_logs SET session_id = 's2' WHERE id = 3"), ErrorCode::Constraint);
  assert_eq!(
    refused(
      &conn,
      "INSERT INTO session_logs (session_id, parent_id, role, type, content) VALUES ('s1', 99, 'agent', 'message', '{}')"
    ),
    ErrorCode::Constraint,
    "a parent that does not exist"
  );
  assert_eq!(count(&conn, "session_logs"), 3);
}

#[test]
fn foreign_keys_are_enforced_and_deletes_cascade() {
  let (_dir, conn) = migrated();
  assert_eq!(refused(&conn, "INSERT INTO sessions (id, main_agent_id) VALUES ('s9', 'nobody')"), ErrorCode::Constraint);
  assert_eq!(
    refused(&conn, "INSERT INTO session_logs (session_id, role, type, content) VALUES ('nowhere', 'user', 'message', '{}')"),
    ErrorCode::Constraint
  );
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a2', 'Other', 'm');
       INSERT INTO sessions (id, main_agent_id) VALUES ('s2', 'a1'), ('s3', 'a2');
       INSERT INTO session_logs (id, session_id, role, type, content) VALUES (1, 's1', 'user', 'message', '{}');
       INSERT INTO session_logs (id, session_id, parent_id, role, type, content) VALUES (2, 's1', 1, 'agent', 'message', '{}');
       INSERT INTO session_logs (id, session_id, parent_id, role, type, content) VALUES (3, 's1', 2, 'tool', 'observation', '{}');
       INSERT INTO session_logs (id, session_id, role, type, content) VALUES (4, 's2', 'user', 'message', '{}');
       INSERT INTO session_logs (id, session_id, role, type, content) VALUES (5, 's3', 'user', 'message', '{}');",
    )
    .unwrap();
  conn.execute_batch("DELETE FROM session_logs WHERE id = 2").unwrap();
  let left: Vec<i64> = conn
    .prepare("SELECT id FROM session_logs ORDER BY id")
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .map(Result::unwrap)
    .collect();
  assert_eq!(left, [1, 4, 5], "deleting a log deletes its descendants");

  conn.execute_batch("DELETE FROM agents WHERE id = 'a1'").unwrap();
  let sessions: Vec<String> =
    conn.prepare("SELECT id FROM sessions").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
  assert_eq!(sessions, ["s3"], "deleting an agent deletes its sessions");
  let logs: Vec<i64> =
    conn.prepare("SELECT id FROM session_logs").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
  assert_eq!(logs, [5], "and their logs");
}

#[test]
fn every_foreign_key_has_an_index_that_leads_with_it() {
  let (_dir, conn) = migrated();
  let mut checked = 0;
  for table in ["agents", "sessions", "session_logs"] {
    let keys: Vec<String> = conn
      .prepare(&format!("SELECT \"from\" FROM pragma_foreign_key_list('{table}')"))
      .unwrap()
      .query_map([], |r| r.get(0))
      .unwrap()
      .map(Result::unwrap)
      .collect();
    for column in keys {
      let indexed: bool = conn
        .query_row(
          &format!("SELECT count(*) FROM pragma_index_list('{table}') AS l, pragma_index_info(l.name) AS i WHERE i.seqno = 0 AND i.name = ?1"),
          [&column],
          |r| r.get(0),
        )
        .unwrap();
      assert!(indexed, "{table}.{column} has no index");
      checked += 1;
    }
  }
  assert_eq!(checked, 3, "sessions.main_agent_id, session_logs.session_id, session_logs.parent_id");
}
