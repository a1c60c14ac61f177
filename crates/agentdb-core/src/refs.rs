//! References, inside a batch, to the rows earlier operations of the same batch create: where
//! an operation names an agent, a session or a log by id, it may give `{ ref: i }` instead,
//! the row operation `i` resolved with. A log's id is only known once it is written, so this
//! is how a reply and its tool calls (whose `parentId` is the reply) go in one batch.
//!
//! A reference is read with the batch, before anything runs: it must name an earlier
//! operation whose result is one row of the kind the field takes, or the whole batch is
//! refused with `INVALID_ARGUMENT` naming the field. The operation is read with a stand-in
//! id in the field ([`detach`]), and the real id is put in just before it runs ([`Ref::fill`]).

use std::borrow::Cow;

use crate::command::{Command, Kind, Outcome};
use crate::error::{Error, Result};
use crate::input::fields::{Fields, Source};
use crate::input::tree::Input;
use crate::input::Kind as ValueKind;

/// The kinds of row a reference can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
  /// An agent, from createAgent or updateAgent.
  Agent,
  /// A session, from createSession, updateSession, updateSessionStatus or forkSession (the
  /// new session).
  Session,
  /// A log entry, from addLog, updateLog or finishLog.
  Log,
}

impl Row {
  /// The row an operation of `kind` resolves with, if it resolves with one row.
  fn of(kind: Kind) -> Option<Row> {
    match kind {
      Kind::CreateAgent | Kind::UpdateAgent => Some(Row::Agent),
      Kind::CreateSession | Kind::UpdateSession | Kind::UpdateSessionStatus | Kind::ForkSession => Some(Row::Session),
      Kind::AddLog | Kind::UpdateLog | Kind::FinishLog => Some(Row::Log),
      _ => None,
    }
  }

  fn name(self) -> &'static str {
    match self {
      Row::Agent => "an agent",
      Row::Session => "a session",
      Row::Log => "a log",
    }
  }

  /// The id a command is read with in place of a reference: a valid id of the field's kind.
  fn stand_in(self) -> Input<'static> {
    match self {
      Row::Log => Input::Number(1.into()),
      Row::Agent | Row::Session => Input::String(Cow::Borrowed("ref")),
    }
  }
}

/// Which field of an operation a reference fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
  /// The row the operation acts on: the `id` of an update, delete, appendLogText or
  /// finishLog, the `sessionId` of deleteLogs, forkSession, setCheckpoint and clearCheckpoint.
  Target,
  /// `input.mainAgentId` of createSession.
  MainAgent,
  /// The `sessionId` of a log input: addLog's `input` (0) or addLogs' `inputs[k]`.
  LogSession(usize),
  /// The `parentId` of a log input, as for [`Slot::LogSession`].
  LogParent(usize),
  /// `checkpoint.throughLogId` of setCheckpoint.
  CheckpointLog,
  /// `input.sessionId` of recordUsage.
  UsageSession,
  /// `input.logId` of recordUsage.
  UsageLog,
  /// `input.agentId` of recordUsage.
  UsageAgent,
}

/// A reference: the field it fills and the operation whose row it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
  /// The field.
  pub slot: Slot,
  /// The index of the earlier operation.
  pub target: usize,
}

/// The fields of an operation of `kind` that may hold a reference: where in the operation
/// object, the slot, and the kind of row the field takes.
fn fields(kind: Kind, item: &Input) -> Vec<(Vec<FieldStep>, Slot, Row)> {
  use FieldStep::{Key, Nth};
  match kind {
    Kind::UpdateAgent | Kind::DeleteAgent | Kind::RestoreAgent => vec![(vec![Key("id")], Slot::Target, Row::Agent)],
    Kind::UpdateSession | Kind::UpdateSessionStatus | Kind::DeleteSession | Kind::RestoreSession => {
      vec![(vec![Key("id")], Slot::Target, Row::Session)]
    }
    Kind::UpdateLog | Kind::AppendLogText | Kind::FinishLog | Kind::DeleteLog => {
      vec![(vec![Key("id")], Slot::Target, Row::Log)]
    }
    Kind::DeleteLogs | Kind::ForkSession | Kind::ClearCheckpoint => vec![(vec![Key("sessionId")], Slot::Target, Row::Session)],
    Kind::SetCheckpoint => vec![
      (vec![Key("sessionId")], Slot::Target, Row::Session),
      (vec![Key("checkpoint"), Key("throughLogId")], Slot::CheckpointLog, Row::Log),
    ],
    Kind::CreateSession => vec![(vec![Key("input"), Key("mainAgentId")], Slot::MainAgent, Row::Agent)],
    Kind::AddLog => vec![
      (vec![Key("input"), Key("sessionId")], Slot::LogSession(0), Row::Session),
      (vec![Key("input"), Key("parentId")], Slot::LogParent(0), Row::Log),
    ],
    Kind::AddLogs => {
      let count = match item.property("inputs", "") {
        Ok(Some(Input::Array(items))) => items.len(),
        _ => 0,
      };
      (0..count)
        .flat_map(|k| {
          [
            (vec![Key("inputs"), Nth(k), Key("sessionId")], Slot::LogSession(k), Row::Session),
            (vec![Key("inputs"), Nth(k), Key("parentId")], Slot::LogParent(k), Row::Log),
          ]
        })
        .collect()
    }
    Kind::RecordUsage => vec![
      (vec![Key("input"), Key("sessionId")], Slot::UsageSession, Row::Session),
      (vec![Key("input"), Key("logId")], Slot::UsageLog, Row::Log),
      (vec![Key("input"), Key("agentId")], Slot::UsageAgent, Row::Agent),
    ],
    Kind::CreateAgent | Kind::Execute | Kind::Batch => vec![],
  }
}

/// One step of a field's place in an operation object.
#[derive(Clone, Copy)]
enum FieldStep {
  /// An object's field.
  Key(&'static str),
  /// An array's element.
  Nth(usize),
}

/// The value at `steps` in `value`, to replace, if there is one.
fn place<'v, 'a>(value: &'v mut Input<'a>, steps: &[FieldStep]) -> Option<&'v mut Input<'a>> {
  let Some((first, rest)) = steps.split_first() else { return Some(value) };
  let next = match (first, value) {
    (FieldStep::Key(name), Input::Object(fields)) => fields.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v)?,
    (FieldStep::Nth(k), Input::Array(items)) => items.get_mut(*k)?,
    _ => return None,
  };
  place(next, rest)
}

/// The path of a field, for messages: `operations[2].inputs[0].parentId`.
fn path(what: &str, steps: &[FieldStep]) -> String {
  steps.iter().fold(what.to_string(), |path, step| match step {
    FieldStep::Key(name) => format!("{path}.{name}"),
    FieldStep::Nth(k) => format!("{path}[{k}]"),
  })
}

/// The references of operation `index` (`what`, of `kind`), read from `item`, each checked
/// against the kinds of the operations before it (`earlier`); and, when it has any, a copy
/// of `item` with a stand-in id in each referring field, to read the operation from.
pub fn detach<'a>(item: &Input<'a>, what: &str, kind: Kind, earlier: &[Kind]) -> Result<(Option<Input<'a>>, Vec<Ref>)> {
  let mut copy: Option<Input<'a>> = None;
  let mut refs = Vec::new();
  for (steps, slot, row) in fields(kind, item) {
    let Some(value) = lookup(item, &steps).filter(|v| v.kind() == ValueKind::Object) else { continue };
    let field = path(what, &steps);
    let target = reference(value, &field, row, earlier)?;
    refs.push(Ref { slot, target });
    let copy = copy.get_or_insert_with(|| item.clone());
    if let Some(value) = place(copy, &steps) {
      *value = row.stand_in();
    }
  }
  Ok((copy, refs))
}

/// The value at `steps` in `value`, read-only.
fn lookup<'v, 'a>(value: &'v Input<'a>, steps: &[FieldStep]) -> Option<&'v Input<'a>> {
  let Some((first, rest)) = steps.split_first() else { return Some(value) };
  let next = match (first, value) {
    (FieldStep::Key(name), Input::Object(fields)) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)?,
    (FieldStep::Nth(k), Input::Array(items)) => items.get(*k)?,
    _ => return None,
  };
  lookup(next, rest)
}

/// Reads `{ ref: i }` in `field` and checks that operation `i` is earlier and resolves with
/// a row of kind `row`.
fn reference(value: &Input, field: &str, row: Row, earlier: &[Kind]) -> Result<usize> {
  let f = Fields::of(value, field, &["ref"], false)?;
  let index = f.required("ref", |v, p| v.whole(p, &(0..=u64::from(u32::MAX))))? as usize;
  let later = || {
    Error::invalid(format!(
      "{field}.ref is {index}, which is not an earlier operation of the batch: a ref names the result of an operation before this one{}",
      match earlier.len() {
        0 => String::new(),
        n => format!(" (0 to {})", n - 1),
      }
    ))
  };
  let kind = *earlier.get(index).ok_or_else(later)?;
  if Row::of(kind) != Some(row) {
    return Err(Error::invalid(format!(
      "{field} refers to operations[{index}] ({}), which does not resolve with {}: {field} takes the id of {} ({})",
      kind.name(),
      row.name(),
      row.name(),
      makers(row)
    )));
  }
  Ok(index)
}

/// The operations whose result a reference to a `row` may name, for messages.
fn makers(row: Row) -> String {
  Kind::all().filter(|&kind| Row::of(kind) == Some(row)).map(Kind::name).collect::<Vec<_>>().join(", ")
}

impl Ref {
  /// Puts the id of the row `outcomes[self.target]` holds into `command`'s field.
  pub fn fill(&self, command: &mut Command, outcomes: &[Outcome]) {
    let text = || match &outcomes[self.target] {
      Outcome::Agent(agent) => agent.id.clone(),
      Outcome::Session(session) => session.id.clone(),
      Outcome::Fork(fork) => fork.session.id.clone(),
      other => unreachable!("a ref to an agent or session names its row, not {other:?}"),
    };
    let log = || match &outcomes[self.target] {
      Outcome::Log(log) => log.id,
      other => unreachable!("a ref to a log names its row, not {other:?}"),
    };
    match (self.slot, command) {
      (
        Slot::Target,
        Command::UpdateAgent(id, _)
        | Command::DeleteAgent(id, _)
        | Command::RestoreAgent(id)
        | Command::UpdateSession(id, _)
        | Command::UpdateSessionStatus(id, _)
        | Command::DeleteSession(id, _)
        | Command::RestoreSession(id)
        | Command::DeleteLogs(id)
        | Command::SetCheckpoint(id, _)
        | Command::ClearCheckpoint(id),
      ) => *id = text(),
      (Slot::Target, Command::ForkSession(request)) => request.source = text(),
      (
        Slot::Target,
        Command::UpdateLog(id, _, _) | Command::AppendLogText(id, _, _) | Command::FinishLog(id, _) | Command::DeleteLog(id, _),
      ) => *id = log(),
      (Slot::MainAgent, Command::CreateSession(input)) => input.main_agent_id = text(),
      (Slot::CheckpointLog, Command::SetCheckpoint(_, input)) => input.through_log_id = log(),
      (Slot::LogSession(0), Command::AddLog(input)) => input.session_id = text(),
      (Slot::LogParent(0), Command::AddLog(input)) => input.parent_id = Some(log()),
      (Slot::LogSession(k), Command::AddLogs(inputs)) => inputs[k].session_id = text(),
      (Slot::LogParent(k), Command::AddLogs(inputs)) => inputs[k].parent_id = Some(log()),
      (Slot::UsageSession, Command::RecordUsage(input)) => input.session_id = Some(text()),
      (Slot::UsageLog, Command::RecordUsage(input)) => input.log_id = Some(log()),
      (Slot::UsageAgent, Command::RecordUsage(input)) => input.agent_id = Some(text()),
      (slot, command) => unreachable!("{slot:?} is read only for operations that have it, not {command:?}"),
    }
  }
}
