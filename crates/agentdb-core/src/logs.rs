//! Session logs: append (one or many), page through, update, delete, count, and read as a
//! tree nested by `parent_id`.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Json};
use crate::model::{now_iso, LogRole, LogStatus, LogType, TOUCH_UPDATED_AT};
use crate::page::{ListQuery, Order, Page, PageRequest};
use crate::patch::Assignments;
use crate::rules::{self, PAGE_LIMIT};
use crate::search;
use crate::stored;
use crate::trash::Trash;

/// The columns of `session_logs`, in the order [`log_from_row`] reads them.
pub const LOG_COLUMNS: &str = "id, session_id, parent_id, role, type, content, metadata, status, created_at, updated_at";

/// `add`'s statement. The row is built from the input, the new rowid and the timestamp
/// rather than read back with `RETURNING`, which costs SQLite a temporary table per row.
const INSERT_SQL: &str =
  "INSERT INTO session_logs (session_id, parent_id, role, type, content, metadata, status, created_at, updated_at) \
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8, ?7, ?7)";

/// How many entries `getLatestLogs` returns when no limit is given.
pub const LATEST_DEFAULT_LIMIT: u64 = 50;

/// One log entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionLog {
  /// Unique, increasing id.
  pub id: i64,
  /// The session it belongs to.
  pub session_id: String,
  /// The entry it answers or belongs under, in the same session.
  pub parent_id: Option<i64>,
  /// Who produced it.
  pub role: LogRole,
  /// What it records.
  #[serde(rename = "type")]
  pub log_type: LogType,
  /// Any JSON value.
  pub content: Json,
  /// Any JSON value, or null.
  pub metadata: Option<Json>,
  /// Where it is in its life: `complete` unless it is a reply being streamed.
  pub status: LogStatus,
  /// When created (ISO-8601 UTC, ms).
  pub created_at: String,
  /// When last changed.
  pub updated_at: String,
}

/// Reads a log entry from `row` (the columns of [`LOG_COLUMNS`]).
pub fn log_from_row(row: &Row) -> rusqlite::Result<SessionLog> {
  stored::read("session_logs", row, 0, || {
    Ok(SessionLog {
      id: exact(row, 0)?,
      session_id: row.get(1)?,
      parent_id: row.get::<_, Option<i64>>(2)?.map(|_| exact(row, 2)).transpose()?,
      role: row.get(3)?,
      log_type: row.get(4)?,
      content: json::column(row, 5)?,
      metadata: json::nullable_column(row, 6)?,
      status: row.get(7)?,
      created_at: row.get(8)?,
      updated_at: row.get(9)?,
    })
  })
}

/// A new log entry.
#[derive(Clone, Debug)]
pub struct NewLog {
  /// Required: an existing session.
  pub session_id: String,
  /// Optional: an entry of the same session.
  pub parent_id: Option<i64>,
  /// Who produced it.
  pub role: LogRole,
  /// What it records.
  pub log_type: LogType,
  /// Any JSON value.
  pub content: Json,
  /// Any JSON value; `None` stores NULL.
  pub metadata: Option<Json>,
  /// The text search finds it by, in place of its content's string values.
  pub search_text: Option<String>,
  /// Default `complete`; `pending` or `streaming` for a reply about to be streamed.
  pub status: Option<LogStatus>,
}

/// A partial change of a log entry.
#[derive(Clone, Debug, Default)]
pub struct LogPatch {
  /// New role.
  pub role: Option<LogRole>,
  /// New type.
  pub log_type: Option<LogType>,
  /// New content.
  pub content: Option<Json>,
  /// New metadata, or clear it.
  pub metadata: Option<Option<Json>>,
  /// New search text, or `Some(None)`: search by the content's text again. A new content
  /// without it also goes back to the content's text.
  pub search_text: Option<Option<String>>,
  /// New status.
  pub status: Option<LogStatus>,
}

/// Appends one entry. `NOT_FOUND` when the session does not exist, `CONSTRAINT` when the
/// parent is not an entry of the same session, `NOT_WRITTEN` when a trigger skipped it.
pub fn add(conn: &Connection, input: &NewLog) -> Result<SessionLog> {
  let now = now_iso();
  let mut stmt = conn.prepare_cached(INSERT_SQL)?;
  let inserted = stmt
    .execute(params![
      input.session_id,
      input.parent_id,
      input.role,
      input.log_type,
      input.content.get(),
      input.metadata.as_deref().map(RawValue::get),
      now,
      input.status.unwrap_or(LogStatus::Complete)
    ])
    .map_err(|e| explain_insert_failure(conn, e.into(), input))?;
  // A skipped insert changes no row, and the last rowid is then another row's.
  if inserted == 0 {
    return Err(Error::not_written("session_logs", format!("the log for session {:?}", input.session_id)));
  }
  let id = conn.last_insert_rowid();
  if !rules::EXACT_INTEGER.contains(&id) {
    return Err(Error::new(
      ErrorCode::BadValue,
      format!("the new log's id {}: session_logs holds a row written by raw SQL with an id that large", beyond_exact(id)),
    ));
  }
  if let Some(text) = &input.search_text {
    search::index::set_log_text(conn, id, text)?;
  }
  Ok(SessionLog {
    id,
    session_id: input.session_id.clone(),
    parent_id: input.parent_id,
    role: input.role,
    log_type: input.log_type,
    content: input.content.clone(),
    metadata: input.metadata.clone(),
    status: input.status.unwrap_or(LogStatus::Complete),
    created_at: now.clone(),
    updated_at: now,
  })
}

/// Reads the id in column `index`, which must be exact as a JavaScript number.
fn exact(row: &Row, index: usize) -> rusqlite::Result<i64> {
  let id: i64 = row.get(index)?;
  if rules::EXACT_INTEGER.contains(&id) {
    return Ok(id);
  }
  Err(json::conversion_error(index, Error::new(ErrorCode::BadValue, beyond_exact(id))))
}

/// Why an id beyond [`rules::EXACT_INTEGER`] is refused.
fn beyond_exact(id: i64) -> String {
  format!("{id} is beyond 2^53 - 1, the largest integer a JavaScript number holds exactly, so it would be rounded")
}

/// Turns a foreign-key failure into `NOT_FOUND` naming the missing session or parent.
fn explain_insert_failure(conn: &Connection, err: Error, input: &NewLog) -> Error {
  if err.code != ErrorCode::Constraint {
    return err;
  }
  let session_exists =
    conn.prepare_cached("SELECT 1 FROM sessions WHERE id = ?1").and_then(|mut s| s.exists([&input.session_id]));
  match session_exists {
    Ok(false) => Error::not_found(format!("sessionId: session {:?} does not exist", input.session_id)),
    _ => match input.parent_id {
      Some(parent) => Error::new(
        ErrorCode::Constraint,
        format!("parentId: {parent} is not a log of session {:?} ({})", input.session_id, err.message),
      ),
      None => err,
    },
  }
}

/// The bytes a log takes as stored: its content's and metadata's JSON text.
pub fn stored_bytes(log: &SessionLog) -> u64 {
  (log.content.get().len() + log.metadata.as_ref().map_or(0, |m| m.get().len())) as u64
}

/// [`stored_bytes`] of log `id`, read from the table (0 for a log that is not there).
pub fn stored_bytes_of(conn: &Connection, id: i64) -> Result<u64> {
  let sql = format!("SELECT {} FROM session_logs l WHERE l.id = ?1", crate::space::LOG_BYTES);
  Ok(conn.prepare_cached(&sql)?.query_row([id], |r| r.get::<_, i64>(0)).optional()?.unwrap_or(0) as u64)
}

/// `LOG_TOO_LARGE` when log `id` takes more than `limit` bytes as stored.
pub fn check_size(id: i64, bytes: u64, limit: u64) -> Result<()> {
  if bytes <= limit {
    return Ok(());
  }
  Err(Error::new(
    ErrorCode::LogTooLarge,
    format!("log {id} would hold {bytes} bytes of content and metadata, more than maxLogBytes ({limit}); nothing was written"),
  ))
}

/// Appends several entries, all or none: the first failure names its index and nothing is
/// written (the caller's transaction or savepoint is rolled back).
pub fn add_many(conn: &Connection, inputs: &[NewLog]) -> Result<Vec<SessionLog>> {
  inputs.iter().enumerate().map(|(i, input)| add(conn, input).map_err(|e| e.context(format!("logs[{i}]")))).collect()
}

/// The entry with this id, if any.
pub fn get(conn: &Connection, id: i64) -> Result<Option<SessionLog>> {
  let mut stmt = conn.prepare_cached(&format!("SELECT {LOG_COLUMNS} FROM session_logs WHERE id = ?1"))?;
  Ok(stmt.query_row([id], log_from_row).optional()?)
}

/// Checks that entry `log_id` is one of session `session_id`'s: `NOT_FOUND` naming the session
/// when it does not exist, else naming the field `what` when the entry is not one of its.
pub fn require_of_session(conn: &Connection, log_id: i64, session_id: &str, what: &str) -> Result<()> {
  let owner: Option<String> =
    conn.prepare_cached("SELECT session_id FROM session_logs WHERE id = ?1")?.query_row([log_id], |r| r.get(0)).optional()?;
  if owner.as_deref() == Some(session_id) {
    return Ok(());
  }
  if !crate::sessions::exists(conn, session_id)? {
    return Err(Error::not_found(format!("session {session_id:?} does not exist")));
  }
  Err(Error::not_found(format!("{what}: {log_id} is not a log of session {session_id:?}")))
}

/// A page of a session's entries in `id` order (the order they were appended in), oldest
/// first unless `order` is descending.
pub fn list(conn: &Connection, session_id: &str, order: Order, page: &PageRequest) -> Result<Page<SessionLog>> {
  session_query("logs", session_id, order).run(conn, LOG_COLUMNS, "session_logs", page, log_from_row)
}

/// The list `list` (`logs`, `latestLogs`) of one session's entries, in `order`: the query its
/// pages run and its cursors belong to.
pub fn session_query(list: &'static str, session_id: &str, order: Order) -> ListQuery {
  let mut query = ListQuery::new(list, "id", order);
  query.filter("session_id = :session", ":session", session_id.to_string());
  query
}

/// The page of a session's newest entries that ends at `page.after` (the newest of all
/// without it), in the order they were appended (oldest of them first), with the cursor of
/// the page of entries before them: what a chat view shows, and scrolls back through.
pub fn latest(conn: &Connection, session_id: &str, page: &PageRequest) -> Result<Page<SessionLog>> {
  let mut newest_first =
    session_query("latestLogs", session_id, Order::Descending).run(conn, LOG_COLUMNS, "session_logs", page, log_from_row)?;
  newest_first.items.reverse();
  Ok(newest_first)
}

/// The page of a session's log around one entry (a search hit), oldest first.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AroundPage {
  /// Up to `limit` entries in append order: the entry, about half of the rest before it and
  /// the others after it.
  pub items: Vec<SessionLog>,
  /// Pass as `after` (oldest first) for the entries after this page; `null` when none.
  pub next_cursor: Option<String>,
  /// Pass as `after` with `order: 'desc'` for the entries before this page; `null` when none.
  pub previous_cursor: Option<String>,
}

/// The `limit` entries of `session_id` around entry `log_id` (see [`AroundPage`]).
/// `NOT_FOUND` when the entry is not one of the session's.
pub fn around(conn: &Connection, session_id: &str, log_id: i64, limit: u64) -> Result<AroundPage> {
  if !PAGE_LIMIT.contains(&limit) {
    return Err(rules::out_of_range(limit, &PAGE_LIMIT, "limit"));
  }
  let target = get(conn, log_id)?
    .filter(|log| log.session_id == session_id)
    .ok_or_else(|| Error::not_found(format!("around: log {log_id} is not a log of session {session_id:?}")))?;
  // The entries on each side of the target, nearest first, read as the pages of `getLogs`
  // that follow it in each order.
  let side = |order| -> Result<Page<SessionLog>> {
    let query = session_query("logs", session_id, order);
    let after = query.cursor_at(target.id);
    query.run(conn, LOG_COLUMNS, "session_logs", &PageRequest::new(Some(limit), None, Some(after))?, log_from_row)
  };
  let (before, after) = (side(Order::Descending)?, side(Order::Ascending)?);
  let (mut before, more_before) = (before.items, before.next_cursor.is_some());
  let (mut after, more_after) = (after.items, after.next_cursor.is_some());
  // Half of the rest after the entry (the larger half before it), and what one side lacks
  // from the other.
  let rest = limit as usize - 1;
  let take_before = before.len().min(rest - after.len().min(rest / 2));
  let take_after = after.len().min(rest - take_before);
  let more_before = more_before || before.len() > take_before;
  let more_after = more_after || after.len() > take_after;
  before.truncate(take_before);
  before.reverse();
  after.truncate(take_after);
  let cursor = |order, log: &SessionLog| session_query("logs", session_id, order).cursor_at(log.id).encode();
  let mut items = before;
  items.push(target);
  items.extend(after);
  Ok(AroundPage {
    next_cursor: items.last().filter(|_| more_after).map(|log| cursor(Order::Ascending, log)),
    previous_cursor: items.first().filter(|_| more_before).map(|log| cursor(Order::Descending, log)),
    items,
  })
}

/// Changes the given fields of an entry. `NOT_FOUND` for a missing id, `NOT_WRITTEN` when a
/// trigger skipped the change.
pub fn update(conn: &Connection, id: i64, patch: &LogPatch) -> Result<SessionLog> {
  let mut set = Assignments::default();
  set.set("role", patch.role.map(|r| r.as_str().to_string()));
  set.set("type", patch.log_type.map(|t| t.as_str().to_string()));
  set.set("content", patch.content.as_ref().map(|c| c.get().to_string()));
  set.set_nullable("metadata", patch.metadata.as_ref().map(|m| m.as_ref().map(|m| m.get().to_string())));
  set.set("status", patch.status.map(|s| s.as_str().to_string()));
  let updated = set
    .apply(conn, "session_logs", ("id", id.into()), &format!("log {id}"), LOG_COLUMNS, log_from_row)?
    .ok_or_else(|| Error::not_found(format!("log {id} does not exist")))?;
  match &patch.search_text {
    Some(Some(text)) => search::index::set_log_text(conn, id, text)?,
    Some(None) => search::index::clear_log_text(conn, id)?,
    None => {}
  }
  Ok(updated)
}

/// What `appendLogText` resolves with: the entry's new status and `updatedAt`, not its
/// content, so that a streamed reply costs no copy of its text per chunk.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Appended {
  /// The entry.
  pub id: i64,
  /// `streaming` after the first chunk of a `pending` entry, else as it was.
  pub status: LogStatus,
  /// When last changed.
  pub updated_at: String,
}

/// `append_text`'s statement: the string at `?2` (an SQLite JSON path) gets `?3` at its end,
/// a `pending` entry becomes `streaming`. The row is changed only when the path holds a
/// string, so a missing or non-text target writes nothing.
static APPEND_SQL: LazyLock<String> = LazyLock::new(|| {
  format!(
    "UPDATE session_logs SET content = json_set(content, ?2, json_extract(content, ?2) || ?3), \
       status = CASE status WHEN 'pending' THEN 'streaming' ELSE status END, updated_at = {TOUCH_UPDATED_AT} \
     WHERE id = ?1 AND json_type(content, ?2) = 'text' RETURNING status, updated_at"
  )
});

/// Appends `delta` to the string at `path` (an SQLite JSON path, `$.text`) inside entry
/// `id`'s content, in SQLite. `NOT_FOUND` for a missing entry, `NOT_TEXT` when the path
/// holds no string, `NOT_WRITTEN` when a trigger skipped the change.
pub fn append_text(conn: &Connection, id: i64, path: &str, delta: &str) -> Result<Appended> {
  let mut stmt = conn.prepare_cached(&APPEND_SQL)?;
  let changed = stmt.query_row(params![id, path, delta], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
  if let Some((status, updated_at)) = changed {
    return Ok(Appended { id, status, updated_at });
  }
  let target: Option<Option<String>> = conn
    .prepare_cached("SELECT json_type(content, ?2) FROM session_logs WHERE id = ?1")?
    .query_row(params![id, path], |r| r.get(0))
    .optional()?;
  match target {
    None => Err(Error::not_found(format!("log {id} does not exist"))),
    Some(Some(kind)) if kind == "text" => Err(Error::not_written("session_logs", format!("the text appended to log {id}"))),
    Some(kind) => Err(Error::new(
      ErrorCode::NotText,
      format!(
        "options.path: {path} of log {id}'s content {}, not a string: nothing was appended",
        kind.map_or_else(|| "does not exist".to_string(), |k| format!("holds {k}"))
      ),
    )),
  }
}

/// Marks every entry still `pending` or `streaming` as `interrupted`; returns how many.
/// Only for a database no other connection has open: theirs may still be streaming.
pub fn interrupt_unfinished(conn: &Connection) -> Result<u64> {
  let sql = format!(
    "UPDATE session_logs SET status = 'interrupted', updated_at = {TOUCH_UPDATED_AT} \
     WHERE status <> 'complete' AND (status = 'pending' OR status = 'streaming')"
  );
  Ok(conn.prepare_cached(&sql)?.execute([])? as u64)
}

/// A page of the entries of every session whose status is `interrupted`, oldest first, or
/// of one session; the entries of sessions in the trash are left out unless `trash` is
/// [`Trash::Include`].
pub fn list_interrupted(
  conn: &Connection,
  session_id: Option<&str>,
  trash: Trash,
  page: &PageRequest,
) -> Result<Page<SessionLog>> {
  let mut query = ListQuery::new("interruptedLogs", "id", Order::Ascending);
  query.filter("status <> 'complete' AND status = :status", ":status", LogStatus::Interrupted.as_str().to_string());
  if let Some(session_id) = session_id {
    query.filter("session_id = :session", ":session", session_id.to_string());
  }
  // The trash is small and indexed (migration `trash`): a lookup per interrupted entry.
  query.filter(
    "(:trashed OR session_id NOT IN (SELECT id FROM sessions WHERE deleted_at IS NOT NULL))",
    ":trashed",
    trash == Trash::Include,
  );
  query.run(conn, LOG_COLUMNS, "session_logs", page, log_from_row)
}

/// How many entries a session has.
pub fn count(conn: &Connection, session_id: &str) -> Result<i64> {
  Ok(conn.prepare_cached("SELECT count(*) FROM session_logs WHERE session_id = ?1")?.query_row([session_id], |r| r.get(0))?)
}

/// The ids of session `?1`'s entries that its roots reach through the parent links, as the
/// common table `tree`: one recursive query walks from the roots down (UNION, not UNION ALL,
/// so even parent links made into a cycle by hand cannot loop).
const TREE: &str = "WITH RECURSIVE tree(id) AS ( \
     SELECT id FROM session_logs WHERE session_id = ?1 AND parent_id IS NULL \
     UNION \
     SELECT l.id FROM session_logs l JOIN tree t ON l.parent_id = t.id)";

/// A session's entries nested by `parent_id`, as JSON text: an array of the root entries,
/// each with a `children` array, siblings in `id` order (the order they were appended in).
/// Built without recursion, so a chain of any depth is safe. Entries whose parent links form
/// a cycle (made by raw SQL) reach no root: the tree is refused with `BAD_VALUE` naming them,
/// rather than returned without them.
pub fn tree(conn: &Connection, session_id: &str) -> Result<String> {
  let sql = format!("{TREE} SELECT {LOG_COLUMNS} FROM session_logs WHERE id IN (SELECT id FROM tree) ORDER BY id");
  let mut stmt = conn.prepare_cached(&sql)?;
  let logs = stmt.query_map([session_id], log_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
  refuse_unreachable(conn, session_id, logs.len())?;
  let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
  for (index, log) in logs.iter().enumerate() {
    children.entry(log.parent_id).or_default().push(index);
  }
  let mut out = String::from("[");
  // Each frame: the children still to write at one level.
  let mut stack: Vec<std::vec::IntoIter<usize>> = vec![children.remove(&None).unwrap_or_default().into_iter()];
  let mut first = true;
  while let Some(level) = stack.last_mut() {
    match level.next() {
      Some(index) => {
        if !first {
          out.push(',');
        }
        let node = json::text(&logs[index]);
        out.push_str(&node[..node.len() - 1]);
        out.push_str(",\"children\":[");
        first = true;
        stack.push(children.remove(&Some(logs[index].id)).unwrap_or_default().into_iter());
      }
      None => {
        stack.pop();
        out.push_str(if stack.is_empty() { "]" } else { "]}" });
        first = false;
      }
    }
  }
  Ok(out)
}

/// How many ids of unreachable entries [`refuse_unreachable`] names.
const NAMED_UNREACHABLE: usize = 10;

/// Refuses a tree that would leave out some of the session's entries: those whose parent
/// links never reach a root, because raw SQL made them a cycle (the schema's triggers keep
/// every other broken link out). Leaving them out silently would lose them from view.
fn refuse_unreachable(conn: &Connection, session_id: &str, reached: usize) -> Result<()> {
  let total: i64 =
    conn.prepare_cached("SELECT count(*) FROM session_logs WHERE session_id = ?1")?.query_row([session_id], |r| r.get(0))?;
  if usize::try_from(total).unwrap_or(usize::MAX) <= reached {
    return Ok(());
  }
  let sql = format!("{TREE} SELECT id FROM session_logs WHERE session_id = ?1 AND id NOT IN (SELECT id FROM tree) ORDER BY id");
  let ids: Vec<i64> = conn.prepare_cached(&sql)?.query_map([session_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
  let shown: Vec<String> = ids.iter().take(NAMED_UNREACHABLE).map(i64::to_string).collect();
  let more = if ids.len() > NAMED_UNREACHABLE { format!(" and {} more", ids.len() - NAMED_UNREACHABLE) } else { String::new() };
  Err(Error::new(
    ErrorCode::BadValue,
    format!(
      "session_logs rows {}{more} of session {session_id:?}: column parent_id links them into a cycle that reaches no root \
       entry (written by raw SQL), so they have no place in the tree; set parent_id of one of them to NULL",
      shown.join(", ")
    ),
  ))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::connection::{open_writer, Location, OpenOptions};
  use crate::migrations::{migrator, source::MigrationSet};

  #[test]
  fn appends_and_reads_back_the_latest_in_order() {
    let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    migrator::migrate(&mut conn, &MigrationSet::builtin(), &migrator::MigrateOptions::default(), &mut |_| {}).unwrap();
    conn.execute_batch("INSERT INTO agents (id, name, model) VALUES ('a1', 'A', 'm'); INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1');").unwrap();
    let log = |step: i64| NewLog {
      session_id: "s1".into(),
      parent_id: None,
      role: LogRole::User,
      log_type: LogType::Message,
      content: json::from_value(&serde_json::json!({ "step": step })),
      metadata: None,
      search_text: None,
      status: None,
    };
    let added = add_many(&conn, &(0..5).map(log).collect::<Vec<_>>()).unwrap();
    assert_eq!(
      added.iter().map(|l| l.content.get()).collect::<Vec<_>>(),
      (0..5).map(|i| format!("{{\"step\":{i}}}")).collect::<Vec<_>>()
    );
    let latest_three = latest(&conn, "s1", &PageRequest::new(Some(3), None, None).unwrap()).unwrap().items;
    assert_eq!(latest_three.iter().map(|l| l.id).collect::<Vec<_>>(), added[2..].iter().map(|l| l.id).collect::<Vec<_>>());
    assert_eq!(add(&conn, &NewLog { session_id: "missing".into(), ..log(9) }).unwrap_err().code, ErrorCode::NotFound);
  }
}
