//! The Node-API layer: reads JavaScript arguments, hands work to the core's threads and
//! settles Promises. Nothing here touches SQLite directly.

pub mod completion;
pub mod database;
pub mod errors;
pub mod js;
pub mod maintenance;
pub mod migrations;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
