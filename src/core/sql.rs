//! The escape hatch: one SQL statement with bound parameters, for what the typed calls do not
//! cover. `query` runs read-only statements; `execute` runs one write inside the writer's
//! transaction, so it may not control transactions itself.

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, Statement};
use serde::Serialize;

use crate::core::error::{Error, ErrorCode, Result};

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

/// The first keyword of `sql`, upper-cased, after white space and comments.
fn leading_keyword(sql: &str) -> String {
  let mut rest = sql;
  loop {
    rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix("--") {
      rest = after.split_once('\n').map_or("", |(_, r)| r);
    } else if let Some(after) = rest.strip_prefix("/*") {
      rest = after.split_once("*/").map_or("", |(_, r)| r);
    } else {
      break;
    }
  }
  rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase()
}

fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<CachedStatement<'c>> {
  conn.prepare_cached(sql).map_err(|e| match e {
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

/// Statements that manage transactions or the files a connection uses: every call already
/// runs in a transaction the library manages, on a connection it manages.
const TRANSACTION_STATEMENTS: [&str; 9] = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "ATTACH", "DETACH", "VACUUM"];

/// Refuses statements that would take a connection out of the library's hands: transaction
/// control (a reader left inside a transaction would serve stale reads and pin the log), and
/// PRAGMAs that change a setting (foreign keys, CHECK constraints, the journal, locking and
/// durability are the library's). `execute` runs no PRAGMA at all; `query` reads a PRAGMA
/// given no value or argument, and reads the others through their table-valued functions.
fn refuse_control_statements(sql: &str, call: &str, pragmas: bool) -> Result<()> {
  let keyword = leading_keyword(sql);
  if TRANSACTION_STATEMENTS.contains(&keyword.as_str()) {
    return Err(Error::invalid(format!("{call} cannot run {keyword}: every call already runs in its own transaction (use batch() to group writes)")));
  }
  if keyword == "PRAGMA" && (!pragmas || sql.contains('=') || sql.contains('(')) {
    return Err(Error::invalid(format!(
      "{call} cannot change a PRAGMA: the connections' settings are the library's; read a pragma with query(), \
       through its table-valued function when it takes an argument (SELECT * FROM pragma_table_info('agents'))"
    )));
  }
  Ok(())
}

/// Runs one read-only statement and returns its rows.
pub fn query(conn: &Connection, sql: &str, params: &Params) -> Result<Rows> {
  refuse_control_statements(sql, "query()", true)?;
  let mut stmt = prepare(conn, sql)?;
  if !stmt.readonly() {
    return Err(Error::invalid("query() runs read-only statements; use execute() to change data"));
  }
  bind(&mut *stmt, params)?;
  let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
  let width = columns.len();
  let mut rows = Vec::new();
  let mut cursor = stmt.raw_query();
  while let Some(row) = cursor.next()? {
    rows.push((0..width).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?);
  }
  Ok(Rows { columns, rows })
}

/// Runs one statement that changes data, inside the caller's transaction.
pub fn execute(conn: &Connection, sql: &str, params: &Params) -> Result<Changes> {
  refuse_control_statements(sql, "execute()", false)?;
  let mut stmt = prepare(conn, sql)?;
  bind(&mut *stmt, params)?;
  let changes = stmt.raw_execute()? as u64;
  Ok(Changes { changes, last_insert_rowid: conn.last_insert_rowid() })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn db() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)").unwrap();
    conn
  }

  #[test]
  fn execute_and_query_with_both_parameter_styles() {
    let conn = db();
    let changes = execute(&conn, "INSERT INTO t (name, data) VALUES (?, ?)", &Params::Positional(vec!["a".to_string().into(), Value::Blob(vec![1, 2])])).unwrap();
    assert_eq!(changes, Changes { changes: 1, last_insert_rowid: 1 });
    let named = Params::Named(vec![("name".into(), "b".to_string().into())]);
    execute(&conn, "INSERT INTO t (name) VALUES (:name)", &named).unwrap();
    let rows = query(&conn, "SELECT id, name, data FROM t WHERE id >= ?1 ORDER BY id", &Params::Positional(vec![1.into()])).unwrap();
    assert_eq!(rows.columns, ["id", "name", "data"]);
    assert_eq!(rows.rows[0], vec![Value::Integer(1), Value::Text("a".into()), Value::Blob(vec![1, 2])]);
    assert_eq!(rows.rows[1][2], Value::Null);
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
  fn settings_and_transactions_stay_the_librarys() {
    let conn = db();
    let none = Params::Positional(Vec::new());
    for sql in ["PRAGMA ignore_check_constraints = ON", "pragma writable_schema=1", "PRAGMA foreign_keys = OFF", "PRAGMA user_version"] {
      assert_eq!(execute(&conn, sql, &none).unwrap_err().code, ErrorCode::InvalidArgument, "{sql}");
    }
    for sql in ["BEGIN", "PRAGMA query_only = 1", "PRAGMA writable_schema(1)", " /* c */ PRAGMA locking_mode = EXCLUSIVE", "SAVEPOINT a"] {
      assert_eq!(query(&conn, sql, &none).unwrap_err().code, ErrorCode::InvalidArgument, "{sql}");
    }
    assert!(conn.is_autocommit());
    assert_eq!(query(&conn, "PRAGMA foreign_keys", &none).unwrap().rows.len(), 1);
    assert_eq!(query(&conn, "SELECT name FROM pragma_table_info('t')", &none).unwrap().rows.len(), 3);
  }
}
