//! Thin safe wrappers over the raw Node-API calls used to read arguments and build results.
//!
//! Arguments are taken as raw values and read by the method, so that every kind of bad input
//! (wrong type, throwing getter, Proxy trap) becomes an `INVALID_ARGUMENT` rejection naming
//! the field, never a synchronous throw or a crash.

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
  unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
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
  unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
    Ok(value.0)
  }
}

/// Checks a Node-API status. On failure any pending JavaScript exception (a throwing getter,
/// a Proxy trap) is cleared and its message becomes the error's.
pub fn check(env: sys::napi_env, status: sys::napi_status, what: &str) -> Result<()> {
  if status == sys::Status::napi_ok {
    return Ok(());
  }
  let mut pending = false;
  unsafe { sys::napi_is_exception_pending(env, &mut pending) };
  if pending {
    let mut exception = ptr::null_mut();
    unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) };
    let text = JsArg { env, value: exception }.describe_exception();
    return Err(Error::invalid(format!("{what}: reading it threw: {text}")));
  }
  Err(Error::new(ErrorCode::InvalidArgument, format!("{what}: Node-API status {status}")))
}

impl JsArg {
  /// Wraps a raw value.
  pub fn new(env: sys::napi_env, value: sys::napi_value) -> Self {
    JsArg { env, value }
  }

  /// The raw value.
  pub fn raw(&self) -> sys::napi_value {
    self.value
  }

  /// The raw environment and value, for Node-API calls made elsewhere.
  pub fn parts(&self) -> (sys::napi_env, sys::napi_value) {
    (self.env, self.value)
  }

  /// `typeof`, with `null` and arrays told apart from other objects.
  pub fn kind(&self) -> Kind {
    let mut t = 0;
    unsafe { sys::napi_typeof(self.env, self.value, &mut t) };
    match t {
      sys::ValueType::napi_undefined => Kind::Undefined,
      sys::ValueType::napi_null => Kind::Null,
      sys::ValueType::napi_boolean => Kind::Boolean,
      sys::ValueType::napi_number => Kind::Number,
      sys::ValueType::napi_string => Kind::String,
      sys::ValueType::napi_object => {
        let mut is_array = false;
        unsafe { sys::napi_is_array(self.env, self.value, &mut is_array) };
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
  pub fn string(&self, what: &str) -> Result<String> {
    if self.kind() != Kind::String {
      return Err(Error::invalid(format!("{what} must be a string, got {}", self.kind().name())));
    }
    let mut len = 0;
    check(self.env, unsafe { sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len) }, what)?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0;
    check(
      self.env,
      unsafe { sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr() as *mut c_char, len + 1, &mut written) },
      what,
    )?;
    buf.truncate(written);
    // Lone surrogates are replaced by U+FFFD on the way out of V8, so this is valid UTF-8.
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
  }

  /// The number value.
  pub fn number(&self, what: &str) -> Result<f64> {
    if self.kind() != Kind::Number {
      return Err(Error::invalid(format!("{what} must be a number, got {}", self.kind().name())));
    }
    let mut n = 0.0;
    check(self.env, unsafe { sys::napi_get_value_double(self.env, self.value, &mut n) }, what)?;
    Ok(n)
  }

  /// The boolean value.
  pub fn boolean(&self, what: &str) -> Result<bool> {
    if self.kind() != Kind::Boolean {
      return Err(Error::invalid(format!("{what} must be a boolean, got {}", self.kind().name())));
    }
    let mut b = false;
    check(self.env, unsafe { sys::napi_get_value_bool(self.env, self.value, &mut b) }, what)?;
    Ok(b)
  }

  /// The elements of an array.
  pub fn elements(&self, what: &str) -> Result<Vec<JsArg>> {
    if self.kind() != Kind::Array {
      return Err(Error::invalid(format!("{what} must be an array, got {}", self.kind().name())));
    }
    let mut len = 0u32;
    check(self.env, unsafe { sys::napi_get_array_length(self.env, self.value, &mut len) }, what)?;
    (0..len)
      .map(|i| {
        let mut element = ptr::null_mut();
        check(self.env, unsafe { sys::napi_get_element(self.env, self.value, i, &mut element) }, what)?;
        Ok(JsArg { env: self.env, value: element })
      })
      .collect()
  }

  /// The object's own enumerable string keys.
  pub fn keys(&self, what: &str) -> Result<Vec<String>> {
    let mut names = ptr::null_mut();
    check(
      self.env,
      unsafe {
        sys::napi_get_all_property_names(
          self.env,
          self.value,
          sys::KeyCollectionMode::own_only,
          sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
          sys::KeyConversion::numbers_to_strings,
          &mut names,
        )
      },
      what,
    )?;
    JsArg { env: self.env, value: names }.strings(what)
  }

  /// A property of an object.
  pub fn get(&self, name: &str, what: &str) -> Result<JsArg> {
    let key = create_string(self.env, name);
    let mut value = ptr::null_mut();
    check(self.env, unsafe { sys::napi_get_property(self.env, self.value, key, &mut value) }, what)?;
    Ok(JsArg { env: self.env, value })
  }

  fn describe_exception(&self) -> String {
    let message = self.get("message", "exception").ok().filter(|m| m.kind() == Kind::String);
    match message {
      Some(m) => m.string("message").unwrap_or_default(),
      None => format!("a thrown {}", self.kind().name()),
    }
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

/// Creates a JavaScript string.
pub fn create_string(env: sys::napi_env, text: &str) -> sys::napi_value {
  let mut value = ptr::null_mut();
  unsafe { sys::napi_create_string_utf8(env, text.as_ptr() as *const c_char, text.len() as isize, &mut value) };
  value
}

/// Reads a timestamp given as a `Date` or an ISO-8601 string, as ISO-8601 UTC with
/// milliseconds.
pub fn iso_timestamp(value: JsArg, what: &str) -> Result<String> {
  let mut is_date = false;
  unsafe { sys::napi_is_date(value.env, value.value, &mut is_date) };
  if !is_date {
    let text = value.string(what).map_err(|_| Error::invalid(format!("{what} must be a Date or an ISO-8601 string")))?;
    if text.is_empty() {
      return Err(Error::invalid(format!("{what} must not be empty")));
    }
    return Ok(text);
  }
  let mut millis = 0.0;
  check(value.env, unsafe { sys::napi_get_date_value(value.env, value.value, &mut millis) }, what)?;
  if !millis.is_finite() {
    return Err(Error::invalid(format!("{what} is an invalid Date")));
  }
  Ok(iso_from_epoch_millis(millis as i64))
}
