//! `query` and `execute` against the real schema: parameters, values of every SQL type,
//! injection strings, and what they refuse.

use rusqlite::types::Value;

use super::support::{agent, code, db, model, snapshot, text as model_text};
use crate::agents::{self, NewAgent};
use crate::error::ErrorCode;
use crate::settings::Field;
use crate::sql::{execute, query, Params};

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
    assert_eq!(agents::get(&conn, &id).unwrap().unwrap().settings[Field::Model], Some(model_text(text)));
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
  assert_eq!(execute(&conn, "CREATE INDEX app_index ON session_logs (role)", &none).unwrap().changes, 0);
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
  for sql in ["DELETE FROM agents", "INSERT INTO agents (id, name, model) VALUES ('x', 'n', 'm')", "DROP TABLE agents"] {
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
