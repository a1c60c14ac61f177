//! Tests of the core queries against in-memory databases opened like the addon opens them
//! and migrated with the built-in migrations.

mod agents;
mod bad_values;
mod batch;
mod checkpoints;
mod conversations;
mod logs;
mod power_cut;
mod power_cut_vfs;
mod purge;
mod refs;
mod search;
mod sessions;
mod skipped;
mod space;
mod sql;
mod support;
mod trash;
mod usage;
