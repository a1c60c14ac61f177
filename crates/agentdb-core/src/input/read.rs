//! Reading the typed calls' inputs into core types, field by field, each error naming its
//! field. Inputs arrive as JSON (see `encode`) and are read on a database thread; the few
//! scalar arguments and list options read on the JavaScript thread share the same readers.
//! Shared by the methods and by `batch`.

use std::fmt::Display;

use serde_json::{Map, Value};

use crate::agents::{AgentPatch, NewAgent, MAX_STEPS_LIMIT};
use crate::error::{Error, Result};
use crate::input::fields::{Element, Fields, Source};
pub use crate::input::tree::decode;
use crate::input::tree::Input;
use crate::json::{self, Json};
use crate::logs::{LogPatch, NewLog};
use crate::model::{AgentType, LogRole, LogType, PermissionMode, SessionStatus};
use crate::page::{Cursor, Order, PageRequest, MAX_LIMIT};
use crate::sessions::{NewSession, OverrideValue, Overrides, SessionPatch};

/// The largest log id accepted (JavaScript's largest safe integer).
const MAX_LOG_ID: u64 = 9_007_199_254_740_991;

fn agent_type(v: &Input, what: &dyn Display) -> Result<AgentType> {
  AgentType::parse(&v.string(what)?, what)
}

fn permission_mode(v: &Input, what: &dyn Display) -> Result<PermissionMode> {
  PermissionMode::parse(&v.string(what)?, what)
}

fn log_role(v: &Input, what: &dyn Display) -> Result<LogRole> {
  LogRole::parse(&v.string(what)?, what)
}

fn log_type(v: &Input, what: &dyn Display) -> Result<LogType> {
  LogType::parse(&v.string(what)?, what)
}

/// Reads a session status.
pub fn session_status<S: Source>(v: S, what: &dyn Display) -> Result<SessionStatus> {
  SessionStatus::parse(&v.string(what)?, what)
}

fn max_steps(v: &Input, what: &dyn Display) -> Result<i64> {
  let steps = v.number(what)?;
  if steps.fract() != 0.0 || !(1.0..=MAX_STEPS_LIMIT as f64).contains(&steps) {
    return Err(Error::invalid(format!("{what} must be a whole number from 1 to {MAX_STEPS_LIMIT}, got {steps}")));
  }
  Ok(steps as i64)
}

fn non_empty(v: &Input, what: &dyn Display) -> Result<String> {
  let text = v.string(what)?;
  if text.trim().is_empty() {
    return Err(Error::invalid(format!("{what} must not be empty")));
  }
  Ok(text)
}

fn id(v: &Input, what: &dyn Display) -> Result<String> {
  v.id(what)
}

fn strings(v: &Input, what: &dyn Display) -> Result<Vec<String>> {
  v.strings(what)
}

fn json(v: &Input, _what: &dyn Display) -> Result<Json> {
  Ok(v.json())
}

fn object(v: &Input, what: &dyn Display) -> Result<Map<String, Value>> {
  match v.to_value() {
    Value::Object(map) => Ok(map),
    _ => Err(Error::invalid(format!("{what} must be a plain object"))),
  }
}

/// A JSON field given as `null`.
fn null_json() -> Json {
  json::from_value(&Value::Null)
}

/// Reads a log id: a positive whole number.
pub fn log_id<S: Source>(v: S, what: &dyn Display) -> Result<i64> {
  let id = v.whole(what, MAX_LOG_ID)?;
  if id == 0 {
    return Err(Error::invalid(format!("{what} must be a positive whole number")));
  }
  Ok(id as i64)
}

/// An agent's fields: its own, then the configuration a session can override.
fn agent_fields() -> Vec<&'static str> {
  let mut fields = vec!["id", "type", "name", "description", "avatar", "instructions"];
  fields.extend(OVERRIDE_FIELDS);
  fields
}

/// `createAgent`'s input.
pub fn new_agent(value: &Input, what: &str) -> Result<NewAgent> {
  let f = Fields::of(value, what, &agent_fields(), false)?;
  Ok(NewAgent {
    id: f.parsed("id", id)?,
    agent_type: f.parsed("type", agent_type)?,
    name: f.required("name", non_empty)?,
    description: f.string("description")?,
    avatar: f.string("avatar")?,
    instructions: f.string("instructions")?,
    model: f.required("model", non_empty)?,
    plan_model: f.string("planModel")?,
    small_model: f.string("smallModel")?,
    built_in_tools: f.strings("builtInTools")?,
    mcps: f.strings("mcps")?,
    knowledges: f.strings("knowledges")?,
    configuration: f.parsed("configuration", object)?,
    accessible_paths: f.strings("accessiblePaths")?,
    permission_mode: f.parsed("permissionMode", permission_mode)?,
    max_steps: f.parsed("maxSteps", max_steps)?,
  })
}

/// `updateAgent`'s patch. `null` clears a nullable field; the other fields refuse `null`.
pub fn agent_patch(value: &Input, what: &str) -> Result<AgentPatch> {
  let f = Fields::of(value, what, &agent_fields()[1..], false)?;
  Ok(AgentPatch {
    agent_type: f.non_null_change("type", agent_type)?,
    name: f.non_null_change("name", non_empty)?,
    description: f.string_change("description")?,
    avatar: f.string_change("avatar")?,
    instructions: f.string_change("instructions")?,
    model: f.non_null_change("model", non_empty)?,
    plan_model: f.string_change("planModel")?,
    small_model: f.string_change("smallModel")?,
    built_in_tools: f.non_null_change("builtInTools", strings)?,
    mcps: f.non_null_change("mcps", strings)?,
    knowledges: f.non_null_change("knowledges", strings)?,
    configuration: f.non_null_change("configuration", object)?,
    accessible_paths: f.non_null_change("accessiblePaths", strings)?,
    permission_mode: f.non_null_change("permissionMode", permission_mode)?,
    max_steps: f.non_null_change("maxSteps", max_steps)?,
  })
}

/// Reads one override field's value.
fn override_value(name: &str, v: &Input, what: &dyn Display) -> Result<OverrideValue> {
  Ok(match name {
    "model" | "planModel" | "smallModel" => OverrideValue::Text(non_empty(v, what)?),
    "configuration" => OverrideValue::Object(object(v, what)?),
    "permissionMode" => OverrideValue::Mode(permission_mode(v, what)?),
    "maxSteps" => OverrideValue::Steps(max_steps(v, what)?),
    _ => OverrideValue::Strings(v.strings(what)?),
  })
}

const OVERRIDE_FIELDS: [&str; 10] = [
  "model",
  "planModel",
  "smallModel",
  "builtInTools",
  "mcps",
  "knowledges",
  "configuration",
  "accessiblePaths",
  "permissionMode",
  "maxSteps",
];

fn overrides<T>(mut read: impl FnMut(&'static str) -> Result<T>) -> Result<Overrides<T>> {
  Ok(Overrides {
    model: read(OVERRIDE_FIELDS[0])?,
    plan_model: read(OVERRIDE_FIELDS[1])?,
    small_model: read(OVERRIDE_FIELDS[2])?,
    built_in_tools: read(OVERRIDE_FIELDS[3])?,
    mcps: read(OVERRIDE_FIELDS[4])?,
    knowledges: read(OVERRIDE_FIELDS[5])?,
    configuration: read(OVERRIDE_FIELDS[6])?,
    accessible_paths: read(OVERRIDE_FIELDS[7])?,
    permission_mode: read(OVERRIDE_FIELDS[8])?,
    max_steps: read(OVERRIDE_FIELDS[9])?,
  })
}

fn session_fields() -> Vec<&'static str> {
  let mut fields = vec!["id", "name", "mainAgentId", "subAgentIds", "userGoal", "status", "externalSessionId"];
  fields.extend(OVERRIDE_FIELDS);
  fields
}

/// `createSession`'s input.
pub fn new_session(value: &Input, what: &str) -> Result<NewSession> {
  let f = Fields::of(value, what, &session_fields(), false)?;
  Ok(NewSession {
    id: f.parsed("id", id)?,
    name: f.string("name")?,
    main_agent_id: f.required("mainAgentId", id)?,
    sub_agent_ids: f.strings("subAgentIds")?,
    user_goal: f.string("userGoal")?,
    status: f.parsed("status", session_status)?,
    external_session_id: f.string("externalSessionId")?,
    overrides: overrides(|name| f.parsed(name, |v, p| override_value(name, v, p)))?,
  })
}

/// `updateSession`'s patch; `null` on an override goes back to inheriting from the agent,
/// `null` on `mainAgentId`, `subAgentIds` or `status` is refused.
pub fn session_patch(value: &Input, what: &str) -> Result<SessionPatch> {
  let f = Fields::of(value, what, &session_fields()[1..], false)?;
  Ok(SessionPatch {
    name: f.string_change("name")?,
    main_agent_id: f.non_null_change("mainAgentId", id)?,
    sub_agent_ids: f.non_null_change("subAgentIds", strings)?,
    user_goal: f.string_change("userGoal")?,
    status: f.non_null_change("status", session_status)?,
    external_session_id: f.string_change("externalSessionId")?,
    overrides: overrides(|name| f.nullable_change(name, |v, p| override_value(name, v, p)))?,
  })
}

/// `addLog`'s input. `content` is required; `null` is a JSON value like any other.
pub fn new_log(value: &Input, what: &dyn Display) -> Result<NewLog> {
  let f = Fields::of(value, what, &["sessionId", "parentId", "role", "type", "content", "metadata"], false)?;
  let content = match f.change("content")? {
    None => return Err(f.missing("content")),
    Some(content) => content.map_or_else(null_json, Input::json),
  };
  Ok(NewLog {
    session_id: f.required("sessionId", id)?,
    parent_id: f.parsed("parentId", log_id)?,
    role: f.required("role", log_role)?,
    log_type: f.required("type", log_type)?,
    content,
    metadata: f.parsed("metadata", json)?,
  })
}

/// `addLogs`' inputs: a non-empty array.
pub fn new_logs(value: &Input, what: &str) -> Result<Vec<NewLog>> {
  let items = value.elements(what)?;
  if items.is_empty() {
    return Err(Error::invalid(format!("{what} must hold at least one log")));
  }
  items.into_iter().enumerate().map(|(i, item)| new_log(item, &Element(what, i))).collect()
}

/// `updateLog`'s patch.
pub fn log_patch(value: &Input, what: &str) -> Result<LogPatch> {
  let f = Fields::of(value, what, &["role", "type", "content", "metadata"], false)?;
  Ok(LogPatch {
    role: f.non_null_change("role", log_role)?,
    log_type: f.non_null_change("type", log_type)?,
    content: f.change("content")?.map(|v| v.map_or_else(null_json, Input::json)),
    metadata: f.nullable_change("metadata", json)?,
  })
}

/// The paging fields every list takes: `limit`, `offset`, `after`.
pub fn page<S: Source>(f: &Fields<S>, list: &'static str) -> Result<PageRequest> {
  let limit = f.whole("limit", MAX_LIMIT)?;
  let offset = f.whole("offset", u32::MAX as u64)?;
  let after = f.parsed("after", |v, p| Cursor::decode(&v.string(p)?, list))?;
  PageRequest::new(limit, offset, after)
}

/// The `order` of a log list: `'asc'` (default) or `'desc'`.
pub fn order<S: Source>(f: &Fields<S>) -> Result<Order> {
  match f.string("order")?.as_deref() {
    None | Some("asc") => Ok(Order::Ascending),
    Some("desc") => Ok(Order::Descending),
    Some(other) => Err(Error::invalid(format!("{} must be 'asc' or 'desc', got {other:?}", f.path("order")))),
  }
}
