//! karya-hub: merges every UPT's replica, enforces who may write what, serves the national
//! view and sends curation decisions back down.
//!
//! [`serve`] runs the HTTP server on a listener the caller binds (tests pass
//! `127.0.0.1:0`) until the shutdown future completes. The admin commands ([`cli`]) work on
//! the same database file, beside a running server.

pub mod access;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod body;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod db;
pub mod decisions;
pub mod error;
pub mod handlers;
pub mod lookups;
pub mod metrics;
pub mod migrate;
pub mod national;
pub mod pages;
pub mod photo_gaps;
pub mod pool;
pub mod rebuild;
pub mod router;
pub mod session;
pub mod storage;
pub mod turns;

use crate::db::{Create, HubDb};
use crate::error::ApiError;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub use config::Config;

/// What every handler shares.
pub struct AppState {
    pub db: HubDb,
    /// The hub is being rebuilt from the agents (see [`rebuild`]): read at start, and
    /// again with every database check (a `rebuild finish` from the command line shows
    /// within a second).
    pub rebuilding: std::sync::atomic::AtomicBool,
    /// Photo blobs, on disk beside the database.
    pub blobs: blobs::BlobStore,
    pub config: Config,
    pub metrics: metrics::Metrics,
    /// When each UPT's sync status was last written (see `handlers::sync`).
    status_written: Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Admission: a sync holds one of these from before its body is read until it is
    /// answered; when none is left, the hub answers 503 at once.
    pub sync_admission: Arc<Semaphore>,
    /// Syncs merging at once; admitted syncs wait here (bounded by `sync_admission`).
    pub sync_running: Arc<Semaphore>,
    /// When a write last failed for a full disk (cleared by the next write that succeeds).
    disk_full_at: Mutex<Option<std::time::Instant>>,
    /// Repeating log lines: key to (last logged, suppressed since).
    log_limit: Mutex<std::collections::HashMap<String, (std::time::Instant, u64)>>,
    /// What the background check of the database last found.
    db_health: Mutex<DbHealth>,
    /// Failed token checks per token id, or per client address for tokens the hub does not
    /// know: (window start, failures in it).
    auth_failures: karya_shared::web::Throttle<FailKey>,
    /// The photos each UPT's products name that the hub lacks, to name in sync replies.
    pub photo_gaps: photo_gaps::PhotoGaps,
    /// The store's own threads: every request's database work runs there (see [`pool`]).
    pub store_pool: pool::StorePool,
    /// Syncs in flight per UPT (at most one).
    pub syncs: turns::Turns,
    /// Photo uploads in flight per UPT (at most `max_uploads_per_upt`).
    pub uploads: turns::Turns,
    /// Photo uploads in flight, all UPTs together.
    pub upload_slots: Arc<Semaphore>,
    /// The networks of the trusted reverse proxies (see [`Config::trusted_proxies`]).
    pub proxies: Vec<ipnet::IpNet>,
}

/// What failed token checks are counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FailKey {
    Token(String),
    Source(std::net::IpAddr),
}

/// Failed token checks one token id or address may make per window before it is answered 429.
const AUTH_FAILURES_ALLOWED: u32 = 20;
const AUTH_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// A repeating log line is written at most this often per key.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Why the hub is not ready to take syncs, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub problems: Vec<String>,
}

/// A UPT's last-sync time is written at most this often when its syncs change nothing.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    pub fn new(config: Config, create: Create) -> Result<AppState, db::OpenError> {
        if config.is_postgres() && config.blobs_dir.is_none() {
            return Err(db::OpenError::Blobs(
                "with a PostgreSQL database, say where photos are kept: set blobs_dir (or KARYA_BLOBS_DIR) to a folder every hub process can reach".into(),
            ));
        }
        let db = HubDb::open(&config, create)?;
        let dir = config.blobs_path();
        let blobs = blobs::BlobStore::open(&dir).map_err(|e| {
            db::OpenError::Blobs(format!(
                "cannot use {} for photos ({e}); set blobs_dir to a folder the hub may write",
                dir.display()
            ))
        })?;
        let proxies = config
            .proxy_nets()
            .map_err(|e| db::OpenError::Setting(format!("trusted_proxies: {e}")))?;
        // Enough threads for every merge, every read connection and a few waiting on locks.
        let store_pool =
            pool::StorePool::new(config.max_concurrent_syncs + config.read_connections + 8)
                .map_err(|e| {
                    db::OpenError::Setting(format!("cannot start the store's threads ({e})"))
                })?;
        let rebuilding = std::sync::atomic::AtomicBool::new(db.rebuilding_since()?.is_some());
        Ok(AppState {
            db,
            rebuilding,
            blobs,
            photo_gaps: photo_gaps::PhotoGaps::default(),
            store_pool,
            syncs: turns::Turns::default(),
            uploads: turns::Turns::default(),
            upload_slots: Arc::new(Semaphore::new(config.max_concurrent_uploads.max(1))),
            proxies,
            sync_admission: Arc::new(Semaphore::new(
                config.max_concurrent_syncs + config.max_queued_syncs,
            )),
            sync_running: Arc::new(Semaphore::new(config.max_concurrent_syncs.max(1))),
            config,
            metrics: metrics::Metrics::default(),
            status_written: Mutex::new(Default::default()),
            disk_full_at: Mutex::new(None),
            db_health: Mutex::new(DbHealth {
                last_ok: std::time::Instant::now(),
                problem: None,
            }),
            log_limit: Mutex::new(Default::default()),
            auth_failures: karya_shared::web::Throttle::new(AUTH_FAILURES_ALLOWED, AUTH_WINDOW),
        })
    }

    /// Counts a failed token check, under the token's id when the hub knows it (a revoked or
    /// mistyped agent token throttles its own UPT only), else under the client's address
    /// (guessing). `Err(429)` once that key failed [`AUTH_FAILURES_ALLOWED`] times within a
    /// minute. A valid token is checked before this and never refused by it.
    pub fn auth_refused(
        &self,
        rejection: &access::Rejection,
        source: Option<std::net::IpAddr>,
    ) -> Result<(), ApiError> {
        let key = match (rejection.token_id(), source) {
            (Some(id), _) => FailKey::Token(id.to_string()),
            (None, Some(ip)) => FailKey::Source(ip),
            (None, None) => return Ok(()),
        };
        self.auth_failures.take(&key).map_err(|(n, wait)| {
            let who = match &key {
                FailKey::Token(id) => format!("token {id}"),
                FailKey::Source(ip) => ip.to_string(),
            };
            ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                format!(
                    "{n} failed token checks from {who} within a minute; wait {wait} s and check the token"
                ),
            )
        })
    }

    /// Whether a line with this key may be logged now; `Some(n)`: yes, and `n` were
    /// suppressed since the last one.
    pub fn log_allowed(&self, key: &str) -> Option<u64> {
        let mut seen = self.log_limit.lock().unwrap_or_else(|p| {
            self.log_limit.clear_poison();
            p.into_inner()
        });
        if seen.len() > 10_000 {
            seen.clear();
        }
        let now = std::time::Instant::now();
        match seen.get_mut(key) {
            Some((at, suppressed)) if now.duration_since(*at) < LOG_EVERY => {
                *suppressed += 1;
                None
            }
            Some((at, suppressed)) => {
                let n = *suppressed;
                (*at, *suppressed) = (now, 0);
                Some(n)
            }
            None => {
                seen.insert(key.to_string(), (now, 0));
                Some(0)
            }
        }
    }

    pub fn note_disk_full(&self) {
        *self.disk_full_at.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now());
    }

    pub fn note_write_ok(&self) {
        let mut at = self.disk_full_at.lock().unwrap_or_else(|p| p.into_inner());
        if at.is_some() {
            *at = None;
        }
    }

    /// Ready to take syncs: the database answered the last background check (every second),
    /// its folder takes writes, the disk has room, no write failed for a full disk since the
    /// last one that succeeded, and admission control is not shedding. Touches no database
    /// connection itself, so it answers at once during a storm.
    pub fn readiness(&self) -> Readiness {
        let mut problems = self.storage_problems();
        if self.sync_admission.available_permits() == 0 {
            problems.push("shedding load: every sync slot and queue place is taken".into());
        }
        Readiness {
            ready: problems.is_empty(),
            problems,
        }
    }

    /// What keeps the hub from storing a write: the database not answering (checked in the
    /// background, see [`AppState::watch_database`]), its folder not writable, the disk under
    /// `min_free_bytes`, or a write that failed for a full disk since the last good one.
    ///
    /// Never opens the database file or its `-wal`/`-shm` (see [`storage`]): it looks at
    /// the folder and at path metadata only.
    pub fn storage_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(p) = self.database_problem() {
            problems.push(p);
        }
        if self.config.is_postgres() {
            // The database's disk is the server's to watch (docs/DEPLOYMENT.md); the photos'
            // folder is this hub's.
            let blobs = self.config.blobs_path();
            match storage::disk_free(&blobs.join("partial")) {
                Some(free) if free < self.config.min_free_bytes => problems.push(format!(
                    "the disk holding the photos ({}) has {free} bytes free, under min_free_bytes ({})",
                    blobs.display(),
                    self.config.min_free_bytes
                )),
                _ => {}
            }
        } else {
            let db = &self.config.db;
            let folder = storage::folder_of(db);
            if let Err(e) = storage::folder_writable(folder) {
                problems.push(format!(
                    "the database's folder {} is not writable ({e}): SQLite cannot keep its write-ahead log there",
                    folder.display()
                ));
            } else if std::fs::metadata(db).is_ok_and(|m| m.permissions().readonly()) {
                problems.push(format!(
                    "the database {} is read-only (its file mode allows no writes)",
                    db.display()
                ));
            }
            match storage::disk_free(db) {
                Some(free) if free < self.config.min_free_bytes => problems.push(format!(
                    "the disk holding the database has {free} bytes free, under min_free_bytes ({})",
                    self.config.min_free_bytes
                )),
                _ => {}
            }
        }
        if self
            .disk_full_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            problems.push("the last write failed: the disk is full".into());
        }
        problems
    }

    /// What the last background check of the database found wrong, if anything: no answer
    /// to a read, no check for too long, or a file of it deleted under the hub.
    pub fn database_problem(&self) -> Option<String> {
        let health = self.db_health.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = &health.problem {
            return Some(p.clone());
        }
        let since = health.last_ok.elapsed();
        (since > DB_CHECK_STALE).then(|| {
            format!(
                "the database has not answered a check for {} s",
                since.as_secs()
            )
        })
    }

    /// Checks the database once: a read on a read connection within [`DB_CHECK_TIMEOUT`],
    /// and (SQLite) that no file of it this process has open was deleted on disk.
    pub async fn check_database(self: &Arc<Self>) {
        let st = self.clone();
        let read = tokio::time::timeout(
            DB_CHECK_TIMEOUT,
            tokio::task::spawn_blocking(move || {
                let answered = st.db.ping();
                if answered.is_ok()
                    && let Ok(since) = st.db.rebuilding_since()
                {
                    st.rebuilding
                        .store(since.is_some(), std::sync::atomic::Ordering::Relaxed);
                }
                answered
            }),
        )
        .await;
        let mut problem = match read {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => Some(format!("the database does not answer: {e}")),
            Ok(Err(_)) => Some("the database check failed (the hub logged it)".to_string()),
            Err(_) => Some(format!(
                "the database did not answer a read within {} s",
                DB_CHECK_TIMEOUT.as_secs()
            )),
        };
        if problem.is_none() && !self.config.is_postgres() {
            let deleted = storage::deleted_open_files(&self.config.db);
            if !deleted.is_empty() {
                problem = Some(format!(
                    "{} was deleted or replaced on disk while the hub has it open (another program removed it): writes since then are not in the database on disk. Stop the hub, restore from the last backup, and start it again; the agents send their records again",
                    deleted.join(", ")
                ));
            }
        }
        let mut health = self.db_health.lock().unwrap_or_else(|p| p.into_inner());
        match &problem {
            None => health.last_ok = std::time::Instant::now(),
            Some(p) if health.problem.as_ref() != Some(p) => {
                tracing::error!(problem = %p, "the hub cannot store writes safely");
            }
            Some(_) => {}
        }
        if problem.is_none() && health.problem.is_some() {
            tracing::info!("the database answers again");
        }
        health.problem = problem;
    }

    /// Checks the database every [`DB_CHECK_EVERY`] for as long as the hub serves.
    pub async fn watch_database(self: Arc<Self>) {
        let mut every = tokio::time::interval(DB_CHECK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            self.check_database().await;
        }
    }
}

/// How often the serving hub checks that its database answers.
const DB_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// A read that takes longer than this counts as no answer.
const DB_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Without a good check for this long, the hub is not ready.
const DB_CHECK_STALE: std::time::Duration = std::time::Duration::from_secs(10);

/// The background database check's last findings.
#[derive(Debug)]
struct DbHealth {
    last_ok: std::time::Instant,
    problem: Option<String>,
}

/// Free bytes on the file system holding `path` (its folder, for a file).
pub fn disk_free(path: &std::path::Path) -> Option<u64> {
    storage::disk_free(path)
}

impl AppState {
    /// Whether the UPT's sync status should be written now even if the sync changed nothing;
    /// marks it written.
    pub fn status_due(&self, upt: &str) -> bool {
        // A map of timestamps: a panic elsewhere cannot leave it half-changed.
        let mut written = self.status_written.lock().unwrap_or_else(|p| {
            self.status_written.clear_poison();
            p.into_inner()
        });
        let now = std::time::Instant::now();
        match written.get(upt) {
            Some(at) if now.duration_since(*at) < STATUS_EVERY => false,
            _ => {
                written.insert(upt.to_string(), now);
                true
            }
        }
    }

    /// The UPT's next sync writes its status whatever it changes: after a refusal was written
    /// (an agent that took the hub's copy and synced again at once must not stay shown as
    /// failing), or when a request marked due wrote nothing (a poll a rebuilt hub refused).
    pub fn status_owed(&self, upt: &str) {
        self.status_written
            .lock()
            .unwrap_or_else(|p| {
                self.status_written.clear_poison();
                p.into_inner()
            })
            .remove(upt);
    }

    /// Runs `f` on a blocking thread: SQLite and Automerge work is synchronous. Reads use the
    /// read pool and never wait for a write; writes lock only the documents they touch.
    /// Removes the photo blobs no live product names, older than the grace period; returns
    /// (files, bytes) removed.
    pub fn collect_blobs(&self) -> anyhow::Result<(usize, u64)> {
        let referenced = self.db.referenced_blobs()?;
        let grace = std::time::Duration::from_secs(self.config.blob_grace_hours * 3600);
        let gone = self.blobs.collect(&referenced, grace)?;
        if gone.0 > 0 {
            tracing::info!(
                files = gone.0,
                bytes = gone.1,
                "unreferenced photos removed"
            );
        }
        Ok(gone)
    }

    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&HubDb) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        self.store_pool
            .run(move || f(&state.db))
            .await
            .map_err(|_| {
                tracing::error!("a database task panicked (its message is logged above)");
                ApiError::internal("internal error; the hub logged it")
            })
    }
}

/// Serves the hub on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns. The database must exist (see [`serve_with`] to create one).
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(
        Arc::new(AppState::new(config, Create::IfMissing)?),
        listener,
        shutdown,
    )
    .await
}

/// Serves a prepared state (tests install fault hooks on it first).
///
/// The accept loop is hyper's own server with the limits a public service needs: at most
/// `max_connections` open (past it, new ones wait in the kernel's queue), request headers
/// within `header_timeout_secs` (a client that connects and says nothing is dropped), and each
/// connection's peer address is handed to the handlers (for per-source rate limits).
pub async fn serve_with(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let connections = Arc::new(Semaphore::new(state.config.max_connections.max(1)));
    let header_timeout = std::time::Duration::from_secs(state.config.header_timeout_secs.max(1));
    // Photos no product names any more go after the grace period: checked every hour.
    let collector = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                let st = state.clone();
                let _ = tokio::task::spawn_blocking(move || st.collect_blobs()).await;
            }
        })
    };
    let watcher = tokio::spawn(state.clone().watch_database());
    let app = router::router(state);
    tracing::info!(addr = %listener.local_addr()?, "karya-hub listening");
    // HTTP/1.1 only (agents, browsers and reverse proxies speak it to the hub): its header
    // timer runs from the moment a connection waits for a request, including the first, so
    // a connection that says nothing is closed.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => permit?,
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        );
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        // No upgrades (websockets) are served: a plain connection shuts down gracefully.
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    // Finish the requests in flight (a sync's merge is committed or not at all either way).
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("connections still open after 30 s; stopping anyway");
        }
    }
    collector.abort();
    watcher.abort();
    tracing::info!("karya-hub stopped");
    Ok(())
}

/// Caps glibc's malloc at two arenas, unless the admin set `MALLOC_ARENA_MAX` (glibc reads
/// that itself). By default every thread that allocates may get an arena of its own (up to
/// eight per core); with merges spread over the blocking pool's threads, memory freed after a
/// merge stays resident in many arenas. In the storm benchmark (627 UPTs bootstrapping) the
/// hub's peak RSS was 136 MiB with the default and 84 MiB with two arenas. Call it first
/// thing in `main`, before any thread starts.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt sets one allocator parameter and is called before other threads
        // exist; M_ARENA_MAX is a valid parameter on glibc.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
