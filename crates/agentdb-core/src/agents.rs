//! Agents: create, read, update, list, delete, count.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{AgentType, NEW_UUID};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;
use crate::settings::{self, AgentDefault, Settings, Stored, Value, SETTINGS};
use crate::stored;
use crate::trash::Trash;

/// The columns of `agents`, in the order [`agent_from_row`] reads them.
pub static AGENT_COLUMNS: LazyLock<String> = LazyLock::new(|| {
  format!("id, type, name, description, avatar, instructions, {}, created_at, updated_at, deleted_at", *settings::COLUMNS)
});

/// How many columns [`AGENT_COLUMNS`] has.
pub const AGENT_COLUMN_COUNT: usize = 9 + settings::COUNT;

/// An agent as stored.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
  /// Unique id.
  pub id: String,
  /// What kind of agent.
  #[serde(rename = "type")]
  pub agent_type: AgentType,
  /// Display name.
  pub name: String,
  /// What it is for.
  pub description: Option<String>,
  /// Avatar (URL, emoji or data URI).
  pub avatar: Option<String>,
  /// System instructions.
  pub instructions: Option<String>,
  /// Its settings (models, tools, permissions, step limit); `None` where it has none.
  #[serde(flatten)]
  pub settings: Stored,
  /// When created (ISO-8601 UTC, ms).
  pub created_at: String,
  /// When last changed.
  pub updated_at: String,
  /// When it was moved to the trash; absent (not `null`) for an agent that is not there.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub deleted_at: Option<String>,
}

/// Reads an agent from `row`, starting at column `at`.
pub fn agent_from_row(row: &Row, at: usize) -> rusqlite::Result<Agent> {
  stored::read("agents", row, at, || {
    Ok(Agent {
      id: row.get(at)?,
      agent_type: row.get(at + 1)?,
      name: row.get(at + 2)?,
      description: row.get(at + 3)?,
      avatar: row.get(at + 4)?,
      instructions: row.get(at + 5)?,
      settings: Stored::read(row, at + 6)?,
      created_at: row.get(at + 6 + settings::COUNT)?,
      updated_at: row.get(at + 7 + settings::COUNT)?,
      deleted_at: row.get(at + 8 + settings::COUNT)?,
    })
  })
}

fn read(row: &Row) -> rusqlite::Result<Agent> {
  agent_from_row(row, 0)
}

/// The fields of a new agent, as [`crate::input::read::new_agent`] checked them; absent ones
/// take the documented defaults.
#[derive(Clone, Debug, Default)]
pub struct NewAgent {
  /// Id; a random UUID when absent.
  pub id: Option<String>,
  /// Default `custom`.
  pub agent_type: Option<AgentType>,
  /// Required, not blank.
  pub name: String,
  /// Optional.
  pub description: Option<String>,
  /// Optional.
  pub avatar: Option<String>,
  /// Optional.
  pub instructions: Option<String>,
  /// The settings given; one left out takes its [`settings::AgentDefault`].
  pub settings: Stored,
}

/// A partial change: `None` keeps a field; for nullable fields `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct AgentPatch {
  /// New type.
  pub agent_type: Option<AgentType>,
  /// New name (not blank).
  pub name: Option<String>,
  /// New description, or clear it.
  pub description: Option<Option<String>>,
  /// New avatar, or clear it.
  pub avatar: Option<Option<String>>,
  /// New instructions, or clear it.
  pub instructions: Option<Option<String>>,
  /// New settings; `Some(None)` clears one that may be cleared.
  pub settings: Settings<Option<Option<Value>>>,
}

/// `create`'s statement, built once from the settings list (it is also the key of the
/// statement cache).
static INSERT_SQL: LazyLock<String> = LazyLock::new(|| {
  let values: Vec<String> = SETTINGS
    .iter()
    .enumerate()
    .map(|(i, setting)| match setting.agent_default {
      AgentDefault::Sql(default) => format!("coalesce(?{}, {default})", i + 7),
      AgentDefault::Required | AgentDefault::Null => format!("?{}", i + 7),
    })
    .collect();
  format!(
    "INSERT INTO agents (id, type, name, description, avatar, instructions, {}) \
     VALUES (coalesce(?1, {NEW_UUID}), ?2, ?3, ?4, ?5, ?6, {}) RETURNING {}",
    *settings::COLUMNS,
    values.join(", "),
    *AGENT_COLUMNS
  )
});

/// Inserts an agent and returns it as stored. `ALREADY_EXISTS` when the id is taken,
/// `NOT_WRITTEN` when a trigger skipped the insert.
pub fn create(conn: &Connection, input: &NewAgent) -> Result<Agent> {
  let mut values: Vec<SqlValue> = vec![
    input.id.clone().into(),
    input.agent_type.unwrap_or(AgentType::Custom).as_str().to_string().into(),
    input.name.clone().into(),
    input.description.clone().into(),
    input.avatar.clone().into(),
    input.instructions.clone().into(),
  ];
  values.extend(input.settings.iter().map(|(_, value)| value.as_ref().map_or(SqlValue::Null, Value::sql)));
  let mut stmt = conn.prepare_cached(&INSERT_SQL)?;
  stmt
    .query_row(params_from_iter(values), read)
    .optional()
    .map_err(|e| Error::from(e).naming_duplicate("agent", input.id.as_deref()))?
    .ok_or_else(|| Error::not_written("agents", input.id.as_ref().map_or("a new agent".into(), |id| format!("agent {id:?}"))))
}

/// The agent with this id, if any and if `trash` lets it be seen.
pub fn get(conn: &Connection, id: &str, trash: Trash) -> Result<Option<Agent>> {
  let mut stmt =
    conn.prepare_cached(&format!("SELECT {} FROM agents WHERE id = ?1 AND (?2 OR deleted_at IS NULL)", *AGENT_COLUMNS))?;
  Ok(stmt.query_row(params![id, trash == Trash::Include], read).optional()?)
}

/// Whether an agent with this id exists, in the trash or not.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
  let mut stmt = conn.prepare_cached("SELECT 1 FROM agents WHERE id = ?1")?;
  Ok(stmt.exists([id])?)
}

/// Whether an agent with this id exists out of the trash.
pub fn exists_live(conn: &Connection, id: &str) -> Result<bool> {
  let mut stmt = conn.prepare_cached("SELECT 1 FROM agents WHERE id = ?1 AND deleted_at IS NULL")?;
  Ok(stmt.exists([id])?)
}

/// Changes the given fields; `updatedAt` moves forward, `createdAt` never changes.
/// `NOT_FOUND` for a missing id, `NOT_WRITTEN` when a trigger skipped the change.
pub fn update(conn: &Connection, id: &str, patch: &AgentPatch) -> Result<Agent> {
  let mut set = Assignments::default();
  set.set("type", patch.agent_type.map(|t| t.as_str().to_string()));
  set.set("name", patch.name.clone());
  set.set_nullable("description", patch.description.clone());
  set.set_nullable("avatar", patch.avatar.clone());
  set.set_nullable("instructions", patch.instructions.clone());
  for (setting, change) in patch.settings.iter() {
    set.set_nullable(setting.column, change.as_ref().map(|v| v.as_ref().map(Value::sql)));
  }
  set
    .apply(conn, "agents", ("id", id.to_string().into()), &format!("agent {id:?}"), &AGENT_COLUMNS, read)?
    .ok_or_else(|| Error::not_found(format!("agent {id:?} does not exist")))
}

/// How many agents there are out of the trash: all of them less those in the trash.
pub fn count(conn: &Connection) -> Result<i64> {
  let sql = "SELECT (SELECT count(*) FROM agents) - (SELECT count(*) FROM agents WHERE deleted_at IS NOT NULL)";
  Ok(conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
}

/// Agents in insertion order (`seq`), optionally of one type: those out of the trash, or
/// (`trash` is [`Trash::Only`]) those in it.
pub fn list(conn: &Connection, trash: Trash, agent_type: Option<AgentType>, page: &PageRequest) -> Result<Page<Agent>> {
  let mut query = ListQuery::new("agents", "seq", Order::Ascending);
  trash.filter(&mut query);
  if let Some(agent_type) = agent_type {
    query.filter("type = :type", ":type", agent_type.as_str().to_string());
  }
  query.run(conn, &AGENT_COLUMNS, "agents", page, read)
}
