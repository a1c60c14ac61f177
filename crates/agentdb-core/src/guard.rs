//! The authorizer every connection of this crate carries, and the rules it applies to SQL the
//! crate did not write. SQLite consults the authorizer while it compiles a statement, before
//! any of it runs (a pragma assignment takes effect as it is compiled, so it is refused
//! before it can), and a refused statement fails to compile.
//!
//! - The application's SQL (`query`, `execute`, a batch's `execute`) may read and change
//!   data, nothing else: it may not change the connection (transaction statements, ATTACH,
//!   DETACH, pragmas given a value, loading an extension), because an open transaction or a
//!   switched-off check would outlive the call on a connection every later call shares; and
//!   it may not create, drop or alter schema objects (TEMP ones included), because the schema
//!   belongs to migrations, which every copy of the database applies in the same order.
//!   ANALYZE and REINDEX stay allowed: they change statistics and indexes' storage, not what
//!   the schema means.
//!   Nor may it write the `migrations` tracking table, which only the migration engine
//!   writes (refused as a schema change: the table records the schema's versions).
//! - A migration's up and down SQL may change the schema and the data, never the connection
//!   or the engine's transaction: no transaction statements, ATTACH, DETACH, VACUUM, TEMP
//!   objects, loaded extensions, or pragmas given a value other than those that only report
//!   on a table or index and the two header numbers that belong to the app.
//! - The crate's own statements are never refused.

use std::cell::{Cell, RefCell};

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::{Batch, Connection};

use crate::error::{Error, ErrorCode, Result};
use crate::migrations::tracking;

/// Pragmas a migration may give a value: those that only report on the table or index their
/// argument names (`table_info(t)`, `foreign_key_check(t)`, …) and the two numbers of the
/// database header that are the application's own.
const MIGRATION_PRAGMAS: &[&str] = &[
  "application_id",
  "foreign_key_check",
  "foreign_key_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "quick_check",
  "table_info",
  "table_list",
  "table_xinfo",
  "user_version",
];

/// Whose SQL the current thread is compiling (and, for a migration, running).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Author {
  /// The crate's own statements: never refused.
  Library,
  /// The application's raw SQL.
  App,
  /// A migration's up or down SQL.
  Migration,
}

thread_local! {
  /// The author of the SQL being compiled on this thread.
  static AUTHOR: Cell<Author> = const { Cell::new(Author::Library) };
  /// The error of the first thing the authorizer refused since the current author took over.
  static REFUSED: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// What a statement would change about the connection, which neither the application's SQL
/// nor a migration's may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
  /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE.
  Transaction,
  /// ATTACH or DETACH.
  Attach,
  /// A pragma given a value.
  Setting,
  /// `load_extension()`.
  Extension,
}

impl Change {
  /// Why the application's SQL may not make this change.
  fn in_app(self) -> &'static str {
    match self {
      Change::Transaction => "every call already runs in its own transaction; use batch() to group writes",
      Change::Attach => "ATTACH and DETACH are refused",
      Change::Setting => {
        "pragmas given a value (`PRAGMA name = value`, `PRAGMA name(value)`) are refused; read a pragma as `PRAGMA name` \
         or `SELECT * FROM pragma_name(…)`"
      }
      Change::Extension => "extensions cannot be loaded",
    }
  }

  /// Why a migration's SQL may not make this change.
  fn in_migration(self) -> &'static str {
    match self {
      Change::Transaction => {
        "migration SQL may not end, start or nest transactions: the engine runs each migration in a transaction of its own"
      }
      Change::Attach => "migration SQL may not attach or detach databases",
      Change::Setting => {
        "migration SQL may not change the connection's settings: of the pragmas given a value it may only use user_version, \
         application_id and those that report on a table or index (table_info(t), foreign_key_check(t), …); a migration \
         that rebuilds a table declares foreign keys off (`-- foreign_keys: off`, disableForeignKeys) and the engine \
         switches them"
      }
      Change::Extension => "migration SQL may not load extensions",
    }
  }
}

/// Why a migration may not create or drop a TEMP object.
const TEMP_OBJECT: &str = "migration SQL may not create or drop TEMP objects: they belong to the connection, not the \
  database (use a table and drop it before the migration ends)";

/// Why a migration may not VACUUM.
const VACUUM: &str = "migration SQL may not VACUUM: it rewrites the whole file, outside the migration's transaction";

/// The error of a migration statement refused for `why`.
fn migration_refused(clause: &str, why: &str) -> Error {
  Error::new(ErrorCode::MigrationFailed, format!("{clause} is refused: {why}"))
}

/// Installs, on a connection opened by this crate, the authorizer that applies the rules of
/// this module to the SQL being compiled on the calling thread.
pub fn guard_connection(conn: &mut Connection) -> Result<()> {
  conn.authorizer(Some(|context: AuthContext<'_>| {
    let author = AUTHOR.get();
    if author == Author::Library {
      return Authorization::Allow;
    }
    match refusal(author, &context) {
      None => Authorization::Allow,
      Some(error) => {
        REFUSED.with_borrow_mut(|first| {
          first.get_or_insert(error);
        });
        Authorization::Deny
      }
    }
  }))?;
  Ok(())
}

/// The error of what the rules refuse `author` in `context`, if anything.
fn refusal(author: Author, context: &AuthContext<'_>) -> Option<Error> {
  let (change, clause) = match context.action {
    AuthAction::Transaction { operation } => (
      Change::Transaction,
      match operation {
        TransactionOperation::Begin => "BEGIN",
        TransactionOperation::Rollback => "ROLLBACK",
        // SQLite names COMMIT (and its synonym END) "COMMIT", which rusqlite does not know.
        _ => "COMMIT",
      }
      .to_string(),
    ),
    AuthAction::Savepoint { operation, savepoint_name } => (
      Change::Transaction,
      match operation {
        TransactionOperation::Release => format!("RELEASE {savepoint_name}"),
        TransactionOperation::Rollback => format!("ROLLBACK TO {savepoint_name}"),
        _ => format!("SAVEPOINT {savepoint_name}"),
      },
    ),
    AuthAction::Attach { filename } => (Change::Attach, format!("ATTACH '{}'", filename.replace('\'', "''"))),
    AuthAction::Detach { database_name } => (Change::Attach, format!("DETACH {database_name}")),
    AuthAction::Pragma { pragma_name, pragma_value: Some(value) } => {
      if author == Author::Migration && MIGRATION_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) {
        return None;
      }
      (Change::Setting, format!("PRAGMA {pragma_name} = {value}"))
    }
    AuthAction::Function { function_name } if function_name.eq_ignore_ascii_case("load_extension") => {
      (Change::Extension, "load_extension()".to_string())
    }
    AuthAction::Insert { table_name } | AuthAction::Update { table_name, .. } | AuthAction::Delete { table_name }
      if author == Author::App && context.database_name == Some("main") && table_name.eq_ignore_ascii_case(tracking::TABLE) =>
    {
      return Some(Error::new(
        ErrorCode::SchemaChangeRefused,
        format!(
          "writing {table_name} is refused: it is the migrations tracking table, which only the migration engine writes; \
           use migrate(), rollbackLast(), rollbackTo() or repairMigrations()"
        ),
      ));
    }
    action => {
      let (clause, temp) = schema_change(action)?;
      return match author {
        Author::App => Some(Error::new(
          ErrorCode::SchemaChangeRefused,
          format!(
            "{clause} is refused: query(), execute() and batch() may not create, drop or alter tables, indexes, triggers or \
             views (TEMP ones included); write an app migration instead (addMigration), so that every database gets the \
             same schema, versioned and reversible"
          ),
        )),
        _ if temp || context.database_name == Some("temp") => Some(migration_refused(&clause, TEMP_OBJECT)),
        _ => None,
      };
    }
  };
  Some(match author {
    Author::App => Error::invalid(format!("{clause} is refused: sql may not change the connection: {}", change.in_app())),
    _ => migration_refused(&clause, change.in_migration()),
  })
}

/// The clause of an action that creates, drops or alters a schema object, and whether the
/// object is TEMP. ANALYZE creates its statistics tables (`sqlite_stat1`, …) the first time:
/// that is not a schema change of the app's (SQLite refuses those names to any other SQL).
fn schema_change(action: AuthAction<'_>) -> Option<(String, bool)> {
  Some(match action {
    AuthAction::CreateTable { table_name } if table_name.to_ascii_lowercase().starts_with("sqlite_stat") => return None,
    AuthAction::CreateTable { table_name } => (format!("CREATE TABLE {table_name}"), false),
    AuthAction::CreateTempTable { table_name } => (format!("CREATE TEMP TABLE {table_name}"), true),
    AuthAction::CreateIndex { index_name, .. } => (format!("CREATE INDEX {index_name}"), false),
    AuthAction::CreateTempIndex { index_name, .. } => (format!("CREATE INDEX {index_name}"), true),
    AuthAction::CreateTrigger { trigger_name, .. } => (format!("CREATE TRIGGER {trigger_name}"), false),
    AuthAction::CreateTempTrigger { trigger_name, .. } => (format!("CREATE TEMP TRIGGER {trigger_name}"), true),
    AuthAction::CreateView { view_name } => (format!("CREATE VIEW {view_name}"), false),
    AuthAction::CreateTempView { view_name } => (format!("CREATE TEMP VIEW {view_name}"), true),
    AuthAction::CreateVtable { table_name, module_name } => {
      (format!("CREATE VIRTUAL TABLE {table_name} USING {module_name}"), false)
    }
    AuthAction::DropTable { table_name } => (format!("DROP TABLE {table_name}"), false),
    AuthAction::DropTempTable { table_name } => (format!("DROP TABLE {table_name}"), true),
    AuthAction::DropIndex { index_name, .. } => (format!("DROP INDEX {index_name}"), false),
    AuthAction::DropTempIndex { index_name, .. } => (format!("DROP INDEX {index_name}"), true),
    AuthAction::DropTrigger { trigger_name, .. } => (format!("DROP TRIGGER {trigger_name}"), false),
    AuthAction::DropTempTrigger { trigger_name, .. } => (format!("DROP TRIGGER {trigger_name}"), true),
    AuthAction::DropView { view_name } => (format!("DROP VIEW {view_name}"), false),
    AuthAction::DropTempView { view_name } => (format!("DROP VIEW {view_name}"), true),
    AuthAction::DropVtable { table_name, .. } => (format!("DROP TABLE {table_name}"), false),
    AuthAction::AlterTable { table_name, .. } => (format!("ALTER TABLE {table_name}"), false),
    _ => return None,
  })
}

/// Runs `work` as `author`, with no refusal recorded yet, then gives the thread back to the
/// author it had (also when `work` panics).
fn as_author<T>(author: Author, work: impl FnOnce() -> T) -> T {
  struct Restore(Author);
  impl Drop for Restore {
    fn drop(&mut self) {
      AUTHOR.set(self.0);
      REFUSED.take();
    }
  }
  let _restore = Restore(AUTHOR.replace(author));
  REFUSED.take();
  work()
}

/// Compiles the application's SQL with `compile` (a call that prepares it) under the rules for
/// application SQL. A refused statement fails with the error that says why:
/// `SCHEMA_CHANGE_REFUSED` for a schema change, `INVALID_ARGUMENT` for a change of the
/// connection. Any other outcome of `compile` is returned as it is, for the caller to map.
pub fn compile_app_sql<T>(compile: impl FnOnce() -> rusqlite::Result<T>) -> Result<rusqlite::Result<T>> {
  as_author(Author::App, || match compile() {
    // A refusal always fails the statement, though SQLite does not always report it as
    // SQLITE_AUTH (a refused function call is a plain error): what was refused is recorded.
    Err(err) => match REFUSED.take() {
      Some(refusal) => Err(refusal),
      None => Ok(Err(err)),
    },
    compiled => Ok(compiled),
  })
}

/// Why a migration's SQL stopped.
enum Stop {
  /// A statement the rules refuse.
  Refused(Error),
  /// Anything else: SQLite's own errors.
  Failed(Error),
}

impl Stop {
  fn into_error(self) -> Error {
    match self {
      Stop::Refused(err) | Stop::Failed(err) => err,
    }
  }

  fn context(self, context: &str) -> Stop {
    match self {
      Stop::Refused(err) => Stop::Refused(err.context(context)),
      Stop::Failed(err) => Stop::Failed(err.context(context)),
    }
  }
}

/// Runs a migration's up or down SQL (`statements`, each of which may hold several SQL
/// statements) under the rules for migrations. A refused statement fails with
/// `MIGRATION_FAILED` naming it, before it runs; the caller's transaction rolls back what
/// the statements before it did.
///
/// Outside a transaction (`useTransaction: false`) there is nothing to roll back, so the SQL
/// is first run once as a check inside a savepoint that is then rolled back: a statement
/// compiles only against the schema the statements before it create, so running them is the
/// only way to find a refused statement before any of the migration is applied. Other
/// failures of the check are left to the run itself, which reports them where they happen.
pub fn run_migration_sql(conn: &Connection, statements: &[String]) -> Result<()> {
  if conn.is_autocommit() {
    check_migration_sql(conn, statements)?;
  }
  run_all(conn, statements).map_err(Stop::into_error)
}

/// The check of [`run_migration_sql`] outside a transaction.
fn check_migration_sql(conn: &Connection, statements: &[String]) -> Result<()> {
  conn.execute_batch("SAVEPOINT migration_check")?;
  let outcome = run_all(conn, statements);
  // A failure can have rolled back the whole transaction already (RAISE(ROLLBACK), a full disk).
  if !conn.is_autocommit() {
    conn.execute_batch("ROLLBACK TO migration_check; RELEASE migration_check")?;
  }
  match outcome {
    Err(Stop::Refused(err)) => Err(Error::new(
      err.code,
      format!("{}; a check run found it before any of the migration ran, so nothing of it was applied", err.message),
    )),
    _ => Ok(()),
  }
}

/// Runs every text of `statements` in order, naming the one that stops when there are several.
fn run_all(conn: &Connection, statements: &[String]) -> Result<(), Stop> {
  for (index, sql) in statements.iter().enumerate() {
    run_text(conn, sql).map_err(|stop| if statements.len() > 1 { stop.context(&format!("statement {index}")) } else { stop })?;
  }
  Ok(())
}

/// Runs the SQL statements of one text in order, as `execute_batch` does (each stepped once),
/// with the thread compiling and running migration SQL throughout: SQL that SQLite compiles
/// while a statement runs (VACUUM's, a virtual table's) is held to the same rules.
fn run_text(conn: &Connection, sql: &str) -> Result<(), Stop> {
  as_author(Author::Migration, || {
    let mut batch = Batch::new(conn, sql);
    while let Some(mut stmt) = batch.next().map_err(stop)? {
      // VACUUM consults no authorizer while it is compiled; it is known by its first keyword.
      if first_keyword(&stmt.expanded_sql().unwrap_or_default()).eq_ignore_ascii_case("VACUUM") {
        return Err(Stop::Refused(migration_refused("VACUUM", VACUUM)));
      }
      stmt.raw_query().next().map_err(stop)?;
    }
    Ok(())
  })
}

/// The [`Stop`] a failure of migration SQL is.
fn stop(err: rusqlite::Error) -> Stop {
  match REFUSED.take() {
    Some(refusal) => Stop::Refused(refusal),
    None => Stop::Failed(err.into()),
  }
}

/// The first keyword of an SQL statement, after whitespace and comments.
fn first_keyword(sql: &str) -> &str {
  let mut rest = sql;
  loop {
    rest = rest.trim_start();
    if let Some(comment) = rest.strip_prefix("--") {
      rest = comment.find('\n').map_or("", |end| &comment[end..]);
    } else if let Some(comment) = rest.strip_prefix("/*") {
      rest = comment.find("*/").map_or("", |end| &comment[end + 2..]);
    } else {
      let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
      return &rest[..end];
    }
  }
}
