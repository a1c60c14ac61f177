//! Running Rust work in a later turn of the event loop (`setImmediate`), so that timers and
//! I/O run between the pieces of a long job on the JavaScript thread.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use napi::sys;

use crate::encode::JsHelpers;

/// Work for a later turn, on the JavaScript thread.
pub(crate) type Later = Box<dyn FnOnce(sys::napi_env)>;

/// The work one scheduled callback runs; taken by its one call, dropped by the callback's
/// finalizer when it never ran (the environment went away first).
type Slot = Cell<Option<Later>>;

/// Runs `work` from a `setImmediate` callback; on the JavaScript thread. Gives `work` back
/// when it cannot be scheduled (Node-API refused a call), for the caller to run now.
pub(crate) fn later(env: sys::napi_env, helpers: &JsHelpers, work: Later) -> Option<Later> {
  let slot = Box::into_raw(Box::new(Slot::new(Some(work))));
  let mut callback = ptr::null_mut();
  // SAFETY: the handle invariant (see `crate::js`) holds for `env`; the name is 5 bytes
  // long; `run` has the callback signature Node-API expects and gets `slot` as its data;
  // `callback` is a live local the call writes.
  let status = unsafe { sys::napi_create_function(env, c"later".as_ptr(), 5, Some(run), slot as *mut c_void, &mut callback) };
  if status != sys::Status::napi_ok {
    // SAFETY: `slot` came from `Box::into_raw` above and Node-API holds no copy of it.
    return unsafe { Box::from_raw(slot) }.take();
  }
  // SAFETY: the handle invariant holds for `env` and `callback`, just made; `release` has the
  // finalizer signature Node-API expects and gets `slot`, which it frees once, when the
  // function is collected or the environment torn down, after its last call.
  let status =
    unsafe { sys::napi_add_finalizer(env, callback, slot as *mut c_void, Some(release), ptr::null_mut(), ptr::null_mut()) };
  if status != sys::Status::napi_ok {
    // SAFETY: without the finalizer nothing else frees `slot`, and the function, given to
    // nobody, is never called.
    return unsafe { Box::from_raw(slot) }.take();
  }
  match helpers.set_immediate(env, callback) {
    Ok(()) => None,
    // SAFETY: `slot` is live until the function is collected, which it cannot be while
    // `callback` is a handle of the open scope; only this thread touches it.
    Err(_) => unsafe { &*slot }.take(),
  }
}

/// The `setImmediate` callback: runs the work of its slot, once.
///
/// # Safety
///
/// Only for Node-API, as the callback of a function `later` made: its data is a live `Slot`
/// (freed by `release` only once the function is collected, after its last call).
unsafe extern "C" fn run(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut data = ptr::null_mut();
  // SAFETY: `env` and `info` are those of this call; only the data pointer is asked for.
  let status = unsafe { sys::napi_get_cb_info(env, info, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut data) };
  if status != sys::Status::napi_ok || data.is_null() {
    return ptr::null_mut();
  }
  // SAFETY: by this function's contract `data` points to a live `Slot`, used on this thread
  // only.
  let slot = unsafe { &*(data as *const Slot) };
  if let Some(work) = slot.take() {
    // A panic must not unwind into Node: the work settles its own failures.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(env)));
  }
  ptr::null_mut()
}

/// Frees a `Slot` once its function is gone.
///
/// # Safety
///
/// Only for Node-API, as the finalizer `later` adds: `data` is the slot made by
/// `Box::into_raw`, freed here once.
unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: by this function's contract `data` came from `Box::into_raw` and is freed once.
  drop(unsafe { Box::from_raw(data as *mut Slot) });
}
