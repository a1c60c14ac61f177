//! `exportSession`: a session read page by page, in one read transaction (one snapshot),
//! into a file written beside the destination and moved over it once whole and synced. A
//! full disk or any other failure leaves the destination as it was and nothing beside it.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::{markdown, End, Format, LogLine, Temporary, FORMAT, PAGE, VERSION};
use crate::agents::{self, Agent};
use crate::error::{Error, Result};
use crate::forks;
use crate::logs::{log_from_row, SessionLog};
use crate::model::now_iso;
use crate::sessions::{self, Session};
use crate::trash::Trash;

/// What `exportSession` is asked for.
#[derive(Clone, Debug)]
pub struct ExportRequest {
  /// The session.
  pub session_id: String,
  /// The file to write (replaced if it exists).
  pub path: PathBuf,
  /// Which form.
  pub format: Format,
}

/// What `exportSession` resolves with.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
  /// The file written.
  pub path: String,
  /// How many logs it holds.
  pub logs: u64,
  /// Its size in bytes.
  pub bytes: u64,
  /// The SHA-256 its last line records (JSON Lines only).
  pub sha256: Option<String>,
}

/// A page of a session's logs after id `after`, in id order, each with its search text.
const PAGE_SQL: &str = "SELECT l.id, l.session_id, l.parent_id, l.role, l.type, l.content, l.metadata, l.status, \
  l.created_at, l.updated_at, t.text FROM session_logs l LEFT JOIN log_search_text t ON t.log_id = l.id \
  WHERE l.session_id = ?1 AND l.id > ?2 ORDER BY l.id LIMIT ?3";

/// Reads the session's logs in id order, a page at a time, handing each to `each`.
fn each_log(conn: &Connection, session_id: &str, mut each: impl FnMut(SessionLog, Option<String>) -> Result<()>) -> Result<()> {
  let mut after = 0_i64;
  loop {
    let mut stmt = conn.prepare_cached(PAGE_SQL)?;
    let page: Vec<(SessionLog, Option<String>)> = stmt
      .query_map(rusqlite::params![session_id, after, PAGE], |row| Ok((log_from_row(row)?, row.get(10)?)))?
      .collect::<rusqlite::Result<_>>()?;
    let Some(last) = page.last() else { return Ok(()) };
    after = last.0.id;
    let full = page.len() as i64 == PAGE;
    for (log, text) in page {
      each(log, text)?;
    }
    if !full {
      return Ok(());
    }
  }
}

/// The library's schema version: its highest applied migration.
fn schema_version(conn: &Connection) -> Result<Option<String>> {
  Ok(
    conn
      .prepare_cached("SELECT id FROM migrations WHERE namespace = 'agentdb' ORDER BY length(id) DESC, id DESC LIMIT 1")?
      .query_row([], |r| r.get(0))
      .optional()?,
  )
}

/// The session and its agent, or `NOT_FOUND`.
fn session_and_agent(conn: &Connection, id: &str) -> Result<(Session, Agent)> {
  let session = sessions::get(conn, id)?.ok_or_else(|| Error::not_found(format!("session {id:?} does not exist")))?;
  let agent = agents::get(conn, &session.main_agent_id, Trash::Include)?
    .ok_or_else(|| Error::not_found(format!("agent {:?} of session {id:?} does not exist", session.main_agent_id)))?;
  Ok((session, agent))
}

/// Exports a session. `NOT_FOUND` for a missing session; `FULL`, `IO`, `READONLY` or
/// `CANT_OPEN` from the file system, the destination then as it was.
pub fn export(conn: &Connection, request: &ExportRequest) -> Result<Exported> {
  let snapshot = conn.unchecked_transaction()?;
  let (session, agent) = session_and_agent(conn, &request.session_id)?;
  let mut file = Temporary::create(&request.path)?;
  let mut logs = 0_u64;
  let sha256 = match request.format {
    Format::Jsonl => {
      let fork = forks::get(conn, &session.id)?
        .map(|f| json!({ "sourceSessionId": f.source_session_id, "atLogId": f.at_log_id, "createdAt": f.created_at }));
      let header = json!({
        "format": FORMAT,
        "version": VERSION,
        "schemaVersion": schema_version(conn)?,
        "exportedAt": now_iso(),
        "agent": agent,
        "session": session,
        "fork": fork,
      });
      line(&mut file, &header)?;
      each_log(conn, &session.id, |log, search_text| {
        logs += 1;
        let entry = LogLine {
          id: log.id,
          parent_id: log.parent_id,
          role: log.role,
          log_type: log.log_type,
          content: log.content,
          metadata: log.metadata,
          status: log.status,
          created_at: log.created_at,
          updated_at: log.updated_at,
          search_text,
        };
        line(&mut file, &json!({ "log": entry }))
      })?;
      let sha256 = file.digest();
      line(&mut file, &json!({ "end": End { logs, sha256: sha256.clone() } }))?;
      Some(sha256)
    }
    Format::Markdown => {
      logs = markdown::write(conn, &session, &agent, &mut |bytes| file.write(bytes))?;
      None
    }
  };
  drop(snapshot);
  let bytes = file.place()?;
  Ok(Exported { path: request.path.display().to_string(), logs, bytes, sha256 })
}

/// Writes one JSON line.
fn line(file: &mut Temporary, value: &impl Serialize) -> Result<()> {
  let mut text = serde_json::to_vec(value).map_err(|e| Error::internal(format!("cannot serialise a line: {e}")))?;
  text.push(b'\n');
  file.write(&text)
}
