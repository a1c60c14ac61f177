//! Every write the typed API can perform, as one value of [`Command`].
//!
//! A command is read once from its arguments, the same way whether it arrives as a method
//! call (`updateAgent(id, patch)`, whose arguments the addon hands over as the object
//! `{ id, patch }`) or as an operation of a batch (`{ op: 'updateAgent', id, patch }`): both
//! go through [`Command::read`]. It is read and validated before the writer takes SQLite's
//! write lock, so bad input is refused at once even while another process holds the lock,
//! and the lock is held only while the command's SQL runs ([`Command::run`]).

use rusqlite::Connection;
use serde::Serialize;

use crate::agents::{self, Agent, AgentPatch, NewAgent};
use crate::cascade;
use crate::checkpoints::{self, Checkpoint, NewCheckpoint};
use crate::error::{Error, Result};
use crate::forks::{self, Fork, ForkRequest};
use crate::input::fields::{Fields, Source};
use crate::input::read::{self as inputs, LogPlace};
use crate::input::tree::{decode, Input};
use crate::logs::{self, Appended, LogPatch, NewLog, SessionLog};
use crate::migrations::required;
use crate::model::{LogChildren, SessionStatus};
use crate::refs::{self, Ref};
use crate::sessions::{self, NewSession, Session, SessionPatch};
use crate::sql::{self, json_sql_value, Changes, Params};
use crate::trash;
use crate::usage::{self, NewUsage, Recorded};

/// The kinds of command, each named as its `Database` method (and its batch `op`), with its
/// arguments in the method's order. The one list the batch `op` names, the argument objects
/// and the error messages are built from.
const KINDS: [(Kind, &str, &[&str]); 22] = [
  (Kind::CreateAgent, "createAgent", &["input"]),
  (Kind::UpdateAgent, "updateAgent", &["id", "patch"]),
  (Kind::DeleteAgent, "deleteAgent", &["id", "options"]),
  (Kind::RestoreAgent, "restoreAgent", &["id"]),
  (Kind::CreateSession, "createSession", &["input"]),
  (Kind::UpdateSession, "updateSession", &["id", "patch"]),
  (Kind::UpdateSessionStatus, "updateSessionStatus", &["id", "status"]),
  (Kind::DeleteSession, "deleteSession", &["id", "options"]),
  (Kind::RestoreSession, "restoreSession", &["id"]),
  (Kind::ForkSession, "forkSession", &["sessionId", "options"]),
  (Kind::AddLog, "addLog", &["input"]),
  (Kind::AddLogs, "addLogs", &["inputs"]),
  (Kind::UpdateLog, "updateLog", &["id", "patch"]),
  (Kind::AppendLogText, "appendLogText", &["id", "options"]),
  (Kind::FinishLog, "finishLog", &["id", "options"]),
  (Kind::DeleteLog, "deleteLog", &["id", "options"]),
  (Kind::DeleteLogs, "deleteLogs", &["sessionId"]),
  (Kind::SetCheckpoint, "setCheckpoint", &["sessionId", "checkpoint"]),
  (Kind::ClearCheckpoint, "clearCheckpoint", &["sessionId"]),
  (Kind::RecordUsage, "recordUsage", &["input"]),
  (Kind::Execute, "execute", &["sql", "params"]),
  (Kind::Batch, "batch", &["operations"]),
];

/// Which command: one per write method of `Database`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
  /// `createAgent(input)`
  CreateAgent,
  /// `updateAgent(id, patch)`
  UpdateAgent,
  /// `deleteAgent(id, options)`
  DeleteAgent,
  /// `restoreAgent(id)`
  RestoreAgent,
  /// `createSession(input)`
  CreateSession,
  /// `updateSession(id, patch)`
  UpdateSession,
  /// `updateSessionStatus(id, status)`
  UpdateSessionStatus,
  /// `deleteSession(id, options)`
  DeleteSession,
  /// `restoreSession(id)`
  RestoreSession,
  /// `forkSession(sessionId, options)`
  ForkSession,
  /// `addLog(input)`
  AddLog,
  /// `addLogs(inputs)`
  AddLogs,
  /// `updateLog(id, patch)`
  UpdateLog,
  /// `appendLogText(id, options)`
  AppendLogText,
  /// `finishLog(id, options)`
  FinishLog,
  /// `deleteLog(id, options)`
  DeleteLog,
  /// `deleteLogs(sessionId)`
  DeleteLogs,
  /// `setCheckpoint(sessionId, checkpoint)`
  SetCheckpoint,
  /// `clearCheckpoint(sessionId)`
  ClearCheckpoint,
  /// `recordUsage(input)`
  RecordUsage,
  /// `execute(sql, params)`
  Execute,
  /// `batch(operations)`
  Batch,
}

impl Kind {
  fn entry(self) -> &'static (Kind, &'static str, &'static [&'static str]) {
    KINDS.iter().find(|(kind, _, _)| *kind == self).unwrap_or_else(|| unreachable!("every kind is in KINDS"))
  }

  /// The method's name, which is also the batch `op`.
  pub fn name(self) -> &'static str {
    self.entry().1
  }

  /// The names of the method's arguments, in order.
  pub fn args(self) -> &'static [&'static str] {
    self.entry().2
  }

  /// Every kind, in the order of the `BatchOperation` union in the typings, `Batch` last.
  pub fn all() -> impl Iterator<Item = Kind> {
    KINDS.iter().map(|(kind, _, _)| *kind)
  }

  /// The kind named `op` in a batch; a batch cannot nest another.
  fn of_operation(op: &str, what: &dyn std::fmt::Display) -> Result<Kind> {
    KINDS.iter().find(|(kind, name, _)| *name == op && *kind != Kind::Batch).map(|(kind, _, _)| *kind).ok_or_else(|| {
      let names: Vec<&str> = KINDS.iter().filter(|(kind, _, _)| *kind != Kind::Batch).map(|(_, name, _)| *name).collect();
      Error::invalid(format!("{what} {op:?} is not a batch operation ({})", names.join(", ")))
    })
  }
}

/// One write, read and validated, ready to run.
#[derive(Clone, Debug)]
pub enum Command {
  /// `createAgent(input)`
  CreateAgent(NewAgent),
  /// `updateAgent(id, patch)`
  UpdateAgent(String, AgentPatch),
  /// `deleteAgent(id, options)`: the agent, and whether to move it to the trash (`soft`)
  /// instead of deleting it.
  DeleteAgent(String, bool),
  /// `restoreAgent(id)`
  RestoreAgent(String),
  /// `createSession(input)`
  CreateSession(NewSession),
  /// `updateSession(id, patch)`
  UpdateSession(String, SessionPatch),
  /// `updateSessionStatus(id, status)`
  UpdateSessionStatus(String, SessionStatus),
  /// `deleteSession(id, options)`: the session, and whether to move it to the trash
  /// (`soft`) instead of deleting it.
  DeleteSession(String, bool),
  /// `restoreSession(id)`
  RestoreSession(String),
  /// `forkSession(sessionId, options)`
  ForkSession(ForkRequest),
  /// `addLog(input)`
  AddLog(NewLog),
  /// `addLogs(inputs)`
  AddLogs(Vec<NewLog>),
  /// `updateLog(id, patch)`, with where the patch says the entry is.
  UpdateLog(i64, LogPatch, LogPlace),
  /// `appendLogText(id, options)`: the entry, the SQLite JSON path of a string in its
  /// content, and the text to append.
  AppendLogText(i64, String, String),
  /// `finishLog(id, options)`: the entry and the status (and final content) it gets.
  FinishLog(i64, LogPatch),
  /// `deleteLog(id, options)`: one entry, and what happens to the entries under it.
  DeleteLog(i64, LogChildren),
  /// `deleteLogs(sessionId)`
  DeleteLogs(String),
  /// `setCheckpoint(sessionId, checkpoint)`
  SetCheckpoint(String, NewCheckpoint),
  /// `clearCheckpoint(sessionId)`
  ClearCheckpoint(String),
  /// `recordUsage(input)`
  RecordUsage(NewUsage),
  /// `execute(sql, params)`
  Execute(String, Params),
  /// `batch(operations)`: every command happens, or none.
  Batch(Vec<Operation>),
}

/// One operation of a batch: its command, and the references its fields make to the rows
/// of earlier operations ([`crate::refs`]), filled in just before it runs.
#[derive(Clone, Debug)]
pub struct Operation {
  /// The command, read with a stand-in id in each referring field.
  pub command: Command,
  /// Its references, none for most operations.
  pub refs: Vec<Ref>,
}

impl From<Command> for Operation {
  fn from(command: Command) -> Operation {
    Operation { command, refs: Vec::new() }
  }
}

impl Operation {
  /// Runs the command, with the ids its references name put in from the outcomes of the
  /// operations before it.
  fn run(&self, conn: &Connection, earlier: &[Outcome]) -> Result<Outcome> {
    if self.refs.is_empty() {
      return self.command.run(conn);
    }
    let mut command = self.command.clone();
    for reference in &self.refs {
      reference.fill(&mut command, earlier);
    }
    command.run(conn)
  }
}

/// The result of a command: what its method resolves with.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
  /// From createAgent / updateAgent.
  Agent(Agent),
  /// From createSession / updateSession / updateSessionStatus.
  Session(Session),
  /// From forkSession.
  Fork(Fork),
  /// From addLog / updateLog.
  Log(SessionLog),
  /// From addLogs.
  Logs(Vec<SessionLog>),
  /// From addLogs with `returning: 'ids'`: the new entries' ids, in order.
  Ids(Vec<i64>),
  /// From appendLogText.
  Appended(Appended),
  /// From setCheckpoint.
  Checkpoint(Checkpoint),
  /// From deleteAgent / deleteSession: whether the row existed (was moved to the trash);
  /// from restoreAgent / restoreSession: whether it was in the trash; from clearCheckpoint:
  /// whether there was one.
  Deleted(bool),
  /// From deleteLog / deleteLogs: how many entries were deleted.
  Count(u64),
  /// From recordUsage.
  Usage(Recorded),
  /// From execute.
  Changes(Changes),
  /// From batch: each operation's outcome, in order.
  Batch(Vec<Outcome>),
}

/// What a write resolves with: its rows as stored, or only their ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Returning {
  /// The rows as stored (the default).
  #[default]
  Rows,
  /// Only the ids of the rows written (`returning: 'ids'`).
  Ids,
}

impl Returning {
  /// Reads `returning` (`'rows'` or `'ids'`) from the field `what`.
  pub fn parse(value: &str, what: &str) -> Result<Returning> {
    match value {
      "rows" => Ok(Returning::Rows),
      "ids" => Ok(Returning::Ids),
      other => Err(Error::invalid(format!("{what} must be 'rows' or 'ids', got {other:?}"))),
    }
  }
}

impl Outcome {
  /// The outcome as `returning` asks for it: with [`Returning::Ids`], the entries of `addLogs`
  /// become their ids.
  pub fn returning(self, returning: Returning) -> Outcome {
    match (returning, self) {
      (Returning::Ids, Outcome::Logs(logs)) => Outcome::Ids(logs.into_iter().map(|log| log.id).collect()),
      (_, outcome) => outcome,
    }
  }
}

impl Command {
  /// Reads a command of `kind` from the JSON text of its arguments object (`{ id, patch }`
  /// for `updateAgent`), as the addon hands a method call over.
  pub fn decode(kind: Kind, text: &str) -> Result<Command> {
    decode(text, "", |args, what| Command::read(kind, &Fields::of(args, what, kind.args(), false)?))
  }

  /// Reads a command of `kind` from its arguments, by name: the fields of a method call's
  /// arguments object or of a batch operation. Every error names the argument's path.
  pub fn read<'a>(kind: Kind, f: &Fields<&'a Input<'a>>) -> Result<Command> {
    let arg = |name: &str| -> Result<&'a Input<'a>> { f.get(name)?.ok_or_else(|| f.missing(name)) };
    let path = |name: &str| f.path(name).to_string();
    let id = || f.required("id", |v, p| v.id(p));
    Ok(match kind {
      Kind::CreateAgent => Command::CreateAgent(inputs::new_agent(arg("input")?, &path("input"))?),
      Kind::UpdateAgent => {
        let id = id()?;
        let patch = inputs::agent_patch(arg("patch")?, &path("patch"), &id)?;
        Command::UpdateAgent(id, patch)
      }
      Kind::DeleteAgent => Command::DeleteAgent(id()?, inputs::delete_options(f.get("options")?, &path("options"))?),
      Kind::RestoreAgent => Command::RestoreAgent(id()?),
      Kind::CreateSession => Command::CreateSession(inputs::new_session(arg("input")?, &path("input"))?),
      Kind::UpdateSession => {
        let id = id()?;
        let patch = inputs::session_patch(arg("patch")?, &path("patch"), &id)?;
        Command::UpdateSession(id, patch)
      }
      Kind::UpdateSessionStatus => Command::UpdateSessionStatus(id()?, f.required("status", inputs::session_status)?),
      Kind::DeleteSession => Command::DeleteSession(id()?, inputs::delete_options(f.get("options")?, &path("options"))?),
      Kind::RestoreSession => Command::RestoreSession(id()?),
      Kind::ForkSession => {
        Command::ForkSession(inputs::fork_request(f.required("sessionId", |v, p| v.id(p))?, f.get("options")?, &path("options"))?)
      }
      Kind::AddLog => Command::AddLog(inputs::new_log(arg("input")?, &path("input"))?),
      Kind::AddLogs => Command::AddLogs(inputs::new_logs(arg("inputs")?, &path("inputs"))?),
      Kind::UpdateLog => {
        let id = f.required("id", inputs::log_id)?;
        let (patch, place) = inputs::log_patch(arg("patch")?, &path("patch"), id)?;
        Command::UpdateLog(id, patch, place)
      }
      Kind::AppendLogText => {
        let id = f.required("id", inputs::log_id)?;
        let (path, delta) = inputs::append_text_options(arg("options")?, &path("options"))?;
        Command::AppendLogText(id, path, delta)
      }
      Kind::FinishLog => {
        Command::FinishLog(f.required("id", inputs::log_id)?, inputs::finish_options(arg("options")?, &path("options"))?)
      }
      Kind::DeleteLog => {
        Command::DeleteLog(f.required("id", inputs::log_id)?, inputs::delete_log_options(arg("options")?, &path("options"))?)
      }
      Kind::DeleteLogs => Command::DeleteLogs(f.required("sessionId", |v, p| v.id(p))?),
      Kind::SetCheckpoint => Command::SetCheckpoint(
        f.required("sessionId", |v, p| v.id(p))?,
        inputs::new_checkpoint(arg("checkpoint")?, &path("checkpoint"))?,
      ),
      Kind::ClearCheckpoint => Command::ClearCheckpoint(f.required("sessionId", |v, p| v.id(p))?),
      Kind::RecordUsage => Command::RecordUsage(usage::read_new_usage(arg("input")?, &path("input"))?),
      Kind::Execute => Command::Execute(
        f.required_string("sql")?,
        sql::params(f.get("params")?, &path("params"), |v, what| json_sql_value(&v.to_value(), what))?,
      ),
      Kind::Batch => Command::Batch(operations(arg("operations")?, &path("operations"))?),
    })
  }

  /// Refuses, with `TRASHED`, a write into an agent or session in the trash (or into the
  /// logs of a session there); deletes, restores and clearing a checkpoint are not refused.
  fn refuse_trashed(&self, conn: &Connection) -> Result<()> {
    match self {
      Command::UpdateAgent(id, _) => trash::refuse_agent(conn, id),
      Command::CreateSession(input) => trash::refuse_agent(conn, &input.main_agent_id),
      Command::UpdateSession(id, patch) => {
        trash::refuse_session(conn, id)?;
        patch.main_agent_id.as_deref().map_or(Ok(()), |agent| trash::refuse_agent(conn, agent))
      }
      Command::UpdateSessionStatus(id, _) | Command::DeleteLogs(id) | Command::SetCheckpoint(id, _) => {
        trash::refuse_session(conn, id)
      }
      Command::ForkSession(request) => trash::refuse_session(conn, &request.source),
      Command::AddLog(input) => trash::refuse_session(conn, &input.session_id),
      Command::AddLogs(inputs) => {
        let mut seen = std::collections::HashSet::new();
        inputs
          .iter()
          .filter(|input| seen.insert(input.session_id.as_str()))
          .try_for_each(|input| trash::refuse_session(conn, &input.session_id))
      }
      Command::UpdateLog(id, _, _) | Command::AppendLogText(id, _, _) | Command::FinishLog(id, _) | Command::DeleteLog(id, _) => {
        trash::refuse_log(conn, *id)
      }
      Command::CreateAgent(_)
      | Command::DeleteAgent(..)
      | Command::RestoreAgent(_)
      | Command::DeleteSession(..)
      | Command::RestoreSession(_)
      | Command::ClearCheckpoint(_)
      | Command::RecordUsage(_)
      | Command::Execute(..)
      | Command::Batch(_) => Ok(()),
    }
  }

  /// [`Command::run`], then refuses with `LOG_TOO_LARGE` a log it left larger than
  /// `max_log_bytes` (`open`'s `maxLogBytes`): the caller's savepoint then undoes the write.
  pub fn run_within(&self, conn: &Connection, max_log_bytes: Option<u64>) -> Result<Outcome> {
    let outcome = self.run(conn)?;
    if let Some(limit) = max_log_bytes {
      check_sizes(conn, &outcome, limit)?;
    }
    Ok(outcome)
  }

  /// Runs the command on the writer's connection, inside the transaction (or savepoint) the
  /// writer opened for it. A typed command on a file that lacks the library's migrations
  /// fails with `NOT_MIGRATED` (see [`required::explain`]); `execute`'s SQL is the app's, and
  /// a batch's operations each report their own.
  pub fn run(&self, conn: &Connection) -> Result<Outcome> {
    let outcome = self.run_unexplained(conn);
    match self {
      Command::Execute(..) | Command::Batch(..) => outcome,
      _ => outcome.map_err(|err| required::explain(conn, err)),
    }
  }

  fn run_unexplained(&self, conn: &Connection) -> Result<Outcome> {
    self.refuse_trashed(conn)?;
    Ok(match self {
      Command::CreateAgent(input) => Outcome::Agent(agents::create(conn, input)?),
      Command::UpdateAgent(id, patch) => Outcome::Agent(agents::update(conn, id, patch)?),
      Command::DeleteAgent(id, false) => Outcome::Deleted(cascade::delete_agent(conn, id)?),
      Command::DeleteAgent(id, true) => Outcome::Deleted(trash::trash_agent(conn, id)?),
      Command::RestoreAgent(id) => Outcome::Deleted(trash::restore_agent(conn, id)?),
      Command::CreateSession(input) => Outcome::Session(sessions::create(conn, input)?),
      Command::UpdateSession(id, patch) => Outcome::Session(sessions::update(conn, id, patch)?),
      Command::UpdateSessionStatus(id, status) => {
        Outcome::Session(sessions::update(conn, id, &SessionPatch { status: Some(*status), ..Default::default() })?)
      }
      Command::DeleteSession(id, false) => Outcome::Deleted(cascade::delete_session(conn, id)?),
      Command::DeleteSession(id, true) => Outcome::Deleted(trash::trash_session(conn, id)?),
      Command::RestoreSession(id) => Outcome::Deleted(trash::restore_session(conn, id)?),
      Command::ForkSession(request) => Outcome::Fork(forks::fork(conn, request)?),
      Command::AddLog(input) => Outcome::Log(logs::add(conn, input)?),
      Command::AddLogs(inputs) => Outcome::Logs(logs::add_many(conn, inputs)?),
      Command::UpdateLog(id, patch, place) => {
        check_place(conn, *id, place)?;
        Outcome::Log(logs::update(conn, *id, patch)?)
      }
      Command::AppendLogText(id, path, delta) => Outcome::Appended(logs::append_text(conn, *id, path, delta)?),
      Command::FinishLog(id, patch) => Outcome::Log(logs::update(conn, *id, patch)?),
      Command::DeleteLog(id, children) => Outcome::Count(cascade::delete_log(conn, *id, *children)?),
      Command::DeleteLogs(session_id) => Outcome::Count(cascade::delete_session_logs(conn, session_id)?),
      Command::SetCheckpoint(session_id, input) => Outcome::Checkpoint(checkpoints::set(conn, session_id, input)?),
      Command::ClearCheckpoint(session_id) => Outcome::Deleted(checkpoints::clear(conn, session_id)?),
      Command::RecordUsage(input) => Outcome::Usage(usage::record(conn, input)?),
      Command::Execute(sql_text, params) => Outcome::Changes(sql::execute(conn, sql_text, params)?),
      Command::Batch(operations) => {
        let mut outcomes = Vec::with_capacity(operations.len());
        for (i, operation) in operations.iter().enumerate() {
          outcomes.push(operation.run(conn, &outcomes).map_err(|e| e.context(format!("operations[{i}]")))?);
        }
        Outcome::Batch(outcomes)
      }
    })
  }
}

/// Refuses every log an outcome holds (or names) that is larger than `limit` stored bytes.
fn check_sizes(conn: &Connection, outcome: &Outcome, limit: u64) -> Result<()> {
  match outcome {
    Outcome::Log(log) => logs::check_size(log.id, logs::stored_bytes(log), limit),
    Outcome::Logs(logs) => logs.iter().enumerate().try_for_each(|(i, log)| {
      logs::check_size(log.id, logs::stored_bytes(log), limit).map_err(|e| e.context(format!("logs[{i}]")))
    }),
    Outcome::Appended(appended) => logs::check_size(appended.id, logs::stored_bytes_of(conn, appended.id)?, limit),
    Outcome::Batch(outcomes) => outcomes
      .iter()
      .enumerate()
      .try_for_each(|(i, outcome)| check_sizes(conn, outcome, limit).map_err(|e| e.context(format!("operations[{i}]")))),
    _ => Ok(()),
  }
}

/// Refuses a log patch that would move entry `id`: a `sessionId` or `parentId` it gives must
/// be the entry's own. A missing entry passes, for the update to report.
fn check_place(conn: &Connection, id: i64, place: &LogPlace) -> Result<()> {
  if *place == LogPlace::default() {
    return Ok(());
  }
  let Some(entry) = logs::get(conn, id)? else { return Ok(()) };
  if let Some(session_id) = place.session_id.as_ref().filter(|&given| *given != entry.session_id) {
    return Err(Error::invalid(format!(
      "patch.sessionId is {session_id:?}, but log {id} belongs to session {:?}: an entry cannot move to another session",
      entry.session_id
    )));
  }
  if let Some(parent_id) = place.parent_id.filter(|&given| given != entry.parent_id) {
    let name = |parent: Option<i64>| parent.map_or_else(|| "null".to_string(), |p| p.to_string());
    return Err(Error::invalid(format!(
      "patch.parentId is {}, but the parent of log {id} is {}: an entry cannot move under another parent",
      name(parent_id),
      name(entry.parent_id)
    )));
  }
  Ok(())
}

/// Reads a batch's operations: each `{ op, …arguments }`, read as the method `op` names, with
/// its references to earlier operations.
fn operations(value: &Input, what: &str) -> Result<Vec<Operation>> {
  let mut every_field = vec!["op"];
  every_field.extend(KINDS.iter().flat_map(|(_, _, args)| args.iter()).filter(|&&name| name != "operations"));
  let mut kinds = Vec::new();
  let mut operations = Vec::new();
  for (i, item) in value.elements(what)?.into_iter().enumerate() {
    let what = format!("{what}[{i}]");
    let op = Fields::of(item, &what, &every_field, false)?.required_string("op")?;
    let kind = Kind::of_operation(&op, &format!("{what}.op"))?;
    let mut allowed = vec!["op"];
    allowed.extend(kind.args());
    let (detached, refs) = refs::detach(item, &what, kind, &kinds)?;
    let command = Command::read(kind, &Fields::of(detached.as_ref().unwrap_or(item), &what, &allowed, false)?)?;
    kinds.push(kind);
    operations.push(Operation { command, refs });
  }
  Ok(operations)
}
