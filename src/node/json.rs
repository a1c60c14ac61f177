//! JSON across the boundary. Going in, a JavaScript value is walked into a `serde_json::Value`
//! with everything `JSON.stringify` would silently lose refused (functions, `undefined`,
//! symbols, `NaN`, infinities, bigints, binary data) and cycles caught by a depth limit.
//! Coming out, results are serialised to JSON text on the database thread and turned into
//! JavaScript objects by one `JSON.parse` call, which is V8's fastest way to build them.

use std::ptr;

use napi::sys;
use serde_json::{Map, Number, Value};

use crate::core::error::{Error, Result};
use crate::node::completion::JsOutput;
use crate::node::js::{check, create_string, JsArg, Kind};

/// How many levels of arrays and objects a JSON value may nest.
pub const MAX_DEPTH: usize = 128;

/// Where a value sits inside the argument, rendered only when an error needs it (building
/// a path string for every value would cost more than reading the value).
enum Path<'a> {
  /// The argument itself, named as in the API (`input.content`).
  Root(&'a str),
  /// A property of the parent.
  Key(&'a Path<'a>, &'a str),
  /// An element of the parent array.
  Index(&'a Path<'a>, usize),
}

impl Path<'_> {
  /// `input.content.a[2].b`, with the middle elided past 12 segments.
  fn render(&self) -> String {
    let mut segments = Vec::new();
    let mut at = self;
    loop {
      match at {
        Path::Root(name) => {
          segments.push(name.to_string());
          break;
        }
        Path::Key(parent, key) => {
          segments.push(format!(".{key}"));
          at = parent;
        }
        Path::Index(parent, i) => {
          segments.push(format!("[{i}]"));
          at = parent;
        }
      }
    }
    segments.reverse();
    if segments.len() > 12 {
      let tail = segments.split_off(segments.len() - 4);
      segments.truncate(8);
      segments.push("…".into());
      segments.extend(tail);
    }
    segments.concat()
  }
}

/// Reads any JSON-serialisable value; `what` names it in errors.
pub fn to_value(value: JsArg, what: &str) -> Result<Value> {
  to_value_at(value, &Path::Root(what), 0)
}

/// Reads a JSON object (a plain object, not an array or a scalar).
pub fn to_object(value: JsArg, what: &str) -> Result<Map<String, Value>> {
  match to_value(value, what)? {
    Value::Object(map) => Ok(map),
    _ => Err(Error::invalid(format!("{what} must be a plain object"))),
  }
}

fn to_value_at(value: JsArg, path: &Path, depth: usize) -> Result<Value> {
  let invalid = |why: &str| Error::invalid(format!("{} {why}", path.render()));
  // The root is at depth 0, so depth MAX_DEPTH would be level MAX_DEPTH + 1.
  if depth >= MAX_DEPTH {
    return Err(invalid(&format!("nests deeper than {MAX_DEPTH} levels or contains a cycle")));
  }
  Ok(match value.kind() {
    Kind::Null => Value::Null,
    Kind::Boolean => Value::Bool(value.boolean("value")?),
    Kind::String => Value::String(value.string("value").map_err(|e| e.context(path.render()))?),
    Kind::Number => number(value.number("value")?).ok_or_else(|| invalid("is not a finite number"))?,
    Kind::Array => {
      let elements = value.elements("value").map_err(|e| e.context(path.render()))?;
      let mut out = Vec::with_capacity(elements.len());
      for (i, element) in elements.into_iter().enumerate() {
        out.push(to_value_at(element, &Path::Index(path, i), depth + 1)?);
      }
      Value::Array(out)
    }
    Kind::Object => {
      if let Some(date) = date_value(value)? {
        return Ok(Value::String(date));
      }
      if is_binary(value) {
        return Err(invalid("is binary data, which JSON cannot hold"));
      }
      let mut out = Map::new();
      for key in value.keys("value").map_err(|e| e.context(path.render()))? {
        let field = value.get(&key, "value").map_err(|e| e.context(path.render()))?;
        let item = to_value_at(field, &Path::Key(path, &key), depth + 1)?;
        out.insert(key, item);
      }
      Value::Object(out)
    }
    other => return Err(invalid(&format!("is {}, which JSON cannot hold", other.name()))),
  })
}

/// A JSON number: integers stay integers, non-finite numbers have none.
fn number(n: f64) -> Option<Value> {
  if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
    return Some(Value::Number(Number::from(n as i64)));
  }
  Number::from_f64(n).map(Value::Number)
}

/// A `Date` becomes its ISO string, as `JSON.stringify` would make it.
fn date_value(value: JsArg) -> Result<Option<String>> {
  let (env, raw) = value.parts();
  let mut is_date = false;
  unsafe { sys::napi_is_date(env, raw, &mut is_date) };
  if !is_date {
    return Ok(None);
  }
  crate::node::js::iso_timestamp(value, "date").map(Some)
}

fn is_binary(value: JsArg) -> bool {
  let (env, raw) = value.parts();
  let (mut typed, mut buffer, mut view) = (false, false, false);
  unsafe {
    sys::napi_is_typedarray(env, raw, &mut typed);
    sys::napi_is_arraybuffer(env, raw, &mut buffer);
    sys::napi_is_dataview(env, raw, &mut view);
  }
  typed || buffer || view
}

/// JSON text made on a database thread, parsed into JavaScript values on the JavaScript
/// thread.
pub struct JsonText(pub String);

impl JsonText {
  /// Serialises `value` (on the calling thread, normally a database thread).
  pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> JsonText {
    JsonText(crate::core::json::text(value))
  }
}

impl JsOutput for JsonText {
  fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
    let to_napi = |e: Error| napi::Error::from_reason(e.message);
    unsafe {
      let mut global = ptr::null_mut();
      check(env, sys::napi_get_global(env, &mut global), "globalThis").map_err(to_napi)?;
      let json = JsArg::new(env, global).get("JSON", "JSON").map_err(to_napi)?;
      let parse = json.get("parse", "JSON.parse").map_err(to_napi)?;
      let text = create_string(env, &self.0);
      let mut result = ptr::null_mut();
      check(env, sys::napi_call_function(env, json.raw(), parse.raw(), 1, &text, &mut result), "JSON.parse").map_err(to_napi)?;
      Ok(result)
    }
  }
}
