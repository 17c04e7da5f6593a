//! karya-agent: the UPT's offline-first replica of its records, the background service that
//! syncs it with the hub, the inbox for spreadsheets, and the operator's command line.

pub mod cli;
pub mod client;
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
pub mod template;
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
    #[error("sync failed: {0}")]
    SyncFailed(String),
    #[error(
        "sync failed: {0}. Ask HQ for a new token for this UPT and run: karya-agent token set NEW-TOKEN"
    )]
    TokenRefused(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
    #[error(
        "the data directory {dir} is read-only ({why}); karya-agent can show what it holds (status, product list) but records nothing until it is writable again: remount the disk read-write or give the service's user write access"
    )]
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
