//! Methods called on something that is not a `Database`.
//!
//! V8 refuses a class method called with a `this` its class did not make (a detached
//! `const { getAgent } = db`, `Database.prototype.getAgent.call({}, 'x')`) by throwing a bare
//! `TypeError: Illegal invocation` before the method runs. At load time every method of
//! `Database.prototype` is wrapped so that such a call rejects (or, for the methods that do
//! not return a Promise, throws) an `INVALID_ARGUMENT` error saying what happened instead.

// napi-derive registers the load hook only in the addon, not in `cargo test`'s build.
#![cfg_attr(test, allow(dead_code))]

use std::ptr;

use napi::bindgen_prelude::Object;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use crate::js::{check, create_string, JsArg};

/// A function of `Database` that wraps each method of its prototype.
const WRAP_METHODS: &str = r#"(function wrapMethods(Database) {
  'use strict'
  const proto = Database.prototype
  // The methods that do not return a Promise throw their errors.
  const throwing = new Set(['addMigration', 'addMigrations', 'watch'])
  const refusal = (err) =>
    (err instanceof TypeError && err.message === 'Illegal invocation') ||
    (err && err.code === 'InvalidArg' && /Failed to (recover|unwrap)/.test(err.message))
  for (const name of Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name)
    const method = descriptor.value
    if (name === 'constructor' || typeof method !== 'function') continue
    const wrapped = {
      [name](...args) {
        try {
          return Reflect.apply(method, this, args)
        } catch (err) {
          if (!refusal(err)) throw err
          const what = this === null || this === undefined ? String(this) : typeof this === 'object' ? 'an object that is not a Database' : `a ${typeof this}`
          const error = new Error(
            `${name}() was called on ${what}: call it on the Database (db.${name}(…)); a method taken off its Database ` +
              `(const { ${name} } = db, a callback) has lost it, so bind it (db.${name}.bind(db))`,
          )
          error.code = 'INVALID_ARGUMENT'
          if (throwing.has(name)) throw error
          return Promise.reject(error)
        }
      },
    }[name]
    Object.defineProperty(proto, name, { ...descriptor, value: wrapped })
  }
})"#;

/// Wraps the methods of the `Database` class in `exports` (see the module comment).
#[napi(module_exports)]
pub fn wrap_methods(exports: Object, env: Env) -> napi::Result<()> {
  let env = env.raw();
  let fail =
    |err: agentdb_core::error::Error| napi::Error::from_reason(format!("cannot wrap the Database methods: {}", err.message));
  let database = JsArg::new(env, exports.raw()).get("Database", "Database").map_err(fail)?;
  let source = create_string(env, WRAP_METHODS).map_err(fail)?;
  let mut wrap = ptr::null_mut();
  // SAFETY: the handle invariant (see `crate::js`) holds for `env` and `source` (a string,
  // as the call requires); `wrap` is a live local the call writes.
  check(env, unsafe { sys::napi_run_script(env, source, &mut wrap) }, "the method wrapper").map_err(fail)?;
  let receiver = crate::js::undefined(env).map_err(fail)?;
  let argument = database.raw();
  let mut ignored = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`, `receiver`, `wrap` (the function the
  // script evaluated to) and `argument`, which is one value, as the count says; `ignored`
  // is a live local the call writes.
  check(env, unsafe { sys::napi_call_function(env, receiver, wrap, 1, &argument, &mut ignored) }, "the method wrapper")
    .map_err(fail)
}
