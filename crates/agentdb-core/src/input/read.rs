//! Reading the typed calls' inputs into core types, field by field, each error naming its
//! field and every value checked against [`crate::rules`]. Inputs arrive as JSON text and
//! are read on the writer thread before it takes the write lock (see [`crate::command`]);
//! the few scalar arguments and list options of reads, read on the JavaScript thread, go
//! through the same readers.

use std::fmt::Display;

use serde_json::Value;

use crate::agents::{AgentPatch, NewAgent};
use crate::checkpoints::NewCheckpoint;
use crate::error::{Error, Result};
use crate::forks::ForkRequest;
use crate::input::fields::{Element, Fields, Source};
use crate::input::tree::Input;
use crate::input::Kind;
use crate::json::{self, Json};
use crate::limits;
use crate::logs::{LogPatch, NewLog, LATEST_DEFAULT_LIMIT};
use crate::model::{AgentType, LogChildren, LogRole, LogStatus, LogType, PermissionMode, SessionStatus};
use crate::page::{Cursor, Order, PageRequest};
use crate::rules::{self, LOG_ID, MAX_STEPS, PAGE_LIMIT, PAGE_MAX_BYTES, PAGE_OFFSET, SUMMARY_UNITS, TOKEN_COUNT};
use crate::sessions::{Include, NewSession, SessionOrder, SessionPatch};
use crate::settings::{self, AgentDefault, Setting, SettingKind, Settings};

fn agent_type(v: &Input, what: &dyn Display) -> Result<AgentType> {
  AgentType::parse(&v.string(what)?, what)
}

fn log_role(v: &Input, what: &dyn Display) -> Result<LogRole> {
  LogRole::parse(&v.string(what)?, what)
}

fn log_type(v: &Input, what: &dyn Display) -> Result<LogType> {
  LogType::parse(&v.string(what)?, what)
}

fn log_status(v: &Input, what: &dyn Display) -> Result<LogStatus> {
  LogStatus::parse(&v.string(what)?, what)
}

/// Reads a session status.
pub fn session_status<S: Source>(v: S, what: &dyn Display) -> Result<SessionStatus> {
  SessionStatus::parse(&v.string(what)?, what)
}

/// A required text: a name or a model, not blank.
fn text(v: &Input, what: &dyn Display) -> Result<String> {
  let text = v.string(what)?;
  rules::text(&text, what)?;
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

/// A JSON field given as `null`.
fn null_json() -> Json {
  json::from_value(&Value::Null)
}

/// Reads a log id: a positive whole number JavaScript holds exactly.
pub fn log_id<S: Source>(v: S, what: &dyn Display) -> Result<i64> {
  Ok(v.whole(what, &LOG_ID)? as i64)
}

/// Reads one setting's value, as its kind says.
fn setting(setting: &Setting, v: &Input, what: &dyn Display) -> Result<settings::Value> {
  Ok(match setting.kind {
    SettingKind::Model => settings::Value::Text(text(v, what)?),
    SettingKind::Strings => settings::Value::Json(json::from_value(&Value::from(v.strings(what)?))),
    SettingKind::Object => match v.to_value() {
      object @ Value::Object(_) => settings::Value::Json(json::from_value(&object)),
      _ => return Err(Error::invalid(format!("{what} must be a plain object"))),
    },
    SettingKind::Mode => settings::Value::Mode(PermissionMode::parse(&v.string(what)?, what)?),
    SettingKind::Steps => settings::Value::Steps(v.whole(what, &MAX_STEPS)? as i64),
  })
}

/// The settings of a new agent or session: each read when given, else `None`.
fn given_settings(f: &Fields<&Input>, required: impl Fn(&Setting) -> bool) -> Result<settings::Stored> {
  Settings::try_from_fn(|s| {
    let read = |v: &Input, p: &dyn Display| setting(s, v, p);
    if required(s) {
      f.required(s.name, read).map(Some)
    } else {
      f.parsed(s.name, read)
    }
  })
}

/// The settings a patch changes: `None` keeps one, `Some(None)` clears one where `nullable`
/// says it may be cleared (`null` is refused elsewhere, naming the field).
fn changed_settings(
  f: &Fields<&Input>,
  nullable: impl Fn(&Setting) -> bool,
) -> Result<Settings<Option<Option<settings::Value>>>> {
  Settings::try_from_fn(|s| {
    let read = |v: &Input, p: &dyn Display| setting(s, v, p);
    if nullable(s) {
      f.nullable_change(s.name, read)
    } else {
      f.non_null_change(s.name, read).map(|change| change.map(Some))
    }
  })
}

/// The fields a row read back has that no input sets: the database sets them. A row spread
/// into an input (`updateSession(id, { ...session, name })`, `createAgent({ ...exported })`)
/// carries them, so inputs accept them, as strings (or Dates, which arrive as their ISO
/// strings), and ignore them.
const TIMESTAMPS: [&str; 2] = ["createdAt", "updatedAt"];

/// Reads the timestamps of a row spread into an input, which are ignored.
fn ignored_timestamps(f: &Fields<&Input>) -> Result<()> {
  for name in TIMESTAMPS {
    f.string(name)?;
  }
  Ok(())
}

/// Reads the `id` of a row spread into a patch: it must be the id of the row being updated,
/// since an id never changes.
fn same_id<T: PartialEq + Display>(f: &Fields<&Input>, given: Option<T>, target: &T) -> Result<()> {
  match given {
    Some(given) if given != *target => Err(Error::invalid(format!(
      "{} is {given}, not the id of the row being updated ({target}): an id cannot change",
      f.path("id")
    ))),
    _ => Ok(()),
  }
}

/// An agent's fields: its own, its settings, then the timestamps a row read back has.
fn agent_fields() -> Vec<&'static str> {
  let mut fields = vec!["id", "type", "name", "description", "avatar", "instructions"];
  fields.extend(settings::names());
  fields.extend(TIMESTAMPS);
  fields
}

/// `createAgent`'s input. `createdAt` and `updatedAt` are ignored: the new row's are now.
pub fn new_agent(value: &Input, what: &str) -> Result<NewAgent> {
  let f = Fields::of(value, what, &agent_fields(), false)?;
  ignored_timestamps(&f)?;
  Ok(NewAgent {
    id: f.parsed("id", id)?,
    agent_type: f.parsed("type", agent_type)?,
    name: f.required("name", text)?,
    description: f.string("description")?,
    avatar: f.string("avatar")?,
    instructions: f.string("instructions")?,
    settings: given_settings(&f, |s| s.agent_default == AgentDefault::Required)?,
  })
}

/// `updateAgent`'s patch of agent `target`. `null` clears a nullable field; the other fields
/// refuse `null`. An `id` must be `target`; `createdAt` and `updatedAt` are ignored.
pub fn agent_patch(value: &Input, what: &str, target: &str) -> Result<AgentPatch> {
  let f = Fields::of(value, what, &agent_fields(), false)?;
  same_id(&f, f.parsed("id", id)?, &target.to_string())?;
  ignored_timestamps(&f)?;
  Ok(AgentPatch {
    agent_type: f.non_null_change("type", agent_type)?,
    name: f.non_null_change("name", text)?,
    description: f.string_change("description")?,
    avatar: f.string_change("avatar")?,
    instructions: f.string_change("instructions")?,
    settings: changed_settings(&f, |s| s.agent_default == AgentDefault::Null)?,
  })
}

/// A session's fields: its own, the settings it may override, then the timestamps a row
/// read back has (its last activity among them, which its logs' writes set).
fn session_fields() -> Vec<&'static str> {
  let mut fields = vec!["id", "name", "mainAgentId", "subAgentIds", "userGoal", "status", "externalSessionId"];
  fields.extend(settings::names());
  fields.extend(TIMESTAMPS);
  fields.push(LAST_ACTIVITY);
  fields
}

/// The timestamp a session read back has besides [`TIMESTAMPS`]; ignored like them.
const LAST_ACTIVITY: &str = "lastActivityAt";

/// `createSession`'s input. `createdAt` and `updatedAt` are ignored: the new row's are now.
pub fn new_session(value: &Input, what: &str) -> Result<NewSession> {
  let f = Fields::of(value, what, &session_fields(), false)?;
  ignored_timestamps(&f)?;
  f.string(LAST_ACTIVITY)?;
  Ok(NewSession {
    id: f.parsed("id", id)?,
    name: f.string("name")?,
    main_agent_id: f.required("mainAgentId", id)?,
    sub_agent_ids: f.strings("subAgentIds")?,
    user_goal: f.string("userGoal")?,
    status: f.parsed("status", session_status)?,
    external_session_id: f.string("externalSessionId")?,
    settings: given_settings(&f, |_| false)?,
  })
}

/// `updateSession`'s patch of session `target`; `null` on an override goes back to
/// inheriting from the agent, `null` on `mainAgentId`, `subAgentIds` or `status` is refused.
/// An `id` must be `target`; `createdAt` and `updatedAt` are ignored.
pub fn session_patch(value: &Input, what: &str, target: &str) -> Result<SessionPatch> {
  let f = Fields::of(value, what, &session_fields(), false)?;
  same_id(&f, f.parsed("id", id)?, &target.to_string())?;
  ignored_timestamps(&f)?;
  f.string(LAST_ACTIVITY)?;
  Ok(SessionPatch {
    name: f.string_change("name")?,
    main_agent_id: f.non_null_change("mainAgentId", id)?,
    sub_agent_ids: f.non_null_change("subAgentIds", strings)?,
    user_goal: f.string_change("userGoal")?,
    status: f.non_null_change("status", session_status)?,
    external_session_id: f.string_change("externalSessionId")?,
    settings: changed_settings(&f, |_| true)?,
  })
}

/// `addLog`'s input. `content` is required; `null` is a JSON value like any other.
pub fn new_log(value: &Input, what: &dyn Display) -> Result<NewLog> {
  let f =
    Fields::of(value, what, &["sessionId", "parentId", "role", "type", "content", "metadata", "searchText", "status"], false)?;
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
    search_text: f.string("searchText")?,
    status: f.parsed("status", log_status)?,
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

/// Where a log entry is, as a patch of it says: the `sessionId` and `parentId` of an entry read
/// back and spread into the patch (`updateLog(log.id, { ...log, content })`). An entry never
/// moves, so each one given must be the entry's own, which only the database can tell: the
/// command checks them when it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogPlace {
  /// The session given, if any.
  pub session_id: Option<String>,
  /// The parent given, if any: `Some(None)` for `null`, a root entry.
  pub parent_id: Option<Option<i64>>,
}

/// `updateLog`'s patch of entry `target`, and where it says the entry is. An `id` must be
/// `target`; `createdAt` and `updatedAt` are ignored.
pub fn log_patch(value: &Input, what: &str, target: i64) -> Result<(LogPatch, LogPlace)> {
  let mut fields = vec!["id", "sessionId", "parentId", "role", "type", "content", "metadata", "searchText", "status"];
  fields.extend(TIMESTAMPS);
  let f = Fields::of(value, what, &fields, false)?;
  same_id(&f, f.parsed("id", log_id)?, &target)?;
  ignored_timestamps(&f)?;
  let patch = LogPatch {
    role: f.non_null_change("role", log_role)?,
    log_type: f.non_null_change("type", log_type)?,
    content: f.change("content")?.map(|v| v.map_or_else(null_json, Input::json)),
    metadata: f.nullable_change("metadata", json)?,
    search_text: f.string_change("searchText")?,
    status: f.non_null_change("status", log_status)?,
  };
  let place = LogPlace { session_id: f.parsed("sessionId", id)?, parent_id: f.nullable_change("parentId", log_id)? };
  Ok((patch, place))
}

/// `deleteLog`'s options: `children` is required, since either choice loses something the
/// other keeps.
pub fn delete_log_options(value: &Input, what: &str) -> Result<LogChildren> {
  let f = Fields::of(value, what, &["children"], false)?;
  f.required("children", |v, p| LogChildren::parse(&v.string(p)?, p))
}

/// `appendLogText`'s options: the path of a string inside the content, as SQLite's JSON path
/// (`$.text`), and the text to append to it.
pub fn append_text_options(value: &Input, what: &str) -> Result<(String, String)> {
  let f = Fields::of(value, what, &["path", "delta"], false)?;
  Ok((f.required("path", |v, p| content_path(&v.string(p)?, p))?, f.required_string("delta")?))
}

/// A path inside a log's content, `text`, `parts[2].text` or `$.parts[2].text` (`$` alone is
/// the content itself), as the SQLite JSON path it names. Keys are letters, digits and `_`;
/// indexes are whole numbers. Anything else is refused, so SQLite never sees a malformed path.
pub fn content_path(text: &str, what: &dyn Display) -> Result<String> {
  let bad = |why: &str| {
    Error::invalid(format!(
      "{what}: {text:?} is not a path inside the content ({why}; write keys and indexes as `parts[2].text`, or `$` for the content itself)"
    ))
  };
  let rest = text.strip_prefix('$').unwrap_or(text);
  let mut path = String::from("$");
  if rest.is_empty() {
    return if text.is_empty() { Err(bad("it is empty")) } else { Ok(path) };
  }
  let mut chars = rest.chars().peekable();
  let mut first = text.len() == rest.len();
  while chars.peek().is_some() {
    if chars.peek() == Some(&'[') {
      chars.next();
      let mut index = String::new();
      while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
        index.push(c);
        chars.next();
      }
      if index.is_empty() || chars.next() != Some(']') {
        return Err(bad("an index must be a whole number in brackets"));
      }
      path.push_str(&format!("[{}]", index.trim_start_matches('0').parse::<u64>().unwrap_or(0)));
    } else {
      if !first && chars.next() != Some('.') {
        return Err(bad("keys are separated by `.`"));
      }
      let mut key = String::new();
      while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
        key.push(c);
        chars.next();
      }
      if key.is_empty() {
        return Err(bad("a key must hold letters, digits or `_`"));
      }
      path.push('.');
      path.push_str(&key);
    }
    first = false;
  }
  Ok(path)
}

/// `finishLog`'s options: the finished status, and optionally the final content and metadata.
pub fn finish_options(value: &Input, what: &str) -> Result<LogPatch> {
  let f = Fields::of(value, what, &["status", "content", "metadata"], false)?;
  let given = f.required_string("status")?;
  let Some(&status) = LogStatus::FINISHED.iter().find(|s| s.as_str() == given) else {
    let names: Vec<String> = LogStatus::FINISHED.iter().map(|s| format!("'{}'", s.as_str())).collect();
    return Err(Error::invalid(format!("{} must be one of {}, got {given:?}", f.path("status"), names.join(", "))));
  };
  Ok(LogPatch {
    status: Some(status),
    content: f.change("content")?.map(|v| v.map_or_else(null_json, Input::json)),
    metadata: f.nullable_change("metadata", json)?,
    ..LogPatch::default()
  })
}

/// `listSessions`' `orderBy` and `include`, and the page, whose cursors belong to the order.
pub fn session_list<S: Source>(f: &Fields<S>) -> Result<(SessionOrder, Include, PageRequest)> {
  let order = f.parsed("orderBy", |v, p| SessionOrder::parse(&v.string(p)?, p))?.unwrap_or_default();
  let mut include = Include::default();
  for (i, name) in f.strings("include")?.unwrap_or_default().iter().enumerate() {
    let flag = match name.as_str() {
      "agent" => &mut include.agent,
      "latestLog" => &mut include.latest_log,
      "logCount" => &mut include.log_count,
      other => {
        let names: Vec<String> = Include::NAMES.iter().map(|n| format!("'{n}'")).collect();
        return Err(Error::invalid(format!("{}[{i}] must be one of {}, got {other:?}", f.path("include"), names.join(", "))));
      }
    };
    *flag = true;
  }
  Ok((order, include, page(f)?))
}

/// `setCheckpoint`'s `checkpoint`: `summary` (required text, not blank, at most
/// [`SUMMARY_UNITS`] UTF-16 units), `throughLogId` (required), `coveredTokens` and
/// `summaryTokens` (whole numbers from 0, or null), `metadata` (any JSON value, or null).
pub fn new_checkpoint(value: &Input, what: &str) -> Result<NewCheckpoint> {
  let fields = ["summary", "throughLogId", "coveredTokens", "summaryTokens", "metadata"];
  let f = Fields::of(value, what, &fields, false)?;
  let summary = f.required("summary", text)?;
  let units = limits::utf16_units(summary.as_bytes());
  if units > SUMMARY_UNITS {
    return Err(Error::invalid(format!(
      "{} is {units} UTF-16 units long; a summary holds at most {SUMMARY_UNITS}",
      f.path("summary")
    )));
  }
  let tokens = |name: &str| -> Result<Option<i64>> { Ok(f.parsed(name, |v, p| v.whole(p, &TOKEN_COUNT))?.map(|n| n as i64)) };
  Ok(NewCheckpoint {
    through_log_id: f.required("throughLogId", log_id)?,
    summary,
    covered_tokens: tokens("coveredTokens")?,
    summary_tokens: tokens("summaryTokens")?,
    metadata: f.parsed("metadata", json)?,
  })
}

/// `deleteAgent`'s and `deleteSession`'s options, which may be left out: whether to move
/// the row to the trash (`soft: true`) instead of deleting it (the default).
pub fn delete_options(options: Option<&Input>, what: &str) -> Result<bool> {
  let Some(options) = options else { return Ok(false) };
  Ok(Fields::of(options, what, &["soft"], true)?.boolean("soft")?.unwrap_or(false))
}

/// `forkSession`'s options, which may be left out: `atLogId`, `id`, `name`.
pub fn fork_request(source: String, options: Option<&Input>, what: &str) -> Result<ForkRequest> {
  let Some(options) = options else { return Ok(ForkRequest { source, ..ForkRequest::default() }) };
  let f = Fields::of(options, what, &["atLogId", "id", "name"], true)?;
  Ok(ForkRequest { source, at_log_id: f.parsed("atLogId", log_id)?, id: f.parsed("id", id)?, name: f.string("name")? })
}

/// The paging fields every list takes: `limit`, `offset`, `after`, `maxBytes`. Whether a
/// cursor belongs to the list it is given to is checked by the list
/// ([`crate::page::ListQuery`]).
pub fn page<S: Source>(f: &Fields<S>) -> Result<PageRequest> {
  let limit = f.whole("limit", &PAGE_LIMIT)?;
  let offset = f.whole("offset", &PAGE_OFFSET)?;
  let after = f.parsed("after", |v, p| Cursor::decode(&v.string(p)?))?;
  Ok(PageRequest { max_bytes: max_bytes(f)?, ..PageRequest::new(limit, offset, after)? })
}

/// The `maxBytes` bound of a page.
pub fn max_bytes<S: Source>(f: &Fields<S>) -> Result<Option<u64>> {
  f.whole("maxBytes", &PAGE_MAX_BYTES)
}

/// The second argument of `getLatestLogs`: the limit alone (a number, as before it took
/// options) or `{ limit, after }`; the limit defaults to [`LATEST_DEFAULT_LIMIT`].
pub fn latest_page<S: Source>(value: S) -> Result<PageRequest> {
  if !matches!(value.kind(), Kind::Object | Kind::Undefined | Kind::Null) {
    return PageRequest::new(Some(value.whole("limit", &PAGE_LIMIT)?), None, None);
  }
  let f = Fields::of(value, "options", &["limit", "after", "maxBytes"], true)?;
  let limit = f.whole("limit", &PAGE_LIMIT)?.unwrap_or(LATEST_DEFAULT_LIMIT);
  let after = f.parsed("after", |v, p| Cursor::decode(&v.string(p)?))?;
  Ok(PageRequest { max_bytes: max_bytes(&f)?, ..PageRequest::new(Some(limit), None, after)? })
}

/// The `order` of a log list: `'asc'` (default) or `'desc'`.
pub fn order<S: Source>(f: &Fields<S>) -> Result<Order> {
  match f.string("order")?.as_deref() {
    None | Some("asc") => Ok(Order::Ascending),
    Some("desc") => Ok(Order::Descending),
    Some(other) => Err(Error::invalid(format!("{} must be 'asc' or 'desc', got {other:?}", f.path("order")))),
  }
}
