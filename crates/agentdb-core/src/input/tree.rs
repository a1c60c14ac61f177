//! Inputs as they reach a database thread: the JSON text the encoder made, read in one pass
//! into a tree that borrows from the text. Log `content` and `metadata` are not parsed at
//! all: they stay the JSON text they arrived as, which is what the database stores, so an
//! appended log costs no tree of its content, no re-serialisation and no copy beyond the
//! one into the stored row.

use std::borrow::Cow;
use std::fmt::{self, Display};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};
use crate::input::fields::{wrong_kind, Source};
use crate::input::Kind;
use crate::json::{self, Json};

/// The fields whose values are kept as JSON text, wherever they appear.
const TEXT_FIELDS: [&str; 2] = ["content", "metadata"];

/// A JSON value read from an input's text.
#[derive(Clone, Debug)]
pub enum Input<'a> {
  /// `null`
  Null,
  /// `true` or `false`
  Bool(bool),
  /// A number.
  Number(Number),
  /// A string, borrowed from the text unless it held escapes.
  String(Cow<'a, str>),
  /// An array.
  Array(Vec<Input<'a>>),
  /// An object's fields, in the text's order.
  Object(Vec<(Cow<'a, str>, Input<'a>)>),
  /// The value of a field named in [`TEXT_FIELDS`], as its JSON text.
  Text(&'a RawValue),
}

/// Reads an argument from the JSON text the encoder made of it, with `read`. The encoder
/// has bounded the nesting (128 levels per JSON field, a few more for the input around it),
/// so serde_json's own limit of 128 levels for the whole text is lifted.
pub fn decode<T>(text: &str, what: &str, read: impl FnOnce(&Input, &str) -> Result<T>) -> Result<T> {
  let unreadable = |e: serde_json::Error| Error::invalid(format!("{what} cannot be read as JSON: {e}"));
  let mut deserializer = serde_json::Deserializer::from_str(text);
  deserializer.disable_recursion_limit();
  let input = Input::deserialize(&mut deserializer).map_err(unreadable)?;
  deserializer.end().map_err(unreadable)?;
  read(&input, what)
}

impl Input<'_> {
  /// The value as a `serde_json::Value`.
  pub fn to_value(&self) -> Value {
    match self {
      Input::Null => Value::Null,
      Input::Bool(b) => Value::Bool(*b),
      Input::Number(n) => Value::Number(n.clone()),
      Input::String(s) => Value::String(s.to_string()),
      Input::Array(items) => Value::Array(items.iter().map(Input::to_value).collect()),
      Input::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect::<Map<_, _>>()),
      Input::Text(raw) => parse(raw.get()),
    }
  }

  /// The value as JSON text to store.
  pub fn json(&self) -> Json {
    match self {
      Input::Text(raw) => (*raw).to_owned(),
      other => json::from_value(&other.to_value()),
    }
  }
}

/// Parses JSON text that serde_json has already checked, nesting limit lifted as in [`decode`].
fn parse(text: &str) -> Value {
  let mut deserializer = serde_json::Deserializer::from_str(text);
  deserializer.disable_recursion_limit();
  Value::deserialize(&mut deserializer).unwrap_or_else(|_| unreachable!("checked JSON text parses"))
}

impl<'a> Source for &Input<'a> {
  fn kind(self) -> Kind {
    match self {
      Input::Null => Kind::Null,
      Input::Bool(_) => Kind::Boolean,
      Input::Number(_) => Kind::Number,
      Input::String(_) => Kind::String,
      Input::Array(_) => Kind::Array,
      Input::Object(_) => Kind::Object,
      Input::Text(raw) => match raw.get().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't' | b'f') => Kind::Boolean,
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
      },
    }
  }
  fn string(self, what: impl Display) -> Result<String> {
    match self {
      Input::String(s) => Ok(s.to_string()),
      other => Err(wrong_kind(what, "a string", other.kind())),
    }
  }
  fn number(self, what: impl Display) -> Result<f64> {
    match self {
      Input::Number(n) => n.as_f64().ok_or_else(|| wrong_kind(what, "a number", Kind::Number)),
      other => Err(wrong_kind(what, "a number", other.kind())),
    }
  }
  fn boolean(self, what: impl Display) -> Result<bool> {
    match self {
      Input::Bool(b) => Ok(*b),
      other => Err(wrong_kind(what, "a boolean", other.kind())),
    }
  }
  fn elements(self, what: impl Display) -> Result<Vec<Self>> {
    match self {
      Input::Array(items) => Ok(items.iter().collect()),
      other => Err(wrong_kind(what, "an array", other.kind())),
    }
  }
  fn keys(self, what: impl Display) -> Result<Vec<String>> {
    match self {
      Input::Object(fields) => Ok(fields.iter().map(|(k, _)| k.to_string()).collect()),
      other => Err(wrong_kind(what, "an object", other.kind())),
    }
  }
  fn property(self, name: &str, _what: impl Display) -> Result<Option<Self>> {
    Ok(match self {
      Input::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
      _ => None,
    })
  }
}

impl<'de> Deserialize<'de> for Input<'de> {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
    deserializer.deserialize_any(InputVisitor)
  }
}

struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
  type Value = Input<'de>;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }
  fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
    Ok(Input::Null)
  }
  fn visit_bool<E>(self, b: bool) -> std::result::Result<Self::Value, E> {
    Ok(Input::Bool(b))
  }
  fn visit_i64<E>(self, n: i64) -> std::result::Result<Self::Value, E> {
    Ok(Input::Number(n.into()))
  }
  fn visit_u64<E>(self, n: u64) -> std::result::Result<Self::Value, E> {
    Ok(Input::Number(n.into()))
  }
  fn visit_f64<E>(self, n: f64) -> std::result::Result<Self::Value, E> {
    Ok(Number::from_f64(n).map_or(Input::Null, Input::Number))
  }
  fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
    Ok(Input::String(Cow::Borrowed(s)))
  }
  fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
    Ok(Input::String(Cow::Owned(s.to_string())))
  }
  fn visit_string<E>(self, s: String) -> std::result::Result<Self::Value, E> {
    Ok(Input::String(Cow::Owned(s)))
  }
  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(item) = seq.next_element()? {
      items.push(item);
    }
    Ok(Input::Array(items))
  }
  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
    let mut fields = Vec::new();
    while let Some(Key(key)) = map.next_key()? {
      let value = if TEXT_FIELDS.contains(&key.as_ref()) { Input::Text(map.next_value()?) } else { map.next_value()? };
      fields.push((key, value));
    }
    Ok(Input::Object(fields))
  }
}

/// An object key, borrowed from the text unless it held escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
    struct KeyVisitor;
    impl<'de> Visitor<'de> for KeyVisitor {
      type Value = Key<'de>;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
      }
      fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(s)))
      }
      fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(Key(Cow::Owned(s.to_string())))
      }
    }
    deserializer.deserialize_str(KeyVisitor)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn read(text: &str) -> Result<Value> {
    decode(text, "input", |v, _| Ok(v.to_value()))
  }

  #[test]
  fn content_and_metadata_stay_text_at_any_level() {
    let text = r#"{"op":"addLog","input":{"content":{"a":[1,{"b":"\u00e9"}]},"metadata":null,"role":"user"}}"#;
    decode(text, "ops", |v, _| {
      let input = v.property("input", "").unwrap().unwrap();
      match input.property("content", "").unwrap().unwrap() {
        Input::Text(raw) => assert_eq!(raw.get(), r#"{"a":[1,{"b":"\u00e9"}]}"#),
        other => panic!("content read as {other:?}"),
      }
      let metadata = input.property("metadata", "").unwrap().unwrap();
      assert_eq!(metadata.kind(), Kind::Null);
      assert_eq!(input.property("role", "").unwrap().unwrap().string("role").unwrap(), "user");
      Ok(())
    })
    .unwrap();
  }

  #[test]
  fn everything_else_reads_as_the_json_it_is() {
    let text = r#"{"s":"a\"b","n":-1.5,"i":9007199254740991,"t":true,"z":null,"l":[1,"x"],"o":{"content":[]}}"#;
    assert_eq!(read(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
  }

  #[test]
  fn unreadable_text_is_an_invalid_argument() {
    for text in ["", "{", "[1,]", "{} {}", r#"{"content":}"#] {
      let err = read(text).unwrap_err();
      assert_eq!(err.code, crate::error::ErrorCode::InvalidArgument, "{text}");
      assert!(err.message.starts_with("input cannot be read as JSON"), "{}", err.message);
    }
  }
}
