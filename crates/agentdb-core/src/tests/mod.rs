//! Tests of the core queries against in-memory databases opened like the addon opens them
//! and migrated with the built-in migrations.

mod agents;
mod batch;
mod conversations;
mod logs;
mod sessions;
mod skipped;
mod sql;
mod support;
