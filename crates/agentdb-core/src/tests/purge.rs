//! Purge: nothing without a criterion, each criterion and their combination, a dry run that
//! counts exactly what a run removes, bounded chunks, and the search index kept exact.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{agent, code, db, log, session, snapshot};
use crate::command::{Command, Kind};
use crate::error::ErrorCode;
use crate::input::tree::decode;
use crate::purge::{count, transaction, PurgeReport, PurgeRequest};
use crate::search::index;

fn request(options: Value) -> crate::error::Result<PurgeRequest> {
  decode(&options.to_string(), "", |value, _| PurgeRequest::read(value))
}

/// Runs every chunk of a purge, as the writer does, each in its own transaction, which
/// commits with nothing left for the search index to do.
fn purge(conn: &Connection, options: Value) -> PurgeReport {
  let request = request(options).unwrap();
  let mut total = PurgeReport::default();
  let mut after = 0;
  loop {
    let (part, next) = transaction(conn, &request, after).unwrap();
    assert!(conn.is_autocommit(), "a chunk left its transaction open");
    assert!(!index::has_pending(conn).unwrap(), "a chunk left rows for the search index");
    total.sessions += part.sessions;
    total.logs += part.logs;
    total.bytes += part.bytes;
    total.agents += part.agents;
    total.chunks += part.chunks;
    match next {
      Some(last) => after = last,
      None => return total,
    }
  }
}

fn dry(conn: &Connection, options: Value) -> PurgeReport {
  count(conn, &request(options).unwrap()).unwrap()
}

fn ids(conn: &Connection) -> Vec<String> {
  let mut stmt = conn.prepare("SELECT id FROM sessions ORDER BY seq").unwrap();
  stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn set(conn: &Connection, id: &str, column: &str, value: &str) {
  assert_eq!(conn.execute(&format!("UPDATE sessions SET {column} = ?1 WHERE id = ?2"), [value, id]).unwrap(), 1);
}

fn same(a: PurgeReport, b: PurgeReport) {
  assert_eq!((a.sessions, a.logs, a.bytes, a.agents), (b.sessions, b.logs, b.bytes, b.agents));
}

#[test]
fn without_a_criterion_nothing_is_purged_and_bad_options_are_refused() {
  for options in [
    json!({}),
    json!({ "dryRun": true }),
    json!({ "olderThan": "yesterday" }),
    json!({ "keepLatestPerAgent": 0 }),
    json!({ "keepLatestPerAgent": 1.5 }),
    json!({ "sessionIds": "s1" }),
    json!({ "everything": true }),
  ] {
    assert_eq!(code(request(options.clone())), ErrorCode::InvalidArgument, "{options}");
  }
}

#[test]
fn a_dry_run_counts_exactly_what_the_run_removes_and_removes_nothing() {
  let conn = db();
  let a = agent(&conn, "A");
  let old = session(&conn, &a.id);
  let recent = session(&conn, &a.id);
  for _ in 0..3 {
    log(&conn, &old.id, None);
  }
  crate::logs::add(&conn, &super::support::new_log(&old.id, None, json!({ "text": "héllo" }))).unwrap();
  log(&conn, &recent.id, None);
  set(&conn, &old.id, "last_activity_at", "2020-01-01T00:00:00.000Z");
  let before = snapshot(&conn);
  let options = json!({ "olderThan": "2024-01-01T00:00:00.000Z" });
  let counted = dry(&conn, options.clone());
  assert_eq!(snapshot(&conn), before);
  assert!(counted.dry_run);
  let bytes: i64 = conn
    .query_row(
      "SELECT sum(length(CAST(content AS BLOB)) + coalesce(length(CAST(metadata AS BLOB)), 0)) FROM session_logs WHERE session_id = ?1",
      [&old.id],
      |r| r.get(0),
    )
    .unwrap();
  assert_eq!((counted.sessions, counted.logs, counted.bytes), (1, 4, bytes as u64));
  let done = purge(&conn, options);
  same(done, counted);
  assert!(!done.dry_run);
  assert_eq!(ids(&conn), [recent.id.as_str()]);
  assert_eq!(index::check(&conn).unwrap(), Vec::<String>::new());
}

#[test]
fn keep_latest_per_agent_keeps_each_agent_s_most_recently_active_sessions() {
  let conn = db();
  let a = agent(&conn, "A");
  let b = agent(&conn, "B");
  let a_sessions: Vec<String> = (0..4).map(|_| session(&conn, &a.id).id).collect();
  let b_only = session(&conn, &b.id);
  // The oldest session of A becomes the most recently active one.
  log(&conn, &a_sessions[0], None);
  let done = purge(&conn, json!({ "keepLatestPerAgent": 2 }));
  assert_eq!(done.sessions, 2);
  let mut left = ids(&conn);
  left.sort();
  let mut expected = vec![a_sessions[0].clone(), a_sessions[3].clone(), b_only.id];
  expected.sort();
  assert_eq!(left, expected);
}

#[test]
fn trashed_before_removes_the_old_trash_and_agents_left_empty_there_and_nothing_else() {
  let conn = db();
  let a = agent(&conn, "A");
  let live = session(&conn, &a.id);
  let old_trash = session(&conn, &a.id);
  let new_trash = session(&conn, &a.id);
  let gone = agent(&conn, "Gone");
  let gone_session = session(&conn, &gone.id);
  log(&conn, &gone_session.id, None);
  let soft = |kind: Kind, id: &str| {
    Command::decode(kind, &json!({ "id": id, "options": { "soft": true } }).to_string()).unwrap().run(&conn).unwrap();
  };
  soft(Kind::DeleteSession, &old_trash.id);
  soft(Kind::DeleteSession, &new_trash.id);
  soft(Kind::DeleteAgent, &gone.id);
  set(&conn, &old_trash.id, "deleted_at", "2020-01-01T00:00:00.000Z");
  set(&conn, &gone_session.id, "deleted_at", "2020-01-01T00:00:00.000Z");
  conn.execute("UPDATE agents SET deleted_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1", [&gone.id]).unwrap();
  let options = json!({ "trashedBefore": "2024-01-01T00:00:00.000Z" });
  let counted = dry(&conn, options.clone());
  assert_eq!((counted.sessions, counted.logs, counted.agents), (2, 1, 1));
  same(purge(&conn, options), counted);
  let mut left = ids(&conn);
  left.sort();
  let mut expected = vec![live.id, new_trash.id];
  expected.sort();
  assert_eq!(left, expected);
  assert!(!crate::agents::exists(&conn, &gone.id).unwrap());
  assert!(crate::agents::exists(&conn, &a.id).unwrap());
}

#[test]
fn criteria_combine_every_one_must_hold() {
  let conn = db();
  let a = agent(&conn, "A");
  let s: Vec<String> = (0..3).map(|_| session(&conn, &a.id).id).collect();
  set(&conn, &s[0], "last_activity_at", "2020-01-01T00:00:00.000Z");
  set(&conn, &s[1], "last_activity_at", "2020-01-01T00:00:00.000Z");
  let done = purge(&conn, json!({ "olderThan": "2024-01-01T00:00:00.000Z", "sessionIds": [s[1], s[2], "nobody"] }));
  assert_eq!(done.sessions, 1);
  assert_eq!(ids(&conn), [s[0].clone(), s[2].clone()]);
}

#[test]
fn a_large_purge_runs_in_bounded_chunks_of_whole_sessions() {
  let conn = db();
  let a = agent(&conn, "A");
  conn.execute_batch("BEGIN").unwrap();
  let mut all = Vec::new();
  for i in 0..450 {
    let s = session(&conn, &a.id);
    for _ in 0..(if i == 7 { 2500 } else { 3 }) {
      log(&conn, &s.id, None);
    }
    all.push(s.id);
  }
  conn.execute_batch("COMMIT").unwrap();
  index_all(&conn);
  let options = json!({ "sessionIds": all });
  let counted = dry(&conn, options.clone());
  let done = purge(&conn, options);
  same(done, counted);
  assert_eq!((done.sessions, done.logs), (450, 449 * 3 + 2500));
  // 7 sessions (the next has 2500 logs), that one alone, 8 of 50, 42, then the last finding none.
  assert_eq!(done.chunks, 12, "{done:?}");
  assert!(ids(&conn).is_empty());
  assert_eq!(index::check(&conn).unwrap(), Vec::<String>::new());
}

fn index_all(conn: &Connection) {
  conn.execute_batch("BEGIN IMMEDIATE").unwrap();
  index::drain(conn).unwrap();
  conn.execute_batch("COMMIT").unwrap();
}
