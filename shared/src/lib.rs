//! karya-shared: what the agent and the hub have in common.
//!
//! - [`model`]: the records and their validation;
//! - [`schema`]: how records sit inside the Automerge documents `upt/<CODE>`,
//!   `curation/<CODE>` and `national`;
//! - [`store`]: the replica store (Automerge in SQLite, or PostgreSQL for the hub) with
//!   materialized tables; [`sql`]: one query on either engine;
//! - [`wire`]: the versioned sync frame; [`session`]: the client side of a sync;
//!   [`server`]: the server side, with write authority;
//! - [`pseudonym`]: participants' pseudonyms.

pub mod agentkey;
pub mod export;
pub mod input;
pub mod kinds;
pub mod localtime;
pub mod logging;
pub mod materialize;
pub mod model;
pub mod pseudonym;
pub mod record;
pub mod schema;
pub mod server;
pub mod session;
pub mod signal;
pub mod store;
pub mod text;
pub mod views;
pub mod vouch;
pub mod web;
pub mod wire;

pub use schema::DocId;
/// The query handle over either engine (it lives with the backends it runs on).
pub use store::sql;
pub use store::{Store, StoreError};

/// This build's version, sent to the hub with every sync.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
