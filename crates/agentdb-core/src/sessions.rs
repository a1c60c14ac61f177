//! Sessions: create, read, update, list, delete, and the session joined with its agent and
//! the effective configuration (the session's override where it has one, else the agent's).

use std::sync::LazyLock;

use rusqlite::{named_params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::agents::{self, check_id, Agent, AGENT_COLUMNS, AGENT_COLUMN_COUNT, MAX_STEPS_LIMIT};
use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::logs;
use crate::model::{PermissionMode, SessionStatus, NEW_UUID};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;

/// The columns of `sessions`, in the order [`session_from_row`] reads them.
pub const SESSION_COLUMNS: &str = "id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, \
  model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, \
  max_steps, created_at, updated_at";

/// A session as stored. Override fields are `None` when the session inherits the agent's.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
  /// Unique id.
  pub id: String,
  /// Display name.
  pub name: Option<String>,
  /// The agent that runs the session.
  pub main_agent_id: String,
  /// Ids of helper agents (JSON array of strings).
  pub sub_agent_ids: Json,
  /// What the user asked for.
  pub user_goal: Option<String>,
  /// Where the session is in its life.
  pub status: SessionStatus,
  /// An id in another system.
  pub external_session_id: Option<String>,
  /// Model override.
  pub model: Option<String>,
  /// Planning model override.
  pub plan_model: Option<String>,
  /// Small model override.
  pub small_model: Option<String>,
  /// Built-in tools override.
  pub built_in_tools: Option<Json>,
  /// MCP ids override.
  pub mcps: Option<Json>,
  /// Knowledge ids override.
  pub knowledges: Option<Json>,
  /// Configuration override.
  pub configuration: Option<Json>,
  /// Accessible paths override.
  pub accessible_paths: Option<Json>,
  /// Permission mode override.
  pub permission_mode: Option<PermissionMode>,
  /// Step limit override.
  pub max_steps: Option<i64>,
  /// When created (ISO-8601 UTC, ms).
  pub created_at: String,
  /// When last changed.
  pub updated_at: String,
}

/// Reads a session from `row`, starting at column `at`.
pub fn session_from_row(row: &Row, at: usize) -> rusqlite::Result<Session> {
  Ok(Session {
    id: row.get(at)?,
    name: row.get(at + 1)?,
    main_agent_id: row.get(at + 2)?,
    sub_agent_ids: json::column(row, at + 3)?,
    user_goal: row.get(at + 4)?,
    status: row.get(at + 5)?,
    external_session_id: row.get(at + 6)?,
    model: row.get(at + 7)?,
    plan_model: row.get(at + 8)?,
    small_model: row.get(at + 9)?,
    built_in_tools: json::nullable_column(row, at + 10)?,
    mcps: json::nullable_column(row, at + 11)?,
    knowledges: json::nullable_column(row, at + 12)?,
    configuration: json::nullable_column(row, at + 13)?,
    accessible_paths: json::nullable_column(row, at + 14)?,
    permission_mode: row.get(at + 15)?,
    max_steps: row.get(at + 16)?,
    created_at: row.get(at + 17)?,
    updated_at: row.get(at + 18)?,
  })
}

/// How many columns [`SESSION_COLUMNS`] has.
const SESSION_COLUMN_COUNT: usize = 19;

fn read(row: &Row) -> rusqlite::Result<Session> {
  session_from_row(row, 0)
}

/// The configuration fields a session may override. In a new session `None` inherits; in a
/// patch `None` keeps the current value and `Some(None)` goes back to inheriting.
#[derive(Clone, Debug, Default)]
pub struct Overrides<T> {
  /// Model.
  pub model: T,
  /// Planning model.
  pub plan_model: T,
  /// Small model.
  pub small_model: T,
  /// Built-in tools.
  pub built_in_tools: T,
  /// MCP ids.
  pub mcps: T,
  /// Knowledge ids.
  pub knowledges: T,
  /// Configuration.
  pub configuration: T,
  /// Accessible paths.
  pub accessible_paths: T,
  /// Permission mode.
  pub permission_mode: T,
  /// Step limit.
  pub max_steps: T,
}

/// One override value, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum OverrideValue {
  /// A model id.
  Text(String),
  /// A list of ids or paths.
  Strings(Vec<String>),
  /// A configuration object.
  Object(Map<String, Value>),
  /// A permission mode.
  Mode(PermissionMode),
  /// A step limit.
  Steps(i64),
}

impl OverrideValue {
  fn sql(&self) -> rusqlite::types::Value {
    match self {
      OverrideValue::Text(text) => text.clone().into(),
      OverrideValue::Strings(list) => json::text(list).into(),
      OverrideValue::Object(map) => json::text(map).into(),
      OverrideValue::Mode(mode) => mode.as_str().to_string().into(),
      OverrideValue::Steps(steps) => (*steps).into(),
    }
  }
}

impl Overrides<Option<OverrideValue>> {
  /// The columns and SQL values, in [`OVERRIDE_COLUMNS`] order.
  fn values(&self) -> [(&'static str, Option<&OverrideValue>); 10] {
    [
      ("model", self.model.as_ref()),
      ("plan_model", self.plan_model.as_ref()),
      ("small_model", self.small_model.as_ref()),
      ("built_in_tools", self.built_in_tools.as_ref()),
      ("mcps", self.mcps.as_ref()),
      ("knowledges", self.knowledges.as_ref()),
      ("configuration", self.configuration.as_ref()),
      ("accessible_paths", self.accessible_paths.as_ref()),
      ("permission_mode", self.permission_mode.as_ref()),
      ("max_steps", self.max_steps.as_ref()),
    ]
  }
}

/// A patch field seen by reference.
fn change(value: &Option<Option<OverrideValue>>) -> Option<Option<&OverrideValue>> {
  value.as_ref().map(Option::as_ref)
}

impl Overrides<Option<Option<OverrideValue>>> {
  fn changes(&self) -> [(&'static str, Option<Option<&OverrideValue>>); 10] {
    [
      ("model", change(&self.model)),
      ("plan_model", change(&self.plan_model)),
      ("small_model", change(&self.small_model)),
      ("built_in_tools", change(&self.built_in_tools)),
      ("mcps", change(&self.mcps)),
      ("knowledges", change(&self.knowledges)),
      ("configuration", change(&self.configuration)),
      ("accessible_paths", change(&self.accessible_paths)),
      ("permission_mode", change(&self.permission_mode)),
      ("max_steps", change(&self.max_steps)),
    ]
  }
}

fn check_override(value: Option<&OverrideValue>, what: &str) -> Result<()> {
  match value {
    Some(OverrideValue::Steps(steps)) if !(1..=MAX_STEPS_LIMIT).contains(steps) => {
      Err(Error::invalid(format!("{what}.maxSteps must be a whole number from 1 to {MAX_STEPS_LIMIT}")))
    }
    Some(OverrideValue::Text(text)) if text.trim().is_empty() => {
      Err(Error::invalid(format!("{what}: a model override must not be empty")))
    }
    _ => Ok(()),
  }
}

/// The fields of a new session.
#[derive(Clone, Debug, Default)]
pub struct NewSession {
  /// Id; a random UUID when absent.
  pub id: Option<String>,
  /// Display name.
  pub name: Option<String>,
  /// Required: an existing agent.
  pub main_agent_id: String,
  /// Default `[]`.
  pub sub_agent_ids: Option<Vec<String>>,
  /// What the user asked for.
  pub user_goal: Option<String>,
  /// Default `idle`.
  pub status: Option<SessionStatus>,
  /// An id in another system.
  pub external_session_id: Option<String>,
  /// Configuration overrides; absent ones inherit from the agent.
  pub overrides: Overrides<Option<OverrideValue>>,
}

/// A partial change of a session.
#[derive(Clone, Debug, Default)]
pub struct SessionPatch {
  /// New name, or clear it.
  pub name: Option<Option<String>>,
  /// Move the session to another (existing) agent.
  pub main_agent_id: Option<String>,
  /// New helper agents.
  pub sub_agent_ids: Option<Vec<String>>,
  /// New goal, or clear it.
  pub user_goal: Option<Option<String>>,
  /// New status.
  pub status: Option<SessionStatus>,
  /// New external id, or clear it.
  pub external_session_id: Option<Option<String>>,
  /// New overrides; `Some(None)` goes back to inheriting.
  pub overrides: Overrides<Option<Option<OverrideValue>>>,
}

fn require_agent(conn: &Connection, agent_id: &str, what: &str) -> Result<()> {
  check_id(agent_id, what)?;
  if agents::exists(conn, agent_id)? {
    Ok(())
  } else {
    Err(Error::not_found(format!("{what}: agent {agent_id:?} does not exist")))
  }
}

/// Inserts a session for an existing agent (`NOT_FOUND` otherwise) and returns it.
pub fn create(conn: &Connection, input: &NewSession) -> Result<Session> {
  if let Some(id) = &input.id {
    check_id(id, "input.id")?;
  }
  for (_, value) in input.overrides.values() {
    check_override(value, "input")?;
  }
  require_agent(conn, &input.main_agent_id, "input.mainAgentId")?;
  let sql = format!(
    "INSERT INTO sessions (id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, \
       model, plan_model, small_model, built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps) \
     VALUES (coalesce(:id, {NEW_UUID}), :name, :main_agent_id, :sub_agent_ids, :user_goal, :status, :external_session_id, \
       :model, :plan_model, :small_model, :built_in_tools, :mcps, :knowledges, :configuration, :accessible_paths, :permission_mode, :max_steps) \
     RETURNING {SESSION_COLUMNS}"
  );
  let o = input.overrides.values().map(|(_, v)| v.map_or(rusqlite::types::Value::Null, OverrideValue::sql));
  let mut stmt = conn.prepare_cached(&sql)?;
  stmt
    .query_row(
      named_params! {
        ":id": input.id,
        ":name": input.name,
        ":main_agent_id": input.main_agent_id,
        ":sub_agent_ids": json::text(input.sub_agent_ids.as_deref().unwrap_or(&[])),
        ":user_goal": input.user_goal,
        ":status": input.status.unwrap_or(SessionStatus::Idle),
        ":external_session_id": input.external_session_id,
        ":model": o[0], ":plan_model": o[1], ":small_model": o[2], ":built_in_tools": o[3], ":mcps": o[4],
        ":knowledges": o[5], ":configuration": o[6], ":accessible_paths": o[7], ":permission_mode": o[8], ":max_steps": o[9],
      },
      read,
    )
    .map_err(|e| Error::from(e).naming_duplicate("session", input.id.as_deref()))
}

/// The session with this id, if any.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Session>> {
  let mut stmt = conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"))?;
  Ok(stmt.query_row([id], read).optional()?)
}

/// The most recently created session with this external id, if any.
pub fn get_by_external_id(conn: &Connection, external_id: &str) -> Result<Option<Session>> {
  let sql =
    format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE external_session_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1");
  Ok(conn.prepare_cached(&sql)?.query_row([external_id], read).optional()?)
}

/// Changes the given fields. `NOT_FOUND` for a missing session or a missing new agent.
pub fn update(conn: &Connection, id: &str, patch: &SessionPatch) -> Result<Session> {
  for (_, value) in patch.overrides.changes() {
    check_override(value.flatten(), "patch")?;
  }
  if let Some(agent_id) = &patch.main_agent_id {
    require_agent(conn, agent_id, "patch.mainAgentId")?;
  }
  let mut set = Assignments::default();
  set.set_nullable("name", patch.name.clone());
  set.set("main_agent_id", patch.main_agent_id.clone());
  set.set("sub_agent_ids", patch.sub_agent_ids.as_ref().map(json::text));
  set.set_nullable("user_goal", patch.user_goal.clone());
  set.set("status", patch.status.map(|s| s.as_str().to_string()));
  set.set_nullable("external_session_id", patch.external_session_id.clone());
  for (column, change) in patch.overrides.changes() {
    set.set_nullable(column, change.map(|v| v.map(OverrideValue::sql)));
  }
  set
    .apply(conn, "sessions", ("id", id.to_string().into()), SESSION_COLUMNS, read)?
    .ok_or_else(|| Error::not_found(format!("session {id:?} does not exist")))
}

/// Deletes a session and its logs. Returns whether it existed.
pub fn delete(conn: &Connection, id: &str) -> Result<bool> {
  logs::unlink_session(conn, id)?;
  Ok(conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?.execute([id])? > 0)
}

/// Sessions newest first, optionally by status and by agent.
pub fn list(
  conn: &Connection,
  status: Option<SessionStatus>,
  agent_id: Option<&str>,
  page: &PageRequest,
) -> Result<Page<Session>> {
  let mut query = ListQuery::new("sessions", Order::Descending);
  if let Some(status) = status {
    query.filter("status = :status", ":status", status.as_str().to_string());
  }
  if let Some(agent_id) = agent_id {
    query.filter("main_agent_id = :agent", ":agent", agent_id.to_string());
  }
  query.run(conn, &format!("SELECT {SESSION_COLUMNS} FROM sessions"), page, read, |s| (s.created_at.clone(), s.id.clone()))
}

/// How many sessions there are, optionally of one agent.
pub fn count(conn: &Connection, agent_id: Option<&str>) -> Result<i64> {
  let mut stmt = conn.prepare_cached("SELECT count(*) FROM sessions WHERE ?1 IS NULL OR main_agent_id = ?1")?;
  Ok(stmt.query_row([agent_id], |r| r.get(0))?)
}

/// The configuration a session runs with: its overrides over its agent's values.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
  /// Main model.
  pub model: String,
  /// Planning model.
  pub plan_model: Option<String>,
  /// Small model.
  pub small_model: Option<String>,
  /// Built-in tools.
  pub built_in_tools: Json,
  /// MCP ids.
  pub mcps: Json,
  /// Knowledge ids.
  pub knowledges: Json,
  /// Configuration.
  pub configuration: Json,
  /// Accessible paths.
  pub accessible_paths: Json,
  /// Permission mode.
  pub permission_mode: PermissionMode,
  /// Step limit.
  pub max_steps: i64,
}

/// A session, its agent and its effective configuration.
#[derive(Clone, Debug, Serialize)]
pub struct SessionWithAgent {
  /// The session as stored.
  pub session: Session,
  /// Its main agent as stored.
  pub agent: Agent,
  /// What the session actually runs with.
  pub effective: Effective,
}

impl SessionWithAgent {
  fn new(session: Session, agent: Agent) -> Self {
    let effective = Effective {
      model: session.model.clone().unwrap_or_else(|| agent.model.clone()),
      plan_model: session.plan_model.clone().or_else(|| agent.plan_model.clone()),
      small_model: session.small_model.clone().or_else(|| agent.small_model.clone()),
      built_in_tools: session.built_in_tools.clone().unwrap_or_else(|| agent.built_in_tools.clone()),
      mcps: session.mcps.clone().unwrap_or_else(|| agent.mcps.clone()),
      knowledges: session.knowledges.clone().unwrap_or_else(|| agent.knowledges.clone()),
      configuration: session.configuration.clone().unwrap_or_else(|| agent.configuration.clone()),
      accessible_paths: session.accessible_paths.clone().unwrap_or_else(|| agent.accessible_paths.clone()),
      permission_mode: session.permission_mode.unwrap_or(agent.permission_mode),
      max_steps: session.max_steps.unwrap_or(agent.max_steps),
    };
    SessionWithAgent { session, agent, effective }
  }
}

/// `get_with_agent`'s statement: every session column, then every agent column. Built once:
/// it is also the key of the statement cache, looked up on every call.
static WITH_AGENT_SQL: LazyLock<String> = LazyLock::new(|| {
  let agent_columns = AGENT_COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ");
  let session_columns = SESSION_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ");
  debug_assert_eq!(AGENT_COLUMNS.split(", ").count(), AGENT_COLUMN_COUNT);
  format!("SELECT {session_columns}, {agent_columns} FROM sessions s JOIN agents a ON a.id = s.main_agent_id WHERE s.id = ?1")
});

/// The session with its agent, read in one statement (one snapshot), if the session exists.
pub fn get_with_agent(conn: &Connection, id: &str) -> Result<Option<SessionWithAgent>> {
  let mut stmt = conn.prepare_cached(&WITH_AGENT_SQL)?;
  let row =
    stmt.query_row([id], |row| Ok((session_from_row(row, 0)?, agents::agent_from_row(row, SESSION_COLUMN_COUNT)?))).optional()?;
  Ok(row.map(|(session, agent)| SessionWithAgent::new(session, agent)))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::connection::{open_writer, Location, OpenOptions};
  use crate::migrations::{migrator, source::MigrationSet};

  #[test]
  fn reads_a_session_with_its_agent_and_resolves_overrides() {
    let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    migrator::migrate(&mut conn, &MigrationSet::builtin(), &migrator::MigrateOptions::default(), &mut |_| {}).unwrap();
    conn
      .execute_batch(
        "INSERT INTO agents (id, name, model, max_steps) VALUES ('a1', 'Reviewer', 'claude-sonnet', 20);
         INSERT INTO sessions (id, main_agent_id, model) VALUES ('s1', 'a1', 'claude-opus');
         INSERT INTO sessions (id, main_agent_id) VALUES ('s2', 'a1');",
      )
      .unwrap();
    for _ in 0..2 {
      let view = get_with_agent(&conn, "s1").unwrap().unwrap();
      assert_eq!((view.session.id.as_str(), view.agent.id.as_str()), ("s1", "a1"));
      assert_eq!((view.effective.model.as_str(), view.effective.max_steps), ("claude-opus", 20));
      let inherited = get_with_agent(&conn, "s2").unwrap().unwrap();
      assert_eq!(inherited.effective.model, "claude-sonnet");
      assert!(get_with_agent(&conn, "missing").unwrap().is_none());
    }
  }
}
