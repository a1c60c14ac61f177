//! Tests of the migration engine as a whole and of the built-in schema, on real files and
//! on `:memory:`, through the writer connection the library opens. (They live inside the
//! crate because an integration test binary would link the Node-API registration code.)

mod apply;
mod backup;
mod concurrency;
mod foreign_keys;
mod guard;
mod required;
mod rollback;
mod schema;
mod support;
mod tracking;
mod validation;
