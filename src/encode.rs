//! The two JavaScript functions the addon calls on the JavaScript thread, created once per
//! database and held by reference: `JSON.parse`, which builds result objects from the JSON
//! text made on a database thread, and the input encoder, which turns an input into JSON text.
//!
//! The encoder walks the input in JavaScript (where V8 compiles it) and refuses what
//! `JSON.stringify` would silently lose or mangle — functions, symbols, bigints, `NaN` and
//! infinities, binary data, Maps and Sets, invalid Dates, `undefined` inside JSON fields — and
//! cycles (a JSON field may nest 128 levels, counted from the field's value); then it calls
//! `JSON.stringify`.
//! Everything else about the input (field names, types, enumerations) is checked on the
//! database thread, off the JavaScript thread. `undefined` on an input's own fields means
//! "not given", as it does for any JavaScript options object.

use std::ptr;

use napi::sys;

use crate::js::{check, create_string, JsArg};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::Kind;

/// The encoder's source. `JSON_FIELDS` are the input fields whose value is free-form JSON
/// (and a batch's SQL parameters), where `undefined` cannot mean "not given".
const ENCODER: &str = r#"(function () {
  'use strict';
  const JSON_FIELDS = new Set(['content', 'metadata', 'configuration', 'params']);
  const MAX_DEPTH = 128;
  const path = [];
  function refuse(root, why) {
    const keys = path.length > 12 ? [...path.slice(0, 8), '…', ...path.slice(-4)] : path;
    let where = root;
    for (const key of keys) where += typeof key === 'number' ? '[' + key + ']' : key === '…' ? key : (where === '' ? '' : '.') + key;
    path.length = 0;
    const error = new TypeError(where + ' ' + why);
    error.code = 'INVALID_ARGUMENT';
    throw error;
  }
  function check(value, strict, depth, root) {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(value)) refuse(root, 'is not a finite number');
        return;
      case 'undefined':
        if (strict) refuse(root, 'is undefined, which JSON cannot hold');
        return;
      case 'object':
        if (value === null) return;
        if (depth > MAX_DEPTH) refuse(root, 'nests deeper than ' + MAX_DEPTH + ' levels or contains a cycle');
        if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) refuse(root, 'is binary data, which JSON cannot hold');
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) refuse(root, 'is an invalid Date');
          return;
        }
        if (value instanceof Map || value instanceof Set) refuse(root, 'is a Map or a Set, which JSON cannot hold');
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            path.push(i);
            check(value[i], strict, depth + 1, root);
            path.pop();
          }
          return;
        }
        for (const key of Object.keys(value)) {
          path.push(key);
          // A JSON field's value counts its own levels, from 1.
          if (!strict && JSON_FIELDS.has(key)) check(value[key], true, 1, root);
          else check(value[key], strict, depth + 1, root);
          path.pop();
        }
        return;
      default:
        refuse(root, 'is a ' + typeof value + ', which JSON cannot hold');
    }
  }
  return function encode(value, root) {
    path.length = 0;
    check(value, false, 1, root);
    const text = JSON.stringify(value);
    return text === undefined ? null : text;
  };
})()"#;

/// References to `JSON.parse` and the encoder in one JavaScript environment. Used only on
/// that environment's thread.
pub struct JsHelpers {
  parse: sys::napi_ref,
  encode: sys::napi_ref,
}

// The references are only dereferenced on the JavaScript thread that created them; the
// struct travels with the completion queue, which database threads hold.
unsafe impl Send for JsHelpers {}
unsafe impl Sync for JsHelpers {}

impl JsHelpers {
  /// Creates both functions; must run on the JavaScript thread.
  pub fn new(env: sys::napi_env) -> napi::Result<JsHelpers> {
    let failed = |what: &str| napi::Error::from_reason(format!("cannot set up {what}"));
    unsafe {
      let mut global = ptr::null_mut();
      sys::napi_get_global(env, &mut global);
      let json = JsArg::new(env, global).get("JSON", "JSON").map_err(|_| failed("JSON"))?;
      let parse = json.get("parse", "JSON.parse").map_err(|_| failed("JSON.parse"))?;
      let mut encode = ptr::null_mut();
      if sys::napi_run_script(env, create_string(env, ENCODER), &mut encode) != sys::Status::napi_ok {
        let mut exception = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut exception);
        return Err(failed("the input encoder"));
      }
      let (mut parse_ref, mut encode_ref) = (ptr::null_mut(), ptr::null_mut());
      sys::napi_create_reference(env, parse.raw(), 1, &mut parse_ref);
      sys::napi_create_reference(env, encode, 1, &mut encode_ref);
      Ok(JsHelpers { parse: parse_ref, encode: encode_ref })
    }
  }

  /// Releases the references; called on the JavaScript thread when the queue is finalized.
  pub fn release(&self, env: sys::napi_env) {
    unsafe {
      sys::napi_delete_reference(env, self.parse);
      sys::napi_delete_reference(env, self.encode);
    }
  }

  /// Calls `function(...args)`. A thrown exception is cleared and returned: the encoder's
  /// own refusals (code `INVALID_ARGUMENT`) keep their message, anything else thrown while
  /// reading the input (a getter, a Proxy trap) is reported as such.
  fn call(&self, env: sys::napi_env, function: sys::napi_ref, args: &[sys::napi_value], what: &str) -> Result<sys::napi_value> {
    unsafe {
      let (mut callee, mut receiver, mut result) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
      sys::napi_get_reference_value(env, function, &mut callee);
      sys::napi_get_undefined(env, &mut receiver);
      if sys::napi_call_function(env, receiver, callee, args.len(), args.as_ptr(), &mut result) == sys::Status::napi_ok {
        return Ok(result);
      }
      let mut exception = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env, &mut exception);
      let exception = JsArg::new(env, exception);
      let text =
        |name: &str| exception.get(name, name).ok().filter(|v| v.kind() == Kind::String).and_then(|v| v.string(name).ok());
      let message = text("message").unwrap_or_else(|| format!("a thrown {}", exception.kind().name()));
      Err(match text("code").as_deref() {
        Some("INVALID_ARGUMENT") => Error::invalid(message),
        _ => Error::invalid(format!("reading {what} threw: {message}")),
      })
    }
  }

  /// Turns a call's arguments into the JSON text of one object, `{ name: value, … }`,
  /// refusing what JSON cannot hold; an argument left `undefined` is absent from it.
  /// `call` names the method in errors.
  pub fn encode_args(&self, env: sys::napi_env, call: &str, names: &[&str], values: &[JsArg]) -> Result<String> {
    let what = format!("the arguments of {call}");
    let mut object = ptr::null_mut();
    // SAFETY: `env` is the environment of the JavaScript thread this runs on, and `object`
    // is a valid place for the new value's handle.
    check(env, unsafe { sys::napi_create_object(env, &mut object) }, &what)?;
    for (name, value) in names.iter().zip(values) {
      // SAFETY: `object` was just created in `env`; the key and the value are live handles
      // of the same environment, inside the current call's handle scope.
      check(env, unsafe { sys::napi_set_property(env, object, create_string(env, name), value.raw()) }, &what)?;
    }
    let text = JsArg::new(env, self.call(env, self.encode, &[object, create_string(env, "")], &what)?);
    text.string(&what)
  }

  /// `JSON.parse(text)`.
  pub fn parse(&self, env: sys::napi_env, text: &str) -> napi::Result<sys::napi_value> {
    self.call(env, self.parse, &[create_string(env, text)], "JSON.parse").map_err(|e| napi::Error::from_reason(e.message))
  }
}
