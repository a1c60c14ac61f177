//! Partial updates: the `SET` list of an `UPDATE` built from the fields a patch gives.
//! Column names come only from this crate's code; values are always bound parameters.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};

use crate::error::Result;
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
  /// row. An empty patch still moves `updated_at`. `Ok(None)` when no row has that key.
  pub fn apply<T>(
    self,
    conn: &Connection,
    table: &str,
    key: (&str, Value),
    returning: &str,
    map: impl FnOnce(&Row) -> rusqlite::Result<T>,
  ) -> Result<Option<T>> {
    let mut sets: Vec<String> = self.columns.iter().map(|c| format!("{c} = ?")).collect();
    sets.push(format!("updated_at = {TOUCH_UPDATED_AT}"));
    let sql = format!("UPDATE {table} SET {} WHERE {} = ? RETURNING {returning}", sets.join(", "), key.0);
    let mut values = self.values;
    values.push(key.1);
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row(params_from_iter(values), map).optional()?)
  }
}
