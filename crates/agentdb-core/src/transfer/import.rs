//! `importSession`: a JSON Lines export read back line by line, all of it in one write
//! transaction, so that any failure (a newer format version, a bad checksum, a truncated or
//! malformed file, a parent link to a log not in the file) writes nothing.
//!
//! The session and its logs get new ids; parent links are remapped; timestamps, statuses,
//! `searchText` overrides and everything else of the session are kept. The agent: the one
//! `agentId` names when given (it must exist), else the agent of the file's id when this
//! database has one (left as it is), else a new agent made from the file, with its id and
//! timestamps. The fork record of a forked session is not imported (it names a session of
//! the other database).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use rusqlite::{params, Connection, TransactionBehavior};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{hex, invalid, End, LogLine, FORMAT, VERSION};
use crate::agents;
use crate::backup::io_error;
use crate::error::{Error, ErrorCode, Result};
use crate::input::read::{new_agent, new_session};
use crate::input::tree::decode;
use crate::search;
use crate::sessions::{self, Session};
use crate::trash::{self, Trash};

/// What `importSession` is asked for.
#[derive(Clone, Debug)]
pub struct ImportRequest {
  /// The export file.
  pub path: PathBuf,
  /// Attach the session to this existing agent instead of the file's.
  pub agent_id: Option<String>,
}

/// What `importSession` resolves with.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Imported {
  /// The new session.
  pub session: Session,
  /// How many logs it holds.
  pub logs: u64,
  /// Whether the agent was created from the file (false: an existing one was used).
  pub agent_created: bool,
}

/// The columns a log is inserted with; its id is new.
const INSERT_LOG_SQL: &str =
  "INSERT INTO session_logs (session_id, parent_id, role, type, content, metadata, status, created_at, updated_at) \
   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// The file's lines, each with its number, and the SHA-256 of the lines counted so far.
struct Lines {
  reader: BufReader<File>,
  hasher: Sha256,
  number: u64,
  path: String,
}

impl Lines {
  /// The next line (without its `\n`), or `None` at the end of the file. A last line
  /// without `\n` is a truncated file.
  fn next(&mut self) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read =
      self.reader.read_until(b'\n', &mut line).map_err(|e| io_error(e, format!("import of {}: cannot read", self.path)))?;
    if read == 0 {
      return Ok(None);
    }
    self.number += 1;
    if line.last() != Some(&b'\n') {
      return Err(invalid(self.number, "the file ends in the middle of a line: it is truncated"));
    }
    line.pop();
    Ok(Some(line))
  }

  /// Counts `line` (read without its `\n`) in the checksum.
  fn count(&mut self, line: &[u8]) {
    self.hasher.update(line);
    self.hasher.update(b"\n");
  }
}

/// A `{"log":{…}}` line.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogWrapper {
  log: LogLine,
}

/// The last line, `{"end":{…}}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EndWrapper {
  end: End,
}

/// One line read as `T` when it starts as an object of the single key `key`, or `None`.
fn single<T: serde::de::DeserializeOwned>(line: &[u8], number: u64, key: &str) -> Result<Option<T>> {
  if !line.starts_with(format!("{{\"{key}\":").as_bytes()) {
    return Ok(None);
  }
  serde_json::from_slice(line).map(Some).map_err(|e| invalid(number, format!("not a valid {key:?} line ({e})")))
}

/// Reads the header: an object of format [`FORMAT`] and a version this build reads.
fn header(line: &[u8]) -> Result<Map<String, Value>> {
  let value: Value = serde_json::from_slice(line).map_err(|e| invalid(1, format!("not JSON: not a session export ({e})")))?;
  let Value::Object(header) = value else { return Err(invalid(1, "not an object: not a session export")) };
  if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
    return Err(invalid(1, format!("no \"format\": {FORMAT:?}: not a session export")));
  }
  let version = header.get("version").and_then(Value::as_u64).ok_or_else(|| invalid(1, "\"version\" is not a whole number"))?;
  if version > VERSION {
    return Err(Error::new(
      ErrorCode::UnsupportedFormat,
      format!(
        "the file is of format version {version}; this build reads versions up to {VERSION}: import it with a newer release"
      ),
    ));
  }
  Ok(header)
}

/// The header's object `key`, without the fields the import sets itself.
fn part(header: &Map<String, Value>, key: &str, drop: &[&str]) -> Result<Map<String, Value>> {
  let Some(Value::Object(fields)) = header.get(key) else { return Err(invalid(1, format!("no {key:?} object"))) };
  Ok(fields.iter().filter(|(k, _)| !drop.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A timestamp field of the header's `key` object.
fn time(fields: &Map<String, Value>, key: &str, name: &str) -> Result<String> {
  fields.get(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| invalid(1, format!("{key}.{name} is not a string")))
}

/// Imports a session export. See the module's documentation.
pub fn import(conn: &mut Connection, request: &ImportRequest) -> Result<Imported> {
  let path = request.path.display().to_string();
  let file = File::open(&request.path).map_err(|e| match e.kind() {
    std::io::ErrorKind::NotFound => Error::not_found(format!("import of {path}: no such file")),
    _ => io_error(e, format!("import of {path}: cannot open")),
  })?;
  let mut lines = Lines { reader: BufReader::with_capacity(1 << 16, file), hasher: Sha256::new(), number: 0, path };
  let first = lines.next()?.ok_or_else(|| invalid(1, "the file is empty"))?;
  let header = header(&first)?;
  lines.count(&first);
  let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
  let (agent_id, agent_created) = agent(&tx, &header, request.agent_id.as_deref())?;
  let session = create_session(&tx, &header, &agent_id)?;
  let mut ids: HashMap<i64, i64> = HashMap::new();
  let mut previous = 0_i64;
  let end = loop {
    let Some(line) = lines.next()? else {
      return Err(invalid(lines.number + 1, "the file ends before its last line (\"end\"): it is truncated"));
    };
    let number = lines.number;
    if let Some(log) = single::<LogWrapper>(&line, number, "log")?.map(|w| w.log) {
      if log.id <= previous {
        return Err(invalid(number, format!("log {} comes after log {previous}: logs are in id order", log.id)));
      }
      previous = log.id;
      let parent = log
        .parent_id
        .map(|parent| {
          ids.get(&parent).copied().ok_or_else(|| {
            invalid(number, format!("log {} names parent {parent}, which is not an earlier log of the file", log.id))
          })
        })
        .transpose()?;
      tx.prepare_cached(INSERT_LOG_SQL)?
        .execute(params![
          session.id,
          parent,
          log.role,
          log.log_type,
          log.content.get(),
          log.metadata.as_deref().map(|m| m.get()),
          log.status,
          log.created_at,
          log.updated_at
        ])
        .map_err(|e| Error::from(e).context(format!("line {number}")))?;
      let id = tx.last_insert_rowid();
      if let Some(text) = &log.search_text {
        search::index::set_log_text(&tx, id, text)?;
      }
      ids.insert(log.id, id);
      lines.count(&line);
    } else if let Some(end) = single::<EndWrapper>(&line, number, "end")?.map(|w| w.end) {
      break (end, number);
    } else {
      return Err(invalid(number, "neither a \"log\" line nor the last (\"end\") line"));
    }
  };
  let (end, number) = end;
  let digest = hex(&lines.hasher.clone().finalize());
  if end.sha256 != digest {
    return Err(Error::new(
      ErrorCode::ChecksumMismatch,
      format!(
        "the file's SHA-256 is {digest}, its last line records {}: it was edited or damaged after it was written",
        end.sha256
      ),
    ));
  }
  if end.logs != ids.len() as u64 {
    return Err(invalid(number, format!("the last line counts {} logs, the file holds {}: it is damaged", end.logs, ids.len())));
  }
  if lines.next()?.is_some() {
    return Err(invalid(number + 1, "a line after the last (\"end\") line"));
  }
  finish_session(&tx, &header, &session.id)?;
  let session = sessions::get(&tx, &session.id)?.ok_or_else(|| Error::internal("the imported session was not read back"))?;
  tx.commit()?;
  Ok(Imported { session, logs: ids.len() as u64, agent_created })
}

/// The agent the session goes to, and whether it was made from the file. An agent in the
/// trash is refused with `TRASHED`.
fn agent(conn: &Connection, header: &Map<String, Value>, given: Option<&str>) -> Result<(String, bool)> {
  if let Some(id) = given {
    if agents::get(conn, id, Trash::Include)?.is_none() {
      return Err(Error::not_found(format!("options.agentId: agent {id:?} does not exist")));
    }
    trash::refuse_agent(conn, id)?;
    return Ok((id.to_string(), false));
  }
  let fields = part(header, "agent", &["createdAt", "updatedAt"])?;
  let id = fields.get("id").and_then(Value::as_str).ok_or_else(|| invalid(1, "agent.id is not a string"))?.to_string();
  if agents::get(conn, &id, Trash::Include)?.is_some() {
    trash::refuse_agent(conn, &id)?;
    return Ok((id, false));
  }
  let input = decode(&Value::Object(fields).to_string(), "agent", new_agent).map_err(|e| invalid(1, e.message))?;
  agents::create(conn, &input)?;
  let all = part(header, "agent", &[])?;
  conn.prepare_cached("UPDATE agents SET created_at = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![
    id,
    time(&all, "agent", "createdAt")?,
    time(&all, "agent", "updatedAt")?
  ])?;
  Ok((id, true))
}

/// The new session: the file's, with a new id and `agent_id` as its main agent.
fn create_session(conn: &Connection, header: &Map<String, Value>, agent_id: &str) -> Result<Session> {
  let mut fields = part(header, "session", &["id", "createdAt", "updatedAt", "lastActivityAt"])?;
  fields.insert("mainAgentId".into(), Value::String(agent_id.to_string()));
  let input = decode(&Value::Object(fields).to_string(), "session", new_session).map_err(|e| invalid(1, e.message))?;
  sessions::create(conn, &input)
}

/// Gives the session the file's timestamps, once its logs (whose writes move its last
/// activity) are in.
fn finish_session(conn: &Connection, header: &Map<String, Value>, id: &str) -> Result<()> {
  let all = part(header, "session", &[])?;
  conn.prepare_cached("UPDATE sessions SET created_at = ?2, updated_at = ?3, last_activity_at = ?4 WHERE id = ?1")?.execute(
    params![
      id,
      time(&all, "session", "createdAt")?,
      time(&all, "session", "updatedAt")?,
      time(&all, "session", "lastActivityAt")?
    ],
  )?;
  Ok(())
}
