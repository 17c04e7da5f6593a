//! `karya-agent run`: the background service.
//!
//! One loop `select!`s over the sync timer, commands from the control API (`SyncNow`), inbox
//! files that have settled, a local-change poll (CLI commands write the database directly),
//! and shutdown. The timer is the one schedule: after a good sync the next is an interval
//! away (or a debounce away when there are new local changes); after a failure it is a
//! backoff away, doubling with jitter up to a cap, forever.

use crate::client::SyncError;
use crate::commands::{Command, Live};
use crate::config::{AgentConfig, Paths};
use crate::schedule::{Phase, Schedule, Timings};
use crate::status::{self, State, SyncStatus};
use crate::store::open_store;
use crate::sync::{SyncFailure, sync_and_record};
use crate::{AgentError, inbox};
use karya_shared::StoreError;
use karya_shared::session::Outcome;
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

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
                    crate::text::console::event_stopped_during_sync(),
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
                Err(AgentError::Usage(crate::text::agent::service_already_runs(
                    &paths.dir.display().to_string(),
                    who,
                    console.as_deref(),
                )))
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
                && what == crate::text::console::event_stopped_during_sync()),
            "{events:?}"
        );
    }
}
