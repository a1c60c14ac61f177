//! The search methods of `Database`: `searchLogs`, `searchSessions` and
//! `rebuildSearchIndex`.

use napi::Env;
use napi_derive::napi;
use rusqlite::TransactionBehavior;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::error::Result;
use agentdb_core::migrations::required;
use agentdb_core::search::{self, index};

#[napi]
impl Database {
  /// Finds the logs whose text matches `query` (see docs/search.md for what is searchable
  /// and the query syntax), best match first unless `order: 'newest'`. Resolves with a page
  /// of hits, each the log, its session id, a snippet of its text around the first match and
  /// the matches' positions in the snippet (UTF-16 offsets: `snippet.slice(start, end)`).
  /// Pass `nextCursor` as `after` for the next page. Whatever a user types is a valid query
  /// unless `syntax: 'fts5'` is given.
  ///
  /// Rejects with `QUERY_SYNTAX` (`syntax: 'fts5'` and a query FTS5 cannot parse),
  /// `INVALID_ARGUMENT` (bad options), `NOT_MIGRATED` (the database is not migrated to
  /// the search index) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "query: string, options?: SearchLogsOptions",
    ts_return_type = "Promise<Page<LogSearchHit<TContent, TMetadata>>>"
  )]
  pub fn search_logs(&self, env: Env, query: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read_indexed(env, search::read_log_search(query, options), |conn, search| -> Result<JsonText> {
        JsonText::of(&search::search_logs(conn, &search)?)
      })
    })
  }

  /// One hit per session for `query`, best first (for a sidebar): sessions whose name or
  /// goal matches, then sessions by their best-matching log. Each hit is the session, the
  /// log (`null` when the name or goal matched), a snippet and its highlights.
  ///
  /// Rejects like `searchLogs`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "query: string, options?: SearchSessionsOptions",
    ts_return_type = "Promise<SessionSearchHit<TContent, TMetadata>[]>"
  )]
  pub fn search_sessions(&self, env: Env, query: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read_indexed(env, search::read_session_search(query, options), |conn, search| -> Result<JsonText> {
        JsonText::of(&search::search_sessions(conn, &search)?)
      })
    })
  }

  /// Empties the search index and indexes every log and session again, in one transaction
  /// (after the writes queued before it). Resolves with how many rows were indexed; 0 when
  /// the database has no index (not migrated). For an index `integrityCheck` reports as
  /// inexact.
  ///
  /// Rejects with `BUSY`, `FULL`, `IO` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn rebuild_search_index(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.exclusive(env, Ok(()), |conn, (), _| -> Result<i64> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let indexed = index::rebuild(&tx, &mut |_, _| {}).map_err(|err| required::explain(&tx, err))?;
        tx.commit()?;
        Ok(indexed as i64)
      })
    })
  }
}
