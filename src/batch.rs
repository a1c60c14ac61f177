//! `batch`: several writes as one atomic unit.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use crate::sql::{json_sql_value, params};
use agentdb_core::batch::{self, Operation};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::read::{self as inputs, decode};
use agentdb_core::input::tree::Input;

/// Reads one `{ op, … }` object.
fn operation<'a>(value: &'a Input<'a>, what: &str) -> Result<Operation> {
  let all = ["op", "id", "input", "patch", "status", "inputs", "sessionId", "sql", "params"];
  let kind = Fields::of(value, what, &all, false)?.required_string("op")?;
  let fields = |allowed: &[&str]| Fields::of(value, what, allowed, false);
  let id = |f: &Fields<&'a Input<'a>>| f.required("id", |v, p| v.id(p));
  let arg = |f: &Fields<&'a Input<'a>>, name: &str| -> Result<&'a Input<'a>> { f.get(name)?.ok_or_else(|| f.missing(name)) };
  let path = |name: &str| format!("{what}.{name}");
  Ok(match kind.as_str() {
    "createAgent" => Operation::CreateAgent(inputs::new_agent(arg(&fields(&["op", "input"])?, "input")?, &path("input"))?),
    "updateAgent" => {
      let f = fields(&["op", "id", "patch"])?;
      Operation::UpdateAgent(id(&f)?, inputs::agent_patch(arg(&f, "patch")?, &path("patch"))?)
    }
    "deleteAgent" => Operation::DeleteAgent(id(&fields(&["op", "id"])?)?),
    "createSession" => Operation::CreateSession(inputs::new_session(arg(&fields(&["op", "input"])?, "input")?, &path("input"))?),
    "updateSession" => {
      let f = fields(&["op", "id", "patch"])?;
      Operation::UpdateSession(id(&f)?, inputs::session_patch(arg(&f, "patch")?, &path("patch"))?)
    }
    "updateSessionStatus" => {
      let f = fields(&["op", "id", "status"])?;
      Operation::UpdateSessionStatus(id(&f)?, f.required("status", inputs::session_status)?)
    }
    "deleteSession" => Operation::DeleteSession(id(&fields(&["op", "id"])?)?),
    "addLog" => Operation::AddLog(inputs::new_log(arg(&fields(&["op", "input"])?, "input")?, &path("input"))?),
    "addLogs" => Operation::AddLogs(inputs::new_logs(arg(&fields(&["op", "inputs"])?, "inputs")?, &path("inputs"))?),
    "updateLog" => {
      let f = fields(&["op", "id", "patch"])?;
      Operation::UpdateLog(f.required("id", inputs::log_id)?, inputs::log_patch(arg(&f, "patch")?, &path("patch"))?)
    }
    "deleteLogs" => Operation::DeleteLogs(fields(&["op", "sessionId"])?.required("sessionId", |v, p| v.id(p))?),
    "execute" => {
      let f = fields(&["op", "sql", "params"])?;
      Operation::Execute(
        f.required_string("sql")?,
        params(f.get("params")?, &path("params"), |v, what| json_sql_value(&v.to_value(), what))?,
      )
    }
    other => {
      return Err(Error::invalid(format!(
        "{what}.op {other:?} is not a batch operation (createAgent, updateAgent, deleteAgent, createSession, updateSession, \
         updateSessionStatus, deleteSession, addLog, addLogs, updateLog, deleteLogs, execute)"
      )))
    }
  })
}

/// Reads the list of operations.
fn operations(value: &Input, what: &str) -> Result<Vec<Operation>> {
  value.elements(what)?.into_iter().enumerate().map(|(i, item)| operation(item, &format!("{what}[{i}]"))).collect()
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
    self.guard(env, || {
      let text = self.encode(&env, operations, "operations");
      self.write(env, text, |conn, text| {
        let ops = decode(&text, "operations", self::operations)?;
        Ok(JsonText::of(&batch::run(conn, &ops)?))
      })
    })
  }
}
