//! Built-in migrations that rebuild the library's tables (create a new table, copy the rows,
//! drop the old one, rename) and what an app added to those tables.
//!
//! A rebuild drops the old table's indexes and triggers with it, and a view that reads the
//! table would stop it (SQLite checks views when a table is renamed). So before a rebuild
//! the live tables are compared with what the library's own migrations create: an index or
//! a trigger an app added is kept (re-created on the new table), a view is dropped and
//! re-created around the rebuild, and what cannot be kept (an added or changed column, a
//! changed library index or trigger) stops the migration before it changes anything,
//! naming it. Nothing an app added is ever dropped silently.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::{Error, ErrorCode, Result};
use crate::migrations::source::{Migration, MigrationSet, LIBRARY};

/// Which way a rebuild runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
  /// Applying the migration: the tables are as the migrations before it left them.
  Up,
  /// Rolling it back: the tables are as the migration itself left them.
  Down,
}

/// What an app added, saved before a rebuild to be re-created after it.
#[derive(Debug, Default)]
pub struct Additions {
  /// `CREATE INDEX` / `CREATE TRIGGER` statements on the rebuilt tables, by object name.
  objects: Vec<(String, String)>,
  /// Every view, by name, dropped before the rebuild and created again after it.
  views: Vec<(String, String)>,
}

/// A table's columns as `pragma_table_xinfo` describes them: name, declared type, not null,
/// default and primary-key position.
type Columns = Vec<(String, String, i64, Option<String>, i64)>;

fn columns(conn: &Connection, table: &str) -> Result<Columns> {
  let mut stmt = conn.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) ORDER BY cid")?;
  let rows = stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
  Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The indexes and triggers with SQL on `table` (automatic indexes have none), by name.
fn objects(conn: &Connection, table: &str) -> Result<BTreeMap<String, (String, String)>> {
  let sql = "SELECT name, type, sql FROM sqlite_master WHERE tbl_name = ?1 AND type IN ('index', 'trigger') AND sql IS NOT NULL";
  let mut stmt = conn.prepare(sql)?;
  let rows = stmt.query_map([table], |r| Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, r.get::<_, String>(2)?))))?;
  Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The schema the library's migrations produce: those before `migration` (up) or up to and
/// including it (down), replayed on a private in-memory database.
fn expected(migration: &Migration, direction: Direction) -> Result<Connection> {
  let conn = Connection::open_in_memory()?;
  for known in MigrationSet::builtin().of_namespace(LIBRARY) {
    let include = match direction {
      Direction::Up => known.version < migration.version,
      Direction::Down => known.version <= migration.version,
    };
    if include {
      for sql in &known.up {
        conn.execute_batch(sql)?;
      }
    }
  }
  Ok(conn)
}

fn refuse(migration: &Migration, what: String) -> Error {
  Error::new(
    ErrorCode::MigrationFailed,
    format!(
      "{} rebuilds the library's tables, and {what}, which the rebuild would lose; nothing was changed. Move the app's \
       data into tables of its own (see the migrations guide: extending the library's data), then migrate again",
      migration.name()
    ),
  )
}

/// Compares the tables `migration` rebuilds with what the library's migrations create, and
/// saves what an app added (see the module's documentation). Refuses, changing nothing, what
/// cannot be kept. Drops the views, which [`restore`] creates again.
pub fn prepare(conn: &Connection, migration: &Migration, direction: Direction) -> Result<Additions> {
  let mut additions = Additions::default();
  if migration.rebuilds.is_empty() {
    return Ok(additions);
  }
  let library = expected(migration, direction)?;
  for table in &migration.rebuilds {
    let (live, known) = (columns(conn, table)?, columns(&library, table)?);
    for column in &live {
      match known.iter().find(|k| k.0 == column.0) {
        None => return Err(refuse(migration, format!("the table {table} has a column {} the library did not create", column.0))),
        Some(k) if k != column => return Err(refuse(migration, format!("the column {table}.{} was changed", column.0))),
        Some(_) => {}
      }
    }
    let known_objects = objects(&library, table)?;
    for (name, (kind, sql)) in objects(conn, table)? {
      match known_objects.get(&name) {
        None => additions.objects.push((name, sql)),
        Some((_, library_sql)) if *library_sql != sql => {
          return Err(refuse(migration, format!("the library's {kind} {name} on {table} was changed")));
        }
        Some(_) => {}
      }
    }
  }
  let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view' AND sql IS NOT NULL ORDER BY rowid")?;
  additions.views = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
  for (name, _) in &additions.views {
    conn.execute_batch(&format!("DROP VIEW \"{}\"", name.replace('"', "\"\"")))?;
  }
  Ok(additions)
}

/// Creates again, after the rebuild, what [`prepare`] saved.
pub fn restore(conn: &Connection, migration: &Migration, additions: Additions) -> Result<()> {
  for (name, sql) in additions.objects.iter().chain(&additions.views) {
    conn.execute_batch(sql).map_err(|e| {
      Error::new(
        ErrorCode::MigrationFailed,
        format!(
          "{}: {name}, which the app added, cannot be created again after the rebuild: {}",
          migration.name(),
          Error::from(e).message
        ),
      )
    })?;
  }
  Ok(())
}
