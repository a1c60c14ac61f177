//! Change events: `watch(listener, options?)` and `changesSince(seq, options?)`.
//!
//! The core's writer hands each commit's changes to the store's feed (see
//! `agentdb_core::changes`); the sink set here posts them to the JavaScript thread on the
//! database's completion queue, so an event always arrives before the Promises of the writes
//! it holds settle. There each listener whose filter keeps a change is called with its own
//! event object. A listener that throws is reported as a process warning
//! (`AgentDBWatchWarning`) and changes nothing else: the other listeners are called, the
//! writer never waits for any of them.
//!
//! Every active watch keeps the event loop alive (as a pending Promise does); the function
//! `watch` returns stops it, and `close()` stops them all.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;

use napi::{sys, Env};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::completion::JsQueue;
use crate::database::Database;
use crate::errors::js_error;
use crate::js::{check, create_string, take_exception, undefined, JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::changes::{self, ChangeEvent, Feed, Filter};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::Fields;
use agentdb_core::input::Kind;
use agentdb_core::rules;

/// A strong reference to a listener.
struct Listener {
  id: u64,
  function: sys::napi_ref,
  filter: Filter,
}

// SAFETY: the reference is created, read and deleted only on the JavaScript thread of its
// environment (in `watch`, `dispatch`, the stop function and `close`, which all run there
// with its `napi_env`); database threads only move the list that holds it.
unsafe impl Send for Listener {}

#[derive(Default)]
struct List {
  next: u64,
  listeners: Vec<Listener>,
}

/// The listeners of one database.
#[derive(Clone, Default)]
pub(crate) struct Watchers(Arc<Mutex<List>>);

impl Watchers {
  /// Has the store's feed post every event to the JavaScript thread of `queue`.
  pub(crate) fn connect(&self, feed: &Feed, queue: &JsQueue) {
    let (watchers, queue) = (self.clone(), queue.clone());
    feed.set_sink(move |event, followed| {
      let (watchers, target) = (watchers.clone(), queue.clone());
      let task: crate::completion::JsTask = Box::new(move |env| watchers.dispatch(env, &target, &event));
      // The results of the commit, posted right after, wake the JavaScript thread for both.
      if followed {
        queue.post_unwoken(task)
      } else {
        queue.post(task)
      }
    });
  }

  /// Calls each listener whose filter keeps a change of `event`, with the changes it keeps.
  fn dispatch(&self, env: sys::napi_env, queue: &JsQueue, event: &ChangeEvent) {
    let targets: Vec<(u64, sys::napi_ref, ChangeEvent)> = self
      .0
      .lock()
      .listeners
      .iter()
      .filter_map(|listener| listener.filter.event(event).map(|event| (listener.id, listener.function, event)))
      .collect();
    for (id, function, event) in targets {
      // A listener stopped by one called before it is not called.
      if !self.0.lock().listeners.iter().any(|listener| listener.id == id) {
        continue;
      }
      let called = serde_json::to_string(&event)
        .map_err(|e| Error::internal(format!("cannot write the event: {e}")))
        .and_then(|text| queue.parse(env, &text))
        .and_then(|value| call_reference(env, function, &[value]));
      if let Err(thrown) = called {
        warn(env, &thrown);
      }
    }
  }

  /// Removes the listener `id`, deleting its reference; false when it was gone already.
  fn remove(&self, env: sys::napi_env, id: u64) -> bool {
    let removed = {
      let mut list = self.0.lock();
      let at = list.listeners.iter().position(|listener| listener.id == id);
      at.map(|at| list.listeners.remove(at))
    };
    let Some(listener) = removed else { return false };
    // SAFETY: the handle invariant (see `crate::js`) holds for `env`; the reference was made
    // in it by `watch` and is deleted once, here, after it left the list.
    let _ = unsafe { sys::napi_delete_reference(env, listener.function) };
    true
  }

  /// Removes every listener (at `close`), letting the event loop go for each.
  pub(crate) fn clear(&self, env: sys::napi_env, queue: &JsQueue, feed: &Feed) {
    let ids: Vec<u64> = self.0.lock().listeners.iter().map(|listener| listener.id).collect();
    for id in ids {
      if self.remove(env, id) {
        queue.release(env);
      }
    }
    feed.clear();
  }
}

/// What `watch` and `changesSince` read from their `options`.
fn parse_filter(options: JsArg) -> Result<Filter> {
  let f = Fields::of(options, "options", &["tables", "sessionId"], true)?;
  let session_id = f.string("sessionId")?;
  if let Some(session) = &session_id {
    rules::id(session, "options.sessionId")?;
  }
  Filter::new(f.strings("tables")?, session_id, "options")
}

#[napi]
impl Database {
  /// Calls `listener` on the JavaScript thread after every committed transaction that
  /// changed a watched table (`agents`, `sessions`, `session_logs`, `session_forks`,
  /// `session_checkpoints`, `usage_records`), once,
  /// with `{ seq, external, changes }`: `changes` lists the changed rows in order (`seq`,
  /// `table`, `op`: `'insert' | 'update' | 'delete'`, `id`, `sessionId`), `seq` is the last
  /// one's number. A group commit is one event; a write that failed or rolled back is in
  /// none; events come in commit order. Commits of other connections (another process, the
  /// CLI, the sqlite3 shell) arrive within about 50 ms while the database is idle, as one
  /// event per look with `external: true`. `options.tables` and `options.sessionId` keep only
  /// the changes of those tables and of that session; an event with none left is not sent.
  /// Returns the function that stops the watch. A listener that throws is reported as a
  /// process warning and disturbs nothing else. An active watch keeps the event loop alive
  /// until it is stopped or the database closed. Synchronous; throws `INVALID_ARGUMENT` (a
  /// listener that is not a function, bad options) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_args_type = "listener: (event: ChangeEvent) => void, options?: WatchOptions",
    ts_return_type = "() => void"
  )]
  pub fn watch(&self, env: Env, listener: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    let env = env.raw();
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.start_watch(env, listener, options)))
      .unwrap_or_else(|panic| Err(Error::panicked(panic.as_ref())));
    match started {
      Ok(stop) => Ok(JsReturn(stop)),
      Err(err) => {
        let error = js_error(env, &err).map_err(|e| napi::Error::from_reason(e.message))?;
        // SAFETY: the handle invariant (see `crate::js`) holds for `env` and `error`, an
        // Error just created in it; no exception is pending (reading the arguments clears the
        // ones it meets). The exception is thrown when this method returns.
        check(env, unsafe { sys::napi_throw(env, error) }, "throwing the error")
          .map_err(|e| napi::Error::from_reason(e.message))?;
        undefined(env).map(JsReturn).map_err(|e| napi::Error::from_reason(e.message))
      }
    }
  }

  /// Every change committed after `seq` (a change number from an event or an earlier
  /// `changesSince`; 0 for all that is kept), in order: `{ seq, reset, changes }`, `seq`
  /// the newest change number. `reset` is true (and `changes` empty) when changes after
  /// `seq` were pruned (`keepChanges` of `open`) or `seq` is newer than any this database
  /// handed out: reload everything, then go on from `seq`. `options` filter as `watch`'s do.
  ///
  /// Rejects with `INVALID_ARGUMENT`, `NOT_MIGRATED` (the database is not migrated to the change
  /// log yet) or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "seq: number, options?: WatchOptions", ts_return_type = "Promise<ChangesSince>")]
  pub fn changes_since(&self, env: Env, seq: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = seq
        .number("seq")
        .and_then(|n| rules::whole(n, &rules::CHANGE_SEQ, "seq"))
        .and_then(|seq| Ok((seq as i64, parse_filter(options)?)));
      self.read(env, args, |conn, (seq, filter)| JsonText::of(&changes::since(conn, seq, &filter)?))
    })
  }
}

impl Database {
  /// Registers `listener` and returns its stop function.
  fn start_watch(&self, env: sys::napi_env, listener: JsArg, options: JsArg) -> Result<sys::napi_value> {
    if listener.kind() != Kind::Function {
      return Err(Error::invalid(format!("listener must be a function, got {}", listener.kind().name())));
    }
    let filter = parse_filter(options)?;
    if self.is_closing() {
      return Err(Error::closed());
    }
    let mut function = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env` and the listener; `function` is a live
    // local the call writes.
    check(env, unsafe { sys::napi_create_reference(env, listener.raw(), 1, &mut function) }, "listener")?;
    let id = {
      let mut list = self.watchers.0.lock();
      list.next += 1;
      let id = list.next;
      list.listeners.push(Listener { id, function, filter });
      id
    };
    let stop = Stop { watchers: self.watchers.clone(), queue: self.queue.clone(), feed: Arc::clone(self.store.feed()), id };
    let function = match stop_function(env, stop) {
      Ok(function) => function,
      Err(err) => {
        self.watchers.remove(env, id);
        return Err(err);
      }
    };
    if let Err(err) = self.queue.hold(env) {
      self.watchers.remove(env, id);
      return Err(Error::internal(err.reason.clone()));
    }
    self.store.watch_started();
    Ok(function)
  }
}

/// What a stop function undoes.
struct Stop {
  watchers: Watchers,
  queue: JsQueue,
  feed: Arc<Feed>,
  id: u64,
}

impl Stop {
  /// Removes the listener; nothing when it was removed already (stopped, or closed).
  fn run(&self, env: sys::napi_env) {
    if self.watchers.remove(env, self.id) {
      self.feed.stop();
      self.queue.release(env);
    }
  }
}

/// The JavaScript function that stops one watch. It owns `stop`, freed when the function
/// is collected.
fn stop_function(env: sys::napi_env, stop: Stop) -> Result<sys::napi_value> {
  let data = Box::into_raw(Box::new(stop)) as *mut c_void;
  let name = "stopWatching";
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `name` is valid for reads of its length;
  // `on_stop` has the signature Node-API expects and reads `data` only as the `Stop` made
  // above, which stays alive until `free_stop` runs; `function` is a live local the call
  // writes.
  let status = unsafe {
    sys::napi_create_function(env, name.as_ptr() as *const c_char, name.len() as isize, Some(on_stop), data, &mut function)
  };
  if let Err(err) = check(env, status, "the stop function") {
    // SAFETY: no function holds `data`: the box made above comes back here, once.
    drop(unsafe { Box::from_raw(data as *mut Stop) });
    return Err(err);
  }
  // SAFETY: the handle invariant holds for `env` and `function`; `free_stop` has the
  // signature Node-API expects and frees `data` once, when the function is collected.
  let status = unsafe { sys::napi_add_finalizer(env, function, data, Some(free_stop), ptr::null_mut(), ptr::null_mut()) };
  if let Err(err) = check(env, status, "the stop function") {
    // SAFETY: without a finalizer the function is never handed out (the error returns before
    // it is returned to JavaScript), so nothing calls it: the box comes back here, once.
    drop(unsafe { Box::from_raw(data as *mut Stop) });
    return Err(err);
  }
  Ok(function)
}

/// The stop function's callback.
///
/// # Safety
///
/// Only for Node-API, as the callback of a function made by `stop_function`, whose data is a
/// live `Box<Stop>` until `free_stop` runs (after the last call).
unsafe extern "C" fn on_stop(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut data = ptr::null_mut();
  // SAFETY: `env` and `info` are those of the call Node-API is making; only the data pointer
  // is asked for (a live local the call writes).
  let status = unsafe { sys::napi_get_cb_info(env, info, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut data) };
  if status == sys::Status::napi_ok && !data.is_null() {
    // SAFETY: by this function's contract `data` points to a live `Stop`.
    let stop = unsafe { &*(data as *const Stop) };
    // A panic must not unwind into Node (this is an `extern "C"` callback).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stop.run(env)));
  }
  // Returning no value is returning `undefined`.
  ptr::null_mut()
}

/// Frees what a stop function owned.
///
/// # Safety
///
/// Only for Node-API, as the finalizer `stop_function` adds, which Node-API calls once.
unsafe extern "C" fn free_stop(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` came from `Box::into_raw` in `stop_function` and is freed only here.
  drop(unsafe { Box::from_raw(data as *mut Stop) });
}

/// Calls the function `reference` holds with `args`; what it threw is the error (its stack,
/// or its text).
fn call_reference(env: sys::napi_env, reference: sys::napi_ref, args: &[sys::napi_value]) -> Result<()> {
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; the reference was made in it by `watch` and
  // is still in the list (the caller checked), so not deleted; `function` is a live local the
  // call writes.
  check(env, unsafe { sys::napi_get_reference_value(env, reference, &mut function) }, "the listener")?;
  if function.is_null() {
    return Ok(());
  }
  call(env, function, args)
}

/// Calls `function` with `args`, turning what it threw into an error.
fn call(env: sys::napi_env, function: sys::napi_value, args: &[sys::napi_value]) -> Result<()> {
  let receiver = undefined(env)?;
  let mut result = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`, `receiver`, `function` and every handle in
  // `args`, whose pointer is valid for reads of `args.len()` values; `result` is a live local
  // the call writes.
  let status = unsafe { sys::napi_call_function(env, receiver, function, args.len(), args.as_ptr(), &mut result) };
  if status == sys::Status::napi_ok {
    return Ok(());
  }
  let thrown = take_exception(env).map(|exception| JsArg::new(env, exception));
  let text = thrown
    .and_then(|thrown| {
      thrown.string_property("stack").or_else(|| thrown.string_property("message")).or_else(|| thrown.string("the value").ok())
    })
    .unwrap_or_else(|| format!("Node-API status {status}"));
  Err(Error::internal(text))
}

/// `process.emitWarning('a watch listener threw: …', 'AgentDBWatchWarning')`; should even
/// that fail, the warning is dropped (what it threw is cleared).
fn warn(env: sys::napi_env, thrown: &Error) {
  let emitted = (|| -> Result<()> {
    let mut global = ptr::null_mut();
    // SAFETY: the handle invariant holds for `env`; `global` is a live local the call writes.
    check(env, unsafe { sys::napi_get_global(env, &mut global) }, "globalThis")?;
    let process = JsArg::new(env, global).get("process", "process")?;
    let emit = process.get("emitWarning", "process.emitWarning")?;
    if emit.kind() != Kind::Function {
      return Ok(());
    }
    let message = create_string(env, &format!("a db.watch() listener threw: {}", thrown.message))?;
    let kind = create_string(env, "AgentDBWatchWarning")?;
    call(env, emit.raw(), &[message, kind])
  })();
  if emitted.is_err() {
    take_exception(env);
  }
}
