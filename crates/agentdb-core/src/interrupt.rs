//! Stopping statements: a call's time limit and abort flag, and close's interruption of
//! whatever still runs.
//!
//! Every connection has a progress handler that SQLite calls every
//! [`PROGRESS_STEPS`] virtual-machine steps of the statement running on it, on the thread
//! running it. It consults its connection's [`Watch`]: the limits of the call running there now
//! (set around the call's work by [`Watch::run`], cleared after), and the store's closing flag.
//! Interrupting that way can only ever stop the call that is running on that connection, never
//! a later call that `sqlite3_interrupt` from another thread could hit after a race.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::error::{Error, ErrorCode, Result};

/// How many virtual-machine steps SQLite runs between two looks at the limits.
const PROGRESS_STEPS: i32 = 1000;

/// A flag the caller sets to abort a call (from an `AbortSignal`); shared with the thread
/// running it.
#[derive(Debug, Default)]
pub struct AbortFlag(AtomicBool);

impl AbortFlag {
  /// Aborts the call: its statement is interrupted at the next look, or never starts.
  pub fn abort(&self) {
    self.0.store(true, Ordering::Relaxed);
  }

  /// Whether the call was aborted.
  pub fn is_aborted(&self) -> bool {
    self.0.load(Ordering::Relaxed)
  }
}

/// The limits of one call: how long each of its runs may take, and its abort flag.
#[derive(Clone, Debug, Default)]
pub struct Limits {
  /// The time limit, counted from when the call's work starts on its connection.
  pub timeout: Option<Duration>,
  /// Set when the caller aborts the call.
  pub abort: Option<Arc<AbortFlag>>,
}

/// Why a statement was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Cause {
  None = 0,
  Timeout = 1,
  Aborted = 2,
  Closing = 3,
}

impl Cause {
  fn of(n: u8) -> Cause {
    match n {
      1 => Cause::Timeout,
      2 => Cause::Aborted,
      3 => Cause::Closing,
      _ => Cause::None,
    }
  }
}

/// The store's closing flag, shared by every connection's watch.
#[derive(Debug, Default)]
pub struct Closing {
  /// Set by `close` once its wait ran out: every statement still running, or started later,
  /// is interrupted.
  requested: AtomicBool,
  /// Set when that stopped a statement.
  stopped: AtomicBool,
}

impl Closing {
  /// Interrupts every statement from now on.
  pub fn interrupt(&self) {
    self.requested.store(true, Ordering::Relaxed);
  }

  /// Whether a statement was stopped since [`Closing::interrupt`].
  pub fn stopped_any(&self) -> bool {
    self.stopped.load(Ordering::Relaxed)
  }
}

/// The limits of the call running on a connection now.
struct Running {
  deadline: Option<Instant>,
  timeout: Option<Duration>,
  abort: Option<Arc<AbortFlag>>,
}

/// What one connection's progress handler looks at.
pub struct Watch {
  running: Mutex<Option<Running>>,
  /// Why the last statement was stopped, read once the call's work returns.
  cause: AtomicU8,
  closing: Arc<Closing>,
}

impl Watch {
  /// Installs the progress handler on `conn`, watching `closing` and the calls run through
  /// [`Watch::run`].
  pub fn install(conn: &mut Connection, closing: Arc<Closing>) -> Result<Arc<Watch>> {
    let watch = Arc::new(Watch { running: Mutex::new(None), cause: AtomicU8::new(0), closing });
    let handler = Arc::clone(&watch);
    conn.progress_handler(PROGRESS_STEPS, Some(move || handler.should_stop()))?;
    Ok(watch)
  }

  /// Removes the progress handler: what runs on `conn` afterwards (the final checkpoint) is
  /// never interrupted.
  pub fn uninstall(conn: &mut Connection) -> Result<()> {
    Ok(conn.progress_handler(0, None::<fn() -> bool>)?)
  }

  /// Called by SQLite on the connection's thread: true stops the statement.
  fn should_stop(&self) -> bool {
    let cause = if self.closing.requested.load(Ordering::Relaxed) {
      self.closing.stopped.store(true, Ordering::Relaxed);
      Cause::Closing
    } else {
      match &*self.running.lock() {
        Some(running) if running.abort.as_ref().is_some_and(|a| a.is_aborted()) => Cause::Aborted,
        Some(running) if running.deadline.is_some_and(|d| Instant::now() >= d) => Cause::Timeout,
        _ => Cause::None,
      }
    };
    if cause == Cause::None {
      return false;
    }
    self.cause.store(cause as u8, Ordering::Relaxed);
    true
  }

  /// Runs `work` under `limits`. An aborted call does not start. When the progress handler
  /// stopped the work's statement, its error becomes `TIMEOUT`, `ABORTED` or `INTERRUPTED`.
  pub fn run<T>(&self, limits: &Limits, work: impl FnOnce() -> Result<T>) -> Result<T> {
    if limits.abort.as_ref().is_some_and(|a| a.is_aborted()) {
      return Err(Error::new(ErrorCode::Aborted, "the call was aborted (its signal) before it started"));
    }
    self.cause.store(Cause::None as u8, Ordering::Relaxed);
    *self.running.lock() = Some(Running {
      deadline: limits.timeout.map(|t| Instant::now() + t),
      timeout: limits.timeout,
      abort: limits.abort.clone(),
    });
    let outcome = work();
    let running = self.running.lock().take();
    let cause = Cause::of(self.cause.swap(Cause::None as u8, Ordering::Relaxed));
    match outcome {
      Err(err) if err.code == ErrorCode::Interrupted || cause != Cause::None => Err(stopped(cause, running.as_ref(), err)),
      other => other,
    }
  }
}

/// The error of a statement the progress handler stopped for `cause`.
fn stopped(cause: Cause, running: Option<&Running>, err: Error) -> Error {
  match cause {
    Cause::Timeout => {
      let ms = running.and_then(|r| r.timeout).map_or(0, |t| t.as_millis());
      Error::new(ErrorCode::Timeout, format!("the statement ran longer than its time limit ({ms} ms) and was interrupted"))
    }
    Cause::Aborted => Error::new(ErrorCode::Aborted, "the call was aborted (its signal) and its statement interrupted"),
    Cause::Closing => interrupted_by_close(),
    Cause::None => err,
  }
}

/// The `INTERRUPTED` error of a call close stopped.
pub fn interrupted_by_close() -> Error {
  Error::new(
    ErrorCode::Interrupted,
    "close() interrupted the call: it was still running when close's wait (interruptAfterMs) ran out",
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  const RUNAWAY: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

  fn runaway(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(RUNAWAY, [], |r| r.get(0))?)
  }

  #[test]
  fn a_time_limit_stops_only_its_own_call() {
    let mut conn = Connection::open_in_memory().unwrap();
    let watch = Watch::install(&mut conn, Arc::new(Closing::default())).unwrap();
    let limits = Limits { timeout: Some(Duration::from_millis(50)), abort: None };
    assert_eq!(watch.run(&limits, || runaway(&conn)).unwrap_err().code, ErrorCode::Timeout);
    // The next call, without a limit, runs to its end.
    let counted: i64 = watch
      .run(&Limits::default(), || {
        Ok(conn.query_row(
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000) SELECT count(*) FROM c",
          [],
          |r| r.get(0),
        )?)
      })
      .unwrap();
    assert_eq!(counted, 200000);
  }

  #[test]
  fn an_abort_stops_the_statement_or_keeps_it_from_starting() {
    let mut conn = Connection::open_in_memory().unwrap();
    let watch = Watch::install(&mut conn, Arc::new(Closing::default())).unwrap();
    let flag = Arc::new(AbortFlag::default());
    let limits = Limits { timeout: None, abort: Some(Arc::clone(&flag)) };
    let aborter = {
      let flag = Arc::clone(&flag);
      std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        flag.abort();
      })
    };
    assert_eq!(watch.run(&limits, || runaway(&conn)).unwrap_err().code, ErrorCode::Aborted);
    aborter.join().unwrap();
    let err = watch.run(&limits, || -> Result<()> { panic!("an aborted call must not start") }).unwrap_err();
    assert_eq!(err.code, ErrorCode::Aborted);
  }

  #[test]
  fn closing_interrupts_every_statement() {
    let mut conn = Connection::open_in_memory().unwrap();
    let closing = Arc::new(Closing::default());
    let watch = Watch::install(&mut conn, Arc::clone(&closing)).unwrap();
    closing.interrupt();
    assert!(!closing.stopped_any());
    assert_eq!(watch.run(&Limits::default(), || runaway(&conn)).unwrap_err().code, ErrorCode::Interrupted);
    assert!(closing.stopped_any());
    Watch::uninstall(&mut conn).unwrap();
    let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(one, 1);
  }
}
