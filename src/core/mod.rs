//! The core: everything that touches SQLite, with no Node-API types, so `cargo test` drives
//! it without Node.

pub mod backup;
pub mod connection;
pub mod error;
pub mod maintenance;
pub mod migrations;
pub mod store;
