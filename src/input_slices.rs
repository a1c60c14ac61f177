//! Long list inputs (`addLogs`, `batch`) encoded a slice per turn of the event loop.
//!
//! The encoder (see `crate::encode`) turns the elements of the list into JSON text a slice at a
//! time, each slice ending once a fraction of a millisecond has passed, and comes back for the
//! next from `setImmediate`, so timers and I/O run between slices. The first slice is encoded
//! during the call itself. The write starts only when every element is encoded: a refused
//! element rejects the call, naming its index, and nothing is written. Writes called meanwhile
//! wait for it (see `crate::write_order`), so the writer still runs them in call order.
//!
//! Each element is read once, when its slice is encoded: the list's length is read during the
//! call, an element changed before its slice is encoded is written as changed. A `close()`
//! called before the last slice is encoded waits for it, as for any call made before it: the
//! list is written, then the database closes.

use std::sync::Arc;

use napi::{sys, Env};

use crate::completion::{rejected, Deferred, JsQueue};
use crate::database::{start_write, Database};
use crate::encode::{delete_reference, reference, reference_value};
use crate::js::{JsArg, JsReturn};
use crate::later::later;
use crate::signal::CallLimits;
use crate::write_order::{Place, WriteOrder};
use agentdb_core::command::{Command, Kind, Returning};
use agentdb_core::error::{Error, Result};
use agentdb_core::interrupt::Limits;

/// Lists with more elements than this are encoded in slices; shorter ones at once, as any
/// other input.
const SLICED_FROM: u32 = 64;

/// How long checking the elements of one slice runs for, at most about (it ends after the
/// element that passes it); stringifying them takes about as long again.
const SLICE_MS: f64 = 0.15;

/// The list argument of `kind` when it is long enough to be encoded in slices.
pub(crate) fn long_list(kind: Kind, args: &[JsArg]) -> Option<JsArg> {
  match (kind, args) {
    (Kind::AddLogs | Kind::Batch, [list]) => list.array_length().is_some_and(|len| len > SLICED_FROM).then_some(*list),
    _ => None,
  }
}

/// A list being encoded.
struct Encoding {
  queue: JsQueue,
  kind: Kind,
  list: sys::napi_ref,
  len: u32,
  next: u32,
  /// The elements' texts so far, joined by commas.
  text: String,
  /// What runs the write once the text is whole.
  then: Then,
}

/// The write of an encoded list, in its place among the writes.
struct Then {
  place: Place,
  store: Arc<agentdb_core::store::Store>,
  max_log_bytes: Option<u64>,
  limits: CallLimits,
  returning: Returning,
  deferred: Deferred,
}

impl Database {
  /// [`Database::command_returning`] for a long list argument (see [`long_list`]).
  pub(crate) fn command_in_slices(&self, env: Env, kind: Kind, list: JsArg, returning: Returning) -> napi::Result<JsReturn> {
    let env = env.raw();
    if self.is_closing() {
      return rejected(env, &self.queue, Error::closed()).map(JsReturn);
    }
    let timeout = if kind == Kind::Batch { self.statement_timeout } else { None };
    let limits = CallLimits::of(Limits { timeout, abort: None });
    let (deferred, promise) = Deferred::new(env, &self.queue)?;
    let len = list.array_length().unwrap_or(0);
    let then = Then {
      place: WriteOrder::hold(&self.write_order),
      store: Arc::clone(&self.store),
      max_log_bytes: self.max_log_bytes,
      limits,
      returning,
      deferred,
    };
    match reference(env, list.raw(), "the list to encode") {
      Ok(list) => Encoding { queue: self.queue.clone(), kind, list, len, next: 0, text: String::new(), then }.step(env),
      Err(err) => then.deferred.settle::<(), _>(Err(err)),
    }
    Ok(JsReturn(promise))
  }
}

impl Encoding {
  /// Encodes the next slice; starts the write after the last one, else comes back in a later
  /// turn. A failure rejects the call and writes nothing.
  fn step(mut self, env: sys::napi_env) {
    let sliced = if self.then.store.is_closed() { Err(Error::closed()) } else { self.slice(env) };
    match sliced {
      Err(err) => {
        delete_reference(env, self.list);
        self.then.deferred.settle::<(), _>(Err(err));
      }
      Ok(()) if self.next >= self.len => {
        delete_reference(env, self.list);
        let name = self.kind.args()[0];
        let text = format!("{{\"{name}\":[{}]}}", self.text);
        let kind = self.kind;
        let Then { place, store, max_log_bytes, limits, returning, deferred } = self.then;
        let prepare = move || Command::decode(kind, &text);
        place.start(Box::new(move || start_write(&store, max_log_bytes, prepare, (limits, returning), deferred)));
      }
      Ok(()) => {
        let queue = self.queue.clone();
        if let Some(now) = later(env, queue.helpers(), Box::new(move |env| self.step(env))) {
          // It cannot wait: the next slice is encoded now.
          now(env);
        }
      }
    }
  }

  /// Encodes one slice onto the text.
  fn slice(&mut self, env: sys::napi_env) -> Result<()> {
    let list = reference_value(env, self.list, "the list to encode")?;
    let name = self.kind.args()[0];
    let (text, next) = self.queue.helpers().encode_slice(env, self.kind.name(), name, list, (self.next, self.len), SLICE_MS)?;
    if self.next > 0 && !text.is_empty() {
      self.text.push(',');
    }
    self.text.push_str(&text);
    self.next = next.max(self.next + 1);
    Ok(())
  }
}
