//! `migrate` with a backup: a consistent copy, written only when something is pending.

use std::path::Path;

use crate::error::ErrorCode;
use crate::migrations::migrator::{BackupTarget, MigrateOptions};
use crate::migrations::source::MigrationSet;
use rusqlite::{Connection, OpenFlags};

use super::support::*;

fn with_backup(target: BackupTarget) -> MigrateOptions {
  MigrateOptions { backup: Some(target), ..MigrateOptions::default() }
}

/// Opens a copy read-only, checks its integrity and returns it.
fn open_copy(path: &Path) -> Connection {
  let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
  let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(check, "ok");
  conn
}

#[test]
fn backup_beside_the_database_holds_the_state_before_the_run() {
  let dir = TempDir::new("backup");
  let db = dir.join("a.db");
  let mut conn = open(&db);
  let set = MigrationSet::builtin();
  migrate(&mut conn, &set, &up_to("001")).unwrap();
  conn.execute_batch("INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm')").unwrap();

  let dry = MigrateOptions { dry_run: true, ..with_backup(BackupTarget::BesideDatabase) };
  migrate(&mut conn, &set, &dry).unwrap();
  let copy_path = dir.join("a.db.before-002.bak");
  assert!(!copy_path.exists(), "a dry run writes no backup");

  assert_eq!(ids(&migrate(&mut conn, &set, &with_backup(BackupTarget::BesideDatabase)).unwrap()), builtin_ids()[1..]);
  let copy = open_copy(&copy_path);
  assert!(has_object(&copy, "agents") && !has_object(&copy, "sessions"));
  assert_eq!(applied_ids(&copy), ["001"]);
  let name: String = copy.query_row("SELECT name FROM agents WHERE id = 'a1'", [], |r| r.get(0)).unwrap();
  assert_eq!(name, "Reviewer");
  let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
  assert_eq!(mode, "delete", "the copy is one self-contained file");
  assert!(!dir.join("a.db.before-002.bak-wal").exists());

  let other = dir.join("other.bak");
  assert!(migrate(&mut conn, &set, &with_backup(BackupTarget::Path(other.clone()))).unwrap().is_empty());
  assert!(!other.exists(), "nothing pending, so no backup");
}

#[test]
fn backup_to_a_path_works_for_an_in_memory_database() {
  let dir = TempDir::new("backup-memory");
  let mut conn = memory();
  let set = MigrationSet::builtin();
  let failed = failure(migrate(&mut conn, &set, &with_backup(BackupTarget::BesideDatabase)));
  assert_eq!(failed.error.code, ErrorCode::InvalidArgument);
  assert!(schema(&conn).is_empty(), "nothing is applied when the backup cannot be written");

  migrate(&mut conn, &set, &up_to("001")).unwrap();
  let path = dir.join("memory.bak");
  migrate(&mut conn, &set, &with_backup(BackupTarget::Path(path.clone()))).unwrap();
  assert_eq!(applied_ids(&open_copy(&path)), ["001"]);
}

#[test]
fn a_backup_that_cannot_be_written_stops_the_run() {
  let dir = TempDir::new("backup-refused");
  let db = dir.join("a.db");
  let mut conn = open(&db);
  let set = MigrationSet::builtin();

  let failed = failure(migrate(&mut conn, &set, &with_backup(BackupTarget::Path(db.clone()))));
  assert_eq!(failed.error.code, ErrorCode::InvalidArgument);
  assert!(failed.error.message.contains("is the database itself"), "{}", failed.error.message);

  let garbage = dir.join("notes.txt");
  let bytes = b"these are someone's notes, not a database; they must survive".repeat(100);
  std::fs::write(&garbage, &bytes).unwrap();
  let failed = failure(migrate(&mut conn, &set, &with_backup(BackupTarget::Path(garbage.clone()))));
  assert_eq!(failed.error.code, ErrorCode::NotADatabase, "{}", failed.error.message);
  assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

  let failed = failure(migrate(&mut conn, &set, &with_backup(BackupTarget::Path(dir.join("missing").join("a.bak")))));
  assert_eq!(failed.error.code, ErrorCode::CantOpen, "{}", failed.error.message);
  assert!(schema(&conn).is_empty(), "nothing was applied");
}

#[test]
fn a_backup_before_an_app_migration_is_named_after_its_namespace_and_id() {
  let dir = TempDir::new("backup-app");
  let db = dir.join("a.db");
  let mut conn = open(&db);
  let set =
    set_with(vec![app("003", &["CREATE TABLE t3 (x)"], None), app_in("@acme/notes", "001", &["CREATE TABLE notes (x)"], None)]);
  migrate_all(&mut conn, &MigrationSet::builtin());

  assert_eq!(
    names(&migrate(&mut conn, &set, &MigrateOptions { limit: Some(1), ..with_backup(BackupTarget::BesideDatabase) }).unwrap()),
    ["app 003"]
  );
  let copy = open_copy(&dir.join("a.db.before-app-003.bak"));
  assert!(has_object(&copy, "sessions") && !has_object(&copy, "t3"));

  assert_eq!(names(&migrate(&mut conn, &set, &with_backup(BackupTarget::BesideDatabase)).unwrap()), ["@acme/notes 001"]);
  let copy = open_copy(&dir.join("a.db.before--acme-notes-001.bak"));
  assert!(has_object(&copy, "t3") && !has_object(&copy, "notes"));
  assert!(!dir.join("a.db.before-001.bak").exists(), "a plugin's 001 is not named like the library's");
}
