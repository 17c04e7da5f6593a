//! The simulation benchmark behind `karya-sim`: the real hub (in its own process, started
//! from this binary) over real HTTP on loopback, many simulated UPT replicas that use the
//! agent's own sync code, and a counting, latency-adding proxy in between.

use crate::proxy::{Link, Proxy};
use karya_agent::client::{HubClient, sync_once};
use karya_agent::records;
use karya_shared::model::{Participant, ProductPatch, Sale, new_id, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::{Store, pseudonym};
use serde::Serialize;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Simulated UPTs.
    #[arg(long, default_value_t = 627)]
    pub upts: usize,
    /// Records per UPT (a mix of products, sales, trainings and participants).
    #[arg(long, default_value_t = 1000)]
    pub records: usize,
    /// Records each UPT edits in the steady-state round.
    #[arg(long, default_value_t = 1)]
    pub edits: usize,
    /// Concurrent agents syncing at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Round trip of the slow link, in milliseconds.
    #[arg(long, default_value_t = 600)]
    pub slow_rtt_ms: u64,
    /// Bandwidth of the slow link, in kbit/s.
    #[arg(long, default_value_t = 64)]
    pub slow_kbps: u64,
    /// How long the idle-polling scenario runs, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub idle_secs: f64,
    /// Seconds the agent service idles before its RSS is read.
    #[arg(long, default_value_t = 3.0)]
    pub agent_idle_secs: f64,
    /// Offline backlogs drained over the thin link, in KB (comma-separated; 0: none).
    #[arg(long, default_value = "60,600", value_delimiter = ',')]
    pub backlog_kb: Vec<u64>,
    /// Bandwidth of the thin link the backlogs drain over, in bytes per second.
    #[arg(long, default_value_t = 2048)]
    pub thin_bytes_per_sec: u64,
    /// The agent's request timeout on the thin link, in seconds.
    #[arg(long, default_value_t = 20)]
    pub thin_timeout_secs: u64,
    /// Edits made during an offline spell and then synced at once (three quarters an import
    /// of products, the rest stock and price changes in equal parts; 0: no such scenario).
    #[arg(long, default_value_t = 2000)]
    pub offline_edits: usize,
    /// Size of the photo sent over the slow link in the photo scenario, in KB (0: none).
    #[arg(long, default_value_t = 300)]
    pub photo_kb: u64,
    /// The slow link drops every this many seconds during the photo scenario.
    #[arg(long, default_value_t = 15)]
    pub photo_cut_secs: u64,
    /// Photos waiting after an offline spell in the photo scenario, one per product (the
    /// photo backlog: `--photos 100` is the issue's ≥ 100 × 300 KB at 64 kbit/s).
    #[arg(long, default_value_t = 1)]
    pub photos: usize,
    /// Photos the agent uploads at once in the photo scenario (the agent's default:
    /// `karya_agent::uploads::LANES`).
    #[arg(long, default_value_t = karya_agent::uploads::LANES)]
    pub upload_lanes: usize,
    /// Requests per page in the dashboard scenario (0: no dashboard scenario).
    #[arg(long, default_value_t = 30)]
    pub dashboard_samples: usize,
    /// SIGKILLs of the hub while agents add records and sync (its own database; 0: none).
    #[arg(long, default_value_t = 100)]
    pub hub_kills: usize,
    /// Where the hub keeps its data: `sqlite` (a file) or `postgres` (a server the benchmark
    /// starts, with PostgreSQL's default durability).
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "postgres"])]
    pub store: String,
    /// Hub processes on the one database; the bootstrap, steady state and idle polls spread
    /// the UPTs over them (the other scenarios use the first).
    #[arg(long, default_value_t = 1)]
    pub hub_processes: usize,
    /// The abuse scenario: every other UPT syncs once quietly, then again while one agent
    /// token trickles sync bodies and photo parts (`--abuse false`: skip it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub abuse: bool,
    /// A quick look: every scenario, small (20 UPTs x 100 records unless --upts/--records
    /// say otherwise; backlogs, photos, kills, dashboard samples and idle times cut down).
    #[arg(long)]
    pub quick: bool,
}

impl Options {
    /// The options of a quick look ([`Options::quick`]): the same scenarios at small sizes.
    /// Sizes given explicitly (`upts`, `records` other than their defaults) are kept.
    pub fn quickened(mut self) -> Options {
        if !self.quick {
            return self;
        }
        if self.upts == 627 {
            self.upts = 20;
        }
        if self.records == 1000 {
            self.records = 100;
        }
        // A backlog of two request timeouts' worth, so it still drains in parts.
        self.thin_timeout_secs = self.thin_timeout_secs.min(3);
        self.backlog_kb = vec![self.thin_bytes_per_sec * self.thin_timeout_secs * 2 / 1000];
        // About four seconds of link, cut once on the way.
        self.photo_kb = self.photo_kb.min(30);
        self.photo_cut_secs = self.photo_cut_secs.min(4);
        self.photos = self.photos.min(2);
        self.offline_edits = self.offline_edits.min(200);
        self.hub_kills = self.hub_kills.min(5);
        self.dashboard_samples = self.dashboard_samples.min(3);
        self.idle_secs = self.idle_secs.min(1.0);
        self.agent_idle_secs = self.agent_idle_secs.min(1.0);
        self
    }
}

/// The photos' folder of hubs on PostgreSQL (set once per run).
static PG_BLOBS: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub store: String,
    pub hub_processes: usize,
    pub upts: usize,
    pub records_per_upt: usize,
    pub bootstrap_generate_secs: f64,
    pub bootstrap_secs: f64,
    pub bootstrap_records_per_sec: f64,
    pub hub_peak_rss_mib: f64,
    /// During the bootstrap, readers loop on these (one request every 50 ms each).
    pub storm_healthz_p50_ms: f64,
    pub storm_healthz_p99_ms: f64,
    pub storm_readyz_p50_ms: f64,
    pub storm_readyz_p99_ms: f64,
    pub storm_stats_p50_ms: f64,
    pub storm_stats_p99_ms: f64,
    pub storm_products_p50_ms: f64,
    pub storm_products_p99_ms: f64,
    pub storm_requests: usize,
    pub storm_failures: usize,
    /// Busy share of each core during the bootstrap (the whole machine: hub, agents, readers).
    pub bootstrap_core_busy_pct: Vec<f64>,
    /// CPU seconds the hub processes used during the bootstrap.
    pub bootstrap_hub_cpu_secs: f64,
    /// CPU seconds PostgreSQL's processes used during the bootstrap (0 on SQLite).
    pub bootstrap_db_cpu_secs: f64,
    pub steady_secs: f64,
    pub steady_bytes_per_upt: f64,
    pub steady_round_trips_per_upt: f64,
    /// HQ's decision on one product of every UPT, pulled by each at its next sync.
    pub decision_bytes_per_upt: f64,
    pub decision_round_trips_per_upt: f64,
    /// An idle poll after the steady state (nothing new on either side): bytes on the wire
    /// per UPT, HTTP headers included, and round trips.
    pub idle_poll_bytes_per_upt: f64,
    pub idle_poll_round_trips_per_upt: f64,
    /// Idle polls (no-op syncs) answered per second, every UPT at once over every process.
    pub idle_polls_per_sec: f64,
    pub naive_full_upload_bytes_per_upt: f64,
    pub naive_over_incremental: f64,
    pub slow_incremental_secs: f64,
    pub slow_incremental_floor_secs: f64,
    pub slow_incremental_ratio: f64,
    pub slow_incremental_bytes: u64,
    pub slow_incremental_round_trips: u32,
    pub slow_bootstrap_secs: f64,
    pub slow_bootstrap_floor_secs: f64,
    pub slow_bootstrap_ratio: f64,
    pub slow_bootstrap_bytes: u64,
    pub slow_bootstrap_round_trips: u32,
    /// Offline backlogs drained over the thin link (see [`Options::backlog_kb`]).
    pub backlogs: Vec<BacklogRun>,
    pub idle_syncs_per_sec: f64,
    pub agent_idle_rss_mib: f64,
    /// The part of it that is the agent's own memory (anonymous pages): the rest is the
    /// binary's code and data mapped from the file, shared and reclaimable, which grows with
    /// the size of this benchmark binary (hub, agent and simulation in one).
    pub agent_idle_anon_mib: f64,
    pub converged: bool,
    pub hub_products: i64,
    pub expected_products: i64,
    /// One token's trickles against everyone else's syncs (see [`Options::abuse`]).
    pub abuse: Option<crate::abuse::AbuseRun>,
    /// The hub SIGKILLed during syncs (see [`Options::hub_kills`]).
    pub kills: Option<KillRun>,
    /// Bytes on the wire of the bootstrap (every UPT's first sync), for the rebuild's ratio.
    pub bootstrap_bytes: u64,
    /// HQ lost and rebuilt from the agents (SQLite runs).
    pub rebuild: Option<RebuildRun>,
    /// A photo over the slow link that drops (see [`Options::photo_kb`]).
    pub photo: Option<PhotoRun>,
    /// The one sync after an offline spell (see [`Options::offline_edits`]).
    pub offline: Option<crate::offline::OfflineSpell>,
    /// The curators' dashboard on the national hub (see [`Options::dashboard_samples`]).
    pub dashboard: Option<crate::dashboard_bench::DashboardRun>,
    /// Products the Kanwils verified before the dashboard scenario (HQ's queue).
    pub verified: usize,
}

/// One photo (and its thumbnail) uploaded over the slow link while the link drops, with a
/// record edited during the upload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhotoRun {
    /// Photos (each with its thumbnail), and uploads at once.
    pub photos: usize,
    pub lanes: usize,
    /// The blobs' bytes (photos and thumbnails).
    pub blob_bytes: u64,
    pub secs: f64,
    /// The link's floor: the blobs' bytes ÷ its bandwidth, and the time over it.
    pub link_floor_secs: f64,
    pub link_ratio: f64,
    /// Bytes ÷ bandwidth + requests × RTT + one RTT per link drop.
    pub floor_secs: f64,
    pub ratio: f64,
    /// Bytes sent up the link (HTTP headers included), and that over the blobs' bytes.
    pub bytes_up: u64,
    pub bytes_ratio: f64,
    pub requests: u64,
    pub drops: u64,
    pub completed: bool,
    /// From the record's edit to its sync finishing at the hub, and whether that came
    /// before the photo was done.
    pub record_secs: f64,
    pub record_before_photo: bool,
    /// Seconds spent waiting on the service's backoff after cut rounds (in [`Self::secs`]).
    #[serde(default)]
    pub backoff_secs: f64,
}

/// HQ lost: the hub's database gone, a new one started in rebuild mode with the exported
/// key, and every agent's next sync (signed with its own key) bringing its UPT back.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RebuildRun {
    pub upts: usize,
    /// Bytes per UPT of offering the agents' keys once (the registry's one-time cost).
    pub key_registration_bytes_per_upt: f64,
    /// From the new hub's start until every UPT's documents and decisions are back.
    pub secs: f64,
    /// Sync passes over all UPTs it took (an agent whose key the registry did not list yet
    /// comes back at the next).
    pub passes: usize,
    pub bytes: u64,
    /// `bytes` over the original bootstrap's.
    pub bytes_ratio: f64,
    /// Records (products, sales, trainings, participants) at the lost hub and back.
    pub records_before: i64,
    pub records_back: i64,
    pub decisions_before: i64,
    pub decisions_back: i64,
    pub upts_back: usize,
}

/// The hub killed again and again while agents add products and sync.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KillRun {
    pub kills: usize,
    pub secs: f64,
    /// Products whose sync the hub acknowledged (an OK reply after they were stored).
    pub acknowledged: usize,
    /// Of those, missing from the hub's database after the last kill (must be 0).
    pub lost: usize,
    /// `PRAGMA integrity_check` after the last kill.
    pub integrity_ok: bool,
    /// Every agent's products at the hub after one more sync each, with the hub up.
    pub converged: bool,
}

/// One simulated UPT: its replica, as an agent keeps it.
pub struct Replica {
    pub upt: String,
    pub store: Store,
    pub peer: String,
    pub products: Vec<String>,
    pub token: String,
}

/// Records per change while generating: about one spreadsheet import or a few commands (records
/// arrive the way operators make them, so a document has a history of many small changes).
const BATCH: usize = 10;

fn upt_code(i: usize) -> String {
    format!("SIM-{i:04}")
}

/// The record mix of one UPT: 30 % products, 50 % sales, 5 % trainings, 15 % enrolments.
pub fn generate(upt: &str, records: usize, token: String) -> Replica {
    let store =
        Store::open_in_memory(Some(karya_agent::identity::SCHEMA)).expect("in-memory store");
    generate_in(store, upt, records, token)
}

/// One record of a generated UPT.
pub enum Rec {
    Product(karya_shared::model::Product),
    Sale(Sale),
    Training(karya_shared::model::Training),
    Participant(Participant),
}

/// [`generate`] into `store` (a file, say).
pub fn generate_in(store: Store, upt: &str, records: usize, token: String) -> Replica {
    let (recs, products) = records_of(upt, records);
    write_records(&store, upt, &recs, BATCH);
    Replica {
        upt: upt.to_string(),
        store,
        peer: new_id(),
        products,
        token,
    }
}

/// Writes `recs` into `upt`'s document of `store`, `batch` records per change.
pub fn write_records<B: karya_shared::store::Backend>(
    store: &karya_shared::store::Replica<B>,
    upt: &str,
    recs: &[Rec],
    batch: usize,
) {
    let doc = DocId::Upt(upt.to_string());
    for batch in recs.chunks(batch.max(1)) {
        store
            .change(&doc, |d| {
                for rec in batch {
                    match rec {
                        Rec::Product(p) => schema::insert_product(d, p)?,
                        Rec::Sale(s) => schema::insert_sale(d, s)?,
                        Rec::Training(t) => schema::insert_training(d, t)?,
                        Rec::Participant(p) => schema::upsert_participant(d, p)?,
                    }
                }
                Ok(())
            })
            .expect("generate records");
    }
}

/// The records of one UPT (see [`generate`]) and its products' ids.
pub fn records_of(upt: &str, records: usize) -> (Vec<Rec>, Vec<String>) {
    let n_products = (records * 30 / 100).max(1);
    let n_trainings = (records * 5 / 100).max(1);
    let n_participants = records * 15 / 100;
    let n_sales = records.saturating_sub(n_products + n_trainings + n_participants);
    let now = now_rfc3339();
    let cats = karya_shared::model::product_category_slugs();
    let mut products = Vec::with_capacity(n_products);
    let secret = b"simulated-upt-secret";
    let mut recs = Vec::with_capacity(records);
    for i in 0..n_products {
        let p = records::NewProduct {
            fields: karya_shared::model::ProductPatch {
                name: Some(format!("Produk {upt} {i}")),
                category: Some(cats[i % cats.len()].to_string()),
                price_idr: Some(10_000 + (i as i64 % 50) * 5_000),
                workshop: Some(format!("Bengkel {}", i % 5)),
                nominated: Some(i % 10 == 0),
                ..Default::default()
            },
            stock: (i as i64 % 40) + 1,
        }
        .into_product();
        let mut p = p;
        if i % 10 == 0 {
            // One product in ten has a photo (the record names it; the bytes are blobs,
            // measured in the photo scenario).
            let h = karya_agent::photos::hash_of(p.id.as_bytes());
            let t = karya_agent::photos::hash_of(h.as_bytes());
            p.photos.push(karya_shared::model::Photo {
                hash: h,
                size: 240_000,
                width: 1600,
                height: 1200,
                thumb: t,
                thumb_size: 24_000,
                caption: String::new(),
            });
        }
        products.push(p.id.to_string());
        recs.push(Rec::Product(p));
    }
    let mut trainings = Vec::new();
    for i in 0..n_trainings {
        let t = records::NewTraining {
            program: format!("Pelatihan {i}"),
            category: "menjahit".into(),
            start: time::macros::date!(2026 - 01 - 05),
            end: time::macros::date!(2026 - 02 - 05),
            hours: 40,
            partner: "BLK".into(),
            instructor: String::new(),
            capacity: 20,
            scheme: String::new(),
        }
        .into_training();
        trainings.push(t.id.clone());
        recs.push(Rec::Training(t));
    }
    for i in 0..n_sales {
        recs.push(Rec::Sale(Sale {
            id: new_id().into(),
            product_id: products[i % products.len()].clone().into(),
            date: time::Date::from_calendar_date(
                2026,
                time::Month::try_from((i % 12 + 1) as u8).expect("month"),
                (i % 28 + 1) as u8,
            )
            .expect("date"),
            quantity: (i as i64 % 5) + 1,
            revenue_idr: ((i as i64 % 5) + 1) * 25_000,
            channel: karya_shared::model::SaleChannel::Toko,
            created_at: now.clone(),
            stock_taken: Default::default(),
        }));
    }
    for i in 0..n_participants {
        recs.push(Rec::Participant(Participant {
            training_id: trainings[i % trainings.len()].clone(),
            pseudonym: pseudonym::pseudonym(secret, &format!("{upt}-{i}")),
            enrolled_at: "2026-01-05".into(),
            hours_attended: (i as i64 % 40),
            status: if i % 3 == 0 {
                karya_shared::model::ParticipantStatus::Completed
            } else {
                karya_shared::model::ParticipantStatus::Enrolled
            },
            certificate: String::new(),
        }));
    }
    (recs, products)
}

/// The hub in its own process (this binary with `--role hub`), so its memory is its own.
pub struct HubChild {
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
}

impl HubChild {
    pub fn start(exe: &Path, db: &Path) -> HubChild {
        Self::start_on(exe, db, "127.0.0.1:0")
    }

    /// A hub listening on `listen` (a fixed address, to restart it where agents know it).
    pub fn start_on(exe: &Path, db: &Path, listen: &str) -> HubChild {
        let mut command = Command::new(exe);
        command
            .args(["--role", "hub", "--listen", listen, "--db"])
            .arg(db);
        if let Some(blobs) = PG_BLOBS
            .get()
            .filter(|_| karya_shared::store::is_postgres_url(&db.to_string_lossy()))
        {
            command.arg("--data-dir").arg(blobs);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the hub process");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("hub prints its address");
        let addr = line
            .trim()
            .strip_prefix("LISTEN ")
            .expect("LISTEN line")
            .parse()
            .expect("address");
        HubChild {
            addr,
            pid: child.id(),
            child,
        }
    }

    pub fn peak_rss_mib(&self) -> f64 {
        proc_status_kib(self.pid, "VmHWM") as f64 / 1024.0
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for HubChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Syncs every replica, the groups spread over the hub processes at `urls` in turn.
async fn sync_spread(
    replicas: &mut [Replica],
    urls: &[String],
    concurrency: usize,
) -> Vec<karya_shared::session::Outcome> {
    sync_spread_as(replicas, urls, concurrency, Auth::Token).await
}

/// How the replicas of [`sync_spread_as`] authenticate.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// The UPT's token, as ever.
    Token,
    /// The token, offering each replica's key (by index) to the registry.
    Announce(&'a [karya_shared::agentkey::SigningKey]),
    /// Each replica's key only (a rebuilt hub knows no tokens).
    Key(&'a [karya_shared::agentkey::SigningKey]),
}

async fn sync_spread_as(
    replicas: &mut [Replica],
    urls: &[String],
    concurrency: usize,
    auth: Auth<'_>,
) -> Vec<karya_shared::session::Outcome> {
    let chunk = replicas.len().div_ceil(concurrency.max(1)).max(1);
    let mut outcomes = Vec::new();
    // Scoped borrows of disjoint chunks, each driven by its own future on this runtime.
    let futures = replicas.chunks_mut(chunk).enumerate().map(|(g, group)| {
        let url = urls[g % urls.len()].clone();
        async move {
            let mut out = Vec::new();
            for (i, r) in group.iter_mut().enumerate() {
                let client = HubClient::new(&url, &r.token, Duration::from_secs(300));
                let client = match auth {
                    Auth::Token => client,
                    Auth::Announce(keys) => {
                        client.with_key(&r.upt, keys[g * chunk + i].clone(), false, true)
                    }
                    Auth::Key(keys) => {
                        client.with_key(&r.upt, keys[g * chunk + i].clone(), true, false)
                    }
                };
                let docs = DocId::for_agent(&r.upt);
                // A busy hub's 503 is retried after its Retry-After, as the agent's service
                // does; anything else ends the run.
                let mut tries = 0;
                let o = loop {
                    match sync_once(&r.store, &client, &r.peer, docs.clone()).await {
                        // As the agent's service does: a hub being rebuilt that took the
                        // registry first takes the rest at once.
                        Ok(o) if o.refused.iter().any(|x| x.code() == Some("unknown_key")) => {
                            match sync_once(&r.store, &client, &r.peer, docs.clone()).await {
                                Ok(o) => break o,
                                Err(e) => panic!("sync of {} failed: {e}", r.upt),
                            }
                        }
                        Ok(o) => break o,
                        Err(karya_agent::client::SyncError::Server {
                            status: 503,
                            retry_after,
                            ..
                        }) if tries < 20 => {
                            tries += 1;
                            tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1))).await;
                        }
                        Err(e) => panic!("sync of {} failed: {e}", r.upt),
                    }
                };
                out.push(o);
            }
            out
        }
    });
    for o in futures_join(futures).await {
        outcomes.extend(o);
    }
    outcomes
}

/// Joins futures concurrently on the current task (they borrow the replicas, so they are not
/// spawned).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Registers the simulated UPTs at the hub and returns their agent tokens and a viewer token.
fn register(db: &Path, upts: usize) -> (Vec<String>, String) {
    let config = karya_hub::Config {
        db: db.to_path_buf(),
        ..Default::default()
    };
    let db = karya_hub::db::HubDb::open(&config, karya_hub::db::Create::IfMissing).expect("hub db");
    let upts: Vec<_> = (0..upts)
        .map(|i| {
            karya_shared::model::UptInfo::new(
                &upt_code(i),
                &format!("Lapas Simulasi {i}"),
                karya_shared::model::UptType::Lapas,
                &format!("Kanwil {}", i % 33),
            )
        })
        .collect();
    let tokens = db
        .register_upts(&upts, false)
        .expect("register")
        .into_iter()
        .map(|(_, token)| token.expect("a new UPT gets a token"))
        .collect();
    let (_, viewer) = db
        .issue_token(&karya_hub::auth::Role::Viewer, "karya-sim readers")
        .expect("viewer token");
    (tokens, viewer)
}

/// A curator token of HQ's (no Kanwil), issued at the hub's database.
fn issue_curator(db: &Path) -> String {
    let config = karya_hub::Config {
        db: db.to_path_buf(),
        ..Default::default()
    };
    let db = karya_hub::db::HubDb::open(&config, karya_hub::db::Create::No).expect("hub db");
    db.issue_token(&karya_hub::auth::Role::Curator, "karya-sim kurator")
        .expect("curator token")
        .1
}

fn generate_all(upts: usize, records: usize, tokens: &[String]) -> Vec<Replica> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let per = upts.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..upts)
            .collect::<Vec<_>>()
            .chunks(per)
            .map(|ids| {
                let ids = ids.to_vec();
                s.spawn(move || {
                    ids.into_iter()
                        .map(|i| generate(&upt_code(i), records, tokens[i].clone()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect()
    })
}

pub async fn run(opts: &Options, exe: &Path, work: &Path) -> Report {
    let mut report = Report {
        store: opts.store.clone(),
        hub_processes: opts.hub_processes.max(1),
        upts: opts.upts,
        records_per_upt: opts.records,
        ..Default::default()
    };
    // PostgreSQL: a server of the run's own, with its default durability (a commit waits
    // for its WAL on disk, as SQLite's FULL does).
    let pg = (opts.store == "postgres")
        .then(|| crate::pg::PgServer::start_with(crate::pg::Durability::Default));
    let db = match &pg {
        Some(server) => {
            let _ = PG_BLOBS.set(work.join("hub.blobs"));
            std::path::PathBuf::from(server.create_database("hub"))
        }
        None => work.join("hub.db"),
    };
    // Extra UPTs for the slow-link bootstrap and the photo scenario.
    let (tokens, viewer) = register(&db, opts.upts + 2);
    let hub = HubChild::start(exe, &db);
    let proxy = Proxy::start(hub.addr, Link::default())
        .await
        .expect("proxy");
    // More processes on the same database, each behind a counting proxy of its own.
    let others: Vec<HubChild> = (1..opts.hub_processes.max(1))
        .map(|_| HubChild::start(exe, &db))
        .collect();
    let mut proxies = vec![proxy];
    for other in &others {
        proxies.push(
            Proxy::start(other.addr, Link::default())
                .await
                .expect("proxy"),
        );
    }
    let urls: Vec<String> = proxies.iter().map(|p| p.url()).collect();
    let hub_pids: Vec<u32> = std::iter::once(hub.pid)
        .chain(others.iter().map(|o| o.pid))
        .collect();
    let reset = |proxies: &[Proxy]| proxies.iter().for_each(|p| p.counters.reset());
    let total = |proxies: &[Proxy]| proxies.iter().map(|p| p.counters.total()).sum::<u64>();

    // 1. Bootstrap.
    eprintln!(
        "generating {} UPTs x {} records ...",
        opts.upts, opts.records
    );
    let t = Instant::now();
    let mut replicas = generate_all(opts.upts, opts.records, &tokens);
    report.bootstrap_generate_secs = t.elapsed().as_secs_f64();
    eprintln!("bootstrap: syncing into an empty hub, with readers on health, stats, a page ...");
    let storm = Storm::start(&format!("http://{}", hub.addr), &viewer);
    let hubs_cpu = || hub_pids.iter().map(|p| process_cpu_ticks(*p)).sum::<u64>();
    // PostgreSQL's processes: only the run's own server's matter (another test's servers
    // may come and go meanwhile on a machine running tests).
    let db_cpu = || {
        pg.as_ref()
            .and_then(|s| s.postmaster_pid())
            .map_or(0, postgres_cpu_ticks)
    };
    let cpu_before = (core_ticks(), hubs_cpu(), db_cpu());
    reset(&proxies);
    let t = Instant::now();
    sync_spread(&mut replicas, &urls, opts.concurrency).await;
    report.bootstrap_secs = t.elapsed().as_secs_f64();
    report.bootstrap_bytes = total(&proxies);
    let cpu_after = (core_ticks(), hubs_cpu(), db_cpu());
    // Processes that ended meanwhile take their ticks with them: never below zero.
    report.bootstrap_db_cpu_secs =
        cpu_after.2.saturating_sub(cpu_before.2) as f64 / clock_ticks_per_sec();
    storm.finish(&mut report).await;
    report.bootstrap_core_busy_pct = cpu_before
        .0
        .iter()
        .zip(&cpu_after.0)
        .map(|((b0, t0), (b1, t1))| 100.0 * (b1 - b0) as f64 / (t1 - t0).max(1) as f64)
        .collect();
    report.bootstrap_hub_cpu_secs = (cpu_after.1 - cpu_before.1) as f64 / clock_ticks_per_sec();
    report.bootstrap_records_per_sec = (opts.upts * opts.records) as f64 / report.bootstrap_secs;
    report.hub_peak_rss_mib = hub.peak_rss_mib();

    // 2. Steady state: k edits per UPT, then everyone syncs.
    eprintln!("steady state ...");
    let now = now_rfc3339();
    for (i, r) in replicas.iter_mut().enumerate() {
        let doc = DocId::Upt(r.upt.clone());
        for k in 0..opts.edits {
            let id = r.products[(i + k) % r.products.len()].clone();
            let patch = ProductPatch {
                price_idr: Some(20_000 + k as i64),
                ..Default::default()
            };
            r.store
                .change(&doc, |d| schema::edit_product(d, &id, &patch, &now))
                .expect("edit");
        }
    }
    reset(&proxies);
    let t = Instant::now();
    let outcomes = sync_spread(&mut replicas, &urls, opts.concurrency).await;
    report.steady_secs = t.elapsed().as_secs_f64();
    report.steady_bytes_per_upt = total(&proxies) as f64 / opts.upts as f64;
    report.steady_round_trips_per_upt =
        outcomes.iter().map(|o| o.round_trips as f64).sum::<f64>() / opts.upts.max(1) as f64;
    // An idle poll: everyone syncs again with nothing new anywhere.
    reset(&proxies);
    let t = Instant::now();
    let outcomes = sync_spread(&mut replicas, &urls, opts.concurrency).await;
    report.idle_polls_per_sec = opts.upts as f64 / t.elapsed().as_secs_f64();
    report.idle_poll_bytes_per_upt = total(&proxies) as f64 / opts.upts as f64;
    report.idle_poll_round_trips_per_upt =
        outcomes.iter().map(|o| o.round_trips as f64).sum::<f64>() / opts.upts.max(1) as f64;
    // The naive way: upload the whole document (Automerge's compressed save) each time, with
    // the same HTTP overhead as a sync request.
    let headers = 250.0;
    report.naive_full_upload_bytes_per_upt = replicas
        .iter_mut()
        .map(|r| {
            r.store
                .with_doc(&DocId::Upt(r.upt.clone()), |d| d.save().len())
                .expect("doc") as f64
                + headers
        })
        .sum::<f64>()
        / opts.upts.max(1) as f64;
    report.naive_over_incremental =
        report.naive_full_upload_bytes_per_upt / report.steady_bytes_per_upt.max(1.0);

    // 2b. A decision pulled: HQ decides on one product of every UPT (the API, a curator's
    // token), then every UPT syncs and takes it.
    eprintln!("a decision pulled by every UPT ...");
    let curator = issue_curator(&db);
    let http = reqwest::Client::new();
    for r in replicas.iter() {
        let r = http
            .post(format!(
                "http://{}/api/v1/curation/{}?upt={}",
                hub.addr, r.products[0], r.upt
            ))
            .bearer_auth(&curator)
            .json(&serde_json::json!({"status": "approved", "note": "Dipercepat untuk pameran"}))
            .send()
            .await
            .expect("decision");
        assert!(r.status().is_success(), "decision: {}", r.status());
    }
    reset(&proxies);
    let outcomes = sync_spread(&mut replicas, &urls, opts.concurrency).await;
    report.decision_bytes_per_upt = total(&proxies) as f64 / opts.upts as f64;
    report.decision_round_trips_per_upt =
        outcomes.iter().map(|o| o.round_trips as f64).sum::<f64>() / opts.upts.max(1) as f64;
    assert!(
        outcomes.iter().all(|o| o.changes_received >= 1),
        "every UPT took its decision"
    );

    // 2a. Abuse: one token trickles; everyone else syncs as before.
    if opts.abuse && replicas.len() > 1 {
        eprintln!("abuse: one token trickling syncs and photo parts while the others sync ...");
        let (attacker, victims) = replicas.split_at_mut(1);
        report.abuse =
            Some(crate::abuse::run(hub.addr, &attacker[0], victims, opts.concurrency).await);
    }

    // 2b. The curators' dashboard on the national hub.
    if opts.dashboard_samples > 0 {
        eprintln!("Kanwils verifying half of the nominated products ...");
        let upts: Vec<(String, Vec<String>)> = replicas
            .iter()
            .map(|r| (r.upt.clone(), r.products.clone()))
            .collect();
        let at = db.clone();
        report.verified =
            tokio::task::spawn_blocking(move || crate::dashboard_bench::verify_share(&at, &upts))
                .await
                .expect("verifications");
        // The UPTs take their Kanwils' verifications (the idle polls after find nothing new).
        sync_spread(&mut replicas, &urls, opts.concurrency).await;
        eprintln!("dashboard pages and exports ...");
        let targets = crate::dashboard_bench::Targets {
            upt: replicas[3.min(replicas.len() - 1)].upt.clone(),
            product: replicas[3.min(replicas.len() - 1)].products
                [7.min(replicas[0].products.len() - 1)]
            .clone(),
            kanwil: "Kanwil 3".into(),
            category: karya_shared::model::product_category_slugs()[0].to_string(),
        };
        report.dashboard = Some(
            crate::dashboard_bench::run(
                &format!("http://{}", hub.addr),
                &viewer,
                None,
                hub.pid,
                opts.dashboard_samples,
                &targets,
            )
            .await,
        );
    }

    // 3. Slow link: one UPT behind a satellite-like proxy.
    eprintln!("slow link ...");
    let link = Link {
        one_way_delay: Duration::from_millis(opts.slow_rtt_ms / 2),
        bytes_per_sec: opts.slow_kbps * 1000 / 8,
    };
    let rtt = Duration::from_millis(opts.slow_rtt_ms).as_secs_f64();
    let bw = link.bytes_per_sec as f64;
    let slow = Proxy::start(hub.addr, link).await.expect("slow proxy");
    {
        let r = &mut replicas[0];
        let doc = DocId::Upt(r.upt.clone());
        let id = r.products[0].clone();
        let patch = ProductPatch {
            price_idr: Some(77_000),
            ..Default::default()
        };
        r.store
            .change(&doc, |d| schema::edit_product(d, &id, &patch, &now))
            .expect("edit");
        let client = HubClient::new(&slow.url(), &r.token, Duration::from_secs(600));
        let t = Instant::now();
        let o = sync_once(&r.store, &client, &r.peer, DocId::for_agent(&r.upt))
            .await
            .expect("slow sync");
        report.slow_incremental_secs = t.elapsed().as_secs_f64();
        report.slow_incremental_bytes = slow.counters.total();
        report.slow_incremental_round_trips = o.round_trips;
        report.slow_incremental_floor_secs =
            o.round_trips as f64 * rtt + report.slow_incremental_bytes as f64 / bw;
        report.slow_incremental_ratio =
            report.slow_incremental_secs / report.slow_incremental_floor_secs;
    }
    {
        let code = upt_code(opts.upts);
        let r = generate(&code, opts.records, tokens[opts.upts].clone());
        slow.counters.reset();
        let client = HubClient::new(&slow.url(), &r.token, Duration::from_secs(600));
        let t = Instant::now();
        let o = sync_once(&r.store, &client, &r.peer, DocId::for_agent(&r.upt))
            .await
            .expect("slow bootstrap");
        report.slow_bootstrap_secs = t.elapsed().as_secs_f64();
        report.slow_bootstrap_bytes = slow.counters.total();
        report.slow_bootstrap_round_trips = o.round_trips;
        report.slow_bootstrap_floor_secs =
            o.round_trips as f64 * rtt + report.slow_bootstrap_bytes as f64 / bw;
        report.slow_bootstrap_ratio = report.slow_bootstrap_secs / report.slow_bootstrap_floor_secs;
        replicas.push(r);
    }
    drop(slow);

    // 5. Offline backlogs over a thin link with a short request timeout: each must drain in
    // parts, never sending a part twice.
    for (i, kb) in opts.backlog_kb.iter().filter(|kb| **kb > 0).enumerate() {
        eprintln!(
            "backlog of {kb} KB over {} B/s ...",
            opts.thin_bytes_per_sec
        );
        let pick = (1 + i).min(replicas.len() - 1);
        let r = &mut replicas[pick];
        let backlog = make_backlog(r, (*kb * 1000) as usize);
        let run = drain_backlog(
            r,
            hub.addr,
            backlog,
            opts.thin_bytes_per_sec,
            Duration::from_millis(opts.slow_rtt_ms),
            Duration::from_secs(opts.thin_timeout_secs),
            Duration::from_secs_f64(backlog as f64 / opts.thin_bytes_per_sec as f64 * 3.0 + 60.0),
        )
        .await;
        report.backlogs.push(run);
    }

    // 5b. An offline spell: a day's edits synced at once, against the same edits synced one by
    // one (in process: the bytes are the frames', whatever the link).
    if opts.offline_edits > 0 {
        let n = opts.offline_edits;
        let (stock, price) = (n / 8, n / 8);
        eprintln!("offline spell of {n} edits ...");
        report.offline = Some(
            tokio::task::spawn_blocking(move || {
                crate::offline::run(n - stock - price, stock, price)
            })
            .await
            .expect("offline spell"),
        );
    }

    // 4. Idle polling: no-op syncs, straight to the hub, as fast as the hub answers.
    eprintln!("idle polling ...");
    let deadline = Instant::now() + Duration::from_secs_f64(opts.idle_secs);
    let hub_url = format!("http://{}", hub.addr);
    // Spread over every hub process (straight to each, no proxy).
    let direct: Vec<String> = std::iter::once(hub.addr)
        .chain(others.iter().map(|o| o.addr))
        .map(|a| format!("http://{a}"))
        .collect();
    let n_pollers = opts.concurrency.min(replicas.len()).max(1);
    let started = Instant::now();
    let pollers = replicas
        .iter_mut()
        .take(n_pollers)
        .enumerate()
        .map(|(i, r)| {
            let url = direct[i % direct.len()].clone();
            async move {
                let client = HubClient::new(&url, &r.token, Duration::from_secs(60));
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let o = sync_once(&r.store, &client, &r.peer, DocId::for_agent(&r.upt))
                        .await
                        .expect("no-op sync");
                    debug_assert_eq!(o.changes_received, 0);
                    n += 1;
                }
                n
            }
        });
    let total: u64 = futures_join(pollers).await.into_iter().sum();
    report.idle_syncs_per_sec = total as f64 / started.elapsed().as_secs_f64();

    // 4b. A photo over the slow link that drops, with a record edited during the upload.
    if opts.photo_kb > 0 {
        eprintln!(
            "{} photo(s) of {} KB over the slow link, dropped every {} s, {} at once ...",
            opts.photos.max(1),
            opts.photo_kb,
            opts.photo_cut_secs,
            opts.upload_lanes.max(1)
        );
        report.photo = Some(
            photo_run(
                opts,
                work,
                hub.addr,
                &format!("http://{}", hub.addr),
                tokens[opts.upts + 1].clone(),
            )
            .await,
        );
    }

    // 5. Hub kills: its own database, so the figures above are not touched.
    if opts.hub_kills > 0 {
        eprintln!("killing the hub {} times during syncs ...", opts.hub_kills);
        // Its own database: a file, or a second database on the run's PostgreSQL server.
        let kills_db = match &pg {
            Some(server) => PathBuf::from(server.create_database("kills")),
            None => work.join("kills.db"),
        };
        report.kills = Some(hub_kills(exe, kills_db, opts.hub_kills).await);
    }

    // 6. Agent service idle RSS: a real service (this binary, --role agent) in its own process.
    (report.agent_idle_rss_mib, report.agent_idle_anon_mib) =
        agent_idle_rss(exe, work, &hub_url, &tokens[0], opts.agent_idle_secs);

    // 7a. The agents offer their keys (the registry's one-time cost), for the rebuild below.
    let keys: Vec<karya_shared::agentkey::SigningKey> = replicas
        .iter()
        .map(|_| karya_shared::agentkey::from_seed(&karya_shared::agentkey::new_seed()))
        .collect();
    let mut key_registration_bytes = 0;
    if pg.is_none() {
        eprintln!("the agents offer their keys ...");
        reset(&proxies);
        // The first sync offers each key, the second brings the registry that lists it.
        for _ in 0..2 {
            sync_spread_as(
                &mut replicas,
                &urls,
                opts.concurrency,
                Auth::Announce(&keys),
            )
            .await;
        }
        // And once more, as the next scheduled sync would: every agent then holds every
        // UPT's key, as it would at any time after the first day.
        sync_spread(&mut replicas, &urls, opts.concurrency).await;
        key_registration_bytes = proxies.iter().map(|p| p.counters.total()).sum::<u64>();
    }

    // Convergence: the hub's copy of every UPT document equals the replica's.
    hub.stop();
    for other in others {
        other.stop();
    }
    drop(proxies);
    let hub_db = karya_hub::db::HubDb::open(
        &karya_hub::Config {
            db: db.clone(),
            ..Default::default()
        },
        karya_hub::db::Create::No,
    )
    .expect("hub db");
    let hub_store = hub_db.replica();
    hub_store.set_cache_capacity(4);
    let mut converged = true;
    let mut expected = 0i64;
    for r in replicas.iter_mut() {
        let doc = DocId::Upt(r.upt.clone());
        let mut mine = r.store.heads(&doc).expect("heads");
        let mut theirs = hub_store.heads(&doc).expect("heads");
        mine.sort();
        theirs.sort();
        converged &= mine == theirs;
        expected += r.products.len() as i64;
    }
    report.converged = converged;
    // The photo scenario's UPT adds one product.
    report.expected_products = expected + report.photo.as_ref().map_or(0, |p| p.photos as i64);
    report.hub_products = hub_db
        .products_page(&Default::default(), None, 1)
        .map(|p| p.total)
        .unwrap_or(-1);

    // 7b. HQ lost: a new hub from the exported key takes everything back from the agents.
    if pg.is_none() {
        eprintln!("HQ lost: rebuilding the hub from the agents ...");
        let mut run = rebuild_from_agents(exe, work, &hub_db, &mut replicas, &keys, opts).await;
        run.key_registration_bytes_per_upt =
            key_registration_bytes as f64 / replicas.len().max(1) as f64;
        run.bytes_ratio = run.bytes as f64 / report.bootstrap_bytes.max(1) as f64;
        report.rebuild = Some(run);
    }
    report
}

/// Records (products, sales, trainings, participants) and decisions a hub holds.
fn hub_holds(db: &karya_hub::db::HubDb) -> (i64, i64) {
    let n = db.stats().expect("stats").national;
    (
        n.products + n.sales + n.future_dated_sales + n.trainings + n.participants,
        db.decision_count().expect("decisions"),
    )
}

/// The rebuild drill at the run's scale: the lost hub's key exported, a new database in
/// rebuild mode, and passes of every agent syncing with its own key until none is refused.
async fn rebuild_from_agents(
    exe: &Path,
    work: &Path,
    lost: &karya_hub::db::HubDb,
    replicas: &mut [Replica],
    keys: &[karya_shared::agentkey::SigningKey],
    opts: &Options,
) -> RebuildRun {
    // What the agents in the run held: a UPT without one (the photo scenario's) cannot come
    // back by itself.
    let ours: std::collections::HashSet<String> = replicas.iter().map(|r| r.upt.clone()).collect();
    let held = |db: &karya_hub::db::HubDb| -> i64 {
        db.stats()
            .expect("stats")
            .per_upt
            .iter()
            .filter(|u| ours.contains(&u.upt))
            .map(|u| {
                let f = &u.figures;
                f.products + f.sales + f.future_dated_sales + f.trainings + f.participants
            })
            .sum()
    };
    let records_before = held(lost);
    let (_, decisions_before) = hub_holds(lost);
    let heads_key = lost.heads_key().clone();
    let db = work.join("hub-rebuilt.db");
    let config = karya_hub::Config {
        db: db.clone(),
        ..Default::default()
    };
    drop(karya_hub::db::HubDb::open_for_rebuild(&config, Some(&heads_key)).expect("rebuild start"));
    let hub = HubChild::start(exe, &db);
    let proxy = Proxy::start(hub.addr, Link::default())
        .await
        .expect("proxy");
    let urls = vec![proxy.url()];
    let started = Instant::now();
    let mut passes = 0;
    loop {
        passes += 1;
        let outcomes = sync_spread_as(replicas, &urls, opts.concurrency, Auth::Key(keys)).await;
        if outcomes.iter().all(|o| o.refused.is_empty()) || passes >= 3 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = proxy.counters.total();
    hub.stop();
    let rebuilt = karya_hub::db::HubDb::open(&config, karya_hub::db::Create::No).expect("rebuilt");
    let records_back = held(&rebuilt);
    let (_, decisions_back) = hub_holds(&rebuilt);
    let upts_back = rebuilt
        .upt_rows(24)
        .expect("upts")
        .iter()
        .filter(|u| u.last_sync_at.is_some())
        .count();
    RebuildRun {
        upts: replicas.len(),
        secs,
        passes,
        bytes,
        records_before,
        records_back,
        decisions_before,
        decisions_back,
        upts_back,
        ..Default::default()
    }
}

/// Uploads one photo of `opts.photo_kb` KB (and a tenth of it as thumbnail) over the slow
/// link, which drops every `opts.photo_cut_secs`, as the agent's service does: records
/// first, then photos, each resumed where the hub's bytes end. A quarter of the way in, a
/// record is edited: it must reach the hub within one sync, before the photo is done.
async fn photo_run(
    opts: &Options,
    work: &Path,
    hub_addr: SocketAddr,
    hub_url: &str,
    token: String,
) -> PhotoRun {
    use std::sync::Arc;
    let upt = upt_code(opts.upts + 1);
    let dir = work.join("photo-agent");
    let store =
        Arc::new(Store::open_in_memory(Some(karya_agent::identity::SCHEMA)).expect("store"));
    let doc = DocId::Upt(upt.clone());
    // One product per photo; the edit mid-upload changes the first.
    let n = opts.photos.max(1);
    let products: Vec<_> = (0..n)
        .map(|i| crate::memagent::product(&format!("Meja jati ukir {i}")))
        .collect();
    let product = products[0].clone();
    store
        .change(&doc, |d| {
            products
                .iter()
                .try_for_each(|p| schema::insert_product(d, p).map(|_| ()))
        })
        .expect("products");
    // JPEGs of noise (the hub keeps only photos it can decode), about the size asked for: a
    // noise JPEG at quality 75 takes about 1.35 bytes a pixel.
    let side = |kb: u64| ((kb as f64 * 1024.0 / 1.35).sqrt() as u32).max(8);
    let mut blob_bytes = 0u64;
    for (i, p) in products.iter().enumerate() {
        let seed = rand::random::<u32>() ^ i as u32;
        let full = crate::noise_jpeg(side(opts.photo_kb), side(opts.photo_kb), seed);
        let thumb = crate::noise_jpeg(side(opts.photo_kb / 10), side(opts.photo_kb / 10), seed ^ 1);
        blob_bytes += (full.len() + thumb.len()) as u64;
        let photo = karya_shared::model::Photo {
            hash: karya_agent::photos::store_blob(&dir, &full).expect("blob"),
            size: full.len() as u64,
            width: 1600,
            height: 1200,
            thumb: karya_agent::photos::store_blob(&dir, &thumb).expect("blob"),
            thumb_size: thumb.len() as u64,
            caption: String::new(),
        };
        let patch = ProductPatch {
            photos: Some(vec![photo]),
            ..Default::default()
        };
        store
            .change(&doc, |d| {
                schema::edit_product(d, &p.id, &patch, &now_rfc3339())
            })
            .expect("photo");
    }
    let peer = new_id();
    // The record goes up first, straight to the hub.
    let direct = HubClient::new(hub_url, &token, Duration::from_secs(60));
    sync_once(&store, &direct, &peer, DocId::for_agent(&upt))
        .await
        .expect("records");

    let rtt = Duration::from_millis(opts.slow_rtt_ms);
    let bw = opts.slow_kbps * 1000 / 8;
    let proxy = Proxy::start_faulty(
        hub_addr,
        Link {
            one_way_delay: rtt / 2,
            bytes_per_sec: bw,
        },
        crate::proxy::Faults {
            cut_every: Some(Duration::from_secs(opts.photo_cut_secs.max(1))),
            ..Default::default()
        },
    )
    .await
    .expect("proxy");
    let client = HubClient::new(&proxy.url(), &token, Duration::from_secs(20));
    let started = Instant::now();
    // A quarter of the way into the upload (as the link's bandwidth says).
    let edit_after = Duration::from_secs_f64((blob_bytes as f64 / bw as f64 / 4.0).max(0.2));
    let edited = {
        let store = store.clone();
        let doc = doc.clone();
        let id = product.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(edit_after).await;
            let patch = ProductPatch {
                price_idr: Some(99_000),
                ..Default::default()
            };
            store
                .change(&doc, |d| {
                    schema::edit_product(d, &id, &patch, &now_rfc3339())
                })
                .expect("edit");
            Instant::now()
        })
    };
    let mut run = PhotoRun {
        photos: n,
        lanes: opts.upload_lanes.max(1),
        blob_bytes,
        ..Default::default()
    };
    let mut record_done = None;
    // Ten minutes, or three times the link's floor for a large backlog.
    let deadline =
        Instant::now() + Duration::from_secs_f64((blob_bytes as f64 / bw as f64 * 3.0).max(600.0));
    // The service's schedule decides when a cut round is tried again (its backoff, with
    // jitter), as it does at a UPT.
    let mut schedule = karya_agent::schedule::Schedule::new(
        karya_agent::schedule::Timings::of(&karya_agent::config::Timing::default()),
        karya_agent::schedule::Phase::Idle,
        tokio::time::Instant::now(),
    );
    while Instant::now() < deadline {
        schedule.start(rand::random::<f64>());
        let up =
            karya_agent::uploads::upload_photos_with(&store, &dir, &upt, &client, None, run.lanes)
                .await
                .expect("upload");
        if karya_agent::status::pending_changes(&store, &upt).unwrap_or(0) > 0 {
            // A record waits: the sync carries it (retried through the drops).
            if sync_once(&store, &client, &peer, DocId::for_agent(&upt))
                .await
                .is_ok()
            {
                record_done = Some((Instant::now(), up.waiting > 0));
            }
            continue;
        }
        if up.waiting == 0 && up.interrupted.is_none() {
            run.completed = true;
            break;
        }
        if up.interrupted.is_some() {
            let outcome = karya_shared::session::Outcome {
                photos_interrupted: up.interrupted.clone(),
                photos_sent: up.sent,
                photo_bytes: up.bytes,
                photos_waiting: up.waiting,
                ..Default::default()
            };
            let next = schedule.finish(tokio::time::Instant::now(), Ok(&outcome));
            run.backoff_secs += next
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs_f64();
            tokio::time::sleep_until(next).await;
        }
    }
    run.secs = started.elapsed().as_secs_f64();
    let edited_at = edited.await.expect("edit task");
    if let Some((at, before)) = record_done {
        run.record_secs = at.saturating_duration_since(edited_at).as_secs_f64();
        run.record_before_photo = before;
    }
    run.bytes_up = proxy.counters.up.load(std::sync::atomic::Ordering::Relaxed);
    run.drops = proxy
        .counters
        .drops
        .load(std::sync::atomic::Ordering::Relaxed);
    run.requests = client.requests();
    run.bytes_ratio = run.bytes_up as f64 / run.blob_bytes.max(1) as f64;
    run.floor_secs =
        run.bytes_up as f64 / bw as f64 + (run.requests + run.drops) as f64 * rtt.as_secs_f64();
    run.ratio = run.secs / run.floor_secs.max(0.001);
    run.link_floor_secs = run.blob_bytes as f64 / bw as f64;
    run.link_ratio = run.secs / run.link_floor_secs.max(0.001);
    run
}

/// SIGKILLs the hub `kills` times while five agents add a product and sync, over and over;
/// then checks what the hub acknowledged against its database.
async fn hub_kills(exe: &Path, db: PathBuf, kills: usize) -> KillRun {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex, atomic::AtomicBool, atomic::Ordering::Relaxed};
    let (tokens, _) = register(&db, 5);
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let url = format!("http://{addr}");
    let started = Instant::now();
    let mut hub = Some(HubChild::start_on(exe, &db, &addr));
    let acknowledged: Arc<Mutex<BTreeSet<String>>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let r = generate(&upt_code(i), 10, token.clone());
        let (url, acknowledged, stop) = (url.clone(), acknowledged.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let client = HubClient::new(&url, &r.token, Duration::from_secs(5));
            let doc = DocId::Upt(r.upt.clone());
            let mut pending = r.products.clone();
            while !stop.load(Relaxed) {
                let p = crate::memagent::product("Produk");
                r.store
                    .change(&doc, |d| schema::insert_product(d, &p))
                    .expect("add");
                pending.push(p.id.to_string());
                let docs = DocId::for_agent(&r.upt);
                if sync_once(&r.store, &client, &r.peer, docs).await.is_ok() {
                    acknowledged.lock().expect("lock").extend(pending.drain(..));
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            r
        }));
    }
    for i in 0..kills {
        tokio::time::sleep(Duration::from_millis(80 + (i as u64 * 37) % 150)).await;
        if let Some(h) = hub.take() {
            h.kill();
        }
        hub = Some(HubChild::start_on(exe, &db, &addr));
    }
    stop.store(true, Relaxed);
    let mut replicas = Vec::new();
    for w in workers {
        replicas.push(w.await.expect("worker"));
    }
    if let Some(h) = hub.take() {
        h.kill();
    }
    let mut run = KillRun {
        kills,
        secs: started.elapsed().as_secs_f64(),
        ..Default::default()
    };
    let acknowledged = acknowledged.lock().expect("lock").clone();
    run.acknowledged = acknowledged.len();
    let open = || {
        karya_shared::store::AnyStore::open_any(
            &db.to_string_lossy(),
            None,
            Some(karya_hub::db::PG_SCHEMA),
            2,
        )
        .expect("open")
    };
    {
        let store = open();
        run.integrity_ok = match store.backend() {
            karya_shared::store::AnyBackend::Sqlite(b) => b
                .read(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)))
                .is_ok_and(|c| c == "ok"),
            // PostgreSQL checks its own pages; what is ours to check: every document loads.
            karya_shared::store::AnyBackend::Postgres(_) => store
                .doc_ids()
                .is_ok_and(|ids| ids.iter().all(|id| store.with_doc(id, |_| ()).is_ok())),
        };
        let at_hub: BTreeSet<String> = store
            .backend()
            .read(|c| c.query_map("SELECT id FROM products", rusqlite::params![], |r| r.get(0)))
            .map(|ids| ids.into_iter().collect())
            .unwrap_or_default();
        run.lost = acknowledged.difference(&at_hub).count();
    }
    let hub = HubChild::start_on(exe, &db, &addr);
    for r in replicas.iter_mut() {
        let client = HubClient::new(&url, &r.token, Duration::from_secs(60));
        let docs = DocId::for_agent(&r.upt);
        if sync_once(&r.store, &client, &r.peer, docs).await.is_err() {
            run.converged = false;
            hub.stop();
            return run;
        }
    }
    hub.stop();
    let store = open();
    run.converged = replicas.iter().all(|r| {
        let mine: i64 = r
            .store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM products WHERE upt = ?1",
                [&r.upt],
                |x| x.get(0),
            )
            .unwrap_or(-1);
        let theirs: i64 = store
            .backend()
            .read(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM products WHERE upt = ?1",
                    [&r.upt],
                    |x| x.get(0),
                )
            })
            .unwrap_or(-2);
        mine == theirs
    });
    run
}

/// (VmRSS, RssAnon) of an idle agent service, in MiB.
fn agent_idle_rss(
    exe: &Path,
    work: &Path,
    hub_url: &str,
    token: &str,
    idle_secs: f64,
) -> (f64, f64) {
    let dir = work.join("agent");
    let init = Command::new(exe)
        .args(["--role", "agent-init", "--data-dir"])
        .arg(&dir)
        .args(["--hub", hub_url, "--token", token, "--upt", &upt_code(0)])
        .status();
    if !matches!(init, Ok(s) if s.success()) {
        return (f64::NAN, f64::NAN);
    }
    let Ok(mut child) = Command::new(exe)
        .args(["--role", "agent", "--data-dir"])
        .arg(&dir)
        .stderr(Stdio::null())
        .spawn()
    else {
        return (f64::NAN, f64::NAN);
    };
    std::thread::sleep(Duration::from_secs_f64(idle_secs));
    let rss = proc_status_kib(child.id(), "VmRSS") as f64 / 1024.0;
    let anon = proc_status_kib(child.id(), "RssAnon") as f64 / 1024.0;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    (rss, anon)
}

/// Readers during the bootstrap: monitors on /healthz and /readyz, a dashboard on /api/v1/stats and a
/// curator paging the catalogue, each one request every 50 ms, latencies recorded.
struct Storm {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(String, Vec<f64>, usize)>>,
}

impl Storm {
    fn start(base: &str, token: &str) -> Storm {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = [
            "/healthz",
            "/readyz",
            "/api/v1/stats",
            "/api/v1/products?limit=100",
        ]
        .into_iter()
        .map(|path| {
            let url = format!("{base}{path}");
            let token = token.to_string();
            let stop = stop.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client");
                let (mut lat, mut failures) = (Vec::new(), 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    match http.get(&url).bearer_auth(&token).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => failures += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (url, lat, failures)
            })
        })
        .collect();
        Storm { stop, tasks }
    }

    async fn finish(self, report: &mut Report) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.tasks {
            let (url, mut lat, failures) = task.await.expect("reader task");
            lat.sort_by(f64::total_cmp);
            let q = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            let (p50, p99) = (q(0.50), q(0.99));
            report.storm_requests += lat.len() + failures;
            report.storm_failures += failures;
            if url.ends_with("/healthz") {
                (report.storm_healthz_p50_ms, report.storm_healthz_p99_ms) = (p50, p99);
            } else if url.ends_with("/readyz") {
                (report.storm_readyz_p50_ms, report.storm_readyz_p99_ms) = (p50, p99);
            } else if url.contains("/stats") {
                (report.storm_stats_p50_ms, report.storm_stats_p99_ms) = (p50, p99);
            } else {
                (report.storm_products_p50_ms, report.storm_products_p99_ms) = (p50, p99);
            }
        }
    }
}

/// (busy, total) clock ticks of each core, from /proc/stat.
fn core_ticks() -> Vec<(u64, u64)> {
    std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// utime + stime of a process, in clock ticks.
fn process_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after it are fixed.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// CPU ticks of one PostgreSQL server: its postmaster and every process it started (the
/// hubs' backends among them). Other servers on the machine (other tests') are not counted:
/// their processes ending meanwhile would take ticks off the sum.
fn postgres_cpu_ticks(postmaster: u32) -> u64 {
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        after.split_whitespace().nth(1)?.parse().ok()
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid == postmaster || parent(*pid) == Some(postmaster))
        .map(process_cpu_ticks)
        .sum()
}

fn clock_ticks_per_sec() -> f64 {
    // USER_HZ is 100 on every Linux this runs on.
    100.0
}

/// The simulation's work directory: a temporary one, removed at the end; or, with
/// `KARYA_SIM_KEEP=DIR`, a new directory inside DIR that is kept (the national hub's database
/// to look at afterwards).
pub fn work_dir() -> (tempfile::TempDir, PathBuf) {
    let keep = std::env::var_os("KARYA_SIM_KEEP");
    let mut builder = tempfile::Builder::new();
    builder.prefix("karya-sim-").disable_cleanup(keep.is_some());
    let dir = match &keep {
        Some(parent) => builder.tempdir_in(parent),
        None => builder.tempdir(),
    }
    .expect("temp dir");
    let path = dir.path().to_path_buf();
    if keep.is_some() {
        eprintln!("work directory (kept): {}", path.display());
    }
    (dir, path)
}

pub fn print_table(r: &Report, opts: &Options) {
    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    // Targets are the store's: on PostgreSQL the bootstrap is measured against SQLite's time
    // (a run of its own, so compared by whoever ran both) and no-op syncs across 3 processes.
    let postgres = r.store == "postgres";
    let bootstrap_target = if postgres {
        "<= 1.5x SQLite's run".to_string()
    } else {
        format!("<= 30 s ({})", ok(r.bootstrap_secs <= 30.0))
    };
    let idle_target = match (postgres, r.hub_processes) {
        (false, _) => format!(">= 2500 ({})", ok(r.idle_syncs_per_sec >= 2500.0)),
        (true, 3) => format!(">= 1500 ({})", ok(r.idle_syncs_per_sec >= 1500.0)),
        (true, _) => ">= 1500 with 3 processes".to_string(),
    };
    println!(
        "karya-sim: {} UPTs x {} records, {} edit(s) per UPT, concurrency {}, store {}, {} hub process(es)",
        r.upts, r.records_per_upt, opts.edits, opts.concurrency, r.store, r.hub_processes
    );
    println!("{:<44} {:>14}  {:<22} ", "figure", "value", "target");
    let mut rows: Vec<(String, String, String)> = vec![
        (
            "bootstrap: time to get every doc on the hub".into(),
            format!("{:.1} s", r.bootstrap_secs),
            bootstrap_target,
        ),
        (
            "storm: /healthz p50 / p99".into(),
            format!(
                "{:.1} / {:.1} ms",
                r.storm_healthz_p50_ms, r.storm_healthz_p99_ms
            ),
            format!("p99 <= 50 ms ({})", ok(r.storm_healthz_p99_ms <= 50.0)),
        ),
        (
            "storm: /readyz p50 / p99".into(),
            format!(
                "{:.1} / {:.1} ms",
                r.storm_readyz_p50_ms, r.storm_readyz_p99_ms
            ),
            format!("p99 <= 50 ms ({})", ok(r.storm_readyz_p99_ms <= 50.0)),
        ),
        (
            "storm: products page p50 / p99".into(),
            format!(
                "{:.1} / {:.1} ms",
                r.storm_products_p50_ms, r.storm_products_p99_ms
            ),
            format!("p99 <= 200 ms ({})", ok(r.storm_products_p99_ms <= 200.0)),
        ),
        (
            "storm: /api/v1/stats p50 / p99".into(),
            format!(
                "{:.1} / {:.1} ms",
                r.storm_stats_p50_ms, r.storm_stats_p99_ms
            ),
            String::new(),
        ),
        (
            "storm: reader requests (failed)".into(),
            format!("{} ({})", r.storm_requests, r.storm_failures),
            String::new(),
        ),
        (
            "bootstrap: busy per core".into(),
            r.bootstrap_core_busy_pct
                .iter()
                .map(|p| format!("{p:.0}%"))
                .collect::<Vec<_>>()
                .join(" "),
            String::new(),
        ),
        (
            "bootstrap: hub CPU time".into(),
            format!("{:.1} s", r.bootstrap_hub_cpu_secs),
            String::new(),
        ),
        (
            "bootstrap: PostgreSQL CPU time".into(),
            format!("{:.1} s", r.bootstrap_db_cpu_secs),
            String::new(),
        ),
        (
            "bootstrap: records per second".into(),
            format!("{:.0}", r.bootstrap_records_per_sec),
            String::new(),
        ),
        (
            "bootstrap: hub peak RSS".into(),
            format!("{:.0} MiB", r.hub_peak_rss_mib),
            format!("<= 150 MiB ({})", ok(r.hub_peak_rss_mib <= 150.0)),
        ),
        (
            "steady: total time".into(),
            format!("{:.2} s", r.steady_secs),
            String::new(),
        ),
        (
            "steady: bytes on the wire per UPT".into(),
            format!("{:.0} B", r.steady_bytes_per_upt),
            format!("<= 3000 B ({})", ok(r.steady_bytes_per_upt <= 3000.0)),
        ),
        (
            "steady: HTTP round trips per UPT".into(),
            format!("{:.2}", r.steady_round_trips_per_upt),
            format!("<= 2 ({})", ok(r.steady_round_trips_per_upt <= 2.0)),
        ),
        (
            "idle poll: bytes on the wire per UPT".into(),
            format!("{:.0} B", r.idle_poll_bytes_per_upt),
            format!("<= 400 B ({})", ok(r.idle_poll_bytes_per_upt <= 400.0)),
        ),
        (
            "idle poll: HTTP round trips per UPT".into(),
            format!("{:.2}", r.idle_poll_round_trips_per_upt),
            format!("<= 1 ({})", ok(r.idle_poll_round_trips_per_upt <= 1.0)),
        ),
        (
            "idle poll: no-op syncs answered per second".into(),
            format!("{:.0}/s", r.idle_polls_per_sec),
            String::new(),
        ),
        (
            "decision pulled: bytes on the wire per UPT".into(),
            format!("{:.0} B", r.decision_bytes_per_upt),
            format!("<= 1000 B ({})", ok(r.decision_bytes_per_upt <= 1000.0)),
        ),
        (
            "decision pulled: HTTP round trips per UPT".into(),
            format!("{:.2}", r.decision_round_trips_per_upt),
            format!("<= 1 ({})", ok(r.decision_round_trips_per_upt <= 1.0)),
        ),
        (
            "steady: naive full upload per UPT".into(),
            format!("{:.0} B", r.naive_full_upload_bytes_per_upt),
            String::new(),
        ),
        (
            "steady: naive / incremental".into(),
            format!("{:.1}x", r.naive_over_incremental),
            format!(">= 20x ({})", ok(r.naive_over_incremental >= 20.0)),
        ),
        (
            "slow link: incremental sync".into(),
            format!("{:.2} s", r.slow_incremental_secs),
            String::new(),
        ),
        (
            format!(
                "  floor ({} RT x RTT + {} B / bw)",
                r.slow_incremental_round_trips, r.slow_incremental_bytes
            ),
            format!("{:.2} s", r.slow_incremental_floor_secs),
            String::new(),
        ),
        (
            "  ratio to floor".into(),
            format!("{:.2}x", r.slow_incremental_ratio),
            format!("<= 1.5x ({})", ok(r.slow_incremental_ratio <= 1.5)),
        ),
        (
            format!("slow link: bootstrap of {} records", r.records_per_upt),
            format!("{:.2} s", r.slow_bootstrap_secs),
            String::new(),
        ),
        (
            format!(
                "  floor ({} RT x RTT + {} B / bw)",
                r.slow_bootstrap_round_trips, r.slow_bootstrap_bytes
            ),
            format!("{:.2} s", r.slow_bootstrap_floor_secs),
            String::new(),
        ),
        (
            "  ratio to floor".into(),
            format!("{:.2}x", r.slow_bootstrap_ratio),
            String::new(),
        ),
        (
            "idle polling: no-op syncs per second".into(),
            format!("{:.0}", r.idle_syncs_per_sec),
            idle_target,
        ),
        (
            "agent service idle RSS".into(),
            format!(
                "{:.1} MiB (own {:.1})",
                r.agent_idle_rss_mib, r.agent_idle_anon_mib
            ),
            format!(
                "<= 30 MB ({})",
                ok(r.agent_idle_rss_mib * 1.048_576 <= 30.0)
            ),
        ),
        (
            "converged (hub heads = replica heads)".into(),
            r.converged.to_string(),
            String::new(),
        ),
        (
            "products at the hub / expected".into(),
            format!("{} / {}", r.hub_products, r.expected_products),
            String::new(),
        ),
    ];
    let at = rows
        .iter()
        .position(|(a, _, _)| a.starts_with("idle polling"))
        .unwrap_or(rows.len());
    for (i, b) in r.backlogs.iter().enumerate() {
        let kb = b.backlog_bytes as f64 / 1000.0;
        let more = [
            (
                format!("backlog {kb:.0} KB, thin link: time"),
                format!("{:.1} s", b.secs),
                format!(
                    "{} attempt(s), {} failed, {} round trips",
                    b.attempts, b.failed, b.round_trips
                ),
            ),
            (
                "  ratio to floor (backlog / bandwidth)".into(),
                format!("{:.2}x", b.ratio),
                format!("<= 1.3x ({})", ok(b.converged && b.ratio <= 1.3)),
            ),
            (
                "  bytes sent / backlog".into(),
                format!("{:.2}x", b.bytes_ratio),
                format!("<= 1.2x ({})", ok(b.bytes_ratio <= 1.2)),
            ),
        ];
        for (j, row) in more.into_iter().enumerate() {
            rows.insert(at + i * 3 + j, row);
        }
    }
    if let Some(o) = &r.offline {
        rows.push((
            format!(
                "offline spell ({} imported, {} stock, {} price changes): bytes sent",
                o.imported, o.stock_changes, o.price_changes
            ),
            format!("{:.1} KB", o.sent_bytes as f64 / 1000.0),
            format!(
                "{} round trip(s), {:.1} KB received",
                o.round_trips,
                o.received_bytes as f64 / 1000.0
            ),
        ));
        rows.push((
            "  the same, after attempts failed while the hub was away".into(),
            format!("{:.1} KB", o.probed_sent_bytes as f64 / 1000.0),
            format!("{} round trip(s)", o.probed_round_trips),
        ));
        rows.push((
            "  the same edits synced one by one".into(),
            format!("{:.1} KB", o.one_by_one_sent_bytes as f64 / 1000.0),
            format!(
                "{} round trips; at once / one by one: {:.2}x (<= 1.0x: {})",
                o.one_by_one_round_trips,
                o.sent_bytes as f64 / o.one_by_one_sent_bytes.max(1) as f64,
                ok(o.sent_bytes <= o.one_by_one_sent_bytes)
            ),
        ));
    }
    if let Some(p) = &r.photo {
        rows.push((
            format!(
                "photos: {} of {:.0} KB in all, {} at once, slow link dropping: time",
                p.photos,
                p.blob_bytes as f64 / 1024.0,
                p.lanes
            ),
            format!("{:.1} s", p.secs),
            format!(
                "{} request(s), {} link drop(s), {:.0} s on the backoff, completed: {}",
                p.requests, p.drops, p.backoff_secs, p.completed
            ),
        ));
        rows.push((
            "  ratio to floor".into(),
            format!("{:.2}x", p.ratio),
            format!("<= 1.3x ({})", ok(p.completed && p.ratio <= 1.3)),
        ));
        rows.push((
            "  time / link floor (blob bytes ÷ bandwidth)".into(),
            format!("{:.2}x of {:.1} s", p.link_ratio, p.link_floor_secs),
            format!("<= 1.1x ({})", ok(p.completed && p.link_ratio <= 1.1)),
        ));
        rows.push((
            "  bytes up (headers included) / blob bytes".into(),
            format!("{:.3}x", p.bytes_ratio),
            format!("<= 1.08x ({})", ok(p.bytes_ratio <= 1.08)),
        ));
        rows.push((
            "  record edited mid-upload: at the hub after".into(),
            format!("{:.1} s", p.record_secs),
            format!("before the photo ({})", ok(p.record_before_photo)),
        ));
    }
    if let Some(a) = &r.abuse {
        rows.push((
            "abuse: other UPTs' syncs ok, quiet / abused".into(),
            format!("{:.1} / {:.1} %", a.quiet.success_pct, a.abused.success_pct),
            format!("100 % ({})", ok(a.abused.success_pct >= 100.0)),
        ));
        rows.push((
            "  their sync p99, quiet / abused".into(),
            format!(
                "{:.0} / {:.0} ms",
                a.quiet.sync_p99_ms, a.abused.sync_p99_ms
            ),
            format!(
                "<= 2x ({})",
                ok(a.abused.sync_p99_ms <= 2.0 * a.quiet.sync_p99_ms)
            ),
        ));
        rows.push((
            "  /healthz p99, quiet / abused".into(),
            format!(
                "{:.1} / {:.1} ms",
                a.quiet.healthz_p99_ms, a.abused.healthz_p99_ms
            ),
            format!("<= 50 ms ({})", ok(a.abused.healthz_p99_ms <= 50.0)),
        ));
        rows.push((
            "  attacker's requests: at once / cut slow".into(),
            format!("{} / {} of {}", a.refused_at_once, a.cut_slow, a.attacks),
            if a.other.is_empty() {
                "all refused or cut".to_string()
            } else {
                format!("other: {:?}", a.other)
            },
        ));
    }
    if let Some(b) = &r.rebuild {
        rows.push((
            format!("HQ lost, rebuilt from {} agents", b.upts),
            format!(
                "{:.1} s, {} pass(es), {} of {} UPTs",
                b.secs, b.passes, b.upts_back, b.upts
            ),
            format!(
                "<= 30 min ({})",
                ok(b.secs <= 1800.0 && b.upts_back == b.upts)
            ),
        ));
        rows.push((
            "  bytes, over the bootstrap's".into(),
            format!("{} KB, {:.2}x", b.bytes / 1000, b.bytes_ratio),
            format!("<= 1.2x ({})", ok(b.bytes_ratio <= 1.2)),
        ));
        rows.push((
            "  records and decisions lost".into(),
            format!(
                "{} of {}, {} of {}",
                b.records_before - b.records_back,
                b.records_before,
                b.decisions_before - b.decisions_back,
                b.decisions_before
            ),
            format!(
                "0 ({})",
                ok(b.records_back == b.records_before && b.decisions_back == b.decisions_before)
            ),
        ));
        rows.push((
            "  agents' keys offered once, per UPT".into(),
            format!("{:.0} B", b.key_registration_bytes_per_upt),
            "one-time".into(),
        ));
    }
    if let Some(k) = &r.kills {
        rows.push((
            format!("hub SIGKILLed during syncs ({}x): lost", k.kills),
            format!("{} of {}", k.lost, k.acknowledged),
            format!(
                "= 0 ({}); {:.0} s",
                ok(k.lost == 0 && k.acknowledged > 0),
                k.secs
            ),
        ));
        rows.push((
            "  database checks clean, then converges".into(),
            format!("{} / {}", k.integrity_ok, k.converged),
            ok(k.integrity_ok && k.converged).into(),
        ));
    }
    for (a, b, c) in rows {
        println!("{a:<44} {b:>14}  {c}");
    }
    if let Some(d) = &r.dashboard {
        crate::dashboard_bench::print(d);
    }
}

/// What draining one offline backlog over a thin link took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BacklogRun {
    /// The frame one unbounded request would carry (compressed, as on the wire).
    pub backlog_bytes: u64,
    pub secs: f64,
    /// backlog ÷ bandwidth: the least any protocol could take.
    pub floor_secs: f64,
    pub ratio: f64,
    /// Bytes the agent sent (HTTP headers included), over the backlog.
    pub bytes_up: u64,
    pub bytes_ratio: f64,
    /// Sync attempts (sessions), and how many of them failed (timed out).
    pub attempts: u32,
    pub failed: u32,
    pub round_trips: u32,
    pub converged: bool,
}

/// The size of the first request an unbounded sync of `r` would send now.
pub fn unbounded_request_bytes(r: &Replica) -> usize {
    let mut session =
        karya_shared::session::SyncSession::new(&r.store, &r.peer, DocId::for_agent(&r.upt))
            .expect("session");
    session
        .next_request(&r.store)
        .expect("request")
        .map_or(0, |f| f.len())
}

/// Adds products offline, ten to a change (an import), until an unbounded sync would send
/// at least `target` bytes; returns that size.
pub fn make_backlog(r: &mut Replica, target: usize) -> usize {
    let doc = DocId::Upt(r.upt.clone());
    let now = now_rfc3339();
    let mut n = 0;
    loop {
        let size = unbounded_request_bytes(r);
        if size >= target {
            return size;
        }
        for _ in 0..5 {
            let batch: Vec<karya_shared::model::Product> = (0..BATCH)
                .map(|i| {
                    n += 1;
                    karya_shared::model::Product {
                        id: new_id().into(),
                        name: format!("Produk tertunda {n} {i}"),
                        category: "kerajinan".into(),
                        description: format!("Dibuat saat jaringan putus, nomor {n}"),
                        price_idr: 10_000 + n as i64 * 250,
                        unit: "pcs".into(),
                        stock: (n % 40) as i64,
                        workshop: "Bengkel kayu".into(),
                        created_at: now.clone(),
                        updated_at: now.clone(),
                        ..Default::default()
                    }
                })
                .collect();
            r.store
                .change(&doc, |d| {
                    for p in &batch {
                        schema::insert_product(d, p)?;
                    }
                    Ok(())
                })
                .expect("backlog change");
            r.products
                .extend(batch.into_iter().map(|p| p.id.into_string()));
        }
    }
}

/// Drains `r`'s offline backlog through a link of `bytes_per_sec` and `rtt`, with requests
/// that time out after `timeout`, retrying at once after a failure (as the service would,
/// without its back-off), until a sync succeeds or `give_up` passes.
pub async fn drain_backlog(
    r: &mut Replica,
    hub: SocketAddr,
    backlog_bytes: usize,
    bytes_per_sec: u64,
    rtt: Duration,
    timeout: Duration,
    give_up: Duration,
) -> BacklogRun {
    let link = Link {
        one_way_delay: rtt / 2,
        bytes_per_sec,
    };
    let proxy = Proxy::start(hub, link).await.expect("thin proxy");
    let client = HubClient::new(&proxy.url(), &r.token, timeout);
    let started = Instant::now();
    let mut run = BacklogRun {
        backlog_bytes: backlog_bytes as u64,
        ..BacklogRun::default()
    };
    while started.elapsed() < give_up {
        run.attempts += 1;
        match sync_once(&r.store, &client, &r.peer, DocId::for_agent(&r.upt)).await {
            Ok(o) => {
                run.round_trips += o.round_trips;
                run.converged = true;
                break;
            }
            Err(_) => run.failed += 1,
        }
    }
    run.secs = started.elapsed().as_secs_f64();
    run.bytes_up = proxy.counters.up.load(std::sync::atomic::Ordering::Relaxed);
    run.floor_secs = backlog_bytes as f64 / bytes_per_sec as f64;
    run.ratio = run.secs / run.floor_secs;
    run.bytes_ratio = run.bytes_up as f64 / backlog_bytes.max(1) as f64;
    run
}
