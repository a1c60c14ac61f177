//! The `Database` class: opening, closing, and the plumbing every method uses to run core
//! work on the database threads and settle its Promise.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;
use rusqlite::Connection;

use crate::completion::{rejected, Deferred, JsOutput, JsQueue, JsRejection};
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::command::{Command, Kind};
use agentdb_core::connection::{Location, OpenOptions};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::Fields;
use agentdb_core::migrations::source::MigrationSet;
use agentdb_core::rules;
use agentdb_core::store::Store;

/// An open agents database. Create one with `Database.open(path, options?)`; every method
/// returns a Promise and runs its SQLite work off the JavaScript thread.
#[napi]
pub struct Database {
  pub(crate) store: Arc<Store>,
  pub(crate) queue: JsQueue,
  /// Built-in migrations plus those added with `addMigration(s)`; replaced, never mutated,
  /// so queued work keeps the set it was given.
  pub(crate) migrations: Mutex<Arc<MigrationSet>>,
  path: String,
}

#[napi]
impl Database {
  /// Opens (creating if needed) the database at `path`, or a private in-memory database for
  /// `':memory:'`. Every connection gets `foreign_keys=ON`; file databases use WAL and
  /// `synchronous=NORMAL`. A 0-byte file opens as a new database.
  ///
  /// Rejects with `INVALID_ARGUMENT` (bad path or options), `NOT_A_DATABASE` (the file is
  /// not SQLite; it is left untouched), `CANT_OPEN` (missing directory, a directory path),
  /// `READONLY` (the file cannot be written), `BUSY`, `CORRUPT` or `IO`.
  #[napi(catch_unwind, ts_args_type = "path: string, options?: OpenOptions", ts_return_type = "Promise<Database>")]
  pub fn open(env: Env, path: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    let env = env.raw();
    let queue = JsQueue::new(env)?;
    let parsed = parse_open(path, options);
    let (path, location, options) = match parsed {
      Ok(parsed) => parsed,
      Err(err) => return rejected(env, &queue, err).map(JsReturn),
    };
    let (deferred, promise) = Deferred::new(env, &queue)?;
    let spawned = std::thread::Builder::new().name("agentdb-open".into()).spawn(move || {
      let opened = Store::open(location, options).map(|store| Database {
        store: Arc::new(store),
        queue,
        migrations: Mutex::new(Arc::new(MigrationSet::builtin())),
        path,
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
    self.store.is_closed()
  }

  /// Closes the database. Calls already made finish first (each resolves or rejects as it
  /// would have); calls made afterwards reject with `DATABASE_CLOSED`. Resolves once every
  /// file handle is released, so the file can then be moved or deleted. Calling it again is
  /// harmless.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn close(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let (deferred, promise) = Deferred::new(env.raw(), &self.queue)?;
      self.store.close(move || deferred.settle::<(), Error>(Ok(())));
      Ok(JsReturn(promise))
    })
  }
}

/// Reads `open`'s arguments.
fn parse_open(path: JsArg, options: JsArg) -> Result<(String, Location, OpenOptions)> {
  let path = path.string("path")?;
  let location = Location::parse(&path)?;
  let fields = Fields::of(options, "options", &["busyTimeoutMs", "readers"], true)?;
  let mut open = OpenOptions::default();
  if let Some(ms) = fields.whole("busyTimeoutMs", &rules::BUSY_TIMEOUT_MS)? {
    open.busy_timeout = Duration::from_millis(ms);
  }
  if let Some(readers) = fields.whole("readers", &rules::READERS)? {
    open.readers = readers as usize;
  }
  Ok((path, location, open))
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
  pub(crate) fn command(&self, env: Env, kind: Kind, args: &[JsArg]) -> napi::Result<JsReturn> {
    let text = self.queue.encode_args(env.raw(), kind.name(), kind.args(), args);
    self.write(env, text.map(|text| move || Command::decode(kind, &text)))
  }

  /// Runs a command read on the JavaScript thread (`execute`, whose parameters can hold
  /// binary data and bigints, which JSON text cannot carry).
  pub(crate) fn run_command(&self, env: Env, command: Result<Command>) -> napi::Result<JsReturn> {
    self.write(env, command.map(|command| move || Ok(command)))
  }

  /// Runs `work` on a reader connection and returns its Promise; `args` are the arguments
  /// already read on the JavaScript thread (an error rejects without touching SQLite).
  pub(crate) fn read<A, T, E, W>(&self, env: Env, args: Result<A>, work: W) -> napi::Result<JsReturn>
  where
    A: Send + 'static,
    T: JsOutput,
    E: JsRejection + From<Error>,
    W: FnOnce(&Connection, A) -> Result<T, E> + Send + 'static,
  {
    self.submit(env, args, |store, args, deferred| {
      store.read(move |conn| Ok(work(conn, args)), move |outcome| deferred.settle(flatten(outcome)))
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
      store.read_indexed(move |conn| work(conn, args), move |outcome| deferred.settle(outcome))
    })
  }

  /// Runs the command `prepare` gives inside the writer's group transaction, in a savepoint
  /// of its own; `prepare` runs on the writer thread before it takes the write lock.
  fn write<P>(&self, env: Env, prepare: Result<P>) -> napi::Result<JsReturn>
  where
    P: FnOnce() -> Result<Command> + Send + 'static,
  {
    self.submit(env, prepare, |store, prepare, deferred| {
      let prepare =
        move || prepare().map(|command| move |conn: &Connection| command.run(conn).map(|outcome| JsonText::of(&outcome)));
      store.write(prepare, move |outcome| deferred.settle(outcome))
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
    let queue = self.queue.clone();
    self.submit(env, args, |store, args, deferred| {
      store.exclusive(move |conn| Ok(work(conn, args, &queue)), move |outcome| deferred.settle(flatten(outcome)))
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

  /// Reads nothing more: rejects at once when `args` is an error, otherwise creates the
  /// Promise and lets `start` queue the work that settles it.
  pub(crate) fn submit<A>(&self, env: Env, args: Result<A>, start: impl FnOnce(&Store, A, Deferred)) -> napi::Result<JsReturn> {
    let env = env.raw();
    let args = match args {
      Ok(args) => args,
      Err(err) => return rejected(env, &self.queue, err).map(JsReturn),
    };
    let (deferred, promise) = Deferred::new(env, &self.queue)?;
    start(&self.store, args, deferred);
    Ok(JsReturn(promise))
  }
}

/// Joins the store's error (closed, panic) with the work's own.
fn flatten<T, E: From<Error>>(outcome: Result<Result<T, E>>) -> Result<T, E> {
  outcome.unwrap_or_else(|err| Err(E::from(err)))
}
