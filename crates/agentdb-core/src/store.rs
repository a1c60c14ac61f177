//! The threads that own the connections: one writer fed by a queue, and a pool of readers.
//!
//! No SQLite work happens on the caller's thread. Writes are queued to the writer thread,
//! which coalesces whatever is queued into one transaction (group commit) and gives each
//! write its own savepoint, so one failing write does not fail its neighbours; one that
//! rolls back the whole transaction fails alone, and the others run again. Reads go to
//! read-only connections (WAL), so a long write never delays them. An in-memory database
//! has only the writer's connection, so its reads are queued to the writer too.
//!
//! Every job is run under `catch_unwind`: a panic becomes an `INTERNAL` error for that call
//! and the thread, its connection and the database stay usable.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;
use serde::Serialize;

use crate::autocheckpoint::Autocheckpoint;
use crate::changes::{self, Feed, Tracker};
use crate::connection::{self, Location, OpenOptions};
use crate::copies::{self, FileClaim};
use crate::error::{Error, ErrorCode, Result};
use crate::interrupt::{Closing, Limits, Watch};
use crate::queue::{Popped, Queue};
use crate::recovery;
use crate::search;

/// How many queued writes at most share one transaction.
const MAX_GROUP: usize = 512;

/// A write that runs inside the writer's group transaction, in a savepoint of its own.
trait GroupedWrite: Send {
  /// Reads and checks the write's input, before the writer takes the write lock; an error
  /// here is the write's result, and it never reaches the transaction.
  fn prepare(&mut self) -> Result<()>;
  /// Runs the prepared work, under its limits; an error rolls back this write's savepoint
  /// only. It runs again when another write of the group ended the transaction, which lost
  /// what it had done.
  fn run(&mut self, conn: &Connection, watch: &Watch) -> Result<()>;
  /// Whether the write was refused or its last run failed: its result is its own error,
  /// whatever happens to the transaction.
  fn failed(&self) -> bool;
  /// Delivers the output, or `failure` when the group's commit failed.
  fn finish(self: Box<Self>, failure: Option<Error>);
}

/// Where a [`Grouped`] write is: waiting to be prepared, refused, or prepared (with the
/// result of its last run, once it ran).
enum Stage<P, W, T> {
  Unprepared(P),
  Refused(Error),
  Prepared(W, Option<Result<T>>),
  /// Between two stages; never seen outside [`GroupedWrite`]'s methods.
  Taken,
}

/// A [`GroupedWrite`] made of the closure that prepares its work, and the callback that
/// receives its result.
struct Grouped<T, P, W, D> {
  stage: Stage<P, W, T>,
  limits: Limits,
  deliver: D,
}

impl<T, P, W, D> GroupedWrite for Grouped<T, P, W, D>
where
  T: Send,
  P: FnOnce() -> Result<W> + Send,
  W: FnMut(&Connection) -> Result<T> + Send,
  D: FnOnce(Result<T>) + Send,
{
  fn prepare(&mut self) -> Result<()> {
    let Stage::Unprepared(prepare) = std::mem::replace(&mut self.stage, Stage::Taken) else {
      return Err(Error::internal("a grouped write is prepared once"));
    };
    match guarded(prepare) {
      Ok(work) => {
        self.stage = Stage::Prepared(work, None);
        Ok(())
      }
      Err(err) => {
        self.stage = Stage::Refused(err.clone());
        Err(err)
      }
    }
  }

  fn run(&mut self, conn: &Connection, watch: &Watch) -> Result<()> {
    let Stage::Prepared(work, output) = &mut self.stage else {
      return Err(Error::internal("a grouped write runs after it is prepared"));
    };
    let ran = guarded(|| watch.run(&self.limits, || work(conn)));
    let status = ran.as_ref().map(|_| ()).map_err(Clone::clone);
    *output = Some(ran);
    status
  }

  fn failed(&self) -> bool {
    matches!(self.stage, Stage::Refused(_) | Stage::Prepared(_, Some(Err(_))))
  }

  fn finish(self: Box<Self>, failure: Option<Error>) {
    let output = match (failure, self.stage) {
      (_, Stage::Refused(err) | Stage::Prepared(_, Some(Err(err)))) => Err(err),
      (Some(failure), _) => Err(failure),
      (None, Stage::Prepared(_, Some(ok))) => ok,
      (None, _) => Err(Error::internal("a grouped write finished without running")),
    };
    (self.deliver)(output);
  }
}

/// What the writer thread is asked to do.
enum WriterJob {
  /// A write inside the group transaction.
  Grouped(Box<dyn GroupedWrite>),
  /// Work that manages its own transactions (migrations, backups, reads of `:memory:`).
  /// It is called with `Err(DATABASE_CLOSED)` when the store no longer takes work.
  Exclusive(ExclusiveJob),
}

/// Work on the writer's connection outside the group transaction, with the connection's watch.
type ExclusiveJob = Box<dyn FnOnce(Result<(&mut Connection, &Watch)>) + Send>;

/// A read job for a reader thread, called with `Err(DATABASE_CLOSED)` when refused.
type ReadJob = Box<dyn FnOnce(Result<(&Connection, &Watch)>) + Send>;

/// Runs `work`, turning a panic into an `INTERNAL` error.
fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
  catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(Error::panicked(panic.as_ref())))
}

/// The threads of an open store, taken by the first `close`.
struct Threads {
  readers: Vec<JoinHandle<()>>,
  /// The writer hands its connection back when its queue is drained, so that it closes last,
  /// and with it this copy's claim on the file, released once the connection is closed.
  writer: JoinHandle<(Connection, Option<FileClaim>)>,
}

impl Threads {
  fn finished(&self) -> bool {
    self.writer.is_finished() && self.readers.iter().all(JoinHandle::is_finished)
  }
}

/// How `close` goes about it.
#[derive(Clone, Debug)]
pub struct CloseOptions {
  /// How long calls already made may go on running before close interrupts them.
  pub interrupt_after: Duration,
}

impl Default for CloseOptions {
  fn default() -> Self {
    CloseOptions { interrupt_after: Duration::from_millis(5000) }
  }
}

/// Why the database file does not hold everything on its own after `close` (the typings'
/// `CloseReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCheckpointed {
  /// Another connection (usually another process) reads an older snapshot of the database,
  /// so the transactions committed after it stay in the `-wal` file.
  Busy,
  /// The disk is full: the database file could not grow to take the `-wal` file's pages.
  Full,
  /// The operating system failed a read or write of the checkpoint.
  Io,
  /// An in-memory database: there is no file.
  Memory,
  /// Anything else; the message says what.
  Error,
}

impl NotCheckpointed {
  /// Every reason, in the order of the `CloseReason` union in the typings.
  pub const ALL: &'static [NotCheckpointed] =
    &[NotCheckpointed::Busy, NotCheckpointed::Full, NotCheckpointed::Io, NotCheckpointed::Memory, NotCheckpointed::Error];

  /// The string JavaScript sees as `reason`.
  pub fn as_str(self) -> &'static str {
    match self {
      NotCheckpointed::Busy => "busy",
      NotCheckpointed::Full => "full",
      NotCheckpointed::Io => "io",
      NotCheckpointed::Memory => "memory",
      NotCheckpointed::Error => "error",
    }
  }
}

impl Serialize for NotCheckpointed {
  fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(self.as_str())
  }
}

/// What `close` found once every connection was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseReport {
  /// True when every transaction committed through this store is in the database file
  /// itself, which can then be copied or moved alone: what a `-wal` file still beside it
  /// holds is also in the file (or was written by another connection).
  pub checkpointed: bool,
  /// Why not, when `checkpointed` is false.
  pub reason: Option<NotCheckpointed>,
  /// What SQLite said, when `checkpointed` is false.
  pub message: Option<String>,
  /// True when statements were still running (or queued) once `interrupt_after` had passed
  /// and close interrupted them (each call rejected with `INTERRUPTED`).
  pub interrupted: bool,
}

/// The open database: the writer thread, the reader threads and their queues.
pub struct Store {
  location: Location,
  writer: Arc<Queue<WriterJob>>,
  /// `None` when there are no reader connections (an in-memory database): reads then go
  /// to the writer.
  readers: Option<Arc<Queue<ReadJob>>>,
  threads: Mutex<Option<Threads>>,
  /// Set by `close` once its wait ran out: every connection's statements are interrupted.
  closing: Arc<Closing>,
  /// Set once every connection is closed; a second `close` waits for it.
  released: Arc<(Mutex<Option<CloseReport>>, Condvar)>,
  /// The watches and where their change events go (see [`changes`]).
  feed: Arc<Feed>,
}

impl Store {
  /// Opens the database on a new writer thread and starts the readers. Blocks the calling
  /// thread until the file is open and checked, so call it off the JavaScript thread.
  pub fn open(location: Location, options: OpenOptions) -> Result<Store> {
    let claim = match &location {
      Location::File(path) => Some(copies::claim(path, !options.read_only)?),
      Location::Memory => None,
    };
    // A read-only open never writes, so it leaves unfinished logs to the next writer.
    if let (Location::File(path), false) = (&location, options.read_only) {
      recovery::interrupt_unfinished_logs(path);
    }
    let mut writer = connection::open_writer(&location, &options)?;
    index_pending(&writer);
    let autocheckpoint = Autocheckpoint::install(&mut writer)?;
    let closing = Arc::new(Closing::default());
    // Should a thread fail to start, the queues of those already started are closed, which
    // ends them and closes their connections.
    let (readers, reader_threads) = match &location {
      Location::File(path) if options.readers > 0 => {
        let conns = (0..options.readers).map(|_| connection::open_reader(path, &options)).collect::<Result<Vec<_>>>()?;
        let queue = Arc::new(Queue::default());
        let threads = conns
          .into_iter()
          .enumerate()
          .map(|(index, mut conn)| {
            let queue = Arc::clone(&queue);
            let watch = Watch::install(&mut conn, Arc::clone(&closing))?;
            spawn(format!("agentdb-reader-{index}"), move || reader_loop(conn, &watch, &queue))
          })
          .collect::<Result<Vec<_>>>()
          .inspect_err(|_| queue.close())?;
        (Some(queue), threads)
      }
      _ => (None, Vec::new()),
    };
    let queue = Arc::new(Queue::default());
    let writer_queue = Arc::clone(&queue);
    let watch = Watch::install(&mut writer, Arc::clone(&closing))?;
    let feed = Arc::new(Feed::default());
    let writer_feed = Arc::clone(&feed);
    let tracker = Tracker::new(options.keep_changes);
    let writer_thread = spawn("agentdb-writer".to_string(), move || {
      (writer_loop(writer, &watch, &writer_queue, &writer_feed, tracker, autocheckpoint), claim)
    })
    .inspect_err(|_| readers.iter().for_each(|readers| readers.close()))?;
    Ok(Store {
      location,
      writer: queue,
      readers,
      threads: Mutex::new(Some(Threads { readers: reader_threads, writer: writer_thread })),
      closing,
      released: Arc::new((Mutex::new(None), Condvar::new())),
      feed,
    })
  }

  /// The store's watches and the sink of their change events.
  pub fn feed(&self) -> &Arc<Feed> {
    &self.feed
  }

  /// Counts a new watch. The first one wakes the writer, which from then on, while any watch
  /// is active, looks for commits of other connections every [`changes::POLL`] when idle.
  pub fn watch_started(&self) {
    if self.feed.start() {
      self.exclusive(|_| Ok(()), |_: Result<()>| {});
    }
  }

  /// Where the database lives.
  pub fn location(&self) -> &Location {
    &self.location
  }

  /// Queues a write to run inside the writer's group transaction. The writer thread first
  /// calls `prepare`, before it takes the write lock, to read and check the write's input
  /// into the work to run; an error from it is delivered at once and the work never runs.
  /// The work may run more than once: when another write of its group ends the transaction
  /// (a trigger's `RAISE(ROLLBACK)`, an `OR ROLLBACK` conflict clause), what the others had
  /// done is lost with it, and they run again in a new transaction. `deliver` gets the
  /// result after the transaction commits (or `DATABASE_CLOSED` if the store is closed).
  pub fn write<T, P, W, D>(&self, prepare: P, deliver: D)
  where
    T: Send + 'static,
    P: FnOnce() -> Result<W> + Send + 'static,
    W: FnMut(&Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    self.write_limited(Limits::default(), prepare, deliver)
  }

  /// [`Store::write`] under `limits`: each run of the work is interrupted when it passes its
  /// time limit or the call is aborted, and fails alone, its neighbours run again.
  pub fn write_limited<T, P, W, D>(&self, limits: Limits, prepare: P, deliver: D)
  where
    T: Send + 'static,
    P: FnOnce() -> Result<W> + Send + 'static,
    W: FnMut(&Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    let job = Box::new(Grouped { stage: Stage::Unprepared(prepare), limits, deliver });
    self.send_to_writer(WriterJob::Grouped(job));
  }

  /// Queues work that manages its own transactions on the writer's connection. Should the
  /// work panic, the transaction it left open is rolled back and the connection restored
  /// (see [`connection::restore_writer`]) before the next job.
  pub fn exclusive<T, W, D>(&self, work: W, deliver: D)
  where
    T: Send + 'static,
    W: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    self.exclusive_limited(Limits::default(), work, deliver)
  }

  /// [`Store::exclusive`] under `limits`.
  fn exclusive_limited<T, W, D>(&self, limits: Limits, work: W, deliver: D)
  where
    T: Send + 'static,
    W: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    self.send_to_writer(WriterJob::Exclusive(Box::new(move |place: Result<(&mut Connection, &Watch)>| {
      deliver(place.and_then(|(conn, watch)| {
        catch_unwind(AssertUnwindSafe(|| watch.run(&limits, || work(conn)))).unwrap_or_else(|panic| {
          connection::restore_writer(conn);
          Err(Error::panicked(panic.as_ref()))
        })
      }))
    })));
  }

  /// Queues a read on a reader connection (the writer's, for an in-memory database).
  pub fn read<T, W, D>(&self, work: W, deliver: D)
  where
    T: Send + 'static,
    W: FnOnce(&Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    self.read_limited(Limits::default(), work, deliver)
  }

  /// [`Store::read`] under `limits`: the work is interrupted when it passes its time limit or
  /// the call is aborted; only this call's statement is, never another's on the connection.
  pub fn read_limited<T, W, D>(&self, limits: Limits, work: W, deliver: D)
  where
    T: Send + 'static,
    W: FnOnce(&Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    let Some(readers) = &self.readers else {
      return self.exclusive_limited(limits, move |conn| work(conn), deliver);
    };
    let job: ReadJob = Box::new(move |place: Result<(&Connection, &Watch)>| {
      deliver(place.and_then(|(conn, watch)| guarded(|| watch.run(&limits, || work(conn)))))
    });
    if let Err(job) = readers.push(job) {
      job(Err(Error::closed()));
    }
  }

  /// Queues a read that needs the search index up to date. A reader runs it when no row
  /// waits to be indexed; otherwise the writer indexes the recorded rows (in a transaction
  /// of its own) and runs the read on its own connection right after, before any other
  /// write, so that it reads the index exactly as the rows it indexed.
  pub fn read_indexed<T, W, D>(self: &Arc<Self>, work: W, deliver: D)
  where
    T: Send + 'static,
    W: FnOnce(&Connection) -> Result<T> + Send + 'static,
    D: FnOnce(Result<T>) + Send + 'static,
  {
    let store = Arc::clone(self);
    self.read(
      move |conn| Ok(if search::index::has_pending(conn)? { Err(work) } else { Ok(work(conn)) }),
      move |outcome: Result<std::result::Result<Result<T>, W>>| match outcome {
        Err(err) => deliver(Err(err)),
        Ok(Ok(result)) => deliver(result),
        Ok(Err(work)) => store.exclusive(
          move |conn| {
            // Should indexing fail (a read-only file, a lock held too long), the read still
            // runs, over what is indexed.
            index_pending(conn);
            work(conn)
          },
          deliver,
        ),
      },
    );
  }

  fn send_to_writer(&self, job: WriterJob) {
    if let Err(job) = self.writer.push(job) {
      match job {
        WriterJob::Grouped(job) => job.finish(Some(Error::closed())),
        WriterJob::Exclusive(job) => job(Err(Error::closed())),
      }
    }
  }

  /// Stops accepting calls; the threads finish what is queued, close their connections and
  /// exit. Calls still running once `options.interrupt_after` has passed are interrupted
  /// (their statements fail at once with `INTERRUPTED`, and so do those of calls still
  /// queued), so close always ends. `done` runs (on another thread) once every file handle
  /// is released, with what close found. Calling it again is harmless: `done` then runs when
  /// the first close has finished, with the same report.
  ///
  /// The readers close first and the writer last, after a checkpoint of the WAL into the
  /// database file whose outcome the report gives (see [`CloseReport`]); the last connection
  /// to close deletes the `-wal` and `-shm` files, which a read-only connection cannot do.
  pub fn close(&self, options: CloseOptions, done: impl FnOnce(CloseReport) + Send + 'static) {
    // Closed queues end each thread's loop once they are empty.
    self.writer.close();
    if let Some(readers) = &self.readers {
      readers.close();
    }
    let threads = self.threads.lock().take();
    let released = Arc::clone(&self.released);
    let closing = Arc::clone(&self.closing);
    let memory = self.location == Location::Memory;
    let joiner = move || {
      let (closed, condvar) = &*released;
      let report = match threads {
        Some(threads) => {
          let report = join(threads, &closing, options.interrupt_after, memory);
          *closed.lock() = Some(report.clone());
          condvar.notify_all();
          report
        }
        None => {
          let mut closed = closed.lock();
          loop {
            if let Some(report) = &*closed {
              break report.clone();
            }
            condvar.wait(&mut closed);
          }
        }
      };
      done(report);
    };
    // Should the thread fail to start, `done` is dropped uncalled; the queues drain anyway.
    let _ = std::thread::Builder::new().name("agentdb-close".into()).spawn(joiner);
  }

  /// Whether `close` has been called.
  pub fn is_closed(&self) -> bool {
    self.writer.is_closed()
  }
}

impl Drop for Store {
  fn drop(&mut self) {
    self.writer.close();
    if let Some(readers) = &self.readers {
      readers.close();
    }
    // The threads exit on their own once their queues drain; nothing waits for them here.
  }
}

/// Waits for the threads to finish what is queued, interrupting what still runs after
/// `interrupt_after`, then checkpoints and closes the writer's connection.
fn join(threads: Threads, closing: &Closing, interrupt_after: Duration, memory: bool) -> CloseReport {
  let deadline = Instant::now() + interrupt_after;
  while !threads.finished() && Instant::now() < deadline {
    std::thread::sleep(Duration::from_millis(2));
  }
  if !threads.finished() {
    closing.interrupt();
  }
  for reader in threads.readers {
    let _ = reader.join();
  }
  let mut report = match threads.writer.join() {
    Ok((mut conn, claim)) => {
      let report = final_checkpoint(&mut conn, memory);
      // The claim on the file is released once the connection is closed.
      drop(conn);
      drop(claim);
      report
    }
    Err(_) => not_checkpointed(NotCheckpointed::Error, "the writer thread ended abnormally".to_string()),
  };
  report.interrupted = closing.stopped_any();
  report
}

/// Copies every page of the WAL into the database file, without waiting for anyone: a
/// `PASSIVE` checkpoint, which stops short of the pages another connection's older snapshot
/// still needs. Nothing interrupts it.
fn final_checkpoint(conn: &mut Connection, memory: bool) -> CloseReport {
  if memory {
    return not_checkpointed(NotCheckpointed::Memory, "an in-memory database has no file".to_string());
  }
  if let Err(err) = Watch::uninstall(conn) {
    return not_checkpointed(NotCheckpointed::Error, format!("the checkpoint could not start ({})", err.message));
  }
  let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)));
  match outcome {
    Ok((log, copied)) if log == copied => {
      CloseReport { checkpointed: true, reason: None, message: None, interrupted: false }
    }
    Ok((log, copied)) => not_checkpointed(
      NotCheckpointed::Busy,
      format!(
        "{} of the {log} pages in the -wal file could not be copied into the database file: another connection reads an older snapshot; they stay in the -wal file, which SQLite reads with the database file",
        log - copied
      ),
    ),
    Err(err) => {
      let err = Error::from(err);
      let reason = match err.code {
        ErrorCode::Busy => NotCheckpointed::Busy,
        ErrorCode::Full => NotCheckpointed::Full,
        ErrorCode::Io => NotCheckpointed::Io,
        _ => NotCheckpointed::Error,
      };
      not_checkpointed(reason, format!("the checkpoint failed ({}); the -wal file keeps what it holds", err.message))
    }
  }
}

fn not_checkpointed(reason: NotCheckpointed, message: String) -> CloseReport {
  CloseReport { checkpointed: false, reason: Some(reason), message: Some(message), interrupted: false }
}

fn spawn<T: Send + 'static>(name: String, body: impl FnOnce() -> T + Send + 'static) -> Result<JoinHandle<T>> {
  std::thread::Builder::new().name(name).spawn(body).map_err(|e| Error::internal(format!("cannot start a database thread: {e}")))
}

fn reader_loop(conn: Connection, watch: &Watch, queue: &Queue<ReadJob>) {
  while let Some(job) = queue.pop() {
    job(Ok((&conn, watch)));
  }
  drop(conn);
}

/// Indexes for search, in a transaction of its own, the rows recorded and not yet indexed:
/// at open (rows another tool changed while the database was not open here), when the
/// writer is idle, before a search that finds rows recorded, and at close. A failure
/// (another process holds the write lock) leaves them recorded for the next time.
fn index_pending(conn: &Connection) {
  if !matches!(search::index::has_pending(conn), Ok(true)) {
    return;
  }
  if control(conn, "BEGIN IMMEDIATE").is_ok() {
    match search::index::drain(conn) {
      Ok(_) => {
        if control(conn, "COMMIT").is_err() && !conn.is_autocommit() {
          let _ = control(conn, "ROLLBACK");
        }
      }
      Err(_) => {
        let _ = control(conn, "ROLLBACK");
      }
    }
  }
}

/// How long the writer's queue stays empty before the writer indexes the rows its writes
/// recorded for search.
const IDLE: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs the writer's jobs until its queue is closed and drained, indexes what is recorded
/// for search, then hands the connection back to be closed after the readers'.
fn writer_loop(
  mut conn: Connection,
  watch: &Watch,
  queue: &Queue<WriterJob>,
  feed: &Feed,
  mut tracker: Tracker,
  autocheckpoint: Autocheckpoint,
) -> Connection {
  let mut next = None;
  // Whether a job ran since the writer last indexed the recorded rows.
  let mut unindexed = false;
  loop {
    let job = match next.take() {
      Some(job) => job,
      None => match queue.pop_within(IDLE) {
        Popped::Job(job) => job,
        Popped::Closed => break,
        Popped::Idle => {
          if std::mem::take(&mut unindexed) {
            index_pending(&conn);
          }
          match wait_watching(&conn, queue, feed, &mut tracker) {
            Some(job) => job,
            None => break,
          }
        }
      },
    };
    unindexed = true;
    match job {
      WriterJob::Exclusive(job) => {
        tracker.begin(&conn, feed);
        job(Ok((&mut conn, watch)));
        // The work may have migrated: the change log may have come or gone.
        tracker.schema_may_have_changed();
        tracker.committed(&conn, feed, false);
      }
      WriterJob::Grouped(first) => {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
          match queue.try_pop() {
            Some(WriterJob::Grouped(job)) => group.push(job),
            Some(other) => {
              next = Some(other);
              break;
            }
            None => break,
          }
        }
        commit_group(&conn, watch, feed, &mut tracker, group);
      }
    }
    autocheckpoint.run_if_due(&conn);
  }
  index_pending(&conn);
  conn
}

/// Waits for the next job (`None`: the queue is closed). While a watch is active, looks for
/// what other connections committed every [`changes::POLL`] meanwhile.
fn wait_watching(conn: &Connection, queue: &Queue<WriterJob>, feed: &Feed, tracker: &mut Tracker) -> Option<WriterJob> {
  loop {
    tracker.poll(conn, feed);
    if !feed.active() {
      return queue.pop();
    }
    match queue.pop_within(changes::POLL) {
      Popped::Job(job) => return Some(job),
      Popped::Closed => return None,
      Popped::Idle => {}
    }
  }
}

/// Prepares a group of writes, delivering at once those whose input is refused, then runs
/// the rest in one transaction, each in its own savepoint, commits and delivers every
/// result.
///
/// A write whose statement ends the whole transaction (a trigger's `RAISE(ROLLBACK)`, an `OR
/// ROLLBACK` conflict clause) fails alone, with its own error: the writes before it that
/// succeeded lost their work with the transaction and run again, with those not yet run, in
/// a new one. Each such round drops one write, so the group always ends.
fn commit_group(conn: &Connection, watch: &Watch, feed: &Feed, tracker: &mut Tracker, group: Vec<Box<dyn GroupedWrite>>) {
  let mut group: Vec<_> = group
    .into_iter()
    .filter_map(|mut job| match job.prepare() {
      Ok(()) => Some(job),
      Err(_) => {
        job.finish(None);
        None
      }
    })
    .collect();
  while !group.is_empty() {
    match run_group(conn, watch, tracker, feed, &mut group) {
      Round::Ended(failure) => {
        // The change event comes before the results, so it has reached JavaScript when the
        // writes' Promises settle.
        tracker.committed(conn, feed, true);
        group.into_iter().for_each(|job| job.finish(failure.clone()));
        return;
      }
      Round::Lost(at) => {
        group.remove(at).finish(Some(Error::internal("the write ended its transaction; nothing it wrote was kept")));
        // A write that failed before the transaction was lost keeps its own error.
        let (failed, rest): (Vec<_>, Vec<_>) = group.into_iter().partition(|job| job.failed());
        failed.into_iter().for_each(|job| job.finish(None));
        group = rest;
      }
    }
  }
}

/// How one transaction of a group ended.
enum Round {
  /// Committed (`None`), or failed as a whole with this error; every write is done.
  Ended(Option<Error>),
  /// The write at this index ended the transaction itself, which SQLite rolled back.
  Lost(usize),
}

/// Runs `group` in one transaction. A lone write needs no savepoint: its error rolls back
/// the whole transaction, which holds nothing else.
fn run_group(conn: &Connection, watch: &Watch, tracker: &mut Tracker, feed: &Feed, group: &mut [Box<dyn GroupedWrite>]) -> Round {
  if let Err(err) = control(conn, "BEGIN IMMEDIATE") {
    return Round::Ended(Some(err));
  }
  tracker.begin(conn, feed);
  if let [job] = group {
    let failure = match job.run(conn, watch) {
      Ok(()) => commit(conn, tracker).err(),
      Err(_) => None,
    };
    if !conn.is_autocommit() {
      let _ = control(conn, "ROLLBACK");
    }
    return Round::Ended(failure);
  }
  for (index, job) in group.iter_mut().enumerate() {
    let step = control(conn, "SAVEPOINT grouped_write").and_then(|()| job.run(conn, watch));
    // Back in autocommit mode inside the group: the write's statement rolled back the whole
    // transaction, savepoints and all.
    if conn.is_autocommit() {
      return Round::Lost(index);
    }
    let end = match step {
      Ok(()) => control(conn, "RELEASE grouped_write"),
      Err(_) => control(conn, "ROLLBACK TO grouped_write").and_then(|()| control(conn, "RELEASE grouped_write")),
    };
    if let Err(err) = end {
      if !conn.is_autocommit() {
        let _ = control(conn, "ROLLBACK");
      }
      return Round::Ended(Some(err));
    }
  }
  let failure = commit(conn, tracker).err();
  if failure.is_some() && !conn.is_autocommit() {
    let _ = control(conn, "ROLLBACK");
  }
  Round::Ended(failure)
}

/// Commits, first indexing for search every recorded row when [`search::index::PENDING_LIMIT`]
/// rows are recorded. Fewer wait, recorded in the committed transaction, for the writer to be
/// idle, a search or the close (see [`index_pending`]): many commits share one FTS5 write.
/// Each commit also prunes one step of the change log; should that fail, the next commit
/// prunes instead (the rows only wait longer).
fn commit(conn: &Connection, tracker: &mut Tracker) -> Result<()> {
  if search::index::pending_reached(conn)? {
    search::index::drain(conn)?;
  }
  let _ = tracker.prune(conn);
  control(conn, "COMMIT")
}

/// Runs one transaction-control statement. It is not put in the statement cache: app SQL
/// with the same text would be handed the cached statement without passing the checks that
/// keep transaction statements out of `query` and `execute`.
fn control(conn: &Connection, sql: &str) -> Result<()> {
  Ok(conn.execute_batch(sql)?)
}

#[cfg(test)]
mod tests {
  use std::sync::mpsc;

  use super::*;
  use crate::test_support::TempDir;

  /// Runs `work` as exclusive work and waits for its result.
  fn exclusive<T: Send + 'static>(store: &Store, work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    store.exclusive(work, move |outcome| tx.send(outcome).unwrap());
    rx.recv().unwrap()
  }

  #[test]
  fn after_close_the_database_file_alone_holds_everything() {
    let dir = TempDir::new("store-close");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions { readers: 3, ..OpenOptions::default() }).unwrap();
    exclusive(&store, |conn| Ok(conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")?)).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..6 {
      let tx = tx.clone();
      store.read(|conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?), move |n| tx.send(n).unwrap());
    }
    assert!((0..6).all(|_| rx.recv().unwrap() == Ok(3)));
    let (closed, done) = mpsc::channel();
    store.close(CloseOptions::default(), move |report| closed.send(report).unwrap());
    let report = done.recv().unwrap();
    assert_eq!(report, CloseReport { checkpointed: true, reason: None, message: None, interrupted: false });
    for sidecar in ["a.db-wal", "a.db-shm"] {
      assert!(!dir.join(sidecar).exists(), "{sidecar} is left after close");
    }
    std::fs::copy(&path, dir.join("copy.db")).unwrap();
    let copy = Connection::open(dir.join("copy.db")).unwrap();
    assert_eq!(copy.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 3);
  }

  #[test]
  fn a_full_wal_is_checkpointed_after_its_commit_s_result_is_delivered_not_before() {
    let dir = TempDir::new("store-autocheckpoint");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions::default()).unwrap();
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let blob = 6_000_000;
    let (tx, rx) = mpsc::channel();
    let file = path.clone();
    store.exclusive(
      move |conn| Ok(conn.execute_batch(&format!("CREATE TABLE t (x); INSERT INTO t VALUES (zeroblob({blob}));"))?),
      move |outcome: Result<()>| tx.send((outcome, size(&file))).unwrap(),
    );
    let (outcome, at_delivery) = rx.recv().unwrap();
    outcome.unwrap();
    assert!(at_delivery < blob, "the database file held {at_delivery} bytes when the result was delivered");
    assert!(size(&dir.join("a.db-wal")) > blob, "the commit is in the -wal file");
    // The writer checkpoints before it takes its next job.
    exclusive(&store, |_| Ok(())).unwrap();
    assert!(size(&path) > blob, "the pages were copied into the database file: {} bytes", size(&path));
    exclusive(&store, |conn| Ok(conn.execute_batch("INSERT INTO t VALUES (1)")?)).unwrap();
    let frames: i64 = exclusive(&store, |conn| Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?)).unwrap();
    assert!(frames < 10, "the next write started the -wal file over: {frames} frames");
  }

  #[test]
  fn the_wal_file_shrinks_back_after_a_transaction_larger_than_its_limit() {
    let dir = TempDir::new("store-wal-limit");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions::default()).unwrap();
    let wal = |dir: &TempDir| std::fs::metadata(dir.join("a.db-wal")).map(|m| m.len()).unwrap_or(0) as i64;
    let blob = 3 * crate::autocheckpoint::WAL_BYTES_KEPT;
    exclusive(&store, move |conn| {
      Ok(conn.execute_batch(&format!("CREATE TABLE t (x); INSERT INTO t VALUES (zeroblob({blob}));"))?)
    })
    .unwrap();
    assert!(wal(&dir) > blob, "the transaction is in the -wal file: {} bytes", wal(&dir));
    // The checkpoint runs before this job; the write starts the -wal file over.
    exclusive(&store, |conn| Ok(conn.execute_batch("INSERT INTO t VALUES (1)")?)).unwrap();
    let kept = wal(&dir);
    assert!(kept <= crate::autocheckpoint::WAL_BYTES_KEPT, "the -wal file kept {kept} bytes");
    let rows: i64 = exclusive(&store, |conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 2);
  }

  #[test]
  fn a_panic_in_exclusive_work_leaves_the_writer_as_opened() {
    let dir = TempDir::new("store-panic");
    let store = Store::open(Location::File(dir.join("a.db")), OpenOptions::default()).unwrap();
    exclusive(&store, |conn| Ok(conn.execute_batch("CREATE TABLE t (x)")?)).unwrap();
    let err = exclusive(&store, |conn| -> Result<()> {
      conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")?;
      panic!("boom")
    })
    .unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::Internal);
    assert!(err.message.contains("boom"), "{err}");
    let (autocommit, foreign_keys, rows) = exclusive(&store, |conn| {
      let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
      let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
      Ok((conn.is_autocommit(), fk, rows))
    })
    .unwrap();
    assert_eq!((autocommit, foreign_keys, rows), (true, 1, 0));
  }

  #[test]
  fn a_write_that_rolls_back_the_whole_transaction_fails_alone() {
    let dir = TempDir::new("store-rollback");
    let store = Store::open(Location::File(dir.join("a.db")), OpenOptions::default()).unwrap();
    exclusive(&store, |conn| {
      Ok(conn.execute_batch(
        "CREATE TABLE t (x INTEGER NOT NULL); CREATE TABLE once (k INTEGER PRIMARY KEY); INSERT INTO once VALUES (0);
         CREATE TRIGGER no_thirteens BEFORE INSERT ON t WHEN NEW.x % 13 = 0 BEGIN SELECT RAISE(ROLLBACK, 'no multiples of 13'); END;",
      )?)
    })
    .unwrap();
    // The writer is held while every write is queued, so that they share groups.
    let (open_gate, gate) = mpsc::channel::<()>();
    store.exclusive(
      move |_| {
        let _ = gate.recv();
        Ok(())
      },
      |_: Result<()>| {},
    );
    let (tx, rx) = mpsc::channel();
    const WRITES: i64 = 2000;
    for i in 0..WRITES {
      let tx = tx.clone();
      // Every 97th write claims a key already taken, with a conflict clause that rolls back.
      let sql = if i % 97 == 96 { "INSERT OR ROLLBACK INTO once (k) VALUES (0)" } else { "INSERT INTO t (x) VALUES (?1)" };
      let param = if i % 97 == 96 { None } else { Some(i) };
      store.write(
        move || {
          Ok(move |conn: &Connection| match param {
            Some(x) => Ok(conn.execute(sql, [x])?),
            None => Ok(conn.execute(sql, [])?),
          })
        },
        move |outcome| tx.send((i, outcome)).unwrap(),
      );
    }
    drop(tx);
    open_gate.send(()).unwrap();
    let mut wrong = Vec::new();
    let mut failed = 0;
    for (i, outcome) in rx.iter() {
      // A trigger's RAISE is a CONSTRAINT failure; a primary-key conflict is ALREADY_EXISTS.
      let expected = match i {
        _ if i % 97 == 96 => Some(crate::error::ErrorCode::AlreadyExists),
        _ if i % 13 == 0 => Some(crate::error::ErrorCode::Constraint),
        _ => None,
      };
      match (&outcome, expected) {
        (Err(err), Some(code)) if err.code == code => failed += 1,
        (Ok(_), None) => {}
        _ => wrong.push(format!("write {i}: {outcome:?}")),
      }
    }
    assert!(
      wrong.is_empty(),
      "{} of {WRITES} writes had the wrong outcome, the first: {:?}",
      wrong.len(),
      &wrong[..wrong.len().min(3)]
    );
    let rows = exclusive(&store, |conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?)).unwrap();
    assert_eq!(rows, WRITES - failed);
  }

  #[test]
  fn refused_input_is_delivered_without_waiting_for_the_write_lock() {
    let dir = TempDir::new("store-prepare");
    let path = dir.join("a.db");
    let options = OpenOptions { busy_timeout: std::time::Duration::from_secs(600), ..OpenOptions::default() };
    let store = Store::open(Location::File(path.clone()), options).unwrap();
    exclusive(&store, |conn| Ok(conn.execute_batch("CREATE TABLE t (x)")?)).unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);").unwrap();

    let (tx, rx) = mpsc::channel();
    let refused = tx.clone();
    store.write(
      || -> Result<fn(&Connection) -> Result<()>> { Err(Error::invalid("input.name must not be empty")) },
      move |outcome| refused.send(("refused", outcome)).unwrap(),
    );
    let (which, outcome) = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the refusal waited for the lock");
    assert_eq!((which, outcome.unwrap_err().code), ("refused", crate::error::ErrorCode::InvalidArgument));

    // A write that was prepared waits for the lock, and lands once it is released.
    store.write(
      || Ok(|conn: &Connection| Ok(conn.execute_batch("INSERT INTO t VALUES (2)")?)),
      move |outcome| tx.send(("written", outcome)).unwrap(),
    );
    assert!(
      rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(),
      "the write ran while another connection held the lock"
    );
    holder.execute_batch("COMMIT").unwrap();
    let (which, outcome) = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(which, "written");
    outcome.unwrap();
    let rows = exclusive(&store, |conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?)).unwrap();
    assert_eq!(rows, 2);
  }
}
