//! The session methods of `Database`.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::command::Kind;
use agentdb_core::error::Result;
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::read::{session_list, session_status};
use agentdb_core::trash::Trash;
use agentdb_core::{forks, sessions};

/// Reads the options of a lookup by id: `includeTrashed`.
pub(crate) fn lookup(options: JsArg) -> Result<Trash> {
  Ok(Trash::of_lookup(Fields::of(options, "options", &["includeTrashed"], true)?.boolean("includeTrashed")?))
}

#[napi]
impl Database {
  /// Creates a session for an existing agent. Override fields left out (or `null`) inherit
  /// the agent's value. Defaults: a random UUID id, status `idle`, no sub-agents.
  ///
  /// Rejects with `NOT_FOUND` (the agent does not exist), `INVALID_ARGUMENT`,
  /// `ALREADY_EXISTS`, `NOT_WRITTEN` (a trigger skipped the insert), `BUSY` or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "input: SessionInput",
    ts_return_type = "Promise<Session<TConfig>>"
  )]
  pub fn create_session(&self, env: Env, input: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::CreateSession, &[input]))
  }

  /// The session with this id, or `null`; `null` too for a session in the trash unless
  /// `includeTrashed` (it then has `deletedAt`). Rejects with `INVALID_ARGUMENT` or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, options?: LookupOptions",
    ts_return_type = "Promise<Session<TConfig> | null>"
  )]
  pub fn get_session(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = id.id("id").and_then(|id| Ok((id, lookup(options)?)));
      self.read_short(env, args, |conn, (id, trash)| -> Result<JsonText> { JsonText::of(&sessions::find(conn, &id, trash)?) })
    })
  }

  /// The most recent session with this external id, or `null`, leaving out the trash unless
  /// `includeTrashed`. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "externalSessionId: string, options?: LookupOptions",
    ts_return_type = "Promise<Session<TConfig> | null>"
  )]
  pub fn get_session_by_external_id(&self, env: Env, external_id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = external_id.id("externalSessionId").and_then(|id| Ok((id, lookup(options)?)));
      self.read_short(env, args, |conn, (id, trash)| -> Result<JsonText> {
        JsonText::of(&sessions::get_by_external_id(conn, &id, trash)?)
      })
    })
  }

  /// Changes the given fields of a session; `null` on an override makes it inherit from the
  /// agent again. Resolves with the session as stored.
  ///
  /// Rejects with `NOT_FOUND` (session, or new main agent), `NOT_WRITTEN` (a trigger
  /// skipped the update), `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, patch: SessionPatch",
    ts_return_type = "Promise<Session<TConfig>>"
  )]
  pub fn update_session(&self, env: Env, id: JsArg, patch: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::UpdateSession, &[id, patch]))
  }

  /// Sets a session's status. Rejects with `NOT_FOUND`, `NOT_WRITTEN` (a trigger skipped
  /// the update), `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, status: SessionStatus",
    ts_return_type = "Promise<Session<TConfig>>"
  )]
  pub fn update_session_status(&self, env: Env, id: JsArg, status: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::UpdateSessionStatus, &[id, status]))
  }

  /// Sessions newest first, by insertion or (`orderBy: 'lastActivityAt'`) by their last
  /// activity, optionally by status and by agent, a page at a time. `include` adds to each
  /// session, from the same statement: `agent` (its main agent's id, name, type and avatar),
  /// `latestLog` (its newest log entry, or `null`), `logCount`. Sessions in the trash are
  /// left out; `trashed: true` lists those alone, each with `deletedAt`. Rejects with
  /// `INVALID_ARGUMENT` (also for a cursor of another call, order, status, agent, trash or
  /// version) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "options?: ListSessionsOptions",
    ts_return_type = "Promise<Page<ListedSession<TConfig>>>"
  )]
  pub fn list_sessions(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let fields = ["status", "agentId", "orderBy", "include", "trashed", "limit", "offset", "after", "maxBytes"];
      let args = Fields::of(options, "options", &fields, true).and_then(|f| {
        let trash = Trash::of_list(f.boolean("trashed")?);
        Ok((trash, f.parsed("status", session_status)?, f.parsed("agentId", |v, p| v.id(p))?, session_list(&f)?))
      });
      self.read_short(env, args, |conn, (trash, status, agent_id, (order, include, page))| -> Result<JsonText> {
        JsonText::of(&sessions::list(conn, trash, status, agent_id.as_deref(), order, include, &page)?)
      })
    })
  }

  /// How many sessions there are out of the trash, optionally of one agent.
  /// Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "agentId?: string", ts_return_type = "Promise<number>")]
  pub fn count_sessions(&self, env: Env, agent_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = if agent_id.is_nullish() { Ok(None) } else { agent_id.id("agentId").map(Some) };
      self.read_short(env, args, |conn, agent_id| sessions::count(conn, agent_id.as_deref()))
    })
  }

  /// Deletes a session and its logs for good (the default, in the trash or not), or with
  /// `soft: true` moves it to the trash, where lists, counts, lookups and search leave it
  /// out and writes to it are refused until `restoreSession`. Resolves `true` if it existed
  /// (with `soft`, if it was moved: `false` for a session in the trash already).
  /// Rejects with `NOT_WRITTEN` (a trigger skipped the delete), `INVALID_ARGUMENT`, `BUSY` or
  /// `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string, options?: DeleteOptions", ts_return_type = "Promise<boolean>")]
  pub fn delete_session(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::DeleteSession, &[id, options]))
  }

  /// Brings a session back from the trash exactly as it was, with its logs. Resolves `true`
  /// if it was in the trash, `false` if it was not.
  /// Rejects with `NOT_FOUND`, `TRASHED` (its agent is in the trash: restore the agent),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Promise<boolean>")]
  pub fn restore_session(&self, env: Env, id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::RestoreSession, &[id]))
  }

  /// Forks a session: a new session (the source's agent, goal and overrides, status `idle`)
  /// holding copies of the source's logs up to and including `atLogId` in insertion order (all
  /// of them when absent), parents pointing at the copies, timestamps and statuses kept; one
  /// transaction inside SQLite. Resolves with the new session and where it came from.
  ///
  /// Rejects with `NOT_FOUND` (the source, or an `atLogId` that is not one of its logs),
  /// `ALREADY_EXISTS` (a taken `id`), `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "sessionId: string, options?: ForkSessionOptions",
    ts_return_type = "Promise<SessionFork<TConfig>>"
  )]
  pub fn fork_session(&self, env: Env, session_id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::ForkSession, &[session_id, options]))
  }

  /// The forks made from a session, oldest first, leaving out forks in the trash (forks of a
  /// deleted session keep their logs and show `sourceSessionId: null`). Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "sessionId: string",
    ts_return_type = "Promise<SessionFork<TConfig>[]>"
  )]
  pub fn list_forks(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read(env, session_id.id("sessionId"), |conn, id| -> Result<JsonText> { JsonText::of(&forks::list(conn, &id)?) })
    })
  }

  /// Where a forked session came from, or `null` for a session not made by `forkSession`.
  /// Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "sessionId: string",
    ts_return_type = "Promise<SessionFork<TConfig> | null>"
  )]
  pub fn get_fork(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      self.read(env, session_id.id("sessionId"), |conn, id| -> Result<JsonText> { JsonText::of(&forks::get(conn, &id)?) })
    })
  }

  /// Sets the session's compaction checkpoint, replacing the one it had: a summary of its log
  /// up to and including `throughLogId` (an entry of the session), with the tokens the
  /// covered entries took (`coveredTokens`) and the summary takes (`summaryTokens`), and the
  /// app's `metadata`. Resolves with the checkpoint, whose `logsAfter` is the `getLogs`
  /// cursor of the entries after it. Deleting the covered entry deletes the checkpoint.
  ///
  /// Rejects with `NOT_FOUND` (the session, or a `throughLogId` that is not one of its
  /// entries), `INVALID_ARGUMENT` (a blank or too long summary, a token count that is not a
  /// whole number from 0), `NOT_WRITTEN`, `BUSY` or `DATABASE_CLOSED`; nothing is written.
  #[napi(
    catch_unwind,
    ts_generic_types = "TMetadata = JsonValue",
    ts_args_type = "sessionId: string, checkpoint: CheckpointInput",
    ts_return_type = "Promise<SessionCheckpoint<TMetadata>>"
  )]
  pub fn set_checkpoint(&self, env: Env, session_id: JsArg, checkpoint: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::SetCheckpoint, &[session_id, checkpoint]))
  }

  /// Deletes the session's compaction checkpoint. Resolves `true` if it had one.
  /// Rejects with `NOT_WRITTEN` (a trigger skipped the delete), `INVALID_ARGUMENT`, `BUSY` or
  /// `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "sessionId: string", ts_return_type = "Promise<boolean>")]
  pub fn clear_checkpoint(&self, env: Env, session_id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::ClearCheckpoint, &[session_id]))
  }

  /// The session, its agent, and the effective configuration: for model, planModel,
  /// smallModel, builtInTools, mcps, knowledges, configuration, accessiblePaths,
  /// permissionMode and maxSteps, the session's value where it overrides, else the agent's.
  /// With its compaction checkpoint (`null` without one). Read in one statement, so all
  /// four come from one snapshot. `null` when the session does not exist, or is in the trash
  /// and `includeTrashed` is not given. Rejects with `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, options?: LookupOptions",
    ts_return_type = "Promise<SessionWithAgent<TConfig> | null>"
  )]
  pub fn get_session_with_agent(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = id.id("id").and_then(|id| Ok((id, lookup(options)?)));
      self.read_short(env, args, |conn, (id, trash)| -> Result<JsonText> {
        JsonText::of(&sessions::get_with_agent(conn, &id, trash)?)
      })
    })
  }
}
