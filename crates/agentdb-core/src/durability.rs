//! The `durability` open option: what an acknowledged write survives. Both settings keep the
//! file sound through any crash; they differ in whether the last writes before an OS crash or
//! a power cut are kept.
//!
//! - `full` (the default): `PRAGMA synchronous = FULL` in WAL mode, so every commit syncs the
//!   write-ahead log before its writes are acknowledged, and `fullfsync` (on macOS the sync
//!   is `F_FULLFSYNC`, which also flushes the drive's cache; elsewhere it changes nothing). A
//!   write that was acknowledged survives a power cut.
//! - `normal`: `PRAGMA synchronous = NORMAL`; the log is synced only before each checkpoint.
//!   Writes survive the process being killed, but the last ones acknowledged before an OS
//!   crash or a power cut can be rolled back (whole transactions, never part of one).
//!
//! The power-cut tests (`tests::power_cut`) check both claims.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::string_enum;

string_enum!(
  /// What an acknowledged write survives.
  Durability, "durability", {
    /** A process kill; an OS crash or a power cut may roll back the last writes. */ Normal = "normal",
    /** A process kill, an OS crash and a power cut: each commit is synced. */ Full = "full",
  }
);

impl Default for Durability {
  /// `full`: an app that was told a write succeeded expects to find it after a power cut.
  fn default() -> Self {
    Durability::Full
  }
}

impl Durability {
  /// Sets the writer connection's sync pragmas for this durability.
  pub fn apply(self, conn: &Connection) -> Result<()> {
    let (synchronous, fullfsync) = match self {
      Durability::Normal => ("NORMAL", false),
      Durability::Full => ("FULL", true),
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "fullfsync", fullfsync)?;
    Ok(())
  }
}
