//! Pagination shared by every list: `limit`/`offset` for parity with the reference module,
//! and a keyset cursor over `(created_at, id)` whose cost does not grow with depth.

use rusqlite::types::Value;
use rusqlite::{Connection, Row, ToSql};
use serde::Serialize;

use crate::error::{Error, Result};
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

/// The position after which a keyset page starts: a row's `(created_at, id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
  /// The list this cursor belongs to (`agents`, `sessions`, `logs`).
  pub list: &'static str,
  /// `created_at` of the last row of the previous page.
  pub created_at: String,
  /// `id` of the last row of the previous page, as text.
  pub id: String,
}

impl Cursor {
  /// The opaque text handed to JavaScript.
  pub fn encode(&self) -> String {
    format!("{}:{}|{}", self.list, self.created_at, self.id)
  }

  /// Reads a cursor made by [`Cursor::encode`] for the list `list`.
  pub fn decode(text: &str, list: &'static str) -> Result<Cursor> {
    let invalid = || Error::invalid(format!("after: {text:?} is not a cursor of this list (pass a nextCursor returned by it)"));
    let rest = text.strip_prefix(list).and_then(|r| r.strip_prefix(':')).ok_or_else(invalid)?;
    let (created_at, id) = rest.split_once('|').ok_or_else(invalid)?;
    if created_at.len() != 24 || !created_at.ends_with('Z') || id.is_empty() {
      return Err(invalid());
    }
    Ok(Cursor { list, created_at: created_at.to_string(), id: id.to_string() })
  }
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
}

impl Default for PageRequest {
  fn default() -> Self {
    PageRequest { limit: DEFAULT_LIMIT, offset: 0, after: None }
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
    Ok(PageRequest { limit, offset: offset.unwrap_or(0), after })
  }

  /// `LIMIT` to ask SQLite for: one more than the page, to know whether another page exists.
  pub fn fetch(&self) -> i64 {
    self.limit as i64 + 1
  }

  /// Cuts the fetched rows to the page and computes the next cursor from the last row kept.
  pub fn page<T>(&self, mut rows: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() as u64 > self.limit;
    rows.truncate(self.limit as usize);
    let next_cursor = if more { rows.last().map(|row| cursor_of(row).encode()) } else { None };
    Page { items: rows, next_cursor }
  }
}

/// The direction of a list, over `(created_at, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
  /// Oldest first.
  Ascending,
  /// Newest first.
  Descending,
}

/// A list query: a fixed `SELECT … FROM …`, filters chosen from this crate's own SQL
/// fragments, and the page's limit, offset or keyset cursor, all values bound as parameters.
pub struct ListQuery {
  list: &'static str,
  order: Order,
  /// The timestamp column the list is ordered by, then `id`: `created_at` unless [`ListQuery::by`].
  key: &'static str,
  /// `SELECT … FROM ({page}) p`: a select over the page's rows, when [`ListQuery::wrapped`].
  outer: Option<String>,
  filters: Vec<&'static str>,
  params: Vec<(&'static str, Value)>,
}

impl ListQuery {
  /// A query over the list named `list` (cursors of other lists are refused).
  pub fn new(list: &'static str, order: Order) -> ListQuery {
    ListQuery { list, order, key: "created_at", outer: None, filters: Vec::new(), params: Vec::new() }
  }

  /// Orders by the timestamp column `key` (then `id`) instead of `created_at`.
  pub fn by(mut self, key: &'static str) -> ListQuery {
    self.key = key;
    self
  }

  /// Runs `outer`, a select over the page's rows named `p` whose `FROM` is `({page})`, so that
  /// what it adds to each row is computed for the page's rows only.
  pub fn wrapped(mut self, outer: &str) -> ListQuery {
    self.outer = Some(outer.to_string());
    self
  }

  /// Adds a `WHERE` condition with its one named parameter.
  pub fn filter(&mut self, clause: &'static str, name: &'static str, value: impl Into<Value>) {
    self.filters.push(clause);
    self.params.push((name, value.into()));
  }

  /// Runs `select` with the filters and the page, maps rows with `map`, and makes the next
  /// cursor from the `(timestamp, id)` that `key` reads off the last row.
  pub fn run<T>(
    mut self,
    conn: &Connection,
    select: &str,
    page: &PageRequest,
    map: impl FnMut(&Row) -> rusqlite::Result<T>,
    key: impl Fn(&T) -> (String, String),
  ) -> Result<Page<T>> {
    let (direction, beyond) = match self.order {
      Order::Ascending => ("ASC", ">"),
      Order::Descending => ("DESC", "<"),
    };
    let column = self.key;
    let mut filters: Vec<String> = self.filters.iter().map(|f| f.to_string()).collect();
    if let Some(cursor) = &page.after {
      if cursor.list != self.list {
        return Err(Error::invalid("after: the cursor belongs to another list"));
      }
      filters.push(format!("({column}, id) {beyond} (:after_created, :after_id)"));
      self.params.push((":after_created", cursor.created_at.clone().into()));
      // Bound as text: the id column's affinity converts it for integer log ids.
      self.params.push((":after_id", cursor.id.clone().into()));
    }
    let filter = if filters.is_empty() { String::new() } else { format!(" WHERE {}", filters.join(" AND ")) };
    let ordered = format!("ORDER BY {column} {direction}, id {direction}");
    let mut sql = format!("{select}{filter} {ordered} LIMIT :limit OFFSET :offset");
    if let Some(outer) = &self.outer {
      sql = format!("{} {ordered}", outer.replace("{page}", &sql));
    }
    self.params.push((":limit", page.fetch().into()));
    self.params.push((":offset", (page.offset as i64).into()));
    let params: Vec<(&str, &dyn ToSql)> = self.params.iter().map(|(n, v)| (*n, v as &dyn ToSql)).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params.as_slice(), map)?.collect::<rusqlite::Result<Vec<T>>>()?;
    let list = self.list;
    Ok(page.page(rows, |row| {
      let (created_at, id) = key(row);
      Cursor { list, created_at, id }
    }))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn cursors_round_trip_and_refuse_other_lists() {
    let cursor = Cursor { list: "logs", created_at: "2026-01-02T03:04:05.678Z".into(), id: "42".into() };
    assert_eq!(Cursor::decode(&cursor.encode(), "logs").unwrap(), cursor);
    assert!(Cursor::decode(&cursor.encode(), "sessions").is_err());
    assert!(Cursor::decode("logs:garbage", "logs").is_err());
    let with_pipe = Cursor { list: "agents", created_at: "2026-01-02T03:04:05.678Z".into(), id: "a|b".into() };
    assert_eq!(Cursor::decode(&with_pipe.encode(), "agents").unwrap().id, "a|b");
  }

  #[test]
  fn page_requests_are_checked() {
    assert!(PageRequest::new(Some(0), None, None).is_err());
    assert!(PageRequest::new(Some(PAGE_LIMIT.end() + 1), None, None).is_err());
    let cursor = Cursor { list: "logs", created_at: "2026-01-02T03:04:05.678Z".into(), id: "1".into() };
    assert!(PageRequest::new(None, Some(5), Some(cursor)).is_err());
    let request = PageRequest::new(Some(2), None, None).unwrap();
    let page =
      request.page(vec![1, 2, 3], |n| Cursor { list: "logs", created_at: "2026-01-02T03:04:05.678Z".into(), id: n.to_string() });
    assert_eq!(page.items, [1, 2]);
    assert_eq!(page.next_cursor.as_deref(), Some("logs:2026-01-02T03:04:05.678Z|2"));
    assert!(request.page(vec![1, 2], |_| unreachable!()).next_cursor.is_none());
  }
}
