//! Full-text search over session logs (and session names and goals), in every script.
//!
//! [`text`] says what is searchable and prepares it for the index, [`query`] turns what a
//! user types into an FTS5 query, [`index`] keeps the index exact, [`snippet`] cuts the
//! text shown for a hit. This module reads the options and runs the searches.

pub mod index;
pub mod query;
pub mod snippet;
pub mod text;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::input::fields::{Fields, Source};
use crate::logs::{self, SessionLog};
use crate::migrations::required;
use crate::model::{LogRole, LogType};
use crate::rules::{self, PAGE_LIMIT};
use crate::sessions::{self, Session};
use crate::trash;
use query::{Query, Syntax};
use snippet::Highlight;

/// How many hits a search returns when no `limit` is given.
pub const DEFAULT_LIMIT: u64 = 20;

/// The option names of `searchLogs`.
pub const LOG_OPTIONS: &[&str] = &["sessionId", "agentId", "role", "type", "since", "until", "order", "limit", "after", "syntax"];
/// The option names of `searchSessions`.
pub const SESSION_OPTIONS: &[&str] = &["agentId", "limit", "syntax"];

/// The order of hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchOrder {
  /// Best match first (FTS5's BM25), ties newest first.
  #[default]
  Relevance,
  /// Most recently added first.
  Newest,
}

/// How many hits relevance order ranks at a time: the hits are taken newest first in windows
/// of this many, and each window is ordered by BM25. Ranking costs FTS5 a look-up per hit,
/// so this bounds a query's cost however common its words are.
pub const RELEVANCE_WINDOW: i64 = 500;

/// Where the next page of a search starts: after the hit with this log id, and in
/// relevance order this rank, in the window of hits below `ceiling`.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchCursor {
  /// The last hit's rank and the window it is in (every hit's log id is below the
  /// ceiling), in relevance order.
  pub rank: Option<(f64, i64)>,
  /// The last hit's log id.
  pub id: i64,
}

impl SearchCursor {
  /// The opaque text handed to JavaScript.
  pub fn encode(&self) -> String {
    match self.rank {
      Some((rank, ceiling)) => format!("search:r|{ceiling}|{rank:e}|{}", self.id),
      None => format!("search:n|{}", self.id),
    }
  }

  /// Reads a cursor made by [`SearchCursor::encode`] for a search in `order`.
  pub fn decode(text: &str, order: SearchOrder) -> Result<SearchCursor> {
    let invalid = || Error::invalid(format!("after: {text:?} is not a cursor of this search (pass a nextCursor it returned)"));
    let number = |s: &str| s.parse::<i64>().map_err(|_| invalid());
    match (order, text.strip_prefix("search:")) {
      (SearchOrder::Newest, Some(rest)) => {
        Ok(SearchCursor { rank: None, id: number(rest.strip_prefix("n|").ok_or_else(invalid)?)? })
      }
      (SearchOrder::Relevance, Some(rest)) => {
        let mut parts = rest.strip_prefix("r|").ok_or_else(invalid)?.splitn(3, '|');
        let (Some(ceiling), Some(rank), Some(id)) = (parts.next(), parts.next(), parts.next()) else { return Err(invalid()) };
        let rank = rank.parse::<f64>().ok().filter(|r| r.is_finite()).ok_or_else(invalid)?;
        Ok(SearchCursor { rank: Some((rank, number(ceiling)?)), id: number(id)? })
      }
      _ => Err(invalid()),
    }
  }
}

/// What `searchLogs` searches for, and where.
#[derive(Clone, Debug, Default)]
pub struct LogSearch {
  /// What the user typed.
  pub query: String,
  /// Which language it is in.
  pub syntax: Syntax,
  /// Only this session's logs.
  pub session_id: Option<String>,
  /// Only the logs of this agent's sessions.
  pub agent_id: Option<String>,
  /// Only logs of this role.
  pub role: Option<LogRole>,
  /// Only logs of this type.
  pub log_type: Option<LogType>,
  /// Only logs created at or after this ISO-8601 time.
  pub since: Option<String>,
  /// Only logs created before this ISO-8601 time.
  pub until: Option<String>,
  /// The order of hits.
  pub order: SearchOrder,
  /// How many hits at most.
  pub limit: u64,
  /// Start after this hit.
  pub after: Option<SearchCursor>,
}

/// Checks a time bound (`since`, `until`, purge's `olderThan`): an ISO-8601 UTC time as
/// `createdAt` holds them.
pub fn timestamp<S: Source>(v: S, what: &dyn std::fmt::Display) -> Result<String> {
  let text = v.string(what)?;
  let b = text.as_bytes();
  let shaped = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
  if !shaped {
    return Err(Error::invalid(format!(
      "{what} must be an ISO-8601 UTC time such as \"2026-01-02T03:04:05.678Z\", got {text:?}"
    )));
  }
  Ok(text)
}

fn syntax<S: Source>(f: &Fields<S>) -> Result<Syntax> {
  f.parsed("syntax", |v, p| Syntax::parse(&v.string(p)?, p)).map(Option::unwrap_or_default)
}

fn limit<S: Source>(f: &Fields<S>) -> Result<u64> {
  Ok(f.whole("limit", &PAGE_LIMIT)?.unwrap_or(DEFAULT_LIMIT))
}

/// Reads `searchLogs(query, options)`'s arguments.
pub fn read_log_search<S: Source>(query: S, options: S) -> Result<LogSearch> {
  let query = query.string("query")?;
  let f = Fields::of(options, "options", LOG_OPTIONS, true)?;
  let order = match f.string("order")?.as_deref() {
    None | Some("relevance") => SearchOrder::Relevance,
    Some("newest") => SearchOrder::Newest,
    Some(other) => return Err(Error::invalid(format!("{} must be 'relevance' or 'newest', got {other:?}", f.path("order")))),
  };
  Ok(LogSearch {
    query,
    syntax: syntax(&f)?,
    session_id: f.parsed("sessionId", |v, p| v.id(p))?,
    agent_id: f.parsed("agentId", |v, p| v.id(p))?,
    role: f.parsed("role", |v, p| LogRole::parse(&v.string(p)?, p))?,
    log_type: f.parsed("type", |v, p| LogType::parse(&v.string(p)?, p))?,
    since: f.parsed("since", timestamp)?,
    until: f.parsed("until", timestamp)?,
    order,
    limit: limit(&f)?,
    after: f.parsed("after", |v, p| SearchCursor::decode(&v.string(p)?, order))?,
  })
}

/// One log that matched.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogHit {
  /// The log as stored.
  pub log: SessionLog,
  /// Its session.
  pub session_id: String,
  /// Its searchable text around the first match.
  pub snippet: String,
  /// The matches in `snippet`, as UTF-16 offsets.
  pub highlights: Vec<Highlight>,
}

/// A page of hits.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage<T> {
  /// The hits of this page.
  pub items: Vec<T>,
  /// Pass as `after` for the next page; `null` on the last.
  pub next_cursor: Option<String>,
}

/// Runs a query, turning an FTS5 refusal into `QUERY_SYNTAX`.
fn rows<T>(
  conn: &Connection,
  sql: &str,
  params: &[(&str, Value)],
  input: &str,
  read: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
  let run = || -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = params.iter().map(|(n, v)| (*n, v as &dyn rusqlite::ToSql)).collect();
    let found = stmt.query_map(named.as_slice(), read)?.collect::<rusqlite::Result<_>>()?;
    Ok(found)
  };
  run().map_err(|e| query::syntax_error(e, input))
}

/// The filters of a search as SQL over `session_logs l`, with their parameters. With
/// `trash_held` (a session is in the trash), logs of sessions in the trash are left out: the
/// few such sessions, read once through their partial index.
fn log_filters(search: &LogSearch, trash_held: bool) -> (String, Vec<(&'static str, Value)>) {
  let mut sql = String::new();
  if trash_held {
    sql.push_str(" AND l.session_id NOT IN (SELECT id FROM sessions WHERE deleted_at IS NOT NULL)");
  }
  let mut params = Vec::new();
  let mut filter = |clause: &str, name: &'static str, value: Value| {
    sql.push_str(" AND ");
    sql.push_str(clause);
    params.push((name, value));
  };
  if let Some(id) = &search.session_id {
    filter("l.session_id = :session", ":session", Value::Text(id.clone()));
  }
  if let Some(id) = &search.agent_id {
    filter("l.session_id IN (SELECT id FROM sessions WHERE main_agent_id = :agent)", ":agent", Value::Text(id.clone()));
  }
  if let Some(role) = search.role {
    filter("l.role = :role", ":role", Value::Text(role.as_str().into()));
  }
  if let Some(t) = search.log_type {
    filter("l.type = :type", ":type", Value::Text(t.as_str().into()));
  }
  if let Some(since) = &search.since {
    filter("l.created_at >= :since", ":since", Value::Text(since.clone()));
  }
  if let Some(until) = &search.until {
    filter("l.created_at < :until", ":until", Value::Text(until.clone()));
  }
  (sql, params)
}

/// The matches and their logs: the index is the outer loop (CROSS JOIN), so that it hands
/// rows over in rowid order and filters apply before anything is ranked.
const MATCHES: &str = "FROM log_search s CROSS JOIN session_logs l ON l.id = s.rowid WHERE log_search MATCH :q";
/// The matches alone, for a search without filters: every row of the index is a log, as the
/// index is exact whenever a search reads it.
const MATCHES_UNFILTERED: &str = "FROM log_search s WHERE log_search MATCH :q";

/// A hit's log (the columns of [`logs::LOG_COLUMNS`]) and then its explicit search text.
fn hit_log_sql() -> String {
  format!(
    "SELECT {}, (SELECT text FROM log_search_text WHERE log_id = session_logs.id) FROM session_logs WHERE id = ?1",
    logs::LOG_COLUMNS
  )
}

/// A hit: its log id, and in relevance order its rank and the ceiling of its window.
type Hit = (i64, Option<(f64, i64)>);

/// The hits of a search's index query `sql` (ending in `LIMIT :n`), as (log id, rank).
fn hits(conn: &Connection, search: &LogSearch, sql: &str, params: &[(&str, Value)]) -> Result<Vec<(i64, f64)>> {
  rows(conn, sql, params, &search.query, |r| Ok((r.get(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(0.0))))
}

/// The page's hits in relevance order: window after window of the newest
/// [`RELEVANCE_WINDOW`] hits, each read and ranked in one scan of the index, then ordered
/// by rank (ties newest first) here, until `wanted` hits are found or the hits run out.
fn relevance_hits(
  conn: &Connection,
  search: &LogSearch,
  params: &[(&str, Value)],
  from: &str,
  wanted: usize,
) -> Result<Vec<Hit>> {
  let (mut after, mut ceiling) = match &search.after {
    Some(SearchCursor { rank: Some((rank, ceiling)), id }) => (Some((*rank, *id)), *ceiling),
    _ => (None, i64::MAX),
  };
  let sql = format!("SELECT s.rowid, s.rank {from} AND s.rowid < :ceiling ORDER BY s.rowid DESC LIMIT :n");
  let mut found = Vec::new();
  loop {
    let mut window = params.to_vec();
    window.push((":ceiling", Value::Integer(ceiling)));
    window.push((":n", Value::Integer(RELEVANCE_WINDOW)));
    let mut ranked = hits(conn, search, &sql, &window)?;
    // The window's lowest log id (the hits come newest first); the next window is below it.
    let floor = if ranked.len() as i64 == RELEVANCE_WINDOW { ranked.last().map_or(0, |h| h.0) } else { 0 };
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    let later = |&&(id, rank): &&(i64, f64)| after.is_none_or(|(r, i)| rank > r || (rank == r && id < i));
    found.extend(ranked.iter().filter(later).take(wanted - found.len()).map(|&(id, rank)| (id, Some((rank, ceiling)))));
    if found.len() >= wanted || floor == 0 {
      return Ok(found);
    }
    (after, ceiling) = (None, floor);
  }
}

/// The logs that match, with snippets, as [`LogSearch`] asks. Logs of deleted sessions, of
/// sessions in the trash, and deleted logs never appear (every hit is read from `session_logs`). Without the index
/// (migration `search_index` not applied) it is refused with `INVALID_ARGUMENT`.
pub fn search_logs(conn: &Connection, search: &LogSearch) -> Result<SearchPage<LogHit>> {
  require_index(conn)?;
  let parsed = Query::parse(&search.query, search.syntax);
  let Some(expression) = parsed.expression else { return Ok(SearchPage { items: Vec::new(), next_cursor: None }) };
  // The hits and their logs are read from one snapshot.
  let snapshot = if conn.is_autocommit() { Some(conn.unchecked_transaction()?) } else { None };
  let (filters, mut params) = log_filters(search, trash::holds_sessions(conn)?);
  params.push((":q", Value::Text(expression)));
  let from = if filters.is_empty() { MATCHES_UNFILTERED.to_string() } else { format!("{MATCHES}{filters}") };
  let wanted = search.limit as usize + 1;
  let mut found: Vec<Hit> = match search.order {
    SearchOrder::Newest => {
      params.push((":n", Value::Integer(wanted as i64)));
      params.push((":below", Value::Integer(search.after.as_ref().map_or(i64::MAX, |a| a.id))));
      let sql = format!("SELECT s.rowid, NULL {from} AND s.rowid < :below ORDER BY s.rowid DESC LIMIT :n");
      hits(conn, search, &sql, &params)?.into_iter().map(|(id, _)| (id, None)).collect()
    }
    SearchOrder::Relevance => relevance_hits(conn, search, &params, &from, wanted)?,
  };
  let more = found.len() >= wanted;
  found.truncate(search.limit as usize);
  let next_cursor = found.last().filter(|_| more).map(|&(id, rank)| SearchCursor { rank, id }.encode());
  let mut stmt = conn.prepare_cached(&hit_log_sql())?;
  let text_column = logs::LOG_COLUMNS.split(", ").count();
  let mut items = Vec::with_capacity(found.len());
  for (id, _) in found {
    let hit =
      stmt.query_row([id], |row| Ok((logs::log_from_row(row)?, row.get::<_, Option<String>>(text_column)?))).optional()?;
    // The index is exact in the snapshot: every hit is a log of it.
    let Some((log, explicit)) = hit else { continue };
    let source = explicit.unwrap_or_else(|| text::of_content(log.content.get()));
    let cut = snippet::snippet(&source, &parsed.phrases);
    items.push(LogHit { session_id: log.session_id.clone(), log, snippet: cut.snippet, highlights: cut.highlights });
  }
  drop(stmt);
  if let Some(snapshot) = snapshot {
    snapshot.commit()?;
  }
  Ok(SearchPage { items, next_cursor })
}

fn require_index(conn: &Connection) -> Result<()> {
  if index::exists(conn)? {
    Ok(())
  } else {
    let cause = "no such table: log_search";
    Err(required::not_migrated(conn, cause).unwrap_or_else(|| Error::new(ErrorCode::SqlError, cause)))
  }
}

/// What `searchSessions` searches for.
#[derive(Clone, Debug, Default)]
pub struct SessionSearch {
  /// What the user typed.
  pub query: String,
  /// Which language it is in.
  pub syntax: Syntax,
  /// Only this agent's sessions.
  pub agent_id: Option<String>,
  /// How many sessions at most.
  pub limit: u64,
}

/// Reads `searchSessions(query, options)`'s arguments.
pub fn read_session_search<S: Source>(query: S, options: S) -> Result<SessionSearch> {
  let query = query.string("query")?;
  let f = Fields::of(options, "options", SESSION_OPTIONS, true)?;
  Ok(SessionSearch { query, syntax: syntax(&f)?, agent_id: f.parsed("agentId", |v, p| v.id(p))?, limit: limit(&f)? })
}

/// A session's best hit: its name or goal, else its best-matching log.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionHit {
  /// The session.
  pub session: Session,
  /// The log that matched best, or `null` when the session's name or goal matched.
  pub log: Option<SessionLog>,
  /// The matched text around the first match.
  pub snippet: String,
  /// The matches in `snippet`, as UTF-16 offsets.
  pub highlights: Vec<Highlight>,
}

/// One hit per session, best first: sessions whose name or goal matches, then sessions by
/// their best-matching log; sessions in the trash are left out.
pub fn search_sessions(conn: &Connection, search: &SessionSearch) -> Result<Vec<SessionHit>> {
  require_index(conn)?;
  rules::whole(search.limit as f64, &PAGE_LIMIT, "limit")?;
  let parsed = Query::parse(&search.query, search.syntax);
  let Some(expression) = parsed.expression else { return Ok(Vec::new()) };
  // `+` keeps the agent's filter off the agent's index: each hit's session is looked up by
  // its key, not searched among every session of the agent.
  let agent = if search.agent_id.is_some() { " AND +se.main_agent_id = :agent" } else { "" };
  let mut params: Vec<(&str, Value)> = vec![(":q", Value::Text(expression)), (":n", Value::Integer(search.limit as i64))];
  if let Some(id) = &search.agent_id {
    params.push((":agent", Value::Text(id.clone())));
  }
  let by_name = format!(
    "SELECT i.session_id FROM session_search i CROSS JOIN sessions se ON se.id = i.session_id \
     WHERE session_search MATCH :q AND se.deleted_at IS NULL{agent} ORDER BY i.rank LIMIT :n"
  );
  let by_log = format!(
    "SELECT l.session_id, l.id, min(s.rank) FROM log_search s CROSS JOIN session_logs l ON l.id = s.rowid \
     CROSS JOIN sessions se ON se.id = l.session_id \
     WHERE log_search MATCH :q AND se.deleted_at IS NULL{agent} GROUP BY l.session_id ORDER BY 3, 2 DESC LIMIT :n"
  );
  let mut hits = Vec::new();
  let mut seen = std::collections::HashSet::new();
  for id in rows(conn, &by_name, &params, &search.query, |r| r.get::<_, String>(0))? {
    let (Some(session), Some(source)) = (sessions::get(conn, &id)?, index::session_text(conn, &id)?) else { continue };
    let cut = snippet::snippet(&source, &parsed.phrases);
    seen.insert(id);
    hits.push(SessionHit { session, log: None, snippet: cut.snippet, highlights: cut.highlights });
  }
  for (id, log_id) in rows(conn, &by_log, &params, &search.query, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
    if hits.len() as u64 >= search.limit || !seen.insert(id.clone()) {
      continue;
    }
    let (Some(session), Some(log), Some(source)) =
      (sessions::get(conn, &id)?, logs::get(conn, log_id)?, index::log_text(conn, log_id)?)
    else {
      continue;
    };
    let cut = snippet::snippet(&source, &parsed.phrases);
    hits.push(SessionHit { session, log: Some(log), snippet: cut.snippet, highlights: cut.highlights });
  }
  Ok(hits)
}
