//! What every query test needs: a migrated database and rows to work on.

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::agents::{self, Agent, NewAgent};
use crate::command::{Command, Kind};
use crate::connection::{open_writer, Location, OpenOptions};
use crate::error::{Error, ErrorCode, Result};
use crate::logs::{self, NewLog, SessionLog};
use crate::migrations::migrator::{migrate, MigrateOptions};
use crate::migrations::source::MigrationSet;
use crate::model::{LogRole, LogType};
use crate::sessions::{self, NewSession, Session};
use crate::settings::{Field, Settings, Stored, Value as Setting};

/// An in-memory database with foreign keys on and the built-in migrations applied.
pub fn db() -> Connection {
  let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
  migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
  conn
}

/// Creates an agent with only the required fields.
pub fn agent(conn: &Connection, name: &str) -> Agent {
  agents::create(conn, &NewAgent { name: name.into(), settings: model("model-a"), ..Default::default() }).unwrap()
}

/// Settings that give only the model (all a new agent needs).
pub fn model(model: &str) -> Stored {
  Settings::default().with(Field::Model, Some(text(model)))
}

/// A model setting's value.
pub fn text(text: &str) -> Setting {
  Setting::Text(text.into())
}

/// A list or object setting's value.
pub fn json_setting(value: Value) -> Setting {
  Setting::Json(crate::json::from_value(&value))
}

/// The JSON text of a list or object setting; panics on any other value.
pub fn json_text(value: &Option<Setting>) -> &str {
  match value {
    Some(Setting::Json(json)) => json.get(),
    other => panic!("not a JSON setting: {other:?}"),
  }
}

/// Reads a command of `kind` from the JSON text of its arguments object, as the addon hands a
/// call over, and returns the error the read refused it with. A command that is read after
/// all is run before the test fails, as the addon would run it.
pub fn refused_when_read(conn: &Connection, kind: Kind, args: &Value) -> Error {
  let text = args.to_string();
  match Command::decode(kind, &text) {
    Err(err) => err,
    Ok(command) => {
      let outcome = command.run(conn);
      panic!("{text} was read as {command:?} and ran: {outcome:?}")
    }
  }
}

/// Checks that the arguments a refusal test starts from are read, so that each refusal is
/// down to the one field the test changes.
pub fn read(kind: Kind, args: &Value) -> Command {
  Command::decode(kind, &args.to_string()).unwrap_or_else(|err| panic!("{args}: {err}"))
}

/// Creates a session of `agent_id` with no overrides.
pub fn session(conn: &Connection, agent_id: &str) -> Session {
  sessions::create(conn, &NewSession { main_agent_id: agent_id.into(), ..Default::default() }).unwrap()
}

/// A user message for `session_id` under `parent_id`.
pub fn new_log(session_id: &str, parent_id: Option<i64>, content: Value) -> NewLog {
  NewLog {
    session_id: session_id.into(),
    parent_id,
    role: LogRole::User,
    log_type: LogType::Message,
    content: crate::json::from_value(&content),
    metadata: None,
    search_text: None,
    status: None,
  }
}

/// Appends a user message.
pub fn log(conn: &Connection, session_id: &str, parent_id: Option<i64>) -> SessionLog {
  logs::add(conn, &new_log(session_id, parent_id, json!("text"))).unwrap()
}

/// How many agents, sessions and logs there are.
pub fn counts(conn: &Connection) -> (i64, i64, i64) {
  conn
    .query_row(
      "SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM sessions), (SELECT count(*) FROM session_logs)",
      [],
      |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// Every row of the three tables and of the checkpoints, to show that a refused call wrote
/// nothing.
pub fn snapshot(conn: &Connection) -> Vec<Vec<rusqlite::types::Value>> {
  let mut rows = Vec::new();
  for table in ["agents", "sessions", "session_logs", "session_checkpoints"] {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid")).unwrap();
    let width = stmt.column_count();
    let mut cursor = stmt.query([]).unwrap();
    while let Some(row) = cursor.next().unwrap() {
      rows.push((0..width).map(|i| row.get(i).unwrap()).collect());
    }
  }
  rows
}

/// The code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T>) -> ErrorCode {
  result.unwrap_err().code
}

/// Sets the `created_at` of every row of `table` whose id is listed, to make ties.
pub fn set_created_at(conn: &Connection, table: &str, ids: &[String], created_at: &str) {
  let mut stmt = conn.prepare(&format!("UPDATE {table} SET created_at = ?1 WHERE id = ?2")).unwrap();
  for id in ids {
    assert_eq!(stmt.execute(rusqlite::params![created_at, id]).unwrap(), 1);
  }
}
