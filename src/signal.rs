//! The time limit and `AbortSignal` of a raw SQL call (`query`, `execute`): read on the
//! JavaScript thread into the core's [`Limits`], with the signal's `abort` event wired to the
//! call's [`AbortFlag`], which the database thread running the call looks at. The listener is
//! removed when the call's Promise settles, so one signal can serve many calls.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use napi::sys;

use crate::completion::{Deferred, JsQueue};
use crate::js::{check, take_exception, undefined, JsArg};
use agentdb_core::error::{Error, ErrorCode, Result};
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::Kind;
use agentdb_core::interrupt::{AbortFlag, Limits};
use agentdb_core::rules;

/// A call's limits, and the listener to remove from its signal once it settles.
pub(crate) struct CallLimits {
  limits: Limits,
  unwatch: Option<Unwatch>,
}

/// A strong reference to the function that removes a signal's listener.
struct Unwatch(sys::napi_ref);
// SAFETY: the reference is made on the JavaScript thread and used only there: it travels
// inside the cleanup task of a `Deferred`, which the completion queue runs on the JavaScript
// thread (or drops unrun, which does nothing with the handle).
unsafe impl Send for Unwatch {}

impl CallLimits {
  /// Limits with no signal.
  pub(crate) fn of(limits: Limits) -> CallLimits {
    CallLimits { limits, unwatch: None }
  }

  /// Reads `options.timeoutMs` (else `default`, the database's `statementTimeoutMs`) and
  /// `options.signal`. A signal already aborted rejects the call with `ABORTED`.
  pub(crate) fn read(env: sys::napi_env, queue: &JsQueue, options: JsArg, default: Option<Duration>) -> Result<CallLimits> {
    let f = Fields::of(options, "options", &["timeoutMs", "signal"], true)?;
    let timeout = f.whole("timeoutMs", &rules::STATEMENT_TIMEOUT_MS)?.map(Duration::from_millis).or(default);
    let Some(signal) = f.get("signal")? else {
      return Ok(CallLimits { limits: Limits { timeout, abort: None }, unwatch: None });
    };
    let flag = Arc::new(AbortFlag::default());
    let on_abort = abort_function(env, &flag)?;
    let watched = queue.watch_signal(env, signal, on_abort)?;
    match watched.kind() {
      Kind::Function => {
        let mut reference = ptr::null_mut();
        // SAFETY: the handle invariant (see `crate::js`) holds for `env` and the function;
        // `reference` is a live local the call writes.
        check(env, unsafe { sys::napi_create_reference(env, watched.raw(), 1, &mut reference) }, "options.signal")?;
        Ok(CallLimits { limits: Limits { timeout, abort: Some(flag) }, unwatch: Some(Unwatch(reference)) })
      }
      Kind::Boolean if watched.boolean("options.signal")? => {
        Err(Error::new(ErrorCode::Aborted, "the call was aborted (its signal) before it started"))
      }
      _ => Err(Error::invalid("options.signal must be an AbortSignal")),
    }
  }

  /// Hands the limits to the call's work; the listener goes when `deferred` settles.
  pub(crate) fn attach(self, deferred: &mut Deferred) -> Limits {
    if let Some(unwatch) = self.unwatch {
      deferred.on_settle(Box::new(move |env| remove_listener(env, unwatch)));
    }
    self.limits
  }
}

/// Calls the unwatch function and drops the reference. A failure leaves the listener on the
/// signal (which then costs only memory until the signal is collected) and never keeps the
/// Promise from settling: what was thrown is cleared.
fn remove_listener(env: sys::napi_env, unwatch: Unwatch) {
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `unwatch.0` was made in it by
  // `CallLimits::read` and is deleted once, below; `function` is a live local the call writes.
  let status = unsafe { sys::napi_get_reference_value(env, unwatch.0, &mut function) };
  if status == sys::Status::napi_ok && !function.is_null() {
    if let Ok(receiver) = undefined(env) {
      let mut result = ptr::null_mut();
      // SAFETY: the handle invariant holds for `env`, `receiver` and `function`; no
      // arguments are passed; `result` is a live local the call writes.
      let status = unsafe { sys::napi_call_function(env, receiver, function, 0, ptr::null(), &mut result) };
      if status != sys::Status::napi_ok {
        take_exception(env);
      }
    }
  }
  // SAFETY: as above; this is the one deletion of the reference.
  let _ = unsafe { sys::napi_delete_reference(env, unwatch.0) };
}

/// A JavaScript function that sets `flag` when called (the `abort` listener). It owns a count
/// of the flag's `Arc`, given back when the function is collected.
fn abort_function(env: sys::napi_env, flag: &Arc<AbortFlag>) -> Result<sys::napi_value> {
  let data = Box::into_raw(Box::new(Arc::clone(flag))) as *mut c_void;
  let name = "onAbort";
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `name` is valid for reads of its length;
  // `on_abort` has the signature Node-API expects and reads `data` only as the `Arc` made
  // above, which stays alive until `free_flag` runs; `function` is a live local the call writes.
  let status = unsafe {
    sys::napi_create_function(env, name.as_ptr() as *const c_char, name.len() as isize, Some(on_abort), data, &mut function)
  };
  if let Err(err) = check(env, status, "options.signal") {
    // SAFETY: no function holds `data`: the count made above comes back here, once.
    drop(unsafe { Box::from_raw(data as *mut Arc<AbortFlag>) });
    return Err(err);
  }
  // SAFETY: the handle invariant holds for `env` and `function`; `free_flag` has the
  // signature Node-API expects and frees `data` once, when the function is collected.
  let status = unsafe { sys::napi_add_finalizer(env, function, data, Some(free_flag), ptr::null_mut(), ptr::null_mut()) };
  if let Err(err) = check(env, status, "options.signal") {
    // SAFETY: without a finalizer the function is never handed out (the error returns before
    // it is registered anywhere), so nothing calls it: the count comes back here, once.
    drop(unsafe { Box::from_raw(data as *mut Arc<AbortFlag>) });
    return Err(err);
  }
  Ok(function)
}

/// The `abort` listener: sets the flag its data points to.
///
/// # Safety
///
/// Only for Node-API, as the callback of a function made by `abort_function`, whose data is
/// a live `Box<Arc<AbortFlag>>` until `free_flag` runs (after the last call).
unsafe extern "C" fn on_abort(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut data = ptr::null_mut();
  // SAFETY: `env` and `info` are those of the call Node-API is making; only the data pointer
  // is asked for (a live local the call writes).
  let status = unsafe { sys::napi_get_cb_info(env, info, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut data) };
  if status == sys::Status::napi_ok && !data.is_null() {
    // SAFETY: by this function's contract `data` points to a live `Arc<AbortFlag>`.
    unsafe { &*(data as *const Arc<AbortFlag>) }.abort();
  }
  // Returning no value is returning `undefined`.
  ptr::null_mut()
}

/// Gives back the `Arc` count an abort listener held.
///
/// # Safety
///
/// Only for Node-API, as the finalizer `abort_function` adds, which Node-API calls once.
unsafe extern "C" fn free_flag(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` came from `Box::into_raw` in `abort_function` and is freed only here.
  drop(unsafe { Box::from_raw(data as *mut Arc<AbortFlag>) });
}
