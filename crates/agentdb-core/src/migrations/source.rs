//! Where migrations come from: the built-in ones embedded by `build.rs`, the ones an app
//! registers at run time, and the canonical form their checksums are computed over.
//!
//! Resolving migrations (this module) is kept apart from applying them (`migrator`).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A migration compiled into the binary from `migrations/NNN_name.{up,down}.sql`.
pub struct BuiltinMigration {
  /// The id as written in the file name, e.g. `"001"`.
  pub id: &'static str,
  /// The file name's part after the id, e.g. `"initial_schema"`.
  pub name: &'static str,
  /// The `-- description:` header of the up file.
  pub description: &'static str,
  /// Whether the up file declares `-- foreign_keys: off`.
  pub foreign_keys_off: bool,
  /// The up file's text.
  pub up: &'static str,
  /// The down file's text.
  pub down: &'static str,
}

/// Every migration in `migrations/`, in id order, checked by `build.rs`.
pub const BUILTIN: &[BuiltinMigration] = include!(concat!(env!("OUT_DIR"), "/builtin_migrations.rs"));

/// Where a migration was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
  /// Compiled into this library from `migrations/`.
  Builtin,
  /// Registered by the application with `addMigration(s)`.
  App,
}

/// A migration ready to be applied: its SQL, identity and checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
  /// The id as given (`"001"`); ordering uses [`Migration::version`].
  pub id: String,
  /// The id's numeric value.
  pub version: u64,
  /// What the migration does, for people.
  pub description: String,
  /// When the migration was written (ISO-8601), if known.
  pub created_at: Option<String>,
  /// Statements to apply, in order; each may hold several SQL statements.
  pub up: Vec<String>,
  /// Statements that undo `up`, if the migration can be undone.
  pub down: Option<Vec<String>>,
  /// Whether foreign-key enforcement is switched off around this migration (table rebuilds).
  pub foreign_keys_off: bool,
  /// Built-in or app-defined.
  pub origin: Origin,
  /// SHA-256 of the canonical form of `up`, lowercase hex.
  pub checksum: String,
}

/// The fields of an app-defined migration, as the app gives them.
#[derive(Clone, Debug, Default)]
pub struct AppMigration {
  /// Numeric id string, e.g. `"003"`.
  pub id: String,
  /// What the migration does; must not be empty.
  pub description: String,
  /// Forward SQL; at least one non-empty statement.
  pub up: Vec<String>,
  /// Rollback SQL, if any.
  pub down: Option<Vec<String>>,
  /// When the migration was written (ISO-8601), if known.
  pub created_at: Option<String>,
  /// Switch foreign-key enforcement off around the migration.
  pub foreign_keys_off: bool,
}

/// Parses a migration id: one or more ASCII digits.
pub fn parse_id(id: &str) -> Result<u64> {
  if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
    return Err(Error::invalid(format!("migration id {id:?} must be a string of digits such as \"003\"")));
  }
  id.parse().map_err(|_| Error::invalid(format!("migration id {id:?} is too large")))
}

/// The canonical form of one SQL text: a leading byte-order mark dropped, and CRLF or lone
/// CR line endings turned into LF. A checkout that converts line endings (git's `autocrlf`
/// on Windows) therefore checksums the same as the original.
pub fn canonical(text: &str) -> String {
  text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n").replace('\r', "\n")
}

/// The checksum of a list of statements: SHA-256, in lowercase hex, over each statement's
/// canonical form preceded by its byte length and a colon and followed by a newline. The
/// length prefix keeps `["a;", "b"]` and `["a;b"]` apart. A built-in migration is one
/// statement: the up file's whole text.
pub fn checksum(statements: &[String]) -> String {
  let mut hasher = Sha256::new();
  for statement in statements {
    let text = canonical(statement);
    hasher.update(format!("{}:", text.len()).as_bytes());
    hasher.update(text.as_bytes());
    hasher.update(b"\n");
  }
  hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Migration {
  /// The migration for one built-in entry.
  pub fn from_builtin(builtin: &BuiltinMigration) -> Migration {
    let up = vec![builtin.up.to_string()];
    Migration {
      id: builtin.id.to_string(),
      version: parse_id(builtin.id).expect("build.rs checked the id"),
      description: builtin.description.to_string(),
      created_at: None,
      checksum: checksum(&up),
      up,
      down: Some(vec![builtin.down.to_string()]),
      foreign_keys_off: builtin.foreign_keys_off,
      origin: Origin::Builtin,
    }
  }

  /// Validates an app-defined migration and computes its checksum.
  pub fn from_app(app: AppMigration) -> Result<Migration> {
    let version = parse_id(&app.id)?;
    let name = format!("migration {}", app.id);
    if version == 0 {
      // `rollbackTo('000')` means "roll everything back": a migration 0 could never be undone.
      return Err(Error::invalid(format!("{name}: ids start at 001, as the built-in ones do")));
    }
    if app.description.trim().is_empty() {
      return Err(Error::invalid(format!("{name}: description must not be empty")));
    }
    if app.up.is_empty() {
      return Err(Error::invalid(format!("{name}: up must hold at least one SQL statement")));
    }
    let statements = app.up.iter().chain(app.down.iter().flatten());
    if let Some(position) = statements.clone().position(|s| s.trim().is_empty()) {
      return Err(Error::invalid(format!("{name}: SQL statement {position} is empty")));
    }
    Ok(Migration {
      id: app.id,
      version,
      description: app.description,
      created_at: app.created_at,
      checksum: checksum(&app.up),
      up: app.up,
      down: app.down.filter(|down| !down.is_empty()),
      foreign_keys_off: app.foreign_keys_off,
      origin: Origin::App,
    })
  }
}

/// The migrations one database knows: the built-in ones plus those the app registered, keyed
/// by version.
#[derive(Clone, Debug)]
pub struct MigrationSet {
  by_version: BTreeMap<u64, Migration>,
}

impl Default for MigrationSet {
  fn default() -> Self {
    MigrationSet::builtin()
  }
}

impl MigrationSet {
  /// The built-in migrations only.
  pub fn builtin() -> MigrationSet {
    let by_version = BUILTIN.iter().map(Migration::from_builtin).map(|m| (m.version, m)).collect();
    MigrationSet { by_version }
  }

  /// Registers migrations, all or none: a duplicate id (against the set or within `added`)
  /// rejects the whole call with `INVALID_ARGUMENT`.
  pub fn add(&mut self, added: Vec<Migration>) -> Result<()> {
    let mut next = self.by_version.clone();
    for migration in added {
      if let Some(existing) = next.get(&migration.version) {
        return Err(Error::invalid(format!(
          "migration {} has the same id as migration {} ({})",
          migration.id, existing.id, existing.description
        )));
      }
      next.insert(migration.version, migration);
    }
    self.by_version = next;
    Ok(())
  }

  /// The migration with this version, if known.
  pub fn get(&self, version: u64) -> Option<&Migration> {
    self.by_version.get(&version)
  }

  /// All migrations in version order.
  pub fn iter(&self) -> impl Iterator<Item = &Migration> {
    self.by_version.values()
  }

  /// How many migrations are known.
  pub fn len(&self) -> usize {
    self.by_version.len()
  }

  /// Whether no migration is known.
  pub fn is_empty(&self) -> bool {
    self.by_version.is_empty()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn app(id: &str) -> AppMigration {
    AppMigration { id: id.into(), description: "d".into(), up: vec!["CREATE TABLE t (x)".into()], ..Default::default() }
  }

  #[test]
  fn builtin_migrations_are_embedded_in_order() {
    let set = MigrationSet::builtin();
    let ids: Vec<&str> = set.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["001", "002"]);
    assert!(set.iter().all(|m| m.down.is_some() && !m.description.is_empty()));
  }

  #[test]
  fn checksum_ignores_line_endings_and_bom() {
    let lf = vec!["CREATE TABLE t (\n  x\n);\n".to_string()];
    let crlf = vec!["\u{feff}CREATE TABLE t (\r\n  x\r\n);\r\n".to_string()];
    let cr = vec!["CREATE TABLE t (\r  x\r);\r".to_string()];
    assert_eq!(checksum(&lf), checksum(&crlf));
    assert_eq!(checksum(&lf), checksum(&cr));
    assert_ne!(checksum(&lf), checksum(&["CREATE TABLE t (\n  y\n);\n".to_string()]));
    assert_ne!(checksum(&["a;".into(), "b".into()]), checksum(&["a;b".into()]));
    assert_eq!(checksum(&lf).len(), 64);
  }

  #[test]
  fn app_migrations_are_validated() {
    assert!(Migration::from_app(app("003")).is_ok());
    for bad in [
      AppMigration { id: "".into(), ..app("1") },
      AppMigration { id: "3a".into(), ..app("1") },
      AppMigration { id: "000".into(), ..app("1") },
      AppMigration { description: " ".into(), ..app("3") },
      AppMigration { up: vec![], ..app("3") },
      AppMigration { up: vec!["".into()], ..app("3") },
      AppMigration { down: Some(vec![" ".into()]), ..app("3") },
    ] {
      let err = Migration::from_app(bad).unwrap_err();
      assert_eq!(err.code, crate::error::ErrorCode::InvalidArgument);
    }
  }

  #[test]
  fn duplicates_are_refused_and_change_nothing() {
    let mut set = MigrationSet::builtin();
    let err = set.add(vec![Migration::from_app(app("003")).unwrap(), Migration::from_app(app("2")).unwrap()]).unwrap_err();
    assert!(err.message.contains("same id as migration 002"), "{err}");
    assert_eq!(set.len(), 2);
    set.add(vec![Migration::from_app(app("003")).unwrap()]).unwrap();
    assert!(set.add(vec![Migration::from_app(app("3")).unwrap()]).is_err());
    assert_eq!(set.len(), 3);
  }
}
