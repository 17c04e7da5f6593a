//! karya-hub: merges every UPT's replica, enforces who may write what, serves the national
//! view and sends curation decisions back down.
//!
//! [`serve`] runs the HTTP server on a listener the caller binds (tests pass
//! `127.0.0.1:0`) until the shutdown future completes. The admin commands ([`cli`]) work on
//! the same database file, beside a running server.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod national;
pub mod router;

use crate::error::ApiError;
use karya_shared::Store;
use std::future::Future;
use std::sync::{Arc, Mutex};

pub use config::Config;

/// What every handler shares.
pub struct AppState {
    store: Mutex<Store>,
    pub config: Config,
    pub metrics: metrics::Metrics,
    /// When each UPT's sync status was last written (see `handlers::sync`).
    status_written: Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// A UPT's last-sync time is written at most this often when its syncs change nothing.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    pub fn new(config: Config) -> Result<AppState, karya_shared::StoreError> {
        let mut store = open_store(&config)?;
        national::ensure_seeded(&mut store)?;
        Ok(AppState {
            store: Mutex::new(store),
            config,
            metrics: metrics::Metrics::default(),
            status_written: Mutex::new(Default::default()),
        })
    }

    /// Whether the UPT's sync status should be written now even if the sync changed nothing;
    /// marks it written.
    pub fn status_due(&self, upt: &str) -> bool {
        let mut written = self
            .status_written
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        match written.get(upt) {
            Some(at) if now.duration_since(*at) < STATUS_EVERY => false,
            _ => {
                written.insert(upt.to_string(), now);
                true
            }
        }
    }

    /// Runs `f` on the store on a blocking thread: SQLite and Automerge work is synchronous.
    pub async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = state
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut store)
        })
        .await
        .map_err(ApiError::internal)
    }
}

pub fn open_store(config: &Config) -> Result<Store, karya_shared::StoreError> {
    let mut store = Store::open(&config.db, Some(db::SCHEMA))?;
    store.set_cache_capacity(config.cache_docs);
    Ok(store)
}

/// Serves the hub on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = Arc::new(AppState::new(config)?);
    let app = router::router(state);
    tracing::info!(addr = %listener.local_addr()?, "karya-hub listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("karya-hub stopped");
    Ok(())
}
