//! Results as JSON: serialised to JSON text on the database thread and turned into
//! JavaScript objects by one `JSON.parse` call on the JavaScript thread, which is V8's fastest
//! way to build them.

use napi::sys;

use crate::completion::JsOutput;
use crate::encode::JsHelpers;

/// JSON text made on a database thread, parsed into JavaScript values on the JavaScript
/// thread.
pub struct JsonText(pub String);

impl JsonText {
  /// Serialises `value` (on the calling thread, normally a database thread).
  pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> JsonText {
    JsonText(agentdb_core::json::text(value))
  }
}

impl JsOutput for JsonText {
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> napi::Result<sys::napi_value> {
    helpers.parse(env, &self.0)
  }
}
