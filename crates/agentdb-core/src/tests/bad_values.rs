//! Rows holding values of the wrong type, as the sqlite3 shell or another tool can write
//! them: every typed reader rejects with `BAD_VALUE` naming the table, the row and the
//! column, and the integrity check lists the rows.

use rusqlite::Connection;

use super::support::{agent, db, log, session};
use crate::error::{Error, ErrorCode};
use crate::logs;
use crate::maintenance::integrity_check;
use crate::page::{Order, PageRequest};
use crate::sessions::{self, Include, SessionOrder};
use crate::trash::Trash;
use crate::{agents, stored::BadValue};

/// Writes `sql` past the CHECKs that keep such values out, as a tool that switches them off
/// (or a file written before them) would.
fn write_past_checks(conn: &Connection, sql: &str) {
  conn.execute_batch(&format!("PRAGMA ignore_check_constraints = ON; {sql}; PRAGMA ignore_check_constraints = OFF")).unwrap();
}

fn assert_bad_value<T: std::fmt::Debug>(result: crate::error::Result<T>, table: &str, row: &str, column: &str, holds: &str) {
  let err: Error = result.expect_err("the row should be refused");
  assert_eq!(err.code, ErrorCode::BadValue, "{err}");
  for part in [format!("{table} row {row}"), format!("column {column}"), holds.to_string()] {
    assert!(err.message.contains(&part), "{part:?} missing from {err}");
  }
}

fn page() -> PageRequest {
  PageRequest::new(None, None, None).unwrap()
}

#[test]
fn an_agent_with_a_blob_in_a_json_column_is_named_by_every_reader() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  write_past_checks(&conn, &format!("UPDATE agents SET configuration = x'7b7d' WHERE id = '{}'", a.id));
  let row = format!("{:?}", a.id);
  let holds = "a blob of 2 bytes";
  assert_bad_value(agents::get(&conn, &a.id, Trash::Exclude), "agents", &row, "configuration", holds);
  assert_bad_value(agents::list(&conn, Trash::Exclude, None, &page()), "agents", &row, "configuration", holds);
  assert_bad_value(sessions::get_with_agent(&conn, &s.id, Trash::Exclude), "agents", &row, "configuration", holds);
  // The session alone reads: its own row is sound.
  sessions::get(&conn, &s.id).unwrap().unwrap();
}

#[test]
fn a_session_with_a_blob_list_or_a_text_step_limit_is_named_by_every_reader() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  write_past_checks(&conn, &format!("UPDATE sessions SET sub_agent_ids = x'5b5d' WHERE id = '{}'", s.id));
  let row = format!("{:?}", s.id);
  assert_bad_value(sessions::get(&conn, &s.id), "sessions", &row, "sub_agent_ids", "a blob of 2 bytes");
  for order in [SessionOrder::Created, SessionOrder::Activity] {
    let listed = sessions::list(&conn, Trash::Exclude, None, None, order, Include::default(), &page());
    assert_bad_value(listed, "sessions", &row, "sub_agent_ids", "a blob of 2 bytes");
  }
  assert_bad_value(
    sessions::get_with_agent(&conn, &s.id, Trash::Exclude),
    "sessions",
    &row,
    "sub_agent_ids",
    "a blob of 2 bytes",
  );
  write_past_checks(&conn, &format!("UPDATE sessions SET sub_agent_ids = '[]', max_steps = 'many' WHERE id = '{}'", s.id));
  assert_bad_value(sessions::get(&conn, &s.id), "sessions", &row, "max_steps", "the text \"many\"");
}

#[test]
fn a_log_with_an_unknown_role_or_blob_content_is_named_by_every_reader() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let entry = log(&conn, &s.id, None);
  write_past_checks(&conn, &format!("UPDATE session_logs SET role = 'robot' WHERE id = {}", entry.id));
  let row = entry.id.to_string();
  let holds = "the text \"robot\"";
  assert_bad_value(logs::get(&conn, entry.id), "session_logs", &row, "role", holds);
  assert_bad_value(logs::list(&conn, &s.id, Order::Ascending, &page()), "session_logs", &row, "role", holds);
  assert_bad_value(logs::latest(&conn, &s.id, &page()), "session_logs", &row, "role", holds);
  assert_bad_value(logs::tree(&conn, &s.id), "session_logs", &row, "role", holds);
  write_past_checks(&conn, &format!("UPDATE session_logs SET role = 'user', content = x'00' WHERE id = {}", entry.id));
  assert_bad_value(logs::get(&conn, entry.id), "session_logs", &row, "content", "a blob of 1 byte");
}

#[test]
fn the_integrity_check_lists_every_row_holding_a_bad_value() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let entry = log(&conn, &s.id, None);
  assert!(integrity_check(&conn, false).unwrap().ok);
  write_past_checks(
    &conn,
    &format!(
      "UPDATE agents SET mcps = x'5b5d' WHERE id = '{}'; UPDATE session_logs SET metadata = x'00' WHERE id = {}",
      a.id, entry.id
    ),
  );
  let report = integrity_check(&conn, false).unwrap();
  assert!(!report.ok);
  assert_eq!(report.bad_value_count, 2);
  let found: Vec<(&str, &str, &str, &str)> =
    report.bad_values.iter().map(|b: &BadValue| (b.table, b.row_id.as_str(), b.column.as_str(), b.holds.as_str())).collect();
  let agent_row = format!("{:?}", a.id);
  let log_row = entry.id.to_string();
  assert_eq!(
    found,
    [
      ("agents", agent_row.as_str(), "mcps", "a blob of 2 bytes"),
      ("session_logs", log_row.as_str(), "metadata", "a blob of 1 byte")
    ]
  );
}

#[test]
fn ids_beyond_2_to_the_53_are_refused_not_rounded() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let parent = log(&conn, &s.id, None);
  let big = 9_007_199_254_740_993_i64;
  conn
    .execute_batch(&format!(
      "INSERT INTO session_logs (id, session_id, parent_id, role, type, content) VALUES ({big}, '{}', {}, 'user', 'message', '{{}}')",
      s.id, parent.id
    ))
    .unwrap();
  let err = logs::get(&conn, big).unwrap_err();
  assert_eq!(err.code, ErrorCode::BadValue, "{err}");
  assert!(err.message.contains(&format!("session_logs row {big}: column id")) && err.message.contains("2^53"), "{err}");
  assert_eq!(logs::list(&conn, &s.id, Order::Ascending, &page()).unwrap_err().code, ErrorCode::BadValue);
  // The next id SQLite picks is beyond it too: the append is refused, and leaves no row
  // once its savepoint is rolled back.
  conn.execute_batch("SAVEPOINT w").unwrap();
  let err = logs::add(&conn, &super::support::new_log(&s.id, None, serde_json::json!({}))).unwrap_err();
  assert_eq!(err.code, ErrorCode::BadValue, "{err}");
  conn.execute_batch("ROLLBACK TO w; RELEASE w").unwrap();
  // Raw SQL inserting such a rowid is refused too; a statement inserting nothing is not.
  let none = crate::sql::Params::Positional(vec![]);
  let err = crate::sql::execute(
    &conn,
    &format!(
      "INSERT INTO session_logs (id, session_id, role, type, content) VALUES ({}, '{}', 'user', 'message', '1')",
      big + 1,
      s.id
    ),
    &none,
  )
  .unwrap_err();
  assert_eq!(err.code, ErrorCode::BadValue, "{err}");
  crate::sql::execute(&conn, "UPDATE agents SET name = 'B'", &none).unwrap();
}

#[test]
fn a_parent_cycle_made_by_raw_sql_is_named_not_dropped_from_the_tree() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let root = log(&conn, &s.id, None);
  let first = log(&conn, &s.id, Some(root.id));
  let second = log(&conn, &s.id, Some(first.id));
  assert_eq!(logs::tree(&conn, &s.id).unwrap().matches("\"id\"").count(), 3);
  // first -> second -> first: neither reaches the root any more.
  conn.execute_batch(&format!("UPDATE session_logs SET parent_id = {} WHERE id = {}", second.id, first.id)).unwrap();
  let err = logs::tree(&conn, &s.id).unwrap_err();
  assert_eq!(err.code, ErrorCode::BadValue, "{err}");
  assert!(
    err.message.contains(&format!("session_logs rows {}, {} ", first.id, second.id)) && err.message.contains("cycle"),
    "{err}"
  );
  conn.execute_batch(&format!("UPDATE session_logs SET parent_id = NULL WHERE id = {}", first.id)).unwrap();
  assert_eq!(logs::tree(&conn, &s.id).unwrap().matches("\"id\"").count(), 3);
}
