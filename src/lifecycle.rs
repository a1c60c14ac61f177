//! The methods of `Database` for the life of the data: purging on purpose, handing space
//! back, and saying what takes it.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::error::Result;
use agentdb_core::input::fields::Fields;
use agentdb_core::purge::{self, PurgeRequest};
use agentdb_core::rules::PAGE_LIMIT;
use agentdb_core::space;

/// How many sessions `stats` lists by default.
const LARGEST_DEFAULT: u64 = 10;

#[napi]
impl Database {
  /// Removes for good the sessions (with their logs) that match every criterion given:
  /// `trashedBefore` (moved to the trash before that time; agents moved there before it go
  /// too, once none of their sessions is left), `olderThan` (last activity before that
  /// time), `keepLatestPerAgent` (not among their agent's N most recently active sessions,
  /// in the trash or not), `sessionIds`. Nothing is purged by default: a call with no
  /// criterion is refused. Runs in chunks of whole sessions, each its own short write
  /// transaction queued behind the app's writes, so they keep flowing. `dryRun: true`
  /// removes nothing and resolves with what a run would remove now. Resolves with
  /// `{ dryRun, sessions, logs, bytes, agents, chunks }`. Not a batch operation: a batch is one
  /// transaction, a purge is many.
  ///
  /// Rejects with `INVALID_ARGUMENT` (no criterion, bad options), `BUSY`, `FULL`, `IO` or
  /// `DATABASE_CLOSED`; a run that fails midway keeps what its earlier chunks removed, and
  /// the message says how much.
  #[napi(catch_unwind, ts_args_type = "options: PurgeOptions", ts_return_type = "Promise<PurgeResult>")]
  pub fn purge(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let request = PurgeRequest::read(options);
      if matches!(&request, Ok(request) if request.dry_run) {
        return self.read(env, request, |conn, request| purge::count(conn, &request).and_then(|r| JsonText::of(&r)));
      }
      let store = Arc::clone(&self.store);
      self.submit(env, request, move |_, request, deferred| {
        purge::run(store, request, move |outcome| deferred.settle(outcome.and_then(|report| JsonText::of(&report))))
      })
    })
  }

  /// Hands the free pages inside the file back to the file system: on a file created by
  /// this library (`auto_vacuum = INCREMENTAL`) it moves only free pages, in short steps,
  /// each its own write transaction queued behind the app's writes, so they keep flowing; on
  /// any other file, or with `full: true`, it rewrites the file (`VACUUM`), which makes it
  /// incremental from then on, needs free disk space about the size of the file, and holds
  /// the write lock, every write waiting, while it runs. Runs after the writes queued before
  /// it; readers go on. Resolves with `{ mode, bytesBefore, bytesAfter, checkpointed }` (the file
  /// and its `-wal` on disk).
  ///
  /// Rejects with `INVALID_ARGUMENT`, `FULL` (not enough disk space for the rewrite; nothing
  /// changed), `BUSY`, `IO`, `READONLY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options?: CompactOptions", ts_return_type = "Promise<CompactResult>")]
  pub fn compact(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let full = Fields::of(options, "options", &["full"], true).and_then(|f| Ok(f.boolean("full")?.unwrap_or(false)));
      let store = Arc::clone(&self.store);
      self.submit(env, full, move |_, full, deferred| {
        space::run(store, full, move |outcome| deferred.settle(outcome.and_then(|report| JsonText::of(&report))))
      })
    })
  }

  /// What the file holds: its size and its `-wal`'s, its pages and free pages (what
  /// `compact` hands back), how it vacuums, the rows of every table, what is in the trash,
  /// and the `largest` (default 10, at most 1000) sessions by the bytes of their logs, each
  /// with its largest log. Reads every log once. Rejects with `INVALID_ARGUMENT` or
  /// `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options?: StatsOptions", ts_return_type = "Promise<DatabaseStats>")]
  pub fn stats(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let largest = Fields::of(options, "options", &["largest"], true)
        .and_then(|f| Ok(f.whole("largest", &PAGE_LIMIT)?.unwrap_or(LARGEST_DEFAULT)));
      self.read(env, largest, |conn, largest| -> Result<JsonText> { JsonText::of(&space::stats(conn, largest)?) })
    })
  }
}
