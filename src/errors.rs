//! JavaScript errors: an `Error` whose `code` property is the stable code of
//! [`agentdb_core::error::ErrorCode`].

use std::ptr;

use napi::sys;

use crate::js::{check, create_string};
use agentdb_core::error::{Error, Result};

/// Creates `new Error(message)` with `code` set.
pub(crate) fn js_error(env: sys::napi_env, error: &Error) -> Result<sys::napi_value> {
  let code = create_string(env, error.code.as_str())?;
  let message = create_string(env, &error.message)?;
  let mut value = ptr::null_mut();
  // SAFETY: the handle invariant (see `crate::js`) holds for `env`, `code` and `message`
  // (strings, as the call requires); `value` is a live local the call writes.
  check(env, unsafe { sys::napi_create_error(env, code, message, &mut value) }, "creating an error")?;
  Ok(value)
}

/// Sets `object[name] = value`.
pub(crate) fn set(env: sys::napi_env, object: sys::napi_value, name: &str, value: sys::napi_value) -> Result<()> {
  let key = create_string(env, name)?;
  // SAFETY: the handle invariant holds for `env`, `object`, `key` and `value`.
  check(env, unsafe { sys::napi_set_property(env, object, key, value) }, name)
}
