//! Export and import of one session: `exportSession` and `importSession`.

use std::path::PathBuf;

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::error::Result;
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::migrations::required;
use agentdb_core::transfer::export::{self, ExportRequest};
use agentdb_core::transfer::import::{self, ImportRequest};
use agentdb_core::transfer::Format;

#[napi]
impl Database {
  /// Writes a session to the file at `path`, page by page on a reader (one snapshot; memory
  /// does not grow with the session): `format: 'jsonl'` (the default), the form
  /// `importSession` reads back, with a header, one line per log and a SHA-256; or
  /// `'markdown'`, a transcript to read. The file is written beside `path` and moved over it
  /// once whole and synced, so a failure leaves `path` as it was and nothing beside it.
  /// Resolves with `{ path, logs, bytes, sha256 }`.
  ///
  /// Rejects with `NOT_FOUND` (no such session), `FULL` (the disk is full), `IO`,
  /// `READONLY`, `CANT_OPEN` (the directory cannot be written), `INVALID_ARGUMENT` or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_args_type = "sessionId: string, path: string, options?: ExportSessionOptions",
    ts_return_type = "Promise<ExportedSession>"
  )]
  pub fn export_session(&self, env: Env, session_id: JsArg, path: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = (|| -> Result<ExportRequest> {
        let session_id = session_id.id("sessionId")?;
        let path = PathBuf::from(path.id("path")?);
        let f = Fields::of(options, "options", &["format"], true)?;
        let format = f.parsed("format", |v, p| Format::parse(&v.string(p)?, p))?.unwrap_or(Format::Jsonl);
        Ok(ExportRequest { session_id, path, format })
      })();
      self.read(env, args, |conn, request| -> Result<JsonText> { JsonText::of(&export::export(conn, &request)?) })
    })
  }

  /// Reads a JSON Lines export back as a new session, all or nothing, in one write
  /// transaction: new ids for the session and its logs, parent links remapped, timestamps,
  /// statuses and search texts kept. The agent is `agentId`'s when given, else the file's
  /// agent when this database has one with its id, else one made from the file. Resolves
  /// with `{ session, logs, agentCreated }`.
  ///
  /// Rejects with `UNSUPPORTED_FORMAT` (a newer format version), `CHECKSUM_MISMATCH` (the
  /// file was edited or damaged), `INVALID_EXPORT` (not an export, truncated, a malformed
  /// line, a parent link to a log not in the file), `NOT_FOUND` (no such file, or no such
  /// `agentId`), `IO`, `FULL`, `BUSY`, `INVALID_ARGUMENT` or `DATABASE_CLOSED`; nothing is
  /// written.
  #[napi(
    catch_unwind,
    ts_args_type = "path: string, options?: ImportSessionOptions",
    ts_return_type = "Promise<ImportedSession>"
  )]
  pub fn import_session(&self, env: Env, path: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = (|| -> Result<ImportRequest> {
        let path = PathBuf::from(path.id("path")?);
        let f = Fields::of(options, "options", &["agentId"], true)?;
        Ok(ImportRequest { path, agent_id: f.parsed("agentId", |v, p| v.id(p))? })
      })();
      self.exclusive(env, args, |conn, request, _| -> Result<JsonText> {
        JsonText::of(&import::import(conn, &request).map_err(|err| required::explain(conn, err))?)
      })
    })
  }
}
