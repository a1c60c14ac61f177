//! Reading input objects field by field, from any [`Source`]: the JSON tree of an input's
//! text ([`crate::input::tree`]), or a host value (the addon reads small option objects
//! straight from JavaScript through its own `Source`). Every error is an `INVALID_ARGUMENT` naming the field; unknown fields are
//! refused, so a misspelt option is an error, not a silent default. Field paths are only
//! rendered when an error needs them.

use std::fmt::{self, Display};
use std::ops::RangeInclusive;

use crate::error::{Error, Result};
use crate::input::Kind;
use crate::rules;

/// A value to read: a JavaScript value or a JSON value.
pub trait Source: Copy {
  /// The kind of value.
  fn kind(self) -> Kind;
  /// The string value; `what` names the value in errors.
  fn string(self, what: impl Display) -> Result<String>;
  /// The number value.
  fn number(self, what: impl Display) -> Result<f64>;
  /// The boolean value.
  fn boolean(self, what: impl Display) -> Result<bool>;
  /// The elements of an array.
  fn elements(self, what: impl Display) -> Result<Vec<Self>>;
  /// The own enumerable keys of an object.
  fn keys(self, what: impl Display) -> Result<Vec<String>>;
  /// A property of an object; `None` when absent or `undefined`.
  fn property(self, name: &str, what: impl Display) -> Result<Option<Self>>;

  /// Whether the value is `undefined` or `null`.
  fn is_nullish(self) -> bool {
    matches!(self.kind(), Kind::Undefined | Kind::Null)
  }

  /// An id: a string that is not empty ([`rules::id`]).
  fn id(self, what: impl Display) -> Result<String> {
    let id = self.string(&what)?;
    rules::id(&id, what)?;
    Ok(id)
  }

  /// A whole number in `range` ([`rules::whole`]).
  fn whole(self, what: impl Display, range: &RangeInclusive<u64>) -> Result<u64> {
    rules::whole(self.number(&what)?, range, what)
  }

  /// An array of strings.
  fn strings(self, what: impl Display) -> Result<Vec<String>> {
    self.elements(&what)?.into_iter().enumerate().map(|(i, e)| e.string(Element(&what, i))).collect()
  }
}

/// The error for a value of the wrong kind.
pub fn wrong_kind(what: impl Display, expected: &str, got: Kind) -> Error {
  Error::invalid(format!("{what} must be {expected}, got {}", got.name()))
}

/// `parent.name` (just `name` when the parent is a call's arguments, which have no name),
/// rendered when displayed.
#[derive(Clone, Copy)]
pub struct Field<'a> {
  parent: &'a str,
  name: &'a str,
}

impl Display for Field<'_> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self.parent {
      "" => f.write_str(self.name),
      parent => write!(f, "{parent}.{}", self.name),
    }
  }
}

/// `parent[index]`, rendered when displayed.
pub struct Element<W>(pub W, pub usize);

impl<W: Display> Display for Element<W> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}[{}]", self.0, self.1)
  }
}

/// The fields of one input or options object.
pub struct Fields<S> {
  object: Option<S>,
  what: String,
}

impl<S: Source> Fields<S> {
  /// Reads `value` as an object whose keys must be among `allowed` (a key whose value is
  /// `undefined` is absent, whatever its name); `undefined` and `null` are an empty object
  /// when `optional`.
  pub fn of(value: S, what: impl Display, allowed: &[&str], optional: bool) -> Result<Fields<S>> {
    match value.kind() {
      Kind::Object => {}
      Kind::Undefined | Kind::Null if optional => return Ok(Fields { object: None, what: what.to_string() }),
      other => return Err(wrong_kind(what, "an object", other)),
    }
    for key in value.keys(&what)? {
      if !allowed.contains(&key.as_str()) && value.property(&key, &what)?.is_some() {
        return Err(Error::invalid(format!("{what}: unknown field `{key}` (known fields: {})", allowed.join(", "))));
      }
    }
    Ok(Fields { object: Some(value), what: what.to_string() })
  }

  /// The path of a field, for messages: `input.name`.
  pub fn path<'a>(&'a self, name: &'a str) -> Field<'a> {
    Field { parent: &self.what, name }
  }

  /// The error for a missing required field.
  pub fn missing(&self, name: &str) -> Error {
    Error::invalid(format!("{} is required", self.path(name)))
  }

  /// The field, or `None` when it is absent, `undefined` or `null`.
  pub fn get(&self, name: &str) -> Result<Option<S>> {
    Ok(self.change(name)?.flatten())
  }

  /// A field of a patch: `None` when absent or `undefined` (keep), `Some(None)` for `null`
  /// (clear), `Some(Some(value))` to set.
  pub fn change(&self, name: &str) -> Result<Option<Option<S>>> {
    let Some(object) = self.object else { return Ok(None) };
    Ok(object.property(name, self.path(name))?.map(|v| if v.kind() == Kind::Null { None } else { Some(v) }))
  }

  /// An optional field read with `parse`, which gets the value and the field's path.
  pub fn parsed<T>(&self, name: &str, parse: impl FnOnce(S, &dyn Display) -> Result<T>) -> Result<Option<T>> {
    self.get(name)?.map(|v| parse(v, &self.path(name))).transpose()
  }

  /// A required field read with `parse`.
  pub fn required<T>(&self, name: &str, parse: impl FnOnce(S, &dyn Display) -> Result<T>) -> Result<T> {
    self.parsed(name, parse)?.ok_or_else(|| self.missing(name))
  }

  /// A field of a patch that cannot be cleared: `None` when absent (keep); `null` is
  /// refused, naming the field.
  pub fn non_null_change<T>(&self, name: &str, parse: impl FnOnce(S, &dyn Display) -> Result<T>) -> Result<Option<T>> {
    match self.change(name)? {
      None => Ok(None),
      Some(None) => Err(Error::invalid(format!("{} cannot be null (leave it out to keep the current value)", self.path(name)))),
      Some(Some(value)) => parse(value, &self.path(name)).map(Some),
    }
  }

  /// A nullable field of a patch read with `parse`.
  pub fn nullable_change<T>(&self, name: &str, parse: impl FnOnce(S, &dyn Display) -> Result<T>) -> Result<Option<Option<T>>> {
    self.change(name)?.map(|v| v.map(|v| parse(v, &self.path(name))).transpose()).transpose()
  }

  /// An optional string field.
  pub fn string(&self, name: &str) -> Result<Option<String>> {
    self.parsed(name, |v, p| v.string(p))
  }

  /// A required string field.
  pub fn required_string(&self, name: &str) -> Result<String> {
    self.required(name, |v, p| v.string(p))
  }

  /// A nullable string field of a patch.
  pub fn string_change(&self, name: &str) -> Result<Option<Option<String>>> {
    self.nullable_change(name, |v, p| v.string(p))
  }

  /// An optional boolean field.
  pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
    self.parsed(name, |v, p| v.boolean(p))
  }

  /// An optional whole-number field in `range`.
  pub fn whole(&self, name: &str, range: &RangeInclusive<u64>) -> Result<Option<u64>> {
    self.parsed(name, |v, p| v.whole(p, range))
  }

  /// An optional array-of-strings field.
  pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
    self.parsed(name, |v, p| v.strings(p))
  }
}
