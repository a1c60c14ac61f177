//! Thin safe wrappers over the raw Node-API calls used to read arguments and build results.
//!
//! Arguments are taken as raw values and read by the method, so that every kind of bad input
//! (wrong type, throwing getter, Proxy trap) becomes an `INVALID_ARGUMENT` rejection naming
//! the field, never a synchronous throw or a crash.
//!
//! # The handle invariant
//!
//! Every `napi_env` this crate handles is the one Node-API passed to the call into the addon
//! that is running (a method, a getter, the completion queue's callback or finalizer), used on
//! the JavaScript thread running that call and before it returns. Every `napi_value` is a
//! non-null handle that Node-API gave out in that environment, inside a handle scope that is
//! still open. The functions of the crate take these handles as plain arguments without being
//! `unsafe`: they are private to the crate, and every caller passes only handles that keep the
//! invariant. The safety comments of the Node-API calls rest on it, and on Node-API's own
//! contract that each call writes its out-parameter (a live local passed as `&mut`) and
//! nothing else.

use std::ffi::c_char;
use std::fmt::Display;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, ValueType};

use agentdb_core::error::{Error, ErrorCode, Result};
use agentdb_core::input::fields::Source;
use agentdb_core::input::Kind;
use agentdb_core::model::iso_from_epoch_millis;

/// Any JavaScript value received as an argument; how to read it is decided by the method.
#[derive(Clone, Copy)]
pub struct JsArg {
  env: sys::napi_env,
  value: sys::napi_value,
}

impl TypeName for JsArg {
  fn type_name() -> &'static str {
    "unknown"
  }
  fn value_type() -> ValueType {
    ValueType::Unknown
  }
}

impl ValidateNapiValue for JsArg {}

impl FromNapiValue for JsArg {
  /// Wraps an argument of the current call.
  ///
  /// # Safety
  ///
  /// napi-rs calls this with the environment and one argument of the call being made, which
  /// is what keeps the handle invariant (see the module documentation) for the wrapped value.
  unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
    if value.is_null() {
      return Err(napi::Error::from_reason("an argument is missing its value"));
    }
    Ok(JsArg { env, value })
  }
}

/// A value produced by the method itself (a Promise), handed back to JavaScript as is.
pub struct JsReturn(pub(crate) sys::napi_value);

impl TypeName for JsReturn {
  fn type_name() -> &'static str {
    "Promise"
  }
  fn value_type() -> ValueType {
    ValueType::Object
  }
}

impl ToNapiValue for JsReturn {
  /// Hands the value back unchanged.
  ///
  /// # Safety
  ///
  /// napi-rs calls this with the environment of the call that made the value, inside the
  /// same call, so the handle is still valid when it reaches JavaScript.
  unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    Ok(value.0)
  }
}

/// Checks a Node-API status. On failure any pending JavaScript exception (a throwing getter,
/// a Proxy trap) is cleared and its message becomes the error's.
pub(crate) fn check(env: sys::napi_env, status: sys::napi_status, what: &str) -> Result<()> {
  if status == sys::Status::napi_ok {
    return Ok(());
  }
  if let Some(exception) = take_exception(env) {
    let text = JsArg { env, value: exception }.describe_exception();
    return Err(Error::invalid(format!("{what}: reading it threw: {text}")));
  }
  Err(Error::new(ErrorCode::InvalidArgument, format!("{what}: Node-API status {status}")))
}

/// Clears the pending JavaScript exception and returns it; `None` when there is none (or it
/// cannot be read, which leaves it pending: the next Node-API call that runs JavaScript then
/// fails, and that failure is reported as any other).
pub(crate) fn take_exception(env: sys::napi_env) -> Option<sys::napi_value> {
  let mut pending = false;
  // SAFETY: the handle invariant (module documentation) holds for `env`; `pending` is a live
  // local the call writes.
  let status = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
  if status != sys::Status::napi_ok || !pending {
    return None;
  }
  let mut exception = ptr::null_mut();
  // SAFETY: as above; `exception` is a live local the call writes.
  let status = unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) };
  (status == sys::Status::napi_ok && !exception.is_null()).then_some(exception)
}

/// The value of `undefined`.
pub(crate) fn undefined(env: sys::napi_env) -> Result<sys::napi_value> {
  let mut value = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `value` is a live local the call writes.
  check(env, unsafe { sys::napi_get_undefined(env, &mut value) }, "undefined")?;
  Ok(value)
}

impl JsArg {
  /// Wraps a raw value, which must keep the handle invariant (module documentation).
  pub(crate) fn new(env: sys::napi_env, value: sys::napi_value) -> Self {
    JsArg { env, value }
  }

  /// The raw value.
  pub(crate) fn raw(&self) -> sys::napi_value {
    self.value
  }

  /// The raw environment and value, for Node-API calls made elsewhere.
  pub(crate) fn parts(&self) -> (sys::napi_env, sys::napi_value) {
    (self.env, self.value)
  }

  /// `typeof`, with `null` and arrays told apart from other objects.
  ///
  /// With valid handles the calls cannot fail (they run no JavaScript); should one fail all
  /// the same, the value is reported as a symbol, a kind every reader refuses, so the failure
  /// still becomes an `INVALID_ARGUMENT` rejection naming the field.
  pub(crate) fn kind(&self) -> Kind {
    let mut t = sys::ValueType::napi_undefined;
    // SAFETY: the handle invariant holds for `self.env` and `self.value`; `t` is a live local
    // the call writes.
    if unsafe { sys::napi_typeof(self.env, self.value, &mut t) } != sys::Status::napi_ok {
      return Kind::Symbol;
    }
    match t {
      sys::ValueType::napi_undefined => Kind::Undefined,
      sys::ValueType::napi_null => Kind::Null,
      sys::ValueType::napi_boolean => Kind::Boolean,
      sys::ValueType::napi_number => Kind::Number,
      sys::ValueType::napi_string => Kind::String,
      sys::ValueType::napi_object => {
        let mut is_array = false;
        // SAFETY: as above; `is_array` is a live local the call writes.
        if unsafe { sys::napi_is_array(self.env, self.value, &mut is_array) } != sys::Status::napi_ok {
          return Kind::Symbol;
        }
        if is_array {
          Kind::Array
        } else {
          Kind::Object
        }
      }
      sys::ValueType::napi_function => Kind::Function,
      sys::ValueType::napi_bigint => Kind::BigInt,
      _ => Kind::Symbol,
    }
  }

  /// The string value; `what` names the field in the error.
  pub(crate) fn string(&self, what: &str) -> Result<String> {
    if self.kind() != Kind::String {
      return Err(Error::invalid(format!("{what} must be a string, got {}", self.kind().name())));
    }
    let mut len = 0;
    // SAFETY: the handle invariant holds for `self.env` and `self.value` (a string, checked
    // above); with a null buffer the call only writes the UTF-8 length to `len`.
    check(self.env, unsafe { sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len) }, what)?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0;
    // SAFETY: as above; `buf` is valid for writes of `len + 1` bytes, the size passed, and the
    // call writes at most that many (the text and a NUL) and their count to `written`.
    let status =
      unsafe { sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr() as *mut c_char, len + 1, &mut written) };
    check(self.env, status, what)?;
    buf.truncate(written);
    // Lone surrogates are replaced by U+FFFD on the way out of V8, so this is valid UTF-8.
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
  }

  /// The number value.
  pub(crate) fn number(&self, what: &str) -> Result<f64> {
    if self.kind() != Kind::Number {
      return Err(Error::invalid(format!("{what} must be a number, got {}", self.kind().name())));
    }
    let mut n = 0.0;
    // SAFETY: the handle invariant holds for `self.env` and `self.value` (a number, checked
    // above); `n` is a live local the call writes.
    check(self.env, unsafe { sys::napi_get_value_double(self.env, self.value, &mut n) }, what)?;
    Ok(n)
  }

  /// The boolean value.
  pub(crate) fn boolean(&self, what: &str) -> Result<bool> {
    if self.kind() != Kind::Boolean {
      return Err(Error::invalid(format!("{what} must be a boolean, got {}", self.kind().name())));
    }
    let mut b = false;
    // SAFETY: the handle invariant holds for `self.env` and `self.value` (a boolean, checked
    // above); `b` is a live local the call writes.
    check(self.env, unsafe { sys::napi_get_value_bool(self.env, self.value, &mut b) }, what)?;
    Ok(b)
  }

  /// The length of an array; `None` for any other value.
  pub(crate) fn array_length(&self) -> Option<u32> {
    if self.kind() != Kind::Array {
      return None;
    }
    let mut len = 0u32;
    // SAFETY: the handle invariant holds for `self.env` and `self.value` (an array, checked
    // above); `len` is a live local the call writes.
    let status = unsafe { sys::napi_get_array_length(self.env, self.value, &mut len) };
    (status == sys::Status::napi_ok).then_some(len)
  }

  /// The elements of an array.
  pub(crate) fn elements(&self, what: &str) -> Result<Vec<JsArg>> {
    if self.kind() != Kind::Array {
      return Err(Error::invalid(format!("{what} must be an array, got {}", self.kind().name())));
    }
    let mut len = 0u32;
    // SAFETY: the handle invariant holds for `self.env` and `self.value` (an array, checked
    // above); `len` is a live local the call writes.
    check(self.env, unsafe { sys::napi_get_array_length(self.env, self.value, &mut len) }, what)?;
    (0..len)
      .map(|i| {
        let mut element = ptr::null_mut();
        // SAFETY: as above; `element` is a live local the call writes, with a handle in the
        // current scope when it succeeds.
        check(self.env, unsafe { sys::napi_get_element(self.env, self.value, i, &mut element) }, what)?;
        Ok(JsArg { env: self.env, value: element })
      })
      .collect()
  }

  /// The object's own enumerable string keys.
  pub(crate) fn keys(&self, what: &str) -> Result<Vec<String>> {
    let mut names = ptr::null_mut();
    // SAFETY: the handle invariant holds for `self.env` and `self.value`; `names` is a live
    // local the call writes, with an array of the keys when it succeeds.
    let status = unsafe {
      sys::napi_get_all_property_names(
        self.env,
        self.value,
        sys::KeyCollectionMode::own_only,
        sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
        sys::KeyConversion::numbers_to_strings,
        &mut names,
      )
    };
    check(self.env, status, what)?;
    JsArg { env: self.env, value: names }.strings(what)
  }

  /// A property of an object.
  pub(crate) fn get(&self, name: &str, what: &str) -> Result<JsArg> {
    let key = create_string(self.env, name)?;
    let mut value = ptr::null_mut();
    // SAFETY: the handle invariant holds for `self.env`, `self.value` and `key` (just made in
    // the same scope); `value` is a live local the call writes.
    check(self.env, unsafe { sys::napi_get_property(self.env, self.value, key, &mut value) }, what)?;
    Ok(JsArg { env: self.env, value })
  }

  /// The property `name` of an object when it is a string. Anything thrown while reading it
  /// is cleared and not described (so a thrown value whose `message` getter throws again
  /// cannot make this recurse); a value that is not an object has no such property.
  pub(crate) fn string_property(&self, name: &str) -> Option<String> {
    if !matches!(self.kind(), Kind::Object | Kind::Array | Kind::Function) {
      return None;
    }
    let key = create_string(self.env, name).ok()?;
    let mut value = ptr::null_mut();
    // SAFETY: the handle invariant holds for `self.env`, `self.value` and `key`; `value` is a
    // live local the call writes.
    if unsafe { sys::napi_get_property(self.env, self.value, key, &mut value) } != sys::Status::napi_ok {
      take_exception(self.env);
      return None;
    }
    let value = JsArg { env: self.env, value };
    (value.kind() == Kind::String).then(|| value.string(name).ok()).flatten()
  }

  /// What a thrown value says: its `message`, or its kind.
  fn describe_exception(&self) -> String {
    self.string_property("message").unwrap_or_else(|| format!("a thrown {}", self.kind().name()))
  }
}

impl Source for JsArg {
  fn kind(self) -> Kind {
    JsArg::kind(&self)
  }
  fn string(self, what: impl Display) -> Result<String> {
    JsArg::string(&self, &what.to_string())
  }
  fn number(self, what: impl Display) -> Result<f64> {
    JsArg::number(&self, &what.to_string())
  }
  fn boolean(self, what: impl Display) -> Result<bool> {
    JsArg::boolean(&self, &what.to_string())
  }
  fn elements(self, what: impl Display) -> Result<Vec<Self>> {
    JsArg::elements(&self, &what.to_string())
  }
  fn keys(self, what: impl Display) -> Result<Vec<String>> {
    JsArg::keys(&self, &what.to_string())
  }
  fn property(self, name: &str, what: impl Display) -> Result<Option<Self>> {
    let value = self.get(name, &what.to_string())?;
    Ok(if value.kind() == Kind::Undefined { None } else { Some(value) })
  }
}

/// Creates a JavaScript string. Fails for a text longer than a JavaScript string can be.
pub(crate) fn create_string(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
  let mut value = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `text` is valid for reads of `text.len()`
  // bytes (a `str` is never longer than `isize::MAX`, so the length cast is exact), which the
  // call copies; `value` is a live local the call writes.
  let status = unsafe { sys::napi_create_string_utf8(env, text.as_ptr() as *const c_char, text.len() as isize, &mut value) };
  check(env, status, "creating a JavaScript string")?;
  Ok(value)
}

/// Reads a timestamp given as a `Date` or an ISO-8601 string, as ISO-8601 UTC with
/// milliseconds.
pub(crate) fn iso_timestamp(value: JsArg, what: &str) -> Result<String> {
  let mut is_date = false;
  // SAFETY: the handle invariant holds for `value`'s handles; `is_date` is a live local the
  // call writes.
  check(value.env, unsafe { sys::napi_is_date(value.env, value.value, &mut is_date) }, what)?;
  if !is_date {
    let text = value.string(what).map_err(|_| Error::invalid(format!("{what} must be a Date or an ISO-8601 string")))?;
    if text.is_empty() {
      return Err(Error::invalid(format!("{what} must not be empty")));
    }
    return Ok(text);
  }
  let mut millis = 0.0;
  // SAFETY: as above (`value` is a Date, checked above); `millis` is a live local the call
  // writes.
  check(value.env, unsafe { sys::napi_get_date_value(value.env, value.value, &mut millis) }, what)?;
  if !millis.is_finite() {
    return Err(Error::invalid(format!("{what} is an invalid Date")));
  }
  Ok(iso_from_epoch_millis(millis as i64))
}
