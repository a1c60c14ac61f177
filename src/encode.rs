//! The two JavaScript functions the addon calls on the JavaScript thread, created once per
//! database and held by reference: `JSON.parse`, which builds result objects from the JSON
//! text made on a database thread, and the input encoder, which turns an input into JSON text.
//!
//! The encoder walks the input in JavaScript (where V8 compiles it) and refuses what
//! `JSON.stringify` would silently lose or mangle — functions, symbols, bigints, `NaN` and
//! infinities, binary data, Maps and Sets, invalid Dates — and cycles (a JSON field may nest
//! 128 levels, counted from the field's value); then it calls `JSON.stringify`.
//! `undefined` is what `JSON.stringify` makes of it: an object property holding it is left
//! out (so a call's own field set to `undefined` is absent, as in any JavaScript options
//! object), an array element holding it (or a hole) becomes `null`.
//! An `Error` becomes a plain object: its `name` and `message`, its own enumerable properties,
//! and its `cause` (and an `AggregateError`'s `errors`), themselves encoded the same way; not
//! its `stack`.
//! Everything else about the input (field names, types, enumerations) is checked on the
//! database thread, off the JavaScript thread.

use std::ptr;

use napi::sys;

use crate::js::{check, create_string, take_exception, undefined, JsArg};
use agentdb_core::error::{Error, Result};
use agentdb_core::limits;

/// The encoder's source. `JSON_FIELDS` are the input fields whose value is free-form JSON
/// (and a batch's SQL parameters): each counts its nesting from its own value.
const ENCODER: &str = r#"(function () {
  'use strict';
  const JSON_FIELDS = new Set(['content', 'metadata', 'configuration', 'params']);
  const MAX_DEPTH = 128;
  const path = [];
  let sawError = false;
  function refuse(root, why) {
    const keys = path.length > 12 ? [...path.slice(0, 8), '…', ...path.slice(-4)] : path;
    let where = root;
    for (const key of keys) where += typeof key === 'number' ? '[' + key + ']' : key === '…' ? key : (where === '' ? '' : '.') + key;
    path.length = 0;
    const error = new TypeError(where + ' ' + why);
    error.code = 'INVALID_ARGUMENT';
    throw error;
  }
  // An Error as the plain object stored for it.
  function plain(error) {
    const object = { name: error.name, message: error.message };
    for (const key of Object.keys(error)) object[key] = error[key];
    for (const key of ['cause', 'errors']) if (Object.hasOwn(error, key) && !Object.hasOwn(object, key)) object[key] = error[key];
    return object;
  }
  function replace(key, value) {
    return value instanceof Error ? plain(value) : value;
  }
  function check(value, inJson, depth, root) {
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return;
      case 'number':
        if (!Number.isFinite(value)) refuse(root, 'is not a finite number');
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
            check(value[i], inJson, depth + 1, root);
            path.pop();
          }
          return;
        }
        if (value instanceof Error) {
          sawError = true;
          value = plain(value);
        }
        for (const key of Object.keys(value)) {
          path.push(key);
          // A JSON field's value counts its own levels, from 1.
          if (!inJson && JSON_FIELDS.has(key)) check(value[key], true, 1, root);
          else check(value[key], inJson, depth + 1, root);
          path.pop();
        }
        return;
      default:
        refuse(root, 'is a ' + typeof value + ', which JSON cannot hold');
    }
  }
  function encode(value, root) {
    path.length = 0;
    sawError = false;
    check(value, false, 1, root);
    // The replacer costs a call per value: only inputs holding an Error pay it.
    const text = sawError ? JSON.stringify(value, replace) : JSON.stringify(value);
    return text === undefined ? null : text;
  }
  // A slice of the list argument `name`: the elements from `from` on, encoded as `encode`
  // would encode them inside `{ name: list }`, until `to` or until checking them has taken
  // `budgetMs`; returns their texts joined by commas and where the next slice starts. The
  // slice is stringified at once: one call per element would cost twice as much.
  encode.slice = function encodeSlice(name, list, from, to, budgetMs) {
    const start = performance.now();
    sawError = false;
    let at = from;
    while (at < to) {
      path.length = 0;
      path.push(name, at);
      check(list[at], false, 3, '');
      at++;
      if (performance.now() - start >= budgetMs) break;
    }
    const part = list.slice(from, at);
    const text = sawError ? JSON.stringify(part, replace) : JSON.stringify(part);
    return { text: text.slice(1, -1), next: at };
  };
  return encode;
})()"#;

/// The source of the function that says how many bytes the JavaScript heap has left for
/// large values, or -1 where this environment cannot say (no `process.getBuiltinModule`,
/// which Node has from 20.16 and 22.3). V8's `total_available_size` counts the young
/// generation too (48 MiB at most with V8's defaults on 64-bit), where a large value never
/// goes: 64 MiB of it are not counted. Garbage not yet collected counts as used, so the
/// room said is never more than there is.
const HEAP_ROOM: &str = r#"(function () {
  'use strict';
  const YOUNG = 64 * 1024 * 1024;
  const v8 = typeof process === 'object' && process !== null && typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule('v8') : undefined;
  return function heapRoom() {
    return v8 === undefined ? -1 : Math.max(0, v8.getHeapStatistics().total_available_size - YOUNG);
  };
})()"#;

/// The source of the function that watches a call's `signal`: it returns `false` for a
/// value that is not an `AbortSignal`, `true` for one already aborted, and otherwise adds
/// `onAbort` as a listener of its `abort` event and returns the function that removes it.
const WATCH_SIGNAL: &str = r#"(function () {
  'use strict';
  return function watchSignal(signal, onAbort) {
    if (typeof AbortSignal !== 'function' || !(signal instanceof AbortSignal)) return false;
    if (signal.aborted) return true;
    signal.addEventListener('abort', onAbort, { once: true });
    return function unwatch() { signal.removeEventListener('abort', onAbort); };
  };
})()"#;

/// The source of the function that builds one piece of a long result (see
/// `crate::json::SlicedText`): it parses the piece, the text of an array, and appends its
/// elements to `items`; with `head` (the rest of a page), it also sets its `items` to the
/// array and returns it.
const APPEND_PIECE: &str = r#"(function () {
  'use strict';
  return function appendPiece(items, text, head) {
    const piece = JSON.parse(text);
    for (let i = 0; i < piece.length; i++) items.push(piece[i]);
    if (head === undefined) return items;
    head.items = items;
    return head;
  };
})()"#;

/// Results smaller than this are built without asking the heap for room: the question costs
/// more than the answer is worth.
const ROOM_CHECKED_FROM: usize = 1 << 20;

/// References to `JSON.parse`, the encoder, the heap-room function, the signal watcher,
/// `setImmediate`, the piece builder and the slice encoder in one JavaScript environment. Used only on that environment's thread.
pub(crate) struct JsHelpers {
  parse: sys::napi_ref,
  encode: sys::napi_ref,
  heap_room: sys::napi_ref,
  watch_signal: sys::napi_ref,
  set_immediate: sys::napi_ref,
  append_piece: sys::napi_ref,
  encode_slice: sys::napi_ref,
}

// SAFETY: the references are created, dereferenced and deleted only on the JavaScript
// thread of their environment: every method takes that thread's `napi_env` (the handle
// invariant, see `crate::js`), which a database thread never has. Database threads only move
// and share the struct, as part of the completion queue's state, without reading its fields.
unsafe impl Send for JsHelpers {}
// SAFETY: as for `Send`: a shared `&JsHelpers` is only used through methods that run on the
// JavaScript thread.
unsafe impl Sync for JsHelpers {}

/// Creates a strong reference to `value`, which keeps it alive until it is deleted.
pub(crate) fn reference(env: sys::napi_env, value: sys::napi_value, what: &str) -> Result<sys::napi_ref> {
  let mut reference = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env` and `value`; `reference` is a live local
  // the call writes.
  check(env, unsafe { sys::napi_create_reference(env, value, 1, &mut reference) }, what)?;
  Ok(reference)
}

/// The value a reference made by [`reference`] holds.
pub(crate) fn reference_value(env: sys::napi_env, reference: sys::napi_ref, what: &str) -> Result<sys::napi_value> {
  let mut value = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `reference` was made in it by `reference`
  // and not yet deleted; `value` is a live local the call writes.
  check(env, unsafe { sys::napi_get_reference_value(env, reference, &mut value) }, what)?;
  if value.is_null() {
    return Err(Error::internal(format!("{what} is gone")));
  }
  Ok(value)
}

/// Deletes a reference made by [`reference`]. A failure cannot be reported (this runs while
/// tearing down) and only leaves the value alive until the environment goes.
pub(crate) fn delete_reference(env: sys::napi_env, reference: sys::napi_ref) {
  // SAFETY: the handle invariant holds for `env`; `reference` was made in it by `reference`
  // and is deleted once (by its owner: `JsHelpers::release`, a failed `JsHelpers::new`, or a
  // result built in pieces).
  let _ = unsafe { sys::napi_delete_reference(env, reference) };
}

impl JsHelpers {
  /// Creates both functions; must run on the JavaScript thread.
  pub(crate) fn new(env: sys::napi_env) -> napi::Result<JsHelpers> {
    let failed = |what: &str, err: Error| napi::Error::from_reason(format!("cannot set up {what}: {}", err.message));
    let mut global = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env`; `global` is a live local the call writes.
    check(env, unsafe { sys::napi_get_global(env, &mut global) }, "the global object").map_err(|e| failed("JSON", e))?;
    let json = JsArg::new(env, global).get("JSON", "JSON").map_err(|e| failed("JSON", e))?;
    let parse = json.get("parse", "JSON.parse").map_err(|e| failed("JSON.parse", e))?;
    let set_immediate = JsArg::new(env, global).get("setImmediate", "setImmediate").map_err(|e| failed("setImmediate", e))?;
    let encode = run_script(env, ENCODER, "the input encoder").map_err(|e| failed("the input encoder", e))?;
    let encode_slice = JsArg::new(env, encode).get("slice", "the slice encoder").map_err(|e| failed("the slice encoder", e))?;
    let heap_room = run_script(env, HEAP_ROOM, "the heap-room function").map_err(|e| failed("the heap-room function", e))?;
    let watch_signal = run_script(env, WATCH_SIGNAL, "the signal watcher").map_err(|e| failed("the signal watcher", e))?;
    let append_piece = run_script(env, APPEND_PIECE, "the piece builder").map_err(|e| failed("the piece builder", e))?;
    let mut made = Vec::with_capacity(7);
    let functions = [
      (parse.raw(), "JSON.parse"),
      (encode, "the input encoder"),
      (heap_room, "the heap-room function"),
      (watch_signal, "the signal watcher"),
      (set_immediate.raw(), "setImmediate"),
      (append_piece, "the piece builder"),
      (encode_slice.raw(), "the slice encoder"),
    ];
    for (value, what) in functions {
      match reference(env, value, what) {
        Ok(reference) => made.push(reference),
        Err(err) => {
          made.into_iter().for_each(|reference| delete_reference(env, reference));
          return Err(failed(what, err));
        }
      }
    }
    Ok(JsHelpers {
      parse: made[0],
      encode: made[1],
      heap_room: made[2],
      watch_signal: made[3],
      set_immediate: made[4],
      append_piece: made[5],
      encode_slice: made[6],
    })
  }

  /// Releases the references; called on the JavaScript thread when the queue is finalized.
  pub(crate) fn release(&self, env: sys::napi_env) {
    delete_reference(env, self.parse);
    delete_reference(env, self.encode);
    delete_reference(env, self.heap_room);
    delete_reference(env, self.watch_signal);
    delete_reference(env, self.set_immediate);
    delete_reference(env, self.append_piece);
    delete_reference(env, self.encode_slice);
  }

  /// Encodes the elements of `list` (the list argument `name` of `call`) from `from` on, until
  /// `to` or until `budget_ms` have passed, as [`JsHelpers::encode_args`] would inside `{ name:
  /// list }`: their JSON texts joined by commas, and the index the next slice starts at.
  pub(crate) fn encode_slice(
    &self,
    env: sys::napi_env,
    call: &str,
    name: &str,
    list: sys::napi_value,
    (from, to): (u32, u32),
    budget_ms: f64,
  ) -> Result<(String, u32)> {
    let what = format!("the arguments of {call}");
    let number = |value: f64| -> Result<sys::napi_value> {
      let mut out = ptr::null_mut();
      // SAFETY: the handle invariant holds for `env`; `out` is a live local the call writes.
      check(env, unsafe { sys::napi_create_double(env, value, &mut out) }, &what)?;
      Ok(out)
    };
    let args = [create_string(env, name)?, list, number(from.into())?, number(to.into())?, number(budget_ms)?];
    let slice = JsArg::new(env, self.call(env, self.encode_slice, &args, &what)?);
    let text = slice.get("text", &what)?.string(&what)?;
    let next = slice.get("next", &what)?.number(&what)?;
    Ok((text, next as u32))
  }

  /// `appendPiece(items, text, head)` (see [`APPEND_PIECE`]): the elements of the array
  /// `text` appended to `items`; returns `head` with `items` set, or `items` without one.
  pub(crate) fn append_piece(
    &self,
    env: sys::napi_env,
    items: sys::napi_value,
    text: &str,
    head: Option<sys::napi_value>,
  ) -> Result<sys::napi_value> {
    let internal = |e: Error| Error::internal(format!("cannot build the result: {}", e.message));
    let text = create_string(env, text).map_err(internal)?;
    let head = match head {
      Some(head) => head,
      None => undefined(env)?,
    };
    self.call(env, self.append_piece, &[items, text, head], "a piece of the result").map_err(internal)
  }

  /// `setImmediate(callback)`: `callback` runs in a later turn of the event loop, after the
  /// timers and I/O that are due.
  pub(crate) fn set_immediate(&self, env: sys::napi_env, callback: sys::napi_value) -> Result<()> {
    self.call(env, self.set_immediate, &[callback], "setImmediate").map(|_| ())
  }

  /// `watchSignal(signal, onAbort)` (see [`WATCH_SIGNAL`]).
  pub(crate) fn watch_signal(&self, env: sys::napi_env, signal: JsArg, on_abort: sys::napi_value) -> Result<JsArg> {
    self.call(env, self.watch_signal, &[signal.raw(), on_abort], "options.signal").map(|value| JsArg::new(env, value))
  }

  /// Refuses with `RESULT_TOO_LARGE` a result of `bytes` bytes whose JavaScript values need
  /// about `factor` times that, when the JavaScript heap has less room left: running out of
  /// heap while building them would end the process. Where the heap cannot say (see
  /// [`HEAP_ROOM`]) nothing is refused.
  pub(crate) fn check_room(&self, env: sys::napi_env, bytes: usize, factor: f64) -> Result<()> {
    if bytes < ROOM_CHECKED_FROM {
      return Ok(());
    }
    let room = JsArg::new(env, self.call(env, self.heap_room, &[], "the heap's room")?).number("the heap's room")?;
    let needed = bytes as f64 * factor;
    if room >= 0.0 && needed > room {
      return Err(limits::heap_too_small(bytes, needed, room));
    }
    Ok(())
  }

  /// Calls `function(...args)`. A thrown exception is cleared and returned: the encoder's
  /// own refusals (code `INVALID_ARGUMENT`) keep their message, anything else thrown while
  /// reading the input (a getter, a Proxy trap) is reported as such.
  fn call(&self, env: sys::napi_env, function: sys::napi_ref, args: &[sys::napi_value], what: &str) -> Result<sys::napi_value> {
    let mut callee = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env`; `function` is one of this struct's
    // references, made in `env` and deleted only by `release`, in the queue's finalizer,
    // which Node-API runs once the database holds the queue no more or the environment is
    // torn down, when no method can call this any more; `callee` is a live local the call
    // writes.
    check(env, unsafe { sys::napi_get_reference_value(env, function, &mut callee) }, what)?;
    if callee.is_null() {
      // A strong reference (count 1) keeps its function alive: this does not happen.
      return Err(Error::invalid(format!("reading {what}: the function to call is gone")));
    }
    let receiver = undefined(env)?;
    let mut result = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env`, `receiver`, `callee` and every handle in
    // `args`, whose pointer is valid for reads of `args.len()` values; `result` is a live
    // local the call writes.
    let status = unsafe { sys::napi_call_function(env, receiver, callee, args.len(), args.as_ptr(), &mut result) };
    if status == sys::Status::napi_ok {
      return Ok(result);
    }
    let Some(exception) = take_exception(env) else {
      return Err(Error::invalid(format!("reading {what} failed: Node-API status {status}")));
    };
    let exception = JsArg::new(env, exception);
    let message = exception.string_property("message").unwrap_or_else(|| format!("a thrown {}", exception.kind().name()));
    Err(match exception.string_property("code").as_deref() {
      Some("INVALID_ARGUMENT") => Error::invalid(message),
      _ => Error::invalid(format!("reading {what} threw: {message}")),
    })
  }

  /// Turns a call's arguments into the JSON text of one object, `{ name: value, … }`,
  /// refusing what JSON cannot hold; an argument left `undefined` is absent from it.
  /// `call` names the method in errors.
  pub(crate) fn encode_args(&self, env: sys::napi_env, call: &str, names: &[&str], values: &[JsArg]) -> Result<String> {
    let what = format!("the arguments of {call}");
    let mut object = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env`; `object` is a live local the call writes.
    check(env, unsafe { sys::napi_create_object(env, &mut object) }, &what)?;
    for (name, value) in names.iter().zip(values) {
      let key = create_string(env, name)?;
      // SAFETY: the handle invariant holds for `env`, `object` (just created), `key` and the
      // argument's value.
      check(env, unsafe { sys::napi_set_property(env, object, key, value.raw()) }, &what)?;
    }
    let text = JsArg::new(env, self.call(env, self.encode, &[object, create_string(env, "")?], &what)?);
    text.string(&what)
  }

  /// `JSON.parse(text)`. A failure is `INTERNAL`: the text was made by this library and has
  /// been checked against V8's limits.
  pub(crate) fn parse(&self, env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let internal = |e: Error| Error::internal(format!("cannot build the result: {}", e.message));
    let text = create_string(env, text).map_err(internal)?;
    self.call(env, self.parse, &[text], "JSON.parse").map_err(internal)
  }
}

/// Runs `source`, a script whose value is a function, and returns that function.
fn run_script(env: sys::napi_env, source: &str, what: &str) -> Result<sys::napi_value> {
  let source = create_string(env, source)?;
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env` and `source` (a string, as the call
  // requires); `function` is a live local the call writes. An exception thrown by the script
  // is cleared by `check`.
  check(env, unsafe { sys::napi_run_script(env, source, &mut function) }, what)?;
  Ok(function)
}
