//! Validation: the build's migrations against the tracking table, namespace by namespace.
//!
//! The tracking table comes with the file, so its rows are untrusted input: the work and the
//! report are bounded by the number of rows and migrations, whatever ids they hold (a gap
//! is one finding per missing range, not one per missing id).

use std::collections::BTreeSet;

use crate::error::{Error, ErrorCode};
use crate::migrations::source::{Migration, MigrationSet, Version, LIBRARY};
use crate::migrations::tracking::AppliedMigration;

/// Ids of this many digits or more are dates or timestamps (`20240101120000`), which are
/// not meant to run without gaps: their namespaces get no gap warnings.
const TIMESTAMP_DIGITS: usize = 8;

/// What validation can find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueCode {
  /// An applied migration's SQL differs from this build's (error).
  ChecksumMismatch,
  /// An applied migration is unknown to this build (warning).
  UnknownMigration,
  /// A pending migration is older than its namespace's current version (error).
  OutOfOrder,
  /// Ids are missing from a namespace's sequence (warning).
  Gap,
  /// A migration has no down SQL and cannot be rolled back (warning).
  NoDown,
  /// An app migration needs a library migration this build does not have (error).
  RequirementUnmet,
  /// The live schema differs from what the applied migrations create (warning).
  SchemaDrift,
}

impl IssueCode {
  /// Every code, in the order of the `ValidationIssue` code union in the typings.
  pub const ALL: [IssueCode; 7] = [
    IssueCode::ChecksumMismatch,
    IssueCode::UnknownMigration,
    IssueCode::OutOfOrder,
    IssueCode::Gap,
    IssueCode::NoDown,
    IssueCode::RequirementUnmet,
    IssueCode::SchemaDrift,
  ];

  /// The string JavaScript sees.
  pub fn as_str(self) -> &'static str {
    match self {
      IssueCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
      IssueCode::UnknownMigration => "UNKNOWN_MIGRATION",
      IssueCode::OutOfOrder => "OUT_OF_ORDER",
      IssueCode::Gap => "GAP",
      IssueCode::NoDown => "NO_DOWN",
      IssueCode::RequirementUnmet => "REQUIREMENT_UNMET",
      IssueCode::SchemaDrift => "SCHEMA_DRIFT",
    }
  }
}

/// One finding of [`validate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
  /// What was found.
  pub code: IssueCode,
  /// The namespace of the migration concerned.
  pub namespace: String,
  /// Which migration it concerns (for a gap: the first missing id).
  pub migration_id: String,
  /// A sentence saying what is wrong and what to do.
  pub message: String,
}

/// The report of [`validate`]: valid when there are no errors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
  /// Problems that stop `migrate` (when it validates).
  pub errors: Vec<Issue>,
  /// Things worth knowing that do not stop it.
  pub warnings: Vec<Issue>,
}

impl Validation {
  /// True when there are no errors.
  pub fn is_valid(&self) -> bool {
    self.errors.is_empty()
  }

  fn error(&mut self, code: IssueCode, namespace: &str, id: &str, message: String) {
    self.errors.push(Issue { code, namespace: namespace.to_string(), migration_id: id.to_string(), message });
  }

  fn warning(&mut self, code: IssueCode, namespace: &str, id: &str, message: String) {
    self.warnings.push(Issue { code, namespace: namespace.to_string(), migration_id: id.to_string(), message });
  }

  /// The `MIGRATION_VALIDATION_FAILED` error that stops `migrate`.
  pub fn failure(&self) -> Error {
    let details: Vec<String> = self.errors.iter().map(|i| format!("{}: {}", i.code.as_str(), i.message)).collect();
    Error::new(
      ErrorCode::MigrationValidationFailed,
      format!("migration validation failed, nothing was applied: {}", details.join("; ")),
    )
  }
}

/// Whether two descriptions name the same migration (an edit of its SQL keeps it).
pub fn same_migration(recorded: &str, known: &Migration) -> bool {
  recorded.trim() == known.description.trim()
}

/// Compares the build's migrations with the tracking table's rows.
pub fn validate(set: &MigrationSet, applied: &[AppliedMigration]) -> Validation {
  let mut report = Validation::default();
  for record in applied {
    let known = record.version.as_ref().and_then(|v| set.get(&record.namespace, v));
    match known {
      Some(migration) if migration.checksum != record.checksum => {
        let message = if same_migration(&record.description, migration) {
          format!(
            "{} ({}) was changed after it was applied: recorded checksum {}, this build has {}; restore its original SQL and \
             add a new migration, or accept the change with repairMigrations({{ ids: ['{}'], namespace: '{}' }}) (try dryRun first)",
            migration.name(),
            migration.description,
            record.checksum,
            migration.checksum,
            record.id,
            record.namespace
          )
        } else {
          format!(
            "{} is recorded as {:?} but this build's {} is {:?}: a different migration under the same id; give this build's \
             migration an id of its own (repair cannot accept a different migration)",
            migration.name(),
            record.description,
            migration.id,
            migration.description
          )
        };
        report.error(IssueCode::ChecksumMismatch, &record.namespace, &record.id, message);
      }
      Some(_) => {}
      None => report.warning(
        IssueCode::UnknownMigration,
        &record.namespace,
        &record.id,
        format!(
          "{} {} ({:?}) is recorded as applied, but this build does not know it: a newer build applied it, or it is an app \
           migration that was not registered with addMigration(s){}",
          record.namespace,
          record.id,
          record.description,
          if record.down.is_some() {
            "; its recorded down SQL can undo it, with the allowRecordedSql option of rollbackTo/rollbackLast"
          } else {
            ""
          }
        ),
      ),
    }
  }
  for namespace in namespaces(set, applied) {
    check_order(set, applied, &namespace, &mut report);
    check_gaps(set, applied, &namespace, &mut report);
  }
  for migration in set.iter() {
    if migration.down.is_none() {
      report.warning(
        IssueCode::NoDown,
        &migration.namespace,
        &migration.id,
        format!("{} ({}) has no down SQL and cannot be rolled back", migration.name(), migration.description),
      );
    }
    check_requirement(set, migration, &mut report);
  }
  report
}

/// Every namespace the build or the table knows, the build's in run order first.
fn namespaces(set: &MigrationSet, applied: &[AppliedMigration]) -> Vec<String> {
  let mut names: Vec<String> = set.namespaces().to_vec();
  let recorded: BTreeSet<&str> = applied.iter().map(|a| a.namespace.as_str()).collect();
  names.extend(recorded.into_iter().filter(|n| set.rank(n).is_none()).map(str::to_string));
  names
}

/// The highest applied version of `namespace`.
pub fn current<'a>(applied: &'a [AppliedMigration], namespace: &str) -> Option<&'a AppliedMigration> {
  applied.iter().filter(|a| a.namespace == namespace && a.version.is_some()).max_by(|a, b| a.version.cmp(&b.version))
}

fn check_order(set: &MigrationSet, applied: &[AppliedMigration], namespace: &str, report: &mut Validation) {
  let Some(current) = current(applied, namespace) else { return };
  let current_version = current.version.as_ref();
  for migration in set.of_namespace(namespace) {
    let is_applied = applied.iter().any(|a| a.namespace == namespace && a.version.as_ref() == Some(&migration.version));
    if !is_applied && current_version.is_some_and(|v| migration.version < *v) {
      report.error(
        IssueCode::OutOfOrder,
        namespace,
        &migration.id,
        format!(
          "{} ({}) is pending but older than {}'s current version {}: it would run after newer migrations; give it a new id",
          migration.name(),
          migration.description,
          namespace,
          current.id
        ),
      );
    }
  }
}

fn check_gaps(set: &MigrationSet, applied: &[AppliedMigration], namespace: &str, report: &mut Validation) {
  let known = set.of_namespace(namespace).map(|m| (m.id.as_str(), &m.version));
  let recorded =
    applied.iter().filter(|a| a.namespace == namespace).filter_map(|a| a.version.as_ref().map(|v| (a.id.as_str(), v)));
  let ids: Vec<(&str, &Version)> = known.chain(recorded).collect();
  if ids.iter().any(|(id, _)| id.trim_start_matches('0').len() >= TIMESTAMP_DIGITS) {
    return;
  }
  let width = ids.iter().map(|(id, _)| id.len()).max().unwrap_or(3);
  // A sequence may start anywhere (an app whose ids once continued the library's starts at
  // 003): only ids missing between two of its ids are a gap.
  let versions: BTreeSet<&Version> = ids.iter().map(|(_, v)| *v).collect();
  let mut versions = versions.into_iter();
  let Some(first) = versions.next() else { return };
  let mut previous = first.clone();
  for version in versions {
    let first_missing = previous.next();
    if *version > first_missing {
      let last_missing = version.previous();
      let range = if first_missing == last_missing {
        first_missing.padded(width)
      } else {
        format!("{}–{}", first_missing.padded(width), last_missing.padded(width))
      };
      report.warning(
        IssueCode::Gap,
        namespace,
        &first_missing.padded(width),
        format!("{namespace}: {range} missing from the sequence (a gap is allowed; each namespace runs in id order)"),
      );
    }
    previous = version.clone();
  }
}

fn check_requirement(set: &MigrationSet, migration: &Migration, report: &mut Validation) {
  let Some((required_id, required)) = &migration.requires else { return };
  let library_end = set.of_namespace(LIBRARY).map(|m| &m.version).max();
  if library_end.is_none_or(|end| end < required) {
    let end = set.of_namespace(LIBRARY).last().map_or("none".to_string(), |m| m.id.clone());
    report.error(
      IssueCode::RequirementUnmet,
      &migration.namespace,
      &migration.id,
      format!(
        "{} ({}) requires the library's migration {required_id}, but this build's library migrations end at {end}: \
         upgrade @cherry/agentdb",
        migration.name(),
        migration.description
      ),
    );
  }
}
