//! Power cuts, simulated: the store's real write path runs on the power-cut VFS
//! ([`super::power_cut_vfs`]) through many commits, cut at random instants (seeded); each
//! cut's surviving files are rebuilt under every kind of [`Loss`] and opened again with the
//! real code. Whatever the durability, the file must open, pass `PRAGMA integrity_check` and
//! `PRAGMA foreign_key_check`, take the built-in migrations, and hold every write whole or
//! not at all. With `full`, every write acknowledged before the cut must be there.
//!
//! The VFS passes `xShm*` through to the real VFS: the store's writer and readers share the
//! WAL index exactly as in production, and a cut never includes the `-shm` file, as a power
//! cut loses shared memory. A cut is taken without stopping the run (SQLite's own crash tests
//! stop the process at the cut; here later cuts of the same run come from the same record),
//! and a write counts as acknowledged before a cut when its result was delivered before the
//! change the cut came before.
//!
//! The test prints its counts (`cargo test -p agentdb-core power_cut -- --nocapture`);
//! docs/reliability.md quotes them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;

use serde_json::json;

use super::power_cut_vfs::{Cut, Loss, PowerCutVfs};
use super::support::{model, new_log};
use crate::agents::NewAgent;
use crate::command::{Command, Operation};
use crate::connection::{open_writer, Location, OpenOptions};
use crate::durability::Durability;
use crate::maintenance::integrity_check;
use crate::migrations::migrator::{migrate, MigrateOptions};
use crate::migrations::source::MigrationSet;
use crate::sessions::NewSession;
use crate::store::{CloseOptions, Store};
use crate::test_support::TempDir;

/// Seeds of the runs made for each durability.
const SEEDS: [u64; 3] = [1, 2, 3];
/// Threads appending at once, each awaiting each of its writes.
const WRITERS: usize = 4;
/// Writes each thread makes per run.
const WRITES_PER_WRITER: usize = 60;
/// On average one change in this many is preceded by a cut.
const CUT_EVERY: u64 = 30;

/// splitmix64: small, seedable, good enough to pick cut points and losses.
struct Random(u64);

impl Random {
  fn next(&mut self) -> u64 {
    self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = self.0;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
  }
}

/// One write the run made.
#[derive(Clone, Debug)]
struct Write {
  /// The logs it appends, each with `{"write": id, "part": n}` as content.
  logs: usize,
  /// The session a batch write creates with its logs, if it is one.
  session: Option<String>,
  /// How many changes the VFS had applied when its result was delivered.
  acknowledged_at: u64,
}

/// What the cuts of one durability came to.
#[derive(Debug, Default)]
struct Tally {
  /// Cuts taken.
  cuts: usize,
  /// Surviving images checked: one per cut and kind of loss.
  survivors: usize,
  /// Transactions the store committed.
  commits: u64,
  /// Writes acknowledged in all.
  writes: usize,
  /// Per survivor, the writes acknowledged before its cut, summed.
  acknowledged_before_cuts: usize,
  /// By kind of loss: acknowledged writes missing from the survivors (summed), and how many
  /// survivors missed at least one.
  lost: HashMap<&'static str, (usize, usize)>,
}

fn loss_name(loss: Loss) -> &'static str {
  match loss {
    Loss::AllUnsynced => "all unsynced lost",
    Loss::RandomSectors => "random sectors kept",
    Loss::TornLast => "last write torn",
  }
}

/// Runs the workload on a store opened through the power-cut VFS, and returns its writes by
/// id, the cuts and how many transactions committed.
fn run(durability: Durability, seed: u64) -> (HashMap<u64, Write>, Vec<Cut>, u64) {
  let dir = TempDir::new(&format!("power-cut-{seed}"));
  let armed = Arc::new(AtomicBool::new(false));
  let mut random = Random(seed);
  let plan_armed = Arc::clone(&armed);
  let vfs = Arc::new(PowerCutVfs::register(Box::new(move |_| {
    plan_armed.load(Ordering::SeqCst) && random.next().is_multiple_of(CUT_EVERY)
  })));
  let options = OpenOptions { durability, vfs: Some(vfs.name().to_string()), readers: 2, ..OpenOptions::default() };
  let store = Store::open(Location::File(dir.join("a.db")), options).unwrap();
  let commits = Arc::new(AtomicU64::new(0));
  let counted = Arc::clone(&commits);
  let (tx, rx) = channel();
  store.exclusive(
    move |conn| {
      migrate(conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {}).map_err(|f| f.error)?;
      conn.commit_hook(Some(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        false
      }))?;
      Ok(())
    },
    move |r| tx.send(r).unwrap(),
  );
  rx.recv().unwrap().unwrap();
  let agent = NewAgent { id: Some("agent".into()), name: "a".into(), settings: model("m"), ..Default::default() };
  let mut setup = vec![Command::CreateAgent(agent)];
  for writer in 0..WRITERS {
    setup.push(Command::CreateSession(NewSession {
      id: Some(format!("s{writer}")),
      main_agent_id: "agent".into(),
      ..Default::default()
    }));
  }
  write(&store, &vfs, Command::Batch(setup.into_iter().map(Operation::from).collect()));
  armed.store(true, Ordering::SeqCst);

  let store = Arc::new(store);
  let threads: Vec<_> = (0..WRITERS)
    .map(|writer| {
      let (store, vfs) = (Arc::clone(&store), Arc::clone(&vfs));
      std::thread::spawn(move || {
        let mut random = Random(seed * 1000 + writer as u64);
        let mut writes = Vec::new();
        for n in 0..WRITES_PER_WRITER {
          let id = (writer * WRITES_PER_WRITER + n) as u64;
          let batch = random.next().is_multiple_of(4);
          let (session, logs) =
            if batch { (format!("b{id}"), 2) } else { (format!("s{writer}"), 1 + (random.next() % 3) as usize) };
          let entries = (0..logs).map(|part| new_log(&session, None, json!({ "write": id, "part": part }))).collect();
          let command = if batch {
            let created = NewSession { id: Some(session.clone()), main_agent_id: "agent".into(), ..Default::default() };
            Command::Batch(vec![Command::CreateSession(created).into(), Command::AddLogs(entries).into()])
          } else {
            Command::AddLogs(entries)
          };
          let acknowledged_at = write(&store, &vfs, command);
          writes.push((id, Write { logs, session: batch.then_some(session), acknowledged_at }));
        }
        writes
      })
    })
    .collect();
  let writes = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
  let store = Arc::into_inner(store).expect("the writers are done");
  let (tx, rx) = channel();
  store.close(CloseOptions::default(), move |_| tx.send(()).unwrap());
  rx.recv().unwrap();
  let cuts = vfs.take_cuts();
  (writes, cuts, commits.load(Ordering::SeqCst))
}

/// Runs `command` as one write of the store, waits until it is acknowledged, and returns how
/// many changes the VFS had applied when its result was delivered.
fn write(store: &Store, vfs: &Arc<PowerCutVfs>, command: Command) -> u64 {
  let (tx, rx) = channel();
  let vfs = Arc::clone(vfs);
  store
    .write(move || Ok(move |conn: &rusqlite::Connection| command.run(conn)), move |r| tx.send(r.map(|_| vfs.applied())).unwrap());
  rx.recv().unwrap().unwrap()
}

/// Opens the surviving files in `dir` with the real code, checks them, and returns the ids
/// of the writes they hold (each whole).
fn check_survivor(dir: &std::path::Path, writes: &HashMap<u64, Write>, what: &str) -> HashSet<u64> {
  let mut conn =
    open_writer(&Location::File(dir.join("a.db")), &OpenOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
  let report = integrity_check(&conn, true).unwrap();
  assert!(report.ok, "{what}: {report:?}");
  migrate(&mut conn, &MigrationSet::builtin(), &MigrateOptions::default(), &mut |_| {})
    .unwrap_or_else(|f| panic!("{what}: {f:?}"));
  let mut parts: HashMap<u64, usize> = HashMap::new();
  let mut stmt = conn.prepare("SELECT json_extract(content, '$.write'), count(*) FROM session_logs GROUP BY 1").unwrap();
  for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as usize))).unwrap() {
    let (id, count) = row.unwrap();
    parts.insert(id, count);
  }
  let sessions: HashSet<String> =
    conn.prepare("SELECT id FROM sessions").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
  for (id, write) in writes {
    let count = parts.get(id).copied().unwrap_or(0);
    assert!(count == 0 || count == write.logs, "{what}: write {id} is half there: {count} of {} logs", write.logs);
    if let Some(session) = &write.session {
      assert_eq!(sessions.contains(session), count > 0, "{what}: batch {id} is half there (session {session}, {count} logs)");
    }
  }
  assert!(parts.keys().all(|id| writes.contains_key(id)), "{what}: logs of writes never made");
  parts.into_keys().collect()
}

fn tally(durability: Durability) -> Tally {
  let mut tally = Tally::default();
  for seed in SEEDS {
    let (writes, cuts, commits) = run(durability, seed);
    tally.commits += commits;
    tally.writes += writes.len();
    tally.cuts += cuts.len();
    let mut random = Random(seed ^ 0xC0FFEE);
    for (n, cut) in cuts.iter().enumerate() {
      let acknowledged: Vec<u64> = writes.iter().filter(|(_, w)| w.acknowledged_at <= cut.applied).map(|(id, _)| *id).collect();
      for loss in Loss::ALL {
        let what =
          format!("{durability:?}, seed {seed}, cut {n} at change {} ({} pending), {loss:?}", cut.applied, cut.pending());
        let dir = TempDir::new("power-cut-survivor");
        cut.write_survivors(dir.path(), loss, &mut || random.next());
        let present = check_survivor(dir.path(), &writes, &what);
        let lost = acknowledged.iter().filter(|id| !present.contains(id)).count();
        if durability == Durability::Full {
          assert_eq!(lost, 0, "{what}: {lost} acknowledged writes lost");
        }
        tally.survivors += 1;
        tally.acknowledged_before_cuts += acknowledged.len();
        let entry = tally.lost.entry(loss_name(loss)).or_default();
        entry.0 += lost;
        entry.1 += usize::from(lost > 0);
      }
    }
  }
  println!("power cuts, durability {durability:?}: {tally:?}");
  tally
}

#[test]
fn with_full_durability_no_acknowledged_write_is_lost_and_the_file_stays_sound() {
  let tally = tally(Durability::Full);
  assert!(tally.cuts >= 50, "too few cuts to prove anything: {tally:?}");
  assert!(tally.acknowledged_before_cuts > 0, "{tally:?}");
}

#[test]
fn with_normal_durability_the_file_stays_sound_and_only_whole_writes_are_lost() {
  let tally = tally(Durability::Normal);
  assert!(tally.cuts >= 50, "too few cuts to prove anything: {tally:?}");
  // The simulation really discards what was not synced: under NORMAL, acknowledged writes
  // waiting in the unsynced log are lost when every unsynced write is.
  assert!(tally.lost["all unsynced lost"].0 > 0, "{tally:?}");
}
