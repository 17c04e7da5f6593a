//! The benchmarks' inputs, made once per build, natively (the benchmark binary's `main`
//! setup, outside Valgrind): stores, recorded sync frames and a workbook, in a folder of the
//! target directory. Each benchmark's own setup only copies what it needs.

use karya_hub::db::{Create, HubDb};
use karya_shared::model::{CurationDecision, CurationStatus, ProductPatch, UptInfo, UptType};
use karya_shared::{DocId, Store};
use karya_tests::inproc::Frames;
use karya_tests::sim;
use std::path::{Path, PathBuf};

/// The UPT whose syncs are measured.
pub const UPT: &str = "SIM-0000";
/// Its agent's peer id (a PC of the UPT).
pub const PEER: &str = "bench-pc";
/// The token id the hub's change log names.
pub const TOKEN_ID: &str = "bench-token";
/// UPTs of the stored national database the pages read; each has the products of the
/// simulation's 1,000-record UPT (300) and its first [`NATIONAL_SALES`] sales.
pub const NATIONAL_UPTS: usize = 627;
pub const NATIONAL_SALES: usize = 100;
/// Records of the measured UPT's bootstrap, and rows of the workbook imported.
pub const BOOTSTRAP_RECORDS: usize = 1_000;
pub const IMPORT_ROWS: usize = 1_000;

/// Bumped whenever what the fixtures hold changes (older folders are then made again).
const VERSION: u32 = 4;

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("karya-bench-{VERSION}"))
}

pub fn file(name: &str) -> PathBuf {
    dir().join(name)
}

/// The recorded frames of one sync: `(request, reply)` per round trip (an empty reply: 204).
pub fn frames(name: &str) -> Frames {
    let mut out = Vec::new();
    for i in 0.. {
        let req = file(&format!("{name}-{i}.req"));
        if !req.exists() {
            break;
        }
        let rep = file(&format!("{name}-{i}.rep"));
        out.push((
            std::fs::read(req).expect("recorded request"),
            std::fs::read(rep).expect("recorded reply"),
        ));
    }
    assert!(!out.is_empty(), "no recorded frames named {name}");
    out
}

pub fn hub_config(db: &Path) -> karya_hub::Config {
    karya_hub::Config {
        db: db.to_path_buf(),
        ..Default::default()
    }
}

/// The hub's state (database, photo folder, the store's threads) on `db`, as it is between
/// syncs: it has every photo of the measured UPT and looked for gaps lately (the first sync of
/// a hub process otherwise lists the photos it lacks, and the simulated photos are records
/// only).
pub fn hub_state(db: &Path) -> karya_hub::AppState {
    let state = karya_hub::AppState::new(hub_config(db), Create::No).expect("hub state");
    let looked = state
        .photo_gaps
        .to_tell::<()>(UPT, &format!("{UPT}/{PEER}"), || Ok(Vec::new()));
    assert_eq!(looked, Ok(None));
    state
}

pub fn agent_store(db: &Path) -> Store {
    Store::open(db, Some(karya_agent::identity::SCHEMA)).expect("agent store")
}

/// One sync of the agent on `agent` with the hub `state` ([`karya_tests::inproc::sync`]);
/// returns the frames, and records them under `name`.
pub fn sync(agent: &Store, state: &karya_hub::AppState, name: &str) -> Frames {
    let (_, frames) = karya_tests::inproc::sync(state, agent, UPT, PEER, TOKEN_ID, false);
    for (i, (req, rep)) in frames.iter().enumerate() {
        std::fs::write(file(&format!("{name}-{i}.req")), req).expect("write frame");
        std::fs::write(file(&format!("{name}-{i}.rep")), rep).expect("write frame");
    }
    frames
}

/// Copies the hub's and the agent's databases (`from`) to `to`, syncs the copies, records the
/// frames under `name` and returns them: the copies are then in step, the originals as before.
fn synced_copies(from: (&str, &str), to: (&str, &str), name: &str) -> Frames {
    snapshot(&file(from.0), &file(to.0));
    snapshot(&file(from.1), &file(to.1));
    let state = hub_state(&file(to.0));
    let agent = agent_store(&file(to.1));
    sync(&agent, &state, name)
}

fn upt_info(code: &str, i: usize) -> UptInfo {
    UptInfo::new(
        code,
        &format!("Lapas Simulasi {i}"),
        UptType::Lapas,
        &format!("Kanwil {}", i % 33),
    )
}

fn new_hub(db: &Path, upts: &[UptInfo]) {
    let hub = HubDb::open(&hub_config(db), Create::IfMissing).expect("new hub");
    hub.register_upts(upts, false).expect("register UPTs");
}

/// A consistent copy of the database `from` (open or not), by SQLite itself.
pub fn snapshot(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    let conn = rusqlite::Connection::open(from).expect("open to copy");
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
        .expect("copy database");
}

/// Makes every fixture unless this build's folder holds them already.
pub fn make() {
    let dir = dir();
    let done = dir.join("complete");
    if done.exists() {
        return;
    }
    let started = std::time::Instant::now();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fixture folder");

    // One UPT's bootstrap: a hub that knows the UPT, an agent with its records.
    new_hub(&file("hub-empty.db"), &[upt_info(UPT, 0)]);
    {
        let agent = agent_store(&file("agent-1000.db"));
        sim::generate_in(agent, UPT, BOOTSTRAP_RECORDS, String::new());
    }
    synced_copies(
        ("hub-empty.db", "agent-1000.db"),
        ("hub-synced.db", "agent-synced.db"),
        "bootstrap",
    );

    // One edit at the UPT (a new price) and one decision at HQ, each waiting for the next
    // sync; then that sync; then an idle poll.
    snapshot(&file("hub-synced.db"), &file("edit-hub.db"));
    snapshot(&file("agent-synced.db"), &file("edit-agent.db"));
    {
        let mut agent = agent_store(&file("edit-agent.db"));
        let rows = karya_agent::records::products(&agent, UPT).expect("products");
        let (first, second) = (rows[0].id.clone(), rows[1].id.clone());
        let patch = ProductPatch {
            price_idr: Some(rows[0].price_idr + 5_000),
            ..Default::default()
        };
        karya_agent::records::edit_product(&mut agent, UPT, &first, &patch).expect("edit");
        let hub = HubDb::open(&hub_config(&file("edit-hub.db")), Create::No).expect("hub");
        decide(&hub, &second);
    }
    let frames = synced_copies(
        ("edit-hub.db", "edit-agent.db"),
        ("edited-hub.db", "edited-agent.db"),
        "edit",
    );
    assert!(
        frames.len() == 1 && !frames[0].1.is_empty(),
        "an edit and a decision take one round trip"
    );
    let frames = synced_copies(
        ("edited-hub.db", "edited-agent.db"),
        ("idle-hub.db", "idle-agent.db"),
        "poll",
    );
    assert!(
        frames.len() == 1 && frames[0].1.is_empty(),
        "an idle agent's poll is answered 204"
    );
    // The poll was answered from these files: measured again on copies made before it.
    snapshot(&file("edited-hub.db"), &file("idle-hub.db"));

    // An empty agent and a workbook of products, as operators fill the template.
    drop(agent_store(&file("agent-empty.db")));
    workbook(&file("produk-1000.xlsx"), IMPORT_ROWS);

    national(&file("national.db"));
    std::fs::write(&done, format!("{:.1} s\n", started.elapsed().as_secs_f64()))
        .expect("fixture stamp");
    eprintln!(
        "karya benchmarks: fixtures made in {:.1} s in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
}

/// A curator's decision on `product` of [`UPT`], written as the hub writes one.
pub fn decide(hub: &HubDb, product: &str) {
    let decision = CurationDecision {
        product_id: product.to_string().into(),
        status: CurationStatus::Approved,
        note: "Layak jadi komoditas nasional".into(),
        decided_by: "kurator pusat".into(),
        decided_at: karya_shared::model::now_rfc3339(),
        ..Default::default()
    };
    let origin = karya_shared::store::Origin {
        peer: "curator",
        token: "bench-curator",
    };
    hub.replica()
        .change_as(&DocId::Curation(UPT.into()), origin, |d| {
            karya_shared::schema::put_decision(d, &decision)
        })
        .expect("decision");
    hub.log_decision(UPT, &decision).expect("decision history");
}

/// A workbook of `rows` products with the headers operators type.
pub fn workbook(path: &Path, rows: usize) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let headers = [
        "Nama",
        "Kategori",
        "Harga",
        "Satuan",
        "Stok",
        "Bengkel",
        "Deskripsi",
        "Diusulkan",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    let cats = karya_shared::model::product_category_slugs();
    for i in 0..rows {
        let r = i as u32 + 1;
        ws.write_string(r, 0, format!("Produk binaan {i}"))
            .expect("cell");
        ws.write_string(r, 1, cats[i % cats.len()]).expect("cell");
        ws.write_number(r, 2, (10_000 + (i % 50) * 5_000) as f64)
            .expect("cell");
        ws.write_string(r, 3, "pcs").expect("cell");
        ws.write_number(r, 4, (i % 40 + 1) as f64).expect("cell");
        ws.write_string(r, 5, format!("Bengkel {}", i % 5))
            .expect("cell");
        ws.write_string(r, 6, "Dibuat tangan oleh warga binaan, bahan lokal.")
            .expect("cell");
        ws.write_string(r, 7, if i % 10 == 0 { "ya" } else { "tidak" })
            .expect("cell");
    }
    book.save(path).expect("save workbook");
}

/// The national database of [`NATIONAL_UPTS`] UPTs with 300 products and [`NATIONAL_SALES`]
/// sales each, stored at the hub as its own documents (the pages read the same rows either
/// way).
fn national(db: &Path) {
    let upts: Vec<UptInfo> = (0..NATIONAL_UPTS)
        .map(|i| upt_info(&format!("SIM-{i:04}"), i))
        .collect();
    new_hub(db, &upts);
    let hub = HubDb::open(&hub_config(db), Create::No).expect("hub");
    // The records are made on other threads while the hub writes.
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let codes: Vec<String> = upts.iter().map(|u| u.code.to_string()).collect();
    std::thread::scope(|s| {
        s.spawn(move || {
            for code in codes {
                let (mut recs, _) = sim::records_of(&code, 1_000);
                let mut sales = 0;
                recs.retain(|r| match r {
                    sim::Rec::Product(_) => true,
                    sim::Rec::Sale(_) => {
                        sales += 1;
                        sales <= NATIONAL_SALES
                    }
                    _ => false,
                });
                if tx.send((code, recs)).is_err() {
                    return;
                }
            }
        });
        for (code, recs) in rx {
            sim::write_records(hub.replica(), &code, &recs, recs.len());
        }
    });
}
