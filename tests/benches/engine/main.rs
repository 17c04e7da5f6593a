//! Instruction counts of karya's hot paths, under Valgrind's Callgrind (gungraun): the same
//! figure on a quiet machine and a busy one, so a regression shows as a number.
//!
//! `cargo bench -p karya-tests --bench engine --profile perf` (needs `valgrind` and
//! `gungraun-runner` of the same version as the `gungraun` crate; `.ci/run` installs both).
//! The committed baseline of each benchmark is in `limits.toml` beside this file; a run
//! fails (exit code 3) when any benchmark counts more than 5 % over its baseline. A change
//! that makes one cheaper lowers its baseline in the same commit (see docs/PERFORMANCE.md).

mod fixtures;

use fixtures::{PEER, TOKEN_ID, UPT, file};
use gungraun::{
    Callgrind, Dhat, DhatMetric, EventKind, LibraryBenchmarkConfig, library_benchmark,
    library_benchmark_group, main,
};
use karya_hub::AppState;
use karya_shared::session::SyncSession;
use karya_shared::{DocId, Store};
use std::hint::black_box;
use tempfile::TempDir;

/// How far over its baseline a benchmark may count before the run fails.
const TOLERANCE: f64 = 0.05;

/// The committed figures.
fn limits() -> toml::Table {
    include_str!("limits.toml")
        .parse()
        .expect("limits.toml is TOML")
}

/// As [`limit`], and the heap blocks allocated counted too (in the benchmark function, and
/// inside `frames`: functions of karya's own, as DHAT names them), failing 5 % over
/// `limits.toml`'s `<name>_blocks`: an allocation per record or per field adds up.
fn limit_with_allocations(name: &str, frames: &[&str]) -> LibraryBenchmarkConfig {
    let mut config = limit(name);
    let key = format!("{name}_blocks");
    let Some(baseline) = limits().get(&key).and_then(|v| v.as_integer()) else {
        panic!("benches/engine/limits.toml has no baseline for '{key}'");
    };
    let hard = (baseline as f64 * (1.0 + TOLERANCE)).ceil() as u64;
    // Enough of each allocation's stack to reach karya's frame from deep in Automerge or
    // SQLite (Valgrind keeps 12 frames unless told).
    config.tool(
        Dhat::with_args(["--num-callers=200"])
            .frames(frames.iter().copied())
            .hard_limits([(DhatMetric::TotalBlocks, hard)]),
    );
    config
}

/// The baseline of `name` from `limits.toml`, as a hard limit 5 % above it.
fn limit(name: &str) -> LibraryBenchmarkConfig {
    let table = limits();
    let mut config = LibraryBenchmarkConfig::default();
    match table.get(name).and_then(|v| v.as_integer()) {
        Some(baseline) => {
            let hard = (baseline as f64 * (1.0 + TOLERANCE)).ceil() as u64;
            config.tool(Callgrind::default().hard_limits([(EventKind::Ir, hard)]));
        }
        // A new benchmark has no baseline until its first figure is committed: the run
        // says so and fails (a benchmark that gates nothing is a mistake).
        None => panic!("benches/engine/limits.toml has no baseline for '{name}'"),
    }
    config
}

/// Where the hub's half of a sync allocates: its answer to one frame.
const HUB_FRAMES: &[&str] = &["karya_hub::handlers::sync::answer"];
/// Where the agent's half does: its request made, the reply taken.
const AGENT_FRAMES: &[&str] = &[
    "karya_shared::session::SyncSession::next_request",
    "karya_shared::session::SyncSession::handle_response",
];

/// A copy of fixture `name` in a folder of its own (removed when the result is dropped).
fn copy(name: &str) -> (TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let to = dir.path().join(name);
    // Fixtures are closed files made by `VACUUM INTO`: a plain copy is whole.
    std::fs::copy(file(name), &to).expect("copy fixture");
    (dir, to)
}

fn hub(name: &str) -> (TempDir, AppState) {
    let (dir, db) = copy(name);
    let state = fixtures::hub_state(&db);
    (dir, state)
}

fn agent(name: &str) -> (TempDir, Store) {
    let (dir, db) = copy(name);
    let store = fixtures::agent_store(&db);
    (dir, store)
}

/// The hub's half of a sync: each recorded request answered as `POST /api/v1/sync` does.
fn serve_frames(state: &AppState, frames: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|(req, _)| {
            karya_hub::handlers::sync::answer(state, &state.db, UPT, TOKEN_ID, req, true)
                .expect("served")
                .map(|served| served.response.encode())
                .unwrap_or_default()
        })
        .collect()
}

type HubRun = (TempDir, AppState, karya_tests::inproc::Frames);

/// The UPT's documents loaded, as a serving hub (or a running agent) holds them between syncs.
fn warm<B: karya_shared::store::Backend>(store: &karya_shared::store::Replica<B>) {
    for doc in DocId::for_agent(UPT) {
        store.heads(&doc).expect("document loaded");
    }
}

fn setup_hub(db: &str, frames: &str) -> HubRun {
    let (dir, state) = hub(db);
    warm(state.db.replica());
    (dir, state, fixtures::frames(frames))
}

// The hub merges one UPT's bootstrap (1,000 records) into its store.
#[library_benchmark(config = limit_with_allocations("hub_bootstrap_1000", HUB_FRAMES))]
#[bench::sqlite(args = ("hub-empty.db", "bootstrap"), setup = setup_hub)]
fn hub_bootstrap((dir, state, frames): HubRun) -> (TempDir, AppState, Vec<Vec<u8>>) {
    let replies = serve_frames(&state, &frames);
    (dir, state, black_box(replies))
}

// The hub's half of a sync carrying one edit, whose reply carries one HQ decision.
#[library_benchmark(config = limit_with_allocations("hub_edit_and_decision", HUB_FRAMES))]
#[bench::sqlite(args = ("edit-hub.db", "edit"), setup = setup_hub)]
fn hub_edit((dir, state, frames): HubRun) -> (TempDir, AppState, Vec<Vec<u8>>) {
    let replies = serve_frames(&state, &frames);
    assert!(!replies[0].is_empty());
    (dir, state, black_box(replies))
}

// An idle agent's poll, answered 204.
#[library_benchmark(config = limit_with_allocations("hub_idle_poll", HUB_FRAMES))]
#[bench::sqlite(args = ("idle-hub.db", "poll"), setup = setup_hub)]
fn hub_poll((dir, state, frames): HubRun) -> (TempDir, AppState, Vec<Vec<u8>>) {
    let replies = serve_frames(&state, &frames);
    assert!(replies[0].is_empty(), "an idle poll is answered 204");
    (dir, state, black_box(replies))
}

type AgentRun = (TempDir, Store, karya_tests::inproc::Frames);

fn setup_agent(db: &str, frames: &str) -> AgentRun {
    let (dir, store) = agent(db);
    warm(&store);
    (dir, store, fixtures::frames(frames))
}

// The agent's half of the same sync: its request made, the hub's reply (the decision) taken
// and materialised.
#[library_benchmark(config = limit_with_allocations("agent_edit_and_decision", AGENT_FRAMES))]
#[bench::sqlite(args = ("edit-agent.db", "edit"), setup = setup_agent)]
fn agent_edit((dir, store, frames): AgentRun) -> (TempDir, Store, usize) {
    let mut session = SyncSession::new(&store, PEER, DocId::for_agent(UPT)).expect("sync session");
    session.allow_poll(true);
    session.take_photo_gaps();
    let mut rounds = 0;
    while let Some(frame) = session.next_request(&store).expect("request") {
        let (_, reply) = &frames[rounds];
        black_box(frame);
        session.handle_response(&store, reply).expect("reply");
        rounds += 1;
    }
    assert_eq!(
        session.outcome().changes_received,
        1,
        "the decision arrived"
    );
    (dir, store, rounds)
}

fn setup_materialise(db: &str) -> (TempDir, AppState) {
    let (dir, state) = hub(db);
    // What is measured is the rows, not loading the document.
    warm(state.db.replica());
    (dir, state)
}

// One UPT's document materialised again into its rows, the words index of its 300 products
// included.
#[library_benchmark(config = limit_with_allocations("materialise_1000", &[]))]
#[bench::sqlite(args = ("hub-synced.db"), setup = setup_materialise)]
fn materialise((dir, state): (TempDir, AppState)) -> (TempDir, AppState) {
    state
        .db
        .replica()
        .rebuild_materialized(&DocId::Upt(UPT.into()))
        .expect("materialised");
    (dir, state)
}

fn setup_import(db: &str) -> (TempDir, Store, std::path::PathBuf) {
    let (dir, store) = agent(db);
    let book = dir.path().join("produk.xlsx");
    std::fs::copy(file("produk-1000.xlsx"), &book).expect("copy workbook");
    (dir, store, book)
}

// An operator's workbook of 1,000 products imported at the agent.
#[library_benchmark(config = limit_with_allocations("agent_import_xlsx_1000", &[]))]
#[bench::sqlite(args = ("agent-empty.db"), setup = setup_import)]
fn import_xlsx(
    (dir, mut store, book): (TempDir, Store, std::path::PathBuf),
) -> (TempDir, Store, usize) {
    let report = karya_agent::import::import_file(&mut store, UPT, &book).expect("imported");
    (dir, store, black_box(report.rows))
}

type PageRun = (TempDir, AppState, karya_hub::pages::Curator);

fn curator() -> karya_hub::pages::Curator {
    karya_hub::pages::Curator {
        principal: karya_hub::access::Principal {
            token_id: "bench-curator".into(),
            name: "kurator pusat".into(),
            role: karya_hub::auth::Role::Curator,
            kanwil: None,
            signed: None,
        },
        csrf: "0".repeat(64),
    }
}

fn ringkasan_once(state: &AppState, who: &karya_hub::pages::Curator) -> usize {
    let today = time::macros::date!(2026 - 12 - 05);
    let view = karya_hub::pages::ringkasan::read(&state.db, 24, None, today).expect("figures");
    karya_hub::pages::ringkasan::render(who, view, 24, karya_shared::localtime::Zone::Wib)
        .0
        .len()
}

fn katalog_once(state: &AppState, who: &karya_hub::pages::Curator) -> usize {
    let f = karya_hub::pages::katalog::Filters::default();
    let listing =
        karya_hub::pages::katalog::read(&state.db, &f.filter(who), None, None).expect("page");
    karya_hub::pages::katalog::render(who, &f, listing).0.len()
}

/// The national database opened, and each page shown once (a serving hub's caches warm).
fn setup_pages(db: &str) -> PageRun {
    let (dir, state) = hub(db);
    let who = curator();
    ringkasan_once(&state, &who);
    katalog_once(&state, &who);
    (dir, state, who)
}

// Ringkasan on the national database (627 UPTs × 300 products, 100 sales).
#[library_benchmark(config = limit_with_allocations("page_ringkasan_627x300", &[]))]
#[bench::sqlite(args = ("national.db"), setup = setup_pages)]
fn ringkasan((dir, state, who): PageRun) -> (TempDir, AppState, usize) {
    let n = ringkasan_once(&state, &who);
    (dir, state, black_box(n))
}

// The Katalog's first page on the national database.
#[library_benchmark(config = limit_with_allocations("page_katalog_627x300", &[]))]
#[bench::sqlite(args = ("national.db"), setup = setup_pages)]
fn katalog((dir, state, who): PageRun) -> (TempDir, AppState, usize) {
    let n = katalog_once(&state, &who);
    (dir, state, black_box(n))
}

library_benchmark_group!(
    name = sync;
    benchmarks = hub_bootstrap, hub_edit, hub_poll, agent_edit
);

library_benchmark_group!(
    name = records;
    benchmarks = materialise, import_xlsx
);

library_benchmark_group!(
    name = pages;
    benchmarks = ringkasan, katalog
);

main!(
    setup = fixtures::make();
    library_benchmark_groups = sync, records, pages
);
