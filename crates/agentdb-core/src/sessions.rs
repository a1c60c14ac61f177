//! Sessions: create, read, update, list, delete, and the session joined with its agent and
//! the effective configuration (the session's override where it has one, else the agent's).

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::agents::{self, Agent, AGENT_COLUMNS, AGENT_COLUMN_COUNT};
use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::model::{SessionStatus, NEW_UUID};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;
use crate::settings::{self, Settings, Stored, Value};
use crate::stored;

/// The columns of `sessions`, in the order [`session_from_row`] reads them.
pub static SESSION_COLUMNS: LazyLock<String> = LazyLock::new(|| {
  format!(
    "id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, {}, created_at, updated_at",
    *settings::COLUMNS
  )
});

/// How many columns [`SESSION_COLUMNS`] has.
const SESSION_COLUMN_COUNT: usize = 9 + settings::COUNT;

/// A session as stored.
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
  /// Its overrides of the agent's settings; `None` where it inherits the agent's.
  #[serde(flatten)]
  pub settings: Stored,
  /// When created (ISO-8601 UTC, ms).
  pub created_at: String,
  /// When last changed.
  pub updated_at: String,
}

/// Reads a session from `row`, starting at column `at`.
pub fn session_from_row(row: &Row, at: usize) -> rusqlite::Result<Session> {
  stored::read("sessions", row, at, || {
    Ok(Session {
      id: row.get(at)?,
      name: row.get(at + 1)?,
      main_agent_id: row.get(at + 2)?,
      sub_agent_ids: json::column(row, at + 3)?,
      user_goal: row.get(at + 4)?,
      status: row.get(at + 5)?,
      external_session_id: row.get(at + 6)?,
      settings: Stored::read(row, at + 7)?,
      created_at: row.get(at + 7 + settings::COUNT)?,
      updated_at: row.get(at + 8 + settings::COUNT)?,
    })
  })
}

fn read(row: &Row) -> rusqlite::Result<Session> {
  session_from_row(row, 0)
}

/// The fields of a new session, as [`crate::input::read::new_session`] checked them.
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
  /// Overrides of the agent's settings; absent ones inherit from the agent.
  pub settings: Stored,
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
  pub settings: Settings<Option<Option<Value>>>,
}

fn require_agent(conn: &Connection, agent_id: &str, what: &str) -> Result<()> {
  if agents::exists(conn, agent_id)? {
    Ok(())
  } else {
    Err(Error::not_found(format!("{what}: agent {agent_id:?} does not exist")))
  }
}

/// `create`'s statement, built once from the settings list.
static INSERT_SQL: LazyLock<String> = LazyLock::new(|| {
  let values: Vec<String> = (0..settings::COUNT).map(|i| format!("?{}", i + 8)).collect();
  format!(
    "INSERT INTO sessions (id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, {}) \
     VALUES (coalesce(?1, {NEW_UUID}), ?2, ?3, ?4, ?5, ?6, ?7, {}) RETURNING {}",
    *settings::COLUMNS,
    values.join(", "),
    *SESSION_COLUMNS
  )
});

/// Inserts a session for an existing agent (`NOT_FOUND` otherwise) and returns it.
/// `NOT_WRITTEN` when a trigger skipped the insert.
pub fn create(conn: &Connection, input: &NewSession) -> Result<Session> {
  require_agent(conn, &input.main_agent_id, "input.mainAgentId")?;
  let mut values: Vec<SqlValue> = vec![
    input.id.clone().into(),
    input.name.clone().into(),
    input.main_agent_id.clone().into(),
    json::text(input.sub_agent_ids.as_deref().unwrap_or(&[])).into(),
    input.user_goal.clone().into(),
    input.status.unwrap_or(SessionStatus::Idle).as_str().to_string().into(),
    input.external_session_id.clone().into(),
  ];
  values.extend(input.settings.iter().map(|(_, value)| value.as_ref().map_or(SqlValue::Null, Value::sql)));
  let mut stmt = conn.prepare_cached(&INSERT_SQL)?;
  stmt
    .query_row(params_from_iter(values), read)
    .optional()
    .map_err(|e| Error::from(e).naming_duplicate("session", input.id.as_deref()))?
    .ok_or_else(|| {
      Error::not_written("sessions", input.id.as_ref().map_or("a new session".into(), |id| format!("session {id:?}")))
    })
}

/// The session with this id, if any.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Session>> {
  let mut stmt = conn.prepare_cached(&format!("SELECT {} FROM sessions WHERE id = ?1", *SESSION_COLUMNS))?;
  Ok(stmt.query_row([id], read).optional()?)
}

/// The session with this external id inserted last, if any.
pub fn get_by_external_id(conn: &Connection, external_id: &str) -> Result<Option<Session>> {
  let sql = format!("SELECT {} FROM sessions WHERE external_session_id = ?1 ORDER BY seq DESC LIMIT 1", *SESSION_COLUMNS);
  Ok(conn.prepare_cached(&sql)?.query_row([external_id], read).optional()?)
}

/// Changes the given fields. `NOT_FOUND` for a missing session or a missing new agent,
/// `NOT_WRITTEN` when a trigger skipped the change.
pub fn update(conn: &Connection, id: &str, patch: &SessionPatch) -> Result<Session> {
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
  for (setting, change) in patch.settings.iter() {
    set.set_nullable(setting.column, change.as_ref().map(|v| v.as_ref().map(Value::sql)));
  }
  set
    .apply(conn, "sessions", ("id", id.to_string().into()), &format!("session {id:?}"), &SESSION_COLUMNS, read)?
    .ok_or_else(|| Error::not_found(format!("session {id:?} does not exist")))
}

/// Sessions newest first (by `seq`, the insertion order), optionally by status and by agent.
pub fn list(
  conn: &Connection,
  status: Option<SessionStatus>,
  agent_id: Option<&str>,
  page: &PageRequest,
) -> Result<Page<Session>> {
  let mut query = ListQuery::new("sessions", "seq", Order::Descending);
  if let Some(status) = status {
    query.filter("status = :status", ":status", status.as_str().to_string());
  }
  if let Some(agent_id) = agent_id {
    query.filter("main_agent_id = :agent", ":agent", agent_id.to_string());
  }
  query.run(conn, &SESSION_COLUMNS, "sessions", page, read)
}

/// How many sessions there are, optionally of one agent.
pub fn count(conn: &Connection, agent_id: Option<&str>) -> Result<i64> {
  let mut stmt = conn.prepare_cached("SELECT count(*) FROM sessions WHERE ?1 IS NULL OR main_agent_id = ?1")?;
  Ok(stmt.query_row([agent_id], |r| r.get(0))?)
}

/// A session, its agent and its effective configuration.
#[derive(Clone, Debug, Serialize)]
pub struct SessionWithAgent {
  /// The session as stored.
  pub session: Session,
  /// Its main agent as stored.
  pub agent: Agent,
  /// What the session actually runs with: each of its overrides, else the agent's setting.
  pub effective: Stored,
}

impl SessionWithAgent {
  fn new(session: Session, agent: Agent) -> Self {
    let effective = session.settings.over(&agent.settings);
    SessionWithAgent { session, agent, effective }
  }
}

/// `get_with_agent`'s statement: every session column, then every agent column. Built once:
/// it is also the key of the statement cache, looked up on every call.
static WITH_AGENT_SQL: LazyLock<String> = LazyLock::new(|| {
  let agent_columns = AGENT_COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ");
  let session_columns = SESSION_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ");
  debug_assert_eq!(AGENT_COLUMNS.split(", ").count(), AGENT_COLUMN_COUNT);
  debug_assert_eq!(SESSION_COLUMNS.split(", ").count(), SESSION_COLUMN_COUNT);
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
  use crate::settings::Field;

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
      assert_eq!(
        (&view.effective[Field::Model], &view.effective[Field::MaxSteps]),
        (&Some(Value::Text("claude-opus".into())), &Some(Value::Steps(20)))
      );
      let inherited = get_with_agent(&conn, "s2").unwrap().unwrap();
      assert_eq!(inherited.effective[Field::Model], Some(Value::Text("claude-sonnet".into())));
      assert!(get_with_agent(&conn, "missing").unwrap().is_none());
    }
  }
}
