//! JSON columns: values go in as text produced by serde_json and come out as raw JSON text,
//! which is handed to JavaScript without being parsed and rebuilt in Rust.

use rusqlite::types::{FromSqlError, Type};
use rusqlite::Row;
use serde_json::value::RawValue;

/// A JSON value as stored: valid JSON text.
pub type Json = Box<RawValue>;

/// Reads a JSON column (the schema's CHECK keeps it valid JSON).
pub fn column(row: &Row, index: usize) -> rusqlite::Result<Json> {
  let text: String = row.get(index)?;
  RawValue::from_string(text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// Reads a nullable JSON column.
pub fn nullable_column(row: &Row, index: usize) -> rusqlite::Result<Option<Json>> {
  let text: Option<String> = row.get(index)?;
  text
    .map(|t| RawValue::from_string(t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e))))
    .transpose()
}

/// A JSON value as stored text, serialised once.
pub fn from_value(value: &serde_json::Value) -> Json {
  serde_json::value::to_raw_value(value).unwrap_or_else(|_| unreachable!("a JSON value serialises"))
}

/// Serialises a value for a JSON column.
pub fn text<T: serde::Serialize + ?Sized>(value: &T) -> String {
  serde_json::to_string(value).unwrap_or_else(|_| unreachable!("values built from JSON serialise"))
}

/// The error SQLite row mapping uses for an unexpected value.
pub fn conversion_error(index: usize, error: crate::error::Error) -> rusqlite::Error {
  rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(FromSqlError::Other(Box::new(error))))
}
