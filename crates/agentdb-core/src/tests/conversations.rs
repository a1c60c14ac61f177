//! Conversations as an agent app keeps them: deleting one entry with or without its subtree,
//! editing one in place, replies that stream.

use rusqlite::Connection;
use serde_json::json;

use super::support::{db, log, read, refused_when_read, session, snapshot};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::logs::{self, LogPatch, NewLog};
use crate::model::{LogChildren, LogStatus};
use crate::trash::Trash;

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
  let edited =
    logs::update(&conn, entry.id, &LogPatch { content: Some(crate::json::from_value(&json!("edited"))), ..Default::default() })
      .unwrap();
  assert_eq!((edited.id, edited.parent_id, edited.created_at.as_str()), (entry.id, Some(root.id), entry.created_at.as_str()));
  assert_eq!(links(&conn, &s), [(root.id, None), (entry.id, Some(root.id)), (child.id, Some(entry.id))]);
}

fn streamed(conn: &Connection, s: &str, content: serde_json::Value) -> i64 {
  let input = NewLog { status: Some(LogStatus::Pending), ..super::support::new_log(s, None, content) };
  logs::add(conn, &input).unwrap().id
}

fn run(conn: &Connection, kind: Kind, args: serde_json::Value) -> serde_json::Value {
  serde_json::to_value(read(kind, &args).run(conn).unwrap()).unwrap()
}

#[test]
fn appending_text_builds_the_string_in_place_and_finishing_sets_the_status() {
  let (conn, s) = setup();
  let id = streamed(&conn, &s, json!({ "text": "", "parts": [{ "text": "a" }], "n": 1.50 }));
  let first = run(&conn, Kind::AppendLogText, json!({ "id": id, "options": { "path": "text", "delta": "Hel" } }));
  assert_eq!(first["status"], "streaming");
  run(&conn, Kind::AppendLogText, json!({ "id": id, "options": { "path": "$.text", "delta": "lo \"you\" ✓" } }));
  run(&conn, Kind::AppendLogText, json!({ "id": id, "options": { "path": "parts[0].text", "delta": "b" } }));
  let log = logs::get(&conn, id).unwrap().unwrap();
  assert_eq!(log.status, LogStatus::Streaming);
  let content: serde_json::Value = serde_json::from_str(log.content.get()).unwrap();
  assert_eq!(content, json!({ "text": "Hello \"you\" ✓", "parts": [{ "text": "ab" }], "n": 1.50 }));
  let done = run(&conn, Kind::FinishLog, json!({ "id": id, "options": { "status": "complete", "metadata": { "tokens": 4 } } }));
  assert_eq!(
    (done["status"].clone(), done["metadata"].clone(), done["content"]["text"].clone()),
    (json!("complete"), json!({ "tokens": 4 }), json!("Hello \"you\" ✓"))
  );
  let replaced =
    run(&conn, Kind::FinishLog, json!({ "id": id, "options": { "status": "error", "content": { "text": "failed" } } }));
  assert_eq!((replaced["status"].clone(), replaced["content"].clone()), (json!("error"), json!({ "text": "failed" })));
  // The content of a plain string is the path `$`.
  let whole = streamed(&conn, &s, json!("draft"));
  run(&conn, Kind::AppendLogText, json!({ "id": whole, "options": { "path": "$", "delta": "ed" } }));
  assert_eq!(logs::get(&conn, whole).unwrap().unwrap().content.get(), "\"drafted\"");
}

#[test]
fn a_bad_path_or_a_target_that_is_not_text_is_coded_and_writes_nothing() {
  let (conn, s) = setup();
  let id = streamed(&conn, &s, json!({ "text": "", "n": 1, "list": ["x"], "nested": { "a": null } }));
  let before = snapshot(&conn);
  for path in ["", "te xt", "text.", ".text", "list[x]", "list[]", "a..b", "$$", "text[0", "a'b"] {
    let err = refused_when_read(&conn, Kind::AppendLogText, &json!({ "id": id, "options": { "path": path, "delta": "d" } }));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{path:?}: {err}");
    assert!(err.message.contains("options.path"), "{err}");
  }
  for path in ["n", "missing", "list", "list[3]", "nested.a", "nested", "$"] {
    let command = read(Kind::AppendLogText, &json!({ "id": id, "options": { "path": path, "delta": "d" } }));
    let err = command.run(&conn).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotText, "{path}: {err}");
    assert!(err.message.contains(&format!("log {id}")), "{err}");
  }
  let missing = read(Kind::AppendLogText, &json!({ "id": id + 100, "options": { "path": "text", "delta": "d" } }));
  assert_eq!(missing.run(&conn).unwrap_err().code, ErrorCode::NotFound);
  for status in ["pending", "streaming", "interrupted", "done"] {
    let err = refused_when_read(&conn, Kind::FinishLog, &json!({ "id": id, "options": { "status": status } }));
    assert!(err.message.contains("options.status must be one of 'complete', 'error', 'cancelled'"), "{err}");
  }
  let err = refused_when_read(&conn, Kind::AppendLogText, &json!({ "id": id, "options": { "path": "text" } }));
  assert!(err.message.contains("options.delta is required"), "{err}");
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn unfinished_entries_become_interrupted_and_are_listed() {
  let (conn, s) = setup();
  let pending = streamed(&conn, &s, json!({ "text": "" }));
  let streaming = streamed(&conn, &s, json!({ "text": "" }));
  logs::append_text(&conn, streaming, "$.text", "partial").unwrap();
  let finished = streamed(&conn, &s, json!({ "text": "" }));
  logs::update(&conn, finished, &LogPatch { status: Some(LogStatus::Cancelled), ..Default::default() }).unwrap();
  log(&conn, &s, None);
  assert_eq!(logs::interrupt_unfinished(&conn).unwrap(), 2);
  let page = logs::list_interrupted(&conn, None, Trash::Exclude, &crate::page::PageRequest::default()).unwrap();
  assert_eq!(page.items.iter().map(|l| l.id).collect::<Vec<_>>(), [pending, streaming]);
  assert_eq!(logs::get(&conn, finished).unwrap().unwrap().status, LogStatus::Cancelled);
  let elsewhere =
    logs::list_interrupted(&conn, Some("another session"), Trash::Exclude, &crate::page::PageRequest::default()).unwrap();
  assert!(elsewhere.items.is_empty());
}

#[test]
fn interrupted_entries_of_a_session_in_the_trash_are_listed_only_with_include_trashed() {
  let (conn, kept) = setup();
  let agent = crate::sessions::get(&conn, &kept).unwrap().unwrap().main_agent_id;
  let trashed = session(&conn, &agent).id;
  let kept_entry = streamed(&conn, &kept, json!({ "text": "" }));
  let trashed_entry = streamed(&conn, &trashed, json!({ "text": "" }));
  assert_eq!(logs::interrupt_unfinished(&conn).unwrap(), 2);
  assert!(crate::trash::trash_session(&conn, &trashed).unwrap());
  let ids = |session_id: Option<&str>, trash: Trash| -> Vec<i64> {
    let page = logs::list_interrupted(&conn, session_id, trash, &crate::page::PageRequest::default()).unwrap();
    page.items.iter().map(|l| l.id).collect()
  };
  assert_eq!(ids(None, Trash::Exclude), [kept_entry]);
  assert!(ids(Some(&trashed), Trash::Exclude).is_empty());
  assert_eq!(ids(None, Trash::Include), [kept_entry, trashed_entry]);
  assert_eq!(ids(Some(&trashed), Trash::Include), [trashed_entry]);
  assert!(crate::trash::restore_session(&conn, &trashed).unwrap());
  assert_eq!(ids(None, Trash::Exclude), [kept_entry, trashed_entry]);
}

fn activity(conn: &Connection, s: &str) -> String {
  crate::sessions::get(conn, s).unwrap().unwrap().last_activity_at
}

#[test]
fn every_log_write_moves_the_session_s_last_activity_raw_sql_included() {
  let (conn, s) = setup();
  let created = crate::sessions::get(&conn, &s).unwrap().unwrap();
  assert_eq!(created.last_activity_at, created.created_at);
  let other = session(&conn, &created.main_agent_id).id;
  conn.execute("UPDATE sessions SET last_activity_at = '2000-01-01T00:00:00.000Z'", []).unwrap();
  let entry = log(&conn, &s, None);
  let after_insert = activity(&conn, &s);
  assert!(after_insert.as_str() > "2000-01-01T00:00:00.000Z", "{after_insert}");
  assert_eq!(activity(&conn, &other), "2000-01-01T00:00:00.000Z");
  for write in [
    format!("UPDATE sessions SET last_activity_at = '2000-01-01T00:00:00.000Z' WHERE id = '{s}'"),
    format!("UPDATE session_logs SET content = '\"raw\"' WHERE id = {}", entry.id),
  ] {
    conn.execute_batch(&write).unwrap();
  }
  assert!(activity(&conn, &s) >= after_insert);
  conn.execute("UPDATE sessions SET last_activity_at = '2000-01-01T00:00:00.000Z'", []).unwrap();
  cascade::delete_log(&conn, entry.id, LogChildren::Delete).unwrap();
  assert!(activity(&conn, &s) >= after_insert);
  assert_eq!(activity(&conn, &other), "2000-01-01T00:00:00.000Z");
}

#[test]
fn sessions_list_by_last_activity_with_agent_latest_log_and_count_in_one_statement() {
  use crate::page::{Cursor, PageRequest};
  use crate::sessions::{list, Include, SessionOrder};
  let (conn, first) = setup();
  let agent = crate::sessions::get(&conn, &first).unwrap().unwrap().main_agent_id;
  let (second, third) = (session(&conn, &agent).id, session(&conn, &agent).id);
  // Created first, second, third; then activity in first, then in second.
  log(&conn, &first, None);
  log(&conn, &second, None);
  let newest = logs::add(&conn, &super::support::new_log(&second, None, json!({ "text": "latest" }))).unwrap();
  let include = Include { agent: true, latest_log: true, log_count: true };
  let all = list(&conn, Trash::Exclude, None, None, SessionOrder::Activity, include, &PageRequest::default()).unwrap();
  assert_eq!(all.items.iter().map(|s| s.session.id.clone()).collect::<Vec<_>>(), [second.clone(), first.clone(), third.clone()]);
  let top = serde_json::to_value(&all.items[0]).unwrap();
  assert_eq!(top["agent"], json!({ "id": agent, "name": "Chat", "type": "custom", "avatar": null }));
  assert_eq!(top["latestLog"], serde_json::to_value(&newest).unwrap());
  assert_eq!(top["logCount"], 2);
  let empty = serde_json::to_value(&all.items[2]).unwrap();
  assert_eq!((empty["latestLog"].clone(), empty["logCount"].clone()), (serde_json::Value::Null, json!(0)));
  // Without include, none of the fields; the cursor walks the same order.
  let page = list(
    &conn,
    Trash::Exclude,
    None,
    None,
    SessionOrder::Activity,
    Include::default(),
    &PageRequest::new(Some(2), None, None).unwrap(),
  )
  .unwrap();
  let plain = serde_json::to_value(&page.items[0]).unwrap();
  assert!(plain.get("agent").is_none() && plain.get("latestLog").is_none() && plain.get("logCount").is_none(), "{plain}");
  let cursor = || Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
  let rest = list(
    &conn,
    Trash::Exclude,
    None,
    None,
    SessionOrder::Activity,
    include,
    &PageRequest::new(Some(2), None, Some(cursor())).unwrap(),
  )
  .unwrap();
  assert_eq!(rest.items.iter().map(|s| &s.session.id).collect::<Vec<_>>(), [&third]);
  let created = list(&conn, Trash::Exclude, None, None, SessionOrder::Created, include, &PageRequest::default()).unwrap();
  assert_eq!(created.items.iter().map(|s| s.session.id.clone()).collect::<Vec<_>>(), [third, second, first]);
  // A cursor of one order is refused by the other, both ways.
  let err = list(
    &conn,
    Trash::Exclude,
    None,
    None,
    SessionOrder::Created,
    include,
    &PageRequest::new(Some(2), None, Some(cursor())).unwrap(),
  )
  .unwrap_err();
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  let by_creation = list(
    &conn,
    Trash::Exclude,
    None,
    None,
    SessionOrder::Created,
    Include::default(),
    &PageRequest::new(Some(1), None, None).unwrap(),
  )
  .unwrap();
  let creation_cursor = Cursor::decode(by_creation.next_cursor.as_deref().unwrap()).unwrap();
  let err = list(
    &conn,
    Trash::Exclude,
    None,
    None,
    SessionOrder::Activity,
    include,
    &PageRequest::new(Some(2), None, Some(creation_cursor)).unwrap(),
  )
  .unwrap_err();
  assert_eq!(err.code, ErrorCode::InvalidArgument);
}

/// The sessions in the sidebar's order.
fn sidebar(conn: &Connection) -> Vec<String> {
  use crate::page::PageRequest;
  use crate::sessions::{list, Include, SessionOrder};
  let page = list(conn, Trash::Exclude, None, None, SessionOrder::Activity, Include::default(), &PageRequest::default()).unwrap();
  page.items.into_iter().map(|s| s.session.id).collect()
}

#[test]
fn the_sidebar_follows_the_order_of_activity_whatever_the_clock_says() {
  let (conn, first) = setup();
  let agent = crate::sessions::get(&conn, &first).unwrap().unwrap().main_agent_id;
  let second = session(&conn, &agent).id;
  // The clock was far ahead when these were written, then stepped back: a newer activity
  // still comes first, though its time is earlier than the one shown for the other.
  conn.execute("UPDATE sessions SET last_activity_at = '2999-01-01T00:00:00.000Z' WHERE id = ?1", [&second]).unwrap();
  assert_eq!(sidebar(&conn), [second.clone(), first.clone()]);
  log(&conn, &first, None);
  assert_eq!(sidebar(&conn), [first.clone(), second.clone()]);
  // Writes in the same millisecond keep their order: the key is a counter, not a time.
  conn.execute("UPDATE sessions SET last_activity_at = '2999-01-01T00:00:00.000Z'", []).unwrap();
  let entry = log(&conn, &second, None);
  assert_eq!(sidebar(&conn), [second.clone(), first.clone()]);
  log(&conn, &first, None);
  assert_eq!(sidebar(&conn), [first.clone(), second.clone()]);
  conn.execute("UPDATE session_logs SET content = '\"edited\"' WHERE id = ?1", [entry.id]).unwrap();
  assert_eq!(sidebar(&conn), [second.clone(), first.clone()]);
  cascade::delete_log(&conn, log(&conn, &first, None).id, LogChildren::Delete).unwrap();
  assert_eq!(sidebar(&conn), [first.clone(), second.clone()]);
  // A statement writing many logs of the session already first leaves the key as it is.
  let key =
    |id: &str| -> i64 { conn.query_row("SELECT last_activity_seq FROM sessions WHERE id = ?1", [id], |r| r.get(0)).unwrap() };
  let before = key(&first);
  conn
    .execute(
      "INSERT INTO session_logs (session_id, role, type, content) SELECT ?1, 'user', 'message', '1' FROM session_logs",
      [&first],
    )
    .unwrap();
  assert_eq!(key(&first), before);
}

#[test]
fn the_sidebar_is_read_through_its_index_without_sorting() {
  let filters = [
    ("", "idx_sessions_activity_seq"),
    ("WHERE status = 'idle' ", "idx_sessions_status_activity"),
    ("WHERE main_agent_id = 'a' ", "idx_sessions_agent_activity"),
    ("WHERE status = 'idle' AND main_agent_id = 'a' ", "idx_sessions_agent_status_activity"),
  ];
  for (filter, index) in filters {
    let conn = db();
    let sql = format!("EXPLAIN QUERY PLAN SELECT id FROM sessions {filter}ORDER BY last_activity_seq DESC LIMIT 10");
    let plan: Vec<String> =
      conn.prepare(&sql).unwrap().query_map([], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
    assert!(plan.iter().any(|p| p.contains(index)), "{filter}: {plan:?}");
    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{filter}: {plan:?}");
  }
  let conn = db();
  let plan: Vec<String> = conn
    .prepare("EXPLAIN QUERY PLAN SELECT max(last_activity_seq) FROM sessions")
    .unwrap()
    .query_map([], |r| r.get::<_, String>(3))
    .unwrap()
    .map(Result::unwrap)
    .collect();
  assert!(plan.iter().any(|p| p.contains("idx_sessions_activity_seq")), "{plan:?}");
}

#[test]
fn a_fork_copies_the_logs_up_to_its_point_with_parents_timestamps_and_statuses() {
  use crate::forks::{self, ForkRequest};
  let (conn, s) = setup();
  let root = log(&conn, &s, None);
  let reply = log(&conn, &s, Some(root.id));
  let streaming = streamed(&conn, &s, json!({ "text": "" }));
  log(&conn, &s, Some(reply.id));
  conn.execute("UPDATE session_logs SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1", [root.id]).unwrap();
  let fork = forks::fork(
    &conn,
    &ForkRequest { source: s.clone(), at_log_id: Some(streaming), name: Some("try again".into()), ..Default::default() },
  )
  .unwrap();
  assert_eq!(
    (fork.source_session_id.as_deref(), fork.at_log_id, fork.session.name.as_deref()),
    (Some(s.as_str()), Some(streaming), Some("try again"))
  );
  let copied = |session: &str| -> Vec<(Option<i64>, String, String, String)> {
    let mut stmt = conn
      .prepare("SELECT p.content, l.content, l.status, l.created_at FROM session_logs l LEFT JOIN session_logs p ON p.id = l.parent_id WHERE l.session_id = ?1 ORDER BY l.id")
      .unwrap();
    stmt
      .query_map([session], |r| Ok((r.get::<_, Option<String>>(0)?.map(|c| c.len() as i64), r.get(1)?, r.get(2)?, r.get(3)?)))
      .unwrap()
      .map(Result::unwrap)
      .collect()
  };
  let source = copied(&s);
  assert_eq!(copied(&fork.session.id), source[..3]);
  // Parents point at the copies, never at the source's logs.
  let foreign: i64 = conn
    .query_row("SELECT count(*) FROM session_logs l JOIN session_logs p ON p.id = l.parent_id WHERE l.session_id = ?1 AND p.session_id <> ?1", [&fork.session.id], |r| r.get(0))
    .unwrap();
  assert_eq!(foreign, 0);
  let whole = forks::fork(&conn, &ForkRequest { source: s.clone(), ..Default::default() }).unwrap();
  assert_eq!(copied(&whole.session.id), source);
  assert_eq!(
    forks::list(&conn, &s).unwrap().iter().map(|f| f.session.id.clone()).collect::<Vec<_>>(),
    [fork.session.id.clone(), whole.session.id.clone()]
  );
  // Deleting the source leaves the forks whole.
  cascade::delete_session(&conn, &s).unwrap();
  let kept = forks::get(&conn, &fork.session.id).unwrap().unwrap();
  assert_eq!((kept.source_session_id, copied(&fork.session.id).len()), (None, 3));
}

#[test]
fn a_fork_refuses_a_missing_source_or_a_point_outside_it_and_writes_nothing() {
  use crate::forks::{self, ForkRequest};
  let (conn, s) = setup();
  let agent = crate::sessions::get(&conn, &s).unwrap().unwrap().main_agent_id;
  let elsewhere = log(&conn, &session(&conn, &agent).id, None);
  log(&conn, &s, None);
  let before = snapshot(&conn);
  for request in [
    ForkRequest { source: "missing".into(), ..Default::default() },
    ForkRequest { source: "missing".into(), at_log_id: Some(elsewhere.id), ..Default::default() },
    ForkRequest { source: s.clone(), at_log_id: Some(elsewhere.id), ..Default::default() },
    ForkRequest { source: s.clone(), at_log_id: Some(elsewhere.id + 100), ..Default::default() },
  ] {
    assert_eq!(forks::fork(&conn, &request).unwrap_err().code, ErrorCode::NotFound, "{request:?}");
  }
  assert_eq!(
    forks::fork(&conn, &ForkRequest { source: s.clone(), id: Some(s.clone()), ..Default::default() }).unwrap_err().code,
    ErrorCode::AlreadyExists
  );
  let err = refused_when_read(&conn, Kind::ForkSession, &json!({ "sessionId": s, "options": { "atLogId": 0 } }));
  assert!(err.message.contains("options.atLogId"), "{err}");
  let err = refused_when_read(&conn, Kind::ForkSession, &json!({ "sessionId": s, "options": { "at": 1 } }));
  assert!(err.message.contains("unknown field `at`"), "{err}");
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn a_fork_s_copies_are_found_by_search_with_their_search_text_and_the_index_stays_exact() {
  use crate::forks::{self, ForkRequest};
  use crate::search::{index, search_logs, LogSearch};
  let (conn, s) = setup();
  let said = logs::add(&conn, &super::support::new_log(&s, None, json!({ "text": "quokka sighting" }))).unwrap();
  let captioned =
    NewLog { search_text: Some("wombat caption".into()), ..super::support::new_log(&s, None, json!({ "png": "…" })) };
  logs::add(&conn, &captioned).unwrap();
  streamed(&conn, &s, json!({ "text": "numbat" }));
  index::drain(&conn).unwrap();
  // The fork is written as the writer writes: the pending copies are indexed before commit.
  conn.execute_batch("BEGIN IMMEDIATE").unwrap();
  let fork = forks::fork(&conn, &ForkRequest { source: s.clone(), ..Default::default() }).unwrap();
  index::drain(&conn).unwrap();
  conn.execute_batch("COMMIT").unwrap();
  assert_eq!(index::check(&conn).unwrap(), Vec::<String>::new());
  let found = |query: &str| -> Vec<(String, LogStatus)> {
    let search = LogSearch { query: query.into(), session_id: Some(fork.session.id.clone()), limit: 10, ..Default::default() };
    search_logs(&conn, &search).unwrap().items.into_iter().map(|h| (h.log.session_id, h.log.status)).collect()
  };
  assert_eq!(found("quokka"), [(fork.session.id.clone(), LogStatus::Complete)]);
  assert_eq!(found("wombat"), [(fork.session.id.clone(), LogStatus::Complete)]);
  assert!(found("png").is_empty(), "a copy with search text is not found by its content's text");
  assert_eq!(found("numbat"), [(fork.session.id.clone(), LogStatus::Pending)]);
  // The source's own entries are still found, once each.
  let all = search_logs(&conn, &LogSearch { query: "quokka".into(), limit: 10, ..Default::default() }).unwrap();
  let mut ids: Vec<i64> = all.items.iter().map(|h| h.log.id).collect();
  ids.sort_unstable();
  assert_eq!(ids.len(), 2);
  assert_eq!(ids[0], said.id);
}
