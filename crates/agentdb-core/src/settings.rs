//! The settings: the configuration an agent has and a session may override (models, tools,
//! permissions, the step limit). [`SETTINGS`] is the one list of them; the agents' and the
//! sessions' columns, the input fields, the row readers, the statements and the effective
//! configuration are all built from it, so adding a setting is one line there plus a
//! migration that adds its column to both tables.

use std::ops::Index;
use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::Row;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::json::{self, Json};
use crate::model::PermissionMode;

/// What a setting's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
  /// A model id: a text that is not blank.
  Model,
  /// A list of ids or paths: a JSON array of strings.
  Strings,
  /// Free-form settings: a JSON object.
  Object,
  /// A permission mode.
  Mode,
  /// A step limit, in [`crate::rules::MAX_STEPS`].
  Steps,
}

/// What a new agent gets when its input leaves a setting out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentDefault {
  /// Nothing: the input must give it, and a patch cannot clear it.
  Required,
  /// `NULL`: the agent has none, and a patch may clear it.
  Null,
  /// This SQL literal; a patch cannot clear it.
  Sql(&'static str),
}

/// One setting.
#[derive(Debug)]
pub struct Setting {
  /// Which one.
  pub field: Field,
  /// Its name in JavaScript inputs and results.
  pub name: &'static str,
  /// Its column, in both `agents` and `sessions`.
  pub column: &'static str,
  /// What its value is.
  pub kind: SettingKind,
  /// What a new agent gets without it. (A session without it inherits its agent's.)
  pub agent_default: AgentDefault,
}

/// Defines [`Field`] and [`SETTINGS`] from one list.
macro_rules! settings {
  ($($(#[$doc:meta])* $field:ident: $name:literal, $column:literal, $kind:ident, $default:expr;)*) => {
    /// Names a setting: an index into [`SETTINGS`] and into every [`Settings`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Field {
      $($(#[$doc])* $field,)*
    }

    /// Every setting, in column order.
    pub const SETTINGS: [Setting; COUNT] = [
      $(Setting { field: Field::$field, name: $name, column: $column, kind: SettingKind::$kind, agent_default: $default },)*
    ];
  };
}

/// How many settings there are.
pub const COUNT: usize = 10;

settings! {
  /// The main model.
  Model: "model", "model", Model, AgentDefault::Required;
  /// The planning model.
  PlanModel: "planModel", "plan_model", Model, AgentDefault::Null;
  /// The small, fast model.
  SmallModel: "smallModel", "small_model", Model, AgentDefault::Null;
  /// Built-in tool ids.
  BuiltInTools: "builtInTools", "built_in_tools", Strings, AgentDefault::Sql("'[]'");
  /// MCP server ids.
  Mcps: "mcps", "mcps", Strings, AgentDefault::Sql("'[]'");
  /// Knowledge base ids.
  Knowledges: "knowledges", "knowledges", Strings, AgentDefault::Sql("'[]'");
  /// Free-form settings.
  Configuration: "configuration", "configuration", Object, AgentDefault::Sql("'{}'");
  /// Directories the agent may touch.
  AccessiblePaths: "accessiblePaths", "accessible_paths", Strings, AgentDefault::Sql("'[]'");
  /// What the agent may do without asking.
  PermissionMode: "permissionMode", "permission_mode", Mode, AgentDefault::Sql("'readOnly'");
  /// Most steps per run.
  MaxSteps: "maxSteps", "max_steps", Steps, AgentDefault::Sql("10");
}

/// The settings' columns, comma-separated, in [`SETTINGS`] order.
pub static COLUMNS: LazyLock<String> = LazyLock::new(|| SETTINGS.iter().map(|s| s.column).collect::<Vec<_>>().join(", "));

/// The settings' names in JavaScript, in [`SETTINGS`] order.
pub fn names() -> impl Iterator<Item = &'static str> {
  SETTINGS.iter().map(|s| s.name)
}

/// A setting's value.
#[derive(Clone, Debug)]
pub enum Value {
  /// A model id.
  Text(String),
  /// A list or an object, as JSON text.
  Json(Json),
  /// A permission mode.
  Mode(PermissionMode),
  /// A step limit.
  Steps(i64),
}

impl Value {
  /// The value as SQL stores it.
  pub fn sql(&self) -> SqlValue {
    match self {
      Value::Text(text) => text.clone().into(),
      Value::Json(json) => json.get().to_string().into(),
      Value::Mode(mode) => mode.as_str().to_string().into(),
      Value::Steps(steps) => (*steps).into(),
    }
  }

  /// Reads the column at `index` as a value of `kind`; `None` for `NULL`.
  fn read(row: &Row, index: usize, kind: SettingKind) -> rusqlite::Result<Option<Value>> {
    Ok(match kind {
      SettingKind::Model => row.get::<_, Option<String>>(index)?.map(Value::Text),
      SettingKind::Strings | SettingKind::Object => json::nullable_column(row, index)?.map(Value::Json),
      SettingKind::Mode => row.get::<_, Option<PermissionMode>>(index)?.map(Value::Mode),
      SettingKind::Steps => row.get::<_, Option<i64>>(index)?.map(Value::Steps),
    })
  }
}

/// Equal when the same kind holds the same value; JSON values compare by their text.
impl PartialEq for Value {
  fn eq(&self, other: &Value) -> bool {
    match (self, other) {
      (Value::Text(a), Value::Text(b)) => a == b,
      (Value::Json(a), Value::Json(b)) => a.get() == b.get(),
      (Value::Mode(a), Value::Mode(b)) => a == b,
      (Value::Steps(a), Value::Steps(b)) => a == b,
      _ => false,
    }
  }
}

impl Serialize for Value {
  fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    match self {
      Value::Text(text) => text.serialize(serializer),
      Value::Json(json) => json.serialize(serializer),
      Value::Mode(mode) => mode.serialize(serializer),
      Value::Steps(steps) => steps.serialize(serializer),
    }
  }
}

/// One `T` per setting, in [`SETTINGS`] order; indexed by [`Field`].
#[derive(Clone, Debug, PartialEq)]
pub struct Settings<T>(pub [T; COUNT]);

impl<T: Default> Default for Settings<T> {
  fn default() -> Self {
    Settings(std::array::from_fn(|_| T::default()))
  }
}

impl<T> Index<Field> for Settings<T> {
  type Output = T;
  fn index(&self, field: Field) -> &T {
    &self.0[field as usize]
  }
}

impl<T> Settings<T> {
  /// Builds one value per setting with `make`, stopping at the first error.
  pub fn try_from_fn<E>(mut make: impl FnMut(&'static Setting) -> Result<T, E>) -> Result<Settings<T>, E> {
    let mut values = Vec::with_capacity(COUNT);
    for setting in &SETTINGS {
      values.push(make(setting)?);
    }
    Ok(Settings(values.try_into().unwrap_or_else(|_| unreachable!("one value per setting"))))
  }

  /// Each setting with its value.
  pub fn iter(&self) -> impl Iterator<Item = (&'static Setting, &T)> {
    SETTINGS.iter().zip(&self.0)
  }

  /// Sets one value, returning the settings (for building them in code).
  pub fn with(mut self, field: Field, value: T) -> Settings<T> {
    self.0[field as usize] = value;
    self
  }
}

/// Stored settings: a value, or `None` for `NULL` (for a session: inherited from its agent).
pub type Stored = Settings<Option<Value>>;

impl Stored {
  /// Reads the settings' columns from `row`, starting at column `at`.
  pub fn read(row: &Row, at: usize) -> rusqlite::Result<Stored> {
    let mut index = at;
    Settings::try_from_fn(|setting| {
      let value = Value::read(row, index, setting.kind);
      index += 1;
      value
    })
  }

  /// These settings where they have a value, else `fallback`'s.
  pub fn over(&self, fallback: &Stored) -> Stored {
    Settings(std::array::from_fn(|i| self.0[i].clone().or_else(|| fallback.0[i].clone())))
  }
}

/// Serialised as the fields of the object around them (`#[serde(flatten)]`): one entry per
/// setting, `null` for none.
impl Serialize for Stored {
  fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(COUNT))?;
    for (setting, value) in self.iter() {
      map.serialize_entry(setting.name, value)?;
    }
    map.end()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_field_indexes_its_own_setting() {
    for (i, setting) in SETTINGS.iter().enumerate() {
      assert_eq!(setting.field as usize, i, "{setting:?}");
    }
    assert_eq!(COLUMNS.split(", ").count(), COUNT);
  }
}
