//! Search: every script, the index kept exact through every kind of write, queries users
//! can type, paging and the migration that creates the index.

use rusqlite::Connection;
use serde_json::json;

use super::support::{agent, db, new_log, session};
use crate::error::ErrorCode;
use crate::logs::{self, LogPatch, NewLog};
use crate::migrations::migrator::{migrate, rollback_to, MigrateOptions, Progress, RollbackOptions, Target};
use crate::migrations::source::{MigrationSet, BUILTIN, LIBRARY};
use crate::search::query::Syntax;
use crate::search::{index, search_logs, search_sessions, LogSearch, SearchCursor, SearchOrder, SessionSearch};

/// The id of the built-in migration that creates the search index.
fn search_migration() -> &'static str {
  BUILTIN.iter().find(|m| m.name == "search_index").map(|m| m.id).expect("a built-in search_index migration")
}

/// Runs `work` as the writer runs a write: in a transaction, indexing before the commit.
fn write<T>(conn: &Connection, work: impl FnOnce(&Connection) -> T) -> T {
  conn.execute_batch("BEGIN IMMEDIATE").unwrap();
  let out = work(conn);
  index::drain(conn).unwrap();
  conn.execute_batch("COMMIT").unwrap();
  out
}

fn find(conn: &Connection, query: &str) -> Vec<i64> {
  find_with(conn, LogSearch { query: query.into(), limit: 100, ..Default::default() })
}

fn find_with(conn: &Connection, search: LogSearch) -> Vec<i64> {
  let mut ids: Vec<i64> = search_logs(conn, &search).unwrap().items.into_iter().map(|h| h.log.id).collect();
  ids.sort_unstable();
  ids
}

fn exact(conn: &Connection) {
  assert_eq!(index::check(conn).unwrap(), Vec::<String>::new());
}

/// A database with one session and a log per text given; returns the session id and log ids.
fn with_logs(texts: &[serde_json::Value]) -> (Connection, String, Vec<i64>) {
  let conn = db();
  let a = agent(&conn, "A");
  let s = session(&conn, &a.id);
  let ids = write(&conn, |conn| texts.iter().map(|t| logs::add(conn, &new_log(&s.id, None, t.clone())).unwrap().id).collect());
  (conn, s.id, ids)
}

#[test]
fn every_script_is_found_by_any_part() {
  let (conn, _, ids) = with_logs(&[
    json!({ "text": "Le café était fermé" }),
    json!({ "text": "我想搜索一下历史记录" }),
    json!({ "text": "履歴を検索する" }),
    json!({ "text": "기록을 검색합니다" }),
    json!({ "parts": [{ "text": "Party 🎉 time" }, { "text": "混合mixed文本" }] }),
    json!({ "text": "HELLO World" }),
  ]);
  let cases: [(&str, &[usize]); 15] = [
    ("cafe", &[0]),
    ("CAFÉ", &[0]),
    ("ferme", &[0]),
    ("搜索", &[1]),
    ("搜", &[1]),
    ("历史记录", &[1]),
    ("搜记", &[]),
    ("検索", &[2]),
    ("を", &[2]),
    ("검색", &[3]),
    ("검", &[3]),
    ("🎉", &[4]),
    ("mixed文", &[4]),
    ("hello world", &[5]),
    ("world hello", &[5]),
  ];
  for (query, want) in cases {
    assert_eq!(find(&conn, query), want.iter().map(|&i| ids[i]).collect::<Vec<_>>(), "query {query:?}");
  }
  assert_eq!(find(&conn, "\"world hello\""), Vec::<i64>::new());
  assert_eq!(find(&conn, "\"hello world\""), vec![ids[5]]);
  exact(&conn);
}

#[test]
fn keys_are_not_searchable_and_snippets_mark_matches_in_utf16() {
  let (conn, _, ids) = with_logs(&[json!({ "secretkey": "🎉 我想搜索一下" })]);
  assert!(find(&conn, "secretkey").is_empty());
  let page = search_logs(&conn, &LogSearch { query: "搜索".into(), limit: 5, ..Default::default() }).unwrap();
  let hit = &page.items[0];
  assert_eq!((hit.log.id, hit.snippet.as_str()), (ids[0], "🎉 我想搜索一下"));
  let units: Vec<u16> = hit.snippet.encode_utf16().collect();
  let marked: Vec<String> = hit.highlights.iter().map(|h| String::from_utf16(&units[h.start..h.end]).unwrap()).collect();
  assert_eq!(marked, ["搜索"]);
}

#[test]
fn the_index_follows_updates_deletes_cascades_and_other_tools() {
  let (conn, s, ids) = with_logs(&[json!("alpha"), json!("beta"), json!("gamma")]);
  write(&conn, |c| {
    logs::update(c, ids[0], &LogPatch { content: Some(crate::json::from_value(&json!("delta"))), ..Default::default() }).unwrap()
  });
  assert_eq!((find(&conn, "alpha"), find(&conn, "delta")), (vec![], vec![ids[0]]));
  // Another tool writes the file with plain SQL: rows are recorded, and indexed before the
  // next search or commit.
  conn
    .execute_batch(&format!(
      "INSERT INTO session_logs (session_id, role, type, content) VALUES ('{s}', 'user', 'message', '\"epsilon\"'); \
       UPDATE session_logs SET content = '\"zeta\"' WHERE id = {}; DELETE FROM session_logs WHERE id = {};",
      ids[1], ids[2]
    ))
    .unwrap();
  assert!(index::has_pending(&conn).unwrap());
  write(&conn, |_| ());
  assert_eq!(find(&conn, "epsilon").len(), 1);
  assert_eq!((find(&conn, "beta"), find(&conn, "zeta"), find(&conn, "gamma")), (vec![], vec![ids[1]], vec![]));
  exact(&conn);
  // A statement's own conflict clause does not turn a row recorded twice into a failure:
  // the deleted log's id is recorded, and a tool inserts a log under that id again.
  conn
    .execute_batch(&format!(
      "DELETE FROM session_logs WHERE id = {id}; \
       INSERT OR ROLLBACK INTO session_logs (id, session_id, role, type, content) VALUES ({id}, '{s}', 'user', 'message', '\"eta\"'); \
       UPDATE OR FAIL session_logs SET content = '\"theta\"' WHERE id = {id};",
      id = ids[1]
    ))
    .unwrap();
  write(&conn, |_| ());
  assert_eq!((find(&conn, "zeta"), find(&conn, "theta")), (vec![], vec![ids[1]]));
  exact(&conn);
  write(&conn, |c| crate::cascade::delete_session(c, &s).unwrap());
  assert!(find(&conn, "delta").is_empty() && find(&conn, "epsilon").is_empty());
  assert_eq!(conn.query_row("SELECT count(*) FROM log_search", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
  exact(&conn);
}

#[test]
fn a_failed_write_leaves_the_index_as_it_was() {
  let (conn, s, _) = with_logs(&[json!("kept")]);
  conn.execute_batch("BEGIN IMMEDIATE").unwrap();
  let bad = NewLog { parent_id: Some(999), ..new_log(&s, None, json!("lost")) };
  logs::add(&conn, &new_log(&s, None, json!("lost"))).unwrap();
  assert!(logs::add_many(&conn, &[bad]).is_err());
  index::drain(&conn).unwrap();
  conn.execute_batch("ROLLBACK").unwrap();
  assert!(find(&conn, "lost").is_empty());
  assert_eq!(find(&conn, "kept").len(), 1);
  exact(&conn);
}

#[test]
fn search_text_replaces_the_content_until_the_content_changes() {
  let (conn, s, _) = with_logs(&[]);
  let log = write(&conn, |c| {
    logs::add(c, &NewLog { search_text: Some("visible words".into()), ..new_log(&s, None, json!({ "raw": "hidden" })) }).unwrap()
  });
  assert_eq!((find(&conn, "visible"), find(&conn, "hidden")), (vec![log.id], vec![]));
  exact(&conn);
  write(&conn, |c| logs::update(c, log.id, &LogPatch { search_text: Some(Some("other".into())), ..Default::default() }).unwrap());
  assert_eq!((find(&conn, "other"), find(&conn, "visible")), (vec![log.id], vec![]));
  write(&conn, |c| {
    logs::update(c, log.id, &LogPatch { content: Some(crate::json::from_value(&json!("fresh"))), ..Default::default() }).unwrap()
  });
  assert_eq!((find(&conn, "fresh"), find(&conn, "other")), (vec![log.id], vec![]));
  exact(&conn);
}

#[test]
fn whatever_a_user_types_is_a_query_and_fts5_syntax_errors_are_coded() {
  let (conn, _, ids) = with_logs(&[json!("one (two) three-four \"five\" NEAR OR")]);
  for typed in [
    "\"",
    "(",
    ")",
    "*",
    "-",
    "OR",
    "NEAR",
    "AND NOT",
    "\"unclosed phrase",
    "a\"b",
    "''",
    "^",
    ":",
    "col:x",
    "\u{0}",
    "+ - * /",
    "",
  ] {
    let found = search_logs(&conn, &LogSearch { query: typed.into(), limit: 10, ..Default::default() });
    assert!(found.is_ok(), "{typed:?}: {found:?}");
  }
  assert_eq!(find(&conn, "(two)"), vec![ids[0]]);
  assert_eq!(find(&conn, "three-four"), vec![ids[0]]);
  assert_eq!(find(&conn, "OR near"), vec![ids[0]]);
  let fts = |q: &str| search_logs(&conn, &LogSearch { query: q.into(), syntax: Syntax::Fts5, limit: 10, ..Default::default() });
  assert_eq!(fts("one OR missing").unwrap().items.len(), 1);
  assert_eq!(fts("one NOT two").unwrap().items.len(), 0);
  assert_eq!(fts("thr*").unwrap().items.len(), 1);
  for bad in ["(one", "one AND", "\"", "NEAR(", "missing:col"] {
    assert_eq!(fts(bad).unwrap_err().code, ErrorCode::QuerySyntax, "{bad:?}");
  }
}

#[test]
fn pages_cover_every_hit_once_in_either_order() {
  let texts: Vec<_> = (0..25).map(|i| json!(format!("needle {}", "hay ".repeat(i % 7)))).collect();
  let (conn, _, ids) = with_logs(&texts);
  for order in [SearchOrder::Newest, SearchOrder::Relevance] {
    let mut seen = Vec::new();
    let mut after: Option<SearchCursor> = None;
    loop {
      let page =
        search_logs(&conn, &LogSearch { query: "needle".into(), order, limit: 4, after: after.clone(), ..Default::default() })
          .unwrap();
      seen.extend(page.items.iter().map(|h| h.log.id));
      match page.next_cursor {
        Some(text) => after = Some(SearchCursor::decode(&text, order).unwrap()),
        None => break,
      }
    }
    if order == SearchOrder::Newest {
      assert!(seen.windows(2).all(|w| w[0] > w[1]));
    }
    seen.sort_unstable();
    assert_eq!(seen, ids, "{order:?}");
  }
  assert_eq!(SearchCursor::decode("search:n|5", SearchOrder::Relevance).unwrap_err().code, ErrorCode::InvalidArgument);
}

#[test]
fn filters_narrow_the_hits_and_sessions_have_one_best_hit() {
  let conn = db();
  let (a, b) = (agent(&conn, "A"), agent(&conn, "B"));
  let (s1, s2) = (session(&conn, &a.id), session(&conn, &b.id));
  write(&conn, |c| {
    logs::add(c, &new_log(&s1.id, None, json!("report one"))).unwrap();
    logs::add(c, &NewLog { role: crate::model::LogRole::Agent, ..new_log(&s1.id, None, json!("report two")) }).unwrap();
    logs::add(c, &new_log(&s2.id, None, json!("report three"))).unwrap();
    c.execute("UPDATE sessions SET name = '季度报告' WHERE id = ?1", [&s2.id]).unwrap();
  });
  let count = |search: LogSearch| find_with(&conn, LogSearch { query: "report".into(), limit: 100, ..search }).len();
  assert_eq!(count(LogSearch::default()), 3);
  assert_eq!(count(LogSearch { session_id: Some(s1.id.clone()), ..Default::default() }), 2);
  assert_eq!(count(LogSearch { agent_id: Some(b.id.clone()), ..Default::default() }), 1);
  assert_eq!(count(LogSearch { role: Some(crate::model::LogRole::Agent), ..Default::default() }), 1);
  assert_eq!(count(LogSearch { since: Some("2999-01-01T00:00:00.000Z".into()), ..Default::default() }), 0);
  assert_eq!(count(LogSearch { until: Some("2999-01-01T00:00:00.000Z".into()), ..Default::default() }), 3);
  let hits = search_sessions(&conn, &SessionSearch { query: "report".into(), limit: 10, ..Default::default() }).unwrap();
  let mut sessions: Vec<&str> = hits.iter().map(|h| h.session.id.as_str()).collect();
  sessions.sort_unstable();
  let mut want = vec![s1.id.as_str(), s2.id.as_str()];
  want.sort_unstable();
  assert_eq!(sessions, want);
  let by_name = search_sessions(&conn, &SessionSearch { query: "报告".into(), limit: 10, ..Default::default() }).unwrap();
  assert_eq!((by_name.len(), by_name[0].session.id.as_str(), by_name[0].log.is_none()), (1, s2.id.as_str(), true));
  exact(&conn);
}

#[test]
fn integrity_check_finds_a_damaged_index_and_rebuild_repairs_it() {
  let (conn, _, ids) = with_logs(&[json!("first"), json!("second")]);
  conn.execute("DELETE FROM log_search WHERE rowid = ?1", [ids[0]]).unwrap();
  conn.execute("INSERT INTO log_search (rowid, body) VALUES (?1, 'wrong')", [ids[1] + 100]).unwrap();
  let problems = index::check(&conn).unwrap();
  assert_eq!(problems.len(), 2, "{problems:?}");
  write(&conn, |c| index::rebuild(c, &mut |_, _| {}).unwrap());
  exact(&conn);
  assert_eq!(find(&conn, "first"), vec![ids[0]]);
}

#[test]
fn the_migration_indexes_existing_rows_with_progress_and_rolls_back_exactly() {
  let mut conn = crate::connection::open_writer(&crate::connection::Location::Memory, &Default::default()).unwrap();
  let before_search = BUILTIN.iter().position(|m| m.id == search_migration()).unwrap() - 1;
  let upto =
    |id: &str| MigrateOptions { to: Some(Target { namespace: Some(LIBRARY.into()), id: id.into() }), ..Default::default() };
  migrate(&mut conn, &MigrationSet::builtin(), &upto(BUILTIN[before_search].id), &mut |_| {}).unwrap();
  let schema = |conn: &Connection| -> Vec<String> {
    let mut stmt =
      conn.prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
  };
  // Rows as the release before the search index wrote them (with the columns it had).
  conn
    .execute_batch(
      "INSERT INTO agents (id, name, model) VALUES ('a', 'A', 'model-a'); \
       INSERT INTO sessions (id, main_agent_id) VALUES ('s', 'a'); \
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2499) \
       INSERT INTO session_logs (session_id, role, type, content) \
       SELECT 's', 'user', 'message', json_object('text', 'old entry ' || i || ' 旧记录') FROM n;",
    )
    .unwrap();
  let old_schema = schema(&conn);
  let mut reports = Vec::new();
  migrate(&mut conn, &MigrationSet::builtin(), &upto(search_migration()), &mut |p| {
    if let Progress::Indexing { done, rows, .. } = p {
      reports.push((done, rows));
    }
  })
  .unwrap();
  assert_eq!(reports, [(1000, 2501), (2000, 2501), (2500, 2501), (2501, 2501)]);
  let count: i64 = conn.query_row("SELECT count(*) FROM log_search WHERE log_search MATCH '\"旧\"'", [], |r| r.get(0)).unwrap();
  assert_eq!(count, 2500);
  let found: i64 = conn.query_row("SELECT rowid FROM log_search WHERE log_search MATCH '\"2499\"'", [], |r| r.get(0)).unwrap();
  assert_eq!(found, 2500);
  exact(&conn);
  rollback_to(
    &mut conn,
    &MigrationSet::builtin(),
    &Target { namespace: Some(LIBRARY.into()), id: BUILTIN[before_search].id.into() },
    &RollbackOptions::default(),
  )
  .unwrap();
  assert_eq!(schema(&conn), old_schema);
  assert_eq!(
    search_logs(&conn, &LogSearch { query: "old".into(), limit: 1, ..Default::default() }).unwrap_err().code,
    ErrorCode::NotMigrated
  );
}

#[test]
fn the_page_around_a_hit_has_cursors_both_ways() {
  let texts: Vec<_> = (0..10).map(|i| json!(format!("entry {i}"))).collect();
  let (conn, s, ids) = with_logs(&texts);
  let page = logs::around(&conn, &s, ids[5], 5).unwrap();
  assert_eq!(page.items.iter().map(|l| l.id).collect::<Vec<_>>(), ids[3..8]);
  let forward =
    crate::page::PageRequest::new(Some(100), None, Some(crate::page::Cursor::decode(&page.next_cursor.unwrap()).unwrap()))
      .unwrap();
  let later = logs::list(&conn, &s, crate::page::Order::Ascending, &forward).unwrap();
  assert_eq!(later.items.iter().map(|l| l.id).collect::<Vec<_>>(), ids[8..]);
  let back =
    crate::page::PageRequest::new(Some(100), None, Some(crate::page::Cursor::decode(&page.previous_cursor.unwrap()).unwrap()))
      .unwrap();
  let earlier = logs::list(&conn, &s, crate::page::Order::Descending, &back).unwrap();
  assert_eq!(earlier.items.iter().map(|l| l.id).collect::<Vec<_>>(), [ids[2], ids[1], ids[0]]);
  let edge = logs::around(&conn, &s, ids[0], 4).unwrap();
  assert_eq!((edge.items.iter().map(|l| l.id).collect::<Vec<_>>(), edge.previous_cursor), (ids[0..4].to_vec(), None));
  assert_eq!(logs::around(&conn, "other", ids[0], 4).unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn relevance_pages_cross_windows_and_rank_within_each() {
  let count = crate::search::RELEVANCE_WINDOW as usize + 300;
  let texts: Vec<_> = (0..count)
    .map(|i| json!(if i % 10 == 0 { "needle needle needle" } else { "needle and a lot of other words here" }))
    .collect();
  let (conn, _, ids) = with_logs(&texts);
  let mut seen = Vec::new();
  let mut after = None;
  loop {
    let page = search_logs(&conn, &LogSearch { query: "needle".into(), limit: 700, after, ..Default::default() }).unwrap();
    seen.extend(page.items.iter().map(|h| h.log.id));
    match page.next_cursor {
      Some(text) => after = Some(SearchCursor::decode(&text, SearchOrder::Relevance).unwrap()),
      None => break,
    }
  }
  // The newest window first, its denser matches (every tenth log) first within it.
  let newest_window = &ids[count - crate::search::RELEVANCE_WINDOW as usize..];
  let dense: Vec<i64> = newest_window.iter().copied().filter(|id| (id - ids[0]) % 10 == 0).collect();
  assert_eq!(seen[..dense.len()].iter().copied().collect::<std::collections::BTreeSet<_>>(), dense.into_iter().collect());
  seen.sort_unstable();
  assert_eq!(seen, ids);
}

#[test]
fn relevance_pages_are_fts5_s_rank_order_with_or_without_filters() {
  let window = crate::search::RELEVANCE_WINDOW as usize;
  let count = window + 50;
  let texts: Vec<_> = (0..count)
    .map(|i| {
      json!(match i % 7 {
        0 => "needle needle",
        3 | 5 => "a needle in words",
        _ => "a needle among many other words in a longer text",
      })
    })
    .collect();
  let (conn, s, ids) = with_logs(&texts);
  let pages = |session_id: Option<String>| {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
      let search = LogSearch { query: "needle".into(), session_id: session_id.clone(), limit: 97, after, ..Default::default() };
      let page = search_logs(&conn, &search).unwrap();
      seen.extend(page.items.iter().map(|h| h.log.id));
      match page.next_cursor {
        Some(text) => after = Some(SearchCursor::decode(&text, SearchOrder::Relevance).unwrap()),
        None => return seen,
      }
    }
  };
  let unfiltered = pages(None);
  assert_eq!(pages(Some(s)), unfiltered);
  // The newest window comes first, in FTS5's own rank order, ties newest first.
  let ranked: Vec<i64> = conn
    .prepare("SELECT rowid FROM log_search WHERE log_search MATCH 'needle' AND rowid >= ?1 ORDER BY rank, rowid DESC")
    .unwrap()
    .query_map([ids[count - window]], |r| r.get(0))
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap();
  assert_eq!(&unfiltered[..window], ranked.as_slice());
  let mut all = unfiltered;
  all.sort_unstable();
  assert_eq!(all, ids);
}

#[test]
fn a_commit_drains_once_the_recorded_logs_span_the_limit_or_enough_sessions_wait() {
  let conn = db();
  let reached = |conn: &Connection| index::pending_reached(conn).unwrap();
  let record_logs = |conn: &Connection, ids: &str| {
    conn.execute_batch(&format!("DELETE FROM log_search_pending; INSERT INTO log_search_pending (log_id) VALUES {ids};")).unwrap()
  };
  let limit = index::PENDING_LIMIT;
  conn.execute_batch("DELETE FROM log_search_pending; DELETE FROM session_search_pending;").unwrap();
  assert!(!reached(&conn), "nothing recorded");
  record_logs(&conn, &format!("(5), ({})", 5 + limit - 2));
  assert!(!reached(&conn), "ids spanning one less than the limit");
  record_logs(&conn, &format!("(5), ({})", 5 + limit - 1));
  assert!(reached(&conn), "two old and new logs spanning the limit drain early");
  conn.execute_batch("DELETE FROM log_search_pending").unwrap();
  conn
    .execute(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) INSERT INTO log_search_pending (log_id) SELECT i FROM n",
      [limit - 1],
    )
    .unwrap();
  assert!(!reached(&conn), "one less than the limit, in a row");
  conn.execute("INSERT INTO log_search_pending (log_id) VALUES (?1)", [limit]).unwrap();
  assert!(reached(&conn), "the limit, in a row");

  conn.execute_batch("DELETE FROM log_search_pending").unwrap();
  let record_sessions = |conn: &Connection, count: i64| {
    conn
      .execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO session_search_pending (session_id) SELECT 's' || i FROM n WHERE true ON CONFLICT DO NOTHING",
        [count],
      )
      .unwrap()
  };
  record_sessions(&conn, limit - 1);
  assert!(!reached(&conn), "one session less than the limit");
  record_sessions(&conn, limit);
  assert!(reached(&conn), "as many sessions as the limit");

  let bare = Connection::open_in_memory().unwrap();
  assert!(!index::pending_reached(&bare).unwrap(), "a database without the index");
}
