//! The enumerations of the data model, with the exact strings stored in SQL and shown to
//! JavaScript, and the timestamp expression every table uses.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// SQL for "now" as ISO-8601 UTC with milliseconds, the format of every timestamp column.
pub const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// SQL for the new `updated_at` of a changed row: now, or one millisecond after its previous
/// value if the clock has not moved past it, so every change moves `updated_at` forward.
pub const TOUCH_UPDATED_AT: &str = "CASE WHEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') > updated_at \
   THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') ELSE strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, '+0.001 seconds') END";

/// SQL generating a random version-4 UUID, used for ids the caller did not give.
pub const NEW_UUID: &str =
  "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' \
   || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))";

/// Declares a string enumeration: its variants, their stored strings, parsing and serde.
macro_rules! string_enum {
  ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
    $(#[$doc])*
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum $name {
      $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
    }

    impl $name {
      /// Every accepted string, in declaration order.
      pub const ALL: &'static [&'static str] = &[$($text),+];

      /// The stored string.
      pub fn as_str(self) -> &'static str {
        match self { $($name::$variant => $text),+ }
      }

      /// Parses the stored string; `what` names the field in the error.
      pub fn parse(text: &str, what: impl std::fmt::Display) -> Result<Self> {
        match text {
          $($text => Ok($name::$variant),)+
          other => Err(Error::invalid(format!(
            "{what} must be one of {}, got {other:?}", Self::ALL.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
          ))),
        }
      }
    }

    impl rusqlite::ToSql for $name {
      fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
      }
    }

    impl rusqlite::types::FromSql for $name {
      fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        $name::parse(text, $field).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
      }
    }
  };
}

pub(crate) use string_enum;

string_enum!(
  /// What kind of agent this is.
  AgentType, "type", { /** Claude Code. */ ClaudeCode = "claudeCode", /** Codex. */ Codex = "codex", /** Anything else. */ Custom = "custom" }
);

string_enum!(
  /// What an agent may do without asking.
  PermissionMode, "permissionMode", {
    /** Read only. */ ReadOnly = "readOnly",
    /** May edit files. */ AcceptEdits = "acceptEdits",
    /** Asks for nothing. */ BypassPermissions = "bypassPermissions",
  }
);

string_enum!(
  /// Where a session is in its life.
  SessionStatus, "status", {
    /** Created, not started. */ Idle = "idle",
    /** Working. */ Running = "running",
    /** Finished successfully. */ Completed = "completed",
    /** Finished with an error. */ Failed = "failed",
    /** Stopped by the user. */ Stopped = "stopped",
  }
);

string_enum!(
  /// Who produced a log entry.
  LogRole, "role", { /** The user. */ User = "user", /** The agent. */ Agent = "agent", /** The system. */ System = "system", /** A tool. */ Tool = "tool" }
);

string_enum!(
  /// What a log entry records.
  LogType, "type", {
    /** A message. */ Message = "message",
    /** A thought. */ Thought = "thought",
    /** An action taken. */ Action = "action",
    /** What an action observed. */ Observation = "observation",
  }
);

string_enum!(
  /// Where a log entry is in its life: a streamed reply is `pending`, then `streaming`, then
  /// finished; every other entry is `complete`.
  LogStatus, "status", {
    /** Written whole (the default). */ Complete = "complete",
    /** Created, no text yet. */ Pending = "pending",
    /** Text is being appended. */ Streaming = "streaming",
    /** Finished with an error. */ Error = "error",
    /** Stopped before it finished. */ Cancelled = "cancelled",
    /** Still pending or streaming when the process writing it ended. */ Interrupted = "interrupted",
  }
);

impl LogStatus {
  /// The statuses `finishLog` may set.
  pub const FINISHED: [LogStatus; 3] = [LogStatus::Complete, LogStatus::Error, LogStatus::Cancelled];
}

string_enum!(
  /// What `deleteLog` does with the entries under the one it deletes.
  LogChildren, "options.children", {
    /** Delete them too, and theirs, down the whole subtree. */ Delete = "delete",
    /** Move them to the deleted entry's parent (or to the root when it had none). */ Reparent = "reparent",
  }
);

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic
/// Gregorian calendar, days-from-civil inverted).
pub fn iso_from_epoch_millis(millis: i64) -> String {
  let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z.rem_euclid(146_097);
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = doy - (153 * mp + 2) / 5 + 1;
  let month = if mp < 10 { mp + 3 } else { mp - 9 };
  let year = yoe + era * 400 + i64::from(month <= 2);
  let (h, m, s, ms) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
  format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// The current time as ISO-8601 UTC with milliseconds, from the system clock (the clock
/// SQLite's `'now'` reads).
pub fn now_iso() -> String {
  let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
  iso_from_epoch_millis(millis)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn enums_round_trip_and_name_the_field() {
    assert_eq!(AgentType::parse("claudeCode", "type").unwrap(), AgentType::ClaudeCode);
    assert_eq!(SessionStatus::parse("stopped", "status").unwrap().as_str(), "stopped");
    let err = PermissionMode::parse("admin", "input.permissionMode").unwrap_err();
    assert!(err.message.contains("input.permissionMode") && err.message.contains("'acceptEdits'"), "{err}");
    assert_eq!(serde_json::to_string(&LogRole::Tool).unwrap(), "\"tool\"");
  }

  #[test]
  fn uuid_expression_makes_version_4_ids() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let id: String = conn.query_row(&format!("SELECT {NEW_UUID}"), [], |r| r.get(0)).unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
    assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "{id}");
  }

  #[test]
  fn formats_epoch_millis_as_iso() {
    assert_eq!(iso_from_epoch_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_from_epoch_millis(1_733_824_800_000), "2024-12-10T10:00:00.000Z");
    assert_eq!(iso_from_epoch_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(iso_from_epoch_millis(-1), "1969-12-31T23:59:59.999Z");
  }
}
