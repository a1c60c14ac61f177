//! Building a long result a piece per turn of the event loop.
//!
//! The database thread cut the result's JSON text between the elements of its long array
//! (see [`agentdb_core::slices`]). The JavaScript thread parses one piece, appends its
//! elements to the array being built, and comes back for the next piece from `setImmediate`,
//! so timers and I/O run between pieces; the rest of a page (`nextCursor`, …) is parsed with
//! the last piece, which settles the Promise. The completion queue is paused meanwhile: what
//! was queued after the result (other calls' settlements, events) waits, in order.

use std::sync::Arc;

use napi::sys;

use super::{reject, settle_now, JsRejection, JsTask, RawDeferred, Shared};
use crate::encode::{delete_reference, reference, reference_value};
use crate::js::check;
use crate::json::SlicedText;
use crate::later::later;
use agentdb_core::error::{Error, Result};

/// A result being built.
struct Build {
  shared: Arc<Shared>,
  raw: RawDeferred,
  cleanup: Option<JsTask>,
  text: SlicedText,
  /// The array built so far, held across turns.
  items: sys::napi_ref,
  /// The next piece to parse.
  next: usize,
}

/// Starts building `text` for the Promise `raw` and pauses the queue until it settles. The
/// heap's room is checked once, for the whole text.
pub(super) fn build(env: sys::napi_env, shared: Arc<Shared>, raw: RawDeferred, cleanup: Option<JsTask>, text: SlicedText) {
  let items = shared.helpers.check_room(env, text.text.len(), 2.0).and_then(|()| new_array(env));
  match items {
    Ok(items) => {
      shared.pause();
      Build { shared, raw, cleanup, text, items, next: 0 }.step(env);
    }
    Err(err) => {
      if let Some(cleanup) = cleanup {
        cleanup(env);
      }
      settle_now::<(), Error>(env, &shared.helpers, raw, Err(err));
      shared.end(env);
    }
  }
}

/// A new empty array, held by a reference.
fn new_array(env: sys::napi_env) -> Result<sys::napi_ref> {
  let mut array = std::ptr::null_mut();
  // SAFETY: the handle invariant (see `crate::js`) holds for `env`; `array` is a live local
  // the call writes.
  check(env, unsafe { sys::napi_create_array(env, &mut array) }, "the result's array")?;
  reference(env, array, "the result's array")
}

impl Build {
  /// Parses the next piece; settles after the last one, else comes back in a later turn.
  fn step(mut self, env: sys::napi_env) {
    let last = self.next + 1 == self.text.cuts.pieces.len();
    match self.piece(env, last) {
      Err(err) => self.settle(env, Err(err)),
      Ok(Some(value)) => self.settle(env, Ok(value)),
      Ok(None) => {
        self.next += 1;
        let shared = Arc::clone(&self.shared);
        if let Some(now) = later(env, &shared.helpers, Box::new(move |env| self.step(env))) {
          // It cannot wait: the next piece is parsed now.
          now(env);
        }
      }
    }
  }

  /// Appends the elements of the next piece; with the last one, returns the whole result.
  fn piece(&self, env: sys::napi_env, last: bool) -> Result<Option<sys::napi_value>> {
    let SlicedText { text, cuts } = &self.text;
    let range = cuts.pieces[self.next].clone();
    let mut piece = String::with_capacity(range.len() + 2);
    piece.push('[');
    piece.push_str(&text[range]);
    piece.push(']');
    let items = reference_value(env, self.items, "the result's array")?;
    if !last {
      self.shared.helpers.append_piece(env, items, &piece, None)?;
      return Ok(None);
    }
    let head = if cuts.is_whole() {
      None
    } else {
      let rest = format!("{}{}", &text[..=cuts.open], &text[cuts.close..]);
      Some(self.shared.helpers.parse(env, &rest)?)
    };
    self.shared.helpers.append_piece(env, items, &piece, head).map(Some)
  }

  /// Settles the Promise with the value built (or the failure to build it), then lets the
  /// queue go on.
  fn settle(self, env: sys::napi_env, outcome: Result<sys::napi_value>) {
    let Build { shared, raw, cleanup, items, .. } = self;
    delete_reference(env, items);
    if let Some(cleanup) = cleanup {
      cleanup(env);
    }
    match outcome {
      Ok(value) => {
        // SAFETY: the handle invariant holds for `env` and `value`; `raw` was made in `env`
        // by `Deferred::new` and is concluded once: here, or by the rejection below.
        let status = unsafe { sys::napi_resolve_deferred(env, raw.0, value) };
        if status != sys::Status::napi_ok {
          reject(env, raw, Error::internal(format!("cannot resolve the Promise (status {status})")).into_js_error(env));
        }
      }
      Err(err) => settle_now::<(), Error>(env, &shared.helpers, raw, Err(err)),
    }
    shared.end(env);
    shared.resume(env);
  }
}
