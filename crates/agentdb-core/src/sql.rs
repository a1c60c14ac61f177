//! The escape hatch: one SQL statement with bound parameters, for what the typed calls do not
//! cover. `query` runs read-only statements; `execute` runs one write inside the writer's
//! transaction. Both compile the statement under the rules [`crate::guard`] applies to the
//! application's SQL: it may read and change data, but change neither the connection
//! (transaction statements, ATTACH, DETACH, pragmas given a value, loading an extension) nor
//! the schema, which belongs to migrations.

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, Statement};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::guard;
use crate::input::fields::Source;
use crate::input::Kind;

/// Parameters of a statement: by position (`?`, `?1`) or by name (`:name`, `@name`, `$name`,
/// given without the prefix).
#[derive(Clone, Debug, PartialEq)]
pub enum Params {
  /// Values for `?` / `?NNN` in order.
  Positional(Vec<Value>),
  /// Values by parameter name, without its prefix character.
  Named(Vec<(String, Value)>),
}

/// Rows of a query: the column names and each row's values in that order.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
  /// Column names, as SQLite reports them.
  pub columns: Vec<String>,
  /// One vector of values per row.
  pub rows: Vec<Vec<Value>>,
}

/// What `execute` changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
  /// Rows changed by the statement.
  pub changes: u64,
  /// The rowid of the last row inserted on this connection.
  pub last_insert_rowid: i64,
}

/// Compiles one statement of the application's, which the guard may refuse.
fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<CachedStatement<'c>> {
  guard::compile_app_sql(|| conn.prepare_cached(sql))?.map_err(|e| match e {
    rusqlite::Error::MultipleStatement => Error::new(ErrorCode::SqlError, "sql must hold exactly one statement"),
    rusqlite::Error::Empty => Error::new(ErrorCode::SqlError, "sql holds no statement"),
    other => other.into(),
  })
}

/// Binds `params`, checking that they match the statement's parameters exactly.
fn bind(stmt: &mut Statement, params: &Params) -> Result<()> {
  let expected = stmt.parameter_count();
  match params {
    Params::Positional(values) => {
      if values.len() != expected {
        return Err(Error::invalid(format!("the statement takes {expected} parameter(s), {} given", values.len())));
      }
      for (index, value) in values.iter().enumerate() {
        stmt.raw_bind_parameter(index + 1, value)?;
      }
    }
    Params::Named(values) => {
      let mut used = 0;
      for index in 1..=expected {
        let name = stmt
          .parameter_name(index)
          .ok_or_else(|| Error::invalid(format!("parameter {index} has no name: pass an array for positional parameters")))?
          .to_string();
        let key = &name[1..];
        let value = values
          .iter()
          .find(|(n, _)| n == key)
          .map(|(_, v)| v)
          .ok_or_else(|| Error::invalid(format!("params: missing a value for {name}")))?;
        stmt.raw_bind_parameter(index, value)?;
        used += 1;
      }
      if used != values.len() {
        let known: Vec<String> = (1..=expected).filter_map(|i| stmt.parameter_name(i).map(|n| n[1..].to_string())).collect();
        let extra: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).filter(|n| !known.iter().any(|k| k == n)).collect();
        return Err(Error::invalid(format!("params: the statement has no parameter named {}", extra.join(", "))));
      }
    }
  }
  Ok(())
}

/// Runs one read-only statement and returns its rows.
pub fn query(conn: &Connection, sql: &str, params: &Params) -> Result<Rows> {
  let mut stmt = prepare(conn, sql)?;
  if !stmt.readonly() {
    return Err(Error::invalid("query() runs read-only statements; use execute() to change data"));
  }
  bind(&mut stmt, params)?;
  let names = |stmt: &Statement| -> Vec<String> { stmt.column_names().map(String::from).collect() };
  // A cached statement whose tables another connection (or a migration) has changed since is
  // prepared again by SQLite in its first step, with the columns of the schema now: they are
  // read from the first row, not before it.
  let before = names(&stmt);
  let mut columns = None;
  let mut rows = Vec::new();
  let mut cursor = stmt.raw_query();
  while let Some(row) = cursor.next()? {
    let width = columns.get_or_insert_with(|| names(row.as_ref())).len();
    rows.push((0..width).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?);
  }
  Ok(Rows { columns: columns.unwrap_or(before), rows })
}

/// Runs one statement that changes data, inside the caller's transaction.
pub fn execute(conn: &Connection, sql: &str, params: &Params) -> Result<Changes> {
  let mut stmt = prepare(conn, sql)?;
  bind(&mut stmt, params)?;
  let total_before = conn.total_changes();
  let changes = stmt.raw_execute()? as u64;
  // sqlite3_changes() still holds the count of the last INSERT, UPDATE or DELETE when the
  // statement is none of those (REINDEX, ANALYZE…); the total moves only when rows did.
  let changes = if conn.total_changes() == total_before { 0 } else { changes };
  Ok(Changes { changes, last_insert_rowid: conn.last_insert_rowid() })
}

/// Reads one parameter value of a batch's `execute`, which arrives as JSON: `null`, a
/// number, a string or a boolean (stored 1/0).
pub fn json_sql_value(value: &serde_json::Value, what: &str) -> Result<Value> {
  Ok(match value {
    serde_json::Value::Null => Value::Null,
    serde_json::Value::Bool(b) => Value::Integer(*b as i64),
    serde_json::Value::String(text) => Value::Text(text.clone()),
    serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN)), Value::Integer),
    _ => return Err(Error::invalid(format!("{what} must be null, a number, a string or a boolean"))),
  })
}

/// Reads `params` with `value_of`: an array for positional parameters, an object for named
/// ones, or nothing (absent or `null`).
pub fn params<S: Source>(value: Option<S>, what: &str, value_of: impl Fn(S, &str) -> Result<Value>) -> Result<Params> {
  let Some(value) = value.filter(|v| !v.is_nullish()) else { return Ok(Params::Positional(Vec::new())) };
  match value.kind() {
    Kind::Array => {
      let items = value.elements(what)?;
      items
        .into_iter()
        .enumerate()
        .map(|(i, v)| value_of(v, &format!("{what}[{i}]")))
        .collect::<Result<_>>()
        .map(Params::Positional)
    }
    Kind::Object => {
      let mut named = Vec::new();
      for key in value.keys(what)? {
        let path = format!("{what}.{key}");
        // A name whose value is `undefined` is absent, as in a JSON object.
        let Some(item) = value.property(&key, &path)? else { continue };
        named.push((key, value_of(item, &path)?));
      }
      Ok(Params::Named(named))
    }
    other => Err(Error::invalid(format!("{what} must be an array or an object, got {}", other.name()))),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    guard::guard_connection(&mut conn).unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)").unwrap();
    conn
  }

  #[test]
  fn execute_and_query_with_both_parameter_styles() {
    let conn = db();
    let changes = execute(
      &conn,
      "INSERT INTO t (name, data) VALUES (?, ?)",
      &Params::Positional(vec!["a".to_string().into(), Value::Blob(vec![1, 2])]),
    )
    .unwrap();
    assert_eq!(changes, Changes { changes: 1, last_insert_rowid: 1 });
    let named = Params::Named(vec![("name".into(), "b".to_string().into())]);
    execute(&conn, "INSERT INTO t (name) VALUES (:name)", &named).unwrap();
    let rows =
      query(&conn, "SELECT id, name, data FROM t WHERE id >= ?1 ORDER BY id", &Params::Positional(vec![1.into()])).unwrap();
    assert_eq!(rows.columns, ["id", "name", "data"]);
    assert_eq!(rows.rows[0], vec![Value::Integer(1), Value::Text("a".into()), Value::Blob(vec![1, 2])]);
    assert_eq!(rows.rows[1][2], Value::Null);
    let none = Params::Positional(vec![]);
    assert_eq!(execute(&conn, "REINDEX", &none).unwrap().changes, 0);
    assert_eq!(execute(&conn, "UPDATE t SET name = name WHERE id < 0", &none).unwrap().changes, 0);
    assert_eq!(execute(&conn, "DELETE FROM t", &none).unwrap().changes, 2);
  }

  #[test]
  fn refuses_what_would_break_the_contract() {
    let conn = db();
    let none = Params::Positional(vec![]);
    let code = |r: Result<Changes>| r.unwrap_err().code;
    assert_eq!(code(execute(&conn, "  /* x */ -- y\n commit", &none)), ErrorCode::InvalidArgument);
    assert_eq!(code(execute(&conn, "DELETE FROM t; DELETE FROM t", &none)), ErrorCode::SqlError);
    assert_eq!(code(execute(&conn, "", &none)), ErrorCode::SqlError);
    assert_eq!(code(execute(&conn, "INSERT INTO t (name) VALUES (?)", &none)), ErrorCode::InvalidArgument);
    let extra = Params::Named(vec![("name".into(), Value::Null), ("typo".into(), Value::Null)]);
    let err = execute(&conn, "INSERT INTO t (name) VALUES (:name)", &extra).unwrap_err();
    assert!(err.message.contains("typo"), "{err}");
    assert_eq!(query(&conn, "DELETE FROM t", &none).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(query(&conn, "SELEC 1", &none).unwrap_err().code, ErrorCode::SqlError);
  }

  #[test]
  fn application_sql_cannot_change_the_connection() {
    let conn = db();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let none = Params::Positional(vec![]);
    for sql in [
      "BEGIN",
      "SAVEPOINT s",
      "EXPLAIN BEGIN",
      "ATTACH ':memory:' AS other",
      "PRAGMA foreign_keys = OFF",
      "PRAGMA ignore_check_constraints(1)",
      "SELECT load_extension('x')",
    ] {
      assert_eq!(query(&conn, sql, &none).unwrap_err().code, ErrorCode::InvalidArgument, "query {sql}");
      assert_eq!(execute(&conn, sql, &none).unwrap_err().code, ErrorCode::InvalidArgument, "execute {sql}");
    }
    // SQLite applies a pragma assignment while compiling it: one hidden in a refused second
    // statement must not take effect either.
    assert!(query(&conn, "SELECT 1; PRAGMA foreign_keys = OFF", &none).is_err());
    assert!(conn.is_autocommit());
    let foreign_keys = query(&conn, "PRAGMA foreign_keys", &none).unwrap();
    assert_eq!(foreign_keys.rows, [[Value::Integer(1)]]);
    let columns =
      query(&conn, "SELECT name FROM pragma_table_info(?) ORDER BY cid", &Params::Positional(vec!["t".to_string().into()]))
        .unwrap();
    assert_eq!(columns.rows.len(), 3);
    // The crate's own statements are not refused.
    conn.execute_batch("BEGIN; SAVEPOINT own; RELEASE own; COMMIT").unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
  }
}
