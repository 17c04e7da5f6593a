//! One sync with the hub, recorded: under the sync lock, with the status updated and the link's
//! measured rate kept, photos after the records. The service, `karya-agent sync` and the
//! console's "Sinkronkan sekarang" all run it.

use crate::AgentError;
use crate::client::{HubClient, SyncError, sync_once};
use crate::config::{AgentConfig, Paths};
use crate::status::{State, SyncStatus};
use crate::store::SyncLock;
use karya_shared::session::Outcome;
use karya_shared::{DocId, Store, StoreError};
use std::time::Duration;

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
            // Records are up; photos cut short are tried again on the backoff, not at the
            // next scheduled sync (the status says when).
            let next = if outcome.photos_interrupted.is_some() {
                retry_in(st.attempt + 1)
            } else {
                config.timing.sync_interval()
            };
            st.succeeded(outcome, next);
            if previous != State::Idle
                || outcome.changes_received > 0
                || !outcome.refused.is_empty()
                || outcome.photos_sent > 0
            {
                crate::identity::note_event(
                    store,
                    "sync",
                    &crate::text::console::event_synced(
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
            let delay = e.retry_delay(retry_in(st.attempt + 1));
            st.failed(&e.to_string(), delay);
            if matches!(e, SyncError::Unauthorized { .. }) {
                st.state = State::TokenRefused;
            }
            if previous != st.state || st.attempt <= 1 {
                crate::identity::note_event(
                    store,
                    "sync",
                    &crate::text::agent::sync_failed(&e.to_string()),
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

/// Meta key: the hub took this installation's key after refusing the token; requests are
/// signed from the first (cleared by `token set`).
pub const BY_KEY: &str = "auth_by_key";

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
    // This installation's own key: offered to the hub with the token until the registry
    // lists it, and signing the requests once the hub refuses the token (a hub rebuilt from
    // nothing knows no tokens).
    let key = crate::identity::agent_key(store)?;
    let public = karya_shared::agentkey::public_hex(&key);
    let listed = store
        .with_doc(&DocId::National, |d| {
            karya_shared::schema::read_upt(d, &config.upt)
        })?
        .is_some_and(|u| u.agent_keys.contains(&public));
    let by_key = store.meta(BY_KEY)?.is_some_and(|v| !v.is_empty());
    let client = HubClient::with_hubs(
        config.hub.urls(),
        &config.token,
        config.timing.request_timeout(),
        ca,
    )
    .with_key(&config.upt, key, by_key, !listed);
    // The link's upload rate as the last sessions measured it sizes the parts of an upload.
    let kept_rate = store
        .meta(LINK_RATE_KEY)?
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(rate) = kept_rate {
        client.set_rate(rate);
    }
    let started = std::time::Instant::now();
    let session = || {
        sync_once(
            store,
            &client,
            &config.peer_id,
            DocId::for_agent(&config.upt),
        )
    };
    let mut result = session().await;
    // A hub being rebuilt takes the registry first and the UPT's own documents once the
    // registry lists this installation's key: the same sync goes on at once.
    if result
        .as_ref()
        .is_ok_and(|o| o.refused.iter().any(|r| r.code() == Some("unknown_key")))
    {
        result = session().await;
    }
    // A hub rebuilt without the lost hub's key cannot take this UPT's decisions back, nor a
    // registry beyond the one HQ adopted: its copy stands (HQ decides again), so this PC drops
    // its own and takes the hub's, instead of offering them, refused, at every sync. Only the
    // documents the hub writes; the UPT's own records are never dropped.
    let lost: Vec<DocId> = result
        .as_ref()
        .map(|o| {
            o.refused
                .iter()
                .filter(|r| r.code() == Some("hub_copy_stands"))
                .filter_map(|r| DocId::parse(&r.doc))
                .filter(|d| match d {
                    DocId::Curation(c) => *c == config.upt,
                    DocId::National => true,
                    DocId::Upt(_) => false,
                })
                .collect()
        })
        .unwrap_or_default();
    if !lost.is_empty() {
        for doc in &lost {
            tracing::warn!(doc = %doc, "the hub was rebuilt without its key and cannot take this copy back; taking the hub's");
            store.forget(doc)?;
        }
        result = session().await;
    }
    // The records are on the hub: now their photos (a cut link leaves them for the next
    // sync, which resumes where the hub's acknowledged bytes end).
    if let Ok(outcome) = &mut result {
        // Photos the hub lacks (put back with an older photo folder): sent again below.
        if !outcome.photo_gaps.is_empty() {
            crate::uploads::hub_lacks(store, &outcome.photo_gaps)?;
        }
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
                    tracing::warn!(error = %why, waiting = up.waiting, "photo upload stopped; retried on the backoff");
                }
                outcome.photos_interrupted = up.interrupted;
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
    if result.is_ok() && client.went_by_key() && !by_key {
        // The hub takes the key and not the token: sign from the first request next time.
        store.set_meta(BY_KEY, "1")?;
        tracing::info!("the hub took this installation's key instead of the token");
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

/// Where the agent keeps its link's measured upload rate (bytes per second) between sessions.
const LINK_RATE_KEY: &str = "link_upload_rate";
