//! What a log's searchable text is, and how text is prepared for the index and matched.
//!
//! **The rule.** A log's searchable text is every string value of its JSON `content`, in
//! document order (object keys, numbers, booleans and null are left out), joined by line
//! breaks; an explicit `searchText` given with the log replaces it. A session's is its name
//! and its goal.
//!
//! **Preparation.** The index's tokenizer is SQLite's built-in `unicode61` (case folding,
//! diacritics removed), which splits text on what is not a letter, a digit or a
//! private-use character. Scripts written without spaces would come out as one token per
//! sentence, so [`prepare`] puts spaces around every CJK character (Han, Hiragana,
//! Katakana, Hangul, CJK punctuation aside): each becomes a token of its own, and a query
//! matches them as a phrase, exact in adjacency, whatever its length. Emoji and other
//! pictographs, which `unicode61` treats as separators, are each mapped to one private-use
//! character (a token of its own), so that they can be searched for too.

use serde_json::Value;

/// Whether `c` is written without spaces between words and is indexed one character per
/// token: Han (with its extensions and compatibility ideographs), Hiragana, Katakana
/// (half-width included), Bopomofo and Hangul (syllables and jamo).
pub fn is_cjk(c: char) -> bool {
  matches!(c as u32,
    0x1100..=0x11FF     // Hangul jamo
    | 0x3040..=0x309F   // Hiragana
    | 0x30A0..=0x30FF   // Katakana
    | 0x3100..=0x312F   // Bopomofo
    | 0x3130..=0x318F   // Hangul compatibility jamo
    | 0x31A0..=0x31BF   // Bopomofo extended
    | 0x31F0..=0x31FF   // Katakana phonetic extensions
    | 0x3400..=0x4DBF   // Han extension A
    | 0x4E00..=0x9FFF   // Han
    | 0xA960..=0xA97F   // Hangul jamo extended A
    | 0xAC00..=0xD7AF   // Hangul syllables
    | 0xD7B0..=0xD7FF   // Hangul jamo extended B
    | 0xF900..=0xFAFF   // Han compatibility ideographs
    | 0xFF66..=0xFF9F   // half-width Katakana
    | 0xFFA0..=0xFFDC   // half-width Hangul
    | 0x20000..=0x3FFFF // Han extensions B and later
  )
}

/// The private-use character a pictograph (emoji, dingbat, arrow or other symbol of the
/// ranges below) is indexed as, or `None` for every other character. Symbols of the Basic
/// Multilingual Plane map into Supplementary Private Use Area-A, the others into Area-B,
/// one to one.
pub fn pictograph_token(c: char) -> Option<char> {
  let code = c as u32;
  let mapped = match code {
    0x2190..=0x21FF | 0x2300..=0x23FF | 0x25A0..=0x27BF | 0x2900..=0x297F | 0x2B00..=0x2BFF => 0xF_0000 + code,
    0x1_F000..=0x1_FAFF => 0x10_0000 + (code - 0x1_0000),
    _ => return None,
  };
  char::from_u32(mapped)
}

/// Whether `c` belongs to a word: what `unicode61` keeps in tokens (letters, digits,
/// private-use characters), as far as this crate matches highlights.
fn is_word_char(c: char) -> bool {
  c.is_alphanumeric() || matches!(c as u32, 0xE000..=0xF8FF | 0xF_0000..=0xF_FFFD | 0x10_0000..=0x10_FFFD)
}

/// The searchable text of a log's content (see the module's rule).
pub fn of_content(content: &str) -> String {
  let Ok(value) = serde_json::from_str::<Value>(content) else { return String::new() };
  let mut out = String::new();
  let mut stack = vec![&value];
  // Depth-first, in document order, without recursion: content may nest deeply.
  while let Some(value) = stack.pop() {
    match value {
      Value::String(s) if !s.is_empty() => {
        if !out.is_empty() {
          out.push('\n');
        }
        out.push_str(s);
      }
      Value::Array(items) => stack.extend(items.iter().rev()),
      Value::Object(map) => stack.extend(map.values().rev()),
      _ => {}
    }
  }
  out
}

/// The searchable text of a session: its name and goal, one per line.
pub fn of_session(name: Option<&str>, goal: Option<&str>) -> String {
  [name, goal].into_iter().flatten().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n")
}

/// `text` as the index stores it: every CJK character and every pictograph (mapped by
/// [`pictograph_token`]) set apart by spaces; everything else unchanged.
pub fn prepare(text: &str) -> String {
  let mut out = String::with_capacity(text.len() + text.len() / 2);
  for c in text.chars() {
    if is_cjk(c) {
      out.push(' ');
      out.push(c);
      out.push(' ');
    } else if let Some(token) = pictograph_token(c) {
      out.push(' ');
      out.push(token);
      out.push(' ');
    } else {
      out.push(c);
    }
  }
  out
}

/// One token of a text, as [`tokens`] finds it: where it is and its folded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
  /// Byte offset of its first character in the text.
  pub start: usize,
  /// Byte offset just after its last character.
  pub end: usize,
  /// Lower-cased, diacritics removed (as the index folds it).
  pub folded: String,
}

/// The tokens of `text` as the index sees them: each CJK character or pictograph alone,
/// and runs of letters and digits, folded by [`fold`].
pub fn tokens(text: &str) -> Vec<Token> {
  let mut out = Vec::new();
  let mut word: Option<usize> = None;
  let close = |start: usize, end: usize, out: &mut Vec<Token>| {
    out.push(Token { start, end, folded: fold(&text[start..end]) });
  };
  for (at, c) in text.char_indices() {
    let alone = is_cjk(c) || pictograph_token(c).is_some();
    if alone || !is_word_char(c) {
      if let Some(start) = word.take() {
        close(start, at, &mut out);
      }
      if alone {
        close(at, at + c.len_utf8(), &mut out);
      }
    } else if word.is_none() {
      word = Some(at);
    }
  }
  if let Some(start) = word {
    close(start, text.len(), &mut out);
  }
  out
}

/// Whether `text` has a token at all (what [`tokens`] would find, without building them).
pub fn has_token(text: &str) -> bool {
  text.chars().any(|c| is_word_char(c) || is_cjk(c) || pictograph_token(c).is_some())
}

/// `text` lower-cased with the diacritics of Latin letters removed ("Café" → "cafe"), as
/// `unicode61` with `remove_diacritics 2` folds it; a pictograph becomes its token.
pub fn fold(text: &str) -> String {
  let mut out = String::with_capacity(text.len());
  for c in text.chars() {
    if let Some(token) = pictograph_token(c) {
      out.push(token);
      continue;
    }
    for lower in c.to_lowercase() {
      match base_letter(lower) {
        Some(base) => out.push_str(base),
        None if is_combining_mark(lower) => {}
        None => out.push(lower),
      }
    }
  }
  out
}

/// Combining diacritical marks, which folding drops.
fn is_combining_mark(c: char) -> bool {
  matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// The base letter(s) of a lower-case Latin letter with a diacritic (Latin-1 Supplement and
/// Latin Extended-A), or `None`.
fn base_letter(c: char) -> Option<&'static str> {
  Some(match c {
    'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
    'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
    'ď' | 'đ' => "d",
    'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
    'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
    'ĥ' | 'ħ' => "h",
    'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
    'ĵ' => "j",
    'ķ' => "k",
    'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
    'ñ' | 'ń' | 'ņ' | 'ň' => "n",
    'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
    'ŕ' | 'ŗ' | 'ř' => "r",
    'ś' | 'ŝ' | 'ş' | 'š' => "s",
    'ţ' | 'ť' | 'ŧ' => "t",
    'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
    'ŵ' => "w",
    'ý' | 'ÿ' | 'ŷ' => "y",
    'ź' | 'ż' | 'ž' => "z",
    _ => return None,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn content_text_is_its_string_values_in_document_order() {
    let text = of_content(r#"{"type":"text","parts":[{"text":"hello"},{"n":3,"ok":true}],"note":"wörld"}"#);
    assert_eq!(text, "text\nhello\nwörld");
    assert_eq!(of_content("42"), "");
    assert_eq!(of_content(r#""just a string""#), "just a string");
  }

  #[test]
  fn cjk_and_pictographs_stand_alone() {
    assert_eq!(prepare("我想搜索abc"), " 我  想  搜  索 abc");
    let folded: Vec<String> = tokens("Café 搜索 🎉ok").into_iter().map(|t| t.folded).collect();
    assert_eq!(folded, ["cafe", "搜", "索", "\u{10F389}", "ok"]);
    assert_eq!(fold("ÉCOLE"), "ecole");
  }
}
