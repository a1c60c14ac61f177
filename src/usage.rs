//! The usage ledger methods of `Database`: `recordUsage` and `usageSummary`.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::command::Kind;
use agentdb_core::error::Result;
use agentdb_core::usage;

#[napi]
impl Database {
  /// Records one model request's usage in the ledger, idempotent by `requestId`: a retry with
  /// the same id and values resolves with the stored record and `duplicate: true` (it counts
  /// once). A `sessionId` or `agentId` left out is taken from the log (or session) named,
  /// when it exists. The record keeps its ids when that session, log or agent is deleted.
  ///
  /// Rejects with `ALREADY_EXISTS` (the request id is recorded with other values; the
  /// message names them), `INVALID_ARGUMENT` (a negative or fractional token count, a cost
  /// without a currency, a currency that is not three capital letters), `BUSY` or
  /// `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "input: UsageInput", ts_return_type = "Promise<RecordedUsage>")]
  pub fn record_usage(&self, env: Env, input: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::RecordUsage, &[input]))
  }

  /// The ledger's totals by agent, session, model or UTC day, ordered by key (records naming
  /// no agent or session first, as `key: null`), for records made in `[since, until)`. Costs
  /// are totalled per currency. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options: UsageSummaryOptions", ts_return_type = "Promise<UsageTotals[]>")]
  pub fn usage_summary(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read(env, usage::read_summary_request(options), |conn, request| -> Result<JsonText> {
        JsonText::of(&usage::summary(conn, &request)?)
      })
    })
  }
}
