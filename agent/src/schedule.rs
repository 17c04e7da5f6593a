//! When the service syncs: an explicit state machine, apart from the I/O, so that its timing
//! (debounce, backoff with jitter, Retry-After, a sync asked for while offline) is tested on
//! tokio's paused clock.
//!
//! ```text
//!            local change (debounce)        failure (backoff, Retry-After)
//!   Idle ───────────────▶ Syncing ───────────────────────▶ Offline{attempt}
//!    ▲  ◀── success ────────┘  │  ◀── success ───────────────┘   │ timer / SyncNow
//!    │                         ├── hub refused the token ─▶ TokenRefused{attempt}
//!    │                         └── documents refused ─────▶ DocumentRefused{docs}
//! ```
//! Local changes bring the next sync forward only when the last sync reached the hub: while
//! offline or refused, the backoff decides (a sync asked for with SyncNow always runs).

use crate::client::SyncError;
use karya_shared::session::Outcome;
use std::time::Duration;
use tokio::time::Instant;

/// Where the service stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// The last sync worked (or none was tried yet).
    Idle,
    Syncing,
    /// The hub could not be reached, or failed: retrying with backoff.
    Offline {
        attempt: u32,
        last_error: String,
    },
    /// The hub refused the token: retrying at the backoff's slow end until a new token works.
    TokenRefused {
        attempt: u32,
        last_error: String,
    },
    /// The last sync worked, but the hub refused these documents (document, reason).
    DocumentRefused {
        docs: Vec<(String, String)>,
    },
}

/// The timings the schedule follows.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub interval: Duration,
    pub debounce: Duration,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// The first sync after the service starts.
    pub first: Duration,
}

impl Timings {
    pub fn of(t: &crate::config::Timing) -> Timings {
        Timings {
            interval: t.sync_interval(),
            debounce: t.debounce(),
            retry_initial: t.retry_initial(),
            retry_max: t.retry_max(),
            first: Duration::from_millis(200),
        }
    }
}

#[derive(Debug)]
pub struct Schedule {
    timings: Timings,
    phase: Phase,
    /// The phase before the sync under way.
    before: Phase,
    next: Instant,
    /// The wait after this sync if it fails, drawn when it starts (the status shows it).
    backoff: Duration,
    /// Photo rounds cut short in a row that moved no byte (the records went up): retried on
    /// the backoff too.
    photo_attempt: u32,
    /// The jitter drawn for this sync, for a wait recomputed when it ends.
    jitter: f64,
}

impl Schedule {
    /// A schedule starting in `phase` (as the stored status left it): the first sync soon.
    pub fn new(timings: Timings, phase: Phase, now: Instant) -> Schedule {
        Schedule {
            timings,
            before: phase.clone(),
            phase,
            next: now + timings.first,
            backoff: timings.retry_initial,
            photo_attempt: 0,
            jitter: 1.0,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// When the next sync is due.
    pub fn next_sync(&self) -> Instant {
        self.next
    }

    /// Failed attempts in a row.
    pub fn attempt(&self) -> u32 {
        match &self.phase {
            Phase::Offline { attempt, .. } | Phase::TokenRefused { attempt, .. } => *attempt,
            _ => 0,
        }
    }

    /// Records waiting to go up: sync within the debounce, unless the last sync did not
    /// reach the hub (then the backoff decides).
    pub fn local_change(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Idle | Phase::DocumentRefused { .. }) {
            self.next = self.next.min(now + self.timings.debounce);
        }
    }

    /// A sync starts (due, or asked for). `jitter` in [0, 1] draws the wait should it fail;
    /// returned so the status can show it.
    pub fn start(&mut self, jitter: f64) -> Duration {
        let attempt = self.attempt().max(self.photo_attempt) + 1;
        self.jitter = jitter;
        self.backoff = crate::status::backoff(
            attempt,
            self.timings.retry_initial,
            self.timings.retry_max,
            jitter,
        );
        self.before = std::mem::replace(&mut self.phase, Phase::Syncing);
        self.backoff
    }

    /// The sync ended at `now`; returns when the next one is due.
    pub fn finish(&mut self, now: Instant, result: Result<&Outcome, &SyncError>) -> Instant {
        let attempt = match &self.before {
            Phase::Offline { attempt, .. } | Phase::TokenRefused { attempt, .. } => *attempt,
            _ => 0,
        } + 1;
        match result {
            Ok(outcome) => {
                self.phase = if outcome.refused.is_empty() {
                    Phase::Idle
                } else {
                    Phase::DocumentRefused {
                        docs: outcome
                            .refused
                            .iter()
                            .map(|r| (r.doc.clone(), r.reason.clone()))
                            .collect(),
                    }
                };
                // Photos cut short (the link dropped mid-upload): again on the backoff. A
                // round that moved bytes before the cut starts the backoff again from its
                // first step (a link that drops every few minutes still carries a long
                // backlog at its pace); rounds that move nothing double it, as records do.
                if outcome.photos_interrupted.is_some() {
                    if outcome.photo_bytes > 0 || outcome.photos_sent > 0 {
                        self.photo_attempt = 1;
                        self.backoff = crate::status::backoff(
                            1,
                            self.timings.retry_initial,
                            self.timings.retry_max,
                            self.jitter,
                        );
                    } else {
                        self.photo_attempt += 1;
                    }
                    self.next = now + self.backoff;
                } else {
                    self.photo_attempt = 0;
                    self.next = now + self.timings.interval;
                }
            }
            Err(e) => {
                let last_error = e.to_string();
                self.phase = match e {
                    SyncError::Unauthorized { .. } => Phase::TokenRefused {
                        attempt,
                        last_error,
                    },
                    _ => Phase::Offline {
                        attempt,
                        last_error,
                    },
                };
                self.next = now + e.retry_delay(self.backoff);
            }
        }
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use karya_shared::session::Refusal;

    fn timings() -> Timings {
        Timings {
            interval: Duration::from_secs(300),
            debounce: Duration::from_secs(5),
            retry_initial: Duration::from_secs(10),
            retry_max: Duration::from_secs(900),
            first: Duration::from_millis(200),
        }
    }

    fn offline() -> SyncError {
        SyncError::Network {
            url: "http://hub".into(),
            reason: "connection refused".into(),
        }
    }

    async fn sleep_until_due(s: &Schedule) {
        tokio::time::sleep_until(s.next_sync()).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_local_change_is_sent_after_the_debounce_and_the_interval_keeps_time() {
        let t0 = Instant::now();
        let mut s = Schedule::new(timings(), Phase::Idle, t0);
        assert_eq!(
            s.next_sync(),
            t0 + Duration::from_millis(200),
            "soon after start"
        );
        sleep_until_due(&s).await;
        s.start(0.5);
        let next = s.finish(Instant::now(), Ok(&Outcome::default()));
        assert_eq!(
            next - t0,
            Duration::from_millis(200) + Duration::from_secs(300)
        );
        assert_eq!(*s.phase(), Phase::Idle);

        tokio::time::advance(Duration::from_secs(60)).await;
        s.local_change(Instant::now());
        assert_eq!(s.next_sync(), Instant::now() + Duration::from_secs(5));
        // More changes within the debounce do not push the sync further away.
        tokio::time::advance(Duration::from_secs(3)).await;
        s.local_change(Instant::now());
        assert_eq!(s.next_sync(), Instant::now() + Duration::from_secs(2));
    }

    /// A photo round cut by the link is tried again on the backoff (seconds), doubling while
    /// it keeps happening, not at the next scheduled sync (minutes); a whole round goes back
    /// to the interval.
    #[tokio::test(start_paused = true)]
    async fn photos_cut_short_are_retried_on_the_backoff_not_the_interval() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        let cut = Outcome {
            photos_interrupted: Some("the link dropped".into()),
            photos_waiting: 3,
            ..Outcome::default()
        };
        let mut waits = Vec::new();
        for _ in 0..3 {
            sleep_until_due(&s).await;
            s.start(1.0);
            let next = s.finish(Instant::now(), Ok(&cut));
            waits.push(next - Instant::now());
            assert_eq!(*s.phase(), Phase::Idle, "the records went up");
        }
        assert_eq!(
            waits,
            [10, 20, 40].map(Duration::from_secs),
            "the records' backoff, doubling"
        );
        sleep_until_due(&s).await;
        s.start(1.0);
        let next = s.finish(Instant::now(), Ok(&Outcome::default()));
        assert_eq!(next - Instant::now(), Duration::from_secs(300));
        // And the next cut starts from the first step again.
        sleep_until_due(&s).await;
        s.start(1.0);
        let next = s.finish(Instant::now(), Ok(&cut));
        assert_eq!(next - Instant::now(), Duration::from_secs(10));
    }

    /// A link that drops every few minutes while a long photo backlog goes up: each round
    /// moves bytes before its cut, so each is retried after the first step of the backoff,
    /// never minutes later (a 100-photo backlog is ~30 such cuts at 64 kbit/s).
    #[tokio::test(start_paused = true)]
    async fn photo_rounds_that_move_bytes_are_retried_after_the_first_step() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        let progressed = Outcome {
            photos_interrupted: Some("the link dropped".into()),
            photos_waiting: 90,
            photos_sent: 1,
            photo_bytes: 900_000,
            ..Outcome::default()
        };
        for _ in 0..30 {
            sleep_until_due(&s).await;
            s.start(1.0);
            let next = s.finish(Instant::now(), Ok(&progressed));
            assert_eq!(next - Instant::now(), Duration::from_secs(10));
        }
        // A cut round that moved nothing doubles from there.
        let stuck = Outcome {
            photos_interrupted: Some("the link dropped".into()),
            photos_waiting: 90,
            ..Outcome::default()
        };
        sleep_until_due(&s).await;
        s.start(1.0);
        let next = s.finish(Instant::now(), Ok(&stuck));
        assert_eq!(next - Instant::now(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn offline_backs_off_with_jitter_up_to_the_cap_and_ignores_local_changes() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        let mut waits = Vec::new();
        for _ in 0..8 {
            sleep_until_due(&s).await;
            // The largest jitter: the full backoff.
            let backoff = s.start(1.0);
            let now = Instant::now();
            let next = s.finish(now, Err(&offline()));
            assert_eq!(next - now, backoff);
            waits.push(backoff.as_secs());
            // A change recorded while offline waits for the backoff.
            s.local_change(Instant::now());
            assert_eq!(s.next_sync(), next);
        }
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 900]);
        assert!(
            matches!(s.phase(), Phase::Offline { attempt: 8, .. }),
            "{:?}",
            s.phase()
        );
        // The smallest jitter halves the wait.
        sleep_until_due(&s).await;
        assert_eq!(s.start(0.0), Duration::from_secs(450));

        // Back online: the attempts start again from one.
        let next = s.finish(Instant::now(), Ok(&Outcome::default()));
        assert_eq!(next - Instant::now(), Duration::from_secs(300));
        assert_eq!(s.attempt(), 0);
        s.start(1.0);
        s.finish(Instant::now(), Err(&offline()));
        assert!(matches!(s.phase(), Phase::Offline { attempt: 1, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_hubs_retry_after_is_never_undercut() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        sleep_until_due(&s).await;
        s.start(1.0);
        let busy = SyncError::Server {
            status: 503,
            detail: "busy".into(),
            retry_after: Some(Duration::from_secs(120)),
        };
        let now = Instant::now();
        assert_eq!(s.finish(now, Err(&busy)) - now, Duration::from_secs(120));
    }

    #[tokio::test(start_paused = true)]
    async fn sync_now_while_offline_runs_at_once_and_counts_as_an_attempt() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        sleep_until_due(&s).await;
        s.start(1.0);
        s.finish(Instant::now(), Err(&offline()));
        // Asked for before the backoff ends: it runs (the service calls start at once).
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(s.next_sync() > Instant::now());
        let backoff = s.start(1.0);
        assert_eq!(
            backoff,
            Duration::from_secs(20),
            "the second attempt's wait"
        );
        assert_eq!(*s.phase(), Phase::Syncing);
        let next = s.finish(Instant::now(), Ok(&Outcome::default()));
        assert_eq!(next - Instant::now(), Duration::from_secs(300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_and_refused_documents_are_their_own_states() {
        let mut s = Schedule::new(timings(), Phase::Idle, Instant::now());
        sleep_until_due(&s).await;
        s.start(1.0);
        s.finish(
            Instant::now(),
            Err(&SyncError::Unauthorized {
                detail: "revoked".into(),
            }),
        );
        assert!(matches!(s.phase(), Phase::TokenRefused { attempt: 1, .. }));
        let due = s.next_sync();
        s.local_change(Instant::now());
        assert_eq!(s.next_sync(), due, "local changes wait for the token");
        sleep_until_due(&s).await;
        s.start(1.0);
        let outcome = Outcome {
            refused: vec![Refusal {
                doc: "upt/LAPAS-A".into(),
                reason: "product p1: price_idr: must not be negative".into(),
            }],
            ..Default::default()
        };
        s.finish(Instant::now(), Ok(&outcome));
        assert_eq!(
            *s.phase(),
            Phase::DocumentRefused {
                docs: vec![(
                    "upt/LAPAS-A".into(),
                    "product p1: price_idr: must not be negative".into()
                )]
            }
        );
        // A fix made locally goes up after the debounce.
        s.local_change(Instant::now());
        assert_eq!(s.next_sync(), Instant::now() + Duration::from_secs(5));
    }
}
