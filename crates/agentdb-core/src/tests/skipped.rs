//! Writes that SQLite skips without an error: a trigger's `RAISE(IGNORE)` drops the row it
//! fires for. Every typed write must see that nothing was written and say so, instead of
//! resolving with another row's id or reporting a missing row.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{agent, db, log, read, session, snapshot};
use crate::command::{Kind, Outcome};
use crate::error::{Error, Result};

/// Agent `a1` with session `s1` holding one log, session `s2` with none, and `triggers`.
fn setup(triggers: &str) -> (Connection, i64) {
  let conn = db();
  let a1 = agent(&conn, "A");
  conn.execute_batch(&format!("UPDATE agents SET id = 'a1' WHERE id = '{}'", a1.id)).unwrap();
  for id in ["s1", "s2"] {
    let s = session(&conn, "a1");
    conn.execute_batch(&format!("UPDATE sessions SET id = '{id}' WHERE id = '{}'", s.id)).unwrap();
  }
  let first = log(&conn, "s1", None);
  conn.execute_batch(triggers).unwrap();
  (conn, first.id)
}

/// Runs the command of `kind` read from `args` inside a savepoint, as the writer runs it,
/// rolling it back when it fails.
fn run(conn: &Connection, kind: Kind, args: Value) -> Result<Outcome> {
  conn.execute_batch("SAVEPOINT call").unwrap();
  let outcome = read(kind, &args).run(conn);
  let end = if outcome.is_ok() { "RELEASE call" } else { "ROLLBACK TO call; RELEASE call" };
  conn.execute_batch(end).unwrap();
  outcome
}

/// Checks that `outcome` is the refusal of a skipped write to `table`.
fn not_written(outcome: Result<Outcome>, table: &str) -> Error {
  let err = match outcome {
    Err(err) => err,
    Ok(outcome) => panic!("resolved with {}", serde_json::to_string(&outcome).unwrap()),
  };
  assert_eq!(err.code.as_str(), "NOT_WRITTEN", "{err}");
  assert!(err.message.contains(table), "the message names {table}: {err}");
  assert!(err.message.contains("trigger or conflict clause"), "{err}");
  err
}

const IGNORE: &str = "BEGIN SELECT RAISE(IGNORE); END;";

#[test]
fn a_skipped_insert_of_a_log_is_refused_and_names_no_other_row() {
  let (conn, first) = setup(&format!("CREATE TRIGGER skip BEFORE INSERT ON session_logs WHEN NEW.session_id = 's2' {IGNORE}"));
  let input = json!({ "sessionId": "s2", "role": "user", "type": "message", "content": "lost" });
  let err = not_written(run(&conn, Kind::AddLog, json!({ "input": input })), "session_logs");
  assert!(!err.message.contains(&first.to_string()), "{err}");
  let before = snapshot(&conn);
  let inputs = json!([{ "sessionId": "s1", "role": "user", "type": "message", "content": 1 }, input]);
  let err = not_written(run(&conn, Kind::AddLogs, json!({ "inputs": inputs })), "session_logs");
  assert!(err.message.starts_with("logs[1]"), "the message names the entry: {err}");
  assert_eq!(snapshot(&conn), before, "addLogs wrote nothing");
  // A write the trigger lets through still resolves with its own row.
  let Outcome::Log(added) =
    run(&conn, Kind::AddLog, json!({ "input": { "sessionId": "s1", "role": "user", "type": "message", "content": 2 } })).unwrap()
  else {
    panic!("addLog gave another outcome")
  };
  let stored: String = conn.query_row("SELECT content FROM session_logs WHERE id = ?1", [added.id], |r| r.get(0)).unwrap();
  assert_eq!(stored, "2");
}

#[test]
fn a_skipped_update_of_a_log_is_refused_and_not_reported_missing() {
  let (conn, first) = setup(&format!("CREATE TRIGGER freeze BEFORE UPDATE ON session_logs {IGNORE}"));
  not_written(run(&conn, Kind::UpdateLog, json!({ "id": first, "patch": { "content": "changed" } })), "session_logs");
  let missing = run(&conn, Kind::UpdateLog, json!({ "id": first + 100, "patch": { "content": "x" } })).unwrap_err();
  assert_eq!(missing.code.as_str(), "NOT_FOUND", "{missing}");
}

#[test]
fn a_skipped_delete_of_logs_is_refused() {
  let (conn, first) = setup("");
  log(&conn, "s1", Some(first));
  let kept = log(&conn, "s1", None);
  conn.execute_batch(&format!("CREATE TRIGGER keep BEFORE DELETE ON session_logs WHEN OLD.id = {} {IGNORE}", kept.id)).unwrap();
  let before = snapshot(&conn);
  not_written(run(&conn, Kind::DeleteLogs, json!({ "sessionId": "s1" })), "session_logs");
  assert_eq!(snapshot(&conn), before);
  assert!(matches!(run(&conn, Kind::DeleteLogs, json!({ "sessionId": "s2" })), Ok(Outcome::Count(0))));
}

#[test]
fn skipped_writes_of_agents_are_refused() {
  let (conn, _) = setup(&format!(
    "CREATE TRIGGER skip_insert BEFORE INSERT ON agents WHEN NEW.name = 'skipped' {IGNORE}
     CREATE TRIGGER skip_update BEFORE UPDATE ON agents WHEN NEW.name = 'frozen' {IGNORE}
     CREATE TRIGGER skip_delete BEFORE DELETE ON agents {IGNORE}"
  ));
  not_written(run(&conn, Kind::CreateAgent, json!({ "input": { "name": "skipped", "model": "m" } })), "agents");
  not_written(run(&conn, Kind::CreateAgent, json!({ "input": { "id": "given", "name": "skipped", "model": "m" } })), "agents");
  not_written(run(&conn, Kind::UpdateAgent, json!({ "id": "a1", "patch": { "name": "frozen" } })), "agents");
  let missing = run(&conn, Kind::UpdateAgent, json!({ "id": "nobody", "patch": { "name": "frozen" } })).unwrap_err();
  assert_eq!(missing.code.as_str(), "NOT_FOUND", "{missing}");
  not_written(run(&conn, Kind::DeleteAgent, json!({ "id": "a1" })), "agents");
  assert!(matches!(run(&conn, Kind::DeleteAgent, json!({ "id": "nobody" })), Ok(Outcome::Deleted(false))));
}

#[test]
fn skipped_writes_of_sessions_are_refused() {
  let (conn, _) = setup(&format!(
    "CREATE TRIGGER skip_insert BEFORE INSERT ON sessions WHEN NEW.name = 'skipped' {IGNORE}
     CREATE TRIGGER skip_update BEFORE UPDATE ON sessions WHEN NEW.status = 'failed' OR NEW.name = 'frozen' {IGNORE}
     CREATE TRIGGER skip_delete BEFORE DELETE ON sessions WHEN OLD.id = 's2' {IGNORE}"
  ));
  not_written(run(&conn, Kind::CreateSession, json!({ "input": { "name": "skipped", "mainAgentId": "a1" } })), "sessions");
  not_written(run(&conn, Kind::UpdateSession, json!({ "id": "s1", "patch": { "name": "frozen" } })), "sessions");
  not_written(run(&conn, Kind::UpdateSessionStatus, json!({ "id": "s1", "status": "failed" })), "sessions");
  let missing = run(&conn, Kind::UpdateSessionStatus, json!({ "id": "nobody", "status": "failed" })).unwrap_err();
  assert_eq!(missing.code.as_str(), "NOT_FOUND", "{missing}");
  not_written(run(&conn, Kind::DeleteSession, json!({ "id": "s2" })), "sessions");
  assert!(matches!(run(&conn, Kind::DeleteSession, json!({ "id": "nobody" })), Ok(Outcome::Deleted(false))));
  assert!(matches!(run(&conn, Kind::DeleteSession, json!({ "id": "s1" })), Ok(Outcome::Deleted(true))));
}
