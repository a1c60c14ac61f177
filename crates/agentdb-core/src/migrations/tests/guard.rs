//! What migration SQL may not do: end, start or nest transactions, attach databases, change
//! the connection's settings, VACUUM, load extensions or create TEMP objects. A refused
//! statement fails the migration with `MIGRATION_FAILED` naming it, with or without a
//! transaction, and leaves the database and the connection as they were.

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrateOptions};
use crate::migrations::source::{AppMigration, Migration, MigrationSet};

use super::support::*;

/// Statements migration SQL may not run, each with the clause its refusal names.
const REFUSED: &[(&str, &str)] = &[
  ("BEGIN", "BEGIN"),
  ("BEGIN IMMEDIATE", "BEGIN"),
  ("COMMIT", "COMMIT"),
  ("END", "COMMIT"),
  ("ROLLBACK", "ROLLBACK"),
  ("SAVEPOINT inner", "SAVEPOINT inner"),
  ("RELEASE inner", "RELEASE inner"),
  ("ROLLBACK TO inner", "ROLLBACK TO inner"),
  ("ATTACH ':memory:' AS other", "ATTACH ':memory:'"),
  ("DETACH main", "DETACH main"),
  ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = OFF"),
  ("PRAGMA main.foreign_keys = 0", "PRAGMA foreign_keys = 0"),
  ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode = DELETE"),
  ("PRAGMA writable_schema = ON", "PRAGMA writable_schema = ON"),
  ("PRAGMA legacy_alter_table = ON", "PRAGMA legacy_alter_table = ON"),
  ("PRAGMA locking_mode = EXCLUSIVE", "PRAGMA locking_mode = EXCLUSIVE"),
  ("PRAGMA synchronous = OFF", "PRAGMA synchronous = OFF"),
  ("PRAGMA query_only = ON", "PRAGMA query_only = ON"),
  ("PRAGMA ignore_check_constraints = ON", "PRAGMA ignore_check_constraints = ON"),
  ("PRAGMA defer_foreign_keys = ON", "PRAGMA defer_foreign_keys = ON"),
  ("PRAGMA recursive_triggers(1)", "PRAGMA recursive_triggers = 1"),
  ("VACUUM", "VACUUM"),
  ("-- tidy up\n /* the whole file */ vacuum main", "VACUUM"),
  ("SELECT load_extension('x')", "load_extension()"),
  ("CREATE TEMP TABLE scratch (x)", "CREATE TEMP TABLE scratch"),
  ("CREATE TABLE temp.scratch (x)", "CREATE TABLE scratch"),
  ("CREATE TEMP TRIGGER spy AFTER INSERT ON agents BEGIN SELECT 1; END", "CREATE TEMP TRIGGER spy"),
];

/// The connection settings a migration may not change, read back.
const SETTINGS: [&str; 11] = [
  "foreign_keys",
  "journal_mode",
  "locking_mode",
  "synchronous",
  "query_only",
  "ignore_check_constraints",
  "defer_foreign_keys",
  "legacy_alter_table",
  "recursive_triggers",
  "writable_schema",
  "user_version",
];

/// What a refused migration must leave as it was: every schema object (TEMP ones included),
/// the tracking table, the attached databases, the connection's settings and whether a
/// transaction is open.
type State = (Vec<SchemaObject>, Vec<String>, Vec<TrackingRow>, Vec<String>, Vec<String>, bool);

fn state(conn: &Connection) -> State {
  let column = |sql: &str| -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, Value>(0)).unwrap().map(|v| format!("{:?}", v.unwrap())).collect()
  };
  let settings = SETTINGS.iter().map(|name| format!("{name}={:?}", column(&format!("PRAGMA {name}")))).collect();
  (
    schema(conn),
    column("SELECT name FROM sqlite_temp_master"),
    tracking_rows(conn),
    column("SELECT name FROM pragma_database_list"),
    settings,
    conn.is_autocommit(),
  )
}

fn foreign_keys_on(conn: &Connection) -> bool {
  conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap()
}

/// 003, whose second statement runs `sql` after statements that the first one makes
/// compilable (they use the table it creates).
fn refused_up(sql: &str, foreign_keys_off: bool) -> Migration {
  Migration::from_app(AppMigration {
    id: "003".into(),
    description: "refused".into(),
    up: vec![
      "CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1)".into(),
      format!("INSERT INTO t3 VALUES (2); {sql}; CREATE TABLE after_it (x)"),
    ],
    down: Some(vec!["DROP TABLE t3".into()]),
    foreign_keys_off,
    ..AppMigration::default()
  })
  .unwrap()
}

#[test]
fn a_refused_statement_in_up_sql_fails_the_migration_and_changes_nothing() {
  for use_transaction in [true, false] {
    for (index, (sql, clause)) in REFUSED.iter().enumerate() {
      let dir = TempDir::new("guard-up");
      let mut conn = open(&dir.join("a.db"));
      migrate_all(&mut conn, &MigrationSet::builtin());
      let before = state(&conn);
      // Every other case switches foreign keys off around the migration, as a rebuild does.
      let set = set_with(vec![refused_up(sql, index % 2 == 1)]);
      let options = MigrateOptions { use_transaction, ..MigrateOptions::default() };
      let failed = failure(migrate(&mut conn, &set, &options));
      let message = &failed.error.message;
      assert_eq!(failed.error.code, ErrorCode::MigrationFailed, "{sql}: {message}");
      assert!(message.contains(&format!("statement 1: {clause} is refused: migration SQL may not")), "{sql}: {message}");
      assert_eq!(use_transaction, !message.contains("nothing of it was applied"), "{sql}: {message}");
      assert_eq!(ids(&failed.results), ["003"]);
      assert!(foreign_keys_on(&conn), "{sql}");
      assert_eq!(state(&conn), before, "{sql} (use_transaction: {use_transaction})");
      // The database still takes a good migration.
      let good = set_with(vec![app("003", &["CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1)"], None)]);
      assert_eq!(ids(&migrate(&mut conn, &good, &options).unwrap()), ["003"]);
    }
  }
}

#[test]
fn a_refused_statement_in_down_sql_fails_the_rollback_and_changes_nothing() {
  for (index, (sql, clause)) in REFUSED.iter().enumerate() {
    let dir = TempDir::new("guard-down");
    let mut conn = open(&dir.join("a.db"));
    let down = format!("DELETE FROM t3; {sql}; DROP TABLE t3");
    let migration = Migration::from_app(AppMigration {
      id: "003".into(),
      description: "refused down".into(),
      up: vec!["CREATE TABLE t3 (x); INSERT INTO t3 VALUES (1)".into()],
      down: Some(vec![down]),
      foreign_keys_off: index % 2 == 1,
      ..AppMigration::default()
    })
    .unwrap();
    let set = set_with(vec![migration]);
    migrate_all(&mut conn, &set);
    let before = state(&conn);
    // This build's down SQL, then the one recorded in the tracking table (a build that does
    // not know 003).
    for rollback_set in [&set, &MigrationSet::builtin()] {
      let failed = failure(migrator::rollback_last(&mut conn, rollback_set, &RECORDED_SQL_ALLOWED));
      let message = &failed.error.message;
      assert_eq!(failed.error.code, ErrorCode::MigrationFailed, "{sql}: {message}");
      assert!(message.contains(&format!("{clause} is refused: migration SQL may not")), "{sql}: {message}");
      assert!(foreign_keys_on(&conn), "{sql}");
      assert_eq!(state(&conn), before, "{sql}: 003 is still applied, its rows too");
      let rows: i64 = conn.query_row("SELECT count(*) FROM t3", [], |r| r.get(0)).unwrap();
      assert_eq!(rows, 1);
    }
  }
}

#[test]
fn a_refusal_names_the_statement_among_several() {
  let mut conn = memory();
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)", "INSERT INTO t3 VALUES (1)", "COMMIT"], None)]);
  let failed = failure(migrate(&mut conn, &set, &MigrateOptions::default()));
  assert!(failed.error.message.ends_with("failed and was rolled back: statement 2: COMMIT is refused: migration SQL may not end, start or nest transactions: the engine runs each migration in a transaction of its own"), "{}", failed.error.message);
  let single = set_with(vec![app("003", &["CREATE TABLE t3 (x); ATTACH ':memory:' AS other"], None)]);
  let failed = failure(migrate(&mut conn, &single, &MigrateOptions::default()));
  assert!(failed.error.message.contains("rolled back: ATTACH ':memory:' is refused"), "{}", failed.error.message);
  assert!(!has_object(&conn, "t3"));
}

#[test]
fn migrations_that_manage_their_own_transaction_are_refused_with_or_without_one() {
  let own = "BEGIN; CREATE TABLE own (x); INSERT INTO own VALUES (1); COMMIT;";
  let set = set_with(vec![app("003", &[own], None)]);
  let mut conn = memory();
  migrate(&mut conn, &set, &library_only()).unwrap();
  for use_transaction in [true, false] {
    let failed = failure(migrate(&mut conn, &set, &MigrateOptions { use_transaction, ..MigrateOptions::default() }));
    assert!(failed.error.message.contains("BEGIN is refused"), "{}", failed.error.message);
    assert!(!has_object(&conn, "own"));
    assert!(conn.is_autocommit());
    assert_eq!(applied_ids(&conn), builtin_ids());
  }
}

/// 003: a migration that uses what migration SQL may do: tables, indexes, views, triggers, a
/// virtual table, data, ALTER TABLE, the pragmas that report on a table and the app's header
/// number, ANALYZE and REINDEX.
fn everything_allowed() -> Migration {
  Migration::from_app(AppMigration {
    id: "003".into(),
    description: "notes".into(),
    up: vec![
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE, body TEXT NOT NULL);
       CREATE INDEX idx_notes_agent ON notes (agent_id);
       CREATE VIEW note_counts AS SELECT agent_id, count(*) AS n FROM notes GROUP BY agent_id;
       CREATE TRIGGER notes_trimmed BEFORE INSERT ON notes WHEN NEW.body <> trim(NEW.body)
       BEGIN
         SELECT RAISE(ABORT, 'notes must be trimmed');
       END;
       CREATE VIRTUAL TABLE notes_search USING fts5(body);
       INSERT INTO agents (id, name, model) VALUES ('a1', 'n', 'm');
       INSERT INTO notes (agent_id, body) VALUES ('a1', 'first'), ('a1', 'second');
       ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
       ALTER TABLE notes RENAME COLUMN body TO text;
       UPDATE notes SET pinned = 1 WHERE id = 1;
       INSERT INTO notes_search (body) SELECT text FROM notes;"
        .into(),
      "PRAGMA user_version = 3;
       PRAGMA table_info(notes);
       PRAGMA foreign_key_check(notes);
       PRAGMA integrity_check(1);
       PRAGMA foreign_keys;
       SELECT name FROM pragma_index_list('notes');
       ANALYZE;
       REINDEX idx_notes_agent;"
        .into(),
    ],
    down: Some(vec![
      "DROP TABLE notes_search; DROP VIEW note_counts; DROP TABLE notes; DELETE FROM agents WHERE id = 'a1'; PRAGMA user_version = 0"
        .into(),
    ]),
    ..AppMigration::default()
  })
  .unwrap()
}

#[test]
fn a_migration_that_changes_only_schema_and_data_runs_with_or_without_a_transaction() {
  for use_transaction in [true, false] {
    let dir = TempDir::new("guard-allowed");
    let mut conn = open(&dir.join("a.db"));
    let set = set_with(vec![everything_allowed()]);
    let options = MigrateOptions { use_transaction, ..MigrateOptions::default() };
    assert_eq!(names(&migrate(&mut conn, &set, &options).unwrap()), builtins_then(&["app 003"]));
    let query = |conn: &Connection, sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(query(&conn, "SELECT n FROM note_counts WHERE agent_id = 'a1'"), 2);
    assert_eq!(query(&conn, "SELECT count(*) FROM notes WHERE pinned = 1 AND text = 'first'"), 1);
    assert_eq!(query(&conn, "SELECT count(*) FROM notes_search WHERE notes_search MATCH 'second'"), 1);
    assert_eq!(query(&conn, "PRAGMA user_version"), 3);
    assert!(foreign_keys_on(&conn));
    let untrimmed = conn.execute("INSERT INTO notes (agent_id, text) VALUES ('a1', ' x ')", []).unwrap_err();
    assert!(untrimmed.to_string().contains("notes must be trimmed"), "{untrimmed}");
    conn.execute_batch("DELETE FROM agents WHERE id = 'a1'").unwrap();
    assert_eq!(query(&conn, "SELECT count(*) FROM notes"), 0, "the foreign key cascades");
    conn.execute_batch("INSERT INTO agents (id, name, model) VALUES ('a1', 'n', 'm')").unwrap();
    let undone = migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap();
    assert_eq!(undone.migration.id, "003");
    assert!(!has_object(&conn, "notes") && !has_object(&conn, "note_counts") && !has_object(&conn, "notes_search"));
    assert_eq!(query(&conn, "PRAGMA user_version"), 0);
  }
}
