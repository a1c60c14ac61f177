//! The tracking table: a table without namespaces (left by the previous release or the
//! reference module) is read as it is and upgraded in place by the first write; reading never
//! creates or changes it.

use crate::error::ErrorCode;
use crate::migrations::migrator::{self, MigrationState};
use crate::migrations::source::{self, Migration, MigrationSet, APP, BUILTIN, LIBRARY};
use crate::migrations::validation::{IssueCode, Validation};
use rusqlite::Connection;

use super::support::*;

/// The tracking table as the reference module creates it.
const REFERENCE_TABLE: &str = "CREATE TABLE migrations (
  id TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time INTEGER NOT NULL,
  checksum TEXT NOT NULL
)";

/// How many of the built-in migrations the reference module had (001 and 002).
const REFERENCE_BUILTINS: usize = 2;

/// A database whose built-in migrations were applied and recorded by the reference module.
fn reference_database() -> Connection {
  let conn = memory();
  conn.execute_batch(REFERENCE_TABLE).unwrap();
  for (builtin, migration) in BUILTIN[..REFERENCE_BUILTINS].iter().zip(MigrationSet::builtin().iter()) {
    conn.execute_batch(builtin.up).unwrap();
    conn
      .execute(
        "INSERT INTO migrations (id, description, applied_at, execution_time, checksum) VALUES (?1, ?2, '2024-12-10T10:00:00.000Z', 12, ?3)",
        [&migration.id, &migration.description, &migration.checksum],
      )
      .unwrap();
  }
  conn
}

#[test]
fn reading_a_reference_table_changes_nothing() {
  let conn = reference_database();
  let before = (schema(&conn), tracking_rows(&conn));
  let set = MigrationSet::builtin();
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());
  let listed = migrator::list(&conn, &set).unwrap();
  let (applied, pending) = listed.split_at(REFERENCE_BUILTINS);
  assert!(applied.iter().all(|m| m.state == MigrationState::Applied && m.reversible && m.execution_time_ms == Some(12.0)));
  assert!(pending.iter().all(|m| m.state == MigrationState::Pending), "built-ins the reference did not have: {pending:?}");
  assert!(listed.iter().all(|m| m.namespace == LIBRARY && m.builtin == Some(true) && !m.recorded_down), "{listed:?}");
  assert_eq!(migrator::summary(&conn, &set).unwrap().current_version.as_deref(), Some("002"));
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
  assert!(!tracking_columns(&conn).contains(&"namespace".to_string()));
}

#[test]
fn a_reference_table_is_upgraded_in_place_by_the_next_migrate() {
  let mut conn = reference_database();
  let reference_columns = tracking_columns(&conn);
  let set = set_with(vec![app("003", &["CREATE TABLE t3 (x)"], Some(&["DROP TABLE t3"]))]);
  assert_eq!(names(&migrate_all(&mut conn, &set)), builtins_then(&["app 003"])[REFERENCE_BUILTINS..]);
  let upgraded = tracking_columns(&conn);
  assert_eq!(upgraded[0], "namespace");
  assert_eq!(upgraded[1..6], reference_columns[..], "the reference's columns stay as they were, after the namespace");
  assert_eq!(upgraded[6..], ["down_sql", "foreign_keys_off"]);
  let rows = tracking_rows(&conn);
  assert_eq!(applied_keys(&conn), builtins_then(&["app 003"]));
  assert_eq!(cell(&rows[0], "applied_at"), Some("2024-12-10T10:00:00.000Z"), "old rows are kept");
  assert_eq!(cell(&rows[0], "execution_time"), Some("12"));
  assert_eq!(
    (cell(&rows[0], "down_sql"), cell(&rows[0], "foreign_keys_off")),
    (None, Some("0")),
    "the reference recorded no down SQL"
  );
  assert_eq!(cell(&row_of(&conn, APP, "003"), "down_sql"), Some(r#"["DROP TABLE t3"]"#));
  let undone = migrator::rollback_to(&mut conn, &set, &target("001"), &BUILD_SQL_ONLY).unwrap();
  let mut expected = vec!["app 003".to_string()];
  expected.extend(builtins_then(&[])[1..].iter().rev().cloned());
  assert_eq!(names(&undone), expected, "this build's down SQL undoes old rows");
  assert_eq!(applied_keys(&conn), ["agentdb 001"]);
}

#[test]
fn an_unknown_reference_row_without_down_sql_is_irreversible() {
  let mut conn = reference_database();
  conn.execute_batch("CREATE TABLE legacy (x)").unwrap();
  conn.execute_batch("INSERT INTO migrations VALUES ('003', 'legacy table', '2024-12-11T10:00:00.000Z', 3, 'deadbeef')").unwrap();
  let set = MigrationSet::builtin();
  let listed = migrator::list(&conn, &set).unwrap();
  // Not one of the library's (its checksum is no built-in's, whatever its id): the app's.
  let legacy = listed.iter().find(|m| m.namespace == APP).unwrap();
  assert_eq!((legacy.id.as_str(), legacy.state, legacy.builtin), ("003", MigrationState::Unknown, None));
  assert_eq!((legacy.reversible, legacy.recorded_down), (false, false));
  assert_eq!(legacy.recorded_description.as_deref(), Some("legacy table"));
  let before = (schema(&conn), tracking_rows(&conn));
  for options in [BUILD_SQL_ONLY, RECORDED_SQL_ALLOWED] {
    assert_eq!(failure(migrator::rollback_last(&mut conn, &set, &options)).error.code, ErrorCode::MigrationIrreversible);
  }
  assert_eq!((schema(&conn), tracking_rows(&conn)), before);
}

#[test]
fn down_sql_that_is_not_a_json_array_is_reported_as_corrupt() {
  let mut conn = memory();
  let set = MigrationSet::builtin();
  migrate_all(&mut conn, &set);
  conn.execute_batch("UPDATE migrations SET down_sql = 'DROP TABLE agents' WHERE id = '001'").unwrap();
  let err = error(migrator::validate(&conn, &set));
  assert_eq!(err.code, ErrorCode::Corrupt);
  assert!(err.message.contains("001"), "{err}");
}

/// The tracking table exactly as the previous release created it: no namespaces, one
/// sequence shared by the library's migrations and the app's.
const PREVIOUS_RELEASE_TABLE: &str = "CREATE TABLE migrations (
  id TEXT PRIMARY KEY NOT NULL,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time REAL NOT NULL,
  checksum TEXT NOT NULL,
  down_sql TEXT,
  foreign_keys_off INTEGER NOT NULL DEFAULT 0
)";

/// The app's migrations of the previous release, which continued the library's sequence
/// (003, 004) and are now registered in the app's namespace under the same ids.
fn previous_app_migrations() -> Vec<Migration> {
  app_migrations_from(3)
}

/// Two app migrations whose ids are `first` and the next one.
fn app_migrations_from(first: usize) -> Vec<Migration> {
  let (a, b) = (format!("{first:03}"), format!("{:03}", first + 1));
  vec![
    app(&a, &["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"], Some(&["DROP TABLE notes"])),
    app(
      &b,
      &["ALTER TABLE notes ADD COLUMN tag TEXT", "CREATE INDEX notes_tag ON notes (tag)"],
      Some(&["DROP INDEX notes_tag", "ALTER TABLE notes DROP COLUMN tag"]),
    ),
  ]
}

/// How many of the built-in migrations the previous release had (001 and 002).
const PREVIOUS_BUILTINS: usize = 2;

/// A file migrated by the previous release: built-ins 001 and 002, then the app's 003 and
/// 004, each recorded as that release recorded it.
fn previous_release_database(path: &std::path::Path) -> Connection {
  release_before_namespaces(path, PREVIOUS_BUILTINS, &previous_app_migrations())
}

/// A file migrated by a release before namespaces that had the first `builtins` built-in
/// migrations, then the app's `apps`, each recorded as that release recorded it.
fn release_before_namespaces(path: &std::path::Path, builtins: usize, apps: &[Migration]) -> Connection {
  let conn = open(path);
  conn.execute_batch(PREVIOUS_RELEASE_TABLE).unwrap();
  let insert = |id: &str, description: &str, checksum: &str, down: &[String], at: &str| {
    conn
      .execute(
        "INSERT INTO migrations (id, description, applied_at, execution_time, checksum, down_sql, foreign_keys_off)
         VALUES (?1, ?2, ?3, 1.25, ?4, ?5, 0)",
        [id, description, at, checksum, &serde_json::to_string(down).unwrap()],
      )
      .unwrap();
  };
  for builtin in &BUILTIN[..builtins] {
    let fk_off = builtin.foreign_keys_off;
    if fk_off {
      conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    }
    conn.execute_batch(builtin.up).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let up = [builtin.up.to_string()];
    insert(builtin.id, builtin.description, &source::checksum(&up), &[builtin.down.to_string()], "2025-01-01T00:00:00.000Z");
    if fk_off {
      conn.execute("UPDATE migrations SET foreign_keys_off = 1 WHERE id = ?1", [builtin.id]).unwrap();
    }
  }
  for migration in apps {
    for statement in &migration.up {
      conn.execute_batch(statement).unwrap();
    }
    let checksum = source::checksum(&migration.up);
    assert_eq!(checksum, migration.checksum);
    insert(&migration.id, &migration.description, &checksum, migration.down.as_deref().unwrap(), "2025-02-01T00:00:00.000Z");
  }
  conn
}

/// The report for the previous release's file with the app's migrations registered: clean
/// (the app's sequence, now a namespace of its own, may start at 003).
fn assert_previous_release_validates(conn: &Connection, set: &MigrationSet) {
  assert_eq!(migrator::validate(conn, set).unwrap(), Validation::default());
}

/// `library 001`, … for the first `n` built-ins.
fn first_builtins(n: usize) -> Vec<String> {
  builtins_then(&[])[..n].to_vec()
}

#[test]
fn reading_a_previous_release_table_changes_nothing_and_splits_it_into_namespaces() {
  let dir = TempDir::new("previous-read");
  let conn = previous_release_database(&dir.join("a.db"));
  let before = (schema(&conn), tracking_rows(&conn), tracking_columns(&conn));
  let set = set_with(previous_app_migrations());

  assert_previous_release_validates(&conn, &set);
  let listed = migrator::list(&conn, &set).unwrap();
  let rows: Vec<(String, MigrationState, Option<bool>)> =
    listed.iter().map(|m| (format!("{} {}", m.namespace, m.id), m.state, m.builtin)).collect();
  let mut expected: Vec<(String, MigrationState, Option<bool>)> = builtins_then(&[])
    .into_iter()
    .enumerate()
    .map(|(i, name)| (name, if i < PREVIOUS_BUILTINS { MigrationState::Applied } else { MigrationState::Pending }, Some(true)))
    .collect();
  expected.push(("app 003".into(), MigrationState::Applied, Some(false)));
  expected.push(("app 004".into(), MigrationState::Applied, Some(false)));
  assert_eq!(rows, expected);
  for m in listed.iter().filter(|m| m.state == MigrationState::Applied) {
    assert!(m.reversible && m.recorded_down && m.recorded_description.as_deref() == Some(m.description.as_str()), "{m:?}");
  }
  let summary = migrator::summary(&conn, &set).unwrap();
  assert_eq!(
    (summary.applied_migrations, summary.pending_migrations, summary.current_version.as_deref()),
    (PREVIOUS_BUILTINS + 2, BUILTIN.len() - PREVIOUS_BUILTINS, Some("002"))
  );
  let lines: Vec<(String, Option<String>, usize)> =
    summary.namespaces.iter().map(|n| (n.namespace.clone(), n.current_version.clone(), n.applied_migrations)).collect();
  assert_eq!(lines, [(LIBRARY.to_string(), Some("002".to_string()), 2), (APP.to_string(), Some("004".to_string()), 2)]);

  // A build without the app's migrations sees them as the app's, unknown.
  let report = migrator::validate(&conn, &MigrationSet::builtin()).unwrap();
  assert!(report.is_valid(), "{report:?}");
  let unknown: Vec<_> = issues(&report.warnings).into_iter().filter(|i| i.0 == IssueCode::UnknownMigration).collect();
  assert_eq!(unknown, [issue(IssueCode::UnknownMigration, APP, "003"), issue(IssueCode::UnknownMigration, APP, "004")]);

  assert_eq!((schema(&conn), tracking_rows(&conn), tracking_columns(&conn)), before, "reading changed the file");
}

/// Checks the upgraded table: namespaced, every row of the previous release kept as it was.
fn assert_upgraded(conn: &Connection, previous: &[TrackingRow], expected_keys: &[String]) {
  assert_eq!(
    tracking_columns(conn),
    ["namespace", "id", "description", "applied_at", "execution_time", "checksum", "down_sql", "foreign_keys_off"]
  );
  assert_eq!(applied_keys(conn), expected_keys);
  let rows = tracking_rows(conn);
  for (old, new) in previous.iter().zip(&rows) {
    for column in ["id", "description", "applied_at", "execution_time", "checksum", "down_sql", "foreign_keys_off"] {
      assert_eq!(cell(old, column), cell(new, column), "{column} of {old:?}");
    }
  }
  let primary_key: Vec<String> = conn
    .prepare("SELECT name FROM pragma_table_info('migrations') WHERE pk > 0 ORDER BY pk")
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .map(Result::unwrap)
    .collect();
  assert_eq!(primary_key, ["namespace", "id"]);
}

#[test]
fn a_previous_release_table_is_upgraded_by_the_next_migrate_keeping_every_row() {
  let dir = TempDir::new("previous-upgrade");
  let mut conn = previous_release_database(&dir.join("a.db"));
  let previous = tracking_rows(&conn);
  let set = set_with(previous_app_migrations());

  // Only the built-ins this build adds beyond 002, if any; the app's 003 and 004 are applied.
  let new_builtins = builtins_then(&[])[PREVIOUS_BUILTINS..].to_vec();
  assert_eq!(names(&migrate_all(&mut conn, &set)), new_builtins);
  if new_builtins.is_empty() {
    // Nothing applied: see `a_table_without_namespaces_is_upgraded_by_a_migrate_with_nothing_to_apply`.
    return;
  }
  let mut expected = first_builtins(PREVIOUS_BUILTINS);
  expected.extend(["app 003".to_string(), "app 004".to_string()]);
  expected.extend(new_builtins.iter().cloned());
  assert_upgraded(&conn, &previous, &expected);
  assert_previous_release_validates(&conn, &set);
  assert!(migrate_all(&mut conn, &set).is_empty());

  // The app's 003: its later migrations go, the library's stay.
  let undone = migrator::rollback_to(&mut conn, &set, &target_in(APP, "003"), &BUILD_SQL_ONLY).unwrap();
  assert_eq!(names(&undone), ["app 004"]);
  // "002" alone names the library's 002 (the app has none now): everything after it in run
  // order goes, the library's later migrations and every app migration.
  let undone = migrator::rollback_to(&mut conn, &set, &target("002"), &BUILD_SQL_ONLY).unwrap();
  let mut expected_undone = vec!["app 003".to_string()];
  expected_undone.extend(new_builtins.iter().rev().cloned());
  assert_eq!(names(&undone), expected_undone);
  assert!(!has_object(&conn, "notes"));
  assert_eq!(applied_keys(&conn), first_builtins(PREVIOUS_BUILTINS));
  assert_eq!(names(&migrate_all(&mut conn, &set)), [&new_builtins[..], &["app 003".to_string(), "app 004".to_string()]].concat());
}

#[test]
fn a_table_without_namespaces_is_upgraded_by_a_migrate_with_nothing_to_apply() {
  // A release before namespaces that had every built-in migration of this build, and the
  // app's migrations after them: nothing is pending, and migrate, the next write, still
  // upgrades the table.
  let dir = TempDir::new("previous-up-to-date");
  let apps = app_migrations_from(BUILTIN.len() + 1);
  let mut conn = release_before_namespaces(&dir.join("a.db"), BUILTIN.len(), &apps);
  let previous = tracking_rows(&conn);
  let set = set_with(apps.clone());
  assert_eq!(migrator::validate(&conn, &set).unwrap(), Validation::default());

  assert!(migrate_all(&mut conn, &set).is_empty());
  let expected: Vec<String> = builtins_then(&[]).into_iter().chain(apps.iter().map(Migration::name)).collect();
  assert_upgraded(&conn, &previous, &expected);
}

#[test]
fn a_table_without_namespaces_can_be_rolled_back_before_any_migrate() {
  let dir = TempDir::new("previous-rollback");
  let mut conn = previous_release_database(&dir.join("a.db"));
  let set = set_with(previous_app_migrations());
  let undone = migrator::rollback_last(&mut conn, &set, &BUILD_SQL_ONLY).unwrap().unwrap();
  assert_eq!(names(&[undone]), ["app 004"]);
  assert_eq!(applied_keys(&conn), ["agentdb 001", "agentdb 002", "app 003"]);
}

#[test]
fn a_table_without_namespaces_can_be_repaired_before_any_migrate() {
  let dir = TempDir::new("previous-repair");
  let mut conn = previous_release_database(&dir.join("a.db"));
  let mut edited = previous_app_migrations();
  edited[0] =
    app("003", &["CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"], Some(&["DROP TABLE notes"]));
  let set = set_with(edited);
  let repaired = migrator::repair(&mut conn, &set, &["003".to_string()], None, false).unwrap();
  assert_eq!(repaired.len(), 1);
  assert_eq!(migrator::validate(&conn, &set).unwrap().errors, []);
}
