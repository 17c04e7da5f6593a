//! The bytes of a long offline spell: an agent makes a day's work while the hub is away (an
//! import of products, stock and price changes), then syncs once; the same work synced edit
//! by edit is the yardstick. In process: the agent's own session and the hub's own answer to
//! each frame (`karya_hub::handlers::sync::answer`), files in a temporary folder; the bytes
//! are the frames' (what goes in an HTTP body). Each request is bounded as the agent bounds it
//! on a link it has not measured yet ([`budget`]): without the bound this scenario missed the
//! issue-28 spell that went up in 91 KB (a part, then the whole document again).

use karya_shared::Store;
use karya_shared::model::{ProductPatch, UptInfo, UptType};
use karya_shared::session::Outcome;
use std::path::Path;

const UPT: &str = "LAPAS-LUAR-JARINGAN";
const PEER: &str = "pc-operator";

/// What the offline spell sent and took.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct OfflineSpell {
    pub imported: usize,
    pub stock_changes: usize,
    pub price_changes: usize,
    /// Bytes of changes one request may carry, as the agent bounds them on a link it has not
    /// measured (see [`budget`]).
    pub budget: usize,
    /// The one sync after the spell.
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub round_trips: u32,
    /// The one sync when attempts failed while the hub was away (it starts with a probe).
    pub probed_sent_bytes: u64,
    pub probed_round_trips: u32,
    /// The same edits, each synced when it was made (the import as one).
    pub one_by_one_sent_bytes: u64,
    pub one_by_one_round_trips: u32,
}

struct Pair {
    _dir: tempfile::TempDir,
    hub: karya_hub::AppState,
    agent: Store,
    products: Vec<String>,
}

fn pair(rows: usize) -> Pair {
    let dir = tempfile::tempdir().expect("temporary folder");
    let config = karya_hub::Config {
        db: dir.path().join("hub.db"),
        ..Default::default()
    };
    let hub = karya_hub::AppState::new(config, karya_hub::db::Create::IfMissing).expect("hub");
    hub.db
        .register_upts(
            &[UptInfo::new(
                UPT,
                "Lapas Luar Jaringan",
                UptType::Lapas,
                "Kanwil Uji",
            )],
            false,
        )
        .expect("register");
    let mut agent = Store::open(
        &dir.path().join("agent.db"),
        Some(karya_agent::identity::SCHEMA),
    )
    .expect("agent store");
    // In step with the hub before the spell (the registry and categories came down).
    sync(&hub, &agent);
    let csv = dir.path().join("produk.csv");
    write_csv(&csv, rows);
    let report = karya_agent::import::import_file(&mut agent, UPT, &csv).expect("import");
    Pair {
        _dir: dir,
        hub,
        agent,
        products: report.ids,
    }
}

fn sync(hub: &karya_hub::AppState, agent: &Store) -> Outcome {
    sync_probing(hub, agent, false)
}

fn sync_probing(hub: &karya_hub::AppState, agent: &Store, probe: bool) -> Outcome {
    crate::inproc::sync_within(hub, agent, UPT, PEER, "agent-token", probe, Some(budget())).0
}

/// What the agent lets one request carry on a link it has not measured yet (after a restart,
/// or when every attempt failed): the spell then goes in parts if it must.
pub fn budget() -> usize {
    karya_agent::client::upload_budget(
        karya_agent::client::ASSUMED_RATE,
        karya_agent::config::Timing::default().request_timeout(),
    )
}

fn write_csv(path: &Path, rows: usize) {
    let cats = karya_shared::model::product_category_slugs();
    let mut text = String::from("nama;kategori;harga;satuan;stok;bengkel;deskripsi;diusulkan\n");
    for i in 0..rows {
        text.push_str(&format!(
            "Produk binaan {i};{};{};pcs;{};Bengkel {};Dibuat tangan oleh warga binaan;{}\n",
            cats[i % cats.len()],
            10_000 + (i % 50) * 5_000,
            i % 40 + 1,
            i % 5,
            if i % 10 == 0 { "ya" } else { "tidak" }
        ));
    }
    std::fs::write(path, text).expect("write CSV");
}

/// The edits after the import: `stock` stock changes, then `price` price changes, spread over
/// the imported products; `after_each` runs after every one.
fn edits(p: &mut Pair, stock: usize, price: usize, mut after_each: impl FnMut(&Pair)) {
    for i in 0..stock {
        let id = p.products[i * 7 % p.products.len()].clone();
        karya_agent::records::add_stock(&mut p.agent, UPT, &id, 3).expect("stock");
        after_each(p);
    }
    for i in 0..price {
        let id = p.products[i * 11 % p.products.len()].clone();
        let patch = ProductPatch {
            price_idr: Some(20_000 + i as i64 * 500),
            ..Default::default()
        };
        karya_agent::records::edit_product(&mut p.agent, UPT, &id, &patch).expect("price");
        after_each(p);
    }
}

/// The spell made offline, then synced once with each request's changes bounded by `budget`
/// bytes (`None`: unbounded): the sync's outcome, its frames, and whether the hub then holds
/// everything the agent made.
pub fn synced_within(
    rows: usize,
    stock: usize,
    price: usize,
    budget: Option<usize>,
) -> (Outcome, crate::inproc::Frames, bool) {
    let mut p = pair(rows);
    edits(&mut p, stock, price, |_| {});
    let (outcome, frames) =
        crate::inproc::sync_within(&p.hub, &p.agent, UPT, PEER, "agent-token", false, budget);
    let doc = karya_shared::DocId::Upt(UPT.to_string());
    let mut mine = p.agent.heads(&doc).expect("agent heads");
    let mut theirs = p.hub.db.replica().heads(&doc).expect("hub heads");
    mine.sort();
    theirs.sort();
    (outcome, frames, mine == theirs)
}

/// Runs the spell: `rows` imported products, `stock` and `price` changes.
pub fn run(rows: usize, stock: usize, price: usize) -> OfflineSpell {
    let mut out = OfflineSpell {
        imported: rows,
        stock_changes: stock,
        price_changes: price,
        budget: budget(),
        ..Default::default()
    };
    // Offline: everything made, then one sync.
    let mut p = pair(rows);
    edits(&mut p, stock, price, |_| {});
    let o = sync(&p.hub, &p.agent);
    out.sent_bytes = o.bytes_sent;
    out.received_bytes = o.bytes_received;
    out.round_trips = o.round_trips;
    drop(p);
    // Offline, with failed attempts on the way: the sync starts with a probe.
    let mut p = pair(rows);
    edits(&mut p, stock, price, |_| {});
    let o = sync_probing(&p.hub, &p.agent, true);
    out.probed_sent_bytes = o.bytes_sent;
    out.probed_round_trips = o.round_trips;
    drop(p);
    // Online: a sync after the import and after each edit.
    let mut p = pair(rows);
    let mut sent = 0u64;
    let mut trips = 0u32;
    let o = sync(&p.hub, &p.agent);
    sent += o.bytes_sent;
    trips += o.round_trips;
    edits(&mut p, stock, price, |p| {
        let o = sync(&p.hub, &p.agent);
        sent += o.bytes_sent;
        trips += o.round_trips;
    });
    out.one_by_one_sent_bytes = sent;
    out.one_by_one_round_trips = trips;
    out
}
