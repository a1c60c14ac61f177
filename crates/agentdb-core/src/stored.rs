//! Reading stored rows whose values may not be what their columns should hold.
//!
//! A file can hold values this library never wrote: written by the sqlite3 shell, by raw SQL
//! in a file that predates the type CHECKs, or received from elsewhere (a JSON column holding
//! a blob, a name that is an integer). Every typed reader reads its row through [`read`],
//! which turns such a value into a [`BadValue`] naming the table, the row and the column;
//! callers see it as a `BAD_VALUE` error, and `integrityCheck` lists such rows.

use std::fmt;

use rusqlite::types::ValueRef;
use rusqlite::Row;

use crate::error::{Error, ErrorCode};

/// A stored value of the wrong type: where it is and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
  /// The table.
  pub table: &'static str,
  /// The row's id, as JSON text (`"a1"` for a text id, `17` for a number).
  pub row_id: String,
  /// The column.
  pub column: String,
  /// What the column holds, in words (`a blob of 2 bytes`).
  pub holds: String,
  /// Why it cannot be read (the reader's own message).
  pub reason: String,
}

impl fmt::Display for BadValue {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
      f,
      "{} row {}: column {} holds {}, which this library cannot read ({}); the value was written by something else \
       (raw SQL, another tool): correct or delete the row",
      self.table, self.row_id, self.column, self.holds, self.reason
    )
  }
}

impl std::error::Error for BadValue {}

impl From<&BadValue> for Error {
  fn from(bad: &BadValue) -> Self {
    Error::new(ErrorCode::BadValue, bad.to_string())
  }
}

/// Runs `read` on a row of `table` whose id is at column `id_at`; a value it cannot read is
/// returned as a [`BadValue`] (inside rusqlite's conversion error, so that it travels through
/// `query_map` and the like, and [`Error::from`] makes it `BAD_VALUE`).
pub fn read<T>(table: &'static str, row: &Row, id_at: usize, read: impl FnOnce() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
  read().map_err(|err| {
    let (index, reason) = match &err {
      rusqlite::Error::InvalidColumnType(index, _, _) | rusqlite::Error::IntegralValueOutOfRange(index, _) => {
        (*index, err.to_string())
      }
      rusqlite::Error::FromSqlConversionFailure(index, _, inner) => (*index, inner.to_string()),
      _ => return err,
    };
    let bad = BadValue {
      table,
      row_id: row.get_ref(id_at).map_or_else(|_| "?".to_string(), |id| describe_id(id)),
      column: row.as_ref().column_name(index).map_or_else(|_| format!("#{index}"), str::to_string),
      holds: row.get_ref(index).map_or_else(|_| "an unreadable value".to_string(), describe),
      reason,
    };
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Null, Box::new(bad))
  })
}

/// Reads every row of `table` (`SELECT columns FROM table`) with `reader`, and calls
/// `visit` for each row holding a value of the wrong type. A table that is missing, or that
/// lacks a column (a file of an earlier schema), is skipped: there is nothing typed to read.
pub fn scan<T>(
  conn: &rusqlite::Connection,
  table: &'static str,
  columns: &str,
  reader: impl Fn(&Row) -> rusqlite::Result<T>,
  visit: &mut dyn FnMut(BadValue),
) -> crate::error::Result<()> {
  let Ok(mut stmt) = conn.prepare(&format!("SELECT {columns} FROM {table}")) else { return Ok(()) };
  let mut rows = stmt.query([])?;
  while let Some(row) = rows.next()? {
    if let Err(err) = reader(row) {
      match bad_value(&err) {
        Some(bad) => visit(bad.clone()),
        None => return Err(err.into()),
      }
    }
  }
  Ok(())
}

/// The [`BadValue`] inside a row-reading error made by [`read`], if that is what it is.
pub fn bad_value(err: &rusqlite::Error) -> Option<&BadValue> {
  match err {
    rusqlite::Error::FromSqlConversionFailure(_, _, inner) => inner.downcast_ref::<BadValue>(),
    _ => None,
  }
}

/// A row id as JSON text.
fn describe_id(id: ValueRef<'_>) -> String {
  match id {
    ValueRef::Text(text) => serde_json::to_string(&String::from_utf8_lossy(text)).unwrap_or_default(),
    ValueRef::Integer(n) => n.to_string(),
    other => describe(other),
  }
}

/// How many characters of a text value an error shows.
const SHOWN_CHARS: usize = 40;

/// A stored value in words.
fn describe(value: ValueRef<'_>) -> String {
  match value {
    ValueRef::Null => "NULL".to_string(),
    ValueRef::Integer(n) => format!("the integer {n}"),
    ValueRef::Real(x) => format!("the real number {x}"),
    ValueRef::Text(text) => {
      let text = String::from_utf8_lossy(text);
      let shown: String = text.chars().take(SHOWN_CHARS).collect();
      let more = if shown.len() < text.len() { "…" } else { "" };
      format!("the text {:?}{more}", shown)
    }
    ValueRef::Blob(bytes) => format!("a blob of {} byte{}", bytes.len(), if bytes.len() == 1 { "" } else { "s" }),
  }
}
