//! The agent's sync state, as operators read it in `karya-agent status`. The service keeps it
//! in the database (`meta.sync_status`), so it survives restarts and a CLI can read it with no
//! service running.

use crate::AgentError;
use crate::config::{AgentConfig, Paths};
use karya_shared::session::{HUB_PEER, Outcome, Refusal};
use karya_shared::{DocId, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Idle,
    Syncing,
    /// The hub could not be reached (or refused the token): retrying with backoff.
    Offline,
    /// The last sync worked but the hub refused one or more documents.
    Refused,
    /// The hub refused the UPT's token (revoked, or mistyped): nothing syncs until a new
    /// one is set with `karya-agent token set`; the service keeps asking at the slow interval
    /// and recovers by itself once the token works.
    #[serde(rename = "token_refused")]
    TokenRefused,
    /// Shown, never stored: the stored state says `syncing`, but nobody holds the sync lock
    /// (the service or command died during the sync). Nothing acknowledged was lost; the
    /// next sync goes on from there.
    Interrupted,
    /// Shown, never stored: the running service cannot write its database (the disk is
    /// full); it retries by itself and recovers once space is freed.
    #[serde(rename = "disk_full")]
    DiskFull,
    /// Shown, never stored: the data directory is read-only; what is stored can be shown,
    /// nothing recorded.
    #[serde(rename = "read_only")]
    ReadOnly,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SyncStatus {
    pub state: State,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub attempt: u32,
    pub next_attempt_at: Option<String>,
    /// When the current offline period began.
    pub offline_since: Option<String>,
    pub refused: Vec<Refusal>,
    pub last_outcome: Option<Outcome>,
    /// This PC's clock minus the hub's, in seconds, at the last reply from the hub.
    #[serde(default)]
    pub clock_skew_secs: Option<i64>,
}

const KEY: &str = "sync_status";

impl SyncStatus {
    pub fn load(store: &Store) -> Result<SyncStatus, StoreError> {
        Ok(store
            .meta(KEY)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub fn save(&self, store: &Store) -> Result<(), StoreError> {
        store.set_meta(KEY, &serde_json::to_string(self).unwrap_or_default())
    }

    pub fn succeeded(&mut self, outcome: &Outcome, next: Duration) {
        let now = karya_shared::model::now_rfc3339();
        self.state = if outcome.refused.is_empty() {
            State::Idle
        } else {
            State::Refused
        };
        self.last_success_at = Some(now.clone());
        self.last_attempt_at = Some(now);
        self.last_error = None;
        self.attempt = 0;
        self.offline_since = None;
        self.refused = outcome.refused.clone();
        self.last_outcome = Some(outcome.clone());
        self.next_attempt_at = Some(in_rfc3339(next));
    }

    pub fn failed(&mut self, error: &str, retry_in: Duration) {
        let now = karya_shared::model::now_rfc3339();
        self.state = State::Offline;
        self.attempt += 1;
        self.last_error = Some(error.to_string());
        self.offline_since.get_or_insert(now.clone());
        self.last_attempt_at = Some(now);
        self.next_attempt_at = Some(in_rfc3339(retry_in));
    }
}

pub fn in_rfc3339(d: Duration) -> String {
    let t = time::OffsetDateTime::now_utc() + d;
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Local changes the hub has not acknowledged yet.
pub fn pending_changes(store: &Store, upt: &str) -> Result<usize, StoreError> {
    store.unshared_changes(HUB_PEER, &DocId::Upt(upt.to_string()))
}

/// The delay before retry number `attempt` (1-based): doubling from `initial`, capped at
/// `max`, then scaled by `jitter` in [0, 1) to between half and all of it, so that 627
/// agents coming back after an outage do not all knock at once.
pub fn backoff(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let base = initial.saturating_mul(1u32 << exp).min(max);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// What `status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub upt: String,
    pub hub: String,
    pub service_running: bool,
    pub state: State,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub pending_changes: usize,
    pub next_attempt_at: Option<String>,
    pub attempt: u32,
    pub offline_since: Option<String>,
    pub refused: Vec<karya_shared::session::Refusal>,
    /// This PC's clock minus the hub's, in seconds, at the last reply.
    pub clock_skew_secs: Option<i64>,
    /// Why nothing can be written here now (a full disk, a read-only data directory).
    #[serde(default)]
    pub storage_problem: Option<String>,
    /// Photos still to send to the hub after the last sync, and those it refused (why).
    #[serde(default)]
    pub photos_waiting: usize,
    #[serde(default)]
    pub photos_refused: Vec<karya_shared::session::Refusal>,
    /// The fingerprint of the registry (`national`) held here: what HQ reads over the phone
    /// when it rebuilds a lost hub without its key (see `karya_shared::vouch::fingerprint`).
    #[serde(default)]
    pub registry_fingerprint: Option<String>,
}

pub fn status_report(paths: &Paths, service_running: bool) -> Result<StatusReport, AgentError> {
    let config = AgentConfig::load(paths)?;
    let read_only = crate::store::read_only(paths);
    let store = if read_only.is_some() {
        karya_shared::Store::open_read_only(&paths.db())?
    } else {
        crate::store::open_store(paths)?
    };
    let st = SyncStatus::load(&store)?;
    let pending = pending_changes(&store, &config.upt)?;
    let registry = store.heads(&karya_shared::DocId::National)?;
    // A stored "syncing" that nobody is doing is what a crash during a sync leaves behind.
    let state = if read_only.is_some() {
        State::ReadOnly
    } else if st.state == State::Syncing && !crate::store::SyncLock::is_held(paths) {
        State::Interrupted
    } else {
        st.state
    };
    let storage_problem = read_only
        .map(|why| crate::text::agent::read_only_dir(&paths.dir.display().to_string(), &why));
    Ok(StatusReport {
        upt: config.upt,
        hub: config.hub.to_string(),
        service_running,
        state,
        last_success_at: st.last_success_at,
        last_error: st.last_error,
        pending_changes: pending,
        next_attempt_at: if service_running {
            st.next_attempt_at
        } else {
            None
        },
        attempt: st.attempt,
        offline_since: st.offline_since,
        refused: st.refused,
        clock_skew_secs: st.clock_skew_secs,
        storage_problem,
        photos_waiting: st.last_outcome.as_ref().map_or(0, |o| o.photos_waiting),
        photos_refused: st
            .last_outcome
            .map(|o| o.photos_refused)
            .unwrap_or_default(),
        registry_fingerprint: (!registry.is_empty())
            .then(|| karya_shared::vouch::fingerprint(&registry)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_floor_of_the_next_attempt() {
        let busy = crate::client::SyncError::Server {
            status: 503,
            detail: "busy".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            busy.retry_delay(Duration::from_secs(5)),
            Duration::from_secs(30)
        );
        assert_eq!(
            busy.retry_delay(Duration::from_secs(90)),
            Duration::from_secs(90),
            "a longer backoff stays"
        );
        let offline = crate::client::SyncError::Network {
            url: "u".into(),
            reason: "r".into(),
        };
        assert_eq!(
            offline.retry_delay(Duration::from_secs(5)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_cap() {
        let (i, m) = (Duration::from_secs(5), Duration::from_secs(600));
        assert_eq!(backoff(1, i, m, 1.0), Duration::from_secs(5));
        assert_eq!(backoff(2, i, m, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(4, i, m, 1.0), Duration::from_secs(40));
        assert_eq!(backoff(4, i, m, 0.0), Duration::from_secs(20));
        assert_eq!(
            backoff(50, i, m, 1.0),
            m,
            "capped, and no overflow however long it is offline"
        );
        assert!(backoff(50, i, m, 0.0) >= m / 2);
    }
}
