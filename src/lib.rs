//! `@cherry/agentdb`: embedded SQLite storage for AI agents, their sessions and their
//! hierarchical session logs, with a migration engine, as a Node-API addon.
//!
//! This crate is the Node-API layer only: it reads JavaScript arguments, hands work to the
//! threads of the core crate (`agentdb_core`, which holds everything that touches SQLite)
//! and settles Promises.

// Functions here take `napi_env` and `napi_value` handles: opaque tokens that only Node-API
// itself dereferences (and checks), never this code, so they are not `unsafe` to call.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod agents;
pub mod batch;
pub mod completion;
pub mod database;
pub mod encode;
pub mod errors;
pub mod js;
pub mod json;
pub mod logs;
pub mod maintenance;
pub mod migrations;
pub mod sessions;
pub mod sql;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

#[cfg(all(feature = "test-hooks", not(debug_assertions)))]
compile_error!("the test-hooks feature is for the debug build npm test makes, never for a release build");
