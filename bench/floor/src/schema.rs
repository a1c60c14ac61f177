//! Connections set up as the addon sets up its own, and the schema applied from the SQL files
//! of `migrations/` with a minimal migrator (the same one the JavaScript peers run).

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use sha2::{Digest, Sha256};

/// Prepared statements each connection keeps, as in the addon.
const STATEMENT_CACHE: usize = 64;

/// One up migration read from `migrations/`.
pub struct UpMigration {
  /// Its id, the digits before the first `_` of the file name.
  pub id: String,
  /// Its `-- description:` header.
  pub description: String,
  /// The file's text.
  pub sql: String,
}

/// Reads every `*.up.sql` of `dir`, in id order.
pub fn read_migrations(dir: &Path) -> Vec<UpMigration> {
  let mut files: Vec<_> = std::fs::read_dir(dir)
    .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
    .map(|entry| entry.expect("directory entry").path())
    .filter(|path| path.to_string_lossy().ends_with(".up.sql"))
    .collect();
  files.sort();
  files
    .into_iter()
    .map(|path| {
      let name = path.file_name().unwrap().to_string_lossy().into_owned();
      let sql = std::fs::read_to_string(&path).expect("readable migration");
      let description = sql
        .lines()
        .find_map(|line| line.trim().strip_prefix("-- description:"))
        .map(|d| d.trim().to_string())
        .unwrap_or_default();
      UpMigration { id: name.split('_').next().unwrap().to_string(), description, sql }
    })
    .collect()
}

/// Opens the read-write connection: WAL, `synchronous=NORMAL`, foreign keys on.
pub fn open_writer(path: &Path) -> Connection {
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).expect("open the database");
  common(&conn);
  conn.pragma_update(None, "foreign_keys", true).unwrap();
  let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).unwrap();
  assert_eq!(mode, "wal");
  conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
  conn
}

/// Opens a read-only connection, as the addon's readers are, beside the read-write one the
/// addon always holds (it keeps the WAL index in shared memory, which a read-only
/// connection alone cannot create).
pub fn open_reader(path: &Path) -> (Connection, Connection) {
  let writer = open_writer(path);
  let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).expect("open the database read-only");
  common(&conn);
  (conn, writer)
}

fn common(conn: &Connection) {
  conn.busy_timeout(Duration::from_secs(5)).unwrap();
  // Plans that do not depend on bound values: otherwise a statement whose plan looked at a
  // parameter (`LIMIT ?`, some joins) is re-prepared every time the statement cache clears
  // its bindings, which costs more than running it.
  conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
  conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
  conn.query_row("PRAGMA schema_version", [], |_| Ok(())).unwrap();
}

/// Creates the tracking table and applies each migration in its own transaction, recording
/// its checksum (SHA-256 of the text with line endings normalised).
pub fn migrate(conn: &mut Connection, migrations: &[UpMigration]) {
  conn.execute_batch(include_str!("../../sql/migrations_table.sql")).unwrap();
  for migration in migrations {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    let started = Instant::now();
    tx.execute_batch(&migration.sql).unwrap_or_else(|e| panic!("migration {}: {e}", migration.id));
    let elapsed = started.elapsed().as_millis() as i64;
    let checksum = Sha256::digest(migration.sql.replace("\r\n", "\n").as_bytes());
    let hex: String = checksum.iter().map(|b| format!("{b:02x}")).collect();
    tx.execute(include_str!("../../sql/record_migration.sql"), params![migration.id, migration.description, elapsed, hex])
      .unwrap();
    tx.commit().unwrap();
  }
}
