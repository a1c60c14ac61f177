//! The job queue in front of the database threads.
//!
//! A thread that finds the queue empty spins for a few tens of microseconds before it
//! sleeps. An app that awaits each call sends the next one soon after the last result
//! arrives, and a spinning thread picks it up at once: neither side pays a futex wake-up
//! and a context switch per call, which on a small machine cost more than SQLite's part of
//! a point read. Only one thread spins at a time, so a pool of readers never keeps more
//! than one core busy waiting, and a thread spins only once per job it ran, so an idle
//! database costs nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How long a thread that ran out of work waits, spinning, before it sleeps.
const SPIN: Duration = Duration::from_micros(60);

/// What [`Queue::pop_within`] found.
pub enum Popped<T> {
  /// The next job.
  Job(T),
  /// No job came in time.
  Idle,
  /// The queue is closed and drained.
  Closed,
}

struct State<T> {
  jobs: VecDeque<T>,
  closed: bool,
  sleepers: usize,
}

/// A multi-producer, multi-consumer FIFO queue that can be closed.
pub struct Queue<T> {
  state: Mutex<State<T>>,
  wake: Condvar,
  /// Jobs queued, readable without the lock while spinning.
  queued: AtomicUsize,
  /// Whether a consumer is spinning; the others sleep straight away.
  spinning: AtomicBool,
}

impl<T> Default for Queue<T> {
  fn default() -> Self {
    Queue {
      state: Mutex::new(State { jobs: VecDeque::new(), closed: false, sleepers: 0 }),
      wake: Condvar::new(),
      queued: AtomicUsize::new(0),
      spinning: AtomicBool::new(false),
    }
  }
}

impl<T> Queue<T> {
  /// Queues `job`, or hands it back when the queue is closed.
  pub fn push(&self, job: T) -> Result<(), T> {
    let mut state = self.state.lock();
    if state.closed {
      return Err(job);
    }
    state.jobs.push_back(job);
    self.queued.fetch_add(1, Ordering::SeqCst);
    let sleeping = state.sleepers > 0;
    drop(state);
    // A spinning thread takes the job, and checks the queue under the lock before it
    // sleeps, so a sleeper is only woken when none spins.
    if sleeping && !self.spinning.load(Ordering::SeqCst) {
      self.wake.notify_one();
    }
    Ok(())
  }

  /// The next job without waiting, if one is queued.
  pub fn try_pop(&self) -> Option<T> {
    if self.queued.load(Ordering::SeqCst) == 0 {
      return None;
    }
    self.take(&mut self.state.lock())
  }

  /// The next job, waiting for one; `None` once the queue is closed and drained.
  pub fn pop(&self) -> Option<T> {
    if let Some(job) = self.try_pop() {
      return Some(job);
    }
    self.spin();
    let mut state = self.state.lock();
    loop {
      if let Some(job) = self.take(&mut state) {
        return Some(job);
      }
      if state.closed {
        return None;
      }
      state.sleepers += 1;
      self.wake.wait(&mut state);
      state.sleepers -= 1;
    }
  }

  /// The next job, waiting at most `idle` for one.
  pub fn pop_within(&self, idle: Duration) -> Popped<T> {
    if let Some(job) = self.try_pop() {
      return Popped::Job(job);
    }
    self.spin();
    let until = Instant::now() + idle;
    let mut state = self.state.lock();
    loop {
      if let Some(job) = self.take(&mut state) {
        return Popped::Job(job);
      }
      if state.closed {
        return Popped::Closed;
      }
      state.sleepers += 1;
      let timed_out = self.wake.wait_until(&mut state, until).timed_out();
      state.sleepers -= 1;
      if timed_out && state.jobs.is_empty() && !state.closed {
        return Popped::Idle;
      }
    }
  }

  /// Whether [`Queue::close`] was called.
  pub fn is_closed(&self) -> bool {
    self.state.lock().closed
  }

  /// Stops taking jobs; those already queued are still handed out.
  pub fn close(&self) {
    self.state.lock().closed = true;
    self.wake.notify_all();
  }

  /// Takes the first job; should more be waiting, a sleeping thread is woken for them.
  fn take(&self, state: &mut State<T>) -> Option<T> {
    let job = state.jobs.pop_front()?;
    self.queued.fetch_sub(1, Ordering::SeqCst);
    if !state.jobs.is_empty() && state.sleepers > 0 {
      self.wake.notify_one();
    }
    Some(job)
  }

  /// Waits for a job to be queued for at most [`SPIN`], unless another thread is spinning.
  fn spin(&self) {
    if self.spinning.swap(true, Ordering::SeqCst) {
      return;
    }
    let until = Instant::now() + SPIN;
    while self.queued.load(Ordering::SeqCst) == 0 && Instant::now() < until {
      for _ in 0..64 {
        std::hint::spin_loop();
      }
    }
    self.spinning.store(false, Ordering::SeqCst);
  }
}

#[cfg(test)]
mod tests {
  use std::sync::Arc;

  use super::*;

  #[test]
  fn jobs_come_out_in_order_and_closing_drains_then_ends() {
    let queue = Queue::default();
    for i in 0..5 {
      queue.push(i).unwrap();
    }
    queue.close();
    assert_eq!(queue.push(9), Err(9));
    let drained: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
    assert_eq!(drained, vec![0, 1, 2, 3, 4]);
    assert_eq!(queue.try_pop(), None);
  }

  #[test]
  fn sleeping_consumers_are_woken_by_pushes_and_by_close() {
    let queue = Arc::new(Queue::default());
    let consumers: Vec<_> = (0..3)
      .map(|_| {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || std::iter::from_fn(|| queue.pop()).sum::<u64>())
      })
      .collect();
    // Pushes spread over time, so that consumers both spin and sleep between them.
    for i in 1..=300u64 {
      queue.push(i).unwrap();
      if i % 50 == 0 {
        std::thread::sleep(Duration::from_millis(2));
      }
    }
    queue.close();
    let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(total, 300 * 301 / 2);
  }

  #[test]
  fn pop_within_reports_an_idle_queue_then_a_job_then_the_close() {
    let queue = Queue::default();
    assert!(matches!(queue.pop_within(Duration::from_millis(5)), Popped::Idle));
    queue.push(7).unwrap();
    assert!(matches!(queue.pop_within(Duration::from_millis(5)), Popped::Job(7)));
    queue.close();
    assert!(matches!(queue.pop_within(Duration::from_millis(5)), Popped::Closed));
  }
}
