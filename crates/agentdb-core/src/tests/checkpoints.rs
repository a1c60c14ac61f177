//! Compaction checkpoints: set, replaced, read with the session, cleared; refused without a
//! write for bad input; what deletes and forks do to them; in a batch with references.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{db, log, read, refused_when_read, session, snapshot};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::forks::{self, ForkRequest};
use crate::logs;
use crate::model::LogChildren;
use crate::page::{Order, PageRequest};
use crate::rules::SUMMARY_UNITS;
use crate::sessions;

fn setup() -> (Connection, String, Vec<i64>) {
  let conn = db();
  let agent = super::support::agent(&conn, "Chat");
  let s = session(&conn, &agent.id).id;
  let ids = (0..4).map(|_| log(&conn, &s, None).id).collect();
  (conn, s, ids)
}

fn run(conn: &Connection, kind: Kind, args: Value) -> Value {
  serde_json::to_value(read(kind, &args).run(conn).unwrap()).unwrap()
}

fn set(conn: &Connection, s: &str, through: i64) -> Value {
  let checkpoint = json!({ "summary": "They agreed on a plan.", "throughLogId": through, "coveredTokens": 1200, "summaryTokens": 40, "metadata": { "model": "m" } });
  run(conn, Kind::SetCheckpoint, json!({ "sessionId": s, "checkpoint": checkpoint }))
}

/// The checkpoint `getSessionWithAgent` reads, as JSON (`null` without one).
fn checkpoint(conn: &Connection, s: &str) -> Value {
  serde_json::to_value(sessions::get_with_agent(conn, s, crate::trash::Trash::Exclude).unwrap().unwrap().checkpoint).unwrap()
}

#[test]
fn a_checkpoint_is_set_read_with_the_session_replaced_and_cleared() {
  let (conn, s, ids) = setup();
  assert_eq!(checkpoint(&conn, &s), Value::Null);
  let set_one = set(&conn, &s, ids[1]);
  assert_eq!(
    (&set_one["sessionId"], &set_one["throughLogId"], &set_one["summary"], &set_one["coveredTokens"], &set_one["summaryTokens"]),
    (&json!(s), &json!(ids[1]), &json!("They agreed on a plan."), &json!(1200), &json!(40))
  );
  assert_eq!(set_one["metadata"], json!({ "model": "m" }));
  assert_eq!(checkpoint(&conn, &s), set_one);

  // Its cursor reads only the entries after the covered one.
  let after = crate::page::Cursor::decode(set_one["logsAfter"].as_str().unwrap()).unwrap();
  let page = logs::list(&conn, &s, Order::Ascending, &PageRequest { after: Some(after), ..PageRequest::default() }).unwrap();
  assert_eq!(page.items.iter().map(|l| l.id).collect::<Vec<_>>(), ids[2..]);

  // Setting it again replaces it: one per session, optional fields cleared when left out.
  let replaced =
    run(&conn, Kind::SetCheckpoint, json!({ "sessionId": s, "checkpoint": { "summary": "Later.", "throughLogId": ids[3] } }));
  assert_eq!(
    (&replaced["throughLogId"], &replaced["coveredTokens"], &replaced["metadata"]),
    (&json!(ids[3]), &Value::Null, &Value::Null)
  );
  assert_eq!(checkpoint(&conn, &s), replaced);
  let rows: i64 = conn.query_row("SELECT count(*) FROM session_checkpoints", [], |r| r.get(0)).unwrap();
  assert_eq!(rows, 1);

  assert_eq!(run(&conn, Kind::ClearCheckpoint, json!({ "sessionId": s })), json!(true));
  assert_eq!(checkpoint(&conn, &s), Value::Null);
  assert_eq!(run(&conn, Kind::ClearCheckpoint, json!({ "sessionId": s })), json!(false));
}

#[test]
fn bad_input_is_coded_and_writes_nothing() {
  let (conn, s, ids) = setup();
  let other = session(&conn, &sessions::get(&conn, &s).unwrap().unwrap().main_agent_id).id;
  let elsewhere = log(&conn, &other, None).id;
  set(&conn, &s, ids[0]);
  let before = snapshot(&conn);
  let good = json!({ "summary": "S", "throughLogId": ids[1] });
  let with = |field: &str, value: Value| {
    let mut checkpoint = good.clone();
    checkpoint[field] = value;
    json!({ "sessionId": s, "checkpoint": checkpoint })
  };
  let long = "x".repeat(SUMMARY_UNITS + 1);
  for (args, names) in [
    (with("summary", json!("  ")), "checkpoint.summary"),
    (with("summary", json!(7)), "checkpoint.summary"),
    (with("summary", json!(long)), "checkpoint.summary"),
    (with("throughLogId", json!(0)), "checkpoint.throughLogId"),
    (with("throughLogId", json!("1")), "checkpoint.throughLogId"),
    (with("coveredTokens", json!(-1)), "checkpoint.coveredTokens"),
    (with("summaryTokens", json!(1.5)), "checkpoint.summaryTokens"),
    (with("tokens", json!(1)), "unknown field `tokens`"),
    (json!({ "sessionId": s }), "checkpoint is required"),
    (json!({ "sessionId": s, "checkpoint": { "throughLogId": ids[1] } }), "checkpoint.summary"),
  ] {
    let err = refused_when_read(&conn, Kind::SetCheckpoint, &args);
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{args}");
    assert!(err.message.contains(names), "{args}: {err}");
  }
  for (session_id, through, names) in [
    (s.as_str(), elsewhere, "checkpoint.throughLogId"),
    (s.as_str(), ids[3] + 100, "checkpoint.throughLogId"),
    ("missing", ids[1], "session \"missing\""),
  ] {
    let args = json!({ "sessionId": session_id, "checkpoint": { "summary": "S", "throughLogId": through } });
    let err = read(Kind::SetCheckpoint, &args).run(&conn).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "{args}");
    assert!(err.message.contains(names), "{args}: {err}");
  }
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn deleting_the_covered_entry_deletes_the_checkpoint_and_an_earlier_one_keeps_it() {
  let (conn, s, ids) = setup();
  set(&conn, &s, ids[2]);
  cascade::delete_log(&conn, ids[0], LogChildren::Reparent).unwrap();
  assert_eq!(checkpoint(&conn, &s)["throughLogId"], json!(ids[2]));
  cascade::delete_log(&conn, ids[2], LogChildren::Reparent).unwrap();
  assert_eq!(checkpoint(&conn, &s), Value::Null);

  set(&conn, &s, ids[3]);
  cascade::delete_log(&conn, ids[3], LogChildren::Delete).unwrap();
  assert_eq!(checkpoint(&conn, &s), Value::Null);

  set(&conn, &s, ids[1]);
  cascade::delete_session_logs(&conn, &s).unwrap();
  assert_eq!(checkpoint(&conn, &s), Value::Null);

  let kept = log(&conn, &s, None).id;
  set(&conn, &s, kept);
  conn.execute("DELETE FROM session_logs WHERE id = ?1", [kept]).unwrap();
  assert_eq!(checkpoint(&conn, &s), Value::Null);

  let last = log(&conn, &s, None).id;
  set(&conn, &s, last);
  assert!(cascade::delete_session(&conn, &s).unwrap());
  let rows: i64 = conn.query_row("SELECT count(*) FROM session_checkpoints", [], |r| r.get(0)).unwrap();
  assert_eq!(rows, 0);
}

#[test]
fn a_fork_at_or_after_the_covered_entry_copies_the_checkpoint_and_one_before_it_gets_none() {
  let (conn, s, ids) = setup();
  let original = set(&conn, &s, ids[1]);
  let fork =
    |at: Option<i64>| forks::fork(&conn, &ForkRequest { source: s.clone(), at_log_id: at, ..Default::default() }).unwrap();

  for at in [None, Some(ids[1]), Some(ids[3])] {
    let made = fork(at);
    let copy = checkpoint(&conn, &made.session.id);
    // It points at the copy of the covered entry: the second entry of the fork.
    let copies = logs::list(&conn, &made.session.id, Order::Ascending, &PageRequest::default()).unwrap().items;
    assert_eq!(copy["throughLogId"], json!(copies[1].id), "{at:?}");
    assert_eq!(copies[1].content.get(), logs::get(&conn, ids[1]).unwrap().unwrap().content.get());
    for field in ["summary", "coveredTokens", "summaryTokens", "metadata", "createdAt"] {
      assert_eq!(copy[field], original[field], "{at:?} {field}");
    }
    assert_eq!(copy["sessionId"], json!(made.session.id));
  }
  let before = fork(Some(ids[0]));
  assert_eq!(checkpoint(&conn, &before.session.id), Value::Null);
  // The source keeps its own.
  assert_eq!(checkpoint(&conn, &s), original);
}

#[test]
fn a_batch_sets_a_checkpoint_through_the_entry_it_just_wrote() {
  let (conn, s, _) = setup();
  let outcome = run(
    &conn,
    Kind::Batch,
    json!({ "operations": [
      { "op": "addLog", "input": { "sessionId": s, "role": "agent", "type": "message", "content": { "text": "done" } } },
      { "op": "setCheckpoint", "sessionId": s, "checkpoint": { "summary": "All of it.", "throughLogId": { "ref": 0 } } },
    ] }),
  );
  assert_eq!(outcome[1]["throughLogId"], outcome[0]["id"]);
  assert_eq!(checkpoint(&conn, &s)["throughLogId"], outcome[0]["id"]);

  // A failing operation after a clear fails the batch, which the writer's savepoint undoes.
  let before = snapshot(&conn);
  conn.execute_batch("SAVEPOINT t").unwrap();
  let err = read(
    Kind::Batch,
    &json!({ "operations": [
      { "op": "clearCheckpoint", "sessionId": s },
      { "op": "setCheckpoint", "sessionId": s, "checkpoint": { "summary": "x", "throughLogId": 999_999 } },
    ] }),
  )
  .run(&conn)
  .unwrap_err();
  conn.execute_batch("ROLLBACK TO t; RELEASE t").unwrap();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.contains("operations[1]"), "{err}");
  let err = refused_when_read(
    &conn,
    Kind::Batch,
    &json!({ "operations": [
      { "op": "createSession", "input": { "mainAgentId": "x" } },
      { "op": "setCheckpoint", "sessionId": s, "checkpoint": { "summary": "x", "throughLogId": { "ref": 0 } } },
    ] }),
  );
  assert!(err.message.contains("operations[1].checkpoint.throughLogId"), "{err}");
  assert_eq!(snapshot(&conn), before);
}
