//! Results as JSON: serialised to JSON text on the database thread and turned into
//! JavaScript objects by one `JSON.parse` call on the JavaScript thread, which is V8's fastest
//! way to build them.
//!
//! A text longer than a JavaScript string can be is refused while it is written (see
//! [`agentdb_core::limits`]); one that fits is parsed only when the JavaScript heap has room
//! for it (see [`JsHelpers::check_room`]): running out of heap inside `JSON.parse` ends the
//! process, which no rejection could then report.
//!
//! A long text whose bulk is one array (see [`agentdb_core::slices`]) is cut on the database
//! thread and parsed a piece per turn of the event loop (see `crate::completion`), so that no
//! single step holds the JavaScript thread for long.

use napi::sys;

use crate::completion::JsOutput;
use crate::encode::JsHelpers;
use agentdb_core::error::Result;
use agentdb_core::limits;
use agentdb_core::slices::{self, Cuts};

/// JSON text made on a database thread, parsed into JavaScript values on the JavaScript
/// thread.
pub struct JsonText {
  text: String,
  /// Where to cut it, for a text long enough to be built in pieces.
  cuts: Option<Cuts>,
}

/// A long JSON text and its cuts, built a piece at a time.
pub(crate) struct SlicedText {
  pub(crate) text: String,
  pub(crate) cuts: Cuts,
}

impl JsonText {
  /// Serialises `value` (on the calling thread, normally a database thread); `RESULT_TOO_LARGE`
  /// when the text would be longer than a JavaScript string can be.
  pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsonText> {
    limits::json_text(value).map(JsonText::cut)
  }

  /// Takes JSON text made elsewhere, with the same bound as [`JsonText::of`].
  pub fn checked(text: String) -> Result<JsonText> {
    limits::check_text(&text)?;
    Ok(JsonText::cut(text))
  }

  /// Finds the cuts of a long text (on the thread that made it).
  fn cut(text: String) -> JsonText {
    let cuts = if text.len() >= slices::SLICED_FROM { slices::cut(&text, slices::PIECE_BYTES) } else { None };
    JsonText { text, cuts }
  }
}

impl JsOutput for JsonText {
  fn into_js(self, env: sys::napi_env, helpers: &JsHelpers) -> Result<sys::napi_value> {
    // The text as one V8 string, then the values parsed out of it: about twice its size.
    helpers.check_room(env, self.text.len(), 2.0)?;
    helpers.parse(env, &self.text)
  }

  fn sliced(self) -> std::result::Result<Self, SlicedText> {
    match self.cuts {
      Some(cuts) if cuts.pieces.len() > 1 => Err(SlicedText { text: self.text, cuts }),
      cuts => Ok(JsonText { text: self.text, cuts }),
    }
  }
}
