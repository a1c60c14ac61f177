//! Where a large result's JSON text can be cut so that JavaScript builds it a piece at a time:
//! the elements of its one long array (the result itself when it is an array, as `addLogs` and
//! `batch` resolve with, or the `items` of a page), grouped into runs of about a given size.
//!
//! The text is the compact JSON this crate writes (no whitespace between tokens); a text of
//! any other shape has no cuts and is built whole.

use std::ops::Range;

/// Results with at least this many bytes of JSON text are built in pieces: parsing this much
/// takes V8 about a third of a millisecond.
pub const SLICED_FROM: usize = 64 * 1024;

/// The size a piece aims at: the elements of a piece add up to at least this many bytes
/// (the last one to fewer), and one piece is never less than one element.
pub const PIECE_BYTES: usize = 48 * 1024;

/// The cuts of one result's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cuts {
  /// The byte offset of the `[` that opens the array.
  pub open: usize,
  /// The byte offset of the `]` that closes it.
  pub close: usize,
  /// The pieces, in order: each the text of one or more whole elements with the commas between
  /// them, without the comma that ends it.
  pub pieces: Vec<Range<usize>>,
}

impl Cuts {
  /// Whether the array is the whole text (else it is the `items` of the top-level object).
  pub fn is_whole(&self) -> bool {
    self.open == 0
  }
}

/// Where a scan of JSON text is with respect to its strings.
#[derive(Default)]
struct Strings {
  /// Inside a string.
  within: bool,
  /// Just after a backslash inside a string.
  escaped: bool,
}

impl Strings {
  /// Takes the next byte; whether it belongs to a string (its opening and closing quotes
  /// included), so that the scan skips it.
  fn inside(&mut self, byte: u8) -> bool {
    if !self.within {
      self.within = byte == b'"';
      return self.within;
    }
    if self.escaped {
      self.escaped = false;
    } else if byte == b'\\' {
      self.escaped = true;
    } else if byte == b'"' {
      self.within = false;
    }
    true
  }
}

/// The cuts of `text` into pieces of about `piece_bytes`, or `None` when the text is neither
/// an array nor an object with an `items` array among its top-level fields.
pub fn cut(text: &str, piece_bytes: usize) -> Option<Cuts> {
  let bytes = text.as_bytes();
  let open = array_start(bytes)?;
  let mut pieces = Vec::new();
  let mut depth = 0usize;
  let mut strings = Strings::default();
  let mut start = open + 1;
  for (at, &byte) in bytes.iter().enumerate().skip(open + 1) {
    if strings.inside(byte) {
      continue;
    }
    match byte {
      b'[' | b'{' => depth += 1,
      b']' | b'}' if depth == 0 => {
        if start < at {
          pieces.push(start..at);
        }
        return Some(Cuts { open, close: at, pieces });
      }
      b']' | b'}' => depth -= 1,
      b',' if depth == 0 && at - start >= piece_bytes => {
        pieces.push(start..at);
        start = at + 1;
      }
      _ => {}
    }
  }
  None
}

/// The offset of the `[` of the array to cut: the first byte of an array, or the value of the
/// top-level field `items` of an object.
fn array_start(bytes: &[u8]) -> Option<usize> {
  const ITEMS: &[u8] = b"\"items\":[";
  match bytes.first()? {
    b'[' => Some(0),
    b'{' => {
      let mut depth = 0usize;
      let mut strings = Strings::default();
      for (at, &byte) in bytes.iter().enumerate() {
        // A key of the top-level object starts right after its `{` or a `,` at depth 1.
        if byte == b'"' && !strings.within && depth == 1 && matches!(bytes[at - 1], b'{' | b',') && bytes[at..].starts_with(ITEMS)
        {
          return Some(at + ITEMS.len() - 1);
        }
        if strings.inside(byte) {
          continue;
        }
        match byte {
          b'[' | b'{' => depth += 1,
          b']' | b'}' => depth = depth.saturating_sub(1),
          _ => {}
        }
      }
      None
    }
    _ => None,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Joins the pieces back into one array's text.
  fn rejoin(text: &str, cuts: &Cuts) -> String {
    let inner: Vec<&str> = cuts.pieces.iter().map(|piece| &text[piece.clone()]).collect();
    format!("[{}]", inner.join(","))
  }

  #[test]
  fn an_array_is_cut_between_whole_elements() {
    let text = r#"[{"a":"x,]}"},[1,[2,3]],"q\"],",4,{"b":{"c":[5]}}]"#;
    let cuts = cut(text, 1).unwrap();
    assert!(cuts.is_whole());
    assert_eq!(cuts.close, text.len() - 1);
    let elements: Vec<&str> = cuts.pieces.iter().map(|piece| &text[piece.clone()]).collect();
    assert_eq!(elements, [r#"{"a":"x,]}"}"#, "[1,[2,3]]", r#""q\"],""#, "4", r#"{"b":{"c":[5]}}"#]);
  }

  #[test]
  fn pieces_gather_elements_up_to_the_size() {
    let elements: Vec<String> = (0..100).map(|i| format!(r#"{{"id":{i},"text":"{}"}}"#, "y".repeat(i % 7))).collect();
    let text = format!("[{}]", elements.join(","));
    let cuts = cut(&text, 100).unwrap();
    assert!(cuts.pieces.len() > 5 && cuts.pieces.len() < 50, "{}", cuts.pieces.len());
    for piece in &cuts.pieces[..cuts.pieces.len() - 1] {
      assert!(piece.len() >= 100, "{piece:?}");
    }
    assert_eq!(rejoin(&text, &cuts), text);
    let parsed: serde_json::Value = serde_json::from_str(&rejoin(&text, &cuts)).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 100);
  }

  #[test]
  fn a_page_is_cut_in_its_items_only() {
    let text = r#"{"note":"\"items\":[9]","nested":{"items":[7]},"items":[1,2,3],"nextCursor":"c"}"#;
    let cuts = cut(text, 1).unwrap();
    assert!(!cuts.is_whole());
    assert_eq!(&text[cuts.open..=cuts.close], "[1,2,3]");
    assert_eq!(cuts.pieces.len(), 3);
    assert_eq!(
      format!("{}{}", &text[..=cuts.open], &text[cuts.close..]),
      r#"{"note":"\"items\":[9]","nested":{"items":[7]},"items":[],"nextCursor":"c"}"#
    );
  }

  #[test]
  fn empty_arrays_have_no_pieces_and_other_shapes_no_cuts() {
    assert_eq!(cut("[]", 1).unwrap().pieces, Vec::<Range<usize>>::new());
    assert_eq!(cut(r#"{"items":[]}"#, 1).unwrap().pieces, Vec::<Range<usize>>::new());
    assert_eq!(cut(r#"{"id":1}"#, 1), None);
    assert_eq!(cut(r#""[1,2]""#, 1), None);
    assert_eq!(cut("42", 1), None);
    assert_eq!(cut("", 1), None);
    assert_eq!(cut("[1,2", 1), None);
  }
}
