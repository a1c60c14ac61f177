//! Thin safe wrappers over the raw Node-API calls used to read arguments and build results.
//!
//! Arguments are taken as raw values and read field by field, so that every kind of bad
//! input (wrong type, throwing getter, cycle, `NaN`) becomes an `INVALID_ARGUMENT` rejection
//! naming the field, never a synchronous throw or a crash.

use std::ffi::c_char;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, ValueType};

use crate::core::error::{Error, ErrorCode, Result};

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
        if is_array { Kind::Array } else { Kind::Object }
      }
      sys::ValueType::napi_function => Kind::Function,
      sys::ValueType::napi_bigint => Kind::BigInt,
      _ => Kind::Symbol,
    }
  }

  /// Whether the value is `undefined` or `null`.
  pub fn is_nullish(&self) -> bool {
    matches!(self.kind(), Kind::Undefined | Kind::Null)
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

  /// A non-empty string, as ids are.
  pub fn id(&self, what: &str) -> Result<String> {
    let id = self.string(what)?;
    if id.is_empty() {
      return Err(Error::invalid(format!("{what} must not be empty")));
    }
    Ok(id)
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

  /// A whole number in `0..=max`.
  pub fn whole(&self, what: &str, max: u64) -> Result<u64> {
    let n = self.number(what)?;
    if !n.is_finite() || n.fract() != 0.0 || n < 0.0 || n > max as f64 {
      return Err(Error::invalid(format!("{what} must be a whole number from 0 to {max}, got {n}")));
    }
    Ok(n as u64)
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

  /// An array of strings.
  pub fn strings(&self, what: &str) -> Result<Vec<String>> {
    self.elements(what)?.iter().enumerate().map(|(i, e)| e.string(&format!("{what}[{i}]"))).collect()
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

/// The kinds of JavaScript value arguments are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
  /// `undefined`
  Undefined,
  /// `null`
  Null,
  /// a boolean
  Boolean,
  /// a number
  Number,
  /// a string
  String,
  /// an array
  Array,
  /// any other object
  Object,
  /// a function
  Function,
  /// a bigint
  BigInt,
  /// a symbol or an external
  Symbol,
}

impl Kind {
  /// The name used in error messages.
  pub fn name(self) -> &'static str {
    match self {
      Kind::Undefined => "undefined",
      Kind::Null => "null",
      Kind::Boolean => "a boolean",
      Kind::Number => "a number",
      Kind::String => "a string",
      Kind::Array => "an array",
      Kind::Object => "an object",
      Kind::Function => "a function",
      Kind::BigInt => "a bigint",
      Kind::Symbol => "a symbol",
    }
  }
}

/// The fields of an options or input object, each read at most once, with unknown fields
/// refused (a misspelt option is an error, not a silent default).
pub struct Fields {
  object: Option<JsArg>,
  what: String,
}

impl Fields {
  /// Reads `value` as an object whose keys must be among `allowed`; `undefined` and `null`
  /// are an empty object when `optional`.
  pub fn of(value: JsArg, what: &str, allowed: &[&str], optional: bool) -> Result<Fields> {
    match value.kind() {
      Kind::Object => {}
      Kind::Undefined | Kind::Null if optional => return Ok(Fields { object: None, what: what.to_string() }),
      other => return Err(Error::invalid(format!("{what} must be an object, got {}", other.name()))),
    }
    for key in value.keys(what)? {
      if !allowed.contains(&key.as_str()) {
        return Err(Error::invalid(format!("{what}: unknown field `{key}` (known fields: {})", allowed.join(", "))));
      }
    }
    Ok(Fields { object: Some(value), what: what.to_string() })
  }

  /// The field's path for error messages, e.g. `options.limit`.
  pub fn path(&self, name: &str) -> String {
    format!("{}.{name}", self.what)
  }

  /// The field, or `None` when it is absent, `undefined` or `null`.
  pub fn get(&self, name: &str) -> Result<Option<JsArg>> {
    let Some(object) = &self.object else { return Ok(None) };
    let value = object.get(name, &self.path(name))?;
    Ok(if value.is_nullish() { None } else { Some(value) })
  }

  /// An optional string field.
  pub fn string(&self, name: &str) -> Result<Option<String>> {
    self.get(name)?.map(|v| v.string(&self.path(name))).transpose()
  }

  /// A required string field.
  pub fn required_string(&self, name: &str) -> Result<String> {
    self.string(name)?.ok_or_else(|| Error::invalid(format!("{} is required", self.path(name))))
  }

  /// An optional boolean field.
  pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
    self.get(name)?.map(|v| v.boolean(&self.path(name))).transpose()
  }

  /// An optional whole-number field in `0..=max`.
  pub fn whole(&self, name: &str, max: u64) -> Result<Option<u64>> {
    self.get(name)?.map(|v| v.whole(&self.path(name), max)).transpose()
  }

  /// A field of a patch: `None` when absent or `undefined` (keep), `Some(None)` for `null`
  /// (clear), `Some(Some(value))` to set.
  pub fn change(&self, name: &str) -> Result<Option<Option<JsArg>>> {
    let Some(object) = &self.object else { return Ok(None) };
    let value = object.get(name, &self.path(name))?;
    Ok(match value.kind() {
      Kind::Undefined => None,
      Kind::Null => Some(None),
      _ => Some(Some(value)),
    })
  }

  /// A field of a patch that cannot be cleared, read with `parse`: `None` when absent or
  /// `undefined` (keep); `null` is refused, naming the field, instead of being read as "keep".
  pub fn non_null_change<T>(&self, name: &str, parse: impl FnOnce(JsArg, &str) -> Result<T>) -> Result<Option<T>> {
    let path = self.path(name);
    match self.change(name)? {
      None => Ok(None),
      Some(None) => Err(Error::invalid(format!("{path} cannot be null (leave it out to keep the current value)"))),
      Some(Some(value)) => parse(value, &path).map(Some),
    }
  }

  /// A nullable string field of a patch.
  pub fn string_change(&self, name: &str) -> Result<Option<Option<String>>> {
    let path = self.path(name);
    Ok(self.change(name)?.map(|v| v.map(|v| v.string(&path)).transpose()).transpose()?)
  }

  /// An optional field read with `parse` (an enumeration, a JSON value, an id…), which gets
  /// the value and the field's path.
  pub fn parsed<T>(&self, name: &str, parse: impl FnOnce(JsArg, &str) -> Result<T>) -> Result<Option<T>> {
    let path = self.path(name);
    self.get(name)?.map(|v| parse(v, &path)).transpose()
  }

  /// An optional array-of-strings field.
  pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
    self.get(name)?.map(|v| v.strings(&self.path(name))).transpose()
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
  Ok(format_epoch_millis(millis as i64))
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic
/// Gregorian calendar, days-from-civil inverted).
fn format_epoch_millis(millis: i64) -> String {
  let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z.rem_euclid(146_097);
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = doy - (153 * mp + 2) / 5 + 1;
  let month = if mp < 10 { mp + 3 } else { mp - 9 };
  let year = yoe + era * 400 + i64::from(month <= 2);
  let (h, m, s, ms) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
  format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
  use super::format_epoch_millis;

  #[test]
  fn formats_epoch_millis_as_iso() {
    assert_eq!(format_epoch_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_epoch_millis(1_733_824_800_000), "2024-12-10T10:00:00.000Z");
    assert_eq!(format_epoch_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(format_epoch_millis(-1), "1969-12-31T23:59:59.999Z");
  }
}
