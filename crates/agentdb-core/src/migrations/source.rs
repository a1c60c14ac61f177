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
  /// The tables the up file's `-- rebuilds:` header names.
  pub rebuilds: &'static [&'static str],
  /// The up file's text.
  pub up: &'static str,
  /// The down file's text.
  pub down: &'static str,
}

/// Every migration in `migrations/`, in id order, checked by `build.rs`.
pub const BUILTIN: &[BuiltinMigration] = include!(concat!(env!("OUT_DIR"), "/builtin_migrations.rs"));

/// The namespace of the library's own migrations (those of `migrations/`).
pub const LIBRARY: &str = "agentdb";

/// The namespace `addMigration(s)` registers into when the migration names none.
pub const APP: &str = "app";

/// The longest migration id accepted, in digits (a timestamp id has 14).
pub const MAX_ID_DIGITS: usize = 64;

/// The longest namespace name accepted.
pub const MAX_NAMESPACE_LENGTH: usize = 100;

/// A migration id's numeric value: its digits without leading zeros. Versions compare as
/// numbers whatever their length (`"003"` < `"101"` < `"20240101120000"`), and two ids
/// with the same value (`"3"`, `"003"`) name the same migration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
  /// How many significant digits; compared first, so a longer number is larger.
  length: usize,
  /// The significant digits (`"0"` for zero).
  digits: String,
}

impl Version {
  /// The version of an id: one to [`MAX_ID_DIGITS`] ASCII digits.
  pub fn parse(id: &str) -> Result<Version> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
      return Err(Error::invalid(format!(
        "migration id {id:?} must be a string of digits such as \"003\" or \"20240101120000\""
      )));
    }
    if id.len() > MAX_ID_DIGITS {
      return Err(Error::invalid(format!("migration id {id:?} is longer than {MAX_ID_DIGITS} digits")));
    }
    Ok(Version::of_digits(id.trim_start_matches('0')))
  }

  fn of_digits(significant: &str) -> Version {
    let digits = if significant.is_empty() { "0".to_string() } else { significant.to_string() };
    Version { length: digits.len(), digits }
  }

  /// Whether this is version 0, which `rollbackTo('000')` means: before every migration.
  pub fn is_zero(&self) -> bool {
    self.digits == "0"
  }

  /// The version as an id of at least `width` digits (zero-padded, as `003`).
  pub fn padded(&self, width: usize) -> String {
    format!("{:0>width$}", self.digits)
  }

  /// The next version.
  pub fn next(&self) -> Version {
    let mut digits: Vec<u8> = self.digits.bytes().collect();
    let mut i = digits.len();
    loop {
      if i == 0 {
        digits.insert(0, b'1');
        break;
      }
      i -= 1;
      if digits[i] == b'9' {
        digits[i] = b'0';
      } else {
        digits[i] += 1;
        break;
      }
    }
    Version::of_digits(std::str::from_utf8(&digits).unwrap_or_else(|_| unreachable!("ASCII digits")))
  }

  /// The version before this one (zero stays zero).
  pub fn previous(&self) -> Version {
    if self.is_zero() {
      return self.clone();
    }
    let mut digits: Vec<u8> = self.digits.bytes().collect();
    let mut i = digits.len();
    while i > 0 {
      i -= 1;
      if digits[i] == b'0' {
        digits[i] = b'9';
      } else {
        digits[i] -= 1;
        break;
      }
    }
    let text = std::str::from_utf8(&digits).unwrap_or_else(|_| unreachable!("ASCII digits"));
    Version::of_digits(text.trim_start_matches('0'))
  }
}

/// Checks a namespace name: 1 to [`MAX_NAMESPACE_LENGTH`] letters, digits or `_ - . @ /`
/// (a package name such as `@acme/notes` works).
pub fn check_namespace(name: &str) -> Result<()> {
  let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.@/".contains(c);
  if name.is_empty() || name.len() > MAX_NAMESPACE_LENGTH || !name.chars().all(allowed) {
    return Err(Error::invalid(format!(
      "namespace {name:?} must be 1 to {MAX_NAMESPACE_LENGTH} letters, digits or _ - . @ / (for example \"app\" or \"@acme/notes\")"
    )));
  }
  Ok(())
}

/// A migration ready to be applied: its identity, SQL and checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
  /// Whose migration it is: [`LIBRARY`], [`APP`] or a plugin's name. With the id, its identity.
  pub namespace: String,
  /// The id as given (`"001"`); ordering uses [`Migration::version`].
  pub id: String,
  /// The id's numeric value.
  pub version: Version,
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
  /// The library's tables this migration rebuilds (built-in migrations only): what an app
  /// added to them is kept across the rebuild, or the migration refuses to run.
  pub rebuilds: Vec<String>,
  /// The library migration this one was written against (an app migration that relies on
  /// the library's schema at that version or later); validation refuses to run it on a build
  /// whose library migrations stop short of it.
  pub requires: Option<(String, Version)>,
  /// SHA-256 of the canonical form of `up`, lowercase hex.
  pub checksum: String,
}

/// The fields of an app-defined migration, as the app gives them.
#[derive(Clone, Debug, Default)]
pub struct AppMigration {
  /// Whose migration: [`APP`] when `None`, or a plugin's namespace.
  pub namespace: Option<String>,
  /// Numeric id string, e.g. `"003"` or `"20240101120000"`.
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
  /// The id of the library migration it was written against, if it says.
  pub requires: Option<String>,
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
      namespace: LIBRARY.to_string(),
      id: builtin.id.to_string(),
      version: Version::parse(builtin.id).unwrap_or_else(|_| unreachable!("build.rs checked the id")),
      description: builtin.description.to_string(),
      created_at: None,
      checksum: checksum(&up),
      up,
      down: Some(vec![builtin.down.to_string()]),
      foreign_keys_off: builtin.foreign_keys_off,
      rebuilds: builtin.rebuilds.iter().map(|t| t.to_string()).collect(),
      requires: None,
    }
  }

  /// Validates an app-defined migration and computes its checksum.
  pub fn from_app(app: AppMigration) -> Result<Migration> {
    let namespace = app.namespace.unwrap_or_else(|| APP.to_string());
    check_namespace(&namespace)?;
    if namespace == LIBRARY {
      return Err(Error::invalid(format!(
        "migration {}: the namespace {LIBRARY:?} holds the library's own migrations; register the app's in {APP:?} (the default) or a name of its own",
        app.id
      )));
    }
    let version = Version::parse(&app.id)?;
    let name = format!("migration {}", app.id);
    if version.is_zero() {
      // `rollbackTo('000')` means "roll everything back": a migration 0 could never be undone.
      return Err(Error::invalid(format!("{name}: ids start at 1 (\"001\"), as the built-in ones do")));
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
    let requires = match app.requires {
      None => None,
      Some(id) => {
        let version = Version::parse(&id).map_err(|e| e.context(format!("{name}: requires")))?;
        if version.is_zero() {
          return Err(Error::invalid(format!("{name}: requires names a library migration, and their ids start at 1")));
        }
        Some((id, version))
      }
    };
    Ok(Migration {
      namespace,
      id: app.id,
      version,
      description: app.description,
      created_at: app.created_at,
      checksum: checksum(&app.up),
      up: app.up,
      down: app.down.filter(|down| !down.is_empty()),
      foreign_keys_off: app.foreign_keys_off,
      rebuilds: Vec::new(),
      requires,
    })
  }

  /// Whether this is one of the library's own migrations.
  pub fn is_builtin(&self) -> bool {
    self.namespace == LIBRARY
  }

  /// `id` in `namespace`, for messages: `agentdb 003`, `app 003`.
  pub fn name(&self) -> String {
    format!("{} {}", self.namespace, self.id)
  }
}

/// The migrations one database knows: the built-in ones plus those the app registered, in
/// the order they run: the library's first, then each other namespace in the order it was
/// first registered, each in version order.
#[derive(Clone, Debug)]
pub struct MigrationSet {
  /// The namespaces in run order, the library's first.
  namespaces: Vec<String>,
  by_key: BTreeMap<(usize, Version), Migration>,
}

impl Default for MigrationSet {
  fn default() -> Self {
    MigrationSet::builtin()
  }
}

impl MigrationSet {
  /// The built-in migrations only.
  pub fn builtin() -> MigrationSet {
    let by_key = BUILTIN.iter().map(Migration::from_builtin).map(|m| ((0, m.version.clone()), m)).collect();
    MigrationSet { namespaces: vec![LIBRARY.to_string()], by_key }
  }

  /// Registers migrations, all or none: one whose namespace and id are taken (in the set or
  /// within `added`) rejects the whole call with `INVALID_ARGUMENT`.
  pub fn add(&mut self, added: Vec<Migration>) -> Result<()> {
    let mut next = self.clone();
    for migration in added {
      let rank = match next.namespaces.iter().position(|n| *n == migration.namespace) {
        Some(rank) => rank,
        None => {
          next.namespaces.push(migration.namespace.clone());
          next.namespaces.len() - 1
        }
      };
      let key = (rank, migration.version.clone());
      if let Some(existing) = next.by_key.get(&key) {
        return Err(Error::invalid(format!(
          "migration {} has the same id as migration {} ({}) of the namespace {:?}",
          migration.id, existing.id, existing.description, existing.namespace
        )));
      }
      next.by_key.insert(key, migration);
    }
    *self = next;
    Ok(())
  }

  /// The migration of `namespace` with this version, if known.
  pub fn get(&self, namespace: &str, version: &Version) -> Option<&Migration> {
    let rank = self.rank(namespace)?;
    self.by_key.get(&(rank, version.clone()))
  }

  /// Where `namespace` runs among the known ones (0 for the library's), if known.
  pub fn rank(&self, namespace: &str) -> Option<usize> {
    self.namespaces.iter().position(|n| n == namespace)
  }

  /// The known namespaces, in run order.
  pub fn namespaces(&self) -> &[String] {
    &self.namespaces
  }

  /// All migrations in run order.
  pub fn iter(&self) -> impl Iterator<Item = &Migration> {
    self.by_key.values()
  }

  /// The migrations of one namespace, in version order.
  pub fn of_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Migration> {
    self.iter().filter(move |m| m.namespace == namespace)
  }

  /// How many migrations are known.
  pub fn len(&self) -> usize {
    self.by_key.len()
  }

  /// Whether no migration is known.
  pub fn is_empty(&self) -> bool {
    self.by_key.is_empty()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn app(id: &str) -> AppMigration {
    AppMigration { id: id.into(), description: "d".into(), up: vec!["CREATE TABLE t (x)".into()], ..Default::default() }
  }

  #[test]
  fn versions_compare_as_numbers_of_any_length() {
    let v = |id: &str| Version::parse(id).unwrap();
    assert!(v("003") < v("101") && v("101") < v("20240101120000"));
    assert_eq!(v("3"), v("003"));
    assert_eq!(v("000"), v("0"));
    assert!(v("0").is_zero());
    assert_eq!(v("099").next(), v("100"));
    assert_eq!(v("999").next(), v("1000"));
    assert_eq!(v("100").previous(), v("99"));
    assert_eq!(v("1").previous(), v("0"));
    assert_eq!(v("7").padded(3), "007");
    assert!(Version::parse(&"9".repeat(MAX_ID_DIGITS)).is_ok());
    assert!(Version::parse(&"9".repeat(MAX_ID_DIGITS + 1)).is_err());
  }

  #[test]
  fn builtin_migrations_are_embedded_in_order() {
    let set = MigrationSet::builtin();
    let ids: Vec<&str> = set.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, BUILTIN.iter().map(|b| b.id).collect::<Vec<_>>());
    assert!(set.iter().all(|m| m.is_builtin() && m.down.is_some() && !m.description.is_empty()));
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
      AppMigration { namespace: Some(LIBRARY.into()), ..app("3") },
      AppMigration { namespace: Some("".into()), ..app("3") },
      AppMigration { namespace: Some("has space".into()), ..app("3") },
      AppMigration { requires: Some("two".into()), ..app("3") },
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
    let err = set.add(vec![Migration::from_app(app("003")).unwrap(), Migration::from_app(app("3")).unwrap()]).unwrap_err();
    assert!(err.message.contains("same id as migration 003"), "{err}");
    assert_eq!(set.len(), BUILTIN.len());
    // The app's 002 is not the library's 002: each namespace has its own sequence.
    set.add(vec![Migration::from_app(app("002")).unwrap()]).unwrap();
    assert!(set.add(vec![Migration::from_app(app("2")).unwrap()]).is_err());
    let plugin = AppMigration { namespace: Some("@acme/notes".into()), ..app("002") };
    set.add(vec![Migration::from_app(plugin).unwrap()]).unwrap();
    assert_eq!(set.len(), BUILTIN.len() + 2);
    assert_eq!(set.namespaces(), [LIBRARY, APP, "@acme/notes"]);
    let order: Vec<String> = set.iter().map(Migration::name).collect();
    assert_eq!(order.last().map(String::as_str), Some("@acme/notes 002"));
  }
}
