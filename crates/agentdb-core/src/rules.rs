//! The rules inputs are checked against, each defined once: the ranges of the numbers the
//! API takes and what a text or an id must hold. Every message says the same thing for the
//! same rule, wherever the value arrives.

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::{Error, Result};

/// An agent's (or a session's) `maxSteps`.
pub const MAX_STEPS: RangeInclusive<u64> = 1..=1_000_000;

/// How many rows one page of a list holds (`limit`).
pub const PAGE_LIMIT: RangeInclusive<u64> = 1..=1000;

/// How many bytes of rows one page may hold (`maxBytes`): at least one, at most 2^53 - 1.
pub const PAGE_MAX_BYTES: RangeInclusive<u64> = 1..=9_007_199_254_740_991;

/// `open`'s `maxLogBytes`: the largest a log's stored content and metadata may be (at
/// least 1 byte, at most 2^53 - 1).
pub const MAX_LOG_BYTES: RangeInclusive<u64> = 1..=9_007_199_254_740_991;

/// How many rows a list may skip (`offset`).
pub const PAGE_OFFSET: RangeInclusive<u64> = 0..=u32::MAX as u64;

/// A log id: positive, and exact as a JavaScript number (at most 2^53 - 1).
pub const LOG_ID: RangeInclusive<u64> = 1..=9_007_199_254_740_991;

/// A token count of a compaction checkpoint (`coveredTokens`, `summaryTokens`): zero or
/// more, exact as a JavaScript number.
pub const TOKEN_COUNT: RangeInclusive<u64> = 0..=9_007_199_254_740_991;

/// The most UTF-16 units (JavaScript's `length`) a checkpoint's summary may hold: a
/// summary stands in for a conversation inside a model's context, which is far shorter.
pub const SUMMARY_UNITS: usize = 1_000_000;

/// An integer a JavaScript number holds exactly (magnitude at most 2^53 - 1): the range of
/// every id and rowid this library hands back as a number. One beyond it (written by raw
/// SQL) is refused with `BAD_VALUE` rather than rounded.
pub const EXACT_INTEGER: RangeInclusive<i64> = -9_007_199_254_740_991..=9_007_199_254_740_991;

/// `open`'s `busyTimeoutMs`: how long a write waits for another connection's lock (at most
/// an hour).
pub const BUSY_TIMEOUT_MS: RangeInclusive<u64> = 0..=3_600_000;

/// A raw SQL call's `timeoutMs` and `open`'s `statementTimeoutMs`: how long a statement may
/// run (at least 1 ms, at most a day).
pub const STATEMENT_TIMEOUT_MS: RangeInclusive<u64> = 1..=86_400_000;

/// `close`'s `interruptAfterMs`: how long running calls may go on before close interrupts
/// them (at most an hour).
pub const INTERRUPT_AFTER_MS: RangeInclusive<u64> = 0..=3_600_000;

/// `open`'s `readers`: how many read connections a file database keeps.
pub const READERS: RangeInclusive<u64> = 1..=64;

/// `migrate`'s `limit`: how many pending migrations to apply at most.
pub const MIGRATION_LIMIT: RangeInclusive<u64> = 0..=u32::MAX as u64;

/// `open`'s `keepChanges`: how many of the newest change-log rows are kept.
pub const KEEP_CHANGES: RangeInclusive<u64> = 1..=1_000_000_000;

/// A change number given to `changesSince`: 0 (before the first change) up to 2^53 - 1.
pub const CHANGE_SEQ: RangeInclusive<u64> = 0..=9_007_199_254_740_991;

/// Checks that `n` is a whole number in `range`, and returns it.
pub fn whole(n: f64, range: &RangeInclusive<u64>, what: impl Display) -> Result<u64> {
  if n.is_finite() && n.fract() == 0.0 && n >= *range.start() as f64 && n <= *range.end() as f64 {
    return Ok(n as u64);
  }
  Err(out_of_range(n, range, what))
}

/// The error for a number outside `range`.
pub fn out_of_range(n: impl Display, range: &RangeInclusive<u64>, what: impl Display) -> Error {
  Error::invalid(format!("{what} must be a whole number from {} to {}, got {n}", range.start(), range.end()))
}

/// Checks that an id is not empty.
pub fn id(text: &str, what: impl Display) -> Result<()> {
  if text.is_empty() {
    return Err(Error::invalid(format!("{what} must not be empty")));
  }
  Ok(())
}

/// Checks that a name, a model or another required text holds more than white space.
pub fn text(text: &str, what: impl Display) -> Result<()> {
  if text.trim().is_empty() {
    return Err(Error::invalid(format!("{what} must not be empty")));
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_range_error_names_the_value_the_field_and_both_ends() {
    assert_eq!(whole(5.0, &PAGE_LIMIT, "limit").unwrap(), 5);
    for bad in [0.0, 1001.0, 1.5, f64::NAN, f64::INFINITY, -1.0] {
      let err = whole(bad, &PAGE_LIMIT, "options.limit").unwrap_err();
      assert!(err.message.starts_with("options.limit must be a whole number from 1 to 1000, got "), "{err}");
    }
    assert_eq!(whole(9_007_199_254_740_991.0, &LOG_ID, "id").unwrap(), 9_007_199_254_740_991);
  }

  #[test]
  fn ids_may_be_blank_but_not_empty_and_texts_not_blank() {
    assert!(id(" ", "id").is_ok());
    assert!(id("", "id").is_err());
    assert!(text(" \t", "input.name").unwrap_err().message.contains("input.name"));
  }
}
