//! A trial's parameters: the JSON object `bench/run.js` passes as the second argument.

use std::path::PathBuf;

use serde_json::Value;

/// The parameters, read by name; a missing or mistyped one stops the run with its name.
pub struct Params(Value);

impl Params {
  /// Parses the argument.
  pub fn parse(text: &str) -> Params {
    Params(serde_json::from_str(text).unwrap_or_else(|e| panic!("parameters are not JSON: {e}")))
  }

  fn field(&self, name: &str) -> &Value {
    self.0.get(name).unwrap_or_else(|| panic!("parameter `{name}` is missing"))
  }

  /// A number.
  pub fn num(&self, name: &str) -> f64 {
    self.field(name).as_f64().unwrap_or_else(|| panic!("parameter `{name}` must be a number"))
  }

  /// A string.
  pub fn str(&self, name: &str) -> &str {
    self.field(name).as_str().unwrap_or_else(|| panic!("parameter `{name}` must be a string"))
  }

  /// A path.
  pub fn path(&self, name: &str) -> PathBuf {
    PathBuf::from(self.str(name))
  }
}
