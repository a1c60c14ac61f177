//! Session logs: append, parents, pages over equal timestamps, latest, update, delete, count,
//! the tree, and JSON values in and out.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{code, counts, db, log, new_log, read, refused_when_read, session, set_created_at, snapshot};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::json::from_value;
use crate::logs::{self, LogPatch, SessionLog};
use crate::model::{LogRole, LogType};
use crate::page::{Cursor, Order, PageRequest};
use crate::sessions;

fn setup() -> (Connection, String) {
  let conn = db();
  let agent = super::support::agent(&conn, "Logger");
  let session = session(&conn, &agent.id);
  (conn, session.id)
}

fn content(log: &SessionLog) -> Value {
  serde_json::from_str(log.content.get()).unwrap()
}

/// Reads a whole list page by page with the keyset cursor.
fn all_pages(conn: &Connection, session_id: &str, order: Order, limit: u64) -> Vec<i64> {
  let mut ids = Vec::new();
  let mut after = None;
  loop {
    let request = PageRequest::new(Some(limit), None, after.take()).unwrap();
    let page = logs::list(conn, session_id, order, &request).unwrap();
    assert!(page.items.len() as u64 <= limit);
    ids.extend(page.items.iter().map(|l| l.id));
    match page.next_cursor {
      Some(cursor) => after = Some(Cursor::decode(&cursor).unwrap()),
      None => return ids,
    }
  }
}

/// Ids in append (`id`) order, read straight from the table.
fn expected_order(conn: &Connection, session_id: &str, order: Order) -> Vec<i64> {
  let direction = if order == Order::Ascending { "ASC" } else { "DESC" };
  let sql = format!("SELECT id FROM session_logs WHERE session_id = ?1 ORDER BY id {direction}");
  let mut stmt = conn.prepare(&sql).unwrap();
  stmt.query_map([session_id], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn add_stores_every_field_and_timestamps() {
  let (conn, session_id) = setup();
  let root = log(&conn, &session_id, None);
  let input = new_log(&session_id, Some(root.id), json!({ "text": "hi" }));
  let reply = logs::add(
    &conn,
    &logs::NewLog { role: LogRole::Tool, log_type: LogType::Observation, metadata: Some(from_value(&json!([1]))), ..input },
  )
  .unwrap();
  assert_eq!((reply.parent_id, reply.role, reply.log_type), (Some(root.id), LogRole::Tool, LogType::Observation));
  assert_eq!(reply.metadata.as_ref().map(|m| m.get()), Some("[1]"));
  assert!(reply.id > root.id);
  assert_eq!(reply.created_at, reply.updated_at);
  assert_eq!(reply.created_at.len(), 24, "{}", reply.created_at);
  assert!(reply.created_at.ends_with('Z'));
  assert_eq!(logs::get(&conn, reply.id).unwrap().unwrap().content.get(), r#"{"text":"hi"}"#);
  assert!(logs::get(&conn, reply.id + 100).unwrap().is_none());
}

#[test]
fn a_parent_must_be_a_log_of_the_same_session() {
  let (conn, session_id) = setup();
  let agent_id = sessions::get(&conn, &session_id).unwrap().unwrap().main_agent_id;
  let other = session(&conn, &agent_id);
  let foreign = log(&conn, &other.id, None);
  let before = snapshot(&conn);
  let err = logs::add(&conn, &new_log(&session_id, Some(foreign.id), json!(1))).unwrap_err();
  assert_eq!(err.code, ErrorCode::Constraint);
  assert!(err.message.contains("parentId"), "{err}");
  assert_eq!(code(logs::add(&conn, &new_log(&session_id, Some(foreign.id + 1000), json!(1)))), ErrorCode::Constraint);
  let err = logs::add(&conn, &new_log("no-such-session", None, json!(1))).unwrap_err();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.contains("no-such-session"), "{err}");
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn add_many_names_the_failing_row_and_the_caller_rolls_back() {
  let (conn, session_id) = setup();
  let before = snapshot(&conn);
  conn.execute_batch("SAVEPOINT batch").unwrap();
  let inputs =
    vec![new_log(&session_id, None, json!(0)), new_log(&session_id, None, json!(1)), new_log("missing", None, json!(2))];
  let err = logs::add_many(&conn, &inputs).unwrap_err();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.starts_with("logs[2]"), "{err}");
  conn.execute_batch("ROLLBACK TO batch; RELEASE batch").unwrap();
  assert_eq!(snapshot(&conn), before);
  let added = logs::add_many(&conn, &inputs[..2]).unwrap();
  assert_eq!(added.iter().map(content).collect::<Vec<_>>(), [json!(0), json!(1)]);
}

#[test]
fn pages_follow_append_order_across_equal_and_backward_timestamps() {
  let (conn, session_id) = setup();
  let inputs: Vec<_> = (0..40).map(|i| new_log(&session_id, None, json!(i))).collect();
  let added = logs::add_many(&conn, &inputs).unwrap();
  // Five timestamps, each shared by eight logs, in an order unlike the ids'.
  for (i, log) in added.iter().enumerate() {
    set_created_at(&conn, "session_logs", &[log.id.to_string()], &format!("2026-01-01T00:00:00.00{}Z", (i * 3) % 5));
  }
  for order in [Order::Ascending, Order::Descending] {
    let expected = expected_order(&conn, &session_id, order);
    assert_eq!(expected.len(), 40);
    for limit in [1, 3, 7, 8, 40, 100] {
      assert_eq!(all_pages(&conn, &session_id, order, limit), expected, "{order:?} limit {limit}");
    }
  }
  // Offset pages walk the same order.
  let mut by_offset = Vec::new();
  for offset in (0..40).step_by(6) {
    let page = logs::list(&conn, &session_id, Order::Ascending, &PageRequest::new(Some(6), Some(offset), None).unwrap()).unwrap();
    by_offset.extend(page.items.iter().map(|l| l.id));
  }
  assert_eq!(by_offset, expected_order(&conn, &session_id, Order::Ascending));
}

#[test]
fn a_cursor_does_not_leak_into_another_session_or_list() {
  let (conn, session_id) = setup();
  let agent_id = sessions::get(&conn, &session_id).unwrap().unwrap().main_agent_id;
  let other = session(&conn, &agent_id);
  for _ in 0..3 {
    log(&conn, &session_id, None);
    log(&conn, &other.id, None);
  }
  let first = logs::list(&conn, &session_id, Order::Ascending, &PageRequest::new(Some(2), None, None).unwrap()).unwrap();
  let rest = logs::list(
    &conn,
    &session_id,
    Order::Ascending,
    &PageRequest::new(Some(10), None, Some(Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap())).unwrap(),
  )
  .unwrap();
  assert_eq!(rest.items.len(), 1);
  assert!(rest.items.iter().all(|l| l.session_id == session_id));
  assert!(rest.next_cursor.is_none());
  let agent_cursor = Cursor { list: "agents".into(), order: Order::Ascending, filters: 0, key: 1 };
  let request = PageRequest::new(None, None, Some(agent_cursor)).unwrap();
  assert_eq!(code(logs::list(&conn, &session_id, Order::Ascending, &request)), ErrorCode::InvalidArgument);
}

#[test]
fn latest_returns_the_newest_in_chronological_order() {
  let (conn, session_id) = setup();
  let added = logs::add_many(&conn, &(0..10).map(|i| new_log(&session_id, None, json!(i))).collect::<Vec<_>>()).unwrap();
  let ids: Vec<String> = added.iter().map(|l| l.id.to_string()).collect();
  set_created_at(&conn, "session_logs", &ids, "2026-01-01T00:00:00.000Z");
  let latest = |limit, after| logs::latest(&conn, &session_id, &PageRequest::new(Some(limit), None, after).unwrap());
  let newest = latest(4, None).unwrap();
  assert_eq!(newest.items.iter().map(|l| l.id).collect::<Vec<_>>(), added[6..].iter().map(|l| l.id).collect::<Vec<_>>());
  let before = latest(4, Some(Cursor::decode(newest.next_cursor.as_deref().unwrap()).unwrap())).unwrap();
  assert_eq!(before.items.iter().map(|l| l.id).collect::<Vec<_>>(), added[2..6].iter().map(|l| l.id).collect::<Vec<_>>());
  let all = latest(1000, None).unwrap();
  assert_eq!((all.items.len(), all.next_cursor), (10, None));
  // A cursor of getLogs in the same direction belongs to another list.
  let desc = logs::list(&conn, &session_id, Order::Descending, &PageRequest::new(Some(4), None, None).unwrap()).unwrap();
  assert_eq!(code(latest(4, Some(Cursor::decode(desc.next_cursor.as_deref().unwrap()).unwrap()))), ErrorCode::InvalidArgument);
}

#[test]
fn max_bytes_stops_a_page_before_the_row_that_would_pass_it() {
  let (conn, session_id) = setup();
  let sizes = [100, 100, 5000, 100, 100];
  let added =
    logs::add_many(&conn, &sizes.iter().map(|n| new_log(&session_id, None, json!("x".repeat(*n)))).collect::<Vec<_>>()).unwrap();
  let row = |i: usize| crate::limits::json_len(&added[i]);
  let mut request = PageRequest::new(Some(100), None, None).unwrap();
  let mut pages = Vec::new();
  request.max_bytes = Some(row(0) + row(1) + 10);
  loop {
    let page = logs::list(&conn, &session_id, Order::Ascending, &request).unwrap();
    let bytes: u64 = page.items.iter().map(crate::limits::json_len).sum();
    assert!(bytes <= request.max_bytes.unwrap() || page.items.len() == 1, "a page of {bytes} bytes");
    pages.push(page.items.iter().map(|l| l.id).collect::<Vec<_>>());
    match page.next_cursor {
      Some(cursor) => request.after = Some(Cursor::decode(&cursor).unwrap()),
      None => break,
    }
  }
  // The 5000-byte row, larger than the bound, makes a page of its own.
  let ids: Vec<i64> = added.iter().map(|l| l.id).collect();
  assert_eq!(pages, vec![ids[0..2].to_vec(), ids[2..3].to_vec(), ids[3..5].to_vec()]);
  // The newest rows that fit, oldest of them first; the newest one alone when it does not.
  let latest_within = |max_bytes| {
    let request = PageRequest { max_bytes: Some(max_bytes), ..PageRequest::new(Some(10), None, None).unwrap() };
    logs::latest(&conn, &session_id, &request).unwrap().items
  };
  assert_eq!(latest_within(row(3) + row(4)).iter().map(|l| l.id).collect::<Vec<_>>(), &ids[3..]);
  assert_eq!(latest_within(1).iter().map(|l| l.id).collect::<Vec<_>>(), &ids[4..]);
}

#[test]
fn update_changes_only_the_given_fields() {
  let (conn, session_id) = setup();
  let input = logs::NewLog { metadata: Some(from_value(&json!({ "tokens": 3 }))), ..new_log(&session_id, None, json!("draft")) };
  let original = logs::add(&conn, &input).unwrap();
  let edited =
    logs::update(&conn, original.id, &LogPatch { content: Some(from_value(&json!({ "final": true }))), ..Default::default() })
      .unwrap();
  assert_eq!(content(&edited), json!({ "final": true }));
  assert_eq!(edited.metadata.as_ref().unwrap().get(), r#"{"tokens":3}"#);
  assert_eq!((edited.role, edited.log_type, &edited.created_at), (original.role, original.log_type, &original.created_at));
  assert!(edited.updated_at > original.updated_at);
  let cleared =
    logs::update(&conn, original.id, &LogPatch { metadata: Some(None), role: Some(LogRole::Agent), ..Default::default() })
      .unwrap();
  assert!(cleared.metadata.is_none());
  assert_eq!(cleared.role, LogRole::Agent);
  assert!(cleared.updated_at > edited.updated_at);
  assert_eq!(code(logs::update(&conn, original.id + 1, &LogPatch::default())), ErrorCode::NotFound);
}

#[test]
fn delete_and_count_per_session() {
  let (conn, session_id) = setup();
  let agent_id = sessions::get(&conn, &session_id).unwrap().unwrap().main_agent_id;
  let other = session(&conn, &agent_id);
  let root = log(&conn, &session_id, None);
  let child = log(&conn, &session_id, Some(root.id));
  log(&conn, &session_id, Some(child.id));
  log(&conn, &session_id, None);
  log(&conn, &other.id, None);
  assert_eq!(logs::count(&conn, &session_id).unwrap(), 4);
  // Every deleted entry is counted, replies included.
  assert_eq!(cascade::delete_session_logs(&conn, &session_id).unwrap(), 4);
  assert_eq!(logs::count(&conn, &session_id).unwrap(), 0);
  assert_eq!(logs::count(&conn, &other.id).unwrap(), 1);
  assert_eq!(cascade::delete_session_logs(&conn, "missing").unwrap(), 0);
  // An empty session id is refused when the call is read, before anything runs.
  let before = snapshot(&conn);
  read(Kind::DeleteLogs, &json!({ "sessionId": "missing" }));
  let err = refused_when_read(&conn, Kind::DeleteLogs, &json!({ "sessionId": "" }));
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  assert!(err.message.contains("sessionId"), "{err}");
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn the_tree_nests_by_parent_with_siblings_in_append_order() {
  let (conn, session_id) = setup();
  let a = log(&conn, &session_id, None);
  let a1 = log(&conn, &session_id, Some(a.id));
  let b = log(&conn, &session_id, None);
  let a1x = log(&conn, &session_id, Some(a1.id));
  let a2 = log(&conn, &session_id, Some(a.id));
  let a1xy = log(&conn, &session_id, Some(a1x.id));
  // a2 is stamped before a1 (a clock stepped back): siblings still go by append order.
  set_created_at(&conn, "session_logs", &[a2.id.to_string()], "2000-01-01T00:00:00.000Z");
  let tree: Value = serde_json::from_str(&logs::tree(&conn, &session_id).unwrap()).unwrap();
  fn shape(nodes: &Value) -> Value {
    Value::Array(nodes.as_array().unwrap().iter().map(|n| json!([n["id"], shape(&n["children"])])).collect())
  }
  assert_eq!(shape(&tree), json!([[a.id, [[a1.id, [[a1x.id, [[a1xy.id, []]]]]], [a2.id, []]]], [b.id, []]]));
  let node = &tree[0]["children"][0];
  assert_eq!(
    (node["sessionId"].as_str(), node["parentId"].as_i64(), node["content"].as_str()),
    (Some(session_id.as_str()), Some(a.id), Some("text"))
  );
  assert_eq!(logs::tree(&conn, "missing").unwrap(), "[]");
}

#[test]
fn a_chain_thousands_deep_reads_as_a_tree_and_deletes_at_every_level() {
  let (conn, session_id) = setup();
  let agent_id = sessions::get(&conn, &session_id).unwrap().unwrap().main_agent_id;
  let depth = 5000;
  let chain = |session_id: &str| {
    let mut ids: Vec<i64> = Vec::with_capacity(depth);
    for _ in 0..depth {
      ids.push(log(&conn, session_id, ids.last().copied()).id);
    }
    ids
  };
  let ids = chain(&session_id);
  // Deeper than serde_json parses: read the ids off the text, each node before its children.
  let text = logs::tree(&conn, &session_id).unwrap();
  let in_text: Vec<i64> = text.split("{\"id\":").skip(1).map(|s| s[..s.find(',').unwrap()].parse().unwrap()).collect();
  assert_eq!(in_text, ids);
  assert!(text.ends_with(&format!("{}]", "]}".repeat(depth))));
  // SQLite refuses cascades nested deeper than 1000 levels; each delete must still work.
  assert_eq!(cascade::delete_session_logs(&conn, &session_id).unwrap(), depth as u64);
  chain(&session_id);
  assert!(cascade::delete_session(&conn, &session_id).unwrap());
  let again = session(&conn, &agent_id);
  chain(&again.id);
  assert!(cascade::delete_agent(&conn, &agent_id).unwrap());
  assert_eq!(counts(&conn), (0, 0, 0));
}

#[test]
fn json_values_come_back_as_they_went_in() {
  let (conn, session_id) = setup();
  let values = [
    json!(null),
    json!(true),
    json!(-0.5),
    json!(9_007_199_254_740_991_i64),
    json!(-9_007_199_254_740_991_i64),
    json!(1e300),
    json!("plain"),
    json!("emoji 🦀 and NUL \u{0} and quotes \" ' and \\ backslash"),
    json!([1, [2, [3, []]], {}]),
    json!({ "zeta": 1, "alpha": { "nested": [null, false] }, "mid": "x", "": "empty key" }),
  ];
  for value in values {
    let stored =
      logs::add(&conn, &logs::NewLog { metadata: Some(from_value(&value)), ..new_log(&session_id, None, value.clone()) })
        .unwrap();
    let read = logs::get(&conn, stored.id).unwrap().unwrap();
    assert_eq!(content(&read), value);
    assert_eq!(serde_json::from_str::<Value>(read.metadata.as_ref().unwrap().get()).unwrap(), value);
    // Key order is kept, not sorted.
    assert_eq!(read.content.get(), serde_json::to_string(&value).unwrap());
  }
}

#[test]
fn add_many_returning_ids_gives_the_ids_in_order_and_other_outcomes_unchanged() {
  use crate::command::{Command, Outcome, Returning};
  let (conn, session_id) = setup();
  let inputs = json!({ "inputs": [
    { "sessionId": session_id, "role": "user", "type": "message", "content": 1 },
    { "sessionId": session_id, "role": "agent", "type": "message", "content": 2 },
  ] });
  let outcome = Command::decode(Kind::AddLogs, &inputs.to_string()).unwrap().run_within(&conn, None).unwrap();
  let Outcome::Logs(logs) = outcome.clone() else { panic!("{outcome:?}") };
  let Outcome::Ids(ids) = outcome.returning(Returning::Ids) else { panic!("not ids") };
  assert_eq!(ids, logs.iter().map(|log| log.id).collect::<Vec<_>>());
  assert_eq!(serde_json::to_string(&Outcome::Ids(ids.clone())).unwrap(), format!("[{},{}]", ids[0], ids[1]));
  assert!(matches!(Outcome::Count(3).returning(Returning::Ids), Outcome::Count(3)));
  assert!(matches!(Outcome::Logs(logs).returning(Returning::Rows), Outcome::Logs(_)));
  assert_eq!(Returning::parse("ids", "options.returning").unwrap(), Returning::Ids);
  assert_eq!(Returning::parse("rows", "options.returning").unwrap(), Returning::Rows);
  let err = Returning::parse("all", "options.returning").unwrap_err();
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  assert!(err.message.contains("options.returning"), "{err}");
}
