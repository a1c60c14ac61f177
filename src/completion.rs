//! Settling Promises from the database threads.
//!
//! Each `Database` owns one Node-API threadsafe function. Database threads push finished
//! work onto a queue and wake the JavaScript thread once; the JavaScript thread then settles
//! every queued Promise in one go, in the order the work finished. Progress events travel
//! on the same queue, so they always arrive before the Promise of their call settles.
//!
//! The threadsafe function keeps the event loop alive only while Promises are pending, so
//! an idle open database never stops a process (or a worker thread) from exiting. Nothing is
//! cached in globals: each queue belongs to one `Database` in one JavaScript environment.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use napi::sys;
use parking_lot::Mutex;

use crate::encode::JsHelpers;
use crate::js::create_string;
use agentdb_core::error::Error;

/// Work to run on the JavaScript thread.
pub type JsTask = Box<dyn FnOnce(sys::napi_env) + Send>;

/// A raw threadsafe-function handle; Node-API allows calling it from any thread.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
unsafe impl Send for Tsfn {}

struct State {
  /// `None` once released or finalized: tasks posted then are dropped.
  tsfn: Option<Tsfn>,
  tasks: Vec<JsTask>,
}

struct Shared {
  state: Mutex<State>,
  /// Promises created and not yet settled; touched only on the JavaScript thread.
  pending: AtomicUsize,
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
      // Calls already queued are still dispatched before Node finalizes it.
      unsafe { sys::napi_release_threadsafe_function(tsfn.0, sys::ThreadsafeFunctionReleaseMode::release) };
    }
  }
}

/// The queue from database threads to one JavaScript environment's thread.
#[derive(Clone)]
pub struct JsQueue(Arc<Owner>);

impl JsQueue {
  /// Creates the queue; must run on the JavaScript thread.
  pub fn new(env: sys::napi_env) -> napi::Result<JsQueue> {
    let helpers = JsHelpers::new(env)?;
    let shared =
      Arc::new(Shared { state: Mutex::new(State { tsfn: None, tasks: Vec::new() }), pending: AtomicUsize::new(0), helpers });
    let data = Arc::into_raw(Arc::clone(&shared)) as *mut c_void;
    let mut tsfn = ptr::null_mut();
    let status = unsafe {
      sys::napi_create_threadsafe_function(
        env,
        ptr::null_mut(),
        ptr::null_mut(),
        create_string(env, "agentdb"),
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
      drop(unsafe { Arc::from_raw(data as *const Shared) });
      return Err(napi::Error::from_reason(format!("cannot create the completion queue (status {status})")));
    }
    unsafe { sys::napi_unref_threadsafe_function(env, tsfn) };
    shared.state.lock().tsfn = Some(Tsfn(tsfn));
    Ok(JsQueue(Arc::new(Owner { shared })))
  }

  /// Queues `task` to run on the JavaScript thread. Dropped unrun when the environment is
  /// gone (a terminated worker): there is nobody left to tell.
  pub fn post(&self, task: JsTask) {
    let mut state = self.0.shared.state.lock();
    let Some(tsfn) = state.tsfn else {
      drop(state);
      drop(task);
      return;
    };
    state.tasks.push(task);
    if state.tasks.len() == 1 {
      let status =
        unsafe { sys::napi_call_threadsafe_function(tsfn.0, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
      if status != sys::Status::napi_ok {
        let dropped = std::mem::take(&mut state.tasks);
        drop(state);
        drop(dropped);
      }
    }
  }

  /// Turns a call's arguments into JSON text with the encoder (see
  /// [`JsHelpers::encode_args`]).
  pub fn encode_args(
    &self,
    env: sys::napi_env,
    call: &str,
    names: &[&str],
    values: &[crate::js::JsArg],
  ) -> agentdb_core::error::Result<String> {
    self.0.shared.helpers.encode_args(env, call, names, values)
  }

  /// Counts a new pending Promise, keeping the event loop alive while any is pending.
  fn begin(&self, env: sys::napi_env) {
    if self.0.shared.pending.fetch_add(1, Ordering::Relaxed) == 0 {
      if let Some(tsfn) = self.0.shared.state.lock().tsfn {
        unsafe { sys::napi_ref_threadsafe_function(env, tsfn.0) };
      }
    }
  }
}

impl Shared {
  /// Counts a settled Promise; the last one lets the event loop exit again.
  fn end(&self, env: sys::napi_env) {
    if self.pending.fetch_sub(1, Ordering::Relaxed) == 1 {
      if let Some(tsfn) = self.state.lock().tsfn {
        unsafe { sys::napi_unref_threadsafe_function(env, tsfn.0) };
      }
    }
  }
}

/// Runs on the JavaScript thread: settles everything queued so far.
unsafe extern "C" fn drain(env: sys::napi_env, _callback: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  if env.is_null() {
    return;
  }
  let shared = unsafe { &*(context as *const Shared) };
  let tasks = std::mem::take(&mut shared.state.lock().tasks);
  for task in tasks {
    let mut scope = ptr::null_mut();
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    // A panic must not unwind into Node (this is an `extern "C"` callback: it would abort
    // the process); a settlement turns its own panics into rejections, see `settle_now`.
    let _ = catch_unwind(AssertUnwindSafe(|| task(env)));
    unsafe { sys::napi_close_handle_scope(env, scope) };
  }
}

/// Runs on the JavaScript thread when the threadsafe function is released or its
/// environment is torn down.
unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
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
unsafe impl Send for RawDeferred {}

/// Something a Promise can resolve with.
pub trait JsOutput: Send + 'static {
  /// Builds the JavaScript value, on the JavaScript thread.
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> napi::Result<sys::napi_value>;
}

impl<T: napi::bindgen_prelude::ToNapiValue + Send + 'static> JsOutput for T {
  fn into_js(self, env: sys::napi_env, _helpers: &JsHelpers) -> napi::Result<sys::napi_value> {
    unsafe { T::to_napi_value(env, self) }
  }
}

/// Something a Promise can reject with: an `Error` with a stable `code`.
pub trait JsRejection: Send + 'static {
  /// Builds the JavaScript error, on the JavaScript thread.
  fn into_js_error(self, env: sys::napi_env) -> sys::napi_value;
}

impl JsRejection for Error {
  fn into_js_error(self, env: sys::napi_env) -> sys::napi_value {
    crate::errors::js_error(env, &self)
  }
}

/// One pending Promise. Settling it from any thread queues the settlement for the
/// JavaScript thread; dropping it unsettled (its work was discarded when the database
/// closed) rejects it with `DATABASE_CLOSED`, so no Promise is ever left hanging.
pub struct Deferred {
  queue: JsQueue,
  raw: Option<RawDeferred>,
}

impl Deferred {
  /// Creates a Promise; must run on the JavaScript thread.
  pub fn new(env: sys::napi_env, queue: &JsQueue) -> napi::Result<(Deferred, sys::napi_value)> {
    let mut raw = ptr::null_mut();
    let mut promise = ptr::null_mut();
    let status = unsafe { sys::napi_create_promise(env, &mut raw, &mut promise) };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::from_reason(format!("cannot create a Promise (status {status})")));
    }
    queue.begin(env);
    Ok((Deferred { queue: queue.clone(), raw: Some(RawDeferred(raw)) }, promise))
  }

  /// Settles the Promise with `outcome`, from any thread.
  pub fn settle<T: JsOutput, E: JsRejection>(mut self, outcome: Result<T, E>) {
    let raw = self.raw.take().expect("settled once");
    let shared = Arc::clone(&self.queue.0.shared);
    self.queue.post(Box::new(move |env| {
      settle_now(env, &shared.helpers, raw, outcome);
      shared.end(env);
    }));
  }
}

impl Drop for Deferred {
  fn drop(&mut self) {
    if let Some(raw) = self.raw.take() {
      let shared = Arc::clone(&self.queue.0.shared);
      self.queue.post(Box::new(move |env| {
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
    Ok(value) => match catch_unwind(AssertUnwindSafe(|| value.into_js(env, helpers)))
      .unwrap_or_else(|panic| Err(panic_error(panic.as_ref())))
    {
      Ok(js) => {
        unsafe { sys::napi_resolve_deferred(env, raw.0, js) };
        return;
      }
      Err(err) => {
        let mut pending = false;
        unsafe { sys::napi_is_exception_pending(env, &mut pending) };
        let mut exception = ptr::null_mut();
        if pending {
          unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) };
          exception
        } else {
          Error::internal(format!("cannot build the result: {err}")).into_js_error(env)
        }
      }
    },
    Err(err) => err.into_js_error(env),
  };
  unsafe { sys::napi_reject_deferred(env, raw.0, rejection) };
}

/// A panic while building a result, as the error the result fails with (then `INTERNAL`).
fn panic_error(payload: &(dyn std::any::Any + Send)) -> napi::Error {
  napi::Error::from_reason(Error::panicked(payload).message)
}

/// A Promise already rejected with `error`, for arguments refused on the JavaScript thread.
pub fn rejected(env: sys::napi_env, queue: &JsQueue, error: Error) -> napi::Result<sys::napi_value> {
  let (deferred, promise) = Deferred::new(env, queue)?;
  deferred.settle::<(), Error>(Err(error));
  Ok(promise)
}
