//! `query` and `execute`: one SQL statement with bound parameters, for what the typed calls
//! do not cover, and the conversion of SQL values to and from JavaScript.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};

use napi::{sys, Env};
use napi_derive::napi;
use rusqlite::types::Value;

use crate::completion::JsOutput;
use crate::database::Database;
use crate::encode::JsHelpers;
use crate::js::{check, create_string, JsArg, JsReturn};
use crate::signal::CallLimits;
use agentdb_core::command::Command;
use agentdb_core::error::{Error, ErrorCode, Result};
use agentdb_core::input::fields::Source;
use agentdb_core::input::Kind;
use agentdb_core::sql::{self, params, Params, Rows};

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// `napi_float16_array`, the kind Node-API gives a `Float16Array` (Node 24 and later): the
/// entry after `napi_biguint64_array` (10) in `napi_typedarray_type` of Node's
/// `js_native_api_types.h`. The `napi-sys` crate does not define it.
const FLOAT16_ARRAY: sys::napi_typedarray_type = 11;

/// What `napi_get_typedarray_info` leaves in the kind when it does not know the array's
/// kind itself (a `Float16Array` in a Node that predates `napi_float16_array`): no kind has
/// this value.
const KIND_NOT_REPORTED: sys::napi_typedarray_type = -1;

/// The size in bytes of one element of a typed array of this kind; `None` for a kind this
/// code does not read (a `Float16Array`, or one newer still), which is refused, never given
/// a guessed size.
fn element_size(kind: sys::napi_typedarray_type) -> Option<usize> {
  use sys::TypedarrayType as T;
  match kind {
    T::int8_array | T::uint8_array | T::uint8_clamped_array => Some(1),
    T::int16_array | T::uint16_array => Some(2),
    T::int32_array | T::uint32_array | T::float32_array => Some(4),
    T::float64_array | T::bigint64_array | T::biguint64_array => Some(8),
    _ => None,
  }
}

/// Reads one parameter value: `null` (or `undefined`, as a JSON array holds it), a number, a
/// string, a boolean (stored 1/0), a bigint or binary data (a Buffer or typed array, copied).
fn sql_value(value: JsArg, what: &str) -> Result<Value> {
  let (env, raw) = value.parts();
  Ok(match value.kind() {
    Kind::Null | Kind::Undefined => Value::Null,
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
      // SAFETY: the handle invariant (see `crate::js`) holds for `env` and `raw` (a bigint,
      // checked above); `n` and `lossless` are live locals the call writes.
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

/// Copies the bytes of a typed array or Buffer. A `DataView` or an `ArrayBuffer` is refused
/// as another object, and so is a typed array of a kind this code does not know.
fn bytes(value: JsArg, what: &str) -> Result<Vec<u8>> {
  let (env, raw) = value.parts();
  let mut is_typed = false;
  // SAFETY: the handle invariant holds for `env` and `raw`; `is_typed` is a live local the
  // call writes.
  check(env, unsafe { sys::napi_is_typedarray(env, raw, &mut is_typed) }, what)?;
  if !is_typed {
    return Err(Error::invalid(format!(
      "{what} is an object; parameters take null, numbers, strings, booleans, bigints or binary data"
    )));
  }
  let (mut kind, mut length, mut data, mut buffer, mut offset) =
    (KIND_NOT_REPORTED, 0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
  // SAFETY: the handle invariant holds for `env` and `raw` (a typed array, checked above);
  // the five out-parameters are live locals the call writes.
  let status = unsafe { sys::napi_get_typedarray_info(env, raw, &mut kind, &mut length, &mut data, &mut buffer, &mut offset) };
  check(env, status, what)?;
  let Some(element) = element_size(kind) else {
    let name =
      if kind == FLOAT16_ARRAY || kind == KIND_NOT_REPORTED { "a Float16Array" } else { "a typed array of an unknown kind" };
    return Err(Error::invalid(format!(
      "{what} is {name}, which parameters do not take: pass its bytes as a Uint8Array \
       (new Uint8Array(array.buffer, array.byteOffset, array.byteLength))"
    )));
  };
  // With no elements the data pointer may be null or dangling (a detached buffer reports no
  // elements): it is not read.
  if length == 0 {
    return Ok(Vec::new());
  }
  let size = length
    .checked_mul(element)
    .filter(|size| *size <= isize::MAX as usize && !data.is_null())
    .ok_or_else(|| Error::invalid(format!("{what}: its memory cannot be read")))?;
  let mut is_own = false;
  // SAFETY: the handle invariant holds for `env` and `buffer`, the array's buffer, which the
  // call above gave out in this scope; `is_own` is a live local the call writes. It is false
  // for a SharedArrayBuffer.
  check(env, unsafe { sys::napi_is_arraybuffer(env, buffer, &mut is_own) }, what)?;
  if is_own {
    // SAFETY: Node-API points `data` at the array's first element, inside its buffer, with
    // `length` elements of `element` bytes each (the size of its kind) after it, so it is
    // valid for reads of `size` bytes. The buffer is not shared: only this thread can touch
    // it, and it runs no JavaScript while the slice lives, so nothing changes the bytes (nor
    // detaches or moves the buffer) before they are copied.
    Ok(unsafe { std::slice::from_raw_parts(data as *const u8, size) }.to_vec())
  } else {
    // SAFETY: valid for reads of `size` bytes as above, but the memory of a SharedArrayBuffer
    // can be written meanwhile by another thread (a worker): it is only ever read through
    // atomics, which have the size and alignment of `u8`, never through plain bytes. It is
    // not freed meanwhile: this thread's buffer handle keeps it alive.
    let shared = unsafe { std::slice::from_raw_parts(data as *const AtomicU8, size) };
    Ok(shared.iter().map(|byte| byte.load(Ordering::Relaxed)).collect())
  }
}

/// Query rows, turned into plain objects on the JavaScript thread.
struct RowObjects(Rows);

impl JsOutput for RowObjects {
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> Result<sys::napi_value> {
    let Rows { columns, rows, bytes } = self.0;
    // Each value once (twice its UTF-8 bytes at worst, a two-byte string of ASCII), plus the
    // row objects: half as much again leaves room for most.
    helpers.check_room(env, bytes.saturating_add(rows.len().saturating_mul(columns.len()).saturating_mul(16)), 1.5)?;
    let keys = columns.iter().map(|c| create_string(env, c)).collect::<Result<Vec<_>>>().map_err(internal)?;
    let mut array = ptr::null_mut();
    // SAFETY: the handle invariant (see `crate::js`) holds for `env`; `array` is a live local
    // the call writes.
    ok(unsafe { sys::napi_create_array_with_length(env, rows.len(), &mut array) })?;
    // Columns become own data properties, as JSON.parse makes them: assigning would run
    // the `__proto__` setter for a column of that name and lose it.
    let attributes =
      sys::PropertyAttributes::writable | sys::PropertyAttributes::enumerable | sys::PropertyAttributes::configurable;
    for (index, row) in rows.into_iter().enumerate() {
      let mut object = ptr::null_mut();
      // SAFETY: as above; `object` is a live local the call writes.
      ok(unsafe { sys::napi_create_object(env, &mut object) })?;
      let properties = keys
        .iter()
        .zip(row)
        .map(|(key, value)| {
          Ok(sys::napi_property_descriptor {
            utf8name: ptr::null(),
            name: *key,
            method: None,
            getter: None,
            setter: None,
            value: js_value(env, value)?,
            attributes,
            data: ptr::null_mut(),
          })
        })
        .collect::<Result<Vec<_>>>()?;
      // SAFETY: the handle invariant holds for `env` and `object`; `properties` is valid for
      // reads of `properties.len()` descriptors, each naming a string key and holding a value
      // made in this scope, with no callbacks.
      ok(unsafe { sys::napi_define_properties(env, object, properties.len(), properties.as_ptr()) })?;
      // A row count beyond `u32::MAX` cannot be an array's: that index is refused.
      let index = u32::try_from(index)
        .map_err(|_| Error::new(ErrorCode::ResultTooLarge, "the result has more rows than an array can hold; select fewer"))?;
      // SAFETY: the handle invariant holds for `env`, `array` and `object`.
      ok(unsafe { sys::napi_set_element(env, array, index, object) })?;
    }
    Ok(array)
  }
}

/// A Node-API status as the error building a result fails with (`INTERNAL`: the pending
/// exception, if any, is taken as the rejection by the settlement).
fn ok(status: sys::napi_status) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::internal(format!("building query rows failed (status {status})")))
  }
}

/// A failure of a helper while building a result, as `INTERNAL`.
fn internal(error: Error) -> Error {
  Error::internal(format!("building query rows failed: {}", error.message))
}

/// One SQL value as JavaScript: `null`, a number (a bigint beyond 2^53), a string, or a
/// Buffer holding a copy of a blob.
fn js_value(env: sys::napi_env, value: Value) -> Result<sys::napi_value> {
  let mut out = ptr::null_mut();
  let status = match value {
    // SAFETY: the handle invariant holds for `env`; `out` is a live local the call writes.
    Value::Null => unsafe { sys::napi_get_null(env, &mut out) },
    // `unsigned_abs`: `abs` of i64::MIN overflows.
    // SAFETY: as for `Null`.
    Value::Integer(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER as u64 => unsafe { sys::napi_create_int64(env, n, &mut out) },
    // SAFETY: as for `Null`.
    Value::Integer(n) => unsafe { sys::napi_create_bigint_int64(env, n, &mut out) },
    // SAFETY: as for `Null`.
    Value::Real(f) => unsafe { sys::napi_create_double(env, f, &mut out) },
    Value::Text(text) => return create_string(env, &text).map_err(internal),
    Value::Blob(bytes) => {
      let mut data = ptr::null_mut();
      // SAFETY: the handle invariant holds for `env`; `bytes` is valid for reads of
      // `bytes.len()` bytes, which the call copies into the new Buffer; `data` and `out` are
      // live locals the call writes.
      unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr() as *const c_void, &mut data, &mut out) }
    }
  };
  ok(status)?;
  Ok(out)
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
  /// `options.timeoutMs` (else `statementTimeoutMs` of `open`) limits how long the statement
  /// runs; `options.signal`, an `AbortSignal`, aborts it. Either interrupts only this call.
  ///
  /// Rejects with `SQL_ERROR` (invalid SQL, several statements), `INVALID_ARGUMENT` (a write
  /// statement, a statement that changes the connection, parameters that do not match),
  /// `SCHEMA_CHANGE_REFUSED`, `RESULT_TOO_LARGE`, `TIMEOUT`, `ABORTED`, `INTERRUPTED` (by
  /// `close()`) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_args_type = "sql: string, params?: SqlParams, options?: SqlOptions",
    ts_return_type = "Promise<Record<string, SqlValue>[]>"
  )]
  pub fn query(&self, env: Env, sql: JsArg, params: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let limits = || CallLimits::read(env.raw(), &self.queue, options, self.statement_timeout);
      self.read_limited(env, statement(sql, params), limits, |conn, (text, params)| {
        sql::query(conn, &text, &params).map(RowObjects)
      })
    })
  }

  /// Runs one SQL statement that changes data, in its own transaction on the writer
  /// connection, and resolves with `{ changes, lastInsertRowid }`. Transaction statements
  /// (BEGIN, COMMIT, SAVEPOINT, …) are refused: use `batch` to group writes. So are ATTACH,
  /// DETACH and pragmas given a value, which would change the connection for every later call,
  /// and statements that create, drop or alter a table, index, trigger or view (TEMP ones
  /// included): write an app migration (`addMigration`) instead.
  ///
  /// `options` as for `query`: an interrupted statement fails alone, its changes rolled back,
  /// and the writes grouped with it in one transaction are run again.
  ///
  /// Rejects with `SQL_ERROR`, `INVALID_ARGUMENT` (a statement that changes the connection,
  /// parameters that do not match), `SCHEMA_CHANGE_REFUSED` (a schema change, or a write to
  /// the `migrations` tracking table), `BAD_VALUE` (it inserted a rowid beyond 2^53 - 1, which
  /// `lastInsertRowid` would round; rolled back), `CONSTRAINT`, `ALREADY_EXISTS`, `BUSY`,
  /// `TIMEOUT`, `ABORTED`, `INTERRUPTED` (by `close()`) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_args_type = "sql: string, params?: SqlParams, options?: SqlOptions",
    ts_return_type = "Promise<ExecuteResult>"
  )]
  pub fn execute(&self, env: Env, sql: JsArg, params: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self
      .guard(env, || self.run_command(env, statement(sql, params).map(|(text, params)| Command::Execute(text, params)), options))
  }
}
