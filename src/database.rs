//! The `Database` class: opening, closing, and the plumbing every method uses to run core
//! work on the database threads and settle its Promise.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;
use rusqlite::Connection;

use crate::completion::{rejected, settled_later, Deferred, JsOutput, JsQueue, JsRejection};
use crate::input_slices;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use crate::signal::CallLimits;
use crate::watch::Watchers;
use crate::write_order::WriteOrder;
use agentdb_core::command::{Command, Kind, Returning};
use agentdb_core::connection::{Location, OpenOptions};
use agentdb_core::durability::Durability;
use agentdb_core::error::{Error, Result};
use agentdb_core::inline::InlineReader;
use agentdb_core::input::fields::Fields;
use agentdb_core::interrupt::Limits;
use agentdb_core::migrations::required;
use agentdb_core::migrations::source::MigrationSet;
use agentdb_core::rules;
use agentdb_core::store::{CloseOptions, Store};

/// An open agents database. Create one with `Database.open(path, options?)`; every method
/// returns a Promise and runs its SQLite work off the JavaScript thread.
#[napi]
pub struct Database {
  pub(crate) store: Arc<Store>,
  pub(crate) queue: JsQueue,
  /// Built-in migrations plus those added with `addMigration(s)`; replaced, never mutated,
  /// so queued work keeps the set it was given.
  pub(crate) migrations: Mutex<Arc<MigrationSet>>,
  /// `statementTimeoutMs` of `open`: the time limit of raw SQL calls that give none.
  pub(crate) statement_timeout: Option<Duration>,
  /// `maxLogBytes` of `open`: the largest a log's stored content and metadata may be.
  pub(crate) max_log_bytes: Option<u64>,
  /// The listeners of `watch`.
  pub(crate) watchers: Watchers,
  /// Keeps writes in call order behind a call still encoding its input in slices.
  pub(crate) write_order: Arc<WriteOrder>,
  /// The connection of `inlineReads`, until `close()`.
  inline: Mutex<Option<InlineReader>>,
  /// Set by `close()`: calls made afterwards are refused, while the store itself closes only
  /// once the calls made before, a list still encoding included, have started.
  closing: AtomicBool,
  path: String,
}

#[napi]
impl Database {
  /// Opens (creating if needed) the database at `path`, or a private in-memory database for
  /// `':memory:'`. Every connection gets `foreign_keys=ON`; file databases use WAL, with
  /// `synchronous=FULL` (`durability: 'full'`, the default: every commit is synced, so an
  /// acknowledged write survives a power cut) or `synchronous=NORMAL` (`durability:
  /// 'normal'`: the last writes before an OS crash or a power cut may roll back). A 0-byte
  /// file opens as a new database.
  /// `statementTimeoutMs` is the time limit of raw SQL (`query`, `execute`, `batch`) when a
  /// call gives none: a statement running longer is interrupted and its call rejects with
  /// `TIMEOUT`. With `maxLogBytes`, a write that would leave a log's stored content and
  /// metadata larger than that (`addLog`, `addLogs`, `updateLog`, `appendLogText`,
  /// `finishLog`, the same in `batch`) rejects with `LOG_TOO_LARGE` and writes nothing.
  /// With `inlineReads` (file databases only), the short typed reads (`getSession`,
  /// `getSessionByExternalId`, `getSessionWithAgent`, `listSessions`, `countSessions`,
  /// `getAgent`, `listAgents`, `countAgents`, `agentExists`, `getLog`, `getLogs`,
  /// `getLatestLogs`, `countLogs`) first run on the JavaScript thread, on a read connection of
  /// their own, for at most 200 µs: one that runs longer, or finds the database busy, is
  /// stopped and runs again on a reader thread. Their Promises still settle in a later turn of
  /// the event loop.
  ///
  /// Rejects with `INVALID_ARGUMENT` (bad path or options), `NOT_A_DATABASE` (the file is
  /// not SQLite; it is left untouched), `CANT_OPEN` (missing directory, a directory path),
  /// `READONLY` (the file cannot be written), `OPEN_ELSEWHERE_IN_PROCESS` (another SQLite in
  /// this process has the file open), `HOT_JOURNAL` (with `readOnly`), `BUSY`, `CORRUPT`,
  /// `FULL` or `IO`.
  #[napi(catch_unwind, ts_args_type = "path: string, options?: OpenOptions", ts_return_type = "Promise<Database>")]
  pub fn open(env: Env, path: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    let env = env.raw();
    let queue = JsQueue::new(env)?;
    let parsed = parse_open(path, options);
    let (path, location, options, OpenLimits { statement_timeout, max_log_bytes, inline_reads }) = match parsed {
      Ok(parsed) => parsed,
      Err(err) => return rejected(env, &queue, err).map(JsReturn),
    };
    let (deferred, promise) = Deferred::new(env, &queue)?;
    let spawned = std::thread::Builder::new().name("agentdb-open".into()).spawn(move || {
      let inline_options = options.clone();
      let inline_path = match (&location, inline_reads) {
        (Location::File(file), true) => Some(file.clone()),
        _ => None,
      };
      let opened = Store::open(location, options).and_then(|store| {
        let inline = inline_path.map(|file| InlineReader::open(&file, &inline_options)).transpose()?;
        Ok((store, inline))
      });
      let opened = opened.map(|(store, inline)| {
        let watchers = Watchers::default();
        watchers.connect(store.feed(), &queue);
        Database {
          store: Arc::new(store),
          queue,
          migrations: Mutex::new(Arc::new(MigrationSet::builtin())),
          statement_timeout,
          max_log_bytes,
          watchers,
          write_order: Arc::default(),
          inline: Mutex::new(inline),
          closing: AtomicBool::new(false),
          path,
        }
      });
      deferred.settle(opened);
    });
    if let Err(err) = spawned {
      return Err(napi::Error::from_reason(format!("cannot start a thread to open the database: {err}")));
    }
    Ok(JsReturn(promise))
  }

  /// The path the database was opened with (`':memory:'` for an in-memory database).
  #[napi(getter)]
  pub fn path(&self) -> String {
    self.path.clone()
  }

  /// True once `close()` has been called.
  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.is_closing()
  }

  /// Closes the database. Calls already made finish first (each resolves or rejects as it
  /// would have); calls made afterwards reject with `DATABASE_CLOSED`. Calls still running
  /// after `interruptAfterMs` (default 5000) are interrupted and reject with `INTERRUPTED`,
  /// so close always settles. Resolves once every file handle is released, with
  /// `{ checkpointed, reason, message, interrupted }`: `checkpointed` is true when the
  /// database file holds every committed transaction on its own (it can be copied or moved
  /// alone); false, with `reason` `'busy'` (another connection, usually another process,
  /// reads an older snapshot), `'full'`, `'io'`, `'memory'` or `'error'`, when some of them
  /// are still only in the `-wal` file beside it, which SQLite reads with it. Calling it
  /// again is harmless and resolves with the same result.
  ///
  /// Rejects with `INVALID_ARGUMENT` (bad options).
  #[napi(catch_unwind, ts_args_type = "options?: CloseOptions", ts_return_type = "Promise<CloseResult>")]
  pub fn close(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let options = match parse_close(options) {
        Ok(options) => options,
        Err(err) => return rejected(env.raw(), &self.queue, err).map(JsReturn),
      };
      self.closing.store(true, Ordering::Release);
      self.watchers.clear(env.raw(), &self.queue, self.store.feed());
      drop(self.inline.lock().take());
      let (deferred, promise) = Deferred::new(env.raw(), &self.queue)?;
      // In its place among the writes: after a list still encoding, which is a call made first.
      let store = Arc::clone(&self.store);
      self.write_order.start(Box::new(move || store.close(options, move |report| deferred.settle(JsonText::of(&report)))));
      Ok(JsReturn(promise))
    })
  }
}

/// Reads `close`'s options.
fn parse_close(options: JsArg) -> Result<CloseOptions> {
  let fields = Fields::of(options, "options", &["interruptAfterMs"], true)?;
  let mut close = CloseOptions::default();
  if let Some(ms) = fields.whole("interruptAfterMs", &rules::INTERRUPT_AFTER_MS)? {
    close.interrupt_after = Duration::from_millis(ms);
  }
  Ok(close)
}

/// Reads `open`'s arguments.
/// The options of `open` the addon applies itself, to each call (the store takes the rest).
struct OpenLimits {
  statement_timeout: Option<Duration>,
  max_log_bytes: Option<u64>,
  inline_reads: bool,
}

fn parse_open(path: JsArg, options: JsArg) -> Result<(String, Location, OpenOptions, OpenLimits)> {
  let path = path.string("path")?;
  let location = Location::parse(&path)?;
  let fields = Fields::of(
    options,
    "options",
    &["busyTimeoutMs", "readers", "durability", "readOnly", "statementTimeoutMs", "maxLogBytes", "keepChanges", "inlineReads"],
    true,
  )?;
  let mut open = OpenOptions::default();
  if let Some(ms) = fields.whole("busyTimeoutMs", &rules::BUSY_TIMEOUT_MS)? {
    open.busy_timeout = Duration::from_millis(ms);
  }
  if let Some(readers) = fields.whole("readers", &rules::READERS)? {
    open.readers = readers as usize;
  }
  if let Some(durability) = fields.string("durability")? {
    open.durability = Durability::parse(&durability, fields.path("durability"))?;
  }
  open.read_only = fields.boolean("readOnly")?.unwrap_or(false);
  if let Some(keep) = fields.whole("keepChanges", &rules::KEEP_CHANGES)? {
    open.keep_changes = keep;
  }
  if open.read_only && location == Location::Memory {
    return Err(Error::invalid("options.readOnly needs a database file, not ':memory:'"));
  }
  let statement_timeout = fields.whole("statementTimeoutMs", &rules::STATEMENT_TIMEOUT_MS)?.map(Duration::from_millis);
  let max_log_bytes = fields.whole("maxLogBytes", &rules::MAX_LOG_BYTES)?;
  let inline_reads = fields.boolean("inlineReads")?.unwrap_or(false);
  if inline_reads && location == Location::Memory {
    return Err(Error::invalid("options.inlineReads needs a database file, not ':memory:'"));
  }
  Ok((path, location, open, OpenLimits { statement_timeout, max_log_bytes, inline_reads }))
}

impl Database {
  /// The migration set as it is now.
  pub(crate) fn migration_set(&self) -> Arc<MigrationSet> {
    Arc::clone(&self.migrations.lock())
  }

  /// Runs the write command `kind` with these arguments (in the method's order). On the
  /// JavaScript thread the arguments only become JSON text (see `encode`); the writer thread
  /// reads them into a [`Command`] before it takes the write lock, so bad input is refused
  /// without waiting for it, then runs the command inside its group transaction.
  /// A batch, which may hold raw SQL, runs under the database's `statementTimeoutMs`.
  pub(crate) fn command(&self, env: Env, kind: Kind, args: &[JsArg]) -> napi::Result<JsReturn> {
    self.command_returning(env, kind, args, Returning::Rows)
  }

  /// [`Database::command`], resolving with what `returning` asks for.
  pub(crate) fn command_returning(&self, env: Env, kind: Kind, args: &[JsArg], returning: Returning) -> napi::Result<JsReturn> {
    if let Some(list) = input_slices::long_list(kind, args) {
      return self.command_in_slices(env, kind, list, returning);
    }
    let text = self.queue.encode_args(env.raw(), kind.name(), kind.args(), args);
    let timeout = if kind == Kind::Batch { self.statement_timeout } else { None };
    let limits = Ok(CallLimits::of(Limits { timeout, abort: None }));
    self.write(env, text.map(|text| move || Command::decode(kind, &text)), || limits, returning)
  }

  /// Runs a command read on the JavaScript thread (`execute`, whose parameters can hold
  /// binary data and bigints, which JSON text cannot carry) under the limits `options` give
  /// (see [`CallLimits::read`]).
  pub(crate) fn run_command(&self, env: Env, command: Result<Command>, options: JsArg) -> napi::Result<JsReturn> {
    let limits = || CallLimits::read(env.raw(), &self.queue, options, self.statement_timeout);
    self.write(env, command.map(|command| move || Ok(command)), limits, Returning::Rows)
  }

  /// Runs `work` on a reader connection and returns its Promise; `args` are the arguments
  /// already read on the JavaScript thread (an error rejects without touching SQLite). On a
  /// file that lacks the library's migrations, `work` fails with `NOT_MIGRATED` (see
  /// [`required::explain`]).
  pub(crate) fn read<A, T, W>(&self, env: Env, args: Result<A>, work: W) -> napi::Result<JsReturn>
  where
    A: Send + 'static,
    T: JsOutput,
    W: FnOnce(&Connection, A) -> Result<T> + Send + 'static,
  {
    self.submit(env, args, |store, args, deferred| {
      store
        .read(move |conn| work(conn, args).map_err(|err| required::explain(conn, err)), move |outcome| deferred.settle(outcome))
    })
  }

  /// [`Database::read`] for a short read: with `inlineReads`, it first runs here, on the
  /// JavaScript thread, within the inline budget, and its Promise settles in the event loop's
  /// next turn, without the hop back from a database thread; one that runs past the budget or
  /// finds the database busy runs on a reader as `read` runs it.
  pub(crate) fn read_short<A, T, W>(&self, env: Env, args: Result<A>, work: W) -> napi::Result<JsReturn>
  where
    A: Clone + Send + 'static,
    T: JsOutput,
    W: Fn(&Connection, A) -> Result<T> + Send + 'static,
  {
    if let Ok(args) = &args {
      let outcome = self
        .inline
        .lock()
        .as_ref()
        .and_then(|inline| inline.run(|conn| work(conn, args.clone()).map_err(|err| required::explain(conn, err))));
      if let Some(outcome) = outcome {
        return settled_later(env.raw(), &self.queue, outcome).map(JsReturn);
      }
    }
    self.read(env, args, work)
  }

  /// [`Database::read`] under the limits `limits` reads (after the arguments, so that a
  /// signal is only watched by a call that runs).
  pub(crate) fn read_limited<A, T, W>(
    &self,
    env: Env,
    args: Result<A>,
    limits: impl FnOnce() -> Result<CallLimits>,
    work: W,
  ) -> napi::Result<JsReturn>
  where
    A: Send + 'static,
    T: JsOutput,
    W: FnOnce(&Connection, A) -> Result<T> + Send + 'static,
  {
    let args = args.and_then(|args| Ok((args, limits()?)));
    self.submit(env, args, |store, (args, limits), mut deferred| {
      let limits = limits.attach(&mut deferred);
      store.read_limited(limits, move |conn| work(conn, args), move |outcome| deferred.settle(outcome))
    })
  }

  /// Runs `work` on a reader connection, as [`Database::read`] does, once the search index
  /// holds every row changed so far (rows another tool changed are indexed first).
  pub(crate) fn read_indexed<A, T, W>(&self, env: Env, args: Result<A>, work: W) -> napi::Result<JsReturn>
  where
    A: Send + 'static,
    T: JsOutput,
    W: FnOnce(&Connection, A) -> Result<T> + Send + 'static,
  {
    let store = Arc::clone(&self.store);
    self.submit(env, args, move |_, args, deferred| {
      store.read_indexed(
        move |conn| work(conn, args).map_err(|err| required::explain(conn, err)),
        move |outcome| deferred.settle(outcome),
      )
    })
  }

  /// Runs the command `prepare` gives inside the writer's group transaction, in a savepoint
  /// of its own (see [`start_write`]), after the writes called before it.
  fn write<P>(
    &self,
    env: Env,
    prepare: Result<P>,
    limits: impl FnOnce() -> Result<CallLimits>,
    returning: Returning,
  ) -> napi::Result<JsReturn>
  where
    P: FnOnce() -> Result<Command> + Send + 'static,
  {
    let args = prepare.and_then(|prepare| Ok((prepare, limits()?)));
    let (store, max_log_bytes) = (Arc::clone(&self.store), self.max_log_bytes);
    self.submit(env, args, move |_, (prepare, limits), deferred| {
      self.write_order.start(Box::new(move || start_write(&store, max_log_bytes, prepare, (limits, returning), deferred)))
    })
  }

  /// Runs `work` on the writer's connection with no transaction around it (it manages its
  /// own), after the writes queued before it. `work` may post progress events to the queue;
  /// they reach JavaScript before the Promise settles.
  pub(crate) fn exclusive<A, T, E, W>(&self, env: Env, args: Result<A>, work: W) -> napi::Result<JsReturn>
  where
    A: Send + 'static,
    T: JsOutput,
    E: JsRejection + From<Error>,
    W: FnOnce(&mut Connection, A, &JsQueue) -> Result<T, E> + Send + 'static,
  {
    let (queue, store) = (self.queue.clone(), Arc::clone(&self.store));
    self.submit(env, args, |_, args, deferred| {
      self.write_order.start(Box::new(move || {
        store.exclusive(move |conn| Ok(work(conn, args, &queue)), move |outcome| deferred.settle(flatten(outcome)))
      }))
    })
  }

  /// Runs the part of a method that runs on the JavaScript thread (reading its arguments,
  /// queuing its work). A panic there becomes a Promise rejected with `INTERNAL`, as a panic
  /// on a database thread does, instead of an exception thrown at the caller.
  pub(crate) fn guard(&self, env: Env, body: impl FnOnce() -> napi::Result<JsReturn>) -> napi::Result<JsReturn> {
    match catch_unwind(AssertUnwindSafe(body)) {
      Ok(returned) => returned,
      Err(panic) => rejected(env.raw(), &self.queue, Error::panicked(panic.as_ref())).map(JsReturn),
    }
  }

  /// Whether `close()` has been called.
  pub(crate) fn is_closing(&self) -> bool {
    self.closing.load(Ordering::Acquire) || self.store.is_closed()
  }

  /// Reads nothing more: rejects at once when `args` is an error, otherwise creates the
  /// Promise and lets `start` queue the work that settles it.
  pub(crate) fn submit<A>(&self, env: Env, args: Result<A>, start: impl FnOnce(&Store, A, Deferred)) -> napi::Result<JsReturn> {
    let env = env.raw();
    let args = match args {
      Ok(_) if self.is_closing() => return rejected(env, &self.queue, Error::closed()).map(JsReturn),
      Ok(args) => args,
      Err(err) => return rejected(env, &self.queue, err).map(JsReturn),
    };
    let (deferred, promise) = Deferred::new(env, &self.queue)?;
    start(&self.store, args, deferred);
    Ok(JsReturn(promise))
  }
}

/// Runs the command `prepare` gives inside the writer's group transaction, in a savepoint
/// of its own, under `limits`, and settles `deferred` with its outcome as `returning` asks;
/// `prepare` runs on the writer thread before it takes the write lock.
pub(crate) fn start_write<P>(
  store: &Store,
  max_log_bytes: Option<u64>,
  prepare: P,
  (limits, returning): (CallLimits, Returning),
  mut deferred: Deferred,
) where
  P: FnOnce() -> Result<Command> + Send + 'static,
{
  let limits = limits.attach(&mut deferred);
  let prepare = move || {
    prepare().map(|command| {
      move |conn: &Connection| {
        command.run_within(conn, max_log_bytes).and_then(|outcome| JsonText::of(&outcome.returning(returning)))
      }
    })
  };
  store.write_limited(limits, prepare, move |outcome| deferred.settle(outcome))
}

/// Joins the store's error (closed, panic) with the work's own.
fn flatten<T, E: From<Error>>(outcome: Result<Result<T, E>>) -> Result<T, E> {
  outcome.unwrap_or_else(|err| Err(E::from(err)))
}
