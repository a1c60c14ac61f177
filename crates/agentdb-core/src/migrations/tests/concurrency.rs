//! Several connections (as several processes would have) migrating one new file at once.

use std::sync::{Arc, Barrier};

use crate::migrations::migrator::{self, MigrateOptions, Progress};
use crate::migrations::source::{Migration, MigrationSet};

use super::support::*;

/// 003 creates `runs`; 004 to 008 each add a row to it (and a table), so a migration that
/// ran twice leaves two rows.
fn counting_migrations() -> Vec<Migration> {
  let mut added = vec![app("003", &["CREATE TABLE runs (id TEXT NOT NULL)"], Some(&["DROP TABLE runs"]))];
  for n in 4..=8 {
    let id = format!("{n:03}");
    added.push(app(
      &id,
      &[&format!("INSERT INTO runs VALUES ('{id}'); CREATE TABLE t{n} (x)")],
      Some(&[&format!("DROP TABLE t{n}")]),
    ));
  }
  added
}

#[test]
fn connections_migrating_one_new_file_at_once_apply_each_migration_once() {
  const ROUNDS: usize = 8;
  const CONNECTIONS: usize = 3;
  let set = Arc::new(set_with(counting_migrations()));
  for round in 0..ROUNDS {
    let dir = TempDir::new("race");
    let path = dir.join("race.db");
    let barrier = Arc::new(Barrier::new(CONNECTIONS));
    let workers: Vec<_> = (0..CONNECTIONS)
      .map(|_| {
        let (path, barrier, set) = (path.clone(), Arc::clone(&barrier), Arc::clone(&set));
        std::thread::spawn(move || {
          barrier.wait();
          let mut conn = open(&path);
          let mut events = Vec::new();
          let results = migrator::migrate(&mut conn, &set, &MigrateOptions::default(), &mut |event| {
            events.push(match event {
              Progress::Started { migration, .. } => format!("start {}", migration.id),
              Progress::Finished { result, .. } => format!("end {}", result.migration.id),
              Progress::Indexing { migration, .. } => format!("indexing {}", migration.id),
            })
          })
          .unwrap();
          let paired: Vec<String> =
            results.iter().flat_map(|r| [format!("start {}", r.migration.id), format!("end {}", r.migration.id)]).collect();
          assert_eq!(events, paired, "one start and one end for each migration this connection applied");
          results.len()
        })
      })
      .collect();
    let applied: usize = workers.into_iter().map(|w| w.join().expect("a connection failed to migrate")).sum();
    let conn = open(&path);
    let expected = builtins_then(&["app 003", "app 004", "app 005", "app 006", "app 007", "app 008"]);
    assert_eq!(applied, expected.len(), "round {round}: the connections applied every migration once between them");
    assert_eq!(applied_keys(&conn), expected, "round {round}");
    let mut runs: Vec<String> =
      conn.prepare("SELECT id FROM runs ORDER BY id").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    runs.dedup();
    let count: i64 = conn.query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!((runs.len(), count), (5, 5), "round {round}: each of 004..008 ran exactly once");
    let mut reference = memory();
    migrate_all(&mut reference, &MigrationSet::clone(&set));
    assert_eq!(app_schema(&conn), app_schema(&reference), "round {round}");
  }
}
