//! Pagination shared by every list: `limit`/`offset` for parity with the reference module,
//! and a keyset cursor over the list's insertion key (a column that only grows, never the
//! wall clock) whose cost does not grow with depth.

use rusqlite::types::Value;
use rusqlite::{Connection, Row, ToSql};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::limits;
use crate::rules::{self, PAGE_LIMIT};

/// The page size when none is given.
pub const DEFAULT_LIMIT: u64 = 100;

/// One page of a list, with the cursor of the next page (`None` on the last page).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
  /// The rows of this page.
  pub items: Vec<T>,
  /// Pass as `after` to get the next page; `null` when this page is the last.
  pub next_cursor: Option<String>,
}

/// The position after which a keyset page starts, and the list it belongs to: the list's
/// name, its order and its filters (a fingerprint of them), so that a cursor is refused by
/// any other list, order, session, agent, status or type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
  /// The list it was made by (`agents`, `sessions`, `sessionsByActivity`, `logs`,
  /// `latestLogs`, `interruptedLogs`).
  pub list: String,
  /// The order of that list.
  pub order: Order,
  /// [`fingerprint`] of the list's filters.
  pub filters: u64,
  /// The insertion key (`seq`, or a log's `id`) of the last row of the previous page.
  pub key: i64,
}

/// The first field of every cursor text, changed whenever the meaning of a cursor changes.
const CURSOR_VERSION: &str = "v2";

impl Cursor {
  /// The opaque text handed to JavaScript: `v2.logs.asc.<filters>.<key>`.
  pub fn encode(&self) -> String {
    format!("{CURSOR_VERSION}.{}.{}.{:016x}.{}", self.list, self.order.as_str(), self.filters, self.key)
  }

  /// Reads a cursor made by [`Cursor::encode`]. A cursor of the previous version
  /// (`logs:<createdAt>|<id>`) is refused saying so.
  pub fn decode(text: &str) -> Result<Cursor> {
    let invalid = || Error::invalid(format!("after: {text:?} is not a cursor (pass a nextCursor returned by the same call)"));
    let Some(rest) = text.strip_prefix(CURSOR_VERSION).and_then(|r| r.strip_prefix('.')) else {
      return Err(if is_previous_version(text) { Error::invalid(OLD_CURSOR) } else { invalid() });
    };
    let fields: Vec<&str> = rest.split('.').collect();
    let [list, order, filters, key] = fields[..] else { return Err(invalid()) };
    let order = match order {
      "asc" => Order::Ascending,
      "desc" => Order::Descending,
      _ => return Err(invalid()),
    };
    let filters = u64::from_str_radix(filters, 16).map_err(|_| invalid())?;
    let key = key.parse::<i64>().map_err(|_| invalid())?;
    if list.is_empty() {
      return Err(invalid());
    }
    Ok(Cursor { list: list.to_string(), order, filters, key })
  }
}

/// Whether `text` has the shape of a cursor of the previous version: a list name, `:`, a
/// `createdAt` timestamp, `|` and an id.
fn is_previous_version(text: &str) -> bool {
  let Some((list, rest)) = text.split_once(':') else { return false };
  let Some((created_at, id)) = rest.split_once('|') else { return false };
  ["agents", "sessions", "logs"].contains(&list) && created_at.len() == 24 && created_at.ends_with('Z') && !id.is_empty()
}

/// Why a cursor of the previous version, `<list>:<createdAt>|<id>`, is refused.
const OLD_CURSOR: &str = "after: this cursor is from another version of the library, whose lists were ordered by \
  createdAt; read the list again from its first page and pass the nextCursor it returns";

/// A stable 64-bit FNV-1a hash of a list's filters (each clause and its value), which a
/// cursor carries so that it is refused by the same list with other filters.
pub fn fingerprint(filters: &[(&str, &Value)]) -> u64 {
  let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
  let mut feed = |bytes: &[u8]| {
    for byte in bytes {
      hash ^= u64::from(*byte);
      hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
  };
  for (clause, value) in filters {
    feed(clause.as_bytes());
    feed(&[0]);
    match value {
      Value::Text(text) => feed(text.as_bytes()),
      Value::Integer(n) => feed(n.to_string().as_bytes()),
      other => feed(format!("{other:?}").as_bytes()),
    }
    feed(&[0]);
  }
  hash
}

/// Which page of a list to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
  /// How many rows at most (1 to [`MAX_LIMIT`]).
  pub limit: u64,
  /// How many rows to skip (OFFSET pagination; O(offset)).
  pub offset: u64,
  /// Start after this row (keyset pagination; O(log n) at any depth).
  pub after: Option<Cursor>,
  /// At most this many bytes of rows (their JSON text): the page stops before the row that
  /// would pass it, except that its first row is always kept, however large.
  pub max_bytes: Option<u64>,
}

impl Default for PageRequest {
  fn default() -> Self {
    PageRequest { limit: DEFAULT_LIMIT, offset: 0, after: None, max_bytes: None }
  }
}

impl PageRequest {
  /// Checks the combination: a limit in [`PAGE_LIMIT`], and not both an offset and a
  /// cursor.
  pub fn new(limit: Option<u64>, offset: Option<u64>, after: Option<Cursor>) -> Result<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !PAGE_LIMIT.contains(&limit) {
      return Err(rules::out_of_range(limit, &PAGE_LIMIT, "limit"));
    }
    if after.is_some() && offset.is_some_and(|o| o > 0) {
      return Err(Error::invalid("give either offset or after, not both"));
    }
    Ok(PageRequest { limit, offset: offset.unwrap_or(0), after, max_bytes: None })
  }

  /// `LIMIT` to ask SQLite for: one more than the page, to know whether another page exists.
  pub fn fetch(&self) -> i64 {
    self.limit as i64 + 1
  }

  /// Cuts the fetched rows to the page and computes the next cursor from the last row kept;
  /// `cut` says the rows stopped short of the limit at `max_bytes`, with more to come.
  pub fn page<T>(&self, mut rows: Vec<T>, cut: bool, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = cut || rows.len() as u64 > self.limit;
    rows.truncate(self.limit as usize);
    let next_cursor = if more { rows.last().map(|row| cursor_of(row).encode()) } else { None };
    Page { items: rows, next_cursor }
  }
}

/// The direction of a list, over its insertion key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
  /// Oldest first.
  Ascending,
  /// Newest first.
  Descending,
}

impl Order {
  /// The name the API gives it: `asc` or `desc`.
  pub fn as_str(self) -> &'static str {
    match self {
      Order::Ascending => "asc",
      Order::Descending => "desc",
    }
  }
}

/// A list query: a fixed `SELECT … FROM …`, filters chosen from this crate's own SQL
/// fragments, and the page's limit, offset or keyset cursor, all values bound as parameters.
/// Rows come in the order of `key`, a column that only grows (insertion order).
pub struct ListQuery {
  list: &'static str,
  key: &'static str,
  order: Order,
  /// Columns computed over each of the page's rows, when [`ListQuery::wrapped`].
  extras: Option<String>,
  filters: Vec<&'static str>,
  params: Vec<(&'static str, Value)>,
}

impl ListQuery {
  /// A query over the list named `list`, ordered by the insertion key column `key`.
  pub fn new(list: &'static str, key: &'static str, order: Order) -> ListQuery {
    ListQuery { list, key, order, extras: None, filters: Vec::new(), params: Vec::new() }
  }

  /// Adds `extras`, columns computed over each row of the page, named `p` (`p.id`, …), after
  /// the list's own: the page is selected first, so they are computed for its rows only.
  pub fn wrapped(mut self, extras: &str) -> ListQuery {
    self.extras = Some(extras.to_string());
    self
  }

  /// Adds a `WHERE` condition with its one named parameter.
  pub fn filter(&mut self, clause: &'static str, name: &'static str, value: impl Into<Value>) {
    self.filters.push(clause);
    self.params.push((name, value.into()));
  }

  /// Refuses a cursor made by another list, order or filters.
  fn check(&self, cursor: &Cursor, filters: u64) -> Result<()> {
    if cursor.list != self.list {
      return Err(Error::invalid(format!("after: the cursor belongs to the list {}, not {}", cursor.list, self.list)));
    }
    if cursor.order != self.order {
      return Err(Error::invalid(format!(
        "after: the cursor was made for order '{}', not '{}'",
        cursor.order.as_str(),
        self.order.as_str()
      )));
    }
    if cursor.filters != filters {
      return Err(Error::invalid(
        "after: the cursor was made for other filters of this list (another session, agent, status or type)",
      ));
    }
    Ok(())
  }

  /// [`fingerprint`] of this list's filters.
  fn filters_fingerprint(&self) -> u64 {
    fingerprint(&self.filters.iter().zip(&self.params).map(|(c, (_, v))| (*c, v)).collect::<Vec<_>>())
  }

  /// The cursor of this list that a page ending at the row with insertion key `key` returns:
  /// passed as `after`, the list goes on past that row.
  pub fn cursor_at(&self, key: i64) -> Cursor {
    Cursor { list: self.list.to_string(), order: self.order, filters: self.filters_fingerprint(), key }
  }

  /// Runs `SELECT {columns} FROM {from}` with the filters and the page, maps rows with
  /// `map`, and makes the next cursor from the key of the last row.
  pub fn run<T: Serialize>(
    mut self,
    conn: &Connection,
    columns: &str,
    from: &str,
    page: &PageRequest,
    mut map: impl FnMut(&Row) -> rusqlite::Result<T>,
  ) -> Result<Page<T>> {
    let filters = self.filters_fingerprint();
    let (key, direction, beyond) = match self.order {
      Order::Ascending => (self.key, "ASC", ">"),
      Order::Descending => (self.key, "DESC", "<"),
    };
    let mut clauses: Vec<String> = self.filters.iter().map(|c| c.to_string()).collect();
    if let Some(cursor) = &page.after {
      self.check(cursor, filters)?;
      clauses.push(format!("{key} {beyond} :after"));
      self.params.push((":after", cursor.key.into()));
    }
    let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let mut sql = format!("SELECT {columns}, {key} FROM {from}{filter} ORDER BY {key} {direction} LIMIT :limit OFFSET :offset");
    if let Some(extras) = &self.extras {
      // The outer select names the page's columns as they are named inside (plain column
      // names), so the key stays the last column.
      sql = format!("SELECT {columns}, {extras}, {key} FROM ({sql}) p ORDER BY {key} {direction}");
    }
    self.params.push((":limit", page.fetch().into()));
    self.params.push((":offset", (page.offset as i64).into()));
    let params: Vec<(&str, &dyn ToSql)> = self.params.iter().map(|(n, v)| (*n, v as &dyn ToSql)).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params.as_slice(), |row| Ok((map(row)?, row.get::<_, i64>(row.as_ref().column_count() - 1)?)))?;
    let (rows, cut) = limits::rows_within(rows, page.max_bytes, |(item, _)| item)?;
    let (list, order) = (self.list.to_string(), self.order);
    let page = page.page(rows, cut, |(_, key)| Cursor { list: list.clone(), order, filters, key: *key });
    Ok(Page { items: page.items.into_iter().map(|(item, _)| item).collect(), next_cursor: page.next_cursor })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn cursor(key: i64) -> Cursor {
    Cursor {
      list: "logs".into(),
      order: Order::Descending,
      filters: fingerprint(&[("session_id = :s", &Value::Text("s1".into()))]),
      key,
    }
  }

  #[test]
  fn cursors_round_trip_and_refuse_other_texts() {
    let cursor = cursor(42);
    assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    for text in ["", "v2", "v2.logs.asc.zz.1", "v2.logs.up.00.1", "v2.logs.asc.00.1.2", "v2..asc.00.1", "v3.logs.asc.00.1"] {
      let err = Cursor::decode(text).unwrap_err();
      assert!(err.message.contains("is not a cursor"), "{text}: {}", err.message);
    }
  }

  #[test]
  fn a_cursor_of_the_previous_version_is_refused_saying_so() {
    for text in ["logs:2026-01-02T03:04:05.678Z|42", "agents:2026-01-02T03:04:05.678Z|a.b|c"] {
      let err = Cursor::decode(text).unwrap_err();
      assert_eq!(err.code, crate::error::ErrorCode::InvalidArgument);
      assert!(err.message.contains("another version"), "{text}: {}", err.message);
    }
  }

  #[test]
  fn fingerprints_tell_filters_apart() {
    let one = fingerprint(&[("session_id = :s", &Value::Text("a".into()))]);
    assert_eq!(one, fingerprint(&[("session_id = :s", &Value::Text("a".into()))]));
    assert_ne!(one, fingerprint(&[("session_id = :s", &Value::Text("b".into()))]));
    assert_ne!(one, fingerprint(&[("main_agent_id = :s", &Value::Text("a".into()))]));
    assert_ne!(fingerprint(&[]), one);
  }

  #[test]
  fn page_requests_are_checked() {
    assert!(PageRequest::new(Some(0), None, None).is_err());
    assert!(PageRequest::new(Some(PAGE_LIMIT.end() + 1), None, None).is_err());
    assert!(PageRequest::new(None, Some(5), Some(cursor(1))).is_err());
    let request = PageRequest::new(Some(2), None, None).unwrap();
    let page = request.page(vec![1, 2, 3], false, |n| cursor(*n));
    assert_eq!(page.items, [1, 2]);
    assert_eq!(page.next_cursor, Some(cursor(2).encode()));
    assert!(request.page(vec![1, 2], false, |_| unreachable!()).next_cursor.is_none());
    let cut = request.page(vec![1], true, |n| cursor(*n));
    assert_eq!(cut.next_cursor, Some(cursor(1).encode()));
  }
}
