//! Results as JSON: serialised to JSON text on the database thread and turned into
//! JavaScript objects by one `JSON.parse` call on the JavaScript thread, which is V8's fastest
//! way to build them.
//!
//! A text longer than a JavaScript string can be is refused while it is written (see
//! [`agentdb_core::limits`]); one that fits is parsed only when the JavaScript heap has room
//! for it (see [`JsHelpers::check_room`]): running out of heap inside `JSON.parse` ends the
//! process, which no rejection could then report.

use napi::sys;

use crate::completion::JsOutput;
use crate::encode::JsHelpers;
use agentdb_core::error::Result;
use agentdb_core::limits;

/// JSON text made on a database thread, parsed into JavaScript values on the JavaScript
/// thread.
pub struct JsonText(String);

impl JsonText {
  /// Serialises `value` (on the calling thread, normally a database thread); `RESULT_TOO_LARGE`
  /// when the text would be longer than a JavaScript string can be.
  pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsonText> {
    limits::json_text(value).map(JsonText)
  }

  /// Takes JSON text made elsewhere, with the same bound as [`JsonText::of`].
  pub fn checked(text: String) -> Result<JsonText> {
    limits::check_text(&text)?;
    Ok(JsonText(text))
  }
}

impl JsOutput for JsonText {
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> Result<sys::napi_value> {
    // The text as one V8 string, then the values parsed out of it: about twice its size.
    helpers.check_room(env, self.0.len(), 2.0)?;
    helpers.parse(env, &self.0)
  }
}
