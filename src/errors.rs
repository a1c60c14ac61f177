//! JavaScript errors: an `Error` whose `code` property is the stable code of
//! [`agentdb_core::error::ErrorCode`].

use std::ptr;

use napi::sys;

use crate::js::create_string;
use agentdb_core::error::Error;

/// Creates `new Error(message)` with `code` set.
pub fn js_error(env: sys::napi_env, error: &Error) -> sys::napi_value {
  let mut value = ptr::null_mut();
  unsafe {
    sys::napi_create_error(env, create_string(env, error.code.as_str()), create_string(env, &error.message), &mut value);
  }
  value
}

/// Sets `object[name] = value`.
pub fn set(env: sys::napi_env, object: sys::napi_value, name: &str, value: sys::napi_value) {
  unsafe { sys::napi_set_property(env, object, create_string(env, name), value) };
}
