//! `getSessionWithAgent`'s result, read from `bench/sql/session_with_agent.sql` with every
//! JSON column parsed and the effective configuration resolved (session override, else the
//! agent's value).

#![allow(dead_code)] // read so the work cannot be skipped; the fields are the result

use rusqlite::Row;
use serde_json::Value;

use crate::workload::parse;

/// A session row.
pub struct Session {
  pub id: String,
  pub name: Option<String>,
  pub main_agent_id: String,
  pub sub_agent_ids: Value,
  pub user_goal: Option<String>,
  pub status: String,
  pub external_session_id: Option<String>,
  pub model: Option<String>,
  pub plan_model: Option<String>,
  pub small_model: Option<String>,
  pub built_in_tools: Option<Value>,
  pub mcps: Option<Value>,
  pub knowledges: Option<Value>,
  pub configuration: Option<Value>,
  pub accessible_paths: Option<Value>,
  pub permission_mode: Option<String>,
  pub max_steps: Option<i64>,
  pub created_at: String,
  pub updated_at: String,
}

/// An agent row.
pub struct Agent {
  pub id: String,
  pub kind: String,
  pub name: String,
  pub description: Option<String>,
  pub avatar: Option<String>,
  pub instructions: Option<String>,
  pub model: String,
  pub plan_model: Option<String>,
  pub small_model: Option<String>,
  pub built_in_tools: Value,
  pub mcps: Value,
  pub knowledges: Value,
  pub configuration: Value,
  pub accessible_paths: Value,
  pub permission_mode: String,
  pub max_steps: i64,
  pub created_at: String,
  pub updated_at: String,
}

/// What the session runs with.
pub struct Effective {
  pub model: String,
  pub plan_model: Option<String>,
  pub small_model: Option<String>,
  pub built_in_tools: Value,
  pub mcps: Value,
  pub knowledges: Value,
  pub configuration: Value,
  pub accessible_paths: Value,
  pub permission_mode: String,
  pub max_steps: i64,
}

/// The three together.
pub struct SessionWithAgent {
  pub session: Session,
  pub agent: Agent,
  pub effective: Effective,
}

fn json(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
  Ok(row.get_ref(index)?.as_str_or_null()?.map(parse))
}

/// Reads the row.
pub fn from_row(row: &Row<'_>) -> rusqlite::Result<SessionWithAgent> {
  let session = Session {
    id: row.get(0)?,
    name: row.get(1)?,
    main_agent_id: row.get(2)?,
    sub_agent_ids: json(row, 3)?.unwrap_or(Value::Null),
    user_goal: row.get(4)?,
    status: row.get(5)?,
    external_session_id: row.get(6)?,
    model: row.get(7)?,
    plan_model: row.get(8)?,
    small_model: row.get(9)?,
    built_in_tools: json(row, 10)?,
    mcps: json(row, 11)?,
    knowledges: json(row, 12)?,
    configuration: json(row, 13)?,
    accessible_paths: json(row, 14)?,
    permission_mode: row.get(15)?,
    max_steps: row.get(16)?,
    created_at: row.get(17)?,
    updated_at: row.get(18)?,
  };
  let agent = Agent {
    id: row.get(19)?,
    kind: row.get(20)?,
    name: row.get(21)?,
    description: row.get(22)?,
    avatar: row.get(23)?,
    instructions: row.get(24)?,
    model: row.get(25)?,
    plan_model: row.get(26)?,
    small_model: row.get(27)?,
    built_in_tools: json(row, 28)?.unwrap_or(Value::Null),
    mcps: json(row, 29)?.unwrap_or(Value::Null),
    knowledges: json(row, 30)?.unwrap_or(Value::Null),
    configuration: json(row, 31)?.unwrap_or(Value::Null),
    accessible_paths: json(row, 32)?.unwrap_or(Value::Null),
    permission_mode: row.get(33)?,
    max_steps: row.get(34)?,
    created_at: row.get(35)?,
    updated_at: row.get(36)?,
  };
  let effective = Effective {
    model: session.model.clone().unwrap_or_else(|| agent.model.clone()),
    plan_model: session.plan_model.clone().or_else(|| agent.plan_model.clone()),
    small_model: session.small_model.clone().or_else(|| agent.small_model.clone()),
    built_in_tools: session.built_in_tools.clone().unwrap_or_else(|| agent.built_in_tools.clone()),
    mcps: session.mcps.clone().unwrap_or_else(|| agent.mcps.clone()),
    knowledges: session.knowledges.clone().unwrap_or_else(|| agent.knowledges.clone()),
    configuration: session.configuration.clone().unwrap_or_else(|| agent.configuration.clone()),
    accessible_paths: session.accessible_paths.clone().unwrap_or_else(|| agent.accessible_paths.clone()),
    permission_mode: session.permission_mode.clone().unwrap_or_else(|| agent.permission_mode.clone()),
    max_steps: session.max_steps.unwrap_or(agent.max_steps),
  };
  Ok(SessionWithAgent { session, agent, effective })
}
