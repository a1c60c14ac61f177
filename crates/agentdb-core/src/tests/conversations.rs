//! Conversations as an agent app keeps them: deleting one entry with or without its subtree,
//! editing one in place.

use rusqlite::Connection;
use serde_json::json;

use super::support::{db, log, read, refused_when_read, session, snapshot};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::logs::{self, LogPatch};
use crate::model::LogChildren;

fn setup() -> (Connection, String) {
  let conn = db();
  let agent = super::support::agent(&conn, "Chat");
  let session = session(&conn, &agent.id);
  (conn, session.id)
}

/// `(id, parent_id)` of a session's logs, in id order.
fn links(conn: &Connection, session_id: &str) -> Vec<(i64, Option<i64>)> {
  let mut stmt = conn.prepare("SELECT id, parent_id FROM session_logs WHERE session_id = ?1 ORDER BY id").unwrap();
  stmt.query_map([session_id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn reparent_moves_the_children_to_the_deleted_entry_s_parent_or_to_the_root() {
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let mid = log(&conn, &s, Some(root.id));
  let (a, b) = (log(&conn, &s, Some(mid.id)), log(&conn, &s, Some(mid.id)));
  let deep = log(&conn, &s, Some(a.id));
  assert_eq!(cascade::delete_log(&conn, mid.id, LogChildren::Reparent).unwrap(), 1);
  assert_eq!(links(&conn, &s), [(root.id, None), (a.id, Some(root.id)), (b.id, Some(root.id)), (deep.id, Some(a.id))]);
  assert_eq!(cascade::delete_log(&conn, root.id, LogChildren::Reparent).unwrap(), 1);
  assert_eq!(links(&conn, &s), [(a.id, None), (b.id, None), (deep.id, Some(a.id))]);
  assert_eq!(cascade::delete_log(&conn, root.id, LogChildren::Reparent).unwrap(), 0);
}

#[test]
fn delete_removes_the_whole_subtree_of_any_depth_and_nothing_else() {
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let kept = log(&conn, &s, Some(root.id));
  let branch = log(&conn, &s, Some(root.id));
  // A chain deeper than SQLite's limit of nested cascades.
  let mut parent = branch.id;
  for _ in 0..1500 {
    parent = log(&conn, &s, Some(parent)).id;
  }
  assert_eq!(cascade::delete_log(&conn, branch.id, LogChildren::Delete).unwrap(), 1501);
  assert_eq!(links(&conn, &s), [(root.id, None), (kept.id, Some(root.id))]);
}

#[test]
fn a_skipped_delete_deletes_nothing_of_the_subtree() {
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let child = log(&conn, &s, Some(root.id));
  conn
    .execute_batch(&format!(
      "CREATE TRIGGER keep BEFORE DELETE ON session_logs WHEN OLD.id = {} BEGIN SELECT RAISE(IGNORE); END;",
      child.id
    ))
    .unwrap();
  conn.execute_batch("SAVEPOINT t").unwrap();
  let err = cascade::delete_log(&conn, root.id, LogChildren::Delete).unwrap_err();
  conn.execute_batch("ROLLBACK TO t; RELEASE t").unwrap();
  assert_eq!(err.code, ErrorCode::NotWritten);
  assert_eq!(links(&conn, &s), [(root.id, None), (child.id, Some(root.id))]);
}

#[test]
fn delete_log_is_a_command_with_required_options() {
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let before = snapshot(&conn);
  for (args, field) in [
    (json!({ "id": root.id }), "options is required"),
    (json!({ "id": root.id, "options": {} }), "options.children is required"),
    (json!({ "id": root.id, "options": { "children": "orphan" } }), "options.children must be one of"),
    (json!({ "id": root.id, "options": { "children": "delete", "deep": true } }), "unknown field `deep`"),
    (json!({ "id": 0, "options": { "children": "delete" } }), "id must be"),
  ] {
    let err = refused_when_read(&conn, Kind::DeleteLog, &args);
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{args}");
    assert!(err.message.contains(field), "{args}: {err}");
  }
  assert_eq!(snapshot(&conn), before);
  let batch = json!({ "operations": [{ "op": "deleteLog", "id": root.id, "options": { "children": "reparent" } }] });
  let outcome = serde_json::to_value(read(Kind::Batch, &batch).run(&conn).unwrap()).unwrap();
  assert_eq!(outcome, json!([1]));
}

#[test]
fn updating_an_entry_keeps_its_place_and_its_children() {
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let entry = log(&conn, &s, Some(root.id));
  let child = log(&conn, &s, Some(entry.id));
  let edited = logs::update(&conn, entry.id, &LogPatch { content: Some(crate::json::from_value(&json!("edited"))), ..Default::default() })
    .unwrap();
  assert_eq!((edited.id, edited.parent_id, edited.created_at.as_str()), (entry.id, Some(root.id), entry.created_at.as_str()));
  assert_eq!(links(&conn, &s), [(root.id, None), (entry.id, Some(root.id)), (child.id, Some(entry.id))]);
}
