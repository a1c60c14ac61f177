//! Partial updates: the `SET` list of an `UPDATE` built from the fields a patch gives.
//! Column names come only from this crate's code; values are always bound parameters.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::TOUCH_UPDATED_AT;

/// The columns a patch changes, with their new values.
#[derive(Default)]
pub struct Assignments {
  columns: Vec<&'static str>,
  values: Vec<Value>,
}

impl Assignments {
  /// Sets `column` when the patch gives a value.
  pub fn set(&mut self, column: &'static str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
      self.columns.push(column);
      self.values.push(value.into());
    }
  }

  /// Sets a nullable `column`: `None` keeps it, `Some(None)` sets NULL.
  pub fn set_nullable(&mut self, column: &'static str, value: Option<Option<impl Into<Value>>>) {
    if let Some(value) = value {
      self.columns.push(column);
      self.values.push(value.map_or(Value::Null, Into::into));
    }
  }

  /// Whether the patch changes anything.
  pub fn is_empty(&self) -> bool {
    self.columns.is_empty()
  }

  /// Runs `UPDATE table SET … , updated_at = … WHERE key = ? RETURNING returning` and maps the
  /// row. An empty patch still moves `updated_at`. `Ok(None)` when no row has that key;
  /// `NOT_WRITTEN` naming `what` when the row exists but the update was skipped (a trigger's
  /// `RAISE(IGNORE)`, a conflict clause).
  pub fn apply<T>(
    self,
    conn: &Connection,
    table: &str,
    key: (&str, Value),
    what: &str,
    returning: &str,
    map: impl FnOnce(&Row) -> rusqlite::Result<T>,
  ) -> Result<Option<T>> {
    let mut sets: Vec<String> = self.columns.iter().map(|c| format!("{c} = ?")).collect();
    sets.push(format!("updated_at = {TOUCH_UPDATED_AT}"));
    let sql = format!("UPDATE {table} SET {} WHERE {} = ? RETURNING {returning}", sets.join(", "), key.0);
    let mut values = self.values;
    values.push(key.1.clone());
    let mut stmt = conn.prepare_cached(&sql)?;
    match stmt.query_row(params_from_iter(values), map).optional()? {
      Some(row) => Ok(Some(row)),
      None if exists(conn, table, key)? => Err(Error::not_written(table, what)),
      None => Ok(None),
    }
  }
}

/// Whether `table` has a row whose `key` column has the key's value.
pub fn exists(conn: &Connection, table: &str, key: (&str, Value)) -> Result<bool> {
  Ok(conn.prepare_cached(&format!("SELECT 1 FROM {table} WHERE {} = ?1", key.0))?.exists([key.1])?)
}
