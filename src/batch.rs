//! `batch`: several writes as one atomic unit.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use agentdb_core::command::Kind;

#[napi]
impl Database {
  /// Runs several writes as one atomic unit: all of them happen, or none. Each operation is
  /// `{ op, … }` with the arguments of the method of that name (e.g. `{ op: 'createSession',
  /// input }`, `{ op: 'addLog', input }`, `{ op: 'updateSessionStatus', id, status }`,
  /// `{ op: 'execute', sql, params }`); the Promise resolves with each method's result, in
  /// order. No application code runs while the transaction is open, so a batch cannot
  /// deadlock or be left open by an exception: code that throws while building the list
  /// simply never sends it. A later operation names a row an earlier one wrote with
  /// `{ ref: i }` in place of its id (`parentId: { ref: 0 }`, the log entry of operation 0),
  /// so a reply and its tool calls are written together; the results are typed as a tuple.
  ///
  /// A long list (more than 64 operations) is read a slice at a time in the turns of the event
  /// loop after the call, as `addLogs` reads its entries: each operation is read once, before
  /// the batch runs.
  ///
  /// The batch runs under `statementTimeoutMs` of `open`, when given: past it, it is
  /// interrupted, rolled back whole, and rejects with `TIMEOUT`.
  ///
  /// Rejects with the first failing operation's code (its message names `operations[i]`),
  /// `INVALID_ARGUMENT` for a malformed list or a `ref` that names no earlier operation
  /// resolving with a row of the field's kind (nothing runs), `BUSY`, `TIMEOUT`,
  /// `INTERRUPTED` (by `close()`) or `DATABASE_CLOSED` (also when `close()` is called before a
  /// long list is read whole).
  #[napi(
    catch_unwind,
    ts_generic_types = "const Operations extends readonly BatchOperation[]",
    ts_args_type = "operations: Operations",
    ts_return_type = "Promise<BatchResultsOf<Operations>>"
  )]
  pub fn batch(&self, env: Env, operations: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::Batch, &[operations]))
  }
}
