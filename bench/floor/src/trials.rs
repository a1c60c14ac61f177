//! The trials, each a function of its parameters returning its JSON record. They mirror
//! `bench/lib/trials.js` call for call, with Rust in place of the JavaScript drivers.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::measure::{median, report, rss, throughput};
use crate::params::Params;
use crate::schema::{migrate, open_reader, open_writer, read_migrations};
use crate::views;
use crate::workload::{log_from_row, make_log, session_id, NewLog, Rng};

const INSERT_LOG: &str = include_str!("../../sql/insert_log.sql");
const LATEST_LOGS: &str = include_str!("../../sql/latest_logs.sql");
const LOGS_AFTER: &str = include_str!("../../sql/logs_after.sql");
const LOGS_OFFSET: &str = include_str!("../../sql/logs_offset.sql");
const SESSION_WITH_AGENT: &str = include_str!("../../sql/session_with_agent.sql");

/// Trial 1: open a fresh file, migrate it, close it; repeated, median time.
pub fn open_migrate(p: &Params) -> Value {
  let migrations = read_migrations(&p.path("migrations"));
  let dir = p.path("dir");
  let mut times = Vec::new();
  let started = Instant::now();
  let mut i = 0;
  while times.len() < 5 || started.elapsed().as_secs_f64() < p.num("seconds") {
    let file = dir.join(format!("floor-open-{i}.db"));
    remove_database(&file);
    let t = Instant::now();
    let mut conn = open_writer(&file);
    migrate(&mut conn, &migrations);
    conn.close().unwrap();
    times.push(t.elapsed().as_secs_f64() * 1000.0);
    remove_database(&file);
    i += 1;
  }
  let ms = median(&mut times);
  json!({ "ops": times.len(), "medianMs": ms, "opsPerSec": 1000.0 / ms })
}

fn remove_database(file: &Path) {
  for suffix in ["", "-wal", "-shm"] {
    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
  }
}

fn insert(conn: &Connection, log: &NewLog) -> i64 {
  let metadata = log.metadata.as_ref().map(Value::to_string);
  let mut stmt = conn.prepare_cached(INSERT_LOG).unwrap();
  stmt.execute(params![log.session_id, None::<i64>, log.role, log.kind, log.content.to_string(), metadata]).unwrap();
  conn.last_insert_rowid()
}

/// Trial 2: single appends, each its own transaction.
pub fn append(p: &Params) -> Value {
  let conn = open_writer(&p.path("db"));
  let session = session_id(0);
  throughput(p.num("warmup"), p.num("seconds"), |i| {
    black_box(insert(&conn, &make_log(i, &session)));
    1
  })
}

/// A write handed to the writer thread, and where its row id goes.
type Job = (NewLog, SyncSender<i64>);

/// Trial 3: `concurrency` threads, each appending to its own session and waiting for each
/// append, through one writer thread that commits whatever is queued as one transaction
/// with a savepoint per write (the addon's design, without JavaScript).
pub fn append_concurrent(p: &Params) -> Value {
  let conn = open_writer(&p.path("db"));
  let (tx, rx) = channel::<Job>();
  let writer = std::thread::spawn(move || writer_loop(&conn, &rx));
  let threads = p.num("concurrency") as u64;
  let run = |seconds: f64| {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..threads)
      .map(|t| {
        let tx = tx.clone();
        std::thread::spawn(move || {
          let session = session_id(t);
          let (reply_tx, reply_rx) = sync_channel(1);
          let mut ops = 0u64;
          while Instant::now() < until {
            tx.send((make_log(ops, &session), reply_tx.clone())).unwrap();
            black_box(reply_rx.recv().unwrap());
            ops += 1;
          }
          ops
        })
      })
      .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
  };
  run(p.num("warmup"));
  let started = Instant::now();
  let ops = run(p.num("seconds"));
  let seconds = started.elapsed().as_secs_f64();
  drop(tx);
  writer.join().unwrap();
  report(ops, ops, seconds)
}

fn writer_loop(conn: &Connection, queue: &Receiver<Job>) {
  while let Ok(first) = queue.recv() {
    let mut group = vec![first];
    group.extend(queue.try_iter().take(511));
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut ids = Vec::with_capacity(group.len());
    for (log, _) in &group {
      conn.execute_batch("SAVEPOINT grouped_write").unwrap();
      ids.push(insert(conn, log));
      conn.execute_batch("RELEASE grouped_write").unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    for ((_, reply), id) in group.into_iter().zip(ids) {
      let _ = reply.send(id);
    }
  }
}

/// Trial 4: appends of `batch` rows in one transaction per call.
pub fn append_batch(p: &Params) -> Value {
  let mut conn = open_writer(&p.path("db"));
  let session = session_id(0);
  let batch = p.num("batch") as u64;
  throughput(p.num("warmup"), p.num("seconds"), |call| {
    let logs: Vec<NewLog> = (0..batch).map(|i| make_log(call * batch + i, &session)).collect();
    let tx = conn.transaction().unwrap();
    let ids: Vec<i64> = logs.iter().map(|log| insert(&tx, log)).collect();
    tx.commit().unwrap();
    black_box(ids);
    batch
  })
}

/// Trial 5: the latest `latest` logs of `session-mid`, content parsed.
pub fn latest(p: &Params) -> Value {
  let (conn, _writer) = open_reader(&p.path("db"));
  let limit = p.num("latest") as i64;
  throughput(p.num("warmup"), p.num("seconds"), |_| {
    let mut stmt = conn.prepare_cached(LATEST_LOGS).unwrap();
    let mut logs: Vec<_> = stmt.query_map(params!["session-mid", limit], log_from_row).unwrap().map(Result::unwrap).collect();
    logs.reverse();
    black_box(logs).len() as u64
  })
}

fn session_with_agent(conn: &Connection, id: &str) -> views::SessionWithAgent {
  let mut stmt = conn.prepare_cached(SESSION_WITH_AGENT).unwrap();
  stmt.query_row([id], views::from_row).unwrap()
}

/// Trial 6: `getSessionWithAgent` of random seeded sessions.
pub fn point_read(p: &Params) -> Value {
  let (conn, _writer) = open_reader(&p.path("db"));
  let sessions = p.num("sessions") as u64;
  let mut rng = Rng::new(6);
  throughput(p.num("warmup"), p.num("seconds"), |_| {
    black_box(session_with_agent(&conn, &session_id(rng.below(sessions))));
    1
  })
}

/// Trial 7: a page of `pageSize` logs of `session-big` at `depth`, by keyset or by OFFSET.
pub fn page(p: &Params) -> Value {
  let (conn, _writer) = open_reader(&p.path("db"));
  let (depth, size) = (p.num("depth") as i64, p.num("pageSize") as i64);
  let cursor: Option<i64> = (depth > 0).then(|| {
    let mut stmt = conn.prepare_cached(LOGS_OFFSET).unwrap();
    stmt.query_row(params!["session-big", 1, depth - 1], |row| row.get(0)).unwrap()
  });
  let keyset = p.str("mode") == "keyset";
  throughput(p.num("warmup"), p.num("seconds"), |_| {
    let rows: Vec<_> = match (&cursor, keyset) {
      (Some(id), true) => {
        let mut stmt = conn.prepare_cached(LOGS_AFTER).unwrap();
        stmt.query_map(params!["session-big", id, size], log_from_row).unwrap().map(Result::unwrap).collect()
      }
      _ => {
        let mut stmt = conn.prepare_cached(LOGS_OFFSET).unwrap();
        stmt.query_map(params!["session-big", size, depth], log_from_row).unwrap().map(Result::unwrap).collect()
      }
    };
    assert_eq!(rows.len() as i64, size, "the session is seeded deeper than the page");
    black_box(rows).len() as u64
  })
}

/// Trial 9, paging: every log of `session-big` by keyset pages; resident memory before and
/// at its peak.
pub fn rss_paging(p: &Params) -> Value {
  let (conn, _writer) = open_reader(&p.path("db"));
  let size = p.num("pageSize") as i64;
  let before = rss().0;
  let mut peak = before;
  let (mut rows, mut pages) = (0u64, 0u64);
  let mut cursor = 0i64;
  let started = Instant::now();
  loop {
    let mut stmt = conn.prepare_cached(LOGS_AFTER).unwrap();
    let page: Vec<_> =
      stmt.query_map(params!["session-big", cursor, size], log_from_row).unwrap().map(Result::unwrap).collect();
    peak = peak.max(rss().0);
    let Some(last) = page.last() else { break };
    cursor = last.id;
    rows += page.len() as u64;
    pages += 1;
  }
  json!({ "rows": rows, "pages": pages, "seconds": started.elapsed().as_secs_f64(), "rssBefore": before, "rssPeak": peak,
          "growth": peak - before, "hwm": rss().1 })
}

/// Trial 9, calls: `calls` point reads; resident memory after each tenth.
pub fn rss_calls(p: &Params) -> Value {
  let (conn, _writer) = open_reader(&p.path("db"));
  let (calls, sessions) = (p.num("calls") as u64, p.num("sessions") as u64);
  let mut rng = Rng::new(9);
  let mut samples = Vec::new();
  let started = Instant::now();
  for i in 0..calls {
    black_box(session_with_agent(&conn, &session_id(rng.below(sessions))));
    if (i + 1) % (calls / 10).max(1) == 0 {
      samples.push(rss().0);
    }
  }
  json!({ "calls": calls, "seconds": started.elapsed().as_secs_f64(), "samples": samples, "hwm": rss().1 })
}

/// Trial 0: the seeded database (schema by the bench migrator, then the rows).
pub fn seed(p: &Params) -> Value {
  let file: PathBuf = p.path("db");
  remove_database(&file);
  let mut conn = open_writer(&file);
  migrate(&mut conn, &read_migrations(&p.path("migrations")));
  let size = crate::seed::SeedSize {
    agents: p.num("agents") as u64,
    sessions: p.num("sessions") as u64,
    logs_per_session: p.num("logsPerSession") as u64,
    mid_logs: p.num("midLogs") as u64,
    big_logs: p.num("bigLogs") as u64,
  };
  let started = Instant::now();
  crate::seed::seed(&mut conn, &size);
  conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
  conn.close().unwrap();
  json!({ "seconds": started.elapsed().as_secs_f64() })
}
