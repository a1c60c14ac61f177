//! Fills a database with the benchmark's seeded data: agents, sessions, a few logs in every
//! session, and two long sessions (`session-mid` for the latest-logs trial, `session-big` for
//! paging).

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::workload::{agent_id, make_log, session_id};

/// Timestamps start here (2026-01-01T00:00:00.000Z) and advance a millisecond per row.
const EPOCH_MS: i64 = 1_767_225_600_000;
/// Rows written per transaction.
const CHUNK: u64 = 50_000;

/// How much to seed.
pub struct SeedSize {
  /// Agents `agent-0000`…
  pub agents: u64,
  /// Sessions `session-000000`…, each with `logs_per_session` logs.
  pub sessions: u64,
  /// Logs in every ordinary session.
  pub logs_per_session: u64,
  /// Logs in `session-mid`.
  pub mid_logs: u64,
  /// Logs in `session-big`.
  pub big_logs: u64,
}

/// Writes the seeded rows into a migrated database.
pub fn seed(conn: &mut Connection, size: &SeedSize) {
  let tx = conn.transaction().unwrap();
  {
    let mut agent = tx.prepare(include_str!("../../sql/seed_agent.sql")).unwrap();
    for i in 0..size.agents {
      let kind = ["claudeCode", "codex", "custom"][(i % 3) as usize];
      agent
        .execute(params![
          agent_id(i),
          kind,
          format!("Agent {i}"),
          "Reviews code for security, performance and maintainability",
          "Review every change for security issues first, then for performance, then for style.",
          "claude-sonnet",
          "claude-haiku",
          r#"["file_search","code_analysis"]"#,
          "[]",
          r#"["coding-standards"]"#,
          r#"{"temperature":0.1,"top_p":0.9}"#,
          r#"["/src","/tests"]"#,
          "readOnly",
          20,
          EPOCH_MS + i as i64,
        ])
        .unwrap();
    }
    let mut session = tx.prepare(include_str!("../../sql/seed_session.sql")).unwrap();
    let named = [("session-mid".to_string(), 0), ("session-big".to_string(), 1)];
    let ordinary = (0..size.sessions).map(|i| (session_id(i), i));
    for (id, i) in named.into_iter().chain(ordinary) {
      let status = ["idle", "running", "completed", "failed", "stopped"][(i % 5) as usize];
      session
        .execute(params![
          id,
          format!("Session {i}"),
          agent_id(i % size.agents),
          "Review the authentication module for security issues",
          status,
          (i % 3 == 0).then_some("claude-opus"),
          (i % 5 == 0).then_some(r#"["file_search"]"#),
          (i % 4 == 0).then_some(40),
          EPOCH_MS + i as i64,
        ])
        .unwrap();
    }
  }
  tx.commit().unwrap();
  for i in 0..size.sessions {
    append_seeded(conn, &session_id(i), size.logs_per_session);
  }
  append_seeded(conn, "session-mid", size.mid_logs);
  append_seeded(conn, "session-big", size.big_logs);
}

/// Appends `count` logs to `session`, a millisecond apart.
fn append_seeded(conn: &mut Connection, session: &str, count: u64) {
  let mut done = 0;
  while done < count {
    let tx = conn.transaction().unwrap();
    {
      let mut insert = tx.prepare_cached(include_str!("../../sql/seed_log.sql")).unwrap();
      for i in done..(done + CHUNK).min(count) {
        let log = make_log(i, session);
        let metadata = log.metadata.as_ref().map(Value::to_string);
        insert
          .execute(params![log.session_id, log.role, log.kind, log.content.to_string(), metadata, EPOCH_MS + i as i64])
          .unwrap();
      }
    }
    tx.commit().unwrap();
    done = (done + CHUNK).min(count);
  }
}
