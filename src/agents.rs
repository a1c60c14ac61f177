//! The agent methods of `Database`.

use napi::Env;
use napi_derive::napi;

use crate::database::Database;
use crate::js::{JsArg, JsReturn};
use crate::json::JsonText;
use agentdb_core::agents;
use agentdb_core::command::Kind;
use agentdb_core::error::Result;
use agentdb_core::input::fields::{Fields, Source};
use agentdb_core::input::read::page;
use agentdb_core::model::AgentType;
use agentdb_core::trash::Trash;

use crate::sessions::lookup;

#[napi]
impl Database {
  /// Creates an agent. Absent fields take their defaults: a random UUID id, type `custom`,
  /// permission mode `readOnly`, 10 max steps, empty lists, an empty configuration object.
  ///
  /// Rejects with `INVALID_ARGUMENT` (the message names the field), `ALREADY_EXISTS` (the
  /// id is taken), `NOT_WRITTEN` (a trigger skipped the insert), `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "input: AgentInput",
    ts_return_type = "Promise<Agent<TConfig>>"
  )]
  pub fn create_agent(&self, env: Env, input: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::CreateAgent, &[input]))
  }

  /// The agent with this id, or `null`; `null` too for an agent in the trash unless
  /// `includeTrashed` (it then has `deletedAt`). Rejects with `INVALID_ARGUMENT` or
  /// `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, options?: LookupOptions",
    ts_return_type = "Promise<Agent<TConfig> | null>"
  )]
  pub fn get_agent(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let args = id.id("id").and_then(|id| Ok((id, lookup(options)?)));
      self.read_short(env, args, |conn, (id, trash)| -> Result<JsonText> { JsonText::of(&agents::get(conn, &id, trash)?) })
    })
  }

  /// Changes the given fields of an agent (`null` clears an optional field). `updatedAt`
  /// moves forward, `createdAt` never changes. Resolves with the agent as stored.
  ///
  /// Rejects with `NOT_FOUND`, `NOT_WRITTEN` (a trigger skipped the update),
  /// `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "id: string, patch: AgentPatch",
    ts_return_type = "Promise<Agent<TConfig>>"
  )]
  pub fn update_agent(&self, env: Env, id: JsArg, patch: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::UpdateAgent, &[id, patch]))
  }

  /// Agents in insertion order, optionally of one type; a page of at most `limit` (default
  /// 100, at most 1000) with the cursor of the next page. Agents in the trash are left out;
  /// `trashed: true` lists those alone, each with `deletedAt`.
  ///
  /// Rejects with `INVALID_ARGUMENT` (also for a cursor of another call, type, trash or
  /// version) or `DATABASE_CLOSED`.
  #[napi(
    catch_unwind,
    ts_generic_types = "TConfig = JsonObject",
    ts_args_type = "options?: ListAgentsOptions",
    ts_return_type = "Promise<Page<Agent<TConfig>>>"
  )]
  pub fn list_agents(&self, env: Env, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || {
      let fields = ["type", "trashed", "limit", "offset", "after", "maxBytes"];
      let args = Fields::of(options, "options", &fields, true).and_then(|f| {
        let agent_type = f.parsed("type", |v, p| AgentType::parse(&v.string(p)?, p))?;
        Ok((Trash::of_list(f.boolean("trashed")?), agent_type, page(&f)?))
      });
      self.read_short(env, args, |conn, (trash, agent_type, page)| -> Result<JsonText> {
        JsonText::of(&agents::list(conn, trash, agent_type, &page)?)
      })
    })
  }

  /// Deletes an agent with its sessions and their logs for good (the default, in the trash
  /// or not), or with `soft: true` moves it to the trash with its sessions that are not
  /// there yet. Resolves `true` if it existed (with `soft`, if it was moved: `false` for an
  /// agent in the trash already).
  ///
  /// Rejects with `NOT_WRITTEN` (a trigger skipped the delete), `INVALID_ARGUMENT`, `BUSY` or
  /// `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string, options?: DeleteOptions", ts_return_type = "Promise<boolean>")]
  pub fn delete_agent(&self, env: Env, id: JsArg, options: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::DeleteAgent, &[id, options]))
  }

  /// Brings an agent back from the trash exactly as it was, with the sessions that went
  /// there with it (not those trashed on their own before). Resolves `true` if it was in the
  /// trash, `false` if it was not.
  ///
  /// Rejects with `NOT_FOUND`, `INVALID_ARGUMENT`, `BUSY` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Promise<boolean>")]
  pub fn restore_agent(&self, env: Env, id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.command(env, Kind::RestoreAgent, &[id]))
  }

  /// How many agents there are out of the trash. Rejects with `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn count_agents(&self, env: Env) -> napi::Result<JsReturn> {
    self.guard(env, || self.read_short(env, Ok(()), |conn, ()| agents::count(conn)))
  }

  /// Whether an agent with this id exists out of the trash. Rejects with
  /// `INVALID_ARGUMENT` or `DATABASE_CLOSED`.
  #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Promise<boolean>")]
  pub fn agent_exists(&self, env: Env, id: JsArg) -> napi::Result<JsReturn> {
    self.guard(env, || self.read_short(env, id.id("id"), |conn, id| agents::exists_live(conn, &id)))
  }
}
