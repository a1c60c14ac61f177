//! Methods for the test suite only, compiled with the `test-hooks` feature (which the debug
//! build of `npm test` enables and the release build does not) and left out of `index.d.ts`.
//! They cause what must never happen in a real call, a panic, and do what another program
//! might do to the file, such as holding its write lock.

use napi::bindgen_prelude::ToNapiValue;
use napi::{sys, Env};
use napi_derive::napi;
use rusqlite::Connection;

use crate::completion::rejected;
use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::Source;

/// Where `testPanic` panics.
enum Place {
  /// On a reader thread, while a statement is being read.
  Read,
  /// On the writer thread, inside the group transaction.
  Write,
  /// On the writer thread, in work that manages its own transactions.
  Exclusive,
  /// On the JavaScript thread, while the call is being made.
  Call,
  /// On the JavaScript thread, while the call's result is being converted.
  Result,
}

fn parse_place(place: JsArg) -> Result<Place> {
  match place.string("place")?.as_str() {
    "read" => Ok(Place::Read),
    "write" => Ok(Place::Write),
    "exclusive" => Ok(Place::Exclusive),
    "call" => Ok(Place::Call),
    "result" => Ok(Place::Result),
    other => Err(Error::invalid(format!("place must be read, write, exclusive, call or result, got {other}"))),
  }
}

/// A result whose conversion to JavaScript panics.
struct PanicsWhenConverted;

impl ToNapiValue for PanicsWhenConverted {
  /// Panics, touching no handle.
  ///
  /// # Safety
  ///
  /// None beyond the trait's (the environment of the current JavaScript thread): this reads
  /// neither argument.
  unsafe fn to_napi_value(_env: sys::napi_env, _value: Self) -> napi::Result<sys::napi_value> {
    panic!("test panic while converting a result on the JavaScript thread")
  }
}

#[napi]
impl Database {
  /// Panics inside a call, at `place`: `'read'`, `'write'` or `'exclusive'` (on a database
  /// thread, after running `sql` there when given: a query to step into on a reader,
  /// statements to execute on the writer), `'call'` or `'result'` (on the JavaScript thread).
  /// The Promise must reject with `INTERNAL` and nothing `sql` changed may remain.
  #[napi(catch_unwind, skip_typescript)]
  pub fn test_panic(&self, env: Env, place: JsArg, sql: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let sql = if sql.is_nullish() { Ok(None) } else { sql.string("sql").map(Some) };
      let args = parse_place(place).and_then(|place| Ok((place, sql?)));
      match args {
        Ok((Place::Read, sql)) => self.read(env, Ok(sql), |conn, sql| -> Result<()> {
          if let Some(sql) = sql {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            rows.next()?;
          }
          panic!("test panic on a reader thread")
        }),
        Ok((Place::Write, sql)) => self.submit(env, Ok(sql), |store, sql, deferred| {
          let work = move |conn: &Connection| -> Result<()> {
            if let Some(sql) = &sql {
              conn.execute_batch(sql)?;
            }
            panic!("test panic on the writer thread, in the group transaction")
          };
          store.write(move || Ok(work), move |outcome| deferred.settle(outcome))
        }),
        Ok((Place::Exclusive, sql)) => self.exclusive(env, Ok(sql), |conn, sql, _| -> Result<()> {
          if let Some(sql) = sql {
            conn.execute_batch(&sql)?;
          }
          panic!("test panic on the writer thread, in exclusive work")
        }),
        Ok((Place::Call, _)) => panic!("test panic on the JavaScript thread"),
        Ok((Place::Result, _)) => self.read(env, Ok(()), |_, ()| Ok::<_, Error>(PanicsWhenConverted)),
        Err(err) => rejected(env.raw(), &self.queue, err).map(JsReturn),
      }
    })
  }

  /// Runs `sql` on the writer's connection outside any transaction the library manages, as
  /// another program sharing the file would: `BEGIN IMMEDIATE` holds the write lock until a
  /// later `testExec('COMMIT')`.
  #[napi(catch_unwind, skip_typescript)]
  pub fn test_exec(&self, env: Env, sql: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.exclusive(env, sql.string("sql"), |conn, sql, _| -> Result<()> { Ok(conn.execute_batch(&sql)?) }))
  }
}
