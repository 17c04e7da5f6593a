//! Every integration test of the workspace's system: one binary, each former test file a
//! module (linking the whole tree once instead of once per file). Run one area with a filter:
//! `cargo test -p karya-tests --test it polls::`.

mod agent_disk;
mod audit;
mod clock;
mod console;
mod dashboard;
mod e2e_agent;
mod failover;
mod faults;
mod hostile;
mod hub_api;
mod hub_core;
mod hub_kill;
mod kanwil;
mod katalog_publik;
mod layar;
mod ops;
mod pg_cluster;
mod pg_migrate;
mod pg_store;
mod photos;
mod polls;
mod rebuild;
mod sim_smoke;
mod thin_link;
mod tls;
mod tokens;
mod units;
mod upgrade;
