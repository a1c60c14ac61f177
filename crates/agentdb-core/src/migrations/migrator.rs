//! Applying migrations to a database: validation, planning, migrate, rollback, repair and the
//! read-only views (summary, list).
//!
//! Every write takes SQLite's write lock (`BEGIN IMMEDIATE`) and then re-reads the tracking
//! table, so two processes migrating one file at once apply each migration exactly once.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use crate::backup;
use crate::error::{Error, ErrorCode, Result};
use crate::maintenance;
use crate::migrations::source::{Migration, MigrationSet, Origin};
use crate::migrations::tracking::{self, AppliedMigration};

/// The identity of a migration, as results and progress events report it.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationInfo {
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
      id: migration.id.clone(),
      description: migration.description.clone(),
      created_at: migration.created_at.clone(),
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
  /// Apply migrations up to and including this version.
  pub to: Option<u64>,
  /// Write a backup first, when there is something to apply.
  pub backup: Option<BackupTarget>,
}

impl Default for MigrateOptions {
  fn default() -> Self {
    MigrateOptions { use_transaction: true, validate_checksums: true, limit: None, dry_run: false, to: None, backup: None }
  }
}

/// The migration summary of the reference Migrator.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
  /// How many migrations this build knows.
  pub total_migrations: usize,
  /// How many rows the tracking table has.
  pub applied_migrations: usize,
  /// How many known migrations are not applied.
  pub pending_migrations: usize,
  /// Their ids, in order.
  pub pending_migration_ids: Vec<String>,
  /// The id of the highest applied migration, if any.
  pub current_version: Option<String>,
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
  /// Applied, but this build does not know it (the database is newer than the app).
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
  /// The migration's id.
  pub id: String,
  /// Its description (this build's, else the recorded one).
  pub description: String,
  /// Its state.
  pub state: MigrationState,
  /// Built-in or app-defined; `None` when this build does not know it.
  pub origin: Option<Origin>,
  /// When it was applied.
  pub applied_at: Option<String>,
  /// How long it took, in milliseconds.
  pub execution_time_ms: Option<f64>,
  /// This build's checksum.
  pub checksum: Option<String>,
  /// The checksum recorded when it was applied.
  pub applied_checksum: Option<String>,
  /// Whether it can be rolled back (down SQL from this build or from the tracking table).
  pub reversible: bool,
}

/// What validation can find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueCode {
  /// An applied migration's SQL was changed after it was applied (error).
  ChecksumMismatch,
  /// An applied migration is unknown to this build: the app was downgraded (warning).
  UnknownMigration,
  /// A pending migration is older than the current version (error).
  OutOfOrder,
  /// An id is missing from the sequence (error).
  Gap,
  /// A migration has no down SQL and cannot be rolled back (warning).
  NoDown,
}

impl IssueCode {
  /// The string JavaScript sees.
  pub fn as_str(self) -> &'static str {
    match self {
      IssueCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
      IssueCode::UnknownMigration => "UNKNOWN_MIGRATION",
      IssueCode::OutOfOrder => "OUT_OF_ORDER",
      IssueCode::Gap => "GAP",
      IssueCode::NoDown => "NO_DOWN",
    }
  }
}

/// One finding of [`validate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
  /// What was found.
  pub code: IssueCode,
  /// Which migration it concerns.
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
}

/// One checksum re-recorded by [`repair`].
#[derive(Clone, Debug, PartialEq)]
pub struct Repaired {
  /// The migration's id.
  pub id: String,
  /// The checksum that was recorded.
  pub old_checksum: String,
  /// The checksum recorded now (this build's).
  pub new_checksum: String,
}

/// The known migrations that are not applied, in order.
fn pending<'a>(set: &'a MigrationSet, applied: &[AppliedMigration]) -> Vec<&'a Migration> {
  let done: HashSet<u64> = applied.iter().filter_map(|a| a.version).collect();
  set.iter().filter(|m| !done.contains(&m.version)).collect()
}

fn current(applied: &[AppliedMigration]) -> Option<&AppliedMigration> {
  applied.iter().filter(|a| a.version.is_some()).max_by_key(|a| a.version)
}

/// The reference Migrator's summary.
pub fn summary(conn: &Connection, set: &MigrationSet) -> Result<Summary> {
  let applied = tracking::read_applied(conn)?;
  let pending = pending(set, &applied);
  Ok(Summary {
    total_migrations: set.len(),
    applied_migrations: applied.len(),
    pending_migrations: pending.len(),
    pending_migration_ids: pending.iter().map(|m| m.id.clone()).collect(),
    current_version: current(&applied).map(|a| a.id.clone()),
  })
}

/// Every migration known to this build or recorded in the database, in version order, with
/// its state.
pub fn list(conn: &Connection, set: &MigrationSet) -> Result<Vec<MigrationStatus>> {
  let applied = tracking::read_applied(conn)?;
  let mut rows: Vec<(Option<u64>, MigrationStatus)> = Vec::new();
  for migration in set.iter() {
    let record = applied.iter().find(|a| a.version == Some(migration.version));
    let state = match record {
      None => MigrationState::Pending,
      Some(a) if a.checksum == migration.checksum => MigrationState::Applied,
      Some(_) => MigrationState::Modified,
    };
    rows.push((
      Some(migration.version),
      MigrationStatus {
        id: migration.id.clone(),
        description: migration.description.clone(),
        state,
        origin: Some(migration.origin),
        applied_at: record.map(|a| a.applied_at.clone()),
        execution_time_ms: record.map(|a| a.execution_time_ms),
        checksum: Some(migration.checksum.clone()),
        applied_checksum: record.map(|a| a.checksum.clone()),
        reversible: migration.down.is_some() || record.is_some_and(|a| a.down.is_some()),
      },
    ));
  }
  for record in applied.iter().filter(|a| a.version.is_none_or(|v| set.get(v).is_none())) {
    rows.push((
      record.version,
      MigrationStatus {
        id: record.id.clone(),
        description: record.description.clone(),
        state: MigrationState::Unknown,
        origin: None,
        applied_at: Some(record.applied_at.clone()),
        execution_time_ms: Some(record.execution_time_ms),
        checksum: None,
        applied_checksum: Some(record.checksum.clone()),
        reversible: record.down.is_some(),
      },
    ));
  }
  rows.sort_by_key(|(version, _)| (version.is_none(), *version));
  Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Compares the build's migrations with the tracking table.
pub fn validate(conn: &Connection, set: &MigrationSet) -> Result<Validation> {
  Ok(validate_against(set, &tracking::read_applied(conn)?))
}

fn validate_against(set: &MigrationSet, applied: &[AppliedMigration]) -> Validation {
  let mut report = Validation::default();
  for record in applied {
    match record.version.and_then(|v| set.get(v)) {
      Some(migration) if migration.checksum != record.checksum => report.errors.push(Issue {
        code: IssueCode::ChecksumMismatch,
        migration_id: record.id.clone(),
        message: format!(
          "migration {} ({}) was changed after it was applied: recorded checksum {}, this build has {}; \
           restore its original SQL and add a new migration, or call repairMigrations() to accept the change",
          record.id, migration.description, record.checksum, migration.checksum
        ),
      }),
      Some(_) => {}
      None => report.warnings.push(Issue {
        code: IssueCode::UnknownMigration,
        migration_id: record.id.clone(),
        message: format!(
          "migration {} ({}) is applied but unknown to this build: the database was migrated by a newer version of the app{}",
          record.id,
          record.description,
          if record.down.is_some() { "; rollbackTo() can undo it with its recorded down SQL" } else { "" }
        ),
      }),
    }
  }
  let current_version = current(applied).and_then(|a| a.version);
  for migration in pending(set, applied) {
    if current_version.is_some_and(|v| migration.version < v) {
      report.errors.push(Issue {
        code: IssueCode::OutOfOrder,
        migration_id: migration.id.clone(),
        message: format!(
          "migration {} ({}) is pending but older than the current version {}: it would run after newer migrations; give it a new id",
          migration.id,
          migration.description,
          current(applied).map(|a| a.id.as_str()).unwrap_or_default()
        ),
      });
    }
  }
  let versions: BTreeSet<u64> = set.iter().map(|m| m.version).chain(applied.iter().filter_map(|a| a.version)).collect();
  if let Some(&last) = versions.last() {
    for missing in (1..last).filter(|v| !versions.contains(v)) {
      report.errors.push(Issue {
        code: IssueCode::Gap,
        migration_id: format!("{missing:03}"),
        message: format!("migration {missing:03} is missing: ids must run 001, 002, … without gaps"),
      });
    }
  }
  for migration in set.iter().filter(|m| m.down.is_none()) {
    report.warnings.push(Issue {
      code: IssueCode::NoDown,
      migration_id: migration.id.clone(),
      message: format!("migration {} ({}) has no down SQL and cannot be rolled back", migration.id, migration.description),
    });
  }
  report
}

fn validation_error(report: &Validation) -> Error {
  let details: Vec<String> = report.errors.iter().map(|i| format!("{}: {}", i.code.as_str(), i.message)).collect();
  Error::new(
    ErrorCode::MigrationValidationFailed,
    format!("migration validation failed, nothing was applied: {}", details.join("; ")),
  )
}

/// Applies pending migrations in id order. Each migration and its tracking row commit
/// together; a failing one is rolled back whole and nothing after it runs.
pub fn migrate(
  conn: &mut Connection,
  set: &MigrationSet,
  options: &MigrateOptions,
  progress: &mut dyn FnMut(Progress),
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  if options.validate_checksums {
    let report = validate_against(set, &applied);
    if !report.is_valid() {
      return Err(validation_error(&report).into());
    }
  }
  let plan: Vec<&Migration> = pending(set, &applied)
    .into_iter()
    .filter(|m| options.to.is_none_or(|to| m.version <= to))
    .take(options.limit.unwrap_or(usize::MAX))
    .collect();
  if options.dry_run {
    let executed_at = tracking::now(conn)?;
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
      let mut announce = || {
        progress(Progress::Started { migration, index, total });
        announced = true;
      };
      if options.use_transaction {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = apply_up(&tx, migration, &mut announce)?;
        tx.commit()?;
        Ok(outcome)
      } else {
        apply_up(conn, migration, &mut announce)
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
        let what = if options.use_transaction {
          "failed and was rolled back"
        } else {
          "failed; it ran without a transaction, so its statements before the failure stay applied"
        };
        let error = Error::new(
          if error.code == ErrorCode::Busy { ErrorCode::Busy } else { ErrorCode::MigrationFailed },
          format!("migration {} ({}) {what}: {}", migration.id, migration.description, error.message),
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
fn apply_up(conn: &Connection, migration: &Migration, announce: &mut dyn FnMut()) -> Result<Option<(String, f64)>> {
  tracking::ensure_table(conn)?;
  if tracking::read_applied(conn)?.iter().any(|a| a.version == Some(migration.version)) {
    return Ok(None);
  }
  announce();
  let executed_at = tracking::now(conn)?;
  let started = Instant::now();
  run_checked(conn, &migration.up, migration.foreign_keys_off)?;
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
      Some(db) => Ok(PathBuf::from(format!("{db}.before-{}.bak", first.id))),
      None => Err(Error::invalid("backup: an in-memory database has no file to back up beside; give a path")),
    },
  }
}

/// Rolls back the last applied migration: its down SQL and the removal of its row, in one
/// transaction. `Ok(None)` when nothing is applied.
pub fn rollback_last(conn: &mut Connection, set: &MigrationSet) -> Result<Option<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  let Some(last) = current(&applied) else { return Ok(None) };
  let id = last.id.clone();
  Ok(rollback(conn, set, |record| record.id == id)?.pop())
}

/// Rolls back, one transaction each, every applied migration above `target`, newest first.
/// When any of them has no down SQL, nothing is changed (`MIGRATION_IRREVERSIBLE`).
pub fn rollback_to(conn: &mut Connection, set: &MigrationSet, target: u64) -> Result<Vec<MigrationResult>, MigrateFailure> {
  rollback(conn, set, |record| record.version.is_some_and(|v| v > target))
}

/// Rolls back, newest first, the applied migrations `selected` picks.
fn rollback(
  conn: &mut Connection,
  set: &MigrationSet,
  selected: impl Fn(&AppliedMigration) -> bool,
) -> Result<Vec<MigrationResult>, MigrateFailure> {
  let applied = tracking::read_applied(conn)?;
  // Every one must be reversible before the first is touched.
  let doomed: Vec<(&AppliedMigration, bool)> = applied
    .iter()
    .rev()
    .filter(|a| a.version.is_some() && selected(a))
    .map(|a| undo_plan(set, a).map(|(_, foreign_keys_off)| (a, foreign_keys_off)).ok_or_else(|| irreversible(a)))
    .collect::<Result<_>>()?;
  let mut results = Vec::new();
  for (record, foreign_keys_off) in doomed {
    let info = match record.version.and_then(|v| set.get(v)) {
      Some(m) => MigrationInfo::of(m),
      None => MigrationInfo { id: record.id.clone(), description: record.description.clone(), created_at: None },
    };
    let started = Instant::now();
    let executed_at = tracking::now(conn)?;
    let outcome = with_foreign_keys(conn, foreign_keys_off, |conn| {
      let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
      // Re-read under the lock: another connection may have rolled it back already.
      let Some(still) = tracking::read_applied(&tx)?.into_iter().find(|a| a.id == record.id) else { return Ok(false) };
      let (down, foreign_keys_off) = undo_plan(set, &still).ok_or_else(|| irreversible(&still))?;
      run_checked(&tx, &down, foreign_keys_off)?;
      tracking::remove(&tx, &still.id)?;
      tx.commit()?;
      Ok(true)
    });
    let mut result = MigrationResult {
      migration: info,
      success: outcome.is_ok(),
      error: None,
      executed_at,
      execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
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
        let error =
          Error::new(code, format!("rolling back migration {} failed, it is still applied: {}", record.id, error.message));
        result.error = Some(error.message.clone());
        results.push(result);
        return Err(MigrateFailure { error, results });
      }
    }
  }
  Ok(results)
}

fn irreversible(record: &AppliedMigration) -> Error {
  Error::new(
    ErrorCode::MigrationIrreversible,
    format!("migration {} ({}) has no down SQL, so nothing was rolled back", record.id, record.description),
  )
}

/// How to undo `record`: its down SQL and whether it runs with foreign-key enforcement off.
/// This build's when it knows the migration, else what was recorded when it was applied.
fn undo_plan(set: &MigrationSet, record: &AppliedMigration) -> Option<(Vec<String>, bool)> {
  match record.version.and_then(|v| set.get(v)) {
    Some(known) if known.down.is_some() => known.down.clone().map(|down| (down, known.foreign_keys_off)),
    _ => record.down.clone().map(|down| (down, record.foreign_keys_off)),
  }
}

/// Re-records this build's checksum (and description and down SQL) for every applied
/// migration whose SQL changed. An explicit act for the day an edited migration is blessed.
pub fn repair(conn: &mut Connection, set: &MigrationSet) -> Result<Vec<Repaired>> {
  let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
  let mut repaired = Vec::new();
  for record in tracking::read_applied(&tx)? {
    if let Some(migration) = record.version.and_then(|v| set.get(v)) {
      if migration.checksum != record.checksum {
        tracking::rewrite(&tx, &record.id, migration)?;
        repaired.push(Repaired { id: record.id, old_checksum: record.checksum, new_checksum: migration.checksum.clone() });
      }
    }
  }
  tx.commit()?;
  Ok(repaired)
}
