//! The session-log methods of `Database`.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::command::{Kind, Returning};
use agentdb_core::error::{Error, Result};
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::read::{latest_page, log_id, order, page};
use agentdb_core::logs;
use agentdb_core::trash::Trash;

#[napi]
impl Database {
  /// Appends a log entry. `content` and `metadata` take any JSON value and come back equal.
  ///
  /// Rejects with `NOT_FOUND` (the session does not exist), `CONSTRAINT` (the parent is not
  /// a log of the same session), `NOT_WRITTEN` (a trigger skipped the insert),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "input: LogInput",
    ts_return_type = "Promise<SessionLog<TContent, TMetadata>>"
  )]
  pub fn add_log(&self, env: Env, input: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::AddLog, &[input]))
  }

  /// Appends several log entries, all or none: one bad entry rejects the call (naming its
  /// index) and writes nothing. Resolves with the entries as stored, in order, or, with
  /// `returning: 'ids'`, with their ids only (which spares building the entries). A long list
  /// is read a slice at a time in the turns of the event loop after the call: each entry is
  /// read once, before the write starts, and an entry changed before it is read is written
  /// as changed.
  ///
  /// Rejects like `addLog`; with `DATABASE_CLOSED` also when `close()` is called before a long
  /// list is read whole (nothing is written).
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue, const Options extends AddLogsOptions | undefined = undefined",
    ts_args_type = "inputs: LogInput[], options?: Options",
    ts_return_type = "Promise<AddLogsResult<Options, TContent, TMetadata>>"
  )]
  pub fn add_logs(&self, env: Env, inputs: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let returning = Fields::of(options, "options", &["returning"], true).and_then(|f| {
        f.string("returning")?.map_or(Ok(Returning::Rows), |value| Returning::parse(&value, &f.path("returning").to_string()))
      });
      match returning {
        Ok(returning) => self.command_returning(env, Kind::AddLogs, &[inputs], returning),
        Err(err) => crate::completion::rejected(env.raw(), &self.queue, err).map(JsReturn),
      }
    })
  }

  /// The log entry with this id, or `null`. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "id: number",
    ts_return_type = "Promise<SessionLog<TContent, TMetadata> | null>"
  )]
  pub fn get_log(&self, env: Env, id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read_short(env, log_id(id, &"id"), |conn, id| -> Result<JsonText> { JsonText::of(&logs::get(conn, id)?) })
    })
  }

  /// A page of a session's log in the order it was appended in (`id` order; `order: 'desc'`
  /// for newest first), by `limit`/`offset` or by the keyset cursor `after`. With `around:
  /// logId` (a search hit), the `limit` entries around that entry, oldest first, with
  /// `nextCursor` for the entries after the page and `previousCursor` (to pass as `after`
  /// with `order: 'desc'`) for those before it.
  ///
  /// Rejects with `NOT_FOUND` (`around` names no log of the session), `INVALID_ARGUMENT`
  /// (also for a cursor of another call, session, order or version), `RESULT_TOO_LARGE` or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "sessionId: string, options?: GetLogsOptions",
    ts_return_type = "Promise<LogPage<SessionLog<TContent, TMetadata>>>"
  )]
  pub fn get_logs(&self, env: Env, session_id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = session_id.id("sessionId").and_then(|id| {
        let f = Fields::of(options, "options", &["limit", "offset", "after", "order", "around", "maxBytes"], true)?;
        let around = f.parsed("around", log_id)?;
        if around.is_some() && ["offset", "after", "order"].iter().any(|name| f.get(name).is_ok_and(|v| v.is_some())) {
          return Err(Error::invalid("options.around takes only limit (not offset, after or order)"));
        }
        Ok((id, order(&f)?, page(&f)?, around))
      });
      self.read_short(env, args, |conn, (id, order, page, around)| -> Result<JsonText> {
        match around {
          Some(log_id) => JsonText::of(&logs::around(conn, &id, log_id, page.limit)?),
          None => JsonText::of(&logs::list(conn, &id, order, &page)?),
        }
      })
    })
  }

  /// A page of the newest entries of a session (`limit`: default 50, at most 1000), oldest
  /// of them first — what a chat view shows. Its `nextCursor`, passed back as `after`, gives
  /// the page of entries before them (scrolling back); `null` when there are none. The second
  /// argument may also be the limit alone. With `maxBytes`, only the newest entries whose
  /// JSON text fits in that many bytes (the newest one always, however large).
  ///
  /// Rejects with `INVALID_ARGUMENT` (also for a cursor of another call, session or version),
  /// `RESULT_TOO_LARGE` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "sessionId: string, options?: number | GetLatestLogsOptions",
    ts_return_type = "Promise<Page<SessionLog<TContent, TMetadata>>>"
  )]
  pub fn get_latest_logs(&self, env: Env, session_id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = session_id.id("sessionId").and_then(|id| Ok((id, latest_page(options)?)));
      self.read_short(env, args, |conn, (id, page)| -> Result<JsonText> { JsonText::of(&logs::latest(conn, &id, &page)?) })
    })
  }

  /// Changes the given fields of a log entry. Resolves with the entry as stored.
  /// Rejects with `NOT_FOUND`, `NOT_WRITTEN` (a trigger skipped the update),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "id: number, patch: LogPatch",
    ts_return_type = "Promise<SessionLog<TContent, TMetadata>>"
  )]
  pub fn update_log(&self, env: Env, id: JsArg, patch: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::UpdateLog, &[id, patch]))
  }

  /// Appends `delta` to the string at `path` inside a log entry's content, in SQLite (the
  /// content is not sent again); a `pending` entry becomes `streaming`. Cheap enough for every
  /// chunk of a streamed reply: chunks queued together commit together. Resolves with the
  /// entry's id, status and `updatedAt`.
  ///
  /// Rejects with `NOT_TEXT` (the path holds no string; nothing is written), `NOT_FOUND`,
  /// `NOT_WRITTEN` (a trigger skipped the update), `INVALID_ARGUMENT` (a malformed path),
  /// `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: number, options: AppendLogTextOptions", ts_return_type = "Promise<AppendedLogText>")]
  pub fn append_log_text(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::AppendLogText, &[id, options]))
  }

  /// Finishes a streamed entry: sets its status (`complete`, `error` or `cancelled`) and, when
  /// given, its final content and metadata. Resolves with the entry as stored.
  ///
  /// Rejects with `NOT_FOUND`, `NOT_WRITTEN` (a trigger skipped the update),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "id: number, options: FinishLogOptions",
    ts_return_type = "Promise<SessionLog<TContent, TMetadata>>"
  )]
  pub fn finish_log(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::FinishLog, &[id, options]))
  }

  /// The entries left `interrupted` (still `pending` or `streaming` when the database was
  /// last opened by a process that found no other connection on it), oldest first, of every
  /// session or of `sessionId`, a page at a time; those of sessions in the trash only with
  /// `includeTrashed`. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "options?: ListInterruptedLogsOptions",
    ts_return_type = "Promise<Page<SessionLog<TContent, TMetadata>>>"
  )]
  pub fn list_interrupted_logs(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = Fields::of(options, "options", &["sessionId", "includeTrashed", "limit", "offset", "after", "maxBytes"], true)
        .and_then(|f| Ok((f.parsed("sessionId", |v, p| v.id(p))?, Trash::of_lookup(f.boolean("includeTrashed")?), page(&f)?)));
      self.read(env, args, |conn, (session_id, trash, page)| -> Result<JsonText> {
        JsonText::of(&logs::list_interrupted(conn, session_id.as_deref(), trash, &page)?)
      })
    })
  }

  /// Deletes one log entry; resolves with how many entries were deleted (0 when it did not
  /// exist). `children: 'reparent'` moves its children to its parent (or to the root);
  /// `children: 'delete'` deletes its whole subtree, at any depth.
  /// Rejects with `NOT_WRITTEN` (a trigger skipped a delete; none is deleted),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: number, options: DeleteLogOptions", ts_return_type = "Promise<number>")]
  pub fn delete_log(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::DeleteLog, &[id, options]))
  }

  /// Deletes every log entry of a session; resolves with how many.
  /// Rejects with `NOT_WRITTEN` (a trigger skipped deleting any of them; none is deleted),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "sessionId: string", ts_return_type = "Promise<number>")]
  pub fn delete_logs(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::DeleteLogs, &[session_id]))
  }

  /// How many log entries a session has. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "sessionId: string", ts_return_type = "Promise<number>")]
  pub fn count_logs(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.read_short(env, session_id.id("sessionId"), |conn, id| logs::count(conn, &id)))
  }

  /// A session's log nested by `parentId`: the root entries, each with `children`, siblings
  /// in append order. One recursive query; any depth.
  /// Rejects with `INVALID_ARGUMENT`, `BAD_VALUE` (a stored value of the wrong type, or
  /// entries raw SQL made into a parent cycle, which reach no root; both named) or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TContent = JsonValue, TMetadata = JsonValue",
    ts_args_type = "sessionId: string",
    ts_return_type = "Promise<LogNode<TContent, TMetadata>[]>"
  )]
  pub fn get_log_tree(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read(env, session_id.id("sessionId"), |conn, id| -> Result<JsonText> { JsonText::checked(logs::tree(conn, &id)?) })
    })
  }
}
