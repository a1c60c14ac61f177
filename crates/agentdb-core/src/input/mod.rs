//! Reading inputs into core types: the JSON tree an input's text is read into ([`tree`]), the
//! field-by-field reader every input and option object goes through ([`fields`]), and the
//! readers of each call's inputs ([`read`]). Every error is an `INVALID_ARGUMENT` naming
//! the field.

pub mod fields;
pub mod read;
pub mod tree;

/// The kinds of value an input is checked against (JavaScript's, which JSON values are a
/// subset of).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
  /// `undefined`
  Undefined,
  /// `null`
  Null,
  /// a boolean
  Boolean,
  /// a number
  Number,
  /// a string
  String,
  /// an array
  Array,
  /// any other object
  Object,
  /// a function
  Function,
  /// a bigint
  BigInt,
  /// a symbol or an external
  Symbol,
}

impl Kind {
  /// The name used in error messages.
  pub fn name(self) -> &'static str {
    match self {
      Kind::Undefined => "undefined",
      Kind::Null => "null",
      Kind::Boolean => "a boolean",
      Kind::Number => "a number",
      Kind::String => "a string",
      Kind::Array => "an array",
      Kind::Object => "an object",
      Kind::Function => "a function",
      Kind::BigInt => "a bigint",
      Kind::Symbol => "a symbol",
    }
  }
}
