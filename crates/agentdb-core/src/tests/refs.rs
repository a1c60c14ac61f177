//! References inside a batch (`{ ref: i }` for an id): a reply and its tool calls, written
//! together, and the references a batch refuses before anything runs.

use serde_json::{json, Value};

use super::batch::{run_command, store, write};
use super::support::snapshot;
use crate::command::{Command, Kind, Outcome};
use crate::error::{Error, ErrorCode};

/// Reads `operations` as the addon hands a `batch` call over.
fn read(operations: Value) -> Result<Command, Error> {
  Command::decode(Kind::Batch, &json!({ "operations": operations }).to_string())
}

fn log(session: Value, parent: Value, role: &str, kind: &str, content: &str) -> Value {
  json!({ "sessionId": session, "parentId": parent, "role": role, "type": kind, "content": content })
}

#[test]
fn a_reply_and_its_tool_calls_are_written_in_one_batch() {
  let store = store();
  let command = read(json!([
    { "op": "createAgent", "input": { "name": "A", "model": "m" } },
    { "op": "createSession", "input": { "mainAgentId": { "ref": 0 } } },
    { "op": "addLog", "input": log(json!({ "ref": 1 }), Value::Null, "agent", "message", "reply") },
    { "op": "addLogs", "inputs": [
      log(json!({ "ref": 1 }), json!({ "ref": 2 }), "agent", "action", "call 1"),
      log(json!({ "ref": 1 }), json!({ "ref": 2 }), "agent", "action", "call 2"),
    ] },
    { "op": "updateLog", "id": { "ref": 2 }, "patch": { "content": "reply, edited" } },
    { "op": "addLog", "input": log(json!({ "ref": 1 }), json!({ "ref": 4 }), "tool", "observation", "result") },
    { "op": "updateSessionStatus", "id": { "ref": 1 }, "status": "completed" },
    { "op": "updateAgent", "id": { "ref": 0 }, "patch": { "name": "B" } },
    { "op": "deleteLogs", "sessionId": { "ref": 6 } },
  ]))
  .unwrap();
  let outcomes = run_command(&store, command).unwrap();
  let (Outcome::Agent(agent), Outcome::Session(session), Outcome::Log(reply)) = (&outcomes[0], &outcomes[1], &outcomes[2]) else {
    panic!("{outcomes:?}")
  };
  assert_eq!(session.main_agent_id, agent.id);
  assert_eq!((reply.session_id.as_str(), reply.parent_id), (session.id.as_str(), None));
  let Outcome::Logs(calls) = &outcomes[3] else { panic!("{:?}", outcomes[3]) };
  assert_eq!(
    calls.iter().map(|c| (c.session_id.as_str(), c.parent_id)).collect::<Vec<_>>(),
    [(session.id.as_str(), Some(reply.id)); 2]
  );
  assert!(matches!(&outcomes[4], Outcome::Log(edited) if edited.id == reply.id));
  assert!(matches!(&outcomes[5], Outcome::Log(result) if result.parent_id == Some(reply.id)));
  assert!(matches!(&outcomes[6], Outcome::Session(s) if s.id == session.id));
  assert!(matches!(&outcomes[7], Outcome::Agent(a) if a.id == agent.id && a.name == "B"));
  assert!(matches!(outcomes[8], Outcome::Count(4)));
}

#[test]
fn a_reference_forward_to_itself_or_to_a_row_of_another_kind_is_refused_naming_the_field() {
  let agent = json!({ "op": "createAgent", "input": { "name": "A", "model": "m" } });
  let refused = |operations: Value, message: &str| {
    let err = read(operations.clone()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{operations}");
    assert!(err.message.starts_with(message), "{err}");
  };
  refused(
    json!([agent, { "op": "createSession", "input": { "mainAgentId": { "ref": 2 } } }, agent]),
    "operations[1].input.mainAgentId.ref is 2, which is not an earlier operation of the batch",
  );
  refused(
    json!([{ "op": "addLog", "input": log(json!("s"), json!({ "ref": 0 }), "agent", "message", "x") }]),
    "operations[0].input.parentId.ref is 0, which is not an earlier operation",
  );
  refused(
    json!([agent, { "op": "addLog", "input": log(json!("s"), json!({ "ref": 0 }), "agent", "message", "x") }]),
    "operations[1].input.parentId refers to operations[0] (createAgent), which does not resolve with a log",
  );
  // addLogs resolves with a list, not one row.
  let logs = json!({ "op": "addLogs", "inputs": [log(json!("s"), Value::Null, "agent", "message", "x")] });
  refused(
    json!([logs, { "op": "addLogs", "inputs": [log(json!("s"), Value::Null, "agent", "message", "x"), log(json!("s"), json!({ "ref": 0 }), "agent", "action", "y")] }]),
    "operations[1].inputs[1].parentId refers to operations[0] (addLogs)",
  );
  refused(
    json!([agent, { "op": "deleteSession", "id": { "ref": 0 } }]),
    "operations[1].id refers to operations[0] (createAgent)",
  );
  refused(json!([agent, { "op": "deleteAgent", "id": { "ref": -1 } }]), "operations[1].id.ref must be");
  refused(json!([agent, { "op": "deleteAgent", "id": { "ref": "0" } }]), "operations[1].id.ref must be a number");
  refused(json!([agent, { "op": "deleteAgent", "id": { "id": 0 } }]), "operations[1].id: unknown field `id`");
  refused(json!([agent, { "op": "deleteAgent", "id": {} }]), "operations[1].id.ref is required");
}

#[test]
fn a_batch_whose_referenced_parent_is_refused_writes_nothing() {
  let store = store();
  let command = read(json!([
    { "op": "createAgent", "input": { "id": "a", "name": "A", "model": "m" } },
    { "op": "createSession", "input": { "id": "s1", "mainAgentId": { "ref": 0 } } },
    { "op": "createSession", "input": { "id": "s2", "mainAgentId": "a" } },
    { "op": "addLog", "input": log(json!("s1"), Value::Null, "agent", "message", "reply") },
    // A parent from another session.
    { "op": "addLog", "input": log(json!({ "ref": 2 }), json!({ "ref": 3 }), "tool", "observation", "elsewhere") },
  ]))
  .unwrap();
  let before = write(&store, |conn| Ok(snapshot(conn))).unwrap();
  let err = run_command(&store, command).unwrap_err();
  assert!(err.message.starts_with("operations[4]: "), "{err}");
  assert_eq!(write(&store, |conn| Ok(snapshot(conn))).unwrap(), before);
}

#[test]
fn a_streamed_reply_and_a_fork_take_references_to_rows_of_the_same_batch() {
  let store = store();
  let command = read(json!([
    { "op": "createAgent", "input": { "name": "A", "model": "m" } },
    { "op": "createSession", "input": { "mainAgentId": { "ref": 0 } } },
    { "op": "addLog", "input": { "sessionId": { "ref": 1 }, "role": "agent", "type": "message", "content": { "text": "" }, "status": "pending" } },
    { "op": "appendLogText", "id": { "ref": 2 }, "options": { "path": "text", "delta": "Hello" } },
    { "op": "finishLog", "id": { "ref": 2 }, "options": { "status": "complete" } },
    { "op": "addLog", "input": log(json!({ "ref": 1 }), json!({ "ref": 4 }), "tool", "observation", "result") },
    { "op": "forkSession", "sessionId": { "ref": 1 }, "options": { "name": "retry" } },
    { "op": "addLog", "input": log(json!({ "ref": 6 }), Value::Null, "user", "message", "in the fork") },
    { "op": "deleteLog", "id": { "ref": 5 }, "options": { "children": "delete" } },
  ]))
  .unwrap();
  let outcomes = run_command(&store, command).unwrap();
  let (Outcome::Session(session), Outcome::Log(reply)) = (&outcomes[1], &outcomes[2]) else { panic!("{outcomes:?}") };
  assert!(matches!(&outcomes[3], Outcome::Appended(a) if a.id == reply.id));
  assert!(matches!(&outcomes[4], Outcome::Log(l) if l.id == reply.id && l.content.get() == r#"{"text":"Hello"}"#));
  let Outcome::Fork(fork) = &outcomes[6] else { panic!("{:?}", outcomes[6]) };
  assert_eq!(fork.source_session_id.as_deref(), Some(session.id.as_str()));
  assert!(matches!(&outcomes[7], Outcome::Log(l) if l.session_id == fork.session.id));
  assert!(matches!(outcomes[8], Outcome::Count(1)));
  // A reference to appendLogText's result names no log: it resolves with a status, not a row.
  let err = read(json!([
    { "op": "appendLogText", "id": 1, "options": { "path": "text", "delta": "x" } },
    { "op": "finishLog", "id": { "ref": 0 }, "options": { "status": "complete" } },
  ]))
  .unwrap_err();
  assert_eq!(err.code, ErrorCode::InvalidArgument);
  assert!(err.message.contains("operations[1].id"), "{err}");
}
