//! The usage ledger: one record per model request (tokens, cost), idempotent by the app's
//! request id, and its totals by agent, session, model or day.
//!
//! A record names its session, log and agent by id without foreign keys, so it outlives them
//! and keeps their ids. A record that leaves out `sessionId` or `agentId` gets them from the
//! log (or session) it names, when that row exists at the time it is recorded.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::input::fields::{Fields, Source};
use crate::input::read::log_id;
use crate::input::tree::Input;
use crate::model::now_iso;
use crate::rules;
use crate::search::timestamp;

/// A token count: a whole number from 0 to 2^53 - 1.
pub const TOKENS: RangeInclusive<u64> = 0..=9_007_199_254_740_991;

/// The fields of `recordUsage`'s input.
const INPUT_FIELDS: &[&str] = &[
  "requestId",
  "sessionId",
  "logId",
  "agentId",
  "model",
  "inputTokens",
  "outputTokens",
  "reasoningTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "cost",
  "currency",
];

/// The columns of `usage_records`, in the order [`record_from_row`] reads them.
const COLUMNS: &str = "request_id, session_id, log_id, agent_id, model, input_tokens, output_tokens, reasoning_tokens, \
  cache_read_tokens, cache_write_tokens, cost, currency, created_at";

/// A request's usage, as `recordUsage` is given it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewUsage {
  /// The app's id of the request: the record's key.
  pub request_id: String,
  /// The session it was made for.
  pub session_id: Option<String>,
  /// The log entry it produced.
  pub log_id: Option<i64>,
  /// The agent that made it.
  pub agent_id: Option<String>,
  /// The model that answered.
  pub model: String,
  /// Prompt tokens.
  pub input_tokens: i64,
  /// Completion tokens.
  pub output_tokens: i64,
  /// Reasoning tokens (0 when absent).
  pub reasoning_tokens: i64,
  /// Tokens read from the provider's cache (0 when absent).
  pub cache_read_tokens: i64,
  /// Tokens written to the provider's cache (0 when absent).
  pub cache_write_tokens: i64,
  /// What the request cost, with its currency.
  pub cost: Option<(f64, String)>,
}

/// One record of the ledger.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
  /// The app's id of the request.
  pub request_id: String,
  /// The session it was made for (kept after the session is deleted).
  pub session_id: Option<String>,
  /// The log entry it produced (kept after the entry is deleted).
  pub log_id: Option<i64>,
  /// The agent that made it (kept after the agent is deleted).
  pub agent_id: Option<String>,
  /// The model that answered.
  pub model: String,
  /// Prompt tokens.
  pub input_tokens: i64,
  /// Completion tokens.
  pub output_tokens: i64,
  /// Reasoning tokens.
  pub reasoning_tokens: i64,
  /// Tokens read from the provider's cache.
  pub cache_read_tokens: i64,
  /// Tokens written to the provider's cache.
  pub cache_write_tokens: i64,
  /// What it cost, in `currency`.
  pub cost: Option<f64>,
  /// The cost's currency: three capital letters (ISO 4217).
  pub currency: Option<String>,
  /// When it was recorded (ISO-8601 UTC, ms).
  pub created_at: String,
}

/// What `recordUsage` resolves with: the record as stored, and whether it was there already
/// (a retry of the same request, which counts once).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
  /// The record.
  #[serde(flatten)]
  pub record: UsageRecord,
  /// True when a record with this request id and these values existed already.
  pub duplicate: bool,
}

/// Reads `recordUsage`'s input.
pub fn read_new_usage(value: &Input, what: &dyn Display) -> Result<NewUsage> {
  let f = Fields::of(value, what, INPUT_FIELDS, false)?;
  let tokens = |name: &str| -> Result<i64> { Ok(f.whole(name, &TOKENS)?.unwrap_or(0) as i64) };
  let required_tokens = |name: &str| -> Result<i64> { Ok(f.required(name, |v, p| v.whole(p, &TOKENS))? as i64) };
  let cost = f.parsed("cost", |v, p| {
    let n = v.number(p)?;
    if n.is_finite() && n >= 0.0 {
      Ok(n)
    } else {
      Err(Error::invalid(format!("{p} must be a finite number of at least 0, got {n}")))
    }
  })?;
  let currency = f.parsed("currency", |v, p| {
    let code = v.string(p)?;
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
      Ok(code)
    } else {
      Err(Error::invalid(format!("{p} must be a three-letter ISO 4217 code in capitals such as \"USD\", got {code:?}")))
    }
  })?;
  let cost = match (cost, currency) {
    (Some(cost), Some(currency)) => Some((cost, currency)),
    (None, None) => None,
    (Some(_), None) => return Err(Error::invalid(format!("{} is required with {}", f.path("currency"), f.path("cost")))),
    (None, Some(_)) => return Err(Error::invalid(format!("{} is required with {}", f.path("cost"), f.path("currency")))),
  };
  let model = f.required_string("model")?;
  rules::text(&model, f.path("model"))?;
  Ok(NewUsage {
    request_id: f.required("requestId", |v, p| v.id(p))?,
    session_id: f.parsed("sessionId", |v, p| v.id(p))?,
    log_id: f.parsed("logId", log_id)?,
    agent_id: f.parsed("agentId", |v, p| v.id(p))?,
    model,
    input_tokens: required_tokens("inputTokens")?,
    output_tokens: required_tokens("outputTokens")?,
    reasoning_tokens: tokens("reasoningTokens")?,
    cache_read_tokens: tokens("cacheReadTokens")?,
    cache_write_tokens: tokens("cacheWriteTokens")?,
    cost,
  })
}

fn record_from_row(row: &Row) -> rusqlite::Result<UsageRecord> {
  crate::stored::read("usage_records", row, 0, || {
    Ok(UsageRecord {
      request_id: row.get(0)?,
      session_id: row.get(1)?,
      log_id: row.get(2)?,
      agent_id: row.get(3)?,
      model: row.get(4)?,
      input_tokens: row.get(5)?,
      output_tokens: row.get(6)?,
      reasoning_tokens: row.get(7)?,
      cache_read_tokens: row.get(8)?,
      cache_write_tokens: row.get(9)?,
      cost: row.get(10)?,
      currency: row.get(11)?,
      created_at: row.get(12)?,
    })
  })
}

/// The record of `request_id`, if there is one.
pub fn get(conn: &Connection, request_id: &str) -> Result<Option<UsageRecord>> {
  let sql = format!("SELECT {COLUMNS} FROM usage_records WHERE request_id = ?1");
  Ok(conn.prepare_cached(&sql)?.query_row([request_id], record_from_row).optional()?)
}

/// The session and agent of the log `log_id` (the session's main agent), when it exists.
const LOG_OWNERS_SQL: &str =
  "SELECT l.session_id, s.main_agent_id FROM session_logs l JOIN sessions s ON s.id = l.session_id WHERE l.id = ?1";

/// Fills the session and agent a record leaves out from the log or session it names, where
/// that row exists.
fn with_owners(conn: &Connection, input: &NewUsage) -> Result<NewUsage> {
  let mut input = input.clone();
  if let (Some(log), None) = (input.log_id, &input.session_id) {
    let owners: Option<(String, String)> =
      conn.prepare_cached(LOG_OWNERS_SQL)?.query_row([log], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    if let Some((session, agent)) = owners {
      input.session_id = Some(session);
      input.agent_id = input.agent_id.or(Some(agent));
    }
  }
  if let (Some(session), None) = (&input.session_id, &input.agent_id) {
    input.agent_id =
      conn.prepare_cached("SELECT main_agent_id FROM sessions WHERE id = ?1")?.query_row([session], |r| r.get(0)).optional()?;
  }
  Ok(input)
}

/// The fields of `input` that differ from `record`: every value, and each id the input gives
/// (an id it leaves out matches whatever was stored or filled in).
fn differences(input: &NewUsage, record: &UsageRecord) -> Vec<&'static str> {
  let mut differ = Vec::new();
  let mut check = |same: bool, name: &'static str| {
    if !same {
      differ.push(name);
    }
  };
  check(input.session_id.is_none() || input.session_id == record.session_id, "sessionId");
  check(input.log_id.is_none() || input.log_id == record.log_id, "logId");
  check(input.agent_id.is_none() || input.agent_id == record.agent_id, "agentId");
  check(input.model == record.model, "model");
  check(input.input_tokens == record.input_tokens, "inputTokens");
  check(input.output_tokens == record.output_tokens, "outputTokens");
  check(input.reasoning_tokens == record.reasoning_tokens, "reasoningTokens");
  check(input.cache_read_tokens == record.cache_read_tokens, "cacheReadTokens");
  check(input.cache_write_tokens == record.cache_write_tokens, "cacheWriteTokens");
  let cost = record.cost.zip(record.currency.clone());
  check(input.cost.as_ref().map(|c| c.0) == cost.as_ref().map(|c| c.0), "cost");
  check(input.cost.as_ref().map(|c| &c.1) == cost.as_ref().map(|c| &c.1), "currency");
  differ
}

/// Records a request's usage. A request id recorded already with the same values resolves
/// with the stored record and `duplicate: true`; with other values it is refused with
/// `ALREADY_EXISTS` naming the fields that differ, and nothing changes.
pub fn record(conn: &Connection, input: &NewUsage) -> Result<Recorded> {
  if let Some(existing) = get(conn, &input.request_id)? {
    let differ = differences(input, &existing);
    if differ.is_empty() {
      return Ok(Recorded { record: existing, duplicate: true });
    }
    return Err(Error::new(
      ErrorCode::AlreadyExists,
      format!(
        "requestId {:?} is recorded already with another {}: a retry must give the same values (a new request needs a new requestId)",
        input.request_id,
        differ.join(", ")
      ),
    ));
  }
  let input = with_owners(conn, input)?;
  let now = now_iso();
  let sql = format!("INSERT INTO usage_records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  let inserted = conn.prepare_cached(&sql)?.execute(params![
    input.request_id,
    input.session_id,
    input.log_id,
    input.agent_id,
    input.model,
    input.input_tokens,
    input.output_tokens,
    input.reasoning_tokens,
    input.cache_read_tokens,
    input.cache_write_tokens,
    input.cost.as_ref().map(|c| c.0),
    input.cost.as_ref().map(|c| c.1.as_str()),
    now,
  ])?;
  if inserted == 0 {
    return Err(Error::not_written("usage_records", format!("the usage of request {:?}", input.request_id)));
  }
  get(conn, &input.request_id)?
    .map(|record| Recorded { record, duplicate: false })
    .ok_or_else(|| Error::internal(format!("the usage of request {:?} was not read back", input.request_id)))
}

/// What `usageSummary` totals by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
  /// The record's agent id.
  Agent,
  /// The record's session id.
  Session,
  /// The model.
  Model,
  /// The UTC day it was recorded (`YYYY-MM-DD`).
  Day,
}

impl GroupBy {
  /// The names `groupBy` takes, in the order of [`GroupBy::parse`].
  pub const NAMES: [&'static str; 4] = ["agent", "session", "model", "day"];

  /// Reads a `groupBy` name.
  pub fn parse(text: &str, what: impl Display) -> Result<GroupBy> {
    Ok(match text {
      "agent" => GroupBy::Agent,
      "session" => GroupBy::Session,
      "model" => GroupBy::Model,
      "day" => GroupBy::Day,
      other => return Err(Error::invalid(format!("{what} must be one of {}, got {other:?}", GroupBy::NAMES.join(", ")))),
    })
  }

  /// The SQL expression of the group's key.
  fn key_sql(self) -> &'static str {
    match self {
      GroupBy::Agent => "agent_id",
      GroupBy::Session => "session_id",
      GroupBy::Model => "model",
      GroupBy::Day => "substr(created_at, 1, 10)",
    }
  }
}

/// `usageSummary`'s options.
#[derive(Clone, Debug)]
pub struct SummaryRequest {
  /// What to total by.
  pub group_by: GroupBy,
  /// Only records made at or after this ISO-8601 UTC time.
  pub since: Option<String>,
  /// Only records made before this ISO-8601 UTC time.
  pub until: Option<String>,
}

/// Reads `usageSummary`'s options.
pub fn read_summary_request<S: Source>(options: S) -> Result<SummaryRequest> {
  let f = Fields::of(options, "options", &["groupBy", "since", "until"], false)?;
  Ok(SummaryRequest {
    group_by: f.required("groupBy", |v, p| GroupBy::parse(&v.string(p)?, p))?,
    since: f.parsed("since", timestamp)?,
    until: f.parsed("until", timestamp)?,
  })
}

/// The totals of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
  /// The agent id, session id, model or day; `None` for records that name no agent (or no
  /// session).
  pub key: Option<String>,
  /// How many requests.
  pub requests: i64,
  /// Prompt tokens.
  pub input_tokens: i64,
  /// Completion tokens.
  pub output_tokens: i64,
  /// Reasoning tokens.
  pub reasoning_tokens: i64,
  /// Tokens read from the provider's cache.
  pub cache_read_tokens: i64,
  /// Tokens written to the provider's cache.
  pub cache_write_tokens: i64,
  /// The cost in each currency, never added across currencies; records without a cost add
  /// nothing here.
  pub costs: BTreeMap<String, f64>,
}

/// The ledger's totals by `request.group_by`, ordered by key (records without one first).
pub fn summary(conn: &Connection, request: &SummaryRequest) -> Result<Vec<UsageTotals>> {
  let mut filters = Vec::new();
  let mut values = Vec::new();
  if let Some(since) = &request.since {
    filters.push("created_at >= ?");
    values.push(Value::Text(since.clone()));
  }
  if let Some(until) = &request.until {
    filters.push("created_at < ?");
    values.push(Value::Text(until.clone()));
  }
  let filter = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
  let sql = format!(
    "SELECT {key} AS k, currency, count(*), sum(input_tokens), sum(output_tokens), sum(reasoning_tokens), \
     sum(cache_read_tokens), sum(cache_write_tokens), sum(cost) FROM usage_records {filter} \
     GROUP BY k, currency ORDER BY k, currency",
    key = request.group_by.key_sql()
  );
  let mut totals: Vec<UsageTotals> = Vec::new();
  let mut stmt = conn.prepare_cached(&sql)?;
  let mut rows = stmt.query(params_from_iter(values))?;
  while let Some(row) = rows.next()? {
    let key: Option<String> = row.get(0)?;
    let currency: Option<String> = row.get(1)?;
    if totals.last().is_none_or(|last| last.key != key) {
      totals.push(UsageTotals {
        key,
        requests: 0,
        input_tokens: 0,
        output_tokens: 0,
        reasoning_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        costs: BTreeMap::new(),
      });
    }
    let group = totals.last_mut().unwrap_or_else(|| unreachable!("a group was just pushed"));
    group.requests += row.get::<_, i64>(2)?;
    group.input_tokens += row.get::<_, i64>(3)?;
    group.output_tokens += row.get::<_, i64>(4)?;
    group.reasoning_tokens += row.get::<_, i64>(5)?;
    group.cache_read_tokens += row.get::<_, i64>(6)?;
    group.cache_write_tokens += row.get::<_, i64>(7)?;
    if let Some(currency) = currency {
      group.costs.insert(currency, row.get::<_, f64>(8)?);
    }
  }
  Ok(totals)
}
