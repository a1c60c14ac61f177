//! The snippet of a hit: a window of its searchable text around the first match, and where
//! the matches are in it, as offsets in JavaScript string units (UTF-16 code units). The
//! snippet is plain text and the positions are numbers: nothing is marked up, so text an
//! agent wrote can never become markup.

use serde::Serialize;

use crate::search::text;

/// How many characters of text a snippet shows before its first match.
const BEFORE: usize = 40;
/// How many characters a snippet shows at most, ellipses aside.
const LENGTH: usize = 160;
/// What stands for text left out at either end.
const ELLIPSIS: char = '…';

/// A match inside a snippet: `snippet.slice(start, end)` in JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Highlight {
  /// Offset of the match's first UTF-16 code unit.
  pub start: usize,
  /// Offset just after its last.
  pub end: usize,
}

/// A snippet and its highlights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snippet {
  /// The text shown: part of the searchable text, line breaks and tabs as spaces, `…`
  /// where text is left out.
  pub snippet: String,
  /// The matches in it, in order, not overlapping.
  pub highlights: Vec<Highlight>,
}

/// Byte ranges of `source` where one of `phrases` (folded tokens) occurs, in order, merged
/// where they overlap.
fn matches(source: &str, phrases: &[Vec<String>]) -> Vec<(usize, usize)> {
  let tokens = text::tokens(source);
  let mut ranges = Vec::new();
  for phrase in phrases.iter().filter(|p| !p.is_empty()) {
    for (i, window) in tokens.windows(phrase.len()).enumerate() {
      if window.iter().zip(phrase).all(|(token, want)| token.folded == *want) {
        ranges.push((tokens[i].start, tokens[i + phrase.len() - 1].end));
      }
    }
  }
  ranges.sort_unstable();
  let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
  for (start, end) in ranges {
    match merged.last_mut() {
      Some(last) if start <= last.1 => last.1 = last.1.max(end),
      _ => merged.push((start, end)),
    }
  }
  merged
}

/// The byte offset `chars` characters before (negative) or after `from` in `source`,
/// stopping at either end.
fn step(source: &str, from: usize, chars: isize) -> usize {
  if chars < 0 {
    source[..from].char_indices().rev().nth((-chars - 1) as usize).map_or(0, |(at, _)| at)
  } else {
    source[from..].char_indices().nth(chars as usize).map_or(source.len(), |(at, _)| from + at)
  }
}

/// The snippet of `source` for a query's `phrases`: the text from [`BEFORE`] characters
/// before the first match, at most [`LENGTH`] characters; the start of the text when
/// nothing matches (a match the query found through a fold this crate does not know).
pub fn snippet(source: &str, phrases: &[Vec<String>]) -> Snippet {
  let found = matches(source, phrases);
  let first = found.first().map_or(0, |m| m.0);
  let mut start = step(source, first, -(BEFORE as isize));
  // Start at a word's beginning when one is near.
  if start > 0 {
    if let Some(space) = source[start..first].find(char::is_whitespace) {
      start += space + 1;
    }
  }
  let end = step(source, start, LENGTH as isize);
  let mut out = String::with_capacity(end - start + 8);
  let mut units = 0;
  if start > 0 {
    out.push(ELLIPSIS);
    units += ELLIPSIS.len_utf16();
  }
  let mut highlights = Vec::new();
  let mut pending = found.iter().filter(|m| m.0 >= start && m.1 <= end).peekable();
  let mut open: Option<(usize, usize)> = None;
  for (at, c) in source[start..end].char_indices().map(|(i, c)| (start + i, c)) {
    if let Some(&&(m_start, m_end)) = pending.peek() {
      if at == m_start {
        open = Some((units, m_end));
        pending.next();
      }
    }
    out.push(if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c });
    units += c.len_utf16();
    if let Some((from, m_end)) = open {
      if at + c.len_utf8() == m_end {
        highlights.push(Highlight { start: from, end: units });
        open = None;
      }
    }
  }
  if end < source.len() {
    out.push(ELLIPSIS);
  }
  Snippet { snippet: out, highlights }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn utf16_slice(s: &str, h: &Highlight) -> String {
    String::from_utf16(&s.encode_utf16().collect::<Vec<_>>()[h.start..h.end]).unwrap()
  }

  #[test]
  fn highlights_are_utf16_offsets_into_the_snippet() {
    let phrases = vec![vec!["搜".to_string(), "索".to_string()], vec!["cafe".to_string()]];
    let s = snippet("🎉 我想搜索一下 Café\nnow", &phrases);
    assert_eq!(s.snippet, "🎉 我想搜索一下 Café now");
    let found: Vec<String> = s.highlights.iter().map(|h| utf16_slice(&s.snippet, h)).collect();
    assert_eq!(found, ["搜索", "Café"]);
  }

  #[test]
  fn long_text_is_cut_around_the_first_match() {
    let source = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
    let s = snippet(&source, &[vec!["needle".to_string()]]);
    assert!(s.snippet.starts_with('…') && s.snippet.ends_with('…'), "{}", s.snippet);
    assert_eq!(utf16_slice(&s.snippet, &s.highlights[0]), "needle");
    assert!(s.snippet.chars().count() <= LENGTH + 2);
  }
}
