//! Agents: create, read, update, list, delete, count.

use rusqlite::{named_params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::logs;
use crate::model::{AgentType, PermissionMode, NEW_UUID};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;

/// The columns of `agents`, in the order [`agent_from_row`] reads them.
pub const AGENT_COLUMNS: &str = "id, type, name, description, avatar, instructions, model, plan_model, small_model, \
  built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps, created_at, updated_at";

/// How many columns [`AGENT_COLUMNS`] has.
pub const AGENT_COLUMN_COUNT: usize = 18;

/// The largest `maxSteps` accepted.
pub const MAX_STEPS_LIMIT: i64 = 1_000_000;

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
  /// Main model id.
  pub model: String,
  /// Planning model id.
  pub plan_model: Option<String>,
  /// Small, fast model id.
  pub small_model: Option<String>,
  /// Built-in tool ids (JSON array of strings).
  pub built_in_tools: Json,
  /// MCP server ids (JSON array of strings).
  pub mcps: Json,
  /// Knowledge base ids (JSON array of strings).
  pub knowledges: Json,
  /// Free-form settings (JSON object).
  pub configuration: Json,
  /// Directories it may touch (JSON array of strings).
  pub accessible_paths: Json,
  /// What it may do without asking.
  pub permission_mode: PermissionMode,
  /// Most steps per run.
  pub max_steps: i64,
  /// When created (ISO-8601 UTC, ms).
  pub created_at: String,
  /// When last changed.
  pub updated_at: String,
}

/// Reads an agent from `row`, starting at column `at`.
pub fn agent_from_row(row: &Row, at: usize) -> rusqlite::Result<Agent> {
  Ok(Agent {
    id: row.get(at)?,
    agent_type: row.get(at + 1)?,
    name: row.get(at + 2)?,
    description: row.get(at + 3)?,
    avatar: row.get(at + 4)?,
    instructions: row.get(at + 5)?,
    model: row.get(at + 6)?,
    plan_model: row.get(at + 7)?,
    small_model: row.get(at + 8)?,
    built_in_tools: json::column(row, at + 9)?,
    mcps: json::column(row, at + 10)?,
    knowledges: json::column(row, at + 11)?,
    configuration: json::column(row, at + 12)?,
    accessible_paths: json::column(row, at + 13)?,
    permission_mode: row.get(at + 14)?,
    max_steps: row.get(at + 15)?,
    created_at: row.get(at + 16)?,
    updated_at: row.get(at + 17)?,
  })
}

fn read(row: &Row) -> rusqlite::Result<Agent> {
  agent_from_row(row, 0)
}

/// The fields of a new agent; absent ones take the documented defaults.
#[derive(Clone, Debug, Default)]
pub struct NewAgent {
  /// Id; a random UUID when absent.
  pub id: Option<String>,
  /// Default `custom`.
  pub agent_type: Option<AgentType>,
  /// Required, non-empty.
  pub name: String,
  /// Optional.
  pub description: Option<String>,
  /// Optional.
  pub avatar: Option<String>,
  /// Optional.
  pub instructions: Option<String>,
  /// Required, non-empty.
  pub model: String,
  /// Optional.
  pub plan_model: Option<String>,
  /// Optional.
  pub small_model: Option<String>,
  /// Default `[]`.
  pub built_in_tools: Option<Vec<String>>,
  /// Default `[]`.
  pub mcps: Option<Vec<String>>,
  /// Default `[]`.
  pub knowledges: Option<Vec<String>>,
  /// Default `{}`.
  pub configuration: Option<Map<String, Value>>,
  /// Default `[]`.
  pub accessible_paths: Option<Vec<String>>,
  /// Default `readOnly`.
  pub permission_mode: Option<PermissionMode>,
  /// Default 10.
  pub max_steps: Option<i64>,
}

/// A partial change: `None` keeps a field; for nullable fields `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct AgentPatch {
  /// New type.
  pub agent_type: Option<AgentType>,
  /// New name (non-empty).
  pub name: Option<String>,
  /// New description, or clear it.
  pub description: Option<Option<String>>,
  /// New avatar, or clear it.
  pub avatar: Option<Option<String>>,
  /// New instructions, or clear them.
  pub instructions: Option<Option<String>>,
  /// New main model (non-empty).
  pub model: Option<String>,
  /// New planning model, or clear it.
  pub plan_model: Option<Option<String>>,
  /// New small model, or clear it.
  pub small_model: Option<Option<String>>,
  /// New built-in tools.
  pub built_in_tools: Option<Vec<String>>,
  /// New MCP ids.
  pub mcps: Option<Vec<String>>,
  /// New knowledge ids.
  pub knowledges: Option<Vec<String>>,
  /// New configuration (replaces the old object).
  pub configuration: Option<Map<String, Value>>,
  /// New accessible paths.
  pub accessible_paths: Option<Vec<String>>,
  /// New permission mode.
  pub permission_mode: Option<PermissionMode>,
  /// New step limit.
  pub max_steps: Option<i64>,
}

/// Checks what SQL cannot say well: non-empty required strings, the step range.
fn check_fields(name: Option<&str>, model: Option<&str>, max_steps: Option<i64>, what: &str) -> Result<()> {
  if name.is_some_and(|n| n.trim().is_empty()) {
    return Err(Error::invalid(format!("{what}.name must not be empty")));
  }
  if model.is_some_and(|m| m.trim().is_empty()) {
    return Err(Error::invalid(format!("{what}.model must not be empty")));
  }
  if max_steps.is_some_and(|s| !(1..=MAX_STEPS_LIMIT).contains(&s)) {
    return Err(Error::invalid(format!("{what}.maxSteps must be a whole number from 1 to {MAX_STEPS_LIMIT}")));
  }
  Ok(())
}

/// Checks an id given by the caller.
pub fn check_id(id: &str, what: &str) -> Result<()> {
  if id.is_empty() {
    return Err(Error::invalid(format!("{what} must not be empty")));
  }
  Ok(())
}

/// Inserts an agent and returns it as stored. `ALREADY_EXISTS` when the id is taken.
pub fn create(conn: &Connection, input: &NewAgent) -> Result<Agent> {
  check_fields(Some(&input.name), Some(&input.model), input.max_steps, "input")?;
  if let Some(id) = &input.id {
    check_id(id, "input.id")?;
  }
  let empty = Vec::<String>::new();
  let sql = format!(
    "INSERT INTO agents (id, type, name, description, avatar, instructions, model, plan_model, small_model, \
       built_in_tools, mcps, knowledges, configuration, accessible_paths, permission_mode, max_steps) \
     VALUES (coalesce(:id, {NEW_UUID}), :type, :name, :description, :avatar, :instructions, :model, :plan_model, :small_model, \
       :built_in_tools, :mcps, :knowledges, :configuration, :accessible_paths, :permission_mode, :max_steps) \
     RETURNING {AGENT_COLUMNS}"
  );
  let mut stmt = conn.prepare_cached(&sql)?;
  stmt
    .query_row(
      named_params! {
        ":id": input.id,
        ":type": input.agent_type.unwrap_or(AgentType::Custom),
        ":name": input.name,
        ":description": input.description,
        ":avatar": input.avatar,
        ":instructions": input.instructions,
        ":model": input.model,
        ":plan_model": input.plan_model,
        ":small_model": input.small_model,
        ":built_in_tools": json::text(input.built_in_tools.as_ref().unwrap_or(&empty)),
        ":mcps": json::text(input.mcps.as_ref().unwrap_or(&empty)),
        ":knowledges": json::text(input.knowledges.as_ref().unwrap_or(&empty)),
        ":configuration": json::text(&input.configuration.clone().unwrap_or_default()),
        ":accessible_paths": json::text(input.accessible_paths.as_ref().unwrap_or(&empty)),
        ":permission_mode": input.permission_mode.unwrap_or(PermissionMode::ReadOnly),
        ":max_steps": input.max_steps.unwrap_or(10),
      },
      read,
    )
    .map_err(|e| Error::from(e).naming_duplicate("agent", input.id.as_deref()))
}

/// The agent with this id, if any.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Agent>> {
  let mut stmt = conn.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"))?;
  Ok(stmt.query_row([id], read).optional()?)
}

/// Whether an agent with this id exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
  let mut stmt = conn.prepare_cached("SELECT 1 FROM agents WHERE id = ?1")?;
  Ok(stmt.exists([id])?)
}

/// Changes the given fields; `updatedAt` moves forward, `createdAt` never changes.
/// `NOT_FOUND` for a missing id.
pub fn update(conn: &Connection, id: &str, patch: &AgentPatch) -> Result<Agent> {
  check_fields(patch.name.as_deref(), patch.model.as_deref(), patch.max_steps, "patch")?;
  let mut set = Assignments::default();
  set.set("type", patch.agent_type.map(|t| t.as_str().to_string()));
  set.set("name", patch.name.clone());
  set.set_nullable("description", patch.description.clone());
  set.set_nullable("avatar", patch.avatar.clone());
  set.set_nullable("instructions", patch.instructions.clone());
  set.set("model", patch.model.clone());
  set.set_nullable("plan_model", patch.plan_model.clone());
  set.set_nullable("small_model", patch.small_model.clone());
  set.set("built_in_tools", patch.built_in_tools.as_ref().map(json::text));
  set.set("mcps", patch.mcps.as_ref().map(json::text));
  set.set("knowledges", patch.knowledges.as_ref().map(json::text));
  set.set("configuration", patch.configuration.as_ref().map(json::text));
  set.set("accessible_paths", patch.accessible_paths.as_ref().map(json::text));
  set.set("permission_mode", patch.permission_mode.map(|m| m.as_str().to_string()));
  set.set("max_steps", patch.max_steps);
  set
    .apply(conn, "agents", ("id", id.to_string().into()), AGENT_COLUMNS, read)?
    .ok_or_else(|| Error::not_found(format!("agent {id:?} does not exist")))
}

/// Deletes an agent, its sessions and their logs (foreign-key cascade). Returns whether it
/// existed.
pub fn delete(conn: &Connection, id: &str) -> Result<bool> {
  logs::unlink_agent(conn, id)?;
  let mut stmt = conn.prepare_cached("DELETE FROM agents WHERE id = ?1")?;
  Ok(stmt.execute([id])? > 0)
}

/// How many agents there are.
pub fn count(conn: &Connection) -> Result<i64> {
  Ok(conn.prepare_cached("SELECT count(*) FROM agents")?.query_row([], |r| r.get(0))?)
}

/// Agents in creation order, optionally of one type.
pub fn list(conn: &Connection, agent_type: Option<AgentType>, page: &PageRequest) -> Result<Page<Agent>> {
  let mut query = ListQuery::new("agents", Order::Ascending);
  if let Some(agent_type) = agent_type {
    query.filter("type = :type", ":type", agent_type.as_str().to_string());
  }
  query.run(conn, &format!("SELECT {AGENT_COLUMNS} FROM agents"), page, read, |a| (a.created_at.clone(), a.id.clone()))
}
