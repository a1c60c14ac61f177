//! What the upgrade tests share.

use rusqlite::Connection;

/// Every row of the library's tables and of `sqlite_sequence`, one line each, in rowid
/// order: equal before and after an upgrade that keeps every row.
pub fn rows(conn: &Connection) -> Vec<String> {
  let mut all = Vec::new();
  for table in ["agents", "sessions", "session_logs", "sqlite_sequence"] {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid")).unwrap();
    let width = stmt.column_count();
    let mut cursor = stmt.query([]).unwrap();
    while let Some(row) = cursor.next().unwrap() {
      let values: Vec<String> = (0..width).map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap())).collect();
      all.push(format!("{table}: {}", values.join(", ")));
    }
  }
  all
}
