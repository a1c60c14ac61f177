//! The workload, kept in step with `bench/lib/workload.js`: the logs that are appended, the
//! rows that reads turn into values, and a seeded random source.

use rusqlite::Row;
use serde_json::{json, Value};

/// Log roles, cycled through by [`make_log`].
pub const ROLES: [&str; 4] = ["user", "agent", "system", "tool"];
/// Log types, cycled through by [`make_log`].
pub const TYPES: [&str; 4] = ["message", "thought", "action", "observation"];
/// The text every log's content carries (about the size of a short agent message).
pub const TEXT: &str = "Reviewed the authentication module: the session token is compared in constant time \
and refreshed on every request; two handlers still log the raw token.";

/// A log as an application hands it over: content and metadata as values, not yet text.
pub struct NewLog {
  /// The session it belongs to.
  pub session_id: String,
  /// One of [`ROLES`].
  pub role: &'static str,
  /// One of [`TYPES`].
  pub kind: &'static str,
  /// The structured content.
  pub content: Value,
  /// Metadata, on every other log.
  pub metadata: Option<Value>,
}

/// The `i`-th log appended to `session_id`.
pub fn make_log(i: u64, session_id: &str) -> NewLog {
  NewLog {
    session_id: session_id.to_string(),
    role: ROLES[(i % 4) as usize],
    kind: TYPES[(i % 4) as usize],
    content: json!({
      "text": TEXT,
      "step": i,
      "tokens": { "input": 100 + i % 900, "output": 20 + i % 300 },
      "files": ["src/auth/login.ts", "src/auth/middleware.ts"],
    }),
    metadata: (i % 2 == 1).then(|| json!({ "model": "claude-sonnet", "latencyMs": i % 5000 })),
  }
}

/// A log read back, with its JSON columns parsed.
#[allow(dead_code)] // read so the work cannot be skipped; the fields are the result
pub struct Log {
  pub id: i64,
  pub session_id: String,
  pub parent_id: Option<i64>,
  pub role: String,
  pub kind: String,
  pub content: Value,
  pub metadata: Option<Value>,
  pub created_at: String,
  pub updated_at: String,
}

/// Reads a row of the log queries in `bench/sql/` (their columns, in their order).
pub fn log_from_row(row: &Row<'_>) -> rusqlite::Result<Log> {
  Ok(Log {
    id: row.get(0)?,
    session_id: row.get(1)?,
    parent_id: row.get(2)?,
    role: row.get(3)?,
    kind: row.get(4)?,
    content: parse(row.get_ref(5)?.as_str()?),
    metadata: row.get_ref(6)?.as_str_or_null()?.map(parse),
    created_at: row.get(7)?,
    updated_at: row.get(8)?,
  })
}

/// Parses a JSON column; the schema's CHECK constraints keep them valid.
pub fn parse(text: &str) -> Value {
  serde_json::from_str(text).expect("JSON columns hold valid JSON")
}

/// A small seeded generator (SplitMix64), so every run draws the same ids.
pub struct Rng(u64);

impl Rng {
  /// A generator started from `seed`.
  pub fn new(seed: u64) -> Rng {
    Rng(seed)
  }

  /// A number in `0..n`.
  pub fn below(&mut self, n: u64) -> u64 {
    self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = self.0;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % n
  }
}

/// The id of the `i`-th seeded session.
pub fn session_id(i: u64) -> String {
  format!("session-{i:06}")
}

/// The id of the `i`-th seeded agent.
pub fn agent_id(i: u64) -> String {
  format!("agent-{i:04}")
}
