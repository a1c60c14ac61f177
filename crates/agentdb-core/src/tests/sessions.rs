//! Sessions: the agent they need, overrides and what they inherit, partial updates, lists
//! newest first, lookups by external id, delete.

use serde_json::{json, Value};

use super::support::{
  agent, code, counts, db, json_setting, log, read, refused_when_read, session, set_created_at, snapshot, text,
};
use crate::agents::{self, NewAgent};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::model::{PermissionMode, SessionStatus};
use crate::page::{Cursor, PageRequest};
use crate::sessions::{self, Include, NewSession, SessionOrder, SessionPatch};
use crate::settings::{self as setting, Field, Settings, Stored};
use crate::trash::Trash;

/// An agent with a value in every field a session can override.
fn configured_agent(conn: &rusqlite::Connection) -> String {
  let input = NewAgent {
    name: "Base".into(),
    settings: Settings::default()
      .with(Field::Model, Some(text("agent-model")))
      .with(Field::PlanModel, Some(text("agent-plan")))
      .with(Field::SmallModel, Some(text("agent-small")))
      .with(Field::BuiltInTools, Some(json_setting(json!(["agent-tool"]))))
      .with(Field::Mcps, Some(json_setting(json!(["agent-mcp"]))))
      .with(Field::Knowledges, Some(json_setting(json!(["agent-kb"]))))
      .with(Field::Configuration, Some(json_setting(json!({ "from": "agent" }))))
      .with(Field::AccessiblePaths, Some(json_setting(json!(["/agent"]))))
      .with(Field::PermissionMode, Some(setting::Value::Mode(PermissionMode::AcceptEdits)))
      .with(Field::MaxSteps, Some(setting::Value::Steps(7))),
    ..Default::default()
  };
  agents::create(conn, &input).unwrap().id
}

fn effective(conn: &rusqlite::Connection, id: &str) -> Value {
  serde_json::to_value(sessions::get_with_agent(conn, id, Trash::Exclude).unwrap().unwrap().effective).unwrap()
}

fn every_override() -> Stored {
  Settings::default()
    .with(Field::Model, Some(text("session-model")))
    .with(Field::PlanModel, Some(text("session-plan")))
    .with(Field::SmallModel, Some(text("session-small")))
    .with(Field::BuiltInTools, Some(json_setting(json!([]))))
    .with(Field::Mcps, Some(json_setting(json!(["session-mcp"]))))
    .with(Field::Knowledges, Some(json_setting(json!(["session-kb"]))))
    .with(Field::Configuration, Some(json_setting(json!({ "from": "session" }))))
    .with(Field::AccessiblePaths, Some(json_setting(json!(["/session"]))))
    .with(Field::PermissionMode, Some(setting::Value::Mode(PermissionMode::BypassPermissions)))
    .with(Field::MaxSteps, Some(setting::Value::Steps(99)))
}

const AGENT_VALUES: &str = r#"{"model":"agent-model","planModel":"agent-plan","smallModel":"agent-small","builtInTools":["agent-tool"],
  "mcps":["agent-mcp"],"knowledges":["agent-kb"],"configuration":{"from":"agent"},"accessiblePaths":["/agent"],
  "permissionMode":"acceptEdits","maxSteps":7}"#;
const SESSION_VALUES: &str = r#"{"model":"session-model","planModel":"session-plan","smallModel":"session-small","builtInTools":[],
  "mcps":["session-mcp"],"knowledges":["session-kb"],"configuration":{"from":"session"},"accessiblePaths":["/session"],
  "permissionMode":"bypassPermissions","maxSteps":99}"#;

#[test]
fn create_needs_an_existing_agent_and_fills_in_defaults() {
  let conn = db();
  let before = snapshot(&conn);
  let err = sessions::create(&conn, &NewSession { main_agent_id: "ghost".into(), ..Default::default() }).unwrap_err();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.contains("mainAgentId") && err.message.contains("ghost"), "{err}");
  assert_eq!(snapshot(&conn), before);
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  assert_eq!((s.status, s.sub_agent_ids.get(), s.main_agent_id.as_str()), (SessionStatus::Idle, "[]", a.id.as_str()));
  let stored = serde_json::to_value(&s).unwrap();
  for field in [
    "name",
    "userGoal",
    "externalSessionId",
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
  ] {
    assert_eq!(stored[field], Value::Null, "{field}");
  }
  let dup = NewSession { id: Some(s.id.clone()), main_agent_id: a.id.clone(), ..Default::default() };
  assert_eq!(code(sessions::create(&conn, &dup)), ErrorCode::AlreadyExists);
  // A maxSteps override of 0 or a blank model override is refused when the input is read.
  let before = snapshot(&conn);
  read(Kind::CreateSession, &json!({ "input": { "mainAgentId": a.id, "maxSteps": 1, "model": "m" } }));
  for (field, value) in [("maxSteps", json!(0)), ("model", json!(" "))] {
    let err = refused_when_read(&conn, Kind::CreateSession, &json!({ "input": { "mainAgentId": a.id, field: value } }));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{field}: {err}");
    assert!(err.message.contains(&format!("input.{field}")), "{err}");
  }
  assert_eq!(snapshot(&conn), before);
  assert_eq!(counts(&conn), (1, 1, 0));
}

#[test]
fn effective_configuration_takes_each_override_or_inherits() {
  let conn = db();
  let agent_id = configured_agent(&conn);
  let inherits = session(&conn, &agent_id);
  assert_eq!(effective(&conn, &inherits.id), serde_json::from_str::<Value>(AGENT_VALUES).unwrap());
  let overrides =
    sessions::create(&conn, &NewSession { main_agent_id: agent_id.clone(), settings: every_override(), ..Default::default() })
      .unwrap();
  // An empty list is an override, not "inherit".
  assert_eq!(effective(&conn, &overrides.id), serde_json::from_str::<Value>(SESSION_VALUES).unwrap());
  let view = sessions::get_with_agent(&conn, &overrides.id, Trash::Exclude).unwrap().unwrap();
  assert_eq!((view.session.id.as_str(), view.agent.id.as_str()), (overrides.id.as_str(), agent_id.as_str()));
  assert!(sessions::get_with_agent(&conn, "missing", Trash::Exclude).unwrap().is_none());

  // Each field on its own: overriding it changes that field only; null inherits again.
  let agent_values: Value = serde_json::from_str(AGENT_VALUES).unwrap();
  let session_values: Value = serde_json::from_str(SESSION_VALUES).unwrap();
  let fields = [
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
  let all = every_override();
  let settings_of = [
    Field::Model,
    Field::PlanModel,
    Field::SmallModel,
    Field::BuiltInTools,
    Field::Mcps,
    Field::Knowledges,
    Field::Configuration,
    Field::AccessiblePaths,
    Field::PermissionMode,
    Field::MaxSteps,
  ];
  for (index, field) in fields.iter().enumerate() {
    let set = |value: Option<Option<setting::Value>>| {
      let settings = Settings::default().with(settings_of[index], value);
      sessions::update(&conn, &inherits.id, &SessionPatch { settings, ..Default::default() }).unwrap()
    };
    let updated = set(Some(all[settings_of[index]].clone()));
    assert_ne!(serde_json::to_value(&updated).unwrap()[field], Value::Null, "{field}");
    let mut expected = agent_values.clone();
    expected[field] = session_values[field].clone();
    assert_eq!(effective(&conn, &inherits.id), expected, "{field} overridden");
    let back = set(Some(None));
    assert_eq!(serde_json::to_value(&back).unwrap()[field], Value::Null, "{field}");
    assert_eq!(effective(&conn, &inherits.id), agent_values, "{field} inherited again");
  }

  // A change to the agent shows through where the session inherits, not where it overrides.
  agents::update(
    &conn,
    &agent_id,
    &agents::AgentPatch {
      settings: Settings::default()
        .with(Field::Model, Some(Some(text("agent-model-2"))))
        .with(Field::MaxSteps, Some(Some(setting::Value::Steps(8)))),
      ..Default::default()
    },
  )
  .unwrap();
  assert_eq!(effective(&conn, &inherits.id)["model"], json!("agent-model-2"));
  assert_eq!(effective(&conn, &overrides.id)["model"], json!("session-model"));
  assert_eq!(effective(&conn, &overrides.id)["maxSteps"], json!(99));
}

#[test]
fn update_changes_only_the_given_fields() {
  let conn = db();
  let a = agent(&conn, "A");
  let b = agent(&conn, "B");
  let input =
    NewSession { main_agent_id: a.id.clone(), name: Some("first".into()), user_goal: Some("goal".into()), ..Default::default() };
  let s = sessions::create(&conn, &input).unwrap();
  let renamed =
    sessions::update(&conn, &s.id, &SessionPatch { name: Some(Some("second".into())), ..Default::default() }).unwrap();
  assert_eq!(
    (renamed.name.as_deref(), renamed.user_goal.as_deref(), renamed.status),
    (Some("second"), Some("goal"), SessionStatus::Idle)
  );
  assert!(renamed.updated_at > s.updated_at);
  assert_eq!(renamed.created_at, s.created_at);
  let moved = sessions::update(
    &conn,
    &s.id,
    &SessionPatch {
      main_agent_id: Some(b.id.clone()),
      user_goal: Some(None),
      sub_agent_ids: Some(vec![a.id.clone()]),
      ..Default::default()
    },
  )
  .unwrap();
  assert_eq!(
    (moved.main_agent_id.as_str(), moved.user_goal.as_deref(), moved.sub_agent_ids.get()),
    (b.id.as_str(), None, format!("[\"{}\"]", a.id).as_str())
  );
  let done =
    sessions::update(&conn, &s.id, &SessionPatch { status: Some(SessionStatus::Completed), ..Default::default() }).unwrap();
  assert_eq!((done.status, done.name.as_deref()), (SessionStatus::Completed, Some("second")));
  let before = snapshot(&conn);
  let err =
    sessions::update(&conn, &s.id, &SessionPatch { main_agent_id: Some("ghost".into()), ..Default::default() }).unwrap_err();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.contains("ghost"), "{err}");
  assert_eq!(code(sessions::update(&conn, "missing", &SessionPatch::default())), ErrorCode::NotFound);
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn external_ids_find_the_newest_session() {
  let conn = db();
  let a = agent(&conn, "A");
  let with = |id: &str, external: &str| {
    sessions::create(
      &conn,
      &NewSession {
        id: Some(id.into()),
        main_agent_id: a.id.clone(),
        external_session_id: Some(external.into()),
        ..Default::default()
      },
    )
    .unwrap()
  };
  with("s1", "ext");
  with("s2", "ext");
  with("s3", "other");
  // s2 was inserted last, though its clock said it was earlier.
  set_created_at(&conn, "sessions", &["s1".into()], "2026-01-02T00:00:00.000Z");
  set_created_at(&conn, "sessions", &["s2".into()], "2026-01-01T00:00:00.000Z");
  assert_eq!(sessions::get_by_external_id(&conn, "ext", Trash::Exclude).unwrap().unwrap().id, "s2");
  assert_eq!(sessions::get_by_external_id(&conn, "other", Trash::Exclude).unwrap().unwrap().id, "s3");
  assert!(sessions::get_by_external_id(&conn, "none", Trash::Exclude).unwrap().is_none());
}

#[test]
fn list_is_newest_first_with_filters_and_both_kinds_of_paging() {
  let conn = db();
  let a = agent(&conn, "A");
  let b = agent(&conn, "B");
  let mut ids = Vec::new();
  for i in 0..15 {
    let owner = if i % 2 == 0 { &a.id } else { &b.id };
    let status = if i % 3 == 0 { SessionStatus::Running } else { SessionStatus::Idle };
    let input = NewSession {
      id: Some(format!("s{:02}", (i * 7) % 15)),
      main_agent_id: owner.clone(),
      status: Some(status),
      ..Default::default()
    };
    ids.push(sessions::create(&conn, &input).unwrap().id);
  }
  // Three timestamps shared by five sessions each, going backwards: newest first is still
  // the reverse of insertion order.
  for (bucket, chunk) in ids.chunks(5).enumerate() {
    set_created_at(&conn, "sessions", chunk, &format!("2026-01-01T00:00:00.00{}Z", 2 - bucket));
  }
  let expected: Vec<String> = ids.iter().rev().cloned().collect();
  let walk = |status: Option<SessionStatus>, agent_id: Option<&str>, limit: u64| {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
      let request = PageRequest::new(Some(limit), None, after.take()).unwrap();
      let page =
        sessions::list(&conn, Trash::Exclude, status, agent_id, SessionOrder::Created, Include::default(), &request).unwrap();
      seen.extend(page.items.into_iter().map(|s| s.session.id));
      match page.next_cursor {
        Some(cursor) => after = Some(Cursor::decode(&cursor).unwrap()),
        None => return seen,
      }
    }
  };
  for limit in [1, 2, 4, 5, 15, 16] {
    assert_eq!(walk(None, None, limit), expected, "limit {limit}");
  }
  let of_a: Vec<String> =
    expected.iter().filter(|id| sessions::get(&conn, id).unwrap().unwrap().main_agent_id == a.id).cloned().collect();
  assert_eq!(walk(None, Some(&a.id), 3), of_a);
  let running = walk(Some(SessionStatus::Running), None, 2);
  assert_eq!(running.len(), 5);
  assert!(running.iter().all(|id| sessions::get(&conn, id).unwrap().unwrap().status == SessionStatus::Running));
  let running_of_b = walk(Some(SessionStatus::Running), Some(&b.id), 1);
  assert_eq!(running_of_b, running.iter().filter(|id| !of_a.contains(id)).cloned().collect::<Vec<_>>());
  let request = PageRequest::new(Some(4), Some(6), None).unwrap();
  let window = sessions::list(&conn, Trash::Exclude, None, None, SessionOrder::Created, Include::default(), &request).unwrap();
  assert_eq!(window.items.into_iter().map(|s| s.session.id).collect::<Vec<_>>(), expected[6..10]);
  assert_eq!((sessions::count(&conn, None).unwrap(), sessions::count(&conn, Some(&a.id)).unwrap()), (15, of_a.len() as i64));
}

#[test]
fn delete_removes_the_session_and_its_logs_only() {
  let conn = db();
  let a = agent(&conn, "A");
  let doomed = session(&conn, &a.id);
  let kept = session(&conn, &a.id);
  for s in [&doomed, &kept] {
    let root = log(&conn, &s.id, None);
    log(&conn, &s.id, Some(root.id));
  }
  assert!(cascade::delete_session(&conn, &doomed.id).unwrap());
  assert!(!cascade::delete_session(&conn, &doomed.id).unwrap());
  assert_eq!(counts(&conn), (1, 1, 2));
  let orphans: i64 = conn
    .query_row("SELECT count(*) FROM session_logs WHERE session_id NOT IN (SELECT id FROM sessions)", [], |r| r.get(0))
    .unwrap();
  assert_eq!(orphans, 0);
  assert!(sessions::get(&conn, &doomed.id).unwrap().is_none());
}
