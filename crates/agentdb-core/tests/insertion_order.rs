//! The built-in migration that orders lists by an insertion key: agents and sessions get a
//! `seq` that only grows (assigned to rows inserted by any tool, never reused after the newest
//! row is deleted, kept by VACUUM), every row is kept, and its down migration restores the
//! schema of the migration before it.

use agentdb_core::command::{Command, Kind};
use agentdb_core::connection::{open_writer, Location, OpenOptions};
use agentdb_core::migrations::migrator::{self, MigrateOptions, RollbackOptions, Target};
use agentdb_core::migrations::source::MigrationSet;
use agentdb_core::migrations::validation::IssueCode;
use rusqlite::Connection;

/// The migration under test. Tests name it only here, so renumbering it changes one line.
const MIGRATION: &str = "004";

/// The id of the built-in migration that runs just before [`MIGRATION`].
fn previous() -> String {
  let set = MigrationSet::builtin();
  let ids: Vec<&str> = set.of_namespace("agentdb").map(|m| m.id.as_str()).collect();
  let at = ids.iter().position(|id| *id == MIGRATION).expect("the migration is built in");
  ids[at - 1].to_string()
}

fn library(id: &str) -> Target {
  Target { namespace: Some("agentdb".into()), id: id.into() }
}

fn migrate_to(conn: &mut Connection, id: &str) -> Vec<String> {
  let options = MigrateOptions { to: Some(library(id)), ..MigrateOptions::default() };
  let results = migrator::migrate(conn, &MigrationSet::builtin(), &options, &mut |_| {}).unwrap();
  results.into_iter().map(|r| r.migration.id).collect()
}

fn run(conn: &Connection, kind: Kind, args: &str) {
  Command::decode(kind, args).unwrap().run(conn).unwrap();
}

fn strings(conn: &Connection, sql: &str) -> Vec<String> {
  let mut stmt = conn.prepare(sql).unwrap();
  let width = stmt.column_count();
  let mut rows = stmt.query([]).unwrap();
  let mut out = Vec::new();
  while let Some(row) = rows.next().unwrap() {
    out
      .push((0..width).map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap())).collect::<Vec<_>>().join(", "));
  }
  out
}

/// Every row of the three tables in insertion order, without `seq` (the columns of the
/// migration before), and the AUTOINCREMENT high-water mark of the logs.
fn rows(conn: &Connection, order_by: &str) -> Vec<String> {
  let mut all = Vec::new();
  for table in ["agents", "sessions"] {
    let columns: Vec<String> = strings(conn, &format!("SELECT name FROM pragma_table_info('{table}') WHERE name <> 'seq'"));
    let columns = columns.iter().map(|c| c.trim_start_matches("Text(\"").trim_end_matches("\")")).collect::<Vec<_>>().join(", ");
    all.extend(strings(conn, &format!("SELECT {columns} FROM {table} ORDER BY {order_by}")));
  }
  all.extend(strings(conn, "SELECT * FROM session_logs ORDER BY id"));
  all.extend(strings(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'session_logs'"));
  all
}

fn schema(conn: &Connection) -> Vec<String> {
  strings(conn, "SELECT type, name, replace(sql, '\"', '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
}

fn seq(conn: &Connection, table: &str, id: &str) -> i64 {
  conn.query_row(&format!("SELECT seq FROM {table} WHERE id = ?1"), [id], |r| r.get(0)).unwrap()
}

fn drift(conn: &Connection) -> Vec<String> {
  let report = migrator::validate(conn, &MigrationSet::builtin()).unwrap();
  report.warnings.into_iter().filter(|w| w.code == IssueCode::SchemaDrift).map(|w| w.message).collect()
}

fn check_clean(conn: &Connection) {
  let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(integrity, "ok");
  let violations: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
  assert_eq!(violations, 0);
  // Only what the app added differs from what the migrations create.
  let drift = drift(conn);
  assert!(drift.iter().all(|m| m.contains(" app_")), "{drift:?}");
}

/// Agents and sessions whose ids sort unlike their insertion order, all stamped with one
/// millisecond, and logs.
fn seed(conn: &Connection) {
  // Plain SQL, as any tool writes it: the same on the schema before the migration and after
  // every later one.
  for i in 0..6 {
    let id = format!("a{}", (i * 5) % 6);
    conn
      .execute_batch(&format!(
        "INSERT INTO agents (id, name, model) VALUES ('{id}', 'A{i}', 'm'); \
         INSERT INTO sessions (id, main_agent_id) VALUES ('s{id}', '{id}'); \
         INSERT INTO session_logs (session_id, role, type, content) VALUES ('s{id}', 'user', 'message', '{i}');"
      ))
      .unwrap();
  }
  conn
    .execute_batch(
      "UPDATE agents SET created_at = '2026-01-01T00:00:00.000Z'; UPDATE sessions SET created_at = '2026-01-01T00:00:00.000Z';",
    )
    .unwrap();
}

#[test]
fn the_upgrade_keeps_every_row_in_insertion_order_and_down_restores_the_schema_before_it() {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  let before = previous();
  migrate_to(&mut conn, &before);
  seed(&conn);
  // What an app added to the library's tables: kept across the rebuild.
  conn
    .execute_batch("CREATE INDEX app_agents_name ON agents (name); CREATE VIEW app_sessions AS SELECT id FROM sessions;")
    .unwrap();
  let (rows_before, schema_before) = (rows(&conn, "rowid"), schema(&conn));

  assert_eq!(migrate_to(&mut conn, MIGRATION), [MIGRATION]);
  check_clean(&conn);
  assert_eq!(rows(&conn, "seq"), rows_before);
  let agent_order = strings(&conn, "SELECT id FROM agents ORDER BY seq");
  assert_eq!(agent_order, ["a0", "a5", "a4", "a3", "a2", "a1"].map(|id| format!("Text({id:?})")));
  assert!(
    schema(&conn).iter().any(|s| s.contains("app_agents_name")) && schema(&conn).iter().any(|s| s.contains("app_sessions"))
  );

  let undone =
    migrator::rollback_to(&mut conn, &MigrationSet::builtin(), &library(&before), &RollbackOptions::default()).unwrap();
  assert_eq!(undone.into_iter().map(|r| r.migration.id).collect::<Vec<_>>(), [MIGRATION]);
  check_clean(&conn);
  assert_eq!(schema(&conn), schema_before);
  assert_eq!(rows(&conn, "rowid"), rows_before);
  assert!(strings(&conn, "SELECT name FROM sqlite_sequence WHERE name IN ('agents', 'sessions')").is_empty());
}

#[test]
fn seq_only_grows_whoever_inserts_and_survives_vacuum() {
  let dir = std::env::temp_dir().join(format!("agentdb-seq-{}", std::process::id()));
  std::fs::create_dir_all(&dir).unwrap();
  let mut conn = open_writer(&Location::File(dir.join("seq.db")), &OpenOptions::default()).unwrap();
  migrator::migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
  seed(&conn);
  // Another tool inserts without seq: it still gets the next one.
  conn.execute_batch("INSERT INTO agents (id, name, model) VALUES ('raw', 'R', 'm')").unwrap();
  let raw = seq(&conn, "agents", "raw");
  assert_eq!(raw, seq(&conn, "agents", "a1") + 1);
  // Deleting the newest row does not give its key to the next one.
  conn.execute_batch("DELETE FROM agents WHERE id = 'raw'; DELETE FROM sessions WHERE id = 'sa1';").unwrap();
  run(&conn, Kind::CreateAgent, r#"{"input":{"id":"next","name":"N","model":"m"}}"#);
  run(&conn, Kind::CreateSession, r#"{"input":{"id":"snext","mainAgentId":"next"}}"#);
  assert_eq!(seq(&conn, "agents", "next"), raw + 1);
  assert_eq!(seq(&conn, "sessions", "snext"), seq(&conn, "sessions", "sa2") + 2);
  let order = |conn: &Connection| strings(conn, "SELECT id, seq FROM agents UNION ALL SELECT id, seq FROM sessions ORDER BY 1");
  let before = order(&conn);
  conn.execute_batch("DELETE FROM agents WHERE id = 'a0'; VACUUM;").unwrap();
  assert_eq!(order(&conn), before.into_iter().filter(|r| !r.contains("\"a0\"") && !r.contains("\"sa0\"")).collect::<Vec<_>>());
  drop(conn);
  std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_list_is_served_by_an_index_without_sorting() {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  migrator::migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
  seed(&conn);
  conn.execute_batch("ANALYZE").unwrap();
  // The shapes of the statements the lists run (page.rs's ListQuery), with a cursor.
  for sql in [
    "SELECT id FROM agents WHERE seq > 1 ORDER BY seq ASC LIMIT 10",
    "SELECT id FROM agents WHERE type = 'codex' AND seq > 1 ORDER BY seq ASC LIMIT 10",
    "SELECT id FROM sessions WHERE seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE status = 'idle' AND seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE main_agent_id = 'a1' AND seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE status = 'idle' AND main_agent_id = 'a1' AND seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE external_session_id = 'x' ORDER BY seq DESC LIMIT 1",
    "SELECT id FROM session_logs WHERE session_id = 'sa1' AND id > 1 ORDER BY id ASC LIMIT 10",
    "SELECT id FROM session_logs WHERE session_id = 'sa1' AND id < 9 ORDER BY id DESC LIMIT 10",
    // The sidebar (listSessions by last activity), its latest log, and the interrupted logs.
    "SELECT id FROM sessions WHERE last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE status = 'idle' AND last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE main_agent_id = 'a1' AND last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE status = 'idle' AND main_agent_id = 'a1' AND last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    "SELECT id FROM session_logs WHERE session_id = 'sa1' ORDER BY id DESC LIMIT 1",
    "SELECT id FROM session_logs WHERE status <> 'complete' AND status = 'interrupted' AND id > 1 ORDER BY id ASC LIMIT 10",
    // The lists with the trash's filter (trash.rs), in and out of the trash.
    "SELECT id FROM agents WHERE (deleted_at IS NOT NULL) = 0 AND seq > 1 ORDER BY seq ASC LIMIT 10",
    "SELECT id FROM agents WHERE (deleted_at IS NOT NULL) = 1 AND type = 'codex' AND seq > 1 ORDER BY seq ASC LIMIT 10",
    "SELECT id FROM sessions WHERE (deleted_at IS NOT NULL) = 0 AND seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE (deleted_at IS NOT NULL) = 1 AND status = 'idle' AND main_agent_id = 'a1' AND seq < 9 ORDER BY seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE (deleted_at IS NOT NULL) = 0 AND last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    "SELECT id FROM sessions WHERE (deleted_at IS NOT NULL) = 0 AND main_agent_id = 'a1' AND last_activity_seq < 9 ORDER BY last_activity_seq DESC LIMIT 10",
    // What is in the trash: its counts and the sessions a search leaves out.
    "SELECT count(*) FROM sessions WHERE deleted_at IS NOT NULL AND ('a1' IS NULL OR main_agent_id = 'a1')",
    "SELECT count(*) FROM agents WHERE deleted_at IS NOT NULL",
    "SELECT id FROM sessions WHERE deleted_at IS NOT NULL",
    // The interrupted logs out of the trash (logs.rs): a lookup in the small trash per entry.
    "SELECT id FROM session_logs WHERE status <> 'complete' AND status = 'interrupted' \
     AND (0 OR session_id NOT IN (SELECT id FROM sessions WHERE deleted_at IS NOT NULL)) AND id > 1 ORDER BY id ASC LIMIT 10",
  ] {
    let plan = strings(&conn, &format!("EXPLAIN QUERY PLAN {sql}")).join("\n");
    assert!(!plan.contains("TEMP B-TREE") && !plan.contains("SCAN"), "{sql}:\n{plan}");
  }
  // listForks (forks.rs) and searchSessions (search/mod.rs, of every agent and of one) with
  // the trash's filter: each session is looked up by its key, never scanned nor searched
  // among others (the FTS5 tables are read by MATCH).
  for sql in [
    "SELECT s.id FROM session_forks f JOIN sessions s ON s.id = f.session_id \
     WHERE s.deleted_at IS NULL AND f.source_session_id IS NOT NULL AND f.source_session_id = 'sa1' ORDER BY f.created_at, f.rowid",
    "SELECT i.session_id FROM session_search i CROSS JOIN sessions se ON se.id = i.session_id \
     WHERE session_search MATCH 'x' AND se.deleted_at IS NULL ORDER BY i.rank LIMIT 10",
    "SELECT i.session_id FROM session_search i CROSS JOIN sessions se ON se.id = i.session_id \
     WHERE session_search MATCH 'x' AND se.deleted_at IS NULL AND +se.main_agent_id = 'a1' ORDER BY i.rank LIMIT 10",
    "SELECT l.session_id, l.id, min(s.rank) FROM log_search s CROSS JOIN session_logs l ON l.id = s.rowid \
     CROSS JOIN sessions se ON se.id = l.session_id \
     WHERE log_search MATCH 'x' AND se.deleted_at IS NULL GROUP BY l.session_id ORDER BY 3, 2 DESC LIMIT 10",
    "SELECT l.session_id, l.id, min(s.rank) FROM log_search s CROSS JOIN session_logs l ON l.id = s.rowid \
     CROSS JOIN sessions se ON se.id = l.session_id \
     WHERE log_search MATCH 'x' AND se.deleted_at IS NULL AND +se.main_agent_id = 'a1' GROUP BY l.session_id ORDER BY 3, 2 DESC LIMIT 10",
  ] {
    let plan = strings(&conn, &format!("EXPLAIN QUERY PLAN {sql}")).join("\n");
    let scans = plan.lines().filter(|l| l.contains("SCAN") && !l.contains("VIRTUAL TABLE")).count();
    assert_eq!(scans, 0, "{sql}:\n{plan}");
    let by_key = |alias: &str| plan.contains(&format!("SEARCH {alias} USING INDEX sqlite_autoindex_sessions_1 (id=?)"));
    assert!(by_key("s") || by_key("se"), "{sql}:\n{plan}");
  }
}
