//! Agents: defaults, partial updates, listing with both kinds of paging, delete, count.

use serde_json::{json, Map};

use super::support::{agent, code, counts, db, log, session, set_created_at, snapshot};
use crate::agents::{self, AgentPatch, NewAgent};
use crate::error::ErrorCode;
use crate::model::{AgentType, PermissionMode};
use crate::page::{Cursor, PageRequest};

#[test]
fn create_fills_in_the_documented_defaults() {
  let conn = db();
  let a = agent(&conn, "Reviewer");
  assert_eq!(a.id.len(), 36, "{}", a.id);
  assert_eq!((a.agent_type, a.permission_mode, a.max_steps), (AgentType::Custom, PermissionMode::ReadOnly, 10));
  for list in [&a.built_in_tools, &a.mcps, &a.knowledges, &a.accessible_paths] {
    assert_eq!(list.get(), "[]");
  }
  assert_eq!(a.configuration.get(), "{}");
  assert_eq!((&a.description, &a.avatar, &a.instructions, &a.plan_model, &a.small_model), (&None, &None, &None, &None, &None));
  assert_eq!(a.created_at, a.updated_at);
  assert_ne!(agent(&conn, "Other").id, a.id);
}

#[test]
fn create_stores_every_given_field() {
  let conn = db();
  let mut configuration = Map::new();
  configuration.insert("temperature".into(), json!(0.2));
  let input = NewAgent {
    id: Some("agent-1".into()),
    agent_type: Some(AgentType::ClaudeCode),
    name: "Coder".into(),
    description: Some("writes code".into()),
    avatar: Some("🤖".into()),
    instructions: Some("be brief".into()),
    model: "big".into(),
    plan_model: Some("plan".into()),
    small_model: Some("small".into()),
    built_in_tools: Some(vec!["file_search".into()]),
    mcps: Some(vec!["mcp-a".into(), "mcp-b".into()]),
    knowledges: Some(vec!["kb".into()]),
    configuration: Some(configuration),
    accessible_paths: Some(vec!["/src".into()]),
    permission_mode: Some(PermissionMode::AcceptEdits),
    max_steps: Some(42),
  };
  let a = agents::create(&conn, &input).unwrap();
  assert_eq!(serde_json::to_value(&a).unwrap()["builtInTools"], json!(["file_search"]));
  let read = agents::get(&conn, "agent-1").unwrap().unwrap();
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
fn create_refuses_bad_fields_and_writes_nothing() {
  let conn = db();
  agent(&conn, "Existing");
  let before = snapshot(&conn);
  let valid = NewAgent { name: "n".into(), model: "m".into(), ..Default::default() };
  let cases = [
    NewAgent { name: "  ".into(), ..valid.clone() },
    NewAgent { model: String::new(), ..valid.clone() },
    NewAgent { max_steps: Some(0), ..valid.clone() },
    NewAgent { max_steps: Some(agents::MAX_STEPS_LIMIT + 1), ..valid.clone() },
    NewAgent { id: Some(String::new()), ..valid.clone() },
  ];
  for input in cases {
    assert_eq!(code(agents::create(&conn, &input)), ErrorCode::InvalidArgument, "{input:?}");
  }
  assert_eq!(snapshot(&conn), before);
}

#[test]
fn update_changes_only_the_given_fields_and_moves_updated_at() {
  let conn = db();
  let input = NewAgent {
    name: "A".into(),
    model: "m".into(),
    description: Some("d".into()),
    plan_model: Some("p".into()),
    ..Default::default()
  };
  let original = agents::create(&conn, &input).unwrap();
  let patch = AgentPatch { name: Some("B".into()), mcps: Some(vec!["x".into()]), ..Default::default() };
  let updated = agents::update(&conn, &original.id, &patch).unwrap();
  assert_eq!((updated.name.as_str(), updated.mcps.get()), ("B", r#"["x"]"#));
  assert_eq!(
    (updated.description.as_deref(), updated.plan_model.as_deref(), updated.model.as_str()),
    (Some("d"), Some("p"), "m")
  );
  assert_eq!(updated.created_at, original.created_at);
  assert!(updated.updated_at > original.updated_at, "{} > {}", updated.updated_at, original.updated_at);
  // Some(None) clears a nullable field; every update moves updated_at, even back to back.
  let cleared = agents::update(&conn, &original.id, &AgentPatch { description: Some(None), ..Default::default() }).unwrap();
  assert_eq!((cleared.description, cleared.plan_model.as_deref()), (None, Some("p")));
  let mut last = cleared.updated_at;
  for steps in 1..=5 {
    let next = agents::update(&conn, &original.id, &AgentPatch { max_steps: Some(steps), ..Default::default() }).unwrap();
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
  assert_eq!(
    code(agents::update(&conn, &original.id, &AgentPatch { name: Some(String::new()), ..Default::default() })),
    ErrorCode::InvalidArgument
  );
  assert_eq!(
    code(agents::update(&conn, &original.id, &AgentPatch { max_steps: Some(-1), ..Default::default() })),
    ErrorCode::InvalidArgument
  );
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
  assert!(agents::delete(&conn, &doomed.id).unwrap());
  assert!(!agents::delete(&conn, &doomed.id).unwrap());
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
      model: "m".into(),
      ..Default::default()
    };
    ids.push(agents::create(&conn, &input).unwrap().id);
  }
  // Two timestamps shared by six agents each: order falls back to the id.
  set_created_at(&conn, "agents", &ids[..6], "2026-01-01T00:00:00.001Z");
  set_created_at(&conn, "agents", &ids[6..], "2026-01-01T00:00:00.000Z");
  let mut expected: Vec<String> = ids[6..].to_vec();
  expected.sort();
  let mut later: Vec<String> = ids[..6].to_vec();
  later.sort();
  expected.extend(later);
  for limit in [1, 4, 5, 12, 13] {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
      let page = agents::list(&conn, None, &PageRequest::new(Some(limit), None, after.take()).unwrap()).unwrap();
      seen.extend(page.items.into_iter().map(|a| a.id));
      match page.next_cursor {
        Some(cursor) => after = Some(Cursor::decode(&cursor, "agents").unwrap()),
        None => break,
      }
    }
    assert_eq!(seen, expected, "limit {limit}");
  }
  let codex = agents::list(&conn, Some(AgentType::Codex), &PageRequest::default()).unwrap();
  assert_eq!(codex.items.len(), 4);
  assert!(codex.items.iter().all(|a| a.agent_type == AgentType::Codex));
  let window = agents::list(&conn, None, &PageRequest::new(Some(3), Some(4), None).unwrap()).unwrap();
  assert_eq!(window.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), expected[4..7]);
  assert!(window.next_cursor.is_some());
  let tail = agents::list(&conn, None, &PageRequest::new(Some(3), Some(9), None).unwrap()).unwrap();
  assert_eq!(tail.items.len(), 3);
  assert!(tail.next_cursor.is_none());
}
