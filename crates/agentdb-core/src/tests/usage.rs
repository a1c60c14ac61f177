//! The usage ledger: idempotent by request id, refusing a retry with other values, kept when
//! what it names is deleted, totalled by agent, session, model and day without adding
//! currencies together.

use rusqlite::Connection;
use serde_json::{json, Value};

use super::support::{agent, db, log, read, refused_when_read, session};
use crate::cascade;
use crate::command::{Command, Kind, Outcome};
use crate::error::ErrorCode;
use crate::usage::{self, GroupBy, SummaryRequest, UsageTotals};

/// Records `input` through `recordUsage`'s reader, as the addon would.
fn record(conn: &Connection, input: Value) -> crate::error::Result<usage::Recorded> {
  match read(Kind::RecordUsage, &json!({ "input": input })).run(conn)? {
    Outcome::Usage(recorded) => Ok(recorded),
    other => panic!("recordUsage resolved with {other:?}"),
  }
}

fn summary(conn: &Connection, group_by: GroupBy) -> Vec<UsageTotals> {
  usage::summary(conn, &SummaryRequest { group_by, since: None, until: None }).unwrap()
}

fn count(conn: &Connection) -> i64 {
  conn.query_row("SELECT count(*) FROM usage_records", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_retry_with_the_same_values_counts_once_and_says_it_was_a_duplicate() {
  let conn = db();
  let input = json!({ "requestId": "r1", "model": "m", "inputTokens": 10, "outputTokens": 5, "cost": 0.25, "currency": "USD" });
  let first = record(&conn, input.clone()).unwrap();
  assert!(!first.duplicate);
  let again = record(&conn, input).unwrap();
  assert!(again.duplicate);
  assert_eq!(again.record, first.record);
  assert_eq!(count(&conn), 1);
  assert_eq!(summary(&conn, GroupBy::Model)[0].input_tokens, 10);
}

#[test]
fn a_retry_with_other_values_is_refused_and_changes_nothing() {
  let conn = db();
  record(&conn, json!({ "requestId": "r1", "model": "m", "inputTokens": 10, "outputTokens": 5 })).unwrap();
  let err = record(&conn, json!({ "requestId": "r1", "model": "m", "inputTokens": 11, "outputTokens": 5 })).unwrap_err();
  assert_eq!(err.code, ErrorCode::AlreadyExists);
  assert!(err.message.contains("inputTokens"), "{err}");
  let err =
    record(&conn, json!({ "requestId": "r1", "model": "m", "inputTokens": 10, "outputTokens": 5, "cost": 1, "currency": "EUR" }))
      .unwrap_err();
  assert!(err.message.contains("cost, currency"), "{err}");
  assert_eq!(usage::get(&conn, "r1").unwrap().unwrap().input_tokens, 10);
}

#[test]
fn records_take_the_session_and_agent_of_their_log_and_outlive_them() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let l = log(&conn, &s.id, None);
  let recorded =
    record(&conn, json!({ "requestId": "r1", "logId": l.id, "model": "m", "inputTokens": 1, "outputTokens": 2 })).unwrap();
  assert_eq!(
    (recorded.record.session_id.as_deref(), recorded.record.agent_id.as_deref()),
    (Some(s.id.as_str()), Some(a.id.as_str()))
  );
  assert!(cascade::delete_agent(&conn, &a.id).unwrap());
  let kept = usage::get(&conn, "r1").unwrap().unwrap();
  assert_eq!(kept, recorded.record);
  // A retry after the deletion, naming only the log, is still the same request.
  let retry =
    record(&conn, json!({ "requestId": "r1", "logId": l.id, "model": "m", "inputTokens": 1, "outputTokens": 2 })).unwrap();
  assert!(retry.duplicate);
  assert_eq!(summary(&conn, GroupBy::Agent)[0].key.as_deref(), Some(a.id.as_str()));
}

#[test]
fn totals_keep_each_currency_apart_and_group_by_utc_day() {
  let conn = db();
  let rows = [
    ("r1", "m1", 10, Some((1.5, "USD"))),
    ("r2", "m1", 20, Some((2.0, "EUR"))),
    ("r3", "m1", 30, Some((0.5, "USD"))),
    ("r4", "m2", 40, None),
  ];
  for (id, model, tokens, cost) in rows {
    let mut input = json!({ "requestId": id, "model": model, "inputTokens": tokens, "outputTokens": 1, "reasoningTokens": 2 });
    if let Some((cost, currency)) = cost {
      input["cost"] = json!(cost);
      input["currency"] = json!(currency);
    }
    record(&conn, input).unwrap();
  }
  conn.execute("UPDATE usage_records SET created_at = '2026-01-01T23:59:59.999Z' WHERE request_id IN ('r1', 'r2')", []).unwrap();
  conn.execute("UPDATE usage_records SET created_at = '2026-01-02T00:00:00.000Z' WHERE request_id IN ('r3', 'r4')", []).unwrap();
  let by_model = summary(&conn, GroupBy::Model);
  assert_eq!(by_model.len(), 2);
  assert_eq!((by_model[0].key.as_deref(), by_model[0].requests, by_model[0].input_tokens), (Some("m1"), 3, 60));
  assert_eq!(by_model[0].costs.get("USD"), Some(&2.0));
  assert_eq!(by_model[0].costs.get("EUR"), Some(&2.0));
  assert!(by_model[1].costs.is_empty());
  assert_eq!(by_model[1].reasoning_tokens, 2);
  let by_day = summary(&conn, GroupBy::Day);
  let days: Vec<_> = by_day.iter().map(|t| (t.key.clone().unwrap(), t.requests)).collect();
  assert_eq!(days, [("2026-01-01".to_string(), 2), ("2026-01-02".to_string(), 2)]);
  let since = usage::summary(
    &conn,
    &SummaryRequest { group_by: GroupBy::Model, since: Some("2026-01-02T00:00:00.000Z".into()), until: None },
  )
  .unwrap();
  assert_eq!(since.iter().map(|t| t.requests).sum::<i64>(), 2);
  let until = usage::summary(
    &conn,
    &SummaryRequest { group_by: GroupBy::Session, since: None, until: Some("2026-01-02T00:00:00.000Z".into()) },
  )
  .unwrap();
  assert_eq!((until.len(), until[0].key.clone(), until[0].requests), (1, None, 2));
}

#[test]
fn bad_numbers_currencies_and_fields_are_refused_before_anything_runs() {
  let conn = db();
  let good = json!({ "requestId": "r1", "model": "m", "inputTokens": 1, "outputTokens": 1 });
  read(Kind::RecordUsage, &json!({ "input": good }));
  let cases: [(&str, Value, &str); 10] = [
    ("inputTokens", json!(-1), "input.inputTokens"),
    ("outputTokens", json!(1.5), "input.outputTokens"),
    ("reasoningTokens", json!("3"), "input.reasoningTokens"),
    ("cacheReadTokens", json!(9_007_199_254_740_992_u64), "input.cacheReadTokens"),
    ("cost", json!(-0.01), "input.cost"),
    ("currency", json!("usd"), "input.currency"),
    ("requestId", json!(""), "input.requestId"),
    ("model", json!(" "), "input.model"),
    ("logId", json!(0), "input.logId"),
    ("colour", json!("red"), "colour"),
  ];
  for (field, value, named) in cases {
    let mut input = good.clone();
    input[field] = value;
    if field == "cost" {
      input["currency"] = json!("USD");
    }
    let err = refused_when_read(&conn, Kind::RecordUsage, &json!({ "input": input }));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{field}: {err}");
    assert!(err.message.contains(named), "{field}: {err}");
  }
  let mut alone = good.clone();
  alone["cost"] = json!(1);
  assert!(refused_when_read(&conn, Kind::RecordUsage, &json!({ "input": alone })).message.contains("input.currency is required"));
  assert_eq!(count(&conn), 0);
}

#[test]
fn a_batch_records_a_reply_and_its_usage_with_refs() {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let batch = json!({ "operations": [
    { "op": "addLog", "input": { "sessionId": s.id, "role": "agent", "type": "message", "content": "hi" } },
    { "op": "recordUsage", "input": { "requestId": "r1", "logId": { "ref": 0 }, "model": "m", "inputTokens": 3, "outputTokens": 4 } },
  ] });
  let Outcome::Batch(outcomes) = read(Kind::Batch, &batch).run(&conn).unwrap() else { panic!("not a batch") };
  let (Outcome::Log(reply), Outcome::Usage(recorded)) = (&outcomes[0], &outcomes[1]) else { panic!("{outcomes:?}") };
  assert_eq!(recorded.record.log_id, Some(reply.id));
  assert_eq!(recorded.record.session_id.as_deref(), Some(s.id.as_str()));
  let wrong = json!({ "operations": [
    { "op": "createAgent", "input": { "name": "B", "model": "m" } },
    { "op": "recordUsage", "input": { "requestId": "r2", "logId": { "ref": 0 }, "model": "m", "inputTokens": 3, "outputTokens": 4 } },
  ] });
  let err = Command::decode(Kind::Batch, &wrong.to_string()).unwrap_err();
  assert!(err.message.contains("operations[1].input.logId"), "{err}");
}
