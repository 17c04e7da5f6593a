//! Counters for `GET /metrics` (Prometheus text format).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Metrics {
    pub syncs: AtomicU64,
    pub sync_rejected: AtomicU64,
    pub refusals: AtomicU64,
    pub changes_merged: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub curation_decisions: AtomicU64,
    /// Syncs answered 503 by admission control.
    pub sync_shed: AtomicU64,
    /// Time admitted syncs waited for a turn, summed, in microseconds.
    pub sync_wait_micros: AtomicU64,
    /// Documents whose merge panicked (rolled back, refused with "internal error").
    pub panics: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// The text exposition; `last_sync` is (UPT, unix seconds) of each UPT's last good sync.
    pub fn render(&self, last_sync: &[(String, i64)]) -> String {
        let mut out = String::new();
        let counters = [
            ("karya_syncs_total", "Sync requests served.", &self.syncs),
            (
                "karya_sync_rejected_total",
                "Sync requests rejected whole (bad frame, auth, size).",
                &self.sync_rejected,
            ),
            (
                "karya_refusals_total",
                "Documents refused because the sender may not write them.",
                &self.refusals,
            ),
            (
                "karya_changes_merged_total",
                "Automerge changes merged from agents.",
                &self.changes_merged,
            ),
            (
                "karya_sync_bytes_in_total",
                "Sync request body bytes received.",
                &self.bytes_in,
            ),
            (
                "karya_sync_bytes_out_total",
                "Sync response body bytes sent.",
                &self.bytes_out,
            ),
            (
                "karya_curation_decisions_total",
                "Curation decisions recorded.",
                &self.curation_decisions,
            ),
            (
                "karya_sync_shed_total",
                "Syncs answered 503 with Retry-After because the hub was at its bound.",
                &self.sync_shed,
            ),
            (
                "karya_sync_wait_microseconds_total",
                "Time admitted syncs waited for a turn, in microseconds.",
                &self.sync_wait_micros,
            ),
            (
                "karya_merge_panics_total",
                "Documents whose merge panicked; each was rolled back and refused with 'internal error'.",
                &self.panics,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP karya_upt_last_sync_timestamp_seconds Unix time of each UPT's last successful sync.\n# TYPE karya_upt_last_sync_timestamp_seconds gauge"
        );
        for (upt, at) in last_sync {
            let _ = writeln!(
                out,
                "karya_upt_last_sync_timestamp_seconds{{upt=\"{upt}\"}} {at}"
            );
        }
        out
    }
}
