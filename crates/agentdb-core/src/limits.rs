//! What a result must fit in to become a JavaScript value, checked on the database thread
//! before anything is handed to JavaScript: a JSON text longer than V8's longest string is
//! refused while it is being written (so it is never held whole), and a text value of a
//! query longer than that is refused before it is copied out of SQLite.

use std::io;

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

/// The most UTF-16 units a V8 string holds on 64-bit platforms (`v8::String::kMaxLength`,
/// 2^29 - 24), the bound of every JSON text handed to `JSON.parse` and of every text value.
pub const MAX_STRING_UNITS: usize = (1 << 29) - 24;

/// What the caller can do about a result too large for JavaScript.
const HINT: &str = "read it in smaller pieces: pass maxBytes (or a smaller limit) to a list, or select fewer rows or \
                    shorter values (substr, length) in SQL";

/// How many UTF-16 units the UTF-8 text `bytes` takes: one per character, two for a character
/// beyond the Basic Multilingual Plane (a 4-byte sequence). Continuation bytes count nothing,
/// so a text cut inside a character still counts right when the pieces are added up.
pub fn utf16_units(bytes: &[u8]) -> usize {
  // The standard library's own loops first (optimised even in a debug build): most text is
  // ASCII, and most pieces are whole characters.
  if bytes.is_ascii() {
    return bytes.len();
  }
  match std::str::from_utf8(bytes) {
    Ok(text) => text.chars().count() + bytes.iter().filter(|&&b| b >= 0xF0).count(),
    Err(_) => bytes.iter().map(|&b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0)).sum(),
  }
}

/// The `RESULT_TOO_LARGE` error of a result `what` (`"the result"`, `"column x of row 3"`) of
/// `units` UTF-16 units, longer than a JavaScript string can be.
pub fn string_too_long(what: &str, units: usize) -> Error {
  Error::new(
    ErrorCode::ResultTooLarge,
    format!(
      "{what} is {units} UTF-16 units of text ({:.0} MiB), longer than a JavaScript string can be ({MAX_STRING_UNITS} units); {HINT}",
      units as f64 / (1 << 20) as f64
    ),
  )
}

/// The `RESULT_TOO_LARGE` error of a result of `bytes` bytes that needs `needed` bytes of a
/// JavaScript heap that has `room` left.
pub fn heap_too_small(bytes: usize, needed: f64, room: f64) -> Error {
  let mib = |n: f64| n / (1 << 20) as f64;
  Error::new(
    ErrorCode::ResultTooLarge,
    format!(
      "the result is {:.1} MiB and would need about {:.0} MiB of JavaScript heap, which has {:.0} MiB left; {HINT}",
      mib(bytes as f64),
      mib(needed),
      mib(room)
    ),
  )
}

/// The JSON text of `value`, refused with `RESULT_TOO_LARGE` when it would be longer than a
/// JavaScript string can be. Past that bound the text is only counted, not kept, so the
/// error says how long it would have been without the memory to hold it.
pub fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String> {
  let mut out = Bounded { text: Vec::new(), units: 0 };
  serde_json::to_writer(&mut out, value).map_err(|e| Error::internal(format!("serialising the result: {e}")))?;
  if out.units > MAX_STRING_UNITS {
    return Err(string_too_long("the result's JSON text", out.units));
  }
  // serde_json writes only valid UTF-8.
  String::from_utf8(out.text).map_err(|e| Error::internal(format!("serialising the result: {e}")))
}

/// Checks a JSON text made elsewhere (the log tree) against the same bound.
pub fn check_text(text: &str) -> Result<()> {
  let units = utf16_units(text.as_bytes());
  if units > MAX_STRING_UNITS {
    return Err(string_too_long("the result's JSON text", units));
  }
  Ok(())
}

/// The length in bytes of `value`'s JSON text, counted without making it.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> u64 {
  let mut counter = Counter(0);
  // Writing to a counter does not fail, and the values of this crate serialise.
  let _ = serde_json::to_writer(&mut counter, value);
  counter.0
}

/// Reads `rows` until the JSON text of their items (`item` picks a row's item) would pass
/// `max_bytes` (every row when `None`); the first row is always kept, however large, so that
/// a page always moves on. Returns the rows kept and whether a row was left out for the bound.
pub fn rows_within<R, T: Serialize>(
  rows: impl Iterator<Item = rusqlite::Result<R>>,
  max_bytes: Option<u64>,
  item: impl Fn(&R) -> &T,
) -> Result<(Vec<R>, bool)> {
  let mut kept = Vec::new();
  let mut bytes = 0u64;
  for row in rows {
    let row = row?;
    if let Some(max) = max_bytes {
      bytes = bytes.saturating_add(json_len(item(&row)));
      if bytes > max && !kept.is_empty() {
        return Ok((kept, true));
      }
    }
    kept.push(row);
  }
  Ok((kept, false))
}

/// A writer that only counts bytes.
struct Counter(u64);

impl io::Write for Counter {
  fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
    self.0 += bytes.len() as u64;
    Ok(bytes.len())
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

/// A writer that keeps bytes while their UTF-16 length is within [`MAX_STRING_UNITS`], and
/// only counts them after.
struct Bounded {
  text: Vec<u8>,
  units: usize,
}

impl io::Write for Bounded {
  fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
    self.units += utf16_units(bytes);
    if self.units <= MAX_STRING_UNITS {
      self.text.extend_from_slice(bytes);
    } else if !self.text.is_empty() {
      self.text = Vec::new();
    }
    Ok(bytes.len())
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn utf16_units_count_characters_and_surrogate_pairs() {
    assert_eq!(utf16_units("abc".as_bytes()), 3);
    assert_eq!(utf16_units("é日".as_bytes()), 2);
    assert_eq!(utf16_units("😀".as_bytes()), 2);
    let text = "a😀é".as_bytes();
    assert_eq!(utf16_units(&text[..3]) + utf16_units(&text[3..]), 4);
  }

  #[test]
  fn json_text_is_kept_within_the_bound_and_refused_past_it() {
    assert_eq!(json_text(&vec!["a", "b"]).unwrap(), r#"["a","b"]"#);
    // 600 references to one stored JSON value of 1 MiB (written as it is, as log contents
    // are): 600 MiB of JSON, never held.
    let long = serde_json::value::RawValue::from_string(format!("\"{}\"", "x".repeat((1 << 20) - 2))).unwrap();
    let err = json_text(&vec![&long; 600]).unwrap_err();
    assert_eq!(err.code, ErrorCode::ResultTooLarge);
    assert!(err.message.contains(&format!("{} UTF-16 units", 600 * ((1 << 20) + 1) + 1)), "{err}");
    assert!(err.message.contains("maxBytes"), "{err}");
  }
}
