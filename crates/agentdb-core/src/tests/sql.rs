//! `query` and `execute` against the real schema: parameters, values of every SQL type,
//! injection strings, and what they refuse (schema changes included, which belong in
//! migrations).

use rusqlite::types::Value;

use super::support::{agent, code, db, model, snapshot, text as model_text};
use crate::agents::{self, NewAgent};
use crate::command::Command;
use crate::error::ErrorCode;
use crate::settings::Field;
use crate::sql::{execute, query, Params};
use crate::trash::Trash;

const INJECTIONS: [&str; 4] = [
  "'); DROP TABLE agents; --",
  "Robert'); DELETE FROM sessions WHERE ('1'='1",
  "\" OR 1=1 --",
  "x' || (SELECT sql FROM sqlite_master) || '",
];

#[test]
fn injection_strings_are_stored_and_returned_verbatim() {
  let conn = db();
  for (i, text) in INJECTIONS.iter().enumerate() {
    let id = format!("{text}{i}");
    let created = agents::create(
      &conn,
      &NewAgent { id: Some(id.clone()), name: text.to_string(), settings: model(text), ..Default::default() },
    )
    .unwrap();
    assert_eq!((created.id.as_str(), created.name.as_str()), (id.as_str(), *text));
    assert_eq!(agents::get(&conn, &id, Trash::Exclude).unwrap().unwrap().settings[Field::Model], Some(model_text(text)));
    let rows =
      query(&conn, "SELECT name FROM agents WHERE id = :id", &Params::Named(vec![("id".into(), id.clone().into())])).unwrap();
    assert_eq!(rows.rows, [[Value::Text(text.to_string())]]);
    execute(
      &conn,
      "UPDATE agents SET description = ?1 WHERE id = ?2",
      &Params::Positional(vec![text.to_string().into(), id.into()]),
    )
    .unwrap();
  }
  let names = query(&conn, "SELECT count(*) FROM agents WHERE description = name", &Params::Positional(vec![])).unwrap();
  assert_eq!(names.rows, [[Value::Integer(INJECTIONS.len() as i64)]]);
}

#[test]
fn every_sql_type_round_trips_through_parameters() {
  let conn = db();
  let values = vec![
    Value::Null,
    Value::Integer(i64::MIN),
    Value::Integer(i64::MAX),
    Value::Real(-0.25),
    Value::Text("é🦀\0".into()),
    Value::Blob(vec![0, 255, 1]),
  ];
  let rows = query(&conn, "SELECT ?, ?, ?, ?, ?, ?", &Params::Positional(values.clone())).unwrap();
  assert_eq!(rows.rows, [values]);
  assert_eq!(rows.columns.len(), 6);
  let named = Params::Named(vec![("a".into(), 1.into()), ("b".into(), 2.into()), ("c".into(), 3.into())]);
  let rows = query(&conn, "SELECT :a AS a, @b AS b, $c AS c, :a + $c AS sum", &named).unwrap();
  assert_eq!(
    (rows.columns.as_slice(), rows.rows[0][3].clone()),
    (&["a", "b", "c", "sum"].map(String::from)[..], Value::Integer(4))
  );
}

#[test]
fn execute_reports_changes_and_the_last_rowid() {
  let conn = db();
  let a = agent(&conn, "A");
  let none = Params::Positional(vec![]);
  execute(&conn, "INSERT INTO sessions (id, main_agent_id) VALUES ('s', ?)", &Params::Positional(vec![a.id.clone().into()]))
    .unwrap();
  let insert = "INSERT INTO session_logs (session_id, role, type, content) VALUES ('s', 'user', 'message', '1'), ('s', 'user', 'message', '2')";
  let added = execute(&conn, insert, &none).unwrap();
  assert_eq!(added.changes, 2);
  let last: i64 = conn.query_row("SELECT max(id) FROM session_logs", [], |r| r.get(0)).unwrap();
  assert_eq!(added.last_insert_rowid, last);
  assert_eq!(execute(&conn, "DELETE FROM session_logs WHERE content = '1'", &none).unwrap().changes, 1);
  // A statement that changes no rows reports none, though SQLite still holds the last count.
  assert_eq!(execute(&conn, "REINDEX", &none).unwrap().changes, 0);
  // Foreign keys and CHECKs hold for raw SQL too.
  assert_eq!(
    code(execute(&conn, "INSERT INTO sessions (id, main_agent_id) VALUES ('t', 'ghost')", &none)),
    ErrorCode::Constraint
  );
  assert_eq!(code(execute(&conn, "UPDATE agents SET type = 'robot'", &none)), ErrorCode::Constraint);
}

#[test]
fn refused_statements_change_nothing() {
  let conn = db();
  agent(&conn, "A");
  let before = snapshot(&conn);
  let none = Params::Positional(vec![]);
  for sql in ["DELETE FROM agents", "INSERT INTO agents (id, name, model) VALUES ('x', 'n', 'm')"] {
    assert_eq!(code(query(&conn, sql, &none)), ErrorCode::InvalidArgument, "{sql}");
  }
  for sql in ["SELECT 1; DELETE FROM agents", "DELETE FROM agents; SELECT 1"] {
    assert_eq!(code(query(&conn, sql, &none)), ErrorCode::SqlError, "{sql}");
    assert_eq!(code(execute(&conn, sql, &none)), ErrorCode::SqlError, "{sql}");
  }
  for sql in ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT x", "RELEASE x", "END", "PRAGMA foreign_keys = 0", "DETACH main"] {
    assert_eq!(code(execute(&conn, sql, &none)), ErrorCode::InvalidArgument, "{sql}");
    assert_eq!(code(query(&conn, sql, &none)), ErrorCode::InvalidArgument, "{sql}");
  }
  assert_eq!(code(execute(&conn, "DELETE FROM agents WHERE id = ?", &Params::Positional(vec![]))), ErrorCode::InvalidArgument);
  assert_eq!(
    code(execute(&conn, "DELETE FROM agents WHERE id = :id", &Params::Named(vec![("other".into(), Value::Null)]))),
    ErrorCode::InvalidArgument
  );
  assert_eq!(code(execute(&conn, "DELETE FROM agents WHERE id = ?", &Params::Named(vec![]))), ErrorCode::InvalidArgument);
  assert_eq!(snapshot(&conn), before);
  assert!(conn.is_autocommit());
  let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
  assert_eq!(fk, 1);
}

/// Every schema object, TEMP ones included.
fn schema(conn: &rusqlite::Connection) -> Vec<(String, String, Option<String>)> {
  let sql = "SELECT type, name, sql FROM sqlite_master UNION ALL SELECT type, name, sql FROM sqlite_temp_master ORDER BY 1, 2";
  let mut stmt = conn.prepare(sql).unwrap();
  stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn schema_changes_are_refused_through_query_execute_and_batch() {
  let conn = db();
  agent(&conn, "A");
  let before = (schema(&conn), snapshot(&conn));
  let none = Params::Positional(vec![]);
  for sql in [
    "DROP TABLE agents",
    "CREATE TABLE x (y)",
    "CREATE TABLE IF NOT EXISTS agents (id)",
    "CREATE INDEX idx_agents_name ON agents (name)",
    "DROP INDEX idx_agents_type_seq",
    "DROP TRIGGER session_logs_parent_same_session_insert",
    "CREATE TEMP TABLE agents (id TEXT PRIMARY KEY)",
    "CREATE TABLE temp.shadow (x)",
    "CREATE TEMP TRIGGER spy AFTER INSERT ON agents BEGIN SELECT 1; END",
    "CREATE VIEW v AS SELECT id FROM agents",
    "CREATE TEMP VIEW v AS SELECT 1",
    "ALTER TABLE agents ADD COLUMN extra TEXT",
    "ALTER TABLE agents RENAME TO robots",
    "CREATE VIRTUAL TABLE notes USING fts5(body)",
  ] {
    let err = query(&conn, sql, &none).unwrap_err();
    assert_eq!(err.code, ErrorCode::SchemaChangeRefused, "query {sql}: {err}");
    assert!(err.message.contains("addMigration"), "{err}");
    assert_eq!(code(execute(&conn, sql, &none)), ErrorCode::SchemaChangeRefused, "execute {sql}");
    let batch = Command::Batch(vec![
      Command::Execute("DELETE FROM agents".into(), none.clone()).into(),
      Command::Execute(sql.into(), none.clone()).into(),
    ]);
    let tx = conn.unchecked_transaction().unwrap();
    let err = batch.run(&tx).unwrap_err();
    drop(tx);
    assert_eq!(err.code, ErrorCode::SchemaChangeRefused, "batch {sql}: {err}");
    assert!(err.message.starts_with("operations[1]: "), "{err}");
  }
  assert_eq!((schema(&conn), snapshot(&conn)), before);
  // ANALYZE (which creates its statistics table the first time) and REINDEX change no
  // schema object of the app's.
  execute(&conn, "ANALYZE", &none).unwrap();
  execute(&conn, "REINDEX idx_agents_type_seq", &none).unwrap();
  assert_eq!(snapshot(&conn), before.1);
}

#[test]
fn a_cached_select_star_reads_the_columns_a_schema_change_left() {
  let conn = db();
  conn.execute_batch("CREATE TABLE app_wide (a, b, c); INSERT INTO app_wide VALUES (1, 2, 3);").unwrap();
  let none = Params::Positional(vec![]);
  assert_eq!(query(&conn, "SELECT * FROM app_wide", &none).unwrap().columns, ["a", "b", "c"]);
  // The schema changes (as a migration or another process changes it): SQLite prepares the
  // cached statement again when it next runs, with the new columns.
  conn.execute_batch("ALTER TABLE app_wide DROP COLUMN c").unwrap();
  let rows = query(&conn, "SELECT * FROM app_wide", &none).unwrap();
  assert_eq!(
    (rows.columns, rows.rows),
    (vec!["a".to_string(), "b".to_string()], vec![vec![Value::Integer(1), Value::Integer(2)]])
  );
  conn.execute_batch("ALTER TABLE app_wide ADD COLUMN d; DELETE FROM app_wide;").unwrap();
  assert_eq!(query(&conn, "SELECT * FROM app_wide", &none).unwrap().columns, ["a", "b", "d"]);
}

#[test]
fn the_migrations_tracking_table_is_read_only_to_app_sql() {
  let conn = db();
  let tracked = |conn: &rusqlite::Connection| -> Vec<(String, String, String)> {
    let mut stmt = conn.prepare("SELECT namespace, id, checksum FROM migrations ORDER BY rowid").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
  };
  let before = tracked(&conn);
  let none = Params::Positional(vec![]);
  for sql in [
    "DELETE FROM migrations",
    "DELETE FROM main.Migrations WHERE id = '003'",
    "UPDATE migrations SET checksum = 'x'",
    "INSERT INTO migrations (namespace, id, description, applied_at, execution_time, checksum) VALUES ('app', '9', 'd', 'now', 0, 'c')",
    "REPLACE INTO migrations SELECT * FROM migrations",
    "WITH gone AS (SELECT 1) DELETE FROM migrations",
  ] {
    let err = execute(&conn, sql, &none).unwrap_err();
    assert_eq!(err.code, ErrorCode::SchemaChangeRefused, "execute {sql}: {err}");
    assert!(err.message.contains("tracking table"), "{err}");
    assert_eq!(code(query(&conn, sql, &none)), ErrorCode::SchemaChangeRefused, "query {sql}");
  }
  assert_eq!(tracked(&conn), before);
  // Reading it stays allowed.
  query(&conn, "SELECT count(*) AS n FROM migrations", &none).unwrap();
}
