//! The methods of `Database` for the life of the data: purging on purpose.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::purge::{self, PurgeRequest};

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
}
