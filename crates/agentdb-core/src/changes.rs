//! The change log and the change events built on it.
//!
//! Plain SQL triggers (the `change_log` built-in migration) record every insert, update and
//! delete of the [`WATCHED`] tables in the `changes` table, in the transaction that makes
//! it, whoever writes: this library, another process, the sqlite3 shell. `seq` only grows,
//! so the rows above a number are exactly what was committed after it.
//!
//! - **Events.** While at least one watch is active ([`Feed`]), the writer reads the newest
//!   change number when it begins each group transaction, and after the commit hands the
//!   rows above it to the feed's sink as one [`ChangeEvent`], before the writes' results are
//!   delivered. Rows committed by other connections (other processes) are found the same
//!   way: at the start of the writer's next transaction, or by the writer polling
//!   `PRAGMA data_version` every [`POLL`] while it is idle; they are delivered as one event
//!   per look, before the writer's own.
//! - **Catch-up.** [`since`] returns every change above a number, or says that some were
//!   pruned ([`ChangesSince::reset`]).
//! - **Retention.** The writer keeps the newest `keep_changes` rows ([`DEFAULT_KEEP`]):
//!   each commit deletes at most [`PRUNE_STEP`] of the oldest rows beyond that.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::migrations::required;

/// The tables whose rows the change log records, each with the three triggers
/// (`changes_<table>_insert`, `_update`, `_delete`) of the migration that added it. A table
/// added to the schema is watched by adding it here and its triggers to its migration;
/// `every_watched_table_has_its_triggers` checks both.
pub const WATCHED: &[&str] = &["agents", "sessions", "session_logs", "session_forks", "session_checkpoints", "usage_records"];

/// How many change rows are kept when `open` is given no `keepChanges`.
pub const DEFAULT_KEEP: u64 = 100_000;

/// How many of the oldest rows beyond the kept ones one commit deletes at most.
pub const PRUNE_STEP: u64 = 1000;

/// How often the idle writer looks for commits of other connections while a watch is active.
pub const POLL: Duration = Duration::from_millis(50);

/// One changed row.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
  /// Its place in the change log: only grows, in commit order.
  pub seq: i64,
  /// The table: one of [`WATCHED`].
  pub table: String,
  /// `insert`, `update` or `delete`.
  pub op: String,
  /// The row's id: a string, or a log's number.
  pub id: serde_json::Value,
  /// The session of a log or fork, a session's own id; `null` for an agent.
  pub session_id: Option<String>,
}

/// What one commit changed (for rows of other connections: what they committed since the
/// last look).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
  /// The `seq` of the event's last change: pass it to `changesSince` to read what follows.
  pub seq: i64,
  /// True when the rows were committed by another connection (another process or tool).
  pub external: bool,
  /// The changed rows, in order.
  pub changes: Vec<Change>,
}

/// What `changesSince` returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesSince {
  /// The newest change number of the database (the last one handed out, even if pruned).
  pub seq: i64,
  /// True when changes after the number asked for have been pruned (or the number is newer
  /// than any this database handed out): the caller must reload everything, then go on from
  /// `seq`. `changes` is then empty.
  pub reset: bool,
  /// Every change after the number asked for, in order (those the filter keeps).
  pub changes: Vec<Change>,
}

/// Which changes a watch or a catch-up wants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
  /// Only these tables (each one of [`WATCHED`]); `None`: all of them.
  pub tables: Option<HashSet<String>>,
  /// Only the changes of this session (its own row, its logs and its fork row).
  pub session_id: Option<String>,
}

impl Filter {
  /// Checks the tables named; `what` names the option in the message.
  pub fn new(tables: Option<Vec<String>>, session_id: Option<String>, what: &str) -> Result<Filter> {
    if let Some(unknown) = tables.iter().flatten().find(|table| !WATCHED.contains(&table.as_str())) {
      return Err(Error::invalid(format!("{what}.tables: {unknown:?} is not a watched table (one of {})", WATCHED.join(", "))));
    }
    Ok(Filter { tables: tables.map(|tables| tables.into_iter().collect()), session_id })
  }

  /// Whether `change` passes.
  pub fn keeps(&self, change: &Change) -> bool {
    self.tables.as_ref().is_none_or(|tables| tables.contains(&change.table))
      && self.session_id.as_ref().is_none_or(|session| change.session_id.as_ref() == Some(session))
  }

  /// The event with only the changes that pass, or `None` when none does.
  pub fn event(&self, event: &ChangeEvent) -> Option<ChangeEvent> {
    let changes: Vec<Change> = event.changes.iter().filter(|change| self.keeps(change)).cloned().collect();
    (!changes.is_empty()).then(|| ChangeEvent { seq: event.seq, external: event.external, changes })
  }
}

/// Where events go: set by the layer above (the addon posts them to the JavaScript thread).
/// The flag says whether results of the same commit are delivered right after the event
/// (the addon then lets their delivery wake the JavaScript thread, once for both).
type Sink = Box<dyn Fn(ChangeEvent, bool) + Send + Sync>;

/// The watches of one store: how many are active, and where their events go.
#[derive(Default)]
pub struct Feed {
  watchers: AtomicUsize,
  sink: Mutex<Option<Sink>>,
}

impl Feed {
  /// Sends events to `sink` from now on.
  pub fn set_sink(&self, sink: impl Fn(ChangeEvent, bool) + Send + Sync + 'static) {
    *self.sink.lock() = Some(Box::new(sink));
  }

  /// Drops the sink, and what it holds: events are no longer built.
  pub fn clear(&self) {
    self.watchers.store(0, Ordering::SeqCst);
    self.sink.lock().take();
  }

  /// Counts a new watch; true when it is the only one.
  pub fn start(&self) -> bool {
    self.watchers.fetch_add(1, Ordering::SeqCst) == 0
  }

  /// Counts a watch stopped.
  pub fn stop(&self) {
    let _ = self.watchers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
  }

  /// Whether any watch is active.
  pub fn active(&self) -> bool {
    self.watchers.load(Ordering::SeqCst) > 0
  }

  fn send(&self, event: ChangeEvent, followed: bool) {
    if let Some(sink) = &*self.sink.lock() {
      sink(event, followed);
    }
  }
}

/// The writer's side of the change log: whether the table exists, what was delivered, and
/// how many rows to keep.
pub(crate) struct Tracker {
  keep: u64,
  /// Whether the `changes` table exists; `None` until looked up again (after exclusive work,
  /// which may have migrated, and when idle, as another process may have).
  present: Option<bool>,
  /// The last change number handed to the sink; `None` while no watch is active.
  delivered: Option<i64>,
  /// The newest change number when the writer's transaction began (while a watch is active).
  before: Option<i64>,
  /// `PRAGMA data_version` at the last look: it moves when another connection commits.
  version: Option<i64>,
}

impl Tracker {
  pub(crate) fn new(keep: u64) -> Tracker {
    Tracker { keep, present: None, delivered: None, before: None, version: None }
  }

  /// Forgets whether the table exists (the schema may have changed).
  pub(crate) fn schema_may_have_changed(&mut self) {
    self.present = None;
  }

  fn present(&mut self, conn: &Connection) -> bool {
    if self.present.is_none() {
      let found = conn
        .prepare_cached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'changes'")
        .and_then(|mut stmt| stmt.exists([]));
      self.present = Some(found.unwrap_or(false));
    }
    self.present == Some(true)
  }

  /// Right after the writer's `BEGIN`: notes the newest change number when a watch is
  /// active (the rows above it, at commit, are this transaction's).
  pub(crate) fn begin(&mut self, conn: &Connection, feed: &Feed) {
    if !feed.active() {
      self.delivered = None;
      self.before = None;
      return;
    }
    self.before = self.present(conn).then(|| latest(conn).ok()).flatten();
  }

  /// Right before the writer's `COMMIT`: deletes one step of the rows beyond those kept.
  pub(crate) fn prune(&mut self, conn: &Connection) -> Result<()> {
    if self.present(conn) {
      prune(conn, self.keep)?;
    }
    Ok(())
  }

  /// After the writer's transaction ended (committed or not): hands what other connections
  /// committed before it, then what it committed, to the feed; `followed` when the writes'
  /// results are delivered right after.
  pub(crate) fn committed(&mut self, conn: &Connection, feed: &Feed, followed: bool) {
    if let Some(before) = self.before.take() {
      self.deliver(conn, feed, Some(before), followed);
    }
  }

  /// While idle with a watch active: delivers what other connections committed since the
  /// last look, when `PRAGMA data_version` says they did. With no watch active, forgets
  /// what was delivered.
  pub(crate) fn poll(&mut self, conn: &Connection, feed: &Feed) {
    if !feed.active() {
      self.delivered = None;
      self.version = None;
      return;
    }
    let version = conn.query_row("PRAGMA data_version", [], |row| row.get::<_, i64>(0)).ok();
    if version != self.version || self.delivered.is_none() {
      self.version = version;
      self.schema_may_have_changed();
      if self.present(conn) {
        self.deliver(conn, feed, None, false);
      }
    }
  }

  /// Delivers the rows above the last delivered: those up to `before` (or all, without it)
  /// as one event of other connections, those above it as one of this writer's commit. The
  /// first look after a watch started delivers nothing older than it.
  fn deliver(&mut self, conn: &Connection, feed: &Feed, before: Option<i64>, followed: bool) {
    let delivered = match self.delivered {
      Some(delivered) => delivered,
      None => match before.map(Ok).unwrap_or_else(|| latest(conn)) {
        Ok(start) => {
          self.delivered = Some(start);
          start
        }
        Err(_) => return,
      },
    };
    let Ok(rows) = after(conn, delivered) else { return };
    let Some(last) = rows.last().map(|change| change.seq) else { return };
    self.delivered = Some(last);
    let split = before.unwrap_or(i64::MAX);
    let (external, own): (Vec<Change>, Vec<Change>) = rows.into_iter().partition(|change| change.seq <= split);
    for (external, changes) in [(true, external), (false, own)] {
      if let Some(seq) = changes.last().map(|change| change.seq) {
        feed.send(ChangeEvent { seq, external, changes }, followed);
      }
    }
  }
}

/// The newest change number handed out (0 when none was).
fn latest(conn: &Connection) -> Result<i64> {
  let seq = conn
    .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")?
    .query_row([], |row| row.get::<_, i64>(0))
    .optional()?;
  Ok(seq.unwrap_or(0))
}

/// The changes above `seq`, in order.
fn after(conn: &Connection, seq: i64) -> Result<Vec<Change>> {
  let mut stmt =
    conn.prepare_cached("SELECT seq, table_name, op, row_id, session_id FROM changes WHERE seq > ?1 ORDER BY seq")?;
  let rows = stmt.query_map([seq], |row| {
    let id = match row.get::<_, Value>(3)? {
      Value::Integer(n) => serde_json::Value::from(n),
      Value::Text(text) => serde_json::Value::from(text),
      Value::Real(x) => serde_json::Value::from(x),
      Value::Null | Value::Blob(_) => serde_json::Value::Null,
    };
    Ok(Change { seq: row.get(0)?, table: row.get(1)?, op: row.get(2)?, id, session_id: row.get(4)? })
  })?;
  Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes at most [`PRUNE_STEP`] of the oldest rows beyond the newest `keep`: those whose
/// number is both `keep` below the newest and within `PRUNE_STEP` of the oldest. One range
/// of the primary key, found by two seeks, so a commit with nothing to prune pays little.
fn prune(conn: &Connection, keep: u64) -> Result<()> {
  conn
    .prepare_cached(
      "DELETE FROM changes WHERE seq <= min((SELECT max(seq) FROM changes) - ?1, (SELECT min(seq) FROM changes) + ?2 - 1)",
    )?
    .execute(params![keep as i64, PRUNE_STEP as i64])?;
  Ok(())
}

/// Every change after `seq` that `filter` keeps, or `reset` when some were pruned.
pub fn since(conn: &Connection, seq: i64, filter: &Filter) -> Result<ChangesSince> {
  let exists = conn.prepare_cached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'changes'")?.exists([])?;
  if !exists {
    let cause = "no such table: changes";
    return Err(required::not_migrated(conn, cause).unwrap_or_else(|| Error::new(ErrorCode::SqlError, cause)));
  }
  let newest = latest(conn)?;
  let oldest: Option<i64> = conn.query_row("SELECT min(seq) FROM changes", [], |row| row.get(0))?;
  // With every row pruned, the oldest kept is the next to be handed out.
  let oldest = oldest.unwrap_or(newest + 1);
  if seq > newest || seq < oldest - 1 {
    return Ok(ChangesSince { seq: newest, reset: true, changes: Vec::new() });
  }
  let changes = after(conn, seq)?.into_iter().filter(|change| filter.keeps(change)).collect();
  Ok(ChangesSince { seq: newest, reset: false, changes })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::connection::{open_writer, Location, OpenOptions};
  use crate::migrations::migrator::{migrate, MigrateOptions};
  use crate::migrations::source::MigrationSet;

  fn migrated() -> Connection {
    let mut conn = open_writer(&Location::Memory, &OpenOptions::default()).unwrap();
    migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).unwrap();
    conn
  }

  #[test]
  fn every_watched_table_has_its_triggers() {
    let conn = migrated();
    let mut stmt = conn
      .prepare("SELECT tbl_name, name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'changes\\_%' ESCAPE '\\'")
      .unwrap();
    let mut found: Vec<(String, String)> =
      stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    found.sort();
    let mut expected: Vec<(String, String)> = WATCHED
      .iter()
      .flat_map(|table| ["delete", "insert", "update"].map(|op| (table.to_string(), format!("changes_{table}_{op}"))))
      .collect();
    expected.sort();
    assert_eq!(found, expected);
  }

  #[test]
  fn triggers_record_writes_and_since_replays_them_or_resets() {
    let conn = migrated();
    conn
      .execute_batch(
        "INSERT INTO agents (id, name, model) VALUES ('a1', 'Reviewer', 'm');
         INSERT INTO sessions (id, main_agent_id) VALUES ('s1', 'a1');
         INSERT INTO session_logs (session_id, role, type, content) VALUES ('s1', 'user', 'message', '{}');
         UPDATE session_logs SET content = '{\"a\":1}';
         DELETE FROM session_logs;",
      )
      .unwrap();
    let all = since(&conn, 0, &Filter::default()).unwrap();
    let ops: Vec<(&str, &str)> = all.changes.iter().map(|c| (c.table.as_str(), c.op.as_str())).collect();
    // The log's insert bumps its session's activity, which is not recorded as a change.
    assert_eq!(
      ops,
      [
        ("agents", "insert"),
        ("sessions", "insert"),
        ("session_logs", "insert"),
        ("session_logs", "update"),
        ("session_logs", "delete")
      ]
    );
    assert_eq!((all.seq, all.reset), (5, false));
    assert_eq!(all.changes[2].id, serde_json::json!(1));
    assert_eq!(all.changes[2].session_id.as_deref(), Some("s1"));
    let logs = Filter::new(Some(vec!["session_logs".into()]), Some("s1".into()), "options").unwrap();
    assert_eq!(since(&conn, 3, &logs).unwrap().changes.len(), 2);
    assert_eq!(since(&conn, 5, &logs).unwrap(), ChangesSince { seq: 5, reset: false, changes: vec![] });
    assert!(since(&conn, 6, &logs).unwrap().reset, "a number newer than any handed out");

    prune(&conn, 2).unwrap();
    assert!(!since(&conn, 3, &Filter::default()).unwrap().reset);
    let pruned = since(&conn, 2, &Filter::default()).unwrap();
    assert_eq!(pruned, ChangesSince { seq: 5, reset: true, changes: vec![] });
  }

  #[test]
  fn a_prune_deletes_at_most_one_step_of_the_oldest_rows_beyond_those_kept() {
    let conn = migrated();
    let rows = PRUNE_STEP + 500;
    conn
      .execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO changes (table_name, op, row_id) SELECT 'agents', 'insert', 'a' || i FROM n",
        [rows as i64],
      )
      .unwrap();
    let kept = |conn: &Connection| -> (i64, i64, i64) {
      conn.query_row("SELECT count(*), min(seq), max(seq) FROM changes", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
    };
    prune(&conn, 10).unwrap();
    assert_eq!(kept(&conn), (500, PRUNE_STEP as i64 + 1, rows as i64), "one step, from the oldest");
    prune(&conn, 10).unwrap();
    assert_eq!(kept(&conn), (10, rows as i64 - 9, rows as i64), "the newest 10 are kept");
    prune(&conn, 10).unwrap();
    assert_eq!(kept(&conn).0, 10, "nothing beyond those kept is left to delete");
  }

  /// Inserts agent `id` with raw SQL, as a grouped write.
  fn add_agent(store: &crate::store::Store, id: &str, tx: &std::sync::mpsc::Sender<Result<usize>>) {
    let (id, tx) = (id.to_string(), tx.clone());
    store.write(
      move || Ok(move |conn: &Connection| Ok(conn.execute("INSERT INTO agents (id, name, model) VALUES (?1, 'n', 'm')", [&id])?)),
      move |outcome| tx.send(outcome).unwrap(),
    );
  }

  #[test]
  fn one_event_per_commit_none_for_a_rollback_and_events_from_other_connections() {
    use crate::store::Store;
    use std::sync::mpsc;

    let dir = crate::test_support::TempDir::new("changes-feed");
    let path = dir.join("a.db");
    let store = Store::open(Location::File(path.clone()), OpenOptions::default()).unwrap();
    let (done, migrated) = mpsc::channel();
    store.exclusive(
      |conn| migrate(conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).map(|_| ()).map_err(|f| f.error),
      move |outcome| done.send(outcome).unwrap(),
    );
    migrated.recv().unwrap().unwrap();
    let (events, received) = mpsc::channel();
    store.feed().set_sink(move |event, _| events.send(event).unwrap());
    store.watch_started();

    // The writer is held while the writes are queued, so that they share one transaction.
    let (open_gate, gate) = mpsc::channel::<()>();
    store.exclusive(
      move |_| {
        let _ = gate.recv();
        Ok(())
      },
      |_: Result<()>| {},
    );
    let (tx, results) = mpsc::channel();
    for id in ["a1", "a2", "a1", "a3"] {
      add_agent(&store, id, &tx);
    }
    open_gate.send(()).unwrap();
    let outcomes: Vec<bool> = (0..4).map(|_| results.recv().unwrap().is_ok()).collect();
    assert_eq!(outcomes, [true, true, false, true]);
    let event = received.recv().unwrap();
    let ids: Vec<_> = event.changes.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, [serde_json::json!("a1"), serde_json::json!("a2"), serde_json::json!("a3")]);
    assert!(!event.external);

    // A lone write that fails commits nothing and sends nothing: the next event is the next
    // write's.
    add_agent(&store, "a1", &tx);
    assert!(results.recv().unwrap().is_err());
    add_agent(&store, "a4", &tx);
    results.recv().unwrap().unwrap();
    let next = received.recv().unwrap();
    assert_eq!((next.changes.len(), next.changes[0].id.clone()), (1, serde_json::json!("a4")));
    assert_eq!(next.seq, event.seq + 1);

    // Another connection's commit arrives while the writer is idle.
    let other = Connection::open(&path).unwrap();
    other
      .execute_batch("BEGIN; INSERT INTO agents (id, name, model) VALUES ('b1', 'n', 'm'), ('b2', 'n', 'm'); COMMIT;")
      .unwrap();
    let external = received.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    assert!(external.external);
    assert_eq!(external.changes.len(), 2);
    assert_eq!(external.seq, next.seq + 2);
  }

  #[test]
  fn unknown_tables_are_refused() {
    let err = Filter::new(Some(vec!["migrations".into()]), None, "options").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("options.tables"), "{err}");
  }
}
