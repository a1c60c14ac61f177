//! What a user types, turned into an FTS5 query for the index, and the phrases whose
//! matches a snippet highlights.
//!
//! **Plain syntax** (the default), for whatever a user types: words separated by spaces
//! must all be found; text in double quotes is a phrase (an unclosed quote runs to the
//! end); nothing else is special, so `*`, `-`, `OR`, `NEAR`, parentheses and stray quotes
//! are searched for as the words they contain (punctuation alone matches nothing). CJK text
//! is found as a phrase of its characters wherever it occurs, at any length.
//!
//! **FTS5 syntax** (`syntax: 'fts5'`): SQLite's own query language (`AND`, `OR`, `NOT`,
//! `NEAR`, `*` prefixes, parentheses, quoted phrases), with each run of CJK characters
//! outside quotes searched as a phrase. A query SQLite cannot parse is refused with
//! `QUERY_SYNTAX`.

use crate::error::{Error, ErrorCode, Result};
use crate::search::text::{self, Token};

/// Which query language the text is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Syntax {
  /// Words and quoted phrases; never an error.
  #[default]
  Plain,
  /// SQLite FTS5's query syntax.
  Fts5,
}

impl Syntax {
  /// Reads `'plain'` or `'fts5'`.
  pub fn parse(text: &str, what: impl std::fmt::Display) -> Result<Syntax> {
    match text {
      "plain" => Ok(Syntax::Plain),
      "fts5" => Ok(Syntax::Fts5),
      other => Err(Error::invalid(format!("{what} must be 'plain' or 'fts5', got {other:?}"))),
    }
  }
}

/// A query ready for the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
  /// The FTS5 `MATCH` expression; `None` when the text holds nothing to search for (the
  /// result is then empty).
  pub expression: Option<String>,
  /// The phrases to highlight, each as its folded tokens.
  pub phrases: Vec<Vec<String>>,
}

impl Query {
  /// Reads `input` in `syntax`. Plain syntax never fails; FTS5 syntax is checked when it
  /// runs (see [`syntax_error`]).
  pub fn parse(input: &str, syntax: Syntax) -> Query {
    match syntax {
      Syntax::Plain => plain(input),
      Syntax::Fts5 => fts5(input),
    }
  }
}

/// A phrase's FTS5 string: the prepared text in double quotes (quotes doubled), which the
/// index's own tokenizer splits into the phrase's tokens.
fn quoted(text: &str) -> String {
  format!("\"{}\"", text::prepare(text).replace('"', "\"\""))
}

fn folded(tokens: Vec<Token>) -> Vec<String> {
  tokens.into_iter().map(|t| t.folded).collect()
}

/// The terms of plain syntax: words, and phrases in double quotes.
fn plain_terms(input: &str) -> Vec<&str> {
  let mut terms = Vec::new();
  let mut rest = input;
  loop {
    rest = rest.trim_start();
    if rest.is_empty() {
      return terms;
    }
    if let Some(inner) = rest.strip_prefix('"') {
      let (phrase, after) = inner.split_once('"').unwrap_or((inner, ""));
      terms.push(phrase);
      rest = after;
    } else {
      let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
      terms.push(&rest[..end]);
      rest = &rest[end..];
    }
  }
}

fn plain(input: &str) -> Query {
  let mut parts = Vec::new();
  let mut phrases = Vec::new();
  for term in plain_terms(input) {
    let tokens = text::tokens(term);
    // A term of punctuation alone has no token: it cannot match, and is left out rather
    // than given to FTS5 as an empty phrase.
    if tokens.is_empty() {
      continue;
    }
    parts.push(quoted(term));
    phrases.push(folded(tokens));
  }
  Query { expression: if parts.is_empty() { None } else { Some(parts.join(" ")) }, phrases }
}

/// FTS5 syntax: the text as written, with each run of CJK characters or pictographs
/// outside double quotes turned into a quoted phrase, and text inside quotes prepared.
fn fts5(input: &str) -> Query {
  const OPERATORS: [&str; 4] = ["AND", "OR", "NOT", "NEAR"];
  let mut out = String::with_capacity(input.len() * 2);
  let mut phrases = Vec::new();
  let mut chars = input.char_indices().peekable();
  let mut word_start: Option<usize> = None;
  let end_word = |start: Option<usize>, end: usize, phrases: &mut Vec<Vec<String>>| {
    if let Some(start) = start {
      let word = &input[start..end];
      if !OPERATORS.contains(&word) {
        let tokens = folded(text::tokens(word));
        if !tokens.is_empty() {
          phrases.push(tokens);
        }
      }
    }
  };
  while let Some((at, c)) = chars.next() {
    let alone = text::is_cjk(c) || text::pictograph_token(c).is_some();
    if c == '"' {
      end_word(word_start.take(), at, &mut phrases);
      // A quoted string runs to the next quote that is not doubled.
      let mut inner = String::new();
      let mut closed = false;
      while let Some((_, c)) = chars.next() {
        if c == '"' {
          if chars.peek().is_some_and(|&(_, next)| next == '"') {
            chars.next();
            inner.push('"');
            continue;
          }
          closed = true;
          break;
        }
        inner.push(c);
      }
      out.push('"');
      out.push_str(&text::prepare(&inner).replace('"', "\"\""));
      if closed {
        out.push('"');
      }
      let tokens = folded(text::tokens(&inner));
      if !tokens.is_empty() {
        phrases.push(tokens);
      }
    } else if alone {
      end_word(word_start.take(), at, &mut phrases);
      let mut run = String::from(c);
      while let Some(&(_, next)) = chars.peek() {
        if !(text::is_cjk(next) || text::pictograph_token(next).is_some()) {
          break;
        }
        run.push(next);
        chars.next();
      }
      out.push(' ');
      out.push_str(&quoted(&run));
      out.push(' ');
      phrases.push(folded(text::tokens(&run)));
    } else {
      if c.is_alphanumeric() || c == '_' {
        word_start.get_or_insert(at);
      } else {
        end_word(word_start.take(), at, &mut phrases);
      }
      out.push(c);
    }
  }
  end_word(word_start, input.len(), &mut phrases);
  let expression = if out.trim().is_empty() { None } else { Some(out) };
  Query { expression, phrases }
}

/// Turns SQLite's refusal of the `MATCH` expression into `QUERY_SYNTAX` (the rest of a
/// search's SQL is the library's own, so an SQL error can only be the expression's).
pub fn syntax_error(err: Error, input: &str) -> Error {
  if err.code == ErrorCode::SqlError {
    Error::new(ErrorCode::QuerySyntax, format!("query {input:?} is not valid FTS5 query syntax: {}", err.message))
  } else {
    err
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn plain_words_are_quoted_and_all_required() {
    let q = Query::parse(r#"hello "big world" -x* ( " lone"#, Syntax::Plain);
    assert_eq!(q.expression.as_deref(), Some(r#""hello" "big world" "-x*" " lone""#));
    assert_eq!(q.phrases, [vec!["hello"], vec!["big", "world"], vec!["x"], vec!["lone"]]);
    assert_eq!(Query::parse(" ( * - \"\" ", Syntax::Plain).expression, None);
    assert_eq!(Query::parse("搜索", Syntax::Plain).expression.as_deref(), Some("\" 搜  索 \""));
  }

  #[test]
  fn fts5_syntax_keeps_operators_and_quotes_cjk_runs() {
    let q = Query::parse("foo OR 搜索*", Syntax::Fts5);
    assert_eq!(q.expression.as_deref(), Some("foo OR  \" 搜  索 \" *"));
    assert_eq!(q.phrases, [vec!["foo".to_string()], vec!["搜".into(), "索".into()]]);
  }
}
