//! The trash: soft deletes of agents and sessions, what they hide, the writes they refuse,
//! restoring exactly what was trashed, and the migration that adds it.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{agent, code, db, log, new_log, session, snapshot};
use crate::command::{Command, Kind, Outcome};
use crate::error::ErrorCode;
use crate::migrations::migrator::{migrate, rollback_to, MigrateOptions, RollbackOptions, Target};
use crate::migrations::source::{MigrationSet, BUILTIN, LIBRARY};
use crate::page::PageRequest;
use crate::search::{index, search_logs, search_sessions, LogSearch, SessionSearch};
use crate::sessions::{self, Include, SessionOrder};
use crate::trash::Trash;
use crate::{agents, forks};

fn run(conn: &Connection, kind: Kind, args: Value) -> crate::error::Result<Outcome> {
  Command::decode(kind, &args.to_string())?.run(conn)
}

fn deleted(outcome: crate::error::Result<Outcome>) -> bool {
  match outcome.unwrap() {
    Outcome::Deleted(done) => done,
    other => panic!("not a delete's outcome: {other:?}"),
  }
}

/// Adds a log whose text holds "needle".
fn add_needle(conn: &Connection, session_id: &str) {
  crate::logs::add(conn, &new_log(session_id, None, json!("a needle in the log"))).unwrap();
}

fn listed(conn: &Connection, trash: Trash, order: SessionOrder) -> Vec<String> {
  let page = sessions::list(conn, trash, None, None, order, Include::default(), &PageRequest::default()).unwrap();
  page.items.into_iter().map(|s| s.session.id).collect()
}

fn listed_agents(conn: &Connection, trash: Trash) -> Vec<String> {
  agents::list(conn, trash, None, &PageRequest::default()).unwrap().items.into_iter().map(|a| a.id).collect()
}

fn index_now(conn: &Connection) {
  conn.execute_batch("BEGIN IMMEDIATE").unwrap();
  index::drain(conn).unwrap();
  conn.execute_batch("COMMIT").unwrap();
}

fn found_logs(conn: &Connection, query: &str) -> Vec<String> {
  let hits = search_logs(conn, &LogSearch { query: query.into(), limit: 100, ..Default::default() }).unwrap();
  let mut ids: Vec<String> = hits.items.into_iter().map(|h| h.log.session_id).collect();
  ids.sort();
  ids
}

fn found_sessions(conn: &Connection, query: &str) -> Vec<String> {
  let hits = search_sessions(conn, &SessionSearch { query: query.into(), limit: 100, ..Default::default() }).unwrap();
  let mut ids: Vec<String> = hits.into_iter().map(|h| h.session.id).collect();
  ids.sort();
  ids
}

#[test]
fn a_trashed_session_is_hidden_from_lists_counts_lookups_search_and_forks_and_comes_back_exactly() {
  let conn = db();
  let a = agent(&conn, "A");
  let kept = session(&conn, &a.id);
  let doomed = session(&conn, &a.id);
  conn.execute("UPDATE sessions SET name = 'needle talk' WHERE id = ?1", [&doomed.id]).unwrap();
  add_needle(&conn, &kept.id);
  add_needle(&conn, &doomed.id);
  let fork = forks::fork(&conn, &forks::ForkRequest { source: kept.id.clone(), ..Default::default() }).unwrap();
  conn.execute("UPDATE sessions SET name = 'needle fork' WHERE id = ?1", [&fork.session.id]).unwrap();
  index_now(&conn);
  let before = snapshot(&conn);
  let live = |conn: &Connection| listed(conn, Trash::Exclude, SessionOrder::Created);
  assert_eq!(live(&conn).len(), 3);

  assert!(deleted(run(&conn, Kind::DeleteSession, json!({ "id": doomed.id, "options": { "soft": true } }))));
  assert!(deleted(run(&conn, Kind::DeleteSession, json!({ "id": fork.session.id, "options": { "soft": true } }))));
  assert!(!deleted(run(&conn, Kind::DeleteSession, json!({ "id": doomed.id, "options": { "soft": true } }))), "already there");
  for order in [SessionOrder::Created, SessionOrder::Activity] {
    assert_eq!(listed(&conn, Trash::Exclude, order), [kept.id.as_str()]);
    let mut trashed = listed(&conn, Trash::Only, order);
    trashed.sort();
    let mut expected = vec![doomed.id.clone(), fork.session.id.clone()];
    expected.sort();
    assert_eq!(trashed, expected);
  }
  assert_eq!(sessions::count(&conn, None).unwrap(), 1);
  assert_eq!(sessions::count(&conn, Some(&a.id)).unwrap(), 1);
  assert!(sessions::find(&conn, &doomed.id, Trash::Exclude).unwrap().is_none());
  assert!(sessions::get_with_agent(&conn, &doomed.id, Trash::Exclude).unwrap().is_none());
  let shown = sessions::find(&conn, &doomed.id, Trash::Include).unwrap().unwrap();
  assert!(shown.deleted_at.is_some());
  assert!(sessions::get_with_agent(&conn, &doomed.id, Trash::Include).unwrap().is_some());
  assert_eq!(found_logs(&conn, "needle"), [kept.id.as_str()]);
  assert_eq!(found_sessions(&conn, "needle"), [kept.id.as_str()]);
  assert!(forks::list(&conn, &kept.id).unwrap().is_empty());
  assert!(forks::get(&conn, &fork.session.id).unwrap().is_none());

  assert!(deleted(run(&conn, Kind::RestoreSession, json!({ "id": doomed.id }))));
  assert!(deleted(run(&conn, Kind::RestoreSession, json!({ "id": fork.session.id }))));
  assert!(!deleted(run(&conn, Kind::RestoreSession, json!({ "id": doomed.id }))), "not in the trash any more");
  assert_eq!(snapshot(&conn), before, "restored exactly");
  assert_eq!(found_sessions(&conn, "needle").len(), 3);
  assert_eq!(forks::list(&conn, &kept.id).unwrap().len(), 1);
  assert_eq!(code(run(&conn, Kind::RestoreSession, json!({ "id": "nobody" }))), ErrorCode::NotFound);
}

#[test]
fn writes_into_the_trash_are_refused_and_write_nothing() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let entry = log(&conn, &s.id, None);
  let other = agent(&conn, "B");
  assert!(deleted(run(&conn, Kind::DeleteSession, json!({ "id": s.id, "options": { "soft": true } }))));
  let before = snapshot(&conn);
  let refused = [
    (Kind::AddLog, json!({ "input": { "sessionId": s.id, "role": "user", "type": "message", "content": "x" } })),
    (Kind::AddLogs, json!({ "inputs": [{ "sessionId": s.id, "role": "user", "type": "message", "content": "x" }] })),
    (Kind::UpdateLog, json!({ "id": entry.id, "patch": { "content": "y" } })),
    (Kind::AppendLogText, json!({ "id": entry.id, "options": { "path": "$", "delta": "y" } })),
    (Kind::FinishLog, json!({ "id": entry.id, "options": { "status": "complete" } })),
    (Kind::DeleteLog, json!({ "id": entry.id, "options": { "children": "delete" } })),
    (Kind::DeleteLogs, json!({ "sessionId": s.id })),
    (Kind::UpdateSession, json!({ "id": s.id, "patch": { "name": "n" } })),
    (Kind::UpdateSessionStatus, json!({ "id": s.id, "status": "running" })),
    (Kind::ForkSession, json!({ "sessionId": s.id })),
  ];
  for (kind, args) in &refused {
    assert_eq!(code(run(&conn, *kind, args.clone())), ErrorCode::Trashed, "{kind:?}");
  }
  assert_eq!(snapshot(&conn), before);
  assert!(deleted(run(&conn, Kind::DeleteAgent, json!({ "id": other.id, "options": { "soft": true } }))));
  let before_agent = snapshot(&conn);
  assert_eq!(code(run(&conn, Kind::UpdateAgent, json!({ "id": other.id, "patch": { "name": "n" } }))), ErrorCode::Trashed);
  assert_eq!(code(run(&conn, Kind::CreateSession, json!({ "input": { "mainAgentId": other.id } }))), ErrorCode::Trashed);
  let live = session(&conn, &a.id);
  let moved = json!({ "id": live.id, "patch": { "mainAgentId": other.id } });
  assert_eq!(code(run(&conn, Kind::UpdateSession, moved)), ErrorCode::Trashed);
  conn.execute("DELETE FROM sessions WHERE id = ?1", [&live.id]).unwrap();
  assert_eq!(snapshot(&conn), before_agent);
  // A hard delete of what is in the trash is not refused.
  assert!(deleted(run(&conn, Kind::DeleteSession, json!({ "id": s.id }))));
  assert!(sessions::get(&conn, &s.id).unwrap().is_none());
}

#[test]
fn restoring_an_agent_restores_the_sessions_trashed_with_it_and_not_one_trashed_before() {
  let conn = db();
  let a = agent(&conn, "A");
  let own = session(&conn, &a.id);
  let with_agent = session(&conn, &a.id);
  let other = agent(&conn, "B");
  let elsewhere = session(&conn, &other.id);
  assert!(deleted(run(&conn, Kind::DeleteSession, json!({ "id": own.id, "options": { "soft": true } }))));
  assert!(deleted(run(&conn, Kind::DeleteAgent, json!({ "id": a.id, "options": { "soft": true } }))));
  assert_eq!(listed_agents(&conn, Trash::Exclude), [other.id.as_str()]);
  assert_eq!(listed_agents(&conn, Trash::Only), [a.id.as_str()]);
  assert_eq!(agents::count(&conn).unwrap(), 1);
  assert!(agents::get(&conn, &a.id, Trash::Exclude).unwrap().is_none());
  assert!(!agents::exists_live(&conn, &a.id).unwrap());
  assert_eq!(listed(&conn, Trash::Exclude, SessionOrder::Activity), [elsewhere.id.as_str()]);
  assert_eq!(sessions::count(&conn, Some(&a.id)).unwrap(), 0);
  // A session that went with its agent comes back only with it.
  assert_eq!(code(run(&conn, Kind::RestoreSession, json!({ "id": with_agent.id }))), ErrorCode::Trashed);

  assert!(deleted(run(&conn, Kind::RestoreAgent, json!({ "id": a.id }))));
  assert!(!deleted(run(&conn, Kind::RestoreAgent, json!({ "id": a.id }))));
  assert_eq!(listed(&conn, Trash::Only, SessionOrder::Created), [own.id.as_str()], "trashed before the agent: stays");
  let mut back = listed(&conn, Trash::Exclude, SessionOrder::Created);
  back.sort();
  let mut expected = vec![with_agent.id.clone(), elsewhere.id.clone()];
  expected.sort();
  assert_eq!(back, expected);
  assert!(agents::get(&conn, &a.id, Trash::Exclude).unwrap().unwrap().deleted_at.is_none());
  assert_eq!(code(run(&conn, Kind::RestoreAgent, json!({ "id": "nobody" }))), ErrorCode::NotFound);
  // A hard delete of an agent removes its sessions in the trash too.
  assert!(deleted(run(&conn, Kind::DeleteAgent, json!({ "id": a.id }))));
  assert!(sessions::get(&conn, &own.id).unwrap().is_none());
}

#[test]
fn a_cursor_of_the_trash_is_refused_by_the_list_without_it() {
  let conn = db();
  let a = agent(&conn, "A");
  for _ in 0..3 {
    let s = session(&conn, &a.id);
    sessions_trash(&conn, &s.id);
  }
  let first = PageRequest::new(Some(1), None, None).unwrap();
  let page = sessions::list(&conn, Trash::Only, None, None, SessionOrder::Created, Include::default(), &first).unwrap();
  let cursor = crate::page::Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
  let next = PageRequest::new(Some(1), None, Some(cursor)).unwrap();
  let err = sessions::list(&conn, Trash::Exclude, None, None, SessionOrder::Created, Include::default(), &next).unwrap_err();
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  assert_eq!(
    sessions::list(&conn, Trash::Only, None, None, SessionOrder::Created, Include::default(), &next).unwrap().items.len(),
    1
  );
}

fn sessions_trash(conn: &Connection, id: &str) {
  assert!(deleted(run(conn, Kind::DeleteSession, json!({ "id": id, "options": { "soft": true } }))));
}

#[test]
fn bad_delete_options_are_refused() {
  let conn = db();
  let a = agent(&conn, "A");
  for options in [json!({ "soft": 1 }), json!({ "hard": true }), json!("soft")] {
    assert_eq!(code(run(&conn, Kind::DeleteAgent, json!({ "id": a.id, "options": options }))), ErrorCode::InvalidArgument);
  }
  assert!(agents::exists_live(&conn, &a.id).unwrap());
}

#[test]
fn the_trash_migration_goes_down_and_up_again() {
  let trash = BUILTIN.iter().position(|m| m.name == "trash").expect("a built-in trash migration");
  let mut conn = db();
  let a = agent(&conn, "A");
  session(&conn, &a.id);
  let previous = BUILTIN[trash - 1].id;
  let target = Target { namespace: Some(LIBRARY.into()), id: previous.into() };
  rollback_to(&mut conn, &MigrationSet::builtin(), &target, &RollbackOptions::default()).unwrap();
  let columns: i64 =
    conn.query_row("SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'deleted_at'", [], |r| r.get(0)).unwrap();
  assert_eq!(columns, 0);
  migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
  assert_eq!(sessions::count(&conn, None).unwrap(), 1);
}
