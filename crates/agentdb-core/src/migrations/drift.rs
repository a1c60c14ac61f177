//! Drift: the live schema compared with the schema the applied migrations produce, replayed
//! on a private in-memory database. Each missing, extra or changed table, index, trigger or
//! view is a `SCHEMA_DRIFT` warning. Where an applied migration's SQL is unknown to this
//! build (or differs from what was applied), the replay could only guess, so the report says
//! so instead of comparing.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::Result;
use crate::migrations::source::{canonical, MigrationSet};
use crate::migrations::tracking::AppliedMigration;
use crate::migrations::validation::{Issue, IssueCode};

/// A schema's objects by (type, name), with their SQL.
type Objects = BTreeMap<(String, String), Option<String>>;

/// The schema objects of `conn`'s main database, leaving out SQLite's own and the tracking
/// table, their SQL in canonical form (line endings, as checksums see them). A table renamed
/// by a rebuild is stored as `CREATE TABLE "name"`; the quotes are taken off so that a
/// rebuilt table compares equal to one created under its name.
fn objects(conn: &Connection) -> Result<Objects> {
  let sql = "SELECT type, name, sql FROM main.sqlite_master \
     WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name <> 'migrations'";
  let mut stmt = conn.prepare(sql)?;
  let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?)))?;
  let mut objects = Objects::new();
  for row in rows {
    let (kind, name, sql) = row?;
    let sql = sql.map(|s| canonical(&s).replacen(&format!("CREATE TABLE \"{name}\""), &format!("CREATE TABLE {name}"), 1));
    objects.insert((kind, name), sql);
  }
  Ok(objects)
}

fn drift(message: String) -> Issue {
  Issue { code: IssueCode::SchemaDrift, namespace: String::new(), migration_id: String::new(), message }
}

/// The drift warnings of `conn` against the migrations `applied` records, replayed in the
/// order they were applied with this build's SQL.
pub fn check(conn: &Connection, set: &MigrationSet, applied: &[AppliedMigration]) -> Result<Vec<Issue>> {
  let mut replayed = Vec::new();
  for record in applied {
    match record.version.as_ref().and_then(|v| set.get(&record.namespace, v)) {
      Some(migration) if migration.checksum == record.checksum => replayed.push(migration),
      Some(_) => {
        return Ok(vec![drift(format!(
          "the schema was not compared: {} {} was applied with SQL that differs from this build's",
          record.namespace, record.id
        ))])
      }
      None => {
        return Ok(vec![drift(format!(
          "the schema was not compared: {} {} is applied, but its SQL is unknown to this build",
          record.namespace, record.id
        ))])
      }
    }
  }
  let expected = Connection::open_in_memory()?;
  for migration in replayed {
    for sql in &migration.up {
      if let Err(err) = expected.execute_batch(sql) {
        return Ok(vec![drift(format!(
          "the schema was not compared: replaying {} on an empty database failed ({err})",
          migration.name()
        ))]);
      }
    }
  }
  let (expected, live) = (objects(&expected)?, objects(conn)?);
  let mut issues = Vec::new();
  for ((kind, name), sql) in &expected {
    match live.get(&(kind.clone(), name.clone())) {
      None => issues.push(drift(format!("the {kind} {name} that the applied migrations create is missing"))),
      Some(live_sql) if live_sql != sql => {
        issues.push(drift(format!("the {kind} {name} differs from what the applied migrations create")))
      }
      Some(_) => {}
    }
  }
  for (kind, name) in live.keys().filter(|key| !expected.contains_key(*key)) {
    issues.push(drift(format!("the {kind} {name} is not created by any applied migration (raw SQL or another tool made it)")));
  }
  Ok(issues)
}
