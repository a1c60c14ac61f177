//! The core: everything that touches SQLite, with no Node-API types, so `cargo test` drives
//! it without Node.

pub mod agents;
pub mod backup;
pub mod batch;
pub mod connection;
pub mod copies;
pub mod error;
pub mod json;
pub mod logs;
pub mod maintenance;
pub mod migrations;
pub mod model;
pub mod page;
pub mod patch;
pub mod queue;
pub mod sessions;
pub mod sql;
pub mod store;
#[cfg(test)]
pub mod test_support;

#[cfg(test)]
mod tests;
