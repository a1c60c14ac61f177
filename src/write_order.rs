//! The order writes start in. A call whose input is encoded in slices (see
//! `crate::input_slices`) holds its place: the writes, exclusive jobs and `close` called after
//! it start once its input is encoded, so the writer runs them in the order they were called,
//! and `close` lets the call finish as it does every call made before it.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

/// Starts the work of one call on the database threads.
pub(crate) type Start = Box<dyn FnOnce() + Send>;

/// The calls waiting for a call made before them to finish encoding its input.
#[derive(Default)]
pub(crate) struct WriteOrder {
  state: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
  /// The place of the front slot.
  first: u64,
  /// In call order: `None` for a call still encoding its input, else the start of a call.
  slots: VecDeque<Option<Start>>,
}

/// The place a call encoding its input holds; given up (its slot let go empty) when dropped
/// unfilled, so that the calls after it never wait for nothing.
pub(crate) struct Place {
  order: Arc<WriteOrder>,
  at: u64,
  filled: bool,
}

impl WriteOrder {
  /// Runs `start` now, or, when calls made before it still encode their input, after theirs.
  pub(crate) fn start(&self, start: Start) {
    let mut waiting = self.state.lock();
    if waiting.slots.is_empty() {
      drop(waiting);
      start();
      return;
    }
    waiting.slots.push_back(Some(start));
  }

  /// Holds a place for a call that has yet to encode its input.
  pub(crate) fn hold(order: &Arc<WriteOrder>) -> Place {
    let mut waiting = order.state.lock();
    let at = waiting.first + waiting.slots.len() as u64;
    waiting.slots.push_back(None);
    Place { order: Arc::clone(order), at, filled: false }
  }

  /// Fills the slot at `at` and runs the starts now at the front, in order.
  fn fill(&self, at: u64, start: Option<Start>) {
    let ready = {
      let mut waiting = self.state.lock();
      let index = (at - waiting.first) as usize;
      waiting.slots[index] = Some(start.unwrap_or_else(|| Box::new(|| {})));
      let mut ready = Vec::new();
      while let Some(Some(_)) = waiting.slots.front() {
        ready.extend(waiting.slots.pop_front().flatten());
        waiting.first += 1;
      }
      ready
    };
    ready.into_iter().for_each(|start| start());
  }
}

impl Place {
  /// Runs `start` in this place: now if every call before it has started, else after them.
  pub(crate) fn start(mut self, start: Start) {
    self.filled = true;
    self.order.fill(self.at, Some(start));
  }
}

impl Drop for Place {
  fn drop(&mut self) {
    if !self.filled {
      self.order.fill(self.at, None);
    }
  }
}
