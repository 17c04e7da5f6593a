//! `karya-agent run`: the background service.
//!
//! One loop `select!`s over the sync timer, commands from the control API (`SyncNow`), inbox
//! files that have settled, a local-change poll (CLI commands write the database directly),
//! and shutdown. The timer is the one schedule: after a good sync the next is an interval
//! away (or a debounce away when there are new local changes); after a failure it is a
//! backoff away, doubling with jitter up to a cap, forever.

use crate::client::{HubClient, SyncError, sync_once};
use crate::config::{AgentConfig, Paths};
use crate::schedule::{Phase, Schedule, Timings};
use crate::status::{self, State, SyncStatus};
use crate::{AgentError, identity, inbox};
use karya_shared::session::Outcome;
use karya_shared::{DocId, Store, StoreError};
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

/// What the control API asks of the service.
#[derive(Debug)]
pub enum Command {
    SyncNow(oneshot::Sender<Result<Outcome, SyncFailure>>),
}

/// Why a sync asked of the service failed, as the control API and the console report it.
#[derive(Debug, Clone)]
pub struct SyncFailure {
    pub message: String,
    /// The hub refused the token: a new one is needed, not a retry.
    pub token_refused: bool,
}

impl From<&SyncError> for SyncFailure {
    fn from(e: &SyncError) -> Self {
        SyncFailure {
            message: e.to_string(),
            token_refused: matches!(e, SyncError::Unauthorized { .. }),
        }
    }
}

impl From<SyncFailure> for AgentError {
    fn from(f: SyncFailure) -> Self {
        if f.token_refused {
            AgentError::TokenRefused(f.message)
        } else {
            AgentError::SyncFailed(f.message)
        }
    }
}

/// Keeps the data directory to its owner (0700) and the database to its owner (0600): it holds
/// the names and registration numbers behind the pseudonyms, and the secret.
#[cfg(unix)]
pub fn secure_data_dir(paths: &Paths) {
    use std::os::unix::fs::PermissionsExt;
    let tighten = |path: &std::path::Path, mode: u32| {
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o777 & !mode != 0
        {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    };
    tighten(&paths.dir, 0o700);
    for name in ["agent.db", "agent.db-wal", "agent.db-shm"] {
        tighten(&paths.dir.join(name), 0o600);
    }
}

/// Windows: the data directory sits in the service account's profile, which only it reads.
#[cfg(not(unix))]
pub fn secure_data_dir(_paths: &Paths) {}

pub fn open_store(paths: &Paths) -> Result<Store, AgentError> {
    let opened = Store::open(&paths.db(), Some(identity::SCHEMA));
    if opened.is_ok() {
        secure_data_dir(paths);
    }
    opened.map_err(|e| match read_only(paths) {
        Some(why) => AgentError::ReadOnly {
            dir: paths.dir.display().to_string(),
            why,
        },
        None => e.into(),
    })
}

/// Opens the store to show what it holds: on a read-only data directory, read-only, after
/// saying so on stderr.
pub fn open_store_to_read(paths: &Paths) -> Result<Store, AgentError> {
    match open_store(paths) {
        Err(e @ AgentError::ReadOnly { .. }) => {
            eprintln!("karya-agent: {e}");
            Ok(Store::open_read_only(&paths.db())?)
        }
        other => other,
    }
}

/// Why nothing can be written in the data directory, if it cannot (a read-only disk or
/// folder): found by making and removing a probe file.
pub fn read_only(paths: &Paths) -> Option<String> {
    let probe = paths.dir.join(".karya-write-check");
    match std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Some(e.to_string())
        }
        Err(_) => None,
    }
}

/// Holds `sync.lock` for the duration of a sync, so the service and a CLI `sync` never
/// sync at once. Released when dropped (or when the process dies).
pub struct SyncLock(#[allow(dead_code)] std::fs::File);

impl SyncLock {
    fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }

    /// Whether a sync runs now (this process or another holds the lock).
    pub fn is_held(paths: &Paths) -> bool {
        let Ok(file) = Self::open(&paths.sync_lock()) else {
            // No lock file can be made (a read-only directory): no sync runs here either.
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }

    pub async fn acquire(paths: &Paths) -> Result<SyncLock, AgentError> {
        let path = paths.sync_lock();
        let file =
            Self::open(&path).map_err(|e| AgentError::Io(format!("{}: {e}", path.display())))?;
        tokio::task::spawn_blocking(move || file.lock().map(|()| SyncLock(file)))
            .await
            .map_err(|e| AgentError::Io(e.to_string()))?
            .map_err(|e| AgentError::Io(format!("cannot lock {}: {e}", path.display())))
    }
}

/// One sync under the lock, with the status updated for `status` to show. `retry_in` says
/// when to try again after a failure (ignored on success).
pub async fn sync_and_record(
    paths: &Paths,
    config: &AgentConfig,
    store: &mut Store,
    retry_in: impl FnOnce(u32) -> Duration,
) -> Result<Outcome, SyncError> {
    let _lock = SyncLock::acquire(paths)
        .await
        .map_err(|e| SyncError::Lock(e.to_string()))?;
    let mut st = SyncStatus::load(store)?;
    let previous = st.state;
    st.state = State::Syncing;
    let result = match st.save(store) {
        // A full disk shows here first: no sync is tried, and the failure is recorded (if
        // anything can be) and logged below like any other.
        Err(e) => Err(SyncError::Store(e)),
        Ok(()) => sync_with_hub(config, &paths.dir, store, &mut st).await,
    };
    match &result {
        Ok(outcome) => {
            st.succeeded(outcome, config.timing.sync_interval());
            if previous != State::Idle
                || outcome.changes_received > 0
                || !outcome.refused.is_empty()
                || outcome.photos_sent > 0
            {
                crate::identity::note_event(
                    store,
                    "sync",
                    &karya_shared::text::console::event_synced(
                        outcome.bytes_sent,
                        outcome.bytes_received,
                        outcome.changes_received,
                        outcome.photos_sent,
                        outcome.refused.len(),
                    ),
                );
            }
        }
        Err(e) => {
            if !matches!(previous, State::Offline | State::TokenRefused) {
                st.attempt = 0;
            }
            let delay = status::retry_delay(retry_in(st.attempt + 1), e);
            st.failed(&e.to_string(), delay);
            if matches!(e, SyncError::Unauthorized { .. }) {
                st.state = State::TokenRefused;
            }
            if previous != st.state || st.attempt <= 1 {
                crate::identity::note_event(
                    store,
                    "sync",
                    &karya_shared::text::agent::sync_failed(&e.to_string()),
                );
            }
            if matches!(e, SyncError::Store(StoreError::DiskFull(_))) {
                tracing::error!(attempt = st.attempt, retry_in_s = delay.as_secs_f64(), error = %e, "sync failed: the disk is full; the agent retries by itself once space is freed");
            } else {
                tracing::warn!(attempt = st.attempt, retry_in_s = delay.as_secs_f64(), error = %e, "sync failed");
            }
        }
    }
    if let Err(e) = st.save(store) {
        tracing::error!(error = %e, "the sync status could not be recorded");
        if result.is_ok() {
            return Err(SyncError::Store(e));
        }
    }
    result
}

/// The sync itself, with what it learns of the link and the hub's clock kept in `st`.
async fn sync_with_hub(
    config: &AgentConfig,
    data_dir: &std::path::Path,
    store: &mut Store,
    st: &mut SyncStatus,
) -> Result<Outcome, SyncError> {
    let ca = match &config.ca_file {
        Some(file) => Some(crate::client::read_ca(file).map_err(SyncError::Config)?),
        None => None,
    };
    let client = HubClient::with_hubs(
        config.hub.urls(),
        &config.token,
        config.timing.request_timeout(),
        ca,
    );
    // The link's upload rate as the last sessions measured it sizes the parts of an upload.
    let kept_rate = store
        .meta(LINK_RATE_KEY)?
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(rate) = kept_rate {
        client.set_rate(rate);
    }
    let started = std::time::Instant::now();
    let mut result = sync_once(
        store,
        &client,
        &config.peer_id,
        DocId::for_agent(&config.upt),
    )
    .await;
    // The records are on the hub: now their photos (a cut link leaves them for the next
    // sync, which resumes where the hub's acknowledged bytes end).
    if let Ok(outcome) = &mut result {
        match crate::uploads::upload_photos(
            store,
            data_dir,
            &config.upt,
            &client,
            config.photo_upload_kbps,
        )
        .await
        {
            Ok(up) => {
                if let Some(why) = &up.interrupted {
                    tracing::warn!(error = %why, waiting = up.waiting, "photo upload stopped; the next sync resumes it");
                }
                outcome.photos_sent = up.sent;
                outcome.photo_bytes = up.bytes;
                outcome.photos_waiting = up.waiting;
                outcome.photos_refused = up.refused;
            }
            Err(e) => result = Err(e.into()),
        }
    }
    if let Ok(outcome) = &result {
        for r in &outcome.photos_refused {
            tracing::warn!(photo = %r.doc, reason = %r.reason, "hub refused a photo");
        }
    }
    if let Some(rate) = client.measured_rate()
        && kept_rate.is_none_or(|k| (rate - k).abs() > k * 0.1)
    {
        // Written only when it moved by a tenth: idle polls measure nothing and write nothing.
        if let Err(e) = store.set_meta(LINK_RATE_KEY, &format!("{rate:.0}")) {
            tracing::warn!(error = %e, "the measured link rate could not be kept");
        }
    }
    if let Some(skew) = client.clock_skew() {
        if skew.abs() > crate::client::MAX_CLOCK_SKEW_SECS
            && st
                .clock_skew_secs
                .is_none_or(|s| s.abs() <= crate::client::MAX_CLOCK_SKEW_SECS)
        {
            tracing::warn!(
                skew_secs = skew,
                "this PC's clock differs from the hub's by more than 5 minutes; set the clock, or new records get the wrong dates"
            );
        }
        st.clock_skew_secs = Some(skew);
    }
    if let Ok(outcome) = &result {
        tracing::info!(
            round_trips = outcome.round_trips,
            sent = outcome.bytes_sent,
            received = outcome.bytes_received,
            changes_received = outcome.changes_received,
            refused = outcome.refused.len(),
            ms = started.elapsed().as_millis() as u64,
            "sync done"
        );
        for r in &outcome.refused {
            tracing::warn!(doc = %r.doc, reason = %r.reason, "hub refused a document");
        }
    }
    result
}

/// What the running service knows that its database may not hold: the disk it writes to
/// is full (or read-only), so the status it records is stale. `status` asks the service.
#[derive(Debug, Clone, Default)]
pub struct Live(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl Live {
    pub fn set(&self, problem: Option<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Why the service cannot write its data, if it cannot.
    pub fn storage_problem(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Runs the service until `shutdown` completes. Every write is committed when it is made, so
/// stopping (or being killed) loses nothing.
pub async fn run(paths: Paths, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let config = AgentConfig::load(&paths)?;
    let timing = config.timing.clone();
    // The store first: a read-only data directory is named as such.
    let mut store = open_store(&paths)?;
    let _only = ServiceLock::acquire(&paths)?;
    std::fs::create_dir_all(paths.inbox()).map_err(|e| AgentError::Io(e.to_string()))?;

    let (cmd_tx, mut cmd_rx) = mpsc::channel::<Command>(16);
    let live = Live::default();
    let control = crate::control::start(&paths, cmd_tx.clone(), live.clone()).await?;
    // Without its console the service still syncs and imports: a console that cannot listen
    // (the port taken by another program) is an error in the log, not a stopped service.
    match crate::console::start(&paths, &config, cmd_tx, live.clone()).await {
        Ok(addr) => {
            tracing::info!(console = %format!("http://{addr}/"), "operator console listening")
        }
        Err(e) => tracing::error!(error = %e, "the operator console is not available"),
    }
    tracing::info!(upt = %config.upt, hub = %config.hub, control = %control.addr, "karya-agent running");
    if let Some(warning) = config.plain_http_warning() {
        tracing::warn!("{warning}");
    }

    // Inbox: notify events (and a periodic rescan, in case an event was missed) feed paths to
    // a settle task that hands back files that stopped changing.
    let (ready_tx, mut ready_rx) = mpsc::channel::<std::path::PathBuf>(64);
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<std::path::PathBuf>();
    let _watcher = watch_inbox(&paths, seen_tx.clone());
    for path in inbox::scan(&paths.inbox()) {
        let _ = seen_tx.send(path);
    }
    let settle = timing.inbox_settle();
    let settling = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));

    let rng_jitter = || rand::random::<f64>();
    let st = SyncStatus::load(&store)?;
    // Sync soon after start: whatever was recorded while the service was down goes up; the
    // backoff goes on from where the stored status left it.
    let resumed = match st.state {
        State::Offline => Phase::Offline {
            attempt: st.attempt,
            last_error: st.last_error.clone().unwrap_or_default(),
        },
        State::TokenRefused => Phase::TokenRefused {
            attempt: st.attempt,
            last_error: st.last_error.clone().unwrap_or_default(),
        },
        _ => Phase::Idle,
    };
    let mut schedule = Schedule::new(Timings::of(&timing), resumed, Instant::now());
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    poll.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut rescan = tokio::time::interval(Duration::from_secs(30));
    rescan.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(shutdown);

    loop {
        let mut reply: Option<oneshot::Sender<Result<Outcome, SyncFailure>>> = None;
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep_until(schedule.next_sync()) => {}
            Some(cmd) = cmd_rx.recv() => {
                let Command::SyncNow(tx) = cmd;
                reply = Some(tx);
            }
            Some(path) = seen_rx.recv() => {
                if inbox::is_candidate(&path) && settling.lock().expect("lock").insert(path.clone()) {
                    let ready = ready_tx.clone();
                    let settling = settling.clone();
                    tokio::spawn(async move {
                        if inbox::settled(&path, settle).await {
                            let _ = ready.send(path.clone()).await;
                        } else {
                            settling.lock().expect("lock").remove(&path);
                        }
                    });
                }
                continue;
            }
            Some(path) = ready_rx.recv() => {
                settling.lock().expect("lock").remove(&path);
                if path.exists() {
                    inbox::process(&mut store, &config.upt, &paths.inbox(), &path);
                }
                continue;
            }
            _ = rescan.tick() => {
                for path in inbox::scan(&paths.inbox()) {
                    let _ = seen_tx.send(path);
                }
                continue;
            }
            _ = poll.tick() => {
                // Local changes (from the CLI or the inbox) bring the next sync forward to a
                // debounce away, unless we are backing off from a failure.
                if status::pending_changes(&store, &config.upt).unwrap_or(0) > 0 {
                    schedule.local_change(Instant::now());
                }
                continue;
            }
        }
        // A sync is due (timer) or asked for (control API).
        // The delay is drawn once, so the status shows the retry time the loop keeps.
        // The settings are read again before each sync: a token set with `karya-agent token
        // set` takes effect without a restart.
        let config = match AgentConfig::load(&paths) {
            Ok(fresh) if fresh.upt == config.upt => fresh,
            _ => config.clone(),
        };
        let delay = schedule.start(rng_jitter());
        // A stop (SIGTERM) during a sync ends it there: what the hub acknowledged is stored,
        // and the status, left at "syncing" with nobody holding the sync lock, reads as
        // "interrupted" until the next start syncs again.
        let result = tokio::select! {
            r = sync_and_record(&paths, &config, &mut store, |_| delay) => r,
            _ = &mut shutdown => {
                tracing::warn!("stopping during a sync; the next start goes on from what the hub acknowledged");
                crate::identity::note_event(
                    &store,
                    "sync",
                    karya_shared::text::console::event_stopped_during_sync(),
                );
                break;
            }
        };
        live.set(match &result {
            Err(SyncError::Store(e @ (StoreError::DiskFull(_) | StoreError::ReadOnly(_)))) => {
                Some(e.to_string())
            }
            _ => None,
        });
        schedule.finish(Instant::now(), result.as_ref());
        tracing::debug!(phase = ?schedule.phase(), "sync ended");
        if let Some(tx) = reply {
            let _ = tx.send(result.map_err(|e| SyncFailure::from(&e)));
        }
    }
    let _ = std::fs::remove_file(paths.control_info());
    let _ = std::fs::remove_file(paths.console_info());
    tracing::info!("karya-agent stopped");
    Ok(())
}

/// Held by the one service of a data directory for as long as it runs: a second `run` on the
/// same directory would sync, import and serve the console twice.
pub struct ServiceLock(#[allow(dead_code)] std::fs::File);

impl ServiceLock {
    pub fn acquire(paths: &Paths) -> Result<ServiceLock, AgentError> {
        let path = paths.dir.join("service.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| AgentError::Io(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(ServiceLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => {
                let who = crate::control::running(paths).map(|c| c.pid);
                let console = crate::console::running(paths).map(|a| a.to_string());
                Err(AgentError::Usage(
                    karya_shared::text::agent::service_already_runs(
                        &paths.dir.display().to_string(),
                        who,
                        console.as_deref(),
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(AgentError::Io(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}

pub use karya_shared::signal::shutdown_signal;

fn watch_inbox(
    paths: &Paths,
    tx: mpsc::UnboundedSender<std::path::PathBuf>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "inbox watcher unavailable; rescanning every 30 s"))
    .ok()?;
    watcher
        .watch(&paths.inbox(), RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!(error = %e, "cannot watch the inbox; rescanning every 30 s"))
        .ok()?;
    Some(watcher)
}

/// Where the agent keeps its link's measured upload rate (bytes per second) between sessions.
const LINK_RATE_KEY: &str = "link_upload_rate";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentConfig, Console, Timing};

    /// A data directory set up for LAPAS-PATI, syncing with `hub`.
    fn set_up(dir: &std::path::Path, hub: &str) -> Paths {
        let paths = Paths::new(dir);
        std::fs::create_dir_all(paths.inbox()).unwrap();
        let config = AgentConfig {
            upt: "LAPAS-PATI".into(),
            hub: crate::config::Hubs::new(&[hub]).expect("a hub"),
            token: "karya_t_t".into(),
            peer_id: karya_shared::model::new_id(),
            ca_file: None,
            insecure_http: false,
            timing: Timing::default(),
            photo_upload_kbps: None,
            console: Console {
                listen: Some("127.0.0.1:0".into()),
            },
        };
        let store = open_store(&paths).unwrap();
        crate::identity::secret(&store).unwrap();
        crate::control::api_key(&paths).unwrap();
        config.save(&paths).unwrap();
        paths
    }

    /// A stop during a sync that a hub never answers (a satellite link that hangs) ends the
    /// service at once, on tokio's clock: not after the request's 120 s timeout. The status
    /// then reads "interrupted", and the log says what happened.
    #[tokio::test(start_paused = true)]
    async fn a_stop_during_a_sync_ends_the_service_at_once_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        // The hub: takes the connection and never answers.
        let hub = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", hub.local_addr().unwrap());
        let paths = set_up(dir.path(), &url);

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = tokio::spawn(run(paths.clone(), async move {
            let _ = stopped.await;
        }));
        // The first sync starts soon after the start, and reaches the hub.
        let (held, _) = tokio::time::timeout(Duration::from_secs(10), hub.accept())
            .await
            .expect("the service's first sync reached the hub")
            .unwrap();
        let asked = Instant::now();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), service)
            .await
            .expect("the service stopped within 10 s of the stop")
            .unwrap()
            .unwrap();
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        drop(held);

        let report = crate::status::status_report(&paths, false).unwrap();
        assert_eq!(
            report.state,
            crate::status::State::Interrupted,
            "{report:?}"
        );
        let store = open_store(&paths).unwrap();
        let events = crate::identity::events(&store, 10).unwrap();
        assert!(
            events.iter().any(|(_, kind, what)| kind == "sync"
                && what == karya_shared::text::console::event_stopped_during_sync()),
            "{events:?}"
        );
    }
}
