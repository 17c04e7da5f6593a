//! `GET /metrics`, with the Prometheus client crate (`prometheus-client`, OpenMetrics text).
//!
//! What an on-call person looks at first: sync duration and bytes per outcome, the wait for a
//! turn, documents loaded from disk against the cache, refusals by reason, failed token
//! attempts per UPT, stale UPTs, each UPT's last successful sync age, the database's size and
//! the disk's free space. Example alert rules and a Grafana dashboard are in `hub/dist/`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

/// How a sync request ended (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Served, every document synced.
    Ok,
    /// Served, some document refused.
    Refused,
    /// Rejected whole (a bad frame, a wrong content type, a token that may not sync).
    Rejected,
    /// Shed by admission control (503).
    Busy,
    /// The hub could not serve it (5xx).
    Error,
}

impl SyncOutcome {
    fn label(self) -> &'static str {
        match self {
            SyncOutcome::Ok => "ok",
            SyncOutcome::Refused => "refused",
            SyncOutcome::Rejected => "rejected",
            SyncOutcome::Busy => "busy",
            SyncOutcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UptLabel {
    pub upt: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub from: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub sync_duration: Family<OutcomeLabel, Histogram>,
    pub sync_bytes_in: Family<OutcomeLabel, Histogram>,
    pub sync_bytes_out: Family<OutcomeLabel, Histogram>,
    /// Seconds an admitted sync waited for its turn.
    pub sync_wait: Histogram,
    pub changes_merged: Counter,
    pub refusals: Family<ReasonLabel, Counter>,
    pub panics: Counter,
    pub curation_decisions: Counter,
    pub token_failures: Family<UptLabel, Counter>,
    docs_loaded: Family<SourceLabel, Counter>,
    stale_upts: Gauge,
    /// While the hub is rebuilt from the agents: what has come back (labelled by `what`).
    rebuild: Family<WhatLabel, Gauge>,
    last_sync_age: Family<UptLabel, Gauge<f64, AtomicU64>>,
    db_bytes: Gauge,
    disk_free_bytes: Gauge,
    /// Replica load/hit counts already added to `docs_loaded`.
    seen_loads: Mutex<(u64, u64)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let seconds = || Histogram::new(exponential_buckets(0.002, 2.5, 12));
        let bytes = || Histogram::new(exponential_buckets(256.0, 4.0, 10));
        let m = Metrics {
            registry: Registry::default(),
            sync_duration: Family::new_with_constructor(seconds),
            sync_bytes_in: Family::new_with_constructor(bytes),
            sync_bytes_out: Family::new_with_constructor(bytes),
            sync_wait: seconds(),
            changes_merged: Counter::default(),
            refusals: Family::default(),
            panics: Counter::default(),
            curation_decisions: Counter::default(),
            token_failures: Family::default(),
            docs_loaded: Family::default(),
            stale_upts: Gauge::default(),
            rebuild: Family::default(),
            last_sync_age: Family::default(),
            db_bytes: Gauge::default(),
            disk_free_bytes: Gauge::default(),
            seen_loads: Mutex::new((0, 0)),
        };
        // Every known label value starts at zero, so dashboards and alerts see the series
        // before the first event (Prometheus' advice for known label sets).
        for outcome in [
            SyncOutcome::Ok,
            SyncOutcome::Refused,
            SyncOutcome::Rejected,
            SyncOutcome::Busy,
            SyncOutcome::Error,
        ] {
            let label = OutcomeLabel {
                outcome: outcome.label(),
            };
            let _ = m.sync_duration.get_or_create(&label);
            let _ = m.sync_bytes_in.get_or_create(&label);
            let _ = m.sync_bytes_out.get_or_create(&label);
        }
        for reason in karya_shared::server::REFUSAL_KINDS {
            let _ = m.refusals.get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            });
        }
        let _ = m.token_failures.get_or_create(&UptLabel {
            upt: "unknown".into(),
        });
        for from in ["disk", "cache"] {
            let _ = m.docs_loaded.get_or_create(&SourceLabel { from });
        }
        let mut m = m;
        let r = &mut m.registry;
        r.register(
            "karya_sync_duration_seconds",
            "Time to answer a sync request, by outcome",
            m.sync_duration.clone(),
        );
        r.register(
            "karya_sync_request_bytes",
            "Sync request body size, by outcome",
            m.sync_bytes_in.clone(),
        );
        r.register(
            "karya_sync_response_bytes",
            "Sync response body size, by outcome",
            m.sync_bytes_out.clone(),
        );
        r.register(
            "karya_sync_wait_seconds",
            "Time an admitted sync waited for its turn",
            m.sync_wait.clone(),
        );
        r.register(
            "karya_changes_merged",
            "Automerge changes merged from agents",
            m.changes_merged.clone(),
        );
        r.register(
            "karya_refusals",
            "Documents refused, by reason",
            m.refusals.clone(),
        );
        r.register(
            "karya_merge_panics",
            "Documents whose merge panicked; each was rolled back and refused with 'internal error'",
            m.panics.clone(),
        );
        r.register(
            "karya_curation_decisions",
            "Curation decisions recorded",
            m.curation_decisions.clone(),
        );
        r.register(
            "karya_token_failures",
            "Requests with a revoked or unknown token, by UPT (\"unknown\" when the token names none)",
            m.token_failures.clone(),
        );
        r.register(
            "karya_documents_loaded",
            "Documents used by the hub, from the cache or loaded from the database",
            m.docs_loaded.clone(),
        );
        r.register(
            "karya_upts_stale",
            "Registered UPTs without a successful sync within the staleness threshold",
            m.stale_upts.clone(),
        );
        r.register(
            "karya_rebuild",
            "While the hub is rebuilt from the agents: active (1), UPTs in the registry and back, decisions and photos back",
            m.rebuild.clone(),
        );
        r.register(
            "karya_upt_last_sync_age_seconds",
            "Seconds since each UPT's last successful sync",
            m.last_sync_age.clone(),
        );
        r.register(
            "karya_database_bytes",
            "Size of the hub's database files (with the write-ahead log)",
            m.db_bytes.clone(),
        );
        r.register(
            "karya_disk_free_bytes",
            "Free space on the disk that holds the database",
            m.disk_free_bytes.clone(),
        );
        m
    }
}

/// What the scrape reads from the database and the disk.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// (UPT, unix seconds) of each UPT's last successful sync.
    pub last_syncs: Vec<(String, i64)>,
    pub stale_upts: i64,
    pub db_bytes: u64,
    pub disk_free_bytes: Option<u64>,
    /// Documents loaded from the database and served from the cache, since start.
    pub docs_from_disk: u64,
    pub docs_from_cache: u64,
    /// A rebuild's progress, while one goes on.
    pub rebuild: Option<crate::rebuild::Report>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct WhatLabel {
    what: &'static str,
}

impl Metrics {
    pub fn sync_served(&self, outcome: SyncOutcome, seconds: f64, bytes_in: u64, bytes_out: u64) {
        let label = OutcomeLabel {
            outcome: outcome.label(),
        };
        self.sync_duration.get_or_create(&label).observe(seconds);
        self.sync_bytes_in
            .get_or_create(&label)
            .observe(bytes_in as f64);
        self.sync_bytes_out
            .get_or_create(&label)
            .observe(bytes_out as f64);
    }

    pub fn refused(&self, reason: &str) {
        self.refusals
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn token_failed(&self, upt: Option<&str>) {
        self.token_failures
            .get_or_create(&UptLabel {
                upt: upt.unwrap_or("unknown").to_string(),
            })
            .inc();
    }

    /// The text exposition, with the gauges set from `snap`.
    pub fn render(&self, snap: &Snapshot) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.last_sync_age.clear();
        for (upt, at) in &snap.last_syncs {
            self.last_sync_age
                .get_or_create(&UptLabel { upt: upt.clone() })
                .set((now - at).max(0) as f64);
        }
        self.stale_upts.set(snap.stale_upts);
        self.rebuild.clear();
        if let Some(r) = &snap.rebuild {
            for (what, n) in [
                ("active", 1),
                ("upts", r.upts as i64),
                ("upts_back", r.upts_back as i64),
                ("decisions", r.decisions),
                ("products", r.products),
                ("photos", r.photos as i64),
                ("photos_back", r.photos_back as i64),
            ] {
                self.rebuild.get_or_create(&WhatLabel { what }).set(n);
            }
        }
        self.db_bytes
            .set(i64::try_from(snap.db_bytes).unwrap_or(i64::MAX));
        if let Some(free) = snap.disk_free_bytes {
            self.disk_free_bytes
                .set(i64::try_from(free).unwrap_or(i64::MAX));
        }
        {
            let mut seen = self.seen_loads.lock().unwrap_or_else(|p| p.into_inner());
            let (disk, cache) = *seen;
            self.docs_loaded
                .get_or_create(&SourceLabel { from: "disk" })
                .inc_by(snap.docs_from_disk.saturating_sub(disk));
            self.docs_loaded
                .get_or_create(&SourceLabel { from: "cache" })
                .inc_by(snap.docs_from_cache.saturating_sub(cache));
            *seen = (
                snap.docs_from_disk.max(disk),
                snap.docs_from_cache.max(cache),
            );
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding /metrics failed");
        }
        out
    }
}
