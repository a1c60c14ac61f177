//! Agents: defaults, partial updates, listing with both kinds of paging, delete, count.

use serde_json::json;

use super::support::{
  agent, counts, db, json_setting, json_text, log, model, read, refused_when_read, session, set_created_at, snapshot, text,
};
use crate::agents::{self, AgentPatch, NewAgent};
use crate::cascade;
use crate::command::Kind;
use crate::error::ErrorCode;
use crate::model::{AgentType, PermissionMode};
use crate::page::{Cursor, PageRequest};
use crate::rules::MAX_STEPS;
use crate::settings::{Field, Settings, Value};
use crate::trash::Trash;

#[test]
fn create_fills_in_the_documented_defaults() {
  let conn = db();
  let a = agent(&conn, "Reviewer");
  assert_eq!(a.id.len(), 36, "{}", a.id);
  assert_eq!(
    (a.agent_type, &a.settings[Field::PermissionMode], &a.settings[Field::MaxSteps]),
    (AgentType::Custom, &Some(Value::Mode(PermissionMode::ReadOnly)), &Some(Value::Steps(10)))
  );
  for list in [Field::BuiltInTools, Field::Mcps, Field::Knowledges, Field::AccessiblePaths] {
    assert_eq!(json_text(&a.settings[list]), "[]", "{list:?}");
  }
  assert_eq!(json_text(&a.settings[Field::Configuration]), "{}");
  assert_eq!(
    (&a.description, &a.avatar, &a.instructions, &a.settings[Field::PlanModel], &a.settings[Field::SmallModel]),
    (&None, &None, &None, &None, &None)
  );
  assert_eq!(a.created_at, a.updated_at);
  assert_ne!(agent(&conn, "Other").id, a.id);
}

#[test]
fn create_stores_every_given_field() {
  let conn = db();
  let input = NewAgent {
    id: Some("agent-1".into()),
    agent_type: Some(AgentType::ClaudeCode),
    name: "Coder".into(),
    description: Some("writes code".into()),
    avatar: Some("🤖".into()),
    instructions: Some("be brief".into()),
    settings: Settings::default()
      .with(Field::Model, Some(text("big")))
      .with(Field::PlanModel, Some(text("plan")))
      .with(Field::SmallModel, Some(text("small")))
      .with(Field::BuiltInTools, Some(json_setting(json!(["file_search"]))))
      .with(Field::Mcps, Some(json_setting(json!(["mcp-a", "mcp-b"]))))
      .with(Field::Knowledges, Some(json_setting(json!(["kb"]))))
      .with(Field::Configuration, Some(json_setting(json!({ "temperature": 0.2 }))))
      .with(Field::AccessiblePaths, Some(json_setting(json!(["/src"]))))
      .with(Field::PermissionMode, Some(Value::Mode(PermissionMode::AcceptEdits)))
      .with(Field::MaxSteps, Some(Value::Steps(42))),
  };
  let a = agents::create(&conn, &input).unwrap();
  assert_eq!(serde_json::to_value(&a).unwrap()["builtInTools"], json!(["file_search"]));
  let read = agents::get(&conn, "agent-1", Trash::Exclude).unwrap().unwrap();
  let stored = serde_json::to_value(&read).unwrap();
  assert_eq!(stored, serde_json::to_value(&a).unwrap());
  assert_eq!(
    (
      stored["type"].clone(),
      stored["avatar"].clone(),
      stored["configuration"].clone(),
      stored["permissionMode"].clone(),
      stored["maxSteps"].clone()
    ),
    (json!("claudeCode"), json!("🤖"), json!({ "temperature": 0.2 }), json!("acceptEdits"), json!(42))
  );
  let err = agents::create(&conn, &input).unwrap_err();
  assert_eq!(err.code, ErrorCode::AlreadyExists);
  assert!(err.message.contains("agent-1"), "{err}");
}

#[test]
fn create_input_with_bad_fields_is_refused_when_read_and_writes_nothing() {
  let conn = db();
  agent(&conn, "Existing");
  let before = snapshot(&conn);
  let valid = json!({ "name": "n", "model": "m" });
  read(Kind::CreateAgent, &json!({ "input": valid }));
  let cases = [
    ("name", json!("  ")),
    ("model", json!("")),
    ("maxSteps", json!(0)),
    ("maxSteps", json!(MAX_STEPS.end() + 1)),
    ("id", json!("")),
  ];
  for (field, value) in cases {
    let mut input = valid.clone();
    input[field] = value;
    let err = refused_when_read(&conn, Kind::CreateAgent, &json!({ "input": input }));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{input}: {err}");
    assert!(err.message.contains(&format!("input.{field}")), "{input}: {err}");
  }
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn update_changes_only_the_given_fields_and_moves_updated_at() {
  let conn = db();
  let input = NewAgent {
    name: "A".into(),
    description: Some("d".into()),
    settings: model("m").with(Field::PlanModel, Some(text("p"))),
    ..Default::default()
  };
  let original = agents::create(&conn, &input).unwrap();
  let patch = AgentPatch {
    name: Some("B".into()),
    settings: Settings::default().with(Field::Mcps, Some(Some(json_setting(json!(["x"]))))),
    ..Default::default()
  };
  let updated = agents::update(&conn, &original.id, &patch).unwrap();
  assert_eq!((updated.name.as_str(), json_text(&updated.settings[Field::Mcps])), ("B", r#"["x"]"#));
  assert_eq!(
    (updated.description.as_deref(), &updated.settings[Field::PlanModel], &updated.settings[Field::Model]),
    (Some("d"), &Some(text("p")), &Some(text("m")))
  );
  assert_eq!(updated.created_at, original.created_at);
  assert!(updated.updated_at > original.updated_at, "{} > {}", updated.updated_at, original.updated_at);
  // Some(None) clears a nullable field; every update moves updated_at, even back to back.
  let cleared = agents::update(&conn, &original.id, &AgentPatch { description: Some(None), ..Default::default() }).unwrap();
  assert_eq!((cleared.description, cleared.settings[Field::PlanModel].clone()), (None, Some(text("p"))));
  let mut last = cleared.updated_at;
  for steps in 1..=5 {
    let patch =
      AgentPatch { settings: Settings::default().with(Field::MaxSteps, Some(Some(Value::Steps(steps)))), ..Default::default() };
    let next = agents::update(&conn, &original.id, &patch).unwrap();
    assert!(next.updated_at > last);
    assert_eq!(next.created_at, original.created_at);
    last = next.updated_at;
  }
  let empty = agents::update(&conn, &original.id, &AgentPatch::default()).unwrap();
  assert!(empty.updated_at > last);
  let before = snapshot(&conn);
  let err = agents::update(&conn, "missing", &patch).unwrap_err();
  assert_eq!(err.code, ErrorCode::NotFound);
  assert!(err.message.contains("missing"), "{err}");
  // A blank name or a maxSteps out of range is refused when the patch is read, before anything runs.
  read(Kind::UpdateAgent, &json!({ "id": original.id, "patch": { "name": "C", "maxSteps": 1 } }));
  for (field, value) in [("name", json!("")), ("maxSteps", json!(-1))] {
    let err = refused_when_read(&conn, Kind::UpdateAgent, &json!({ "id": original.id, "patch": { field: value } }));
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{field}: {err}");
    assert!(err.message.contains(&format!("patch.{field}")), "{err}");
  }
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn delete_cascades_through_sessions_to_their_logs() {
  let conn = db();
  let doomed = agent(&conn, "Doomed");
  let kept = agent(&conn, "Kept");
  for owner in [&doomed, &kept] {
    let s = session(&conn, &owner.id);
    let root = log(&conn, &s.id, None);
    log(&conn, &s.id, Some(root.id));
  }
  assert_eq!(counts(&conn), (2, 2, 4));
  assert!(cascade::delete_agent(&conn, &doomed.id).unwrap());
  assert!(!cascade::delete_agent(&conn, &doomed.id).unwrap());
  assert_eq!(counts(&conn), (1, 1, 2));
  let orphans: i64 = conn
    .query_row(
      "SELECT (SELECT count(*) FROM sessions WHERE main_agent_id NOT IN (SELECT id FROM agents)) \
            + (SELECT count(*) FROM session_logs WHERE session_id NOT IN (SELECT id FROM sessions))",
      [],
      |r| r.get(0),
    )
    .unwrap();
  assert_eq!(orphans, 0);
  assert!(agents::exists(&conn, &kept.id).unwrap());
  assert!(!agents::exists(&conn, &doomed.id).unwrap());
  assert_eq!(agents::count(&conn).unwrap(), 1);
}

#[test]
fn list_pages_in_creation_order_across_equal_timestamps() {
  let conn = db();
  let mut ids = Vec::new();
  for i in 0..12 {
    let agent_type = if i % 3 == 0 { AgentType::Codex } else { AgentType::Custom };
    let input = NewAgent {
      id: Some(format!("a{:02}", 11 - i)),
      agent_type: Some(agent_type),
      name: "n".into(),
      settings: model("m"),
      ..Default::default()
    };
    ids.push(agents::create(&conn, &input).unwrap().id);
  }
  // Two timestamps shared by six agents each, the later one first (a clock stepped back):
  // the list stays in insertion order, whatever the timestamps and the ids say.
  set_created_at(&conn, "agents", &ids[..6], "2026-01-01T00:00:00.001Z");
  set_created_at(&conn, "agents", &ids[6..], "2026-01-01T00:00:00.000Z");
  let expected = ids.clone();
  for limit in [1, 4, 5, 12, 13] {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
      let page = agents::list(&conn, Trash::Exclude, None, &PageRequest::new(Some(limit), None, after.take()).unwrap()).unwrap();
      seen.extend(page.items.into_iter().map(|a| a.id));
      match page.next_cursor {
        Some(cursor) => after = Some(Cursor::decode(&cursor).unwrap()),
        None => break,
      }
    }
    assert_eq!(seen, expected, "limit {limit}");
  }
  let codex = agents::list(&conn, Trash::Exclude, Some(AgentType::Codex), &PageRequest::default()).unwrap();
  assert_eq!(codex.items.len(), 4);
  assert!(codex.items.iter().all(|a| a.agent_type == AgentType::Codex));
  let window = agents::list(&conn, Trash::Exclude, None, &PageRequest::new(Some(3), Some(4), None).unwrap()).unwrap();
  assert_eq!(window.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), expected[4..7]);
  assert!(window.next_cursor.is_some());
  let tail = agents::list(&conn, Trash::Exclude, None, &PageRequest::new(Some(3), Some(9), None).unwrap()).unwrap();
  assert_eq!(tail.items.len(), 3);
  assert!(tail.next_cursor.is_none());
}
