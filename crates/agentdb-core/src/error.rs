//! The one error type of the core, its stable string codes, and the single place where
//! SQLite's result codes are mapped onto them.

use std::any::Any;
use std::fmt;

use rusqlite::ffi;

/// Declares [`ErrorCode`] from one list: each variant with the string JavaScript sees.
macro_rules! error_codes {
  ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
    /// A stable, documented error code. JavaScript sees it as the `code` property of the
    /// `Error` a call rejects with; the strings never change meaning between releases.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ErrorCode {
      $($(#[$doc])* $variant,)+
    }

    impl ErrorCode {
      /// Every code, in declaration order (the order of the `ErrorCode` union in the typings).
      pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

      /// The string JavaScript sees as `error.code`.
      pub fn as_str(self) -> &'static str {
        match self {
          $(ErrorCode::$variant => $text,)+
        }
      }
    }
  };
}

error_codes! {
  /// An argument has the wrong type, shape or value; nothing was written.
  InvalidArgument = "INVALID_ARGUMENT",
  /// The agent, session, log or migration named by the call does not exist.
  NotFound = "NOT_FOUND",
  /// A row with that id (or unique key) exists already.
  AlreadyExists = "ALREADY_EXISTS",
  /// A CHECK, NOT NULL, foreign key or trigger constraint refused the write.
  Constraint = "CONSTRAINT",
  /// SQLite skipped the write without an error: a trigger (`RAISE(IGNORE)`) or a conflict
  /// clause (`ON CONFLICT IGNORE`) left the row as it was; nothing was written.
  NotWritten = "NOT_WRITTEN",
  /// The path given inside a log's content holds no string (it is missing, or holds another
  /// JSON type), so no text could be appended to it; nothing was written.
  NotText = "NOT_TEXT",
  /// The agent or session written to is in the trash (`deleteAgent`/`deleteSession` with
  /// `soft: true`), or a session's agent is when it is restored alone; restore it first.
  /// Nothing was written.
  Trashed = "TRASHED",
  /// A log's stored content and metadata would be larger than the database's `maxLogBytes`
  /// (an option of `open`); the message names the limit and the size. Nothing was written.
  LogTooLarge = "LOG_TOO_LARGE",
  /// Another connection held the lock for longer than the busy timeout.
  Busy = "BUSY",
  /// The call was made after `close()`, or was still queued when the database closed.
  DatabaseClosed = "DATABASE_CLOSED",
  /// The file exists but is not an SQLite database.
  NotADatabase = "NOT_A_DATABASE",
  /// The database file is damaged.
  Corrupt = "CORRUPT",
  /// The file or its directory cannot be written.
  Readonly = "READONLY",
  /// The file cannot be opened (missing directory, a directory path, no permission).
  CantOpen = "CANT_OPEN",
  /// The file is already open in this process through another SQLite (another SQLite
  /// library such as better-sqlite3, or another copy of this addon), whose locks cannot
  /// exclude this library's within one process; opening it too would corrupt it.
  OpenElsewhereInProcess = "OPEN_ELSEWHERE_IN_PROCESS",
  /// A stored value is not of the type its column holds (written by another tool, raw SQL,
  /// or a file from elsewhere); the message names the table, the row and the column.
  BadValue = "BAD_VALUE",
  /// A read-only open found a hot journal: the file was left in the middle of a transaction,
  /// which only a read-write open rolls back. Nothing was changed.
  HotJournal = "HOT_JOURNAL",
  /// The disk or the database's size limit is full.
  Full = "FULL",
  /// The operating system reported an I/O error.
  Io = "IO",
  /// SQL given by the application (raw queries, app-defined migrations) is not valid here.
  SqlError = "SQL_ERROR",
  /// Raw SQL tried to create, drop or alter a schema object; schema changes belong in
  /// migrations. Nothing was changed.
  SchemaChangeRefused = "SCHEMA_CHANGE_REFUSED",
  /// The database's schema lacks migrations of this library that the call needs: it was
  /// never migrated, or they were rolled back since (here, by another connection, by another
  /// process). The message names them; call `migrate()`. Nothing was changed.
  NotMigrated = "NOT_MIGRATED",
  /// A migration failed and was rolled back; the database is as it was before it.
  MigrationFailed = "MIGRATION_FAILED",
  /// Migration validation found errors, so nothing was applied.
  MigrationValidationFailed = "MIGRATION_VALIDATION_FAILED",
  /// The migration to roll back has no down SQL, so nothing was changed.
  MigrationIrreversible = "MIGRATION_IRREVERSIBLE",
  /// The result cannot become a JavaScript value: longer than a JavaScript string can be,
  /// or larger than the JavaScript heap has room for. Nothing was changed; read it in
  /// smaller pages (`maxBytes`, `limit`) or narrower queries.
  ResultTooLarge = "RESULT_TOO_LARGE",
  /// The statement ran past its time limit (`timeoutMs`, or the database's
  /// `statementTimeoutMs`) and was interrupted; what it had changed was rolled back.
  Timeout = "TIMEOUT",
  /// The call's `signal` was aborted; the statement was interrupted (or never started) and
  /// what it had changed was rolled back.
  Aborted = "ABORTED",
  /// `close()` interrupted the call, which was still running when close's wait ran out;
  /// what it had changed was rolled back.
  Interrupted = "INTERRUPTED",
  /// A search query in FTS5 syntax (`syntax: 'fts5'`) that SQLite cannot parse.
  QuerySyntax = "QUERY_SYNTAX",
  /// An export file (`importSession`) says it is of a format version newer than this build
  /// reads; nothing was written.
  UnsupportedFormat = "UNSUPPORTED_FORMAT",
  /// An export file's SHA-256 is not the one its last line records: it was edited or damaged
  /// after it was written; nothing was written.
  ChecksumMismatch = "CHECKSUM_MISMATCH",
  /// An export file is not a whole session export: not one at all, truncated, a line that is
  /// not what its place holds, a parent link to a log not in the file; nothing was written.
  InvalidExport = "INVALID_EXPORT",
  /// A bug in this library (a panic, or a state that should be impossible).
  Internal = "INTERNAL",
}

/// An error with a stable [`ErrorCode`] and a message that names the offending field, id or
/// migration and carries SQLite's own text where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
  /// What kind of failure this is.
  pub code: ErrorCode,
  /// Human-readable detail.
  pub message: String,
}

/// The result type of every core operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
  /// Builds an error from a code and a message.
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    Error { code, message: message.into() }
  }

  /// An `INVALID_ARGUMENT` error.
  pub fn invalid(message: impl Into<String>) -> Self {
    Error::new(ErrorCode::InvalidArgument, message)
  }

  /// A `NOT_FOUND` error.
  pub fn not_found(message: impl Into<String>) -> Self {
    Error::new(ErrorCode::NotFound, message)
  }

  /// The `NOT_WRITTEN` error of a typed write that SQLite skipped: `what` (`agent "a1"`)
  /// was not written to `table`.
  pub fn not_written(table: &str, what: impl fmt::Display) -> Self {
    Error::new(
      ErrorCode::NotWritten,
      format!("{what} was not written: a trigger or conflict clause on {table} skipped it (RAISE(IGNORE), OR IGNORE)"),
    )
  }

  /// The `DATABASE_CLOSED` error every call after `close()` gets.
  pub fn closed() -> Self {
    Error::new(ErrorCode::DatabaseClosed, "the database is closed")
  }

  /// An `INTERNAL` error.
  pub fn internal(message: impl Into<String>) -> Self {
    Error::new(ErrorCode::Internal, message)
  }

  /// The `INTERNAL` error a caught panic becomes, carrying the panic's message.
  pub fn panicked(payload: &(dyn Any + Send)) -> Self {
    let what = payload
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| payload.downcast_ref::<String>().cloned())
      .unwrap_or_else(|| "unknown panic".to_string());
    Error::internal(format!("the call panicked ({what}); whatever it had changed was rolled back"))
  }

  /// For an `ALREADY_EXISTS` error from inserting a row with a caller-given id, a message
  /// naming the row (`agent "a1" already exists`); any other error is returned as it is.
  pub fn naming_duplicate(self, what: &str, id: Option<&str>) -> Self {
    match id {
      Some(id) if self.code == ErrorCode::AlreadyExists => {
        Error::new(ErrorCode::AlreadyExists, format!("{what} {id:?} already exists"))
      }
      _ => self,
    }
  }

  /// The same error with `context: ` put before its message.
  pub fn context(mut self, context: impl fmt::Display) -> Self {
    self.message = format!("{context}: {}", self.message);
    self
  }
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
  fn from(err: rusqlite::Error) -> Self {
    if let Some(bad) = crate::stored::bad_value(&err) {
      return bad.into();
    }
    let code = match &err {
      rusqlite::Error::SqliteFailure(failure, _) => code_for_sqlite(failure),
      rusqlite::Error::InvalidParameterCount(..)
      | rusqlite::Error::InvalidParameterName(_)
      | rusqlite::Error::MultipleStatement
      | rusqlite::Error::ExecuteReturnedResults
      | rusqlite::Error::InvalidColumnName(_)
      | rusqlite::Error::SqlInputError { .. }
      | rusqlite::Error::Empty => ErrorCode::SqlError,
      rusqlite::Error::ToSqlConversionFailure(_) => ErrorCode::InvalidArgument,
      // A stored value of the wrong type read without [`crate::stored::read`].
      rusqlite::Error::InvalidColumnType(..)
      | rusqlite::Error::FromSqlConversionFailure(..)
      | rusqlite::Error::IntegralValueOutOfRange(..) => ErrorCode::BadValue,
      _ => ErrorCode::Internal,
    };
    let busy = matches!(&err, rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::DatabaseBusy);
    let message = if code == ErrorCode::Interrupted {
      // Only close interrupts a call that has no limits of its own (see `interrupt`).
      return crate::interrupt::interrupted_by_close();
    } else if busy {
      // SQLite has already waited out the busy timeout: say so, it is what the app can act on.
      format!("another connection held the database lock for longer than the busy timeout ({err})")
    } else {
      err.to_string()
    };
    Error::new(code, message)
  }
}

/// Maps SQLite's primary and extended result codes onto [`ErrorCode`].
fn code_for_sqlite(failure: &ffi::Error) -> ErrorCode {
  use rusqlite::ErrorCode as Sqlite;
  match failure.code {
    Sqlite::ConstraintViolation => match failure.extended_code {
      ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => ErrorCode::AlreadyExists,
      _ => ErrorCode::Constraint,
    },
    Sqlite::DatabaseBusy | Sqlite::DatabaseLocked => ErrorCode::Busy,
    Sqlite::NotADatabase => ErrorCode::NotADatabase,
    Sqlite::DatabaseCorrupt => ErrorCode::Corrupt,
    Sqlite::ReadOnly => ErrorCode::Readonly,
    Sqlite::CannotOpen | Sqlite::PermissionDenied => ErrorCode::CantOpen,
    Sqlite::DiskFull | Sqlite::TooBig => ErrorCode::Full,
    Sqlite::SystemIoFailure => ErrorCode::Io,
    Sqlite::TypeMismatch | Sqlite::ParameterOutOfRange => ErrorCode::InvalidArgument,
    Sqlite::Unknown => ErrorCode::SqlError,
    Sqlite::OperationInterrupted => ErrorCode::Interrupted,
    _ => ErrorCode::Internal,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn sqlite_error(extended: i32) -> Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(extended), None).into()
  }

  #[test]
  fn sqlite_codes_map_to_stable_codes() {
    let cases = [
      (ffi::SQLITE_CONSTRAINT_PRIMARYKEY, ErrorCode::AlreadyExists),
      (ffi::SQLITE_CONSTRAINT_UNIQUE, ErrorCode::AlreadyExists),
      (ffi::SQLITE_CONSTRAINT_FOREIGNKEY, ErrorCode::Constraint),
      (ffi::SQLITE_CONSTRAINT_CHECK, ErrorCode::Constraint),
      (ffi::SQLITE_BUSY, ErrorCode::Busy),
      (ffi::SQLITE_BUSY_SNAPSHOT, ErrorCode::Busy),
      (ffi::SQLITE_LOCKED, ErrorCode::Busy),
      (ffi::SQLITE_NOTADB, ErrorCode::NotADatabase),
      (ffi::SQLITE_CORRUPT, ErrorCode::Corrupt),
      (ffi::SQLITE_READONLY, ErrorCode::Readonly),
      (ffi::SQLITE_CANTOPEN, ErrorCode::CantOpen),
      (ffi::SQLITE_FULL, ErrorCode::Full),
      (ffi::SQLITE_IOERR_WRITE, ErrorCode::Io),
      (ffi::SQLITE_ERROR, ErrorCode::SqlError),
    ];
    for (extended, expected) in cases {
      assert_eq!(sqlite_error(extended).code, expected, "extended code {extended}");
    }
  }

  #[test]
  fn busy_says_the_lock_outlasted_the_busy_timeout() {
    let path = std::env::temp_dir().join(format!("agentdb-error-busy-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);").unwrap();
    let waiter = rusqlite::Connection::open(&path).unwrap();
    waiter.busy_timeout(std::time::Duration::from_millis(20)).unwrap();
    let err: Error = waiter.execute_batch("BEGIN IMMEDIATE").unwrap_err().into();
    assert_eq!(err.code, ErrorCode::Busy);
    assert!(
      err.message.contains("longer than the busy timeout") && err.message.contains("database is locked"),
      "{}",
      err.message
    );
    drop((holder, waiter));
    let _ = std::fs::remove_file(&path);
  }

  #[test]
  fn real_sqlite_errors_carry_sqlite_text() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let err: Error = conn.execute_batch("SELEC 1").unwrap_err().into();
    assert_eq!(err.code, ErrorCode::SqlError);
    assert!(err.message.contains("syntax error"), "{}", err.message);
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
    conn.execute_batch("INSERT INTO t VALUES (1, 'a')").unwrap();
    let err: Error = conn.execute_batch("INSERT INTO t VALUES (1, 'b')").unwrap_err().into();
    assert_eq!(err.code, ErrorCode::AlreadyExists);
    let err: Error = conn.execute_batch("INSERT INTO t VALUES (2, NULL)").unwrap_err().into();
    assert_eq!(err.code, ErrorCode::Constraint);
    assert!(err.message.contains("NOT NULL"), "{}", err.message);
  }
}
