//! The TypeScript typings spell out lists that the core defines: the error codes, the
//! enumerations, the batch operations and their arguments, and the settings. Each is checked
//! here against the core's own list, so the two cannot drift apart.

use agentdb_core::command::Kind;
use agentdb_core::durability::Durability;
use agentdb_core::error::ErrorCode;
use agentdb_core::migrations::validation::IssueCode;
use agentdb_core::model::{AgentType, LogChildren, LogRole, LogStatus, LogType, PermissionMode, SessionStatus};
use agentdb_core::settings;
use agentdb_core::store::NotCheckpointed;

/// The hand-written part of `index.d.ts`, which `napi build` copies in front of the
/// generated declarations.
fn header() -> String {
  let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../typings/header.d.ts");
  std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text of the declaration `export type NAME = …`, up to the next declaration.
fn declaration<'a>(header: &'a str, name: &str) -> &'a str {
  let start = header.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no `export type {name}` in the typings"));
  let rest = &header[start..];
  let end = rest[1..].find("\n/**").or_else(|| rest[1..].find("\nexport ")).map_or(rest.len(), |i| i + 1);
  &rest[..end]
}

/// Every single-quoted string of `text`, in order.
fn quoted(text: &str) -> Vec<String> {
  text.split('\'').skip(1).step_by(2).map(str::to_string).collect()
}

fn union(name: &str) -> Vec<String> {
  quoted(declaration(&header(), name))
}

#[test]
fn the_error_code_union_is_the_core_s_list_of_codes() {
  let codes: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
  assert_eq!(union("ErrorCode"), codes);
}

#[test]
fn the_enumerations_are_the_core_s_strings() {
  let expect = |name: &str, all: &[&str]| assert_eq!(union(name), all, "{name}");
  expect("AgentType", AgentType::ALL);
  expect("CloseReason", &NotCheckpointed::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>());
  expect("PermissionMode", PermissionMode::ALL);
  expect("SessionStatus", SessionStatus::ALL);
  expect("LogRole", LogRole::ALL);
  expect("LogType", LogType::ALL);
  expect("Durability", Durability::ALL);
  expect("LogChildren", LogChildren::ALL);
  expect("LogStatus", LogStatus::ALL);
  let finished: Vec<&str> = LogStatus::FINISHED.iter().map(|s| s.as_str()).collect();
  expect("FinishedLogStatus", &finished);
}

#[test]
fn batch_operations_are_the_commands_with_their_arguments() {
  let header = header();
  let text = declaration(&header, "BatchOperation");
  let typed: Vec<(String, Vec<String>)> = text
    .split("| {")
    .skip(1)
    .map(|variant| {
      let body = &variant[..variant.find('}').expect("an object type")];
      let mut fields = body.split(';').map(str::trim).filter(|f| !f.is_empty());
      let op = quoted(fields.next().expect("the op field")).remove(0);
      let args = fields.map(|f| f[..f.find(':').expect("a typed field")].trim_end_matches('?').to_string()).collect();
      (op, args)
    })
    .collect();
  let core: Vec<(String, Vec<String>)> = Kind::all()
    .filter(|kind| *kind != Kind::Batch)
    .map(|kind| (kind.name().to_string(), kind.args().iter().map(|a| a.to_string()).collect()))
    .collect();
  assert_eq!(typed, core);
}

#[test]
fn agent_and_session_inputs_declare_every_setting() {
  let header = header();
  for interface in ["Agent", "AgentInput", "AgentPatch", "SessionOverrides", "Session", "EffectiveConfig"] {
    // `export interface Agent {` or, with type parameters, `export interface Agent<TConfig = …> {`.
    let start = [" ", "<"]
      .iter()
      .find_map(|after| header.find(&format!("export interface {interface}{after}")))
      .unwrap_or_else(|| panic!("no `export interface {interface}` in the typings"));
    let body = &header[start..start + header[start..].find("\n}").expect("the interface's end")];
    for name in settings::names() {
      let declared = body.lines().any(|line| {
        let line = line.trim();
        line.starts_with(&format!("{name}:")) || line.starts_with(&format!("{name}?:"))
      });
      assert!(declared, "{interface} does not declare the setting `{name}`");
    }
  }
}

#[test]
fn validation_issue_codes_are_the_engine_s() {
  let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../index.d.ts");
  let typings = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
  let start = typings.find("export interface ValidationIssue ").expect("ValidationIssue in index.d.ts");
  let body = &typings[start..start + typings[start..].find("\n}").expect("its end")];
  let line = body.lines().find(|l| l.trim_start().starts_with("code:")).expect("a code field");
  let codes: Vec<&str> = IssueCode::ALL.iter().map(|c| c.as_str()).collect();
  assert_eq!(quoted(line), codes);
}
