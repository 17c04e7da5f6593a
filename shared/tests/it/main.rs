//! The shared crate's integration tests: one binary, each former test file a module.

mod common;
mod convergence;
mod kinds;
mod preservation;
mod store;
mod vouch;
