//! Sessions: create, read, update, list, delete, and the session joined with its agent, the
//! effective configuration (the session's override where it has one, else the agent's) and
//! its compaction checkpoint.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::agents::{self, Agent, AGENT_COLUMNS, AGENT_COLUMN_COUNT};
use crate::checkpoints::{checkpoint_from_row, Checkpoint, CHECKPOINT_COLUMNS, CHECKPOINT_COLUMN_COUNT};
use crate::error::{Error, Result};
use crate::json::{self, Json};
use crate::model::{SessionStatus, NEW_UUID};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;
use crate::settings::{self, Settings, Stored, Value};
use crate::stored;
use crate::trash::Trash;

/// The columns of `sessions`, in the order [`session_from_row`] reads them.
pub static SESSION_COLUMNS: LazyLock<String> = LazyLock::new(|| {
  format!(
    "id, name, main_agent_id, sub_agent_ids, user_goal, status, external_session_id, {}, created_at, updated_at, last_activity_at, deleted_at",
    *settings::COLUMNS
  )
});

/// How many columns [`SESSION_COLUMNS`] has.
pub const SESSION_COLUMN_COUNT: usize = 11 + settings::COUNT;

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
  /// When anything last happened in it: its creation, or the last write of one of its logs.
  pub last_activity_at: String,
  /// When it was moved to the trash; absent (not `null`) for a session that is not there.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub deleted_at: Option<String>,
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
      // Set by a trigger after the insert, so a row returned by the insert itself has none yet.
      last_activity_at: match row.get(at + 9 + settings::COUNT)? {
        Some(at) => at,
        None => row.get(at + 7 + settings::COUNT)?,
      },
      deleted_at: row.get(at + 10 + settings::COUNT)?,
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

/// Whether a session with this id exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
  Ok(conn.prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?.exists([id])?)
}

/// The session with this id, if any, in the trash or not.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Session>> {
  find(conn, id, Trash::Include)
}

/// The session with this id, if any and if `trash` lets it be seen.
pub fn find(conn: &Connection, id: &str, trash: Trash) -> Result<Option<Session>> {
  let mut stmt =
    conn.prepare_cached(&format!("SELECT {} FROM sessions WHERE id = ?1 AND (?2 OR deleted_at IS NULL)", *SESSION_COLUMNS))?;
  Ok(stmt.query_row(params![id, trash == Trash::Include], read).optional()?)
}

/// The session with this external id inserted last, if any, leaving out the trash unless
/// `trash` includes it.
pub fn get_by_external_id(conn: &Connection, external_id: &str, trash: Trash) -> Result<Option<Session>> {
  let sql = format!(
    "SELECT {} FROM sessions WHERE external_session_id = ?1 AND (?2 OR deleted_at IS NULL) ORDER BY seq DESC LIMIT 1",
    *SESSION_COLUMNS
  );
  Ok(conn.prepare_cached(&sql)?.query_row(params![external_id, trash == Trash::Include], read).optional()?)
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

/// What `listSessions` orders by, newest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionOrder {
  /// `createdAt` (the default).
  #[default]
  Created,
  /// `lastActivityAt`: the sidebar's order.
  Activity,
}

impl SessionOrder {
  /// The option's value, the key column it sorts by (an integer that only grows, never the
  /// wall clock: `seq` the insertion order, `last_activity_seq` the order of last activity,
  /// which the triggers of migration 006 keep) and the list its cursors belong to, so that a
  /// cursor of one order is refused by the other.
  const ALL: [(SessionOrder, &'static str, &'static str, &'static str); 2] = [
    (SessionOrder::Created, "createdAt", "seq", "sessions"),
    (SessionOrder::Activity, "lastActivityAt", "last_activity_seq", "sessionsByActivity"),
  ];

  fn entry(self) -> &'static (SessionOrder, &'static str, &'static str, &'static str) {
    Self::ALL.iter().find(|(order, ..)| *order == self).unwrap_or_else(|| unreachable!("every order is listed"))
  }

  /// Reads `orderBy`.
  pub fn parse(text: &str, what: impl std::fmt::Display) -> Result<SessionOrder> {
    Self::ALL.iter().find(|(_, name, ..)| *name == text).map(|(order, ..)| *order).ok_or_else(|| {
      let names: Vec<String> = Self::ALL.iter().map(|(_, name, ..)| format!("'{name}'")).collect();
      Error::invalid(format!("{what} must be one of {}, got {text:?}", names.join(", ")))
    })
  }

  /// The list its cursors belong to.
  pub fn list(self) -> &'static str {
    self.entry().3
  }
}

/// What `listSessions` adds to each session, read in the same statement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Include {
  /// `agent`: the main agent's id, name, type and avatar.
  pub agent: bool,
  /// `latestLog`: the newest log entry, or null.
  pub latest_log: bool,
  /// `logCount`: how many log entries it has.
  pub log_count: bool,
}

impl Include {
  /// The names `include` takes.
  pub const NAMES: [&'static str; 3] = ["agent", "latestLog", "logCount"];
}

/// A session as `listSessions` returns it: with what `include` asked for.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedSession {
  /// The session as stored.
  #[serde(flatten)]
  pub session: Session,
  /// Its main agent's id, name, type and avatar.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub agent: Option<Json>,
  /// Its newest log entry (`null` when it has none).
  #[serde(skip_serializing_if = "Option::is_none")]
  pub latest_log: Option<Json>,
  /// How many log entries it has.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub log_count: Option<i64>,
}

/// The expressions `include` adds, each over the page's row `p`: one statement reads the
/// page and all of them, from one snapshot, without a query per session.
const INCLUDED_SQL: [&str; 3] = [
  "(SELECT json_object('id', a.id, 'name', a.name, 'type', a.type, 'avatar', a.avatar) FROM agents a WHERE a.id = p.main_agent_id)",
  "coalesce((SELECT json_object('id', l.id, 'sessionId', l.session_id, 'parentId', l.parent_id, 'role', l.role, \
     'type', l.type, 'content', json(l.content), 'metadata', json(l.metadata), 'status', l.status, \
     'createdAt', l.created_at, 'updatedAt', l.updated_at) \
     FROM session_logs l WHERE l.session_id = p.id ORDER BY l.id DESC LIMIT 1), 'null')",
  "(SELECT count(*) FROM session_logs l WHERE l.session_id = p.id)",
];

/// Sessions newest first (by creation or by last activity), optionally by status and by
/// agent, each with what `include` asks for: those out of the trash, or (`trash` is
/// [`Trash::Only`]) those in it.
pub fn list(
  conn: &Connection,
  trash: Trash,
  status: Option<SessionStatus>,
  agent_id: Option<&str>,
  order: SessionOrder,
  include: Include,
  page: &PageRequest,
) -> Result<Page<ListedSession>> {
  let (_, _, key, list) = *order.entry();
  let mut query = ListQuery::new(list, key, Order::Descending);
  trash.filter(&mut query);
  if let Some(status) = status {
    query.filter("status = :status", ":status", status.as_str().to_string());
  }
  if let Some(agent_id) = agent_id {
    query.filter("main_agent_id = :agent", ":agent", agent_id.to_string());
  }
  let wanted = [include.agent, include.latest_log, include.log_count];
  let extras: Vec<&str> = INCLUDED_SQL.iter().zip(wanted).map(|(sql, on)| if on { *sql } else { "NULL" }).collect();
  let read = |row: &Row| -> rusqlite::Result<ListedSession> {
    let extra = |i: usize| -> rusqlite::Result<Option<Json>> { json::nullable_column(row, SESSION_COLUMN_COUNT + i) };
    Ok(ListedSession {
      session: read(row)?,
      agent: extra(0)?,
      latest_log: extra(1)?,
      log_count: row.get(SESSION_COLUMN_COUNT + 2)?,
    })
  };
  query.wrapped(&extras.join(", ")).run(conn, &SESSION_COLUMNS, "sessions", page, read)
}

/// How many sessions there are out of the trash, optionally of one agent: all of them less
/// those in the trash, so that both counts are read from an index.
pub fn count(conn: &Connection, agent_id: Option<&str>) -> Result<i64> {
  let sql = "SELECT (SELECT count(*) FROM sessions WHERE ?1 IS NULL OR main_agent_id = ?1) \
     - (SELECT count(*) FROM sessions WHERE deleted_at IS NOT NULL AND (?1 IS NULL OR main_agent_id = ?1))";
  Ok(conn.prepare_cached(sql)?.query_row([agent_id], |r| r.get(0))?)
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
  /// Its compaction checkpoint, or `None`.
  pub checkpoint: Option<Checkpoint>,
}

impl SessionWithAgent {
  fn new(session: Session, agent: Agent, checkpoint: Option<Checkpoint>) -> Self {
    let effective = session.settings.over(&agent.settings);
    SessionWithAgent { session, agent, effective, checkpoint }
  }
}

/// `get_with_agent`'s statement: every session column, every agent column, then every column
/// of the session's checkpoint (NULL without one). Built once:
/// it is also the key of the statement cache, looked up on every call.
static WITH_AGENT_SQL: LazyLock<String> = LazyLock::new(|| {
  let agent_columns = AGENT_COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ");
  let session_columns = SESSION_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ");
  debug_assert_eq!(AGENT_COLUMNS.split(", ").count(), AGENT_COLUMN_COUNT);
  let checkpoint_columns = CHECKPOINT_COLUMNS.split(", ").map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
  debug_assert_eq!(SESSION_COLUMNS.split(", ").count(), SESSION_COLUMN_COUNT);
  debug_assert_eq!(CHECKPOINT_COLUMNS.split(", ").count(), CHECKPOINT_COLUMN_COUNT);
  format!(
    "SELECT {session_columns}, {agent_columns}, {checkpoint_columns} FROM sessions s JOIN agents a ON a.id = s.main_agent_id \
     LEFT JOIN session_checkpoints c ON c.session_id = s.id WHERE s.id = ?1 AND (?2 OR s.deleted_at IS NULL)"
  )
});

/// The session with its agent and its checkpoint, read in one statement (one snapshot), if
/// the session exists and `trash` lets it be seen.
pub fn get_with_agent(conn: &Connection, id: &str, trash: Trash) -> Result<Option<SessionWithAgent>> {
  let mut stmt = conn.prepare_cached(&WITH_AGENT_SQL)?;
  let row = stmt
    .query_row(params![id, trash == Trash::Include], |row| {
      Ok(SessionWithAgent::new(
        session_from_row(row, 0)?,
        agents::agent_from_row(row, SESSION_COLUMN_COUNT)?,
        checkpoint_from_row(row, SESSION_COLUMN_COUNT + AGENT_COLUMN_COUNT)?,
      ))
    })
    .optional()?;
  Ok(row)
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
      let view = get_with_agent(&conn, "s1", Trash::Exclude).unwrap().unwrap();
      assert_eq!((view.session.id.as_str(), view.agent.id.as_str()), ("s1", "a1"));
      assert_eq!(
        (&view.effective[Field::Model], &view.effective[Field::MaxSteps]),
        (&Some(Value::Text("claude-opus".into())), &Some(Value::Steps(20)))
      );
      let inherited = get_with_agent(&conn, "s2", Trash::Exclude).unwrap().unwrap();
      assert_eq!(inherited.effective[Field::Model], Some(Value::Text("claude-sonnet".into())));
      assert!(get_with_agent(&conn, "missing", Trash::Exclude).unwrap().is_none());
    }
  }
}
