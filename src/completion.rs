//! Settling Promises from the database threads.
//!
//! Each `Database` owns one Node-API threadsafe function. Database threads push finished
//! work onto a queue and wake the JavaScript thread once; the JavaScript thread then settles
//! every queued Promise in one go, in the order the work finished. Progress events travel
//! on the same queue, so they always arrive before the Promise of their call settles.
//! A long result is built a piece per turn of the event loop (see `sliced`); the queue waits
//! meanwhile, so what was queued after it still settles after it.
//!
//! The threadsafe function keeps the event loop alive only while Promises are pending, so
//! an idle open database never stops a process (or a worker thread) from exiting. Nothing is
//! cached in globals: each queue belongs to one `Database` in one JavaScript environment.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use napi::sys;
use parking_lot::Mutex;

use crate::encode::JsHelpers;
use crate::js::{create_string, take_exception, undefined};
use crate::json::SlicedText;
use agentdb_core::error::{Error, ErrorCode};

mod sliced;

/// Work to run on the JavaScript thread.
pub(crate) type JsTask = Box<dyn FnOnce(sys::napi_env) + Send>;

/// A raw threadsafe-function handle; Node-API allows calling it from any thread.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: a threadsafe function exists to be used from other threads: Node-API allows
// `napi_call_threadsafe_function` and `napi_release_threadsafe_function` on any thread, and
// the calls that need the environment (ref and unref) are made on the JavaScript thread only.
// The handle is used only while `State::tsfn` holds it, under the state's lock, which
// `finalize` clears before Node-API frees the function.
unsafe impl Send for Tsfn {}

struct State {
  /// `None` once released or finalized: tasks posted then are dropped.
  tsfn: Option<Tsfn>,
  tasks: Vec<JsTask>,
  /// Whether the JavaScript thread was woken for the tasks queued (`drain` clears it).
  woken: bool,
}

struct Shared {
  state: Mutex<State>,
  /// Promises created and not yet settled; touched only on the JavaScript thread.
  pending: AtomicUsize,
  /// Set while a result is being built in pieces: the tasks queued wait for it; touched only
  /// on the JavaScript thread.
  paused: AtomicBool,
  /// Set while [`Shared::run_queued`] runs tasks, so that a result settled from inside one
  /// (one whose first piece failed) resumes the loop running instead of starting another.
  running: AtomicBool,
  /// `JSON.parse` and the input encoder of this environment.
  helpers: JsHelpers,
}

/// Releases the threadsafe function when the last [`JsQueue`] clone is dropped.
struct Owner {
  shared: Arc<Shared>,
}

impl Drop for Owner {
  fn drop(&mut self) {
    let mut state = self.shared.state.lock();
    if let Some(tsfn) = state.tsfn.take() {
      // Calls already queued are still dispatched before Node finalizes it. A failure cannot
      // be reported from a drop, and cannot happen: this is the one release of the one
      // acquisition (the creation), and the function is live (`finalize` has not cleared it).
      // SAFETY: the handle is live while `state.tsfn` holds it, and this thread holds the
      // lock `finalize` takes to clear it; releasing is allowed from any thread.
      let _ = unsafe { sys::napi_release_threadsafe_function(tsfn.0, sys::ThreadsafeFunctionReleaseMode::release) };
    }
  }
}

/// The queue from database threads to one JavaScript environment's thread.
#[derive(Clone)]
pub(crate) struct JsQueue(Arc<Owner>);

impl JsQueue {
  /// Creates the queue; must run on the JavaScript thread.
  pub(crate) fn new(env: sys::napi_env) -> napi::Result<JsQueue> {
    let helpers = JsHelpers::new(env)?;
    let name = match create_string(env, "agentdb") {
      Ok(name) => name,
      Err(err) => {
        helpers.release(env);
        return Err(napi::Error::from_reason(format!("cannot create the completion queue: {}", err.message)));
      }
    };
    let shared = Arc::new(Shared {
      state: Mutex::new(State { tsfn: None, tasks: Vec::new(), woken: false }),
      pending: AtomicUsize::new(0),
      paused: AtomicBool::new(false),
      running: AtomicBool::new(false),
      helpers,
    });
    // One count of the `Arc` belongs to Node-API from here: `drain` borrows it, `finalize`
    // gives it back.
    let data = Arc::into_raw(Arc::clone(&shared)) as *mut c_void;
    let mut tsfn = ptr::null_mut();
    // SAFETY: the handle invariant (see `crate::js`) holds for `env` and `name`; no function
    // is given, so `drain` (a `call_js` callback of the signature Node-API expects) does the
    // work, with `data` as its context; `finalize` (a finalizer of the expected signature)
    // gets the same `data` once, after the last `drain`; `tsfn` is a live local the call writes.
    let status = unsafe {
      sys::napi_create_threadsafe_function(
        env,
        ptr::null_mut(),
        ptr::null_mut(),
        name,
        0,
        1,
        data,
        Some(finalize),
        data,
        Some(drain),
        &mut tsfn,
      )
    };
    if status != sys::Status::napi_ok {
      shared.helpers.release(env);
      // SAFETY: the creation failed, so Node-API never calls `finalize` with `data`: the count
      // `Arc::into_raw` handed over comes back here, once.
      drop(unsafe { Arc::from_raw(data as *const Shared) });
      return Err(napi::Error::from_reason(format!("cannot create the completion queue (status {status})")));
    }
    // An idle queue must not keep the event loop alive (see `begin`).
    // SAFETY: the handle invariant holds for `env`; `tsfn` was just created in it.
    let status = unsafe { sys::napi_unref_threadsafe_function(env, tsfn) };
    if status != sys::Status::napi_ok {
      // Releasing it makes Node-API call `finalize`, which frees the rest.
      // SAFETY: `tsfn` was just created and is released once, here, never stored.
      let _ = unsafe { sys::napi_release_threadsafe_function(tsfn, sys::ThreadsafeFunctionReleaseMode::release) };
      return Err(napi::Error::from_reason(format!("cannot create the completion queue (status {status})")));
    }
    shared.state.lock().tsfn = Some(Tsfn(tsfn));
    Ok(JsQueue(Arc::new(Owner { shared })))
  }

  /// Queues `task` to run on the JavaScript thread. Dropped unrun when the environment is
  /// gone (a terminated worker): there is nobody left to tell.
  pub(crate) fn post(&self, task: JsTask) {
    let mut state = self.0.shared.state.lock();
    let Some(tsfn) = state.tsfn else {
      drop(state);
      drop(task);
      return;
    };
    state.tasks.push(task);
    if !std::mem::replace(&mut state.woken, true) {
      // SAFETY: the handle is live while `state.tsfn` holds it, and the lock `finalize` takes
      // to clear it is held; calling is allowed from any thread.
      let status =
        unsafe { sys::napi_call_threadsafe_function(tsfn.0, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
      if status != sys::Status::napi_ok {
        state.woken = false;
        let dropped = std::mem::take(&mut state.tasks);
        drop(state);
        drop(dropped);
      }
    }
  }

  /// Queues `task` without waking the JavaScript thread: for a task that is followed at once
  /// by one posted with [`JsQueue::post`], which wakes it for both (a change event, then the
  /// results of its commit).
  pub(crate) fn post_unwoken(&self, task: JsTask) {
    let mut state = self.0.shared.state.lock();
    if state.tsfn.is_none() {
      // Dropped without the lock: the task may hold the last clone of this queue.
      drop(state);
      drop(task);
      return;
    }
    state.tasks.push(task);
  }

  /// Turns a call's arguments into JSON text with the encoder (see
  /// [`JsHelpers::encode_args`]).
  pub(crate) fn encode_args(
    &self,
    env: sys::napi_env,
    call: &str,
    names: &[&str],
    values: &[crate::js::JsArg],
  ) -> agentdb_core::error::Result<String> {
    self.0.shared.helpers.encode_args(env, call, names, values)
  }

  /// `watchSignal(signal, onAbort)` of this environment (see [`JsHelpers::watch_signal`]).
  pub(crate) fn watch_signal(
    &self,
    env: sys::napi_env,
    signal: crate::js::JsArg,
    on_abort: sys::napi_value,
  ) -> agentdb_core::error::Result<crate::js::JsArg> {
    self.0.shared.helpers.watch_signal(env, signal, on_abort)
  }

  /// The JavaScript functions of this environment the addon calls.
  pub(crate) fn helpers(&self) -> &JsHelpers {
    &self.0.shared.helpers
  }

  /// `JSON.parse(text)` of this environment.
  pub(crate) fn parse(&self, env: sys::napi_env, text: &str) -> agentdb_core::error::Result<sys::napi_value> {
    self.0.shared.helpers.parse(env, text)
  }

  /// Keeps the event loop alive, as a pending Promise does, until [`JsQueue::release`] (an
  /// active watch); on the JavaScript thread.
  pub(crate) fn hold(&self, env: sys::napi_env) -> napi::Result<()> {
    self.begin(env)
  }

  /// Undoes one [`JsQueue::hold`]; on the JavaScript thread.
  pub(crate) fn release(&self, env: sys::napi_env) {
    self.0.shared.end(env)
  }

  /// Counts a new pending Promise, keeping the event loop alive while any is pending.
  fn begin(&self, env: sys::napi_env) -> napi::Result<()> {
    let shared = &self.0.shared;
    if shared.pending.fetch_add(1, Ordering::Relaxed) == 0 {
      if let Some(tsfn) = shared.state.lock().tsfn {
        // SAFETY: the handle invariant holds for `env`, the environment of the function,
        // which is live while `state.tsfn` holds it (the lock is held).
        let status = unsafe { sys::napi_ref_threadsafe_function(env, tsfn.0) };
        if status != sys::Status::napi_ok {
          shared.pending.fetch_sub(1, Ordering::Relaxed);
          return Err(napi::Error::from_reason(format!("cannot keep the event loop alive for a Promise (status {status})")));
        }
      }
    }
    Ok(())
  }
}

impl Shared {
  /// Runs the tasks queued, in order, on the JavaScript thread; when one pauses the queue (a
  /// result built in pieces) the rest wait for [`Shared::resume`].
  fn run_queued(&self, env: sys::napi_env) {
    let tasks = {
      let mut state = self.state.lock();
      if self.paused.load(Ordering::Relaxed) {
        // `woken` stays set: tasks posted meanwhile wait for `resume`, waking nothing.
        return;
      }
      state.woken = false;
      std::mem::take(&mut state.tasks)
    };
    self.running.store(true, Ordering::Relaxed);
    let mut tasks = tasks.into_iter();
    while let Some(task) = tasks.next() {
      let mut scope = ptr::null_mut();
      // SAFETY: `env` is the environment of this thread, inside the callback Node-API is
      // running; `scope` is a live local the call writes.
      let opened = unsafe { sys::napi_open_handle_scope(env, &mut scope) } == sys::Status::napi_ok;
      // Without a scope of its own the task still runs, in the scope Node-API opened around
      // this callback: its handles then live until the callback returns, which costs only memory.
      // A panic must not unwind into Node (this is an `extern "C"` callback: it would abort
      // the process); a settlement turns its own panics into rejections, see `settle_now`.
      let _ = catch_unwind(AssertUnwindSafe(|| task(env)));
      if opened {
        // Closing the innermost scope, opened above, does not fail.
        // SAFETY: `scope` was opened above in `env` and is the innermost open scope: tasks
        // open none that they leave open.
        let _ = unsafe { sys::napi_close_handle_scope(env, scope) };
      }
      if self.paused.load(Ordering::Relaxed) {
        let rest: Vec<JsTask> = tasks.collect();
        self.state.lock().tasks.splice(0..0, rest);
        break;
      }
    }
    self.running.store(false, Ordering::Relaxed);
  }

  /// Holds the tasks queued until [`Shared::resume`]; on the JavaScript thread.
  fn pause(&self) {
    self.paused.store(true, Ordering::Relaxed);
  }

  /// Runs the tasks held by [`Shared::pause`] and those queued since; on the JavaScript thread.
  fn resume(&self, env: sys::napi_env) {
    self.paused.store(false, Ordering::Relaxed);
    if !self.running.load(Ordering::Relaxed) {
      self.run_queued(env);
    }
  }

  /// Counts a settled Promise; the last one lets the event loop exit again.
  fn end(&self, env: sys::napi_env) {
    if self.pending.fetch_sub(1, Ordering::Relaxed) == 1 {
      if let Some(tsfn) = self.state.lock().tsfn {
        // A failure cannot be reported (no call waits for it; with a live function it does
        // not happen) and only keeps the event loop alive until the database is dropped.
        // SAFETY: as in `JsQueue::begin`.
        let _ = unsafe { sys::napi_unref_threadsafe_function(env, tsfn.0) };
      }
    }
  }
}

/// Runs on the JavaScript thread: settles everything queued so far.
///
/// # Safety
///
/// Only for Node-API, as the `call_js` callback of the function `JsQueue::new` creates:
/// `env` is null (the environment is going away) or the environment of the JavaScript thread
/// this runs on, and `context` is the pointer `JsQueue::new` made with `Arc::into_raw`, whose
/// count `finalize` gives back only after the last call of this callback.
unsafe extern "C" fn drain(env: sys::napi_env, _callback: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  if env.is_null() || context.is_null() {
    return;
  }
  // SAFETY: by this function's contract `context` points to a live `Shared` (its `Arc`
  // count is still held for Node-API), only ever shared, never mutated but through its lock
  // and atomics.
  let shared = unsafe { &*(context as *const Shared) };
  shared.run_queued(env);
}

/// Runs on the JavaScript thread when the threadsafe function is released or its
/// environment is torn down.
///
/// # Safety
///
/// Only for Node-API, as the finalizer of the function `JsQueue::new` creates, which calls it
/// once, after the last `drain`: `env` is null or the environment of the JavaScript thread,
/// and `data` the pointer `JsQueue::new` made with `Arc::into_raw`.
unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: by this function's contract `data` came from `Arc::into_raw` and this is the one
  // place its count is given back; `drain` is not called after this.
  let shared = unsafe { Arc::from_raw(data as *const Shared) };
  if !env.is_null() {
    shared.helpers.release(env);
  }
  let dropped = {
    let mut state = shared.state.lock();
    state.tsfn = None;
    std::mem::take(&mut state.tasks)
  };
  drop(dropped);
}

/// A raw deferred; only ever used on the JavaScript thread, but carried across threads.
struct RawDeferred(sys::napi_deferred);
// SAFETY: the deferred is created on the JavaScript thread and used only there: database
// threads move it inside a task for the completion queue, which runs the task on the
// JavaScript thread (`drain`) or drops it unrun; dropping it does nothing with the handle.
unsafe impl Send for RawDeferred {}

/// Something a Promise can resolve with.
pub(crate) trait JsOutput: Send + 'static {
  /// Builds the JavaScript value, on the JavaScript thread. A coded error (`RESULT_TOO_LARGE`)
  /// is the rejection; an `INTERNAL` one is replaced by the JavaScript exception pending, if
  /// any.
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> agentdb_core::error::Result<sys::napi_value>;

  /// The text to build in pieces, when the value is a long JSON text with cuts; otherwise the
  /// value itself, to build at once with [`JsOutput::into_js`].
  fn sliced(self) -> Result<Self, SlicedText>
  where
    Self: Sized,
  {
    Ok(self)
  }
}

impl<T: napi::bindgen_prelude::ToNapiValue + Send + 'static> JsOutput for T {
  fn into_js(self, env: sys::napi_env, _helpers: &JsHelpers) -> agentdb_core::error::Result<sys::napi_value> {
    // SAFETY: `into_js` runs on the JavaScript thread with its environment, inside the handle
    // scope `drain` opened (the handle invariant, see `crate::js`), which is what
    // `to_napi_value` requires.
    unsafe { T::to_napi_value(env, self) }.map_err(|e| Error::internal(format!("cannot build the result: {e}")))
  }
}

/// Something a Promise can reject with: an `Error` with a stable `code`.
pub(crate) trait JsRejection: Send + 'static {
  /// Builds the JavaScript error, on the JavaScript thread.
  fn into_js_error(self, env: sys::napi_env) -> agentdb_core::error::Result<sys::napi_value>;
}

impl JsRejection for Error {
  fn into_js_error(self, env: sys::napi_env) -> agentdb_core::error::Result<sys::napi_value> {
    crate::errors::js_error(env, &self)
  }
}

/// One pending Promise. Settling it from any thread queues the settlement for the
/// JavaScript thread; dropping it unsettled (its work was discarded when the database
/// closed) rejects it with `DATABASE_CLOSED`, so no Promise is ever left hanging.
pub(crate) struct Deferred {
  queue: JsQueue,
  raw: Option<RawDeferred>,
  /// Runs on the JavaScript thread just before the Promise settles (see [`Deferred::on_settle`]).
  cleanup: Option<JsTask>,
}

impl Deferred {
  /// Creates a Promise; must run on the JavaScript thread.
  pub(crate) fn new(env: sys::napi_env, queue: &JsQueue) -> napi::Result<(Deferred, sys::napi_value)> {
    queue.begin(env)?;
    let mut raw = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: the handle invariant (see `crate::js`) holds for `env`; `raw` and `promise` are
    // live locals the call writes.
    let status = unsafe { sys::napi_create_promise(env, &mut raw, &mut promise) };
    if status != sys::Status::napi_ok {
      queue.0.shared.end(env);
      return Err(napi::Error::from_reason(format!("cannot create a Promise (status {status})")));
    }
    Ok((Deferred { queue: queue.clone(), raw: Some(RawDeferred(raw)), cleanup: None }, promise))
  }

  /// Has `cleanup` run on the JavaScript thread when the Promise settles, before it does
  /// (it is dropped unrun when the environment is gone).
  pub(crate) fn on_settle(&mut self, cleanup: JsTask) {
    self.cleanup = Some(cleanup);
  }

  /// Settles the Promise with `outcome`, from any thread.
  pub(crate) fn settle<T: JsOutput, E: JsRejection>(mut self, outcome: Result<T, E>) {
    let raw = self.raw.take().expect("settled once");
    let cleanup = self.cleanup.take();
    let shared = Arc::clone(&self.queue.0.shared);
    self.queue.post(Box::new(move |env| {
      let outcome = match outcome {
        Ok(value) => match value.sliced() {
          Ok(value) => Ok(value),
          Err(text) => return sliced::build(env, shared, raw, cleanup, text),
        },
        Err(err) => Err(err),
      };
      if let Some(cleanup) = cleanup {
        cleanup(env);
      }
      settle_now(env, &shared.helpers, raw, outcome);
      shared.end(env);
    }));
  }
}

impl Drop for Deferred {
  fn drop(&mut self) {
    if let Some(raw) = self.raw.take() {
      let cleanup = self.cleanup.take();
      let shared = Arc::clone(&self.queue.0.shared);
      self.queue.post(Box::new(move |env| {
        if let Some(cleanup) = cleanup {
          cleanup(env);
        }
        settle_now::<(), Error>(env, &shared.helpers, raw, Err(Error::closed().context("the call was discarded")));
        shared.end(env);
      }));
    }
  }
}

/// Resolves or rejects on the JavaScript thread. A failure to build the value rejects with
/// that failure instead, and a panic while building it with `INTERNAL`.
fn settle_now<T: JsOutput, E: JsRejection>(env: sys::napi_env, helpers: &JsHelpers, raw: RawDeferred, outcome: Result<T, E>) {
  let rejection = match outcome {
    Ok(value) => {
      let failure = match catch_unwind(AssertUnwindSafe(|| value.into_js(env, helpers)))
        .unwrap_or_else(|panic| Err(Error::panicked(panic.as_ref())))
      {
        Ok(js) => {
          // SAFETY: the handle invariant holds for `env` and `js`; `raw` was made in `env`
          // by `Deferred::new` and is concluded once: here, or by the rejection below.
          let status = unsafe { sys::napi_resolve_deferred(env, raw.0, js) };
          if status == sys::Status::napi_ok {
            return;
          }
          // A refused resolution leaves the deferred open: it is rejected below instead.
          Error::internal(format!("cannot resolve the Promise (status {status})"))
        }
        Err(err) => err,
      };
      match take_exception(env) {
        Some(exception) if failure.code == ErrorCode::Internal => Ok(exception),
        _ => failure.into_js_error(env),
      }
    }
    Err(err) => err.into_js_error(env),
  };
  reject(env, raw, rejection);
}

/// Rejects with `rejection`, or, when that could not be built, with an `INTERNAL` error
/// saying why (or, should even that fail, with `undefined`). A rejection Node-API refuses
/// cannot be reported to anyone: the Promise then stays pending, with nothing unsafe done.
fn reject(env: sys::napi_env, raw: RawDeferred, rejection: agentdb_core::error::Result<sys::napi_value>) {
  let rejection = rejection
    .or_else(|err| {
      take_exception(env);
      Error::internal(format!("cannot build the rejection: {}", err.message)).into_js_error(env)
    })
    .or_else(|_| undefined(env));
  // An exception still pending (one thrown while building the value, already replaced by
  // the rejection) would make Node-API refuse to reject.
  take_exception(env);
  let Ok(rejection) = rejection else { return };
  // SAFETY: the handle invariant holds for `env` and `rejection`; `raw` was made in `env` by
  // `Deferred::new` and has not been concluded (a resolution that succeeded returned early).
  let _ = unsafe { sys::napi_reject_deferred(env, raw.0, rejection) };
}

/// A Promise already rejected with `error`, for arguments refused on the JavaScript thread.
pub(crate) fn rejected(env: sys::napi_env, queue: &JsQueue, error: Error) -> napi::Result<sys::napi_value> {
  let (deferred, promise) = Deferred::new(env, queue)?;
  deferred.settle::<(), Error>(Err(error));
  Ok(promise)
}

/// A Promise for work already done on the JavaScript thread: it settles with `outcome` from a
/// `setImmediate` callback (see [`crate::later`]), without a trip through the queue, so that a
/// loop awaiting such calls still lets timers and I/O run between them; a long result goes
/// through the queue to be built a piece per turn. A failure to build the value rejects it
/// instead, as [`Deferred::settle`] does.
pub(crate) fn settled_later<T: JsOutput, E: JsRejection>(
  env: sys::napi_env,
  queue: &JsQueue,
  outcome: Result<T, E>,
) -> napi::Result<sys::napi_value> {
  let outcome = match outcome {
    Ok(value) => match value.sliced() {
      Ok(value) => Ok(value),
      // A long result is built a piece per turn of the event loop, through the queue, as one
      // made on a database thread is.
      Err(text) => {
        let (mut deferred, promise) = Deferred::new(env, queue)?;
        let raw = deferred.raw.take().expect("a new Deferred holds its Promise");
        let shared = Arc::clone(&queue.0.shared);
        queue.post(Box::new(move |env| sliced::build(env, shared, raw, None, text)));
        return Ok(promise);
      }
    },
    Err(err) => Err(err),
  };
  let mut raw = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: the handle invariant (see `crate::js`) holds for `env`; `raw` and `promise` are
  // live locals the call writes.
  let status = unsafe { sys::napi_create_promise(env, &mut raw, &mut promise) };
  if status != sys::Status::napi_ok {
    return Err(napi::Error::from_reason(format!("cannot create a Promise (status {status})")));
  }
  let raw = RawDeferred(raw);
  let shared = Arc::clone(&queue.0.shared);
  let settle: crate::later::Later = Box::new(move |env| settle_now(env, &shared.helpers, raw, outcome));
  // Where there is no `setImmediate` to hand it on with, the Promise is settled now.
  if let Some(now) = crate::later::later(env, &queue.0.shared.helpers, settle) {
    now(env);
  }
  Ok(promise)
}
