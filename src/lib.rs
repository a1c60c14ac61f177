//! `@cherry/agentdb`: embedded SQLite storage for AI agents, their sessions and their
//! hierarchical session logs, with a migration engine, as a Node-API addon.
//!
//! [`core`] holds everything that touches SQLite and has no Node-API types; [`node`] is the
//! thin layer that converts JavaScript arguments, runs core calls off the JavaScript thread
//! and settles Promises.

pub mod core;
pub mod node;
