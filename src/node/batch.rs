//! `batch`: several writes as one atomic unit.

use napi::Env;
use napi_derive::napi;

use crate::core::batch::{self, Operation};
use crate::core::error::{Error, Result};
use crate::node::database::Database;
use crate::node::inputs;
use crate::node::js::{Fields, JsArg, JsReturn};
use crate::node::json::JsonText;
use crate::node::sql::statement;

/// Reads one `{ op, … }` object.
fn operation(value: JsArg, what: &str) -> Result<Operation> {
  let kind = Fields::of(value, what, &["op", "id", "input", "patch", "status", "inputs", "sessionId", "sql", "params"], false)?
    .required_string("op")?;
  let fields = |allowed: &[&str]| Fields::of(value, what, allowed, false);
  let id = |f: &Fields| f.parsed("id", |v, p| v.id(p))?.ok_or_else(|| Error::invalid(format!("{} is required", f.path("id"))));
  let arg = |f: &Fields, name: &str| f.get(name)?.ok_or_else(|| Error::invalid(format!("{} is required", f.path(name))));
  Ok(match kind.as_str() {
    "createAgent" => {
      let f = fields(&["op", "input"])?;
      Operation::CreateAgent(inputs::new_agent(arg(&f, "input")?, &f.path("input"))?)
    }
    "updateAgent" => {
      let f = fields(&["op", "id", "patch"])?;
      Operation::UpdateAgent(id(&f)?, inputs::agent_patch(arg(&f, "patch")?, &f.path("patch"))?)
    }
    "deleteAgent" => Operation::DeleteAgent(id(&fields(&["op", "id"])?)?),
    "createSession" => {
      let f = fields(&["op", "input"])?;
      Operation::CreateSession(inputs::new_session(arg(&f, "input")?, &f.path("input"))?)
    }
    "updateSession" => {
      let f = fields(&["op", "id", "patch"])?;
      Operation::UpdateSession(id(&f)?, inputs::session_patch(arg(&f, "patch")?, &f.path("patch"))?)
    }
    "updateSessionStatus" => {
      let f = fields(&["op", "id", "status"])?;
      Operation::UpdateSessionStatus(id(&f)?, inputs::session_status(arg(&f, "status")?, &f.path("status"))?)
    }
    "deleteSession" => Operation::DeleteSession(id(&fields(&["op", "id"])?)?),
    "addLog" => {
      let f = fields(&["op", "input"])?;
      Operation::AddLog(inputs::new_log(arg(&f, "input")?, &f.path("input"))?)
    }
    "addLogs" => {
      let f = fields(&["op", "inputs"])?;
      Operation::AddLogs(inputs::new_logs(arg(&f, "inputs")?, &f.path("inputs"))?)
    }
    "updateLog" => {
      let f = fields(&["op", "id", "patch"])?;
      let log = inputs::log_id(arg(&f, "id")?, &f.path("id"))?;
      Operation::UpdateLog(log, inputs::log_patch(arg(&f, "patch")?, &f.path("patch"))?)
    }
    "deleteLogs" => {
      let f = fields(&["op", "sessionId"])?;
      Operation::DeleteLogs(arg(&f, "sessionId")?.id(&f.path("sessionId"))?)
    }
    "execute" => {
      let f = fields(&["op", "sql", "params"])?;
      let (sql, params) = statement(arg(&f, "sql")?, f.get("params")?)?;
      Operation::Execute(sql, params)
    }
    other => {
      return Err(Error::invalid(format!(
        "{what}.op {other:?} is not a batch operation (createAgent, updateAgent, deleteAgent, createSession, updateSession, \
         updateSessionStatus, deleteSession, addLog, addLogs, updateLog, deleteLogs, execute)"
      )))
    }
  })
}

#[napi]
impl Database {
  /// Runs several writes as one atomic unit: all of them happen, or none. Each operation is
  /// `{ op, … }` with the arguments of the method of that name (e.g. `{ op: 'createSession',
  /// input }`, `{ op: 'addLog', input }`, `{ op: 'updateSessionStatus', id, status }`,
  /// `{ op: 'execute', sql, params }`); the Promise resolves with each method's result, in
  /// order. No application code runs while the transaction is open, so a batch cannot
  /// deadlock or be left open by an exception: code that throws while building the list
  /// simply never sends it. Give ids in the inputs to link rows created in one batch.
  ///
  /// Rejects with the first failing operation's code (its message names `operations[i]`),
  /// `INVALID_ARGUMENT` for a malformed list (nothing runs), `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "operations: BatchOperation[]", ts_return_type = "Promise<BatchResult[]>")]
  pub fn batch(&self, env: Env, operations: JsArg) -> napi::Result<JsReturn> {
    let ops = operations
      .elements("operations")
      .and_then(|items| items.into_iter().enumerate().map(|(i, item)| operation(item, &format!("operations[{i}]"))).collect::<Result<Vec<_>>>());
    self.write(env, ops, |conn, ops| Ok(JsonText::of(&batch::run(conn, &ops)?)))
  }
}
