//! karya-agent: the UPT's offline-first replica of its records, the background service that
//! syncs it with the hub, the inbox for spreadsheets, and the operator's command line.

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod console;
pub mod control;
pub mod identity;
pub mod import;
pub mod inbox;
pub mod photos;
pub mod records;
pub mod schedule;
pub mod service;
pub mod status;
pub mod store;
pub mod sync;
pub mod template;
pub mod text;
pub mod uploads;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] karya_shared::StoreError),
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error(transparent)]
    Photo(#[from] photos::PhotoError),
    #[error("{}", text::agent::sync_failed(.0))]
    SyncFailed(String),
    #[error("{}", text::agent::sync_token_refused(.0))]
    TokenRefused(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
    #[error("{}", text::agent::read_only_dir(dir, why))]
    ReadOnly { dir: String, why: String },
}

impl AgentError {
    /// The process's exit code: 3 when the hub refused the token (nothing syncs until a new
    /// one is set), 1 for every other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            AgentError::TokenRefused(_) => 3,
            _ => 1,
        }
    }
}

impl From<rusqlite::Error> for AgentError {
    fn from(e: rusqlite::Error) -> Self {
        AgentError::Store(e.into())
    }
}
