//! The migration methods of `Database` and the objects they return.

use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::ToNapiValue;
use napi::{sys, Env};
use napi_derive::napi;

use crate::completion::{JsQueue, JsRejection};
use crate::database::Database;
use crate::errors::{js_error, set};
use crate::js::{check, take_exception, undefined, JsArg, JsReturn};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::Kind;
use agentdb_core::migrations::migrator::{self, BackupTarget, MigrateFailure, MigrateOptions, Progress, RollbackOptions, Target};
use agentdb_core::migrations::source::{AppMigration, Migration};
use agentdb_core::migrations::tracking;
use agentdb_core::migrations::validation::Issue;
use agentdb_core::rules;

/// Which migration a result or progress event is about.
#[napi(object, js_name = "MigrationInfo", use_nullable = true)]
pub struct JsMigrationInfo {
  /// Whose migration it is: `'agentdb'` (the library's), `'app'` or a plugin's namespace.
  pub namespace: String,
  /// The migration's id, e.g. `"002"`.
  pub id: String,
  /// What it does.
  pub description: String,
  /// When it was written (ISO-8601), when the migration says; `null` otherwise.
  pub created_at: Option<String>,
}

/// The outcome of applying or rolling back one migration.
#[napi(object, js_name = "MigrationResult", use_nullable = true)]
pub struct JsMigrationResult {
  /// The migration.
  pub migration: JsMigrationInfo,
  /// Whether it succeeded.
  pub success: bool,
  /// Why it failed (SQLite's message included); `null` when it succeeded.
  pub error: Option<String>,
  /// When it started, ISO-8601 UTC with milliseconds.
  pub executed_at: String,
  /// How long its SQL ran, in milliseconds: for an applied migration, the number the
  /// tracking table records (and `listMigrations` reports); for a rollback, its down SQL; 0 in
  /// a dry run.
  pub execution_time: f64,
  /// True for the entries of a dry run: the plan, not executed.
  pub dry_run: bool,
}

/// A progress event of `migrate`, delivered to `onProgress`.
#[napi(object, js_name = "MigrationProgress", use_nullable = true)]
pub struct JsMigrationProgress {
  /// `'start'` before a migration runs, `'end'` after it ran, `'indexing'` while the rows
  /// it changed are indexed for search (the migration that creates the index indexes every
  /// existing log and session), after each chunk.
  #[napi(ts_type = "'start' | 'end' | 'indexing'")]
  pub phase: String,
  /// The migration.
  pub migration: JsMigrationInfo,
  /// Its position in this run, from 0.
  pub index: u32,
  /// How many migrations this run applies.
  pub total: u32,
  /// The outcome, on `'end'`; `null` otherwise.
  pub result: Option<JsMigrationResult>,
  /// On `'indexing'`: how many rows are indexed so far; `null` otherwise.
  pub indexed: Option<i64>,
  /// On `'indexing'`: how many rows the migration left to index; `null` otherwise.
  pub to_index: Option<i64>,
}

/// The migration summary.
#[napi(object, js_name = "MigrationSummary", use_nullable = true)]
pub struct JsMigrationSummary {
  /// How many migrations this build knows (built-in plus app-defined).
  pub total_migrations: u32,
  /// How many are recorded as applied in the database.
  pub applied_migrations: u32,
  /// How many known migrations are not applied yet.
  pub pending_migrations: u32,
  /// Their ids, in the order they would run.
  pub pending_migration_ids: Vec<String>,
  /// The id of the library's highest applied migration (its schema version); `null` on a
  /// new database.
  pub current_version: Option<String>,
  /// Each namespace this build or the database knows, in the order they run.
  #[napi(ts_type = "Array<NamespaceSummary>")]
  pub namespaces: Vec<JsNamespaceSummary>,
}

/// One namespace's line of the migration summary.
#[napi(object, js_name = "NamespaceSummary", use_nullable = true)]
pub struct JsNamespaceSummary {
  /// The namespace: `'agentdb'` (the library's), `'app'` or a plugin's.
  pub namespace: String,
  /// The id of its highest applied migration; `null` when none is applied.
  pub current_version: Option<String>,
  /// How many of its migrations are applied.
  pub applied_migrations: u32,
  /// How many of its known migrations are pending.
  pub pending_migrations: u32,
}

/// One migration and its state, from `listMigrations`.
#[napi(object, js_name = "MigrationStatus", use_nullable = true)]
pub struct JsMigrationStatus {
  /// Whose migration it is.
  pub namespace: String,
  /// The migration's id.
  pub id: String,
  /// What it does (this build's description; the recorded one for an unknown migration).
  pub description: String,
  /// The description recorded when it was applied; `null` when pending.
  pub recorded_description: Option<String>,
  /// `applied`; `pending`; `modified` (applied, but this build's SQL differs); `unknown`
  /// (applied, but this build does not know it: a newer build applied it, or it is an app
  /// migration that was not registered).
  #[napi(ts_type = "'applied' | 'pending' | 'modified' | 'unknown'")]
  pub state: String,
  /// `builtin` (the library's) or `app` (registered with `addMigration(s)`, in any
  /// namespace); `null` for an unknown migration.
  #[napi(ts_type = "'builtin' | 'app'")]
  pub origin: Option<String>,
  /// When it was applied; `null` when pending.
  pub applied_at: Option<String>,
  /// How long its SQL ran when it was applied, in milliseconds, as recorded; `null` when
  /// pending.
  pub execution_time: Option<f64>,
  /// This build's checksum (SHA-256 hex of the canonical SQL); `null` for an unknown
  /// migration.
  pub checksum: Option<String>,
  /// The checksum recorded when it was applied; `null` when pending.
  pub applied_checksum: Option<String>,
  /// Whether this build can roll it back with its own down SQL.
  pub reversible: bool,
  /// Whether the database records down SQL for it, which runs only with the
  /// `allowRecordedSql` option of `rollbackTo`/`rollbackLast`.
  pub recorded_down: bool,
}

/// One finding of `validateMigrations`.
#[napi(object, js_name = "ValidationIssue", use_nullable = true)]
pub struct JsValidationIssue {
  /// What was found.
  #[napi(
    ts_type = "'CHECKSUM_MISMATCH' | 'UNKNOWN_MIGRATION' | 'OUT_OF_ORDER' | 'GAP' | 'NO_DOWN' | 'REQUIREMENT_UNMET' | 'SCHEMA_DRIFT'"
  )]
  pub code: String,
  /// The namespace of the migration concerned (empty for `SCHEMA_DRIFT`, which concerns the
  /// schema).
  pub namespace: String,
  /// The migration concerned (for a gap, the first missing id; empty for `SCHEMA_DRIFT`).
  pub migration_id: String,
  /// What is wrong and what to do about it.
  pub message: String,
}

/// The report of `validateMigrations`.
#[napi(object, js_name = "ValidationResult", use_nullable = true)]
pub struct JsValidationResult {
  /// True when there are no errors (warnings allowed).
  pub is_valid: bool,
  /// Problems that stop `migrate` from running.
  pub errors: Vec<JsValidationIssue>,
  /// Things worth knowing that do not.
  pub warnings: Vec<JsValidationIssue>,
}

/// A changed migration accepted by `repairMigrations`: what was recorded, and what is (or,
/// in a dry run, would be) recorded now.
#[napi(object, js_name = "RepairedMigration", use_nullable = true)]
pub struct JsRepairedMigration {
  /// Whose migration it is.
  pub namespace: String,
  /// The migration's id.
  pub id: String,
  /// Its description, the same recorded and in this build.
  pub description: String,
  /// The checksum that was recorded.
  pub old_checksum: String,
  /// This build's checksum, recorded now.
  pub new_checksum: String,
  /// This build's up SQL, whose checksum is recorded now.
  pub up: Vec<String>,
  /// The down SQL that was recorded; `null` when none.
  pub old_down: Option<Vec<String>>,
  /// This build's down SQL, recorded now; `null` when none.
  pub new_down: Option<Vec<String>>,
}

/// The report of `repairMigrations`.
#[napi(object, js_name = "RepairResult", use_nullable = true)]
pub struct JsRepairResult {
  /// The migrations accepted, in the order their ids were given.
  pub repaired: Vec<JsRepairedMigration>,
}

impl From<migrator::MigrationInfo> for JsMigrationInfo {
  fn from(info: migrator::MigrationInfo) -> Self {
    JsMigrationInfo { namespace: info.namespace, id: info.id, description: info.description, created_at: info.created_at }
  }
}

impl From<&Migration> for JsMigrationInfo {
  fn from(m: &Migration) -> Self {
    JsMigrationInfo {
      namespace: m.namespace.clone(),
      id: m.id.clone(),
      description: m.description.clone(),
      created_at: m.created_at.clone(),
    }
  }
}

impl From<migrator::MigrationResult> for JsMigrationResult {
  fn from(r: migrator::MigrationResult) -> Self {
    JsMigrationResult {
      migration: r.migration.into(),
      success: r.success,
      error: r.error,
      executed_at: r.executed_at,
      execution_time: r.execution_time_ms,
      dry_run: r.dry_run,
    }
  }
}

impl From<Issue> for JsValidationIssue {
  fn from(issue: Issue) -> Self {
    JsValidationIssue {
      code: issue.code.as_str().to_string(),
      namespace: issue.namespace,
      migration_id: issue.migration_id,
      message: issue.message,
    }
  }
}

fn results(list: Vec<migrator::MigrationResult>) -> Vec<JsMigrationResult> {
  list.into_iter().map(Into::into).collect()
}

/// A failed migrate or rollback rejects with `MIGRATION_FAILED` (or `BUSY`, or
/// `MIGRATION_VALIDATION_FAILED`) and carries `results`: what ran before, then the failure.
/// Should the results fail to convert or attach (a setter on `Object.prototype` that throws),
/// the error is given without them, its code and message being what matters; what was thrown
/// is cleared.
impl JsRejection for MigrateFailure {
  fn into_js_error(self, env: sys::napi_env) -> Result<sys::napi_value> {
    let error = js_error(env, &self.error)?;
    // SAFETY: this runs on the JavaScript thread with its environment, inside the handle
    // scope of the settlement (the handle invariant, see `crate::js`), which is what
    // `to_napi_value` requires.
    let attached = match unsafe { ToNapiValue::to_napi_value(env, results(self.results)) } {
      Ok(list) => set(env, error, "results", list).is_ok(),
      Err(_) => false,
    };
    if !attached {
      take_exception(env);
    }
    Ok(error)
  }
}

/// The JavaScript `onProgress` callback, held for the duration of one `migrate` call. It is
/// called on the JavaScript thread through the completion queue; dropping the sink (when the
/// migration work ends, even by a panic) queues the release of the callback.
struct ProgressSink {
  queue: JsQueue,
  callback: Option<CallbackRef>,
}

struct CallbackRef(sys::napi_ref);
// SAFETY: the reference is created on the JavaScript thread (`ProgressSink::new`) and used
// only there: the writer thread holds it inside the sink and moves it into tasks for the
// completion queue, which run on the JavaScript thread (or are dropped unrun, which does
// nothing with the handle).
unsafe impl Send for CallbackRef {}

impl CallbackRef {
  /// The raw reference (taking the whole wrapper, so closures capture it as `Send`).
  fn into_raw(self) -> sys::napi_ref {
    self.0
  }
}

impl ProgressSink {
  fn new(env: sys::napi_env, queue: &JsQueue, callback: Option<JsArg>) -> Result<ProgressSink> {
    let callback = match callback {
      None => None,
      Some(f) => {
        let mut reference = ptr::null_mut();
        // SAFETY: the handle invariant holds for `env` and the callback's value; `reference`
        // is a live local the call writes.
        check(env, unsafe { sys::napi_create_reference(env, f.raw(), 1, &mut reference) }, "options.onProgress")?;
        Some(CallbackRef(reference))
      }
    };
    Ok(ProgressSink { queue: queue.clone(), callback })
  }

  /// Sends one event. An exception thrown by the callback, or any failure to call it, is
  /// cleared and otherwise ignored: a progress display must not be able to break a migration.
  fn send(&self, event: JsMigrationProgress) {
    let Some(callback) = &self.callback else { return };
    // The sink keeps the reference until it is dropped, and its deletion is queued after
    // this event, so the copy is live when the event is delivered.
    let callback = CallbackRef(callback.0);
    self.queue.post(Box::new(move |env| {
      if call_progress(env, callback.into_raw(), event).is_err() {
        take_exception(env);
      }
    }));
  }

  fn report(&self, progress: Progress) {
    let event = match progress {
      Progress::Started { migration, index, total } => JsMigrationProgress {
        phase: "start".into(),
        migration: migration.into(),
        index: index as u32,
        total: total as u32,
        result: None,
        indexed: None,
        to_index: None,
      },
      Progress::Indexing { migration, index, total, done, rows } => JsMigrationProgress {
        phase: "indexing".into(),
        migration: migration.into(),
        index: index as u32,
        total: total as u32,
        result: None,
        indexed: Some(done as i64),
        to_index: Some(rows as i64),
      },
      Progress::Finished { result, index, total } => JsMigrationProgress {
        phase: "end".into(),
        migration: result.migration.clone().into(),
        index: index as u32,
        total: total as u32,
        result: Some(result.clone().into()),
        indexed: None,
        to_index: None,
      },
    };
    self.send(event);
  }
}

/// Calls `onProgress(event)` on the JavaScript thread.
fn call_progress(env: sys::napi_env, callback: sys::napi_ref, event: JsMigrationProgress) -> Result<()> {
  let what = "options.onProgress";
  let mut function = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`; `callback` was made in it and is not yet
  // deleted (see `ProgressSink::send`); `function` is a live local the call writes.
  check(env, unsafe { sys::napi_get_reference_value(env, callback, &mut function) }, what)?;
  if function.is_null() {
    return Err(Error::invalid(format!("{what} is gone")));
  }
  let receiver = undefined(env)?;
  // SAFETY: as above: on the JavaScript thread, in the scope of the task, which is what
  // `to_napi_value` requires.
  let argument = unsafe { ToNapiValue::to_napi_value(env, event) }.map_err(|e| Error::invalid(e.reason))?;
  let mut ignored = ptr::null_mut();
  // SAFETY: the handle invariant holds for `env`, `receiver`, `function` and `argument`,
  // which is one value, as the count says; `ignored` is a live local the call writes.
  check(env, unsafe { sys::napi_call_function(env, receiver, function, 1, &argument, &mut ignored) }, what)
}

impl Drop for ProgressSink {
  fn drop(&mut self) {
    if let Some(callback) = self.callback.take() {
      self.queue.post(Box::new(move |env| {
        // A failure cannot be reported (the migration is over) and only leaves the
        // callback alive until the environment goes.
        // SAFETY: the handle invariant holds for `env`; the reference was made in it and is
        // deleted once, here, after every event that uses it (they were queued earlier).
        let _ = unsafe { sys::napi_delete_reference(env, callback.into_raw()) };
      }));
    }
  }
}

/// `migrate`'s arguments, read on the JavaScript thread.
struct MigrateArgs {
  options: MigrateOptions,
  progress: ProgressSink,
}

fn parse_migrate(env: sys::napi_env, queue: &JsQueue, options: JsArg) -> Result<MigrateArgs> {
  let allowed = ["useTransaction", "validateChecksums", "limit", "dryRun", "to", "namespace", "backup", "onProgress"];
  let fields = Fields::of(options, "options", &allowed, true)?;
  let mut parsed = MigrateOptions::default();
  if let Some(v) = fields.boolean("useTransaction")? {
    parsed.use_transaction = v;
  }
  if let Some(v) = fields.boolean("validateChecksums")? {
    parsed.validate_checksums = v;
  }
  parsed.limit = fields.whole("limit", &rules::MIGRATION_LIMIT)?.map(|n| n as usize);
  parsed.dry_run = fields.boolean("dryRun")?.unwrap_or(false);
  let namespace = fields.string("namespace")?;
  parsed.to = fields.string("to")?.map(|id| Target { namespace: namespace.clone(), id });
  if namespace.is_some() && parsed.to.is_none() {
    return Err(Error::invalid("options.namespace names the namespace of options.to, which is missing"));
  }
  parsed.backup = match fields.get("backup")? {
    None => None,
    Some(v) if v.kind() == Kind::Boolean => v.boolean("options.backup")?.then_some(BackupTarget::BesideDatabase),
    Some(v) if v.kind() == Kind::String => {
      let path = v.string("options.backup")?;
      if path.is_empty() || path.contains('\0') {
        return Err(Error::invalid("options.backup must be true or a file path"));
      }
      Some(BackupTarget::Path(PathBuf::from(path)))
    }
    Some(v) => return Err(Error::invalid(format!("options.backup must be a boolean or a path string, got {}", v.kind().name()))),
  };
  let callback = match fields.get("onProgress")? {
    Some(f) if f.kind() == Kind::Function => Some(f),
    Some(other) => return Err(Error::invalid(format!("options.onProgress must be a function, got {}", other.kind().name()))),
    None => None,
  };
  Ok(MigrateArgs { options: parsed, progress: ProgressSink::new(env, queue, callback)? })
}

/// Reads one app-defined migration object.
fn parse_migration(value: JsArg, what: &str) -> Result<Migration> {
  let allowed = ["id", "description", "up", "down", "createdAt", "disableForeignKeys", "namespace", "requires"];
  let fields = Fields::of(value, what, &allowed, false)?;
  let created_at = match fields.get("createdAt")? {
    None => None,
    Some(v) => Some(crate::js::iso_timestamp(v, &fields.path("createdAt").to_string())?),
  };
  let app = AppMigration {
    namespace: fields.string("namespace")?,
    requires: fields.string("requires")?,
    id: fields.required_string("id")?,
    description: fields.required_string("description")?,
    up: fields.strings("up")?.ok_or_else(|| Error::invalid(format!("{} is required", fields.path("up"))))?,
    down: fields.strings("down")?,
    created_at,
    foreign_keys_off: fields.boolean("disableForeignKeys")?.unwrap_or(false),
  };
  Migration::from_app(app).map_err(|e| e.context(what))
}

/// Reads the `allowRecordedSql` option of the rollback calls.
fn rollback_options(fields: &Fields<JsArg>) -> Result<RollbackOptions> {
  Ok(RollbackOptions { allow_recorded_sql: fields.boolean("allowRecordedSql")?.unwrap_or(false) })
}

#[napi]
impl Database {
  /// Creates the `migrations` tracking table if it does not exist (`migrate` does this too).
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn initialize(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.exclusive(env, Ok(()), |conn, (), _| -> Result<()> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tracking::ensure_table(&tx)?;
        Ok(tx.commit()?)
      })
    })
  }

  /// Applies pending migrations in run order (the library's first, then each other namespace
  /// in the order it was registered, each in id order), each in its own transaction with its
  /// tracking row. Resolves with one result per applied migration (the plan, for a dry run).
  ///
  /// Rejects with `MIGRATION_VALIDATION_FAILED` (validation found errors; nothing applied),
  /// `MIGRATION_FAILED` (a migration failed and was rolled back; `error.results` holds the
  /// results so far and the failure), `BUSY`, `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options?: MigrateOptions", ts_return_type = "Promise<MigrationResult[]>")]
  pub fn migrate(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      let args = parse_migrate(env.raw(), &self.queue, options);
      self.exclusive(env, args, move |conn, args: MigrateArgs, _| {
        let MigrateArgs { options, progress } = args;
        migrator::migrate(conn, &set, &options, &mut |event| progress.report(event)).map(results)
      })
    })
  }

  /// Rolls back the applied migration that runs last (in run order: the library's
  /// namespace, then the others in the order they were registered): its down SQL and its
  /// tracking row, in one transaction. Resolves with its result, or `null` when nothing is
  /// applied. A migration this build does not know is undone with the down SQL recorded in
  /// the database only with `allowRecordedSql: true`.
  ///
  /// Rejects with `MIGRATION_IRREVERSIBLE` (no down SQL, or only recorded SQL without the
  /// option; nothing changed), `MIGRATION_FAILED` (the down SQL failed; nothing changed),
  /// `BUSY`, `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options?: RollbackOptions", ts_return_type = "Promise<MigrationResult | null>")]
  pub fn rollback_last(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      let args = Fields::of(options, "options", &["allowRecordedSql"], true).and_then(|f| rollback_options(&f));
      self.exclusive(env, args, move |conn, options, _| {
        migrator::rollback_last(conn, &set, &options).map(|r| r.map(JsMigrationResult::from))
      })
    })
  }

  /// Rolls back, newest first and one transaction each, every applied migration that runs
  /// after migration `id`: the later ones of its namespace and every one of the namespaces
  /// that run after it (the app's run after the library's). `'000'` rolls back everything
  /// (of `namespace` and those after it, when given). Without `namespace`, `id` must name a
  /// migration of exactly one namespace. When any of them cannot be undone, nothing changes.
  ///
  /// Rejects with `INVALID_ARGUMENT`, `MIGRATION_IRREVERSIBLE`, `MIGRATION_FAILED` (with
  /// `error.results`), `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string, options?: RollbackToOptions", ts_return_type = "Promise<MigrationResult[]>")]
  pub fn rollback_to(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      let args = id.string("id").and_then(|id| {
        let f = Fields::of(options, "options", &["namespace", "allowRecordedSql"], true)?;
        Ok((Target { namespace: f.string("namespace")?, id }, rollback_options(&f)?))
      });
      self
        .exclusive(env, args, move |conn, (target, options), _| migrator::rollback_to(conn, &set, &target, &options).map(results))
    })
  }

  /// The reference Migrator's summary: totals, pending ids and the current version.
  #[napi(catch_unwind, ts_return_type = "Promise<MigrationSummary>")]
  pub fn get_migration_summary(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      self.read(env, Ok(()), move |conn, ()| -> Result<JsMigrationSummary> {
        let s = migrator::summary(conn, &set)?;
        Ok(JsMigrationSummary {
          total_migrations: s.total_migrations as u32,
          applied_migrations: s.applied_migrations as u32,
          pending_migrations: s.pending_migrations as u32,
          pending_migration_ids: s.pending_migration_ids,
          current_version: s.current_version,
          namespaces: s
            .namespaces
            .into_iter()
            .map(|n| JsNamespaceSummary {
              namespace: n.namespace,
              current_version: n.current_version,
              applied_migrations: n.applied_migrations as u32,
              pending_migrations: n.pending_migrations as u32,
            })
            .collect(),
        })
      })
    })
  }

  /// Every migration this build knows or the database records, in id order, with its state.
  #[napi(catch_unwind, ts_return_type = "Promise<MigrationStatus[]>")]
  pub fn list_migrations(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      self.read(env, Ok(()), move |conn, ()| -> Result<Vec<JsMigrationStatus>> {
        Ok(
          migrator::list(conn, &set)?
            .into_iter()
            .map(|m| JsMigrationStatus {
              namespace: m.namespace,
              id: m.id,
              description: m.description,
              recorded_description: m.recorded_description,
              state: m.state.as_str().to_string(),
              origin: m.builtin.map(|builtin| if builtin { "builtin" } else { "app" }.to_string()),
              applied_at: m.applied_at,
              execution_time: m.execution_time_ms,
              checksum: m.checksum,
              applied_checksum: m.applied_checksum,
              reversible: m.reversible,
              recorded_down: m.recorded_down,
            })
            .collect(),
        )
      })
    })
  }

  /// Compares this build's migrations with the database: modified applied migrations,
  /// applied migrations unknown to this build, pending migrations older than the current
  /// version, gaps, migrations without down SQL.
  #[napi(catch_unwind, ts_return_type = "Promise<ValidationResult>")]
  pub fn validate_migrations(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      self.read(env, Ok(()), move |conn, ()| -> Result<JsValidationResult> {
        let report = migrator::validate(conn, &set)?;
        Ok(JsValidationResult {
          is_valid: report.is_valid(),
          errors: report.errors.into_iter().map(Into::into).collect(),
          warnings: report.warnings.into_iter().map(Into::into).collect(),
        })
      })
    })
  }

  /// Accepts this build's SQL for the changed applied migrations `ids` (of `namespace`, or
  /// of the one namespace where each is changed): re-records their checksums and down SQL,
  /// all or none, and resolves with what was recorded before and after. With `dryRun`
  /// nothing is written. It never accepts a migration recorded under another description (a
  /// different migration under the same id), one this build does not know, or one that did
  /// not change.
  ///
  /// Rejects with `INVALID_ARGUMENT` (such an id, or no ids), `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "options: RepairOptions", ts_return_type = "Promise<RepairResult>")]
  pub fn repair_migrations(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let set = self.migration_set();
      let args = Fields::of(options, "options", &["ids", "namespace", "dryRun"], false).and_then(|f| {
        let ids = f.strings("ids")?.ok_or_else(|| f.missing("ids"))?;
        Ok((ids, f.string("namespace")?, f.boolean("dryRun")?.unwrap_or(false)))
      });
      self.exclusive(env, args, move |conn, (ids, namespace, dry_run), _| -> Result<JsRepairResult> {
        let repaired = migrator::repair(conn, &set, &ids, namespace.as_deref(), dry_run)?;
        Ok(JsRepairResult {
          repaired: repaired
            .into_iter()
            .map(|r| JsRepairedMigration {
              namespace: r.namespace,
              id: r.id,
              description: r.description,
              old_checksum: r.old_checksum,
              new_checksum: r.new_checksum,
              up: r.up,
              old_down: r.old_down,
              new_down: r.new_down,
            })
            .collect(),
        })
      })
    })
  }

  /// Registers one app-defined migration in its namespace (`'app'` unless it names one); each
  /// namespace has its own id sequence, so the library's migrations never collide with it.
  /// Synchronous, as in the reference Migrator: returns nothing, and throws an `Error` with
  /// `code` `INVALID_ARGUMENT` for a bad object or an id already in use, or `DATABASE_CLOSED`;
  /// nothing is registered then.
  #[napi(catch_unwind, ts_args_type = "migration: Migration", ts_return_type = "void")]
  pub fn add_migration(&self, env: Env, migration: JsArg) -> napi::Result<()> {
    self.register(env, || parse_migration(migration, "migration").map(|m| vec![m]))
  }

  /// Registers several app-defined migrations, all or none. Synchronous, and throws, like
  /// `addMigration`.
  #[napi(catch_unwind, ts_args_type = "migrations: Migration[]", ts_return_type = "void")]
  pub fn add_migrations(&self, env: Env, migrations: JsArg) -> napi::Result<()> {
    self.register(env, || {
      migrations
        .elements("migrations")
        .and_then(|list| list.iter().enumerate().map(|(i, m)| parse_migration(*m, &format!("migrations[{i}]"))).collect())
    })
  }
}

impl Database {
  /// Adds the migrations `parse` reads to the set, or throws the coded error (a panic
  /// while reading them is thrown as `INTERNAL`).
  fn register(&self, env: Env, parse: impl FnOnce() -> Result<Vec<Migration>>) -> napi::Result<()> {
    let env = env.raw();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
      .unwrap_or_else(|panic| Err(Error::panicked(panic.as_ref())))
      .and_then(|added| {
        if self.is_closing() {
          return Err(Error::closed());
        }
        let mut current = self.migrations.lock();
        let mut next = (**current).clone();
        next.add(added)?;
        *current = Arc::new(next);
        Ok(())
      });
    let Err(err) = outcome else { return Ok(()) };
    let error = js_error(env, &err).map_err(|e| napi::Error::from_reason(e.message))?;
    // SAFETY: the handle invariant (see `crate::js`) holds for `env` and `error`, an Error
    // just created in it; no exception is pending (reading the arguments clears the ones it
    // meets). The exception is thrown when this method returns.
    check(env, unsafe { sys::napi_throw(env, error) }, "throwing the error").map_err(|e| napi::Error::from_reason(e.message))
  }
}
