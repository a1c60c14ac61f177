//! Atomic batches: several writes that happen together or not at all.
//!
//! A batch is a list of operations decided before it runs, so no application code runs while
//! the transaction is open: a batch cannot deadlock, and an exception thrown while building it
//! simply means it is never sent. The batch runs as one write of the writer's group commit;
//! the first failing operation rolls back every operation of the batch.

use rusqlite::Connection;
use serde::Serialize;

use crate::agents::{self, Agent, AgentPatch, NewAgent};
use crate::error::Result;
use crate::logs::{self, LogPatch, NewLog, SessionLog};
use crate::model::SessionStatus;
use crate::sessions::{self, NewSession, Session, SessionPatch};
use crate::sql::{self, Changes, Params};

/// One write of a batch; each has the meaning of the `Database` method of the same name.
#[derive(Clone, Debug)]
pub enum Operation {
  /// `createAgent(input)`
  CreateAgent(NewAgent),
  /// `updateAgent(id, patch)`
  UpdateAgent(String, AgentPatch),
  /// `deleteAgent(id)`
  DeleteAgent(String),
  /// `createSession(input)`
  CreateSession(NewSession),
  /// `updateSession(id, patch)`
  UpdateSession(String, SessionPatch),
  /// `updateSessionStatus(id, status)`
  UpdateSessionStatus(String, SessionStatus),
  /// `deleteSession(id)`
  DeleteSession(String),
  /// `addLog(input)`
  AddLog(NewLog),
  /// `addLogs(inputs)`
  AddLogs(Vec<NewLog>),
  /// `updateLog(id, patch)`
  UpdateLog(i64, LogPatch),
  /// `deleteLogs(sessionId)`
  DeleteLogs(String),
  /// `execute(sql, params)`
  Execute(String, Params),
}

/// The result of one operation: what its method would have resolved with.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
  /// From createAgent / updateAgent.
  Agent(Agent),
  /// From createSession / updateSession / updateSessionStatus.
  Session(Session),
  /// From addLog / updateLog.
  Log(SessionLog),
  /// From addLogs.
  Logs(Vec<SessionLog>),
  /// From deleteAgent / deleteSession: whether the row existed.
  Deleted(bool),
  /// From deleteLogs: how many entries were deleted.
  Count(u64),
  /// From execute.
  Changes(Changes),
}

impl Operation {
  /// Runs this operation.
  pub fn run(&self, conn: &Connection) -> Result<Outcome> {
    Ok(match self {
      Operation::CreateAgent(input) => Outcome::Agent(agents::create(conn, input)?),
      Operation::UpdateAgent(id, patch) => Outcome::Agent(agents::update(conn, id, patch)?),
      Operation::DeleteAgent(id) => Outcome::Deleted(agents::delete(conn, id)?),
      Operation::CreateSession(input) => Outcome::Session(sessions::create(conn, input)?),
      Operation::UpdateSession(id, patch) => Outcome::Session(sessions::update(conn, id, patch)?),
      Operation::UpdateSessionStatus(id, status) => {
        Outcome::Session(sessions::update(conn, id, &SessionPatch { status: Some(*status), ..Default::default() })?)
      }
      Operation::DeleteSession(id) => Outcome::Deleted(sessions::delete(conn, id)?),
      Operation::AddLog(input) => Outcome::Log(logs::add(conn, input)?),
      Operation::AddLogs(inputs) => Outcome::Logs(logs::add_many(conn, inputs)?),
      Operation::UpdateLog(id, patch) => Outcome::Log(logs::update(conn, *id, patch)?),
      Operation::DeleteLogs(session_id) => Outcome::Count(logs::delete_for_session(conn, session_id)?),
      Operation::Execute(sql_text, params) => Outcome::Changes(sql::execute(conn, sql_text, params)?),
    })
  }
}

/// Runs every operation in order inside the caller's transaction (or savepoint); the first
/// failure is returned naming its index, and the caller rolls everything back.
pub fn run(conn: &Connection, operations: &[Operation]) -> Result<Vec<Outcome>> {
  operations.iter().enumerate().map(|(i, op)| op.run(conn).map_err(|e| e.context(format!("operations[{i}]")))).collect()
}
