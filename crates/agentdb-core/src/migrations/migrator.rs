//! Applying migrations to a database: planning, migrate, rollback, repair and the read-only
//! views (summary, list). Validation is [`crate::migrations::validation`].
//!
//! Migrations run in one order: the library's namespace first, then each other namespace in
//! the order it was registered, each in id order. Every write takes SQLite's write lock
//! (`BEGIN IMMEDIATE`) and then re-reads the tracking table, so two processes migrating one
//! file at once apply each migration exactly once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use crate::backup;
use crate::error::{Error, ErrorCode, Result};
use crate::maintenance;
use crate::migrations::drift;
use crate::migrations::rebuild::{self, Direction};
use crate::migrations::source::{Migration, MigrationSet, Version, LIBRARY};
use crate::migrations::tracking::{self, AppliedMigration};
use crate::migrations::validation::{self, Validation};
use crate::search;

/// The identity of a migration, as results and progress events report it.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationInfo {
  /// Whose migration it is.
  pub namespace: String,
  /// The migration's id.
  pub id: String,
  /// What it does.
  pub description: String,
  /// When it was written, if known.
  pub created_at: Option<String>,
}

impl MigrationInfo {
  fn of(migration: &Migration) -> Self {
    MigrationInfo {
      namespace: migration.namespace.clone(),
      id: migration.id.clone(),
      description: migration.description.clone(),
      created_at: migration.created_at.clone(),
    }
  }

  fn of_record(record: &AppliedMigration) -> Self {
    MigrationInfo {
      namespace: record.namespace.clone(),
      id: record.id.clone(),
      description: record.description.clone(),
      created_at: None,
    }
  }
}

/// The outcome of applying (or rolling back) one migration.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationResult {
  /// Which migration.
  pub migration: MigrationInfo,
  /// Whether it succeeded.
  pub success: bool,
  /// SQLite's message when it failed.
  pub error: Option<String>,
  /// When it started (ISO-8601 UTC).
  pub executed_at: String,
  /// How long its SQL took, in milliseconds.
  pub execution_time_ms: f64,
  /// True when this is a dry run's plan: nothing was executed.
  pub dry_run: bool,
}

/// A failed migrate or rollback: the error, and the results of the migrations before it
/// (which stay applied) plus the failed one.
#[derive(Clone, Debug)]
pub struct MigrateFailure {
  /// Why it failed.
  pub error: Error,
  /// What was done before the failure, then the failed migration.
  pub results: Vec<MigrationResult>,
}

impl From<Error> for MigrateFailure {
  fn from(error: Error) -> Self {
    MigrateFailure { error, results: Vec::new() }
  }
}

/// A progress event of `migrate`, for an app's upgrade screen.
#[derive(Debug)]
pub enum Progress<'a> {
  /// Migration `index` (0-based) of `total` is about to run.
  Started { migration: &'a Migration, index: usize, total: usize },
  /// Migration `index` of `total` has changed rows that the search index is catching up
  /// with: `done` of `rows` are indexed (reported after each chunk, inside its transaction).
  Indexing { migration: &'a Migration, index: usize, total: usize, done: u64, rows: u64 },
  /// Migration `index` of `total` has finished, successfully or not.
  Finished { result: &'a MigrationResult, index: usize, total: usize },
}

/// Where `migrate` writes a backup before it changes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupTarget {
  /// `<database path>.before-<first pending id>.bak`.
  BesideDatabase,
  /// This path.
  Path(PathBuf),
}

/// A migration named by the caller (`to` of migrate, the target of rollbackTo): an id, and
/// the namespace it belongs to. Without a namespace, the id must name a migration of exactly
/// one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
  /// The namespace, when the caller gives one.
  pub namespace: Option<String>,
  /// The id as given.
  pub id: String,
}

/// Options of [`migrate`]; the defaults match the reference Migrator.
#[derive(Clone, Debug)]
pub struct MigrateOptions {
  /// Run each migration in its own transaction (default true). Without one, a failing
  /// migration can leave its earlier statements applied.
  pub use_transaction: bool,
  /// Refuse to run when validation finds errors (default true).
  pub validate_checksums: bool,
  /// Apply at most this many migrations.
  pub limit: Option<usize>,
  /// Report the plan and change nothing.
  pub dry_run: bool,
  /// Apply migrations up to and including this one (in run order).
  pub to: Option<Target>,
  /// Write a backup first, when there is something to apply.
  pub backup: Option<BackupTarget>,
}

impl Default for MigrateOptions {
  fn default() -> Self {
    MigrateOptions { use_transaction: true, validate_checksums: true, limit: None, dry_run: false, to: None, backup: None }
  }
}

/// Options of [`rollback_to`] and [`rollback_last`].
#[derive(Clone, Debug, Default)]
pub struct RollbackOptions {
  /// Run the down SQL recorded in the tracking table for migrations this build does not
  /// know. Off by default: the table came with the file, and its SQL could do anything.
  pub allow_recorded_sql: bool,
}

/// One namespace's line of the [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceSummary {
  /// The namespace.
  pub namespace: String,
  /// The id of its highest applied migration, if any.
  pub current_version: Option<String>,
  /// How many of its migrations are applied.
  pub applied_migrations: usize,
  /// How many of its known migrations are pending.
  pub pending_migrations: usize,
}

/// The migration summary of the reference Migrator, with one line per namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
  /// How many migrations this build knows.
  pub total_migrations: usize,
  /// How many rows the tracking table has.
  pub applied_migrations: usize,
  /// How many known migrations are not applied.
  pub pending_migrations: usize,
  /// Their ids, in run order.
  pub pending_migration_ids: Vec<String>,
  /// The id of the library's highest applied migration (the library's schema version).
  pub current_version: Option<String>,
  /// Each namespace the build or the database knows, in run order.
  pub namespaces: Vec<NamespaceSummary>,
}

/// The state of one migration in [`list`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationState {
  /// Applied, and its checksum matches this build.
  Applied,
  /// Known to this build, not applied.
  Pending,
  /// Applied, but this build's SQL has a different checksum.
  Modified,
  /// Applied, but this build does not know it.
  Unknown,
}

impl MigrationState {
  /// The string JavaScript sees.
  pub fn as_str(self) -> &'static str {
    match self {
      MigrationState::Applied => "applied",
      MigrationState::Pending => "pending",
      MigrationState::Modified => "modified",
      MigrationState::Unknown => "unknown",
    }
  }
}

/// One row of [`list`].
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationStatus {
  /// Whose migration it is.
  pub namespace: String,
  /// The migration's id.
  pub id: String,
  /// Its description (this build's, else the recorded one).
  pub description: String,
  /// The description recorded when it was applied, if it is applied.
  pub recorded_description: Option<String>,
  /// Its state.
  pub state: MigrationState,
  /// Whether it is one of the library's own; `None` when this build does not know it.
  pub builtin: Option<bool>,
  /// When it was applied.
  pub applied_at: Option<String>,
  /// How long it took, in milliseconds.
  pub execution_time_ms: Option<f64>,
  /// This build's checksum.
  pub checksum: Option<String>,
  /// The checksum recorded when it was applied.
  pub applied_checksum: Option<String>,
  /// Whether this build can roll it back with its own down SQL.
  pub reversible: bool,
  /// Whether the tracking table holds down SQL for it (which runs only on request).
  pub recorded_down: bool,
}

/// One migration accepted by [`repair`]: what was recorded and what is recorded now.
#[derive(Clone, Debug, PartialEq)]
pub struct Repaired {
  /// Whose migration it is.
  pub namespace: String,
  /// The migration's id.
  pub id: String,
  /// Its description (the recorded one and this build's are the same).
  pub description: String,
  /// The checksum that was recorded.
  pub old_checksum: String,
  /// The checksum recorded now (this build's).
  pub new_checksum: String,
  /// This build's up SQL, whose checksum is now recorded.
  pub up: Vec<String>,
  /// The down SQL that was recorded.
  pub old_down: Option<Vec<String>>,
  /// The down SQL recorded now (this build's).
  pub new_down: Option<Vec<String>>,
}

/// Where a migration runs: its namespace's place (known ones in run order, unknown ones
/// after them by name), then its version.
type Position<'a> = (usize, &'a str, &'a Version);

fn position<'a>(set: &MigrationSet, namespace: &'a str, version: &'a Version) -> Position<'a> {
  (set.rank(namespace).unwrap_or(usize::MAX), namespace, version)
}

fn is_applied(applied: &[AppliedMigration], migration: &Migration) -> bool {
  applied.iter().any(|a| a.namespace == migration.namespace && a.version.as_ref() == Some(&migration.version))
}

/// The known migrations that are not applied, in run order.
pub(crate) fn pending<'a>(set: &'a MigrationSet, applied: &[AppliedMigration]) -> Vec<&'a Migration> {
  set.iter().filter(|m| !is_applied(applied, m)).collect()
}

/// The namespace `target` names: the one given (which must be among the `known`
/// (namespace, version) pairs), else the only one with a migration of that id.
fn resolve<'a>(target: &'a Target, known: impl Iterator<Item = (&'a str, &'a Version)>) -> Result<(Option<&'a str>, Version)> {
  let version = Version::parse(&target.id)?;
  let known: Vec<(&str, &Version)> = known.collect();
  if let Some(namespace) = &target.namespace {
    if !known.iter().any(|(n, _)| n == namespace) {
      return Err(Error::invalid(format!("no migration of the namespace {namespace:?} is known")));
    }
    if !version.is_zero() && !known.iter().any(|(n, v)| n == namespace && **v == version) {
      return Err(Error::invalid(format!("no migration {} is known in the namespace {namespace:?}", target.id)));
    }
    return Ok((Some(namespace), version));
  }
  let known = known.into_iter();
  let namespaces: BTreeSet<&str> = known.filter(|(_, v)| **v == version).map(|(n, _)| n).collect();
  match namespaces.len() {
    0 if version.is_zero() => Ok((None, version)),
    0 => Err(Error::invalid(format!("no migration {} is known; give its namespace if it has one", target.id))),
    1 => Ok((namespaces.into_iter().next(), version)),
    _ => Err(Error::invalid(format!(
      "migration {} exists in the namespaces {}: give the namespace",
      target.id,
      namespaces.into_iter().collect::<Vec<_>>().join(" and ")
    ))),
  }
}

/// The reference Migrator's summary, with one line per namespace.
pub fn summary(conn: &Connection, set: &MigrationSet) -> Result<Summary> {
  let applied = tracking::read_applied(conn)?;
  let pending = pending(set, &applied);
  let mut names: Vec<String> = set.namespaces().to_vec();
  let unknown: BTreeSet<&str> = applied.iter().map(|a| a.namespace.as_str()).filter(|n| set.rank(n).is_none()).collect();
  names.extend(unknown.into_iter().map(str::to_string));
  let namespaces = names
    .into_iter()
    .map(|namespace| NamespaceSummary {
      current_version: validation::current(&applied, &namespace).map(|a| a.id.clone()),
      applied_migrations: applied.iter().filter(|a| a.namespace == namespace).count(),
      pending_migrations: pending.iter().filter(|m| m.namespace == namespace).count(),
      namespace,
    })
    .collect();
  Ok(Summary {
    total_migrations: set.len(),
    applied_migrations: applied.len(),
    pending_migrations: pending.len(),
    pending_migration_ids: pending.iter().map(|m| m.id.clone()).collect(),
    current_version: validation::current(&applied, LIBRARY).map(|a| a.id.clone()),
    namespaces,
  })
}

/// Every migration known to this build or recorded in the database, in run order, with its
/// state.
pub fn list(conn: &Connection, set: &MigrationSet) -> Result<Vec<MigrationStatus>> {
  let applied = tracking::read_applied(conn)?;
  let mut rows: Vec<(usize, String, Option<Version>, MigrationStatus)> = Vec::new();
  for migration in set.iter() {
    let record = applied.iter().find(|a| a.namespace == migration.namespace && a.version.as_ref() == Some(&migration.version));
    let state = match record {
      None => MigrationState::Pending,
      Some(a) if a.checksum == migration.checksum => MigrationState::Applied,
      Some(_) => MigrationState::Modified,
    };
    let (rank, namespace, version) = position(set, &migration.namespace, &migration.version);
    rows.push((
      rank,
      namespace.to_string(),
      Some(version.clone()),
      MigrationStatus {
        namespace: migration.namespace.clone(),
        id: migration.id.clone(),
        description: migration.description.clone(),
        recorded_description: record.map(|a| a.description.clone()),
        state,
        builtin: Some(migration.is_builtin()),
        applied_at: record.map(|a| a.applied_at.clone()),
        execution_time_ms: record.map(|a| a.execution_time_ms),
        checksum: Some(migration.checksum.clone()),
        applied_checksum: record.map(|a| a.checksum.clone()),
        reversible: migration.down.is_some(),
        recorded_down: record.is_some_and(|a| a.down.is_some()),
      },
    ));
  }
  let unknown = applied.iter().filter(|a| a.version.as_ref().is_none_or(|v| set.get(&a.namespace, v).is_none()));
  for record in unknown {
    rows.push((
      set.rank(&record.namespace).unwrap_or(usize::MAX),
      record.namespace.clone(),
      record.version.clone(),
      MigrationStatus {
        namespace: record.namespace.clone(),
        id: record.id.clone(),
        description: record.description.clone(),
        recorded_description: Some(record.description.clone()),
        state: MigrationState::Unknown,
        builtin: None,
        applied_at: Some(record.applied_at.clone()),
        execution_time_ms: Some(record.execution_time_ms),
        checksum: None,
        applied_checksum: Some(record.checksum.clone()),
        reversible: false,
        recorded_down: record.down.is_some(),
      },
    ));
  }
  rows.sort_by(|a, b| (a.0, &a.1, a.2.is_none(), &a.2).cmp(&(b.0, &b.1, b.2.is_none(), &b.2)));
  Ok(rows.into_iter().map(|(_, _, _, row)| row).collect())
}

/// Compares the build's migrations with the tracking table, and the live schema with what
/// the applied migrations create (drift, as warnings).
pub fn validate(conn: &Connection, set: &MigrationSet) -> Result<Validation> {
  let applied = tracking::read_applied(conn)?;
  let mut report = validation::validate(set, &applied);
  report.warnings.extend(drift::check(conn, set, &applied)?);
  Ok(report)
}

/// Applies pending migrations in run order. Each migration and its tracking row commit
/// together; a failing one is rolled back whole and nothing after it runs.
pub fn migrate(
  conn: &mut Connection,
  set: &MigrationSet,
  options: &MigrateOptions,
  progress: &mut dyn FnMut(Progress),
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  if options.validate_checksums {
    let report = validation::validate(set, &applied);
    if !report.is_valid() {
      return Err(report.failure().into());
    }
  }
  let bound = match &options.to {
    None => None,
    Some(target) => {
      let (namespace, version) = resolve(target, set.iter().map(|m| (m.namespace.as_str(), &m.version)))?;
      let namespace = namespace.map(str::to_string).unwrap_or_else(|| LIBRARY.to_string());
      Some((set.rank(&namespace).unwrap_or(usize::MAX), version))
    }
  };
  let plan: Vec<&Migration> = pending(set, &applied)
    .into_iter()
    .filter(|m| {
      bound.as_ref().is_none_or(|(rank, version)| (set.rank(&m.namespace).unwrap_or(usize::MAX), &m.version) <= (*rank, version))
    })
    .take(options.limit.unwrap_or(usize::MAX))
    .collect();
  if options.dry_run {
    let executed_at = tracking::now(conn)?;
    // (A dry run writes nothing, not even the upgrade of an old tracking table.)
    return Ok(
      plan
        .iter()
        .map(|m| MigrationResult {
          migration: MigrationInfo::of(m),
          success: true,
          error: None,
          executed_at: executed_at.clone(),
          execution_time_ms: 0.0,
          dry_run: true,
        })
        .collect(),
    );
  }
  if tracking::needs_upgrade(conn)? {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::from)?;
    tracking::ensure_table(&tx)?;
    tx.commit().map_err(Error::from)?;
  }
  if let (Some(target), Some(first)) = (&options.backup, plan.first()) {
    let dest = backup_path(conn, target, first)?;
    backup::backup(conn, &dest).map_err(|e| e.context("backup before migrating"))?;
  }
  let mut results = Vec::new();
  let total = plan.len();
  for (index, migration) in plan.into_iter().enumerate() {
    let started = Instant::now();
    let mut announced = false;
    let outcome = with_foreign_keys(conn, migration.foreign_keys_off, |conn| {
      // Announced once the migration is known to run: another connection may have applied it.
      let progress = std::cell::RefCell::new(&mut *progress);
      let mut announce = || {
        (progress.borrow_mut())(Progress::Started { migration, index, total });
        announced = true;
      };
      let mut indexing = |done, rows| (progress.borrow_mut())(Progress::Indexing { migration, index, total, done, rows });
      // A rebuild of the library's tables always runs in a transaction: it drops and creates
      // again what an app added to them, which must never be left half done.
      if options.use_transaction || !migration.rebuilds.is_empty() {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = apply_up(&tx, migration, &mut announce, &mut indexing)?;
        tx.commit()?;
        Ok(outcome)
      } else {
        apply_up(conn, migration, &mut announce, &mut indexing)
      }
    });
    let result = match outcome {
      Ok(None) => continue, // another connection applied it first
      Ok(Some((executed_at, execution_time_ms))) => MigrationResult {
        migration: MigrationInfo::of(migration),
        success: true,
        error: None,
        executed_at,
        execution_time_ms,
        dry_run: false,
      },
      Err(error) => {
        let what = if options.use_transaction || !migration.rebuilds.is_empty() {
          "failed and was rolled back"
        } else if error.code == ErrorCode::MigrationFailed {
          // A statement migration SQL may not run, found by the check before any of it ran.
          "was refused"
        } else {
          "failed; it ran without a transaction, so its statements before the failure stay applied"
        };
        let error = Error::new(
          if error.code == ErrorCode::Busy { ErrorCode::Busy } else { ErrorCode::MigrationFailed },
          format!("migration {} ({}) {what}: {}", migration.name(), migration.description, error.message),
        );
        let result = MigrationResult {
          migration: MigrationInfo::of(migration),
          success: false,
          error: Some(error.message.clone()),
          executed_at: tracking::now(conn).unwrap_or_default(),
          execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
          dry_run: false,
        };
        if !announced {
          progress(Progress::Started { migration, index, total });
        }
        progress(Progress::Finished { result: &result, index, total });
        results.push(result);
        return Err(MigrateFailure { error, results });
      }
    };
    progress(Progress::Finished { result: &result, index, total });
    results.push(result);
  }
  Ok(results)
}

/// Runs `up` and records it, unless the tracking table (re-read under the lock) says it is
/// applied already; `announce` is called just before `up` runs. Returns when it started and
/// how long its SQL ran (the execution time the tracking table records), or `None` when it
/// was skipped.
///
/// Rows the migration changed (every row, for the migration that creates the search index)
/// are indexed for search before it is recorded, `indexing(done, rows)` reporting progress.
fn apply_up(
  conn: &Connection,
  migration: &Migration,
  announce: &mut dyn FnMut(),
  indexing: &mut dyn FnMut(u64, u64),
) -> Result<Option<(String, f64)>> {
  tracking::ensure_table(conn)?;
  if is_applied(&tracking::read_applied(conn)?, migration) {
    return Ok(None);
  }
  announce();
  let executed_at = tracking::now(conn)?;
  let started = Instant::now();
  let additions = rebuild::prepare(conn, migration, Direction::Up)?;
  run_checked(conn, &migration.up, migration.foreign_keys_off)?;
  rebuild::restore(conn, migration, additions)?;
  search::index::drain_with_progress(conn, indexing)?;
  // Microsecond resolution is plenty, and keeps the stored number short.
  let execution_time_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
  tracking::record(conn, migration, &executed_at, execution_time_ms)?;
  Ok(Some((executed_at, execution_time_ms)))
}

/// Runs `statements`. When they run with foreign-key enforcement off, fails if they leave a
/// foreign-key violation that was not there before, so that the caller's transaction rolls
/// them back.
fn run_checked(conn: &Connection, statements: &[String], foreign_keys_off: bool) -> Result<()> {
  let before = if foreign_keys_off { Some(foreign_key_violations(conn)?) } else { None };
  run_statements(conn, statements)?;
  if let Some(before) = before {
    let new: Vec<String> = foreign_key_violations(conn)?.difference(&before).cloned().collect();
    if !new.is_empty() {
      return Err(Error::new(ErrorCode::Constraint, format!("it leaves foreign key violations: {}", new.join(", "))));
    }
  }
  Ok(())
}

/// Runs a migration's SQL under the guard's rules for migration SQL.
fn run_statements(conn: &Connection, statements: &[String]) -> Result<()> {
  crate::guard::run_migration_sql(conn, statements)
}

/// Runs `work` with foreign-key enforcement switched off when `off` (outside any
/// transaction, where SQLite allows the switch), and switches it back on afterwards whatever
/// `work` did; `work`'s own failure is the one reported.
fn with_foreign_keys<T>(conn: &mut Connection, off: bool, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
  if off {
    conn.pragma_update(None, "foreign_keys", false)?;
  }
  let outcome = work(conn);
  let enforced = crate::connection::enforce_foreign_keys(conn);
  let value = outcome?;
  enforced?;
  Ok(value)
}

/// `PRAGMA foreign_key_check`, one line per violating row.
fn foreign_key_violations(conn: &Connection) -> Result<BTreeSet<String>> {
  let mut lines = BTreeSet::new();
  maintenance::for_each_foreign_key_violation(conn, |v| {
    lines.insert(format!("{} row {} -> {}", v.table, v.rowid.map_or("?".to_string(), |r| r.to_string()), v.parent));
  })?;
  Ok(lines)
}

fn backup_path(conn: &Connection, target: &BackupTarget, first: &Migration) -> Result<PathBuf> {
  match target {
    BackupTarget::Path(path) => Ok(path.clone()),
    BackupTarget::BesideDatabase => match conn.path().filter(|p| !p.is_empty()) {
      Some(db) => {
        let namespace: String = first.namespace.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let label = if first.is_builtin() { first.id.clone() } else { format!("{namespace}-{}", first.id) };
        Ok(PathBuf::from(format!("{db}.before-{label}.bak")))
      }
      None => Err(Error::invalid("backup: an in-memory database has no file to back up beside; give a path")),
    },
  }
}

/// Rolls back the applied migration that runs last: its down SQL and the removal of its
/// row, in one transaction. `Ok(None)` when nothing is applied.
pub fn rollback_last(
  conn: &mut Connection,
  set: &MigrationSet,
  options: &RollbackOptions,
) -> Result<Option<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  let last = applied
    .iter()
    .filter_map(|a| a.version.as_ref().map(|v| (position(set, &a.namespace, v), a)))
    .max_by(|a, b| a.0.cmp(&b.0))
    .map(|(_, a)| (a.namespace.clone(), a.id.clone()));
  let Some((namespace, id)) = last else { return Ok(None) };
  Ok(rollback(conn, set, options, |record| record.namespace == namespace && record.id == id)?.pop())
}

/// Rolls back, one transaction each and newest first, every applied migration that runs
/// after `target` (in run order: later migrations of its namespace, and every migration of
/// the namespaces that run after it). `'000'` without a namespace rolls back everything;
/// with one, everything of that namespace and those after it. When any of them cannot be
/// undone, nothing is changed.
pub fn rollback_to(
  conn: &mut Connection,
  set: &MigrationSet,
  target: &Target,
  options: &RollbackOptions,
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  let known = set.iter().map(|m| (m.namespace.as_str(), &m.version));
  let recorded = applied.iter().filter_map(|a| a.version.as_ref().map(|v| (a.namespace.as_str(), v)));
  let (namespace, version) = resolve(target, known.chain(recorded))?;
  let bound = namespace.map(|n| (set.rank(n).unwrap_or(usize::MAX), n.to_string(), version.clone()));
  rollback(conn, set, options, |record| {
    let Some(v) = &record.version else { return false };
    match &bound {
      None => true,
      Some((rank, namespace, version)) => position(set, &record.namespace, v) > (*rank, namespace.as_str(), version),
    }
  })
}

/// Rolls back, newest first in run order, the applied migrations `selected` picks.
fn rollback(
  conn: &mut Connection,
  set: &MigrationSet,
  options: &RollbackOptions,
  selected: impl Fn(&AppliedMigration) -> bool,
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  let mut chosen: Vec<&AppliedMigration> = applied.iter().filter(|a| a.version.is_some() && selected(a)).collect();
  chosen.sort_by(|a, b| {
    let key = |r: &&AppliedMigration| (set.rank(&r.namespace).unwrap_or(usize::MAX), r.namespace.clone(), r.version.clone());
    key(b).cmp(&key(a))
  });
  // Every one must be reversible before the first is touched.
  for record in &chosen {
    undo_plan(set, record, options)?;
  }
  let mut results = Vec::new();
  for record in chosen {
    let info = match record.version.as_ref().and_then(|v| set.get(&record.namespace, v)) {
      Some(m) => MigrationInfo::of(m),
      None => MigrationInfo::of_record(record),
    };
    let executed_at = tracking::now(conn)?;
    let mut elapsed = 0.0;
    let outcome = (|| {
      let (_, foreign_keys_off) = undo_plan(set, record, options)?;
      with_foreign_keys(conn, foreign_keys_off, |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tracking::ensure_table(&tx)?;
        // Re-read under the lock: another connection may have rolled it back already.
        let Some(still) = tracking::read_applied(&tx)?.into_iter().find(|a| a.namespace == record.namespace && a.id == record.id)
        else {
          return Ok(false);
        };
        let (down, foreign_keys_off) = undo_plan(set, &still, options)?;
        let started = Instant::now();
        let known = still.version.as_ref().and_then(|v| set.get(&still.namespace, v));
        let additions = match known {
          Some(migration) => Some((migration, rebuild::prepare(&tx, migration, Direction::Down)?)),
          None => None,
        };
        run_checked(&tx, &down, foreign_keys_off)?;
        if let Some((migration, additions)) = additions {
          rebuild::restore(&tx, migration, additions)?;
        }
        // What the down SQL changed in the logs is indexed with it.
        search::index::drain(&tx)?;
        elapsed = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        tracking::remove(&tx, &still)?;
        tx.commit()?;
        Ok(true)
      })
    })();
    let mut result = MigrationResult {
      migration: info,
      success: outcome.is_ok(),
      error: None,
      executed_at,
      execution_time_ms: elapsed,
      dry_run: false,
    };
    match outcome {
      Ok(true) => results.push(result),
      Ok(false) => {}
      Err(error) => {
        let code = match error.code {
          ErrorCode::Busy | ErrorCode::MigrationIrreversible => error.code,
          _ => ErrorCode::MigrationFailed,
        };
        let error = Error::new(
          code,
          format!("rolling back migration {} {} failed, it is still applied: {}", record.namespace, record.id, error.message),
        );
        result.error = Some(error.message.clone());
        results.push(result);
        return Err(MigrateFailure { error, results });
      }
    }
  }
  Ok(results)
}

/// How to undo `record`: its down SQL and whether it runs with foreign-key enforcement off.
/// This build's when it knows the migration; what was recorded when it was applied only
/// when the caller allows recorded SQL.
fn undo_plan(set: &MigrationSet, record: &AppliedMigration, options: &RollbackOptions) -> Result<(Vec<String>, bool)> {
  let known = record.version.as_ref().and_then(|v| set.get(&record.namespace, v));
  let name = format!("{} {} ({})", record.namespace, record.id, record.description);
  match known {
    Some(migration) => match &migration.down {
      Some(down) => Ok((down.clone(), migration.foreign_keys_off)),
      None => {
        Err(Error::new(ErrorCode::MigrationIrreversible, format!("migration {name} has no down SQL, so nothing was rolled back")))
      }
    },
    None => match &record.down {
      Some(down) if options.allow_recorded_sql => Ok((down.clone(), record.foreign_keys_off)),
      Some(_) => Err(Error::new(
        ErrorCode::MigrationIrreversible,
        format!(
          "migration {name} is not known to this build: only the down SQL recorded in the database could undo it, and it runs \
           only with the allowRecordedSql option (the tracking table came with the file and may hold any SQL); nothing was \
           rolled back"
        ),
      )),
      None => Err(Error::new(
        ErrorCode::MigrationIrreversible,
        format!("migration {name} is not known to this build and has no recorded down SQL, so nothing was rolled back"),
      )),
    },
  }
}

/// Accepts this build's SQL for the applied migrations `ids` of `namespace` whose SQL
/// changed: re-records their checksums and down SQL, all or none, and reports what was
/// recorded before and after (`dry_run`: reports it and writes nothing). Refuses an id that
/// is not applied, not known to this build, not changed, or recorded under another
/// description: a different migration under the same id is never accepted.
pub fn repair(
  conn: &mut Connection,
  set: &MigrationSet,
  ids: &[String],
  namespace: Option<&str>,
  dry_run: bool,
) -> Result<Vec<Repaired>> {
  if ids.is_empty() {
    return Err(Error::invalid("repairMigrations: give the ids of the changed migrations to accept (see validateMigrations)"));
  }
  let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
  tracking::ensure_table(&tx)?;
  let applied = tracking::read_applied(&tx)?;
  let mut repaired: Vec<Repaired> = Vec::new();
  for id in ids {
    let version = Version::parse(id)?;
    let candidates: Vec<&AppliedMigration> = applied
      .iter()
      .filter(|a| a.version.as_ref() == Some(&version) && namespace.is_none_or(|n| a.namespace == n))
      .filter(|a| set.get(&a.namespace, &version).is_some_and(|m| m.checksum != a.checksum) || namespace.is_some())
      .collect();
    let record = match candidates.as_slice() {
      [record] => *record,
      [] => {
        return Err(Error::invalid(format!("repairMigrations: no changed migration {id} is applied{}", in_namespace(namespace))))
      }
      _ => {
        return Err(Error::invalid(format!(
          "repairMigrations: migration {id} is changed in several namespaces: give the namespace"
        )))
      }
    };
    let name = format!("{} {}", record.namespace, record.id);
    let migration = set.get(&record.namespace, &version).ok_or_else(|| {
      Error::invalid(format!("repairMigrations: {name} is not known to this build: there is nothing to accept"))
    })?;
    if migration.checksum == record.checksum {
      return Err(Error::invalid(format!("repairMigrations: {name} is not changed: there is nothing to accept")));
    }
    if !validation::same_migration(&record.description, migration) {
      return Err(Error::invalid(format!(
        "repairMigrations: {name} is recorded as {:?} but this build's is {:?}: a different migration under the same id \
         cannot be accepted; give this build's migration an id of its own",
        record.description, migration.description
      )));
    }
    if repaired.iter().any(|r| r.namespace == record.namespace && r.id == record.id) {
      continue;
    }
    if !dry_run {
      tracking::rewrite(&tx, record, migration)?;
    }
    repaired.push(Repaired {
      namespace: record.namespace.clone(),
      id: record.id.clone(),
      description: migration.description.clone(),
      old_checksum: record.checksum.clone(),
      new_checksum: migration.checksum.clone(),
      up: migration.up.clone(),
      old_down: record.down.clone(),
      new_down: migration.down.clone(),
    });
  }
  if !dry_run {
    tx.commit()?;
  }
  Ok(repaired)
}

fn in_namespace(namespace: Option<&str>) -> String {
  namespace.map_or(String::new(), |n| format!(" in the namespace {n:?}"))
}
