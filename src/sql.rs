//! `query` and `execute`: one SQL statement with bound parameters, for what the typed calls
//! do not cover, and the conversion of SQL values to and from JavaScript.

use std::ffi::c_void;
use std::ptr;

use napi::{sys, Env};
use napi_derive::napi;
use rusqlite::types::Value;

use crate::completion::JsOutput;
use crate::database::Database;
use crate::encode::JsHelpers;
use crate::js::{check, create_string, JsArg, JsReturn};
use agentdb_core::command::Command;
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::Source;
use agentdb_core::input::Kind;
use agentdb_core::sql::{self, params, Params, Rows};

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Reads one parameter value: `null`, a number, a string, a boolean (stored 1/0), a bigint
/// or binary data (a Buffer or typed array, copied).
fn sql_value(value: JsArg, what: &str) -> Result<Value> {
  let (env, raw) = value.parts();
  Ok(match value.kind() {
    Kind::Null => Value::Null,
    Kind::Boolean => Value::Integer(value.boolean(what)? as i64),
    Kind::String => Value::Text(value.string(what)?),
    Kind::Number => {
      let n = value.number(what)?;
      if !n.is_finite() {
        return Err(Error::invalid(format!("{what} is not a finite number")));
      }
      if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER as f64 {
        Value::Integer(n as i64)
      } else {
        Value::Real(n)
      }
    }
    Kind::BigInt => {
      let (mut n, mut lossless) = (0i64, false);
      check(env, unsafe { sys::napi_get_value_bigint_int64(env, raw, &mut n, &mut lossless) }, what)?;
      if !lossless {
        return Err(Error::invalid(format!("{what} does not fit in a 64-bit integer")));
      }
      Value::Integer(n)
    }
    Kind::Object => Value::Blob(bytes(value, what)?),
    other => {
      return Err(Error::invalid(format!(
        "{what} is {}; parameters take null, numbers, strings, booleans, bigints or binary data",
        other.name()
      )))
    }
  })
}

/// Copies the bytes of a typed array or Buffer.
fn bytes(value: JsArg, what: &str) -> Result<Vec<u8>> {
  let (env, raw) = value.parts();
  let mut is_typed = false;
  unsafe { sys::napi_is_typedarray(env, raw, &mut is_typed) };
  if !is_typed {
    return Err(Error::invalid(format!(
      "{what} is an object; parameters take null, numbers, strings, booleans, bigints or binary data"
    )));
  }
  let (mut kind, mut length, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
  check(
    env,
    unsafe { sys::napi_get_typedarray_info(env, raw, &mut kind, &mut length, &mut data, &mut buffer, &mut offset) },
    what,
  )?;
  let element = match kind {
    sys::TypedarrayType::int8_array | sys::TypedarrayType::uint8_array | sys::TypedarrayType::uint8_clamped_array => 1,
    sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
    sys::TypedarrayType::int32_array | sys::TypedarrayType::uint32_array | sys::TypedarrayType::float32_array => 4,
    _ => 8,
  };
  if data.is_null() || length == 0 {
    return Ok(Vec::new());
  }
  Ok(unsafe { std::slice::from_raw_parts(data as *const u8, length * element) }.to_vec())
}

/// Query rows, turned into plain objects on the JavaScript thread.
struct RowObjects(Rows);

impl JsOutput for RowObjects {
  fn into_js(self, env: sys::napi_env, _helpers: &JsHelpers) -> napi::Result<sys::napi_value> {
    let Rows { columns, rows } = self.0;
    let to_napi = |status| napi::Error::from_reason(format!("building query rows failed (status {status})"));
    unsafe {
      let keys: Vec<sys::napi_value> = columns.iter().map(|c| create_string(env, c)).collect();
      let mut array = ptr::null_mut();
      sys::napi_create_array_with_length(env, rows.len(), &mut array);
      // Columns become own data properties, as JSON.parse makes them: assigning would run
      // the `__proto__` setter for a column of that name and lose it.
      let attributes =
        sys::PropertyAttributes::writable | sys::PropertyAttributes::enumerable | sys::PropertyAttributes::configurable;
      for (index, row) in rows.into_iter().enumerate() {
        let mut object = ptr::null_mut();
        sys::napi_create_object(env, &mut object);
        let properties: Vec<sys::napi_property_descriptor> = keys
          .iter()
          .zip(row)
          .map(|(key, value)| sys::napi_property_descriptor {
            utf8name: ptr::null(),
            name: *key,
            method: None,
            getter: None,
            setter: None,
            value: js_value(env, value),
            attributes,
            data: ptr::null_mut(),
          })
          .collect();
        let status = sys::napi_define_properties(env, object, properties.len(), properties.as_ptr());
        if status != sys::Status::napi_ok {
          return Err(to_napi(status));
        }
        sys::napi_set_element(env, array, index as u32, object);
      }
      Ok(array)
    }
  }
}

/// One SQL value as JavaScript: `null`, a number (a bigint beyond 2^53), a string, or a
/// Buffer holding a copy of a blob.
unsafe fn js_value(env: sys::napi_env, value: Value) -> sys::napi_value {
  let mut out = ptr::null_mut();
  unsafe {
    match value {
      Value::Null => sys::napi_get_null(env, &mut out),
      // `unsigned_abs`: `abs` of i64::MIN overflows.
      Value::Integer(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER as u64 => sys::napi_create_int64(env, n, &mut out),
      Value::Integer(n) => sys::napi_create_bigint_int64(env, n, &mut out),
      Value::Real(f) => sys::napi_create_double(env, f, &mut out),
      Value::Text(text) => return create_string(env, &text),
      Value::Blob(bytes) => {
        let mut data = ptr::null_mut();
        sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr() as *const c_void, &mut data, &mut out)
      }
    };
  }
  out
}

/// Reads `query`'s and `execute`'s `(sql, params)`.
fn statement(sql: JsArg, values: JsArg) -> Result<(String, Params)> {
  Ok((sql.string("sql")?, params(Some(values), "params", sql_value)?))
}

#[napi]
impl Database {
  /// Runs one read-only SQL statement on a reader connection and resolves with its rows as
  /// plain objects (`null`, numbers — bigints beyond 2^53 —, strings, Buffers for blobs).
  /// `params` is an array for `?` parameters or an object for `:name` / `@name` / `$name`
  /// (keys without the prefix). Values are always bound, never spliced into the SQL.
  ///
  /// Statements that would change the connection rather than read data are refused: BEGIN,
  /// COMMIT, SAVEPOINT and the other transaction statements, ATTACH, DETACH, and pragmas given
  /// a value (read a pragma as `PRAGMA name` or `SELECT * FROM pragma_table_info(?)`). So are
  /// statements that create, drop or alter a table, index, trigger or view: schema changes
  /// belong in an app migration (`addMigration`).
  ///
  /// Rejects with `SQL_ERROR` (invalid SQL, several statements), `INVALID_ARGUMENT` (a write
  /// statement, a statement that changes the connection, parameters that do not match),
  /// `SCHEMA_CHANGE_REFUSED` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "sql: string, params?: SqlParams", ts_return_type = "Promise<Record<string, SqlValue>[]>")]
  pub fn query(&self, env: Env, sql: JsArg, params: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read(env, statement(sql, params), |conn, (text, params)| sql::query(conn, &text, &params).map(RowObjects))
    })
  }

  /// Runs one SQL statement that changes data, in its own transaction on the writer
  /// connection, and resolves with `{ changes, lastInsertRowid }`. Transaction statements
  /// (BEGIN, COMMIT, SAVEPOINT, …) are refused: use `batch` to group writes. So are ATTACH,
  /// DETACH and pragmas given a value, which would change the connection for every later call,
  /// and statements that create, drop or alter a table, index, trigger or view (TEMP ones
  /// included): write an app migration (`addMigration`) instead.
  ///
  /// Rejects with `SQL_ERROR`, `INVALID_ARGUMENT` (a statement that changes the connection,
  /// parameters that do not match), `SCHEMA_CHANGE_REFUSED` (a schema change), `CONSTRAINT`,
  /// `ALREADY_EXISTS`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "sql: string, params?: SqlParams", ts_return_type = "Promise<ExecuteResult>")]
  pub fn execute(&self, env: Env, sql: JsArg, params: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.run_command(env, statement(sql, params).map(|(text, params)| Command::Execute(text, params))))
  }
}
