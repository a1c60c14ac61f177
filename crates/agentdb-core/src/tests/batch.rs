//! Atomic batches, run the way the addon runs them: one write of the store's writer.

use std::sync::mpsc::channel;

use serde_json::json;

use super::support::{agent, counts, model, new_log, session, snapshot};
use crate::agents::NewAgent;
use crate::command::{Command, Outcome};
use crate::connection::{Location, OpenOptions};
use crate::error::{ErrorCode, Result};
use crate::migrations::migrator::{migrate, MigrateOptions};
use crate::migrations::source::MigrationSet;
use crate::model::SessionStatus;
use crate::sessions::{self, NewSession};
use crate::sql::Params;
use crate::store::Store;

pub(super) fn store() -> Store {
  let store = Store::open(Location::Memory, OpenOptions::default()).unwrap();
  let (tx, rx) = channel();
  store.exclusive(
    |conn| migrate(conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).map_err(|f| f.error),
    move |r| tx.send(r.map(|_| ())).unwrap(),
  );
  rx.recv().unwrap().unwrap();
  store
}

/// Runs `work` as one write of the store and waits for its result.
pub(super) fn write<T: Send + 'static>(
  store: &Store,
  work: impl FnMut(&rusqlite::Connection) -> Result<T> + Send + 'static,
) -> Result<T> {
  let (tx, rx) = channel();
  store.write(move || Ok(work), move |r| tx.send(r).unwrap());
  rx.recv().unwrap()
}

fn run(store: &Store, operations: Vec<Command>) -> Result<Vec<Outcome>> {
  run_command(store, Command::Batch(operations.into_iter().map(Into::into).collect()))
}

/// Runs the batch `batch` as one write of the store and returns its operations' outcomes.
pub(super) fn run_command(store: &Store, batch: Command) -> Result<Vec<Outcome>> {
  write(store, move |conn| match batch.run(conn)? {
    Outcome::Batch(outcomes) => Ok(outcomes),
    other => panic!("a batch gave {other:?}"),
  })
}

#[test]
fn a_session_and_its_first_message_are_created_together() {
  let store = store();
  let agent_id = write(&store, |conn| Ok(agent(conn, "A").id)).unwrap();
  let operations = vec![
    Command::CreateSession(NewSession {
      id: Some("s1".into()),
      main_agent_id: agent_id.clone(),
      status: Some(SessionStatus::Running),
      ..Default::default()
    }),
    Command::AddLog(new_log("s1", None, json!({ "text": "first" }))),
  ];
  let outcomes = run(&store, operations).unwrap();
  assert!(matches!(&outcomes[0], Outcome::Session(s) if s.id == "s1" && s.status == SessionStatus::Running));
  assert!(matches!(&outcomes[1], Outcome::Log(l) if l.session_id == "s1"));
  assert_eq!(write(&store, |conn| Ok(counts(conn))).unwrap(), (1, 1, 1));
}

#[test]
fn a_failing_operation_undoes_the_ones_before_it() {
  let store = store();
  let (agent_id, session_id) = write(&store, |conn| {
    let a = agent(conn, "A");
    Ok((a.id.clone(), session(conn, &a.id).id))
  })
  .unwrap();
  let before = write(&store, |conn| Ok(snapshot(conn))).unwrap();
  // Completing a session and appending its final log, where the log is refused.
  let operations = vec![
    Command::CreateAgent(NewAgent { id: Some("fresh".into()), name: "n".into(), settings: model("m"), ..Default::default() }),
    Command::UpdateSessionStatus(session_id.clone(), SessionStatus::Completed),
    Command::AddLogs(vec![new_log(&session_id, None, json!("ok")), new_log(&session_id, Some(i64::MAX), json!("bad parent"))]),
  ];
  let err = run(&store, operations).unwrap_err();
  assert_eq!(err.code, ErrorCode::Constraint);
  assert!(err.message.starts_with("operations[2]: logs[1]"), "{err}");
  assert_eq!(write(&store, |conn| Ok(snapshot(conn))).unwrap(), before);
  let failing_execute = vec![
    Command::DeleteSession(session_id.clone(), false),
    Command::Execute(
      "INSERT INTO agents (id, name, model) VALUES (?, 'n', 'm')".into(),
      Params::Positional(vec![agent_id.clone().into()]),
    ),
  ];
  assert_eq!(run(&store, failing_execute).unwrap_err().code, ErrorCode::AlreadyExists);
  assert_eq!(write(&store, |conn| Ok(snapshot(conn))).unwrap(), before);
  // The same completion with a good log goes through whole.
  let operations = vec![
    Command::UpdateSessionStatus(session_id.clone(), SessionStatus::Completed),
    Command::AddLog(new_log(&session_id, None, json!("done"))),
    Command::DeleteLogs("nothing-here".into()),
  ];
  let outcomes = run(&store, operations).unwrap();
  assert!(matches!(outcomes[2], Outcome::Count(0)));
  let status = write(&store, move |conn| Ok(sessions::get(conn, &session_id)?.unwrap().status)).unwrap();
  assert_eq!(status, SessionStatus::Completed);
  assert_eq!(write(&store, |conn| Ok(counts(conn))).unwrap(), (1, 1, 1));
}

#[test]
fn writes_queued_together_are_not_undone_by_a_failing_batch() {
  let store = store();
  let agent_id = write(&store, |conn| Ok(agent(conn, "A").id)).unwrap();
  // Queue several writes at once so the writer groups them into one transaction.
  let (tx, rx) = channel();
  for i in 0..6 {
    let tx = tx.clone();
    let operations = if i % 2 == 0 {
      vec![Command::CreateSession(NewSession {
        id: Some(format!("ok{i}")),
        main_agent_id: agent_id.clone(),
        ..Default::default()
      })]
    } else {
      vec![
        Command::CreateSession(NewSession { id: Some(format!("bad{i}")), main_agent_id: agent_id.clone(), ..Default::default() }),
        Command::CreateSession(NewSession { main_agent_id: "ghost".into(), ..Default::default() }),
      ]
    };
    let command = Command::Batch(operations.into_iter().map(Into::into).collect());
    store.write(move || Ok(move |conn: &rusqlite::Connection| command.run(conn)), move |r| tx.send((i, r.map(|_| ()))).unwrap());
  }
  drop(tx);
  let mut results: Vec<_> = rx.iter().collect();
  results.sort_by_key(|(i, _)| *i);
  for (i, result) in results {
    assert_eq!(result.is_ok(), i % 2 == 0, "write {i}: {result:?}");
  }
  let ids: Vec<String> = write(&store, |conn| {
    let mut stmt = conn.prepare("SELECT id FROM sessions ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids)
  })
  .unwrap();
  assert_eq!(ids, ["ok0", "ok2", "ok4"]);
}
