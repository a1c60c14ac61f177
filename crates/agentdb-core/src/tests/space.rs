//! Space: new files are incremental, compact hands freed pages back (incrementally, or with
//! VACUUM on a file that is not), a full disk loses nothing, and stats finds the largest
//! sessions and their largest logs.

use rusqlite::Connection;
use serde_json::json;

use super::support::{agent, log, new_log, session};
use crate::connection::{open_writer, Location, OpenOptions};
use crate::error::ErrorCode;
use crate::logs;
use crate::migrations::migrator::{migrate, MigrateOptions};
use crate::migrations::source::MigrationSet;
use crate::space::{compact, finish, start, stats, step, CompactMode, CHUNK_PAGES};
use crate::test_support::{tmpfs, TempDir};

fn open(path: &std::path::Path) -> Connection {
  let mut conn = open_writer(&Location::File(path.to_path_buf()), &OpenOptions::default()).unwrap();
  migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
  conn
}

fn pragma(conn: &Connection, name: &str) -> i64 {
  conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
}

/// One session holding `n` logs of about 4 KiB each.
fn fill(conn: &Connection, n: usize) -> String {
  let a = agent(conn, "A");
  let s = session(conn, &a.id);
  conn.execute_batch("BEGIN").unwrap();
  for i in 0..n {
    logs::add(conn, &new_log(&s.id, None, json!({ "text": format!("{i} {}", "x".repeat(4000)) }))).unwrap();
  }
  conn.execute_batch("COMMIT").unwrap();
  s.id
}

fn file_size(path: &std::path::Path) -> u64 {
  std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_new_file_is_incremental_and_compact_hands_freed_pages_back_without_a_rewrite() {
  let dir = TempDir::new("space-incremental");
  let path = dir.join("agents.db");
  let conn = open(&path);
  assert_eq!(pragma(&conn, "auto_vacuum"), 2);
  let id = fill(&conn, 500);
  conn.execute("DELETE FROM session_logs WHERE session_id = ?1", [&id]).unwrap();
  conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
  let free = pragma(&conn, "freelist_count");
  assert!(free > 400, "{free} free pages");
  let before = file_size(&path);
  let report = compact(&conn, false).unwrap();
  assert_eq!(report.mode, CompactMode::Incremental);
  assert!(report.checkpointed);
  assert_eq!(report.bytes_before, before);
  assert_eq!(pragma(&conn, "freelist_count"), 0);
  assert_eq!(report.bytes_after, file_size(&path));
  assert!(report.bytes_after + free as u64 * 4096 / 2 < report.bytes_before, "{report:?}");
  let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(ok, "ok");
}

#[test]
fn an_incremental_compaction_hands_pages_back_in_bounded_steps_each_committed() {
  let dir = TempDir::new("space-steps");
  let conn = open(&dir.join("agents.db"));
  let id = fill(&conn, 3000);
  conn.execute("DELETE FROM session_logs WHERE session_id = ?1", [&id]).unwrap();
  assert!(pragma(&conn, "freelist_count") > CHUNK_PAGES, "{} free pages", pragma(&conn, "freelist_count"));
  let started = start(&conn, false).unwrap();
  let mut steps = 0;
  loop {
    let before = pragma(&conn, "freelist_count");
    let more = step(&conn).unwrap();
    steps += 1;
    assert!(conn.is_autocommit(), "a step left its transaction open");
    let handed_back = before - pragma(&conn, "freelist_count");
    assert!(handed_back > 0 && handed_back <= CHUNK_PAGES, "step {steps} handed back {handed_back} pages");
    if !more {
      break;
    }
  }
  assert!(steps >= 2, "{steps} step(s)");
  assert_eq!(pragma(&conn, "freelist_count"), 0);
  let report = finish(&conn, started).unwrap();
  assert_eq!(report.mode, CompactMode::Incremental);
  assert!(report.bytes_after < report.bytes_before, "{report:?}");
  let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(ok, "ok");
}

#[test]
fn a_file_that_is_not_incremental_is_rewritten_and_becomes_incremental() {
  let dir = TempDir::new("space-legacy");
  let path = dir.join("agents.db");
  // A file created by another tool, without auto_vacuum.
  Connection::open(&path).unwrap().execute_batch("CREATE TABLE other (x); INSERT INTO other VALUES (1)").unwrap();
  let conn = open(&path);
  assert_eq!(pragma(&conn, "auto_vacuum"), 0);
  let id = fill(&conn, 200);
  conn.execute("DELETE FROM session_logs WHERE session_id = ?1", [&id]).unwrap();
  let report = compact(&conn, false).unwrap();
  assert_eq!(report.mode, CompactMode::Full);
  assert!(report.bytes_after < report.bytes_before, "{report:?}");
  assert_eq!(pragma(&conn, "auto_vacuum"), 2);
  assert_eq!(pragma(&conn, "freelist_count"), 0);
  let kept: i64 = conn.query_row("SELECT x FROM other", [], |r| r.get(0)).unwrap();
  assert_eq!(kept, 1);
  // full: true rewrites an incremental file too.
  assert_eq!(compact(&conn, true).unwrap().mode, CompactMode::Full);
}

#[test]
fn a_full_disk_refuses_the_rewrite_with_full_and_loses_nothing() {
  let dir = TempDir::new("space-full");
  let source = dir.join("source.db");
  {
    let conn = open(&source);
    fill(&conn, 150);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
  }
  let small = dir.join("small");
  let Some(_mounted) = tmpfs(&small, "1m") else {
    eprintln!("skipped: mounting a small file system needs root");
    return;
  };
  let path = small.join("agents.db");
  std::fs::copy(&source, &path).unwrap();
  assert!(file_size(&path) > 600_000, "{}", file_size(&path));
  let conn = open(&path);
  let before: i64 = conn.query_row("SELECT count(*) FROM session_logs", [], |r| r.get(0)).unwrap();
  let err = compact(&conn, true).unwrap_err();
  assert_eq!(err.code, ErrorCode::Full, "{err:?}");
  let after: i64 = conn.query_row("SELECT count(*) FROM session_logs", [], |r| r.get(0)).unwrap();
  assert_eq!(after, before);
  let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(ok, "ok");
  assert!(conn.is_autocommit());
}

#[test]
fn stats_names_the_largest_sessions_and_their_largest_log() {
  let dir = TempDir::new("space-stats");
  let conn = open(&dir.join("agents.db"));
  let a = agent(&conn, "A");
  let small = session(&conn, &a.id);
  log(&conn, &small.id, None);
  let big = session(&conn, &a.id);
  log(&conn, &big.id, None);
  let huge = logs::add(&conn, &new_log(&big.id, None, json!({ "text": "y".repeat(100_000) }))).unwrap();
  let report = stats(&conn, 10).unwrap();
  assert_eq!(report.auto_vacuum, "incremental");
  assert_eq!(report.largest_sessions.len(), 2);
  let first = &report.largest_sessions[0];
  assert_eq!((first.session_id.as_str(), first.logs, first.largest_log_id), (big.id.as_str(), 2, huge.id));
  assert_eq!(first.largest_log_bytes, huge.content.get().len() as u64);
  assert_eq!(report.largest_sessions[1].session_id, small.id);
  let rows = |table: &str| report.tables.iter().find(|t| t.table == table).map(|t| t.rows);
  assert_eq!((rows("agents"), rows("sessions"), rows("session_logs")), (Some(1), Some(2), Some(3)));
  assert!(report.pages > 0 && report.file_bytes + report.wal_bytes > 0, "{report:?}");
  assert_eq!(report.free_bytes, report.free_pages * report.page_size);
  assert_eq!(stats(&conn, 1).unwrap().largest_sessions.len(), 1);
}
