//! The core of `@cherry/agentdb`: everything that touches SQLite and everything that reads
//! inputs into core types, with no Node-API dependency, so `cargo test -p agentdb-core`
//! drives it without Node. The addon crate at the repository's root is the Node-API layer
//! over it.
//!
//! A write travels as one [`command::Command`]: read from its input by [`input`], checked
//! before the writer takes SQLite's write lock, then run by the writer thread of the
//! [`store`] inside its group transaction. Reads run on the store's reader threads.

pub mod agents;
pub mod autocheckpoint;
pub mod backup;
pub mod cascade;
pub mod changes;
pub mod checkpoints;
pub mod command;
pub mod connection;
pub mod copies;
pub mod durability;
pub mod error;
pub mod forks;
pub mod guard;
pub mod inline;
pub mod input;
pub mod interrupt;
pub mod json;
pub mod limits;
pub mod logs;
pub mod maintenance;
pub mod migrations;
pub mod model;
pub mod page;
pub mod patch;
pub mod process;
pub mod purge;
pub mod queue;
pub mod recovery;
pub mod refs;
pub mod rules;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod slices;
pub mod space;
pub mod sql;
pub mod store;
pub mod stored;
#[cfg(test)]
pub mod test_support;
pub mod transfer;
pub mod trash;
pub mod usage;

#[cfg(test)]
mod tests;
