//! `@cherry/agentdb`: embedded SQLite storage for AI agents, their sessions and their
//! hierarchical session logs, with a migration engine, as a Node-API addon.
//!
//! This crate is the Node-API layer only: it reads JavaScript arguments, hands work to the
//! threads of the core crate (`agentdb_core`, which holds everything that touches SQLite)
//! and settles Promises.
//!
//! Each unsafe block or implementation has a safety comment above it saying why it holds
//! (the lint below checks that there is one); most rest on the handle invariant described in
//! the `js` module.
#![deny(clippy::undocumented_unsafe_blocks)]

mod agents;
mod batch;
mod completion;
mod database;
mod encode;
mod errors;
mod input_slices;
mod js;
mod json;
mod later;
mod lifecycle;
mod logs;
mod maintenance;
mod migrations;
mod receivers;
mod search;
mod sessions;
mod signal;
mod sql;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod transfer;
mod usage;
mod watch;
mod write_order;

#[cfg(all(feature = "test-hooks", not(debug_assertions)))]
compile_error!("the test-hooks feature is for the debug build npm test makes, never for a release build");
