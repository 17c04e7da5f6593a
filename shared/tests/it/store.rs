//! The replica store as a user of it sees it: compaction, materialized tables, crashes.

use crate::common;

use karya_shared::model::{ProductPatch, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::store::Store;
use proptest::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn upt() -> DocId {
    DocId::Upt("LAPAS-KENDAL".into())
}

#[test]
fn compaction_keeps_heads_and_content_in_fewer_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Store::open(&path, None).unwrap();
    store.set_compact_after(1_000_000);
    let doc = upt();
    let mut ids = Vec::new();
    for i in 0..120 {
        let p = common::product(&format!("Produk {i}"), 1000 + i, 1);
        store
            .change(&doc, |d| schema::insert_product(d, &p))
            .unwrap();
        ids.push(p.id);
    }
    let heads = store.heads(&doc).unwrap();
    let tables = store.backend().dump_materialized().unwrap();
    let rows_before = store.stored_rows(&doc).unwrap();
    assert_eq!(rows_before, 120);

    store.compact(&doc).unwrap();
    assert_eq!(store.stored_rows(&doc).unwrap(), 1);
    drop(store);

    let reopened = Store::open(&path, None).unwrap();
    assert_eq!(reopened.heads(&doc).unwrap(), heads);
    assert_eq!(reopened.backend().dump_materialized().unwrap(), tables);
    let d = reopened.with_doc(&doc, |d| d.clone()).unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            schema::read_product(&d, id).unwrap().0.name,
            format!("Produk {i}")
        );
    }
}

#[test]
fn a_failed_edit_leaves_nothing_behind() {
    let store = Store::open_in_memory(None).unwrap();
    let doc = upt();
    let p = common::product("Tas", 10, 2);
    store
        .change(&doc, |d| schema::insert_product(d, &p))
        .unwrap();
    let heads = store.heads(&doc).unwrap();
    let err = store
        .change(&doc, |d| schema::add_stock(d, &p.id, -5, "now"))
        .unwrap_err();
    assert!(err.to_string().contains("stok hanya 2"), "{err}");
    assert_eq!(store.heads(&doc).unwrap(), heads);
    let stock: i64 = store
        .conn()
        .query_row("SELECT stock FROM products", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stock, 2);
}

#[test]
fn a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path, None).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(&path, None).unwrap_err();
    assert!(err.to_string().contains("upgrade karya"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// The tables kept current change by change equal a full re-read of the document.
    #[test]
    fn materialized_tables_equal_a_full_reread(edits in proptest::collection::vec((0u8..5, any::<usize>(), 0i64..500), 1..40)) {
        let store = Store::open_in_memory(None).unwrap();
        let doc = upt();
        let now = now_rfc3339();
        let mut products: Vec<String> = Vec::new();
        let mut trainings: Vec<String> = Vec::new();
        for (kind, pick, n) in edits {
            match kind {
                0 => {
                    let p = common::product("P", n, n % 7);
                    store.change(&doc, |d| schema::insert_product(d, &p)).unwrap();
                    products.push(p.id.to_string());
                }
                1 if !products.is_empty() => {
                    let id = products[pick % products.len()].clone();
                    let patch = ProductPatch { price_idr: Some(n), nominated: Some(n % 2 == 0), ..Default::default() };
                    store.change(&doc, |d| schema::edit_product(d, &id, &patch, &now)).unwrap();
                }
                2 if !products.is_empty() => {
                    let id = products[pick % products.len()].clone();
                    let _ = store.change(&doc, |d| schema::add_stock(d, &id, n - 100, &now));
                }
                3 => {
                    let t = common::training("Las");
                    store.change(&doc, |d| schema::insert_training(d, &t)).unwrap();
                    trainings.push(t.id.to_string());
                }
                4 if !trainings.is_empty() => {
                    let id = trainings[pick % trainings.len()].clone();
                    let p = karya_shared::model::Participant {
                        training_id: id.into(),
                        pseudonym: karya_shared::pseudonym::pseudonym(b"s", &n.to_string()),
                        enrolled_at: "2026-01-01".into(),
                        hours_attended: n,
                        status: karya_shared::model::ParticipantStatus::Enrolled,
                        certificate: String::new(),
                    };
                    store.change(&doc, |d| schema::upsert_participant(d, &p)).unwrap();
                }
                _ => {}
            }
        }
        let incremental = store.backend().dump_materialized().unwrap();
        // The words index matches the products it indexes (FTS5 checks itself against its
        // content table), after every change and after a rebuild.
        let words_ok = |store: &Store| {
            store
                .conn()
                .execute(
                    "INSERT INTO products_text (products_text, rank) VALUES ('integrity-check', 1)",
                    [],
                )
                .map(|_| ())
        };
        prop_assert!(words_ok(&store).is_ok(), "{:?}", words_ok(&store));
        store.rebuild_materialized(&doc).unwrap();
        prop_assert_eq!(incremental, store.backend().dump_materialized().unwrap());
        prop_assert!(words_ok(&store).is_ok(), "{:?}", words_ok(&store));
    }
}

// ---------- crashes ----------

/// The child side of the crash tests: writes products in a loop and prints `ACK <id>` after
/// each write returned. Does nothing unless the parent set KARYA_CRASH_DB.
#[test]
#[ignore = "the child process of the crash tests, which run it with --ignored"]
fn crash_child_writer() {
    let Ok(path) = std::env::var("KARYA_CRASH_DB") else {
        return;
    };
    let compact_every: u64 = std::env::var("KARYA_CRASH_COMPACT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let store = Store::open(Path::new(&path), None).unwrap();
    let doc = upt();
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    for i in 0u64.. {
        let p = common::product(&format!("Crash {i}"), 100, 1);
        store
            .change(&doc, |d| schema::insert_product(d, &p))
            .unwrap();
        writeln!(out, "ACK {}", p.id).unwrap();
        out.flush().unwrap();
        if compact_every > 0 && i % compact_every == 0 {
            store.compact(&doc).unwrap();
            writeln!(out, "COMPACTED").unwrap();
            out.flush().unwrap();
        }
    }
}

/// Runs the writer in a child process, kills it with SIGKILL after `after`, and returns the
/// ids it acknowledged.
fn run_and_kill(db: &Path, compact_every: u64, after: Duration) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "store::crash_child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KARYA_CRASH_DB", db)
        .env("KARYA_CRASH_COMPACT", compact_every.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.ends_with("READY") {
                let _ = tx.send(());
            }
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.to_string());
            }
        }
        acked
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("child started");
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

fn crash_rounds(compact_every: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut all_acked = Vec::new();
    for round in 0..20u64 {
        let after = Duration::from_millis(20 + (round * 37) % 150 + rand::random::<u64>() % 40);
        let acked = run_and_kill(&db, compact_every, after);
        all_acked.extend(acked);
        let store = Store::open(&db, None).unwrap();
        let doc = upt();
        let d = store
            .with_doc(&doc, |d| d.clone())
            .unwrap_or_else(|e| panic!("round {round}: document does not load: {e}"));
        for id in &all_acked {
            assert!(
                schema::read_product(&d, id).is_some(),
                "round {round}: acknowledged product {id} lost from the document"
            );
        }
        let rows: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
            .unwrap();
        assert!(
            rows as usize >= all_acked.len(),
            "round {round}: materialized table lost rows"
        );
    }
    assert!(
        all_acked.len() > 20,
        "the child wrote too little to prove anything ({})",
        all_acked.len()
    );
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    crash_rounds(0);
}

#[test]
fn a_kill_during_compaction_loses_nothing() {
    crash_rounds(3);
}

/// The CLI and the running service open the same file: each sees the other's writes, and
/// writes of both survive (no change is built on a stale copy).
#[test]
fn two_handles_on_one_file_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let doc = upt();
    let mut service = Store::open(&path, None).unwrap();
    let mut cli = Store::open(&path, None).unwrap();
    let a = common::product("Dari layanan", 1, 1);
    service
        .change(&doc, |d| schema::insert_product(d, &a))
        .unwrap();
    let b = common::product("Dari CLI", 2, 2);
    cli.change(&doc, |d| schema::insert_product(d, &b)).unwrap();
    service.compact(&doc).unwrap();
    let c = common::product("Sesudah pemadatan", 3, 3);
    cli.change(&doc, |d| schema::insert_product(d, &c)).unwrap();
    for store in [&mut service, &mut cli] {
        let d = store.with_doc(&doc, |d| d.clone()).unwrap();
        for p in [&a, &b, &c] {
            assert!(
                schema::read_product(&d, &p.id).is_some(),
                "{} missing",
                p.name
            );
        }
    }
    assert_eq!(service.heads(&doc).unwrap(), cli.heads(&doc).unwrap());
}

/// The SQLite backend with compaction that always fails (a full disk at the wrong moment).
struct CompactionFails(karya_shared::store::SqliteBackend);

impl karya_shared::store::Backend for CompactionFails {
    fn version(&self, doc: &str) -> karya_shared::store::Result<karya_shared::store::DocVersion> {
        self.0.version(doc)
    }
    fn load(&self, doc: &str) -> karya_shared::store::Result<karya_shared::store::StoredDoc> {
        self.0.load(doc)
    }
    fn chunks_after(
        &self,
        doc: &str,
        after: i64,
    ) -> karya_shared::store::Result<Vec<(i64, Vec<u8>)>> {
        self.0.chunks_after(doc, after)
    }
    fn commit(
        &self,
        w: &karya_shared::store::DocWrite<'_>,
    ) -> karya_shared::store::Result<karya_shared::store::Commit> {
        self.0.commit(w)
    }
    fn compact(
        &self,
        _: &str,
        _: karya_shared::store::DocVersion,
        _: &[u8],
    ) -> karya_shared::store::Result<Option<karya_shared::store::DocVersion>> {
        Err(karya_shared::StoreError::DiskFull("injected".into()))
    }
    fn replace_rows(
        &self,
        id: &DocId,
        rows: &[karya_shared::materialize::RowOp],
    ) -> karya_shared::store::Result<()> {
        self.0.replace_rows(id, rows)
    }
    fn forget(&self, id: &DocId) -> karya_shared::store::Result<()> {
        self.0.forget(id)
    }
    fn sync_state(&self, peer: &str, doc: &str) -> karya_shared::store::Result<Option<Vec<u8>>> {
        self.0.sync_state(peer, doc)
    }
    fn save_sync_state(&self, peer: &str, doc: &str, s: &[u8]) -> karya_shared::store::Result<()> {
        self.0.save_sync_state(peer, doc, s)
    }
    fn doc_ids(&self) -> karya_shared::store::Result<Vec<String>> {
        self.0.doc_ids()
    }
    fn stored_rows(&self, doc: &str) -> karya_shared::store::Result<i64> {
        self.0.stored_rows(doc)
    }
    fn meta(&self, key: &str) -> karya_shared::store::Result<Option<String>> {
        self.0.meta(key)
    }
    fn set_meta(&self, key: &str, value: &str) -> karya_shared::store::Result<()> {
        self.0.set_meta(key, value)
    }
    fn meta_init(&self, key: &str, value: &str) -> karya_shared::store::Result<String> {
        self.0.meta_init(key, value)
    }
    fn meta_with_prefix(&self, prefix: &str) -> karya_shared::store::Result<Vec<(String, String)>> {
        self.0.meta_with_prefix(prefix)
    }
}

#[test]
fn a_stored_write_is_not_reported_failed_when_the_compaction_after_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let backend =
        karya_shared::store::SqliteBackend::open(&dir.path().join("a.db"), None, 0).unwrap();
    let store = karya_shared::store::Replica::new(CompactionFails(backend)).unwrap();
    store.set_compact_after(1);
    let doc = upt();
    let p = common::product("Kursi jati", 1, 1);
    // Every write triggers a compaction here, and every compaction fails.
    store
        .change(&doc, |d| schema::insert_product(d, &p))
        .expect("the write is stored; the failed compaction after it is not its failure");
    let q = common::product("Meja jati", 2, 2);
    store
        .change(&doc, |d| schema::insert_product(d, &q))
        .unwrap();
    assert_eq!(
        store.stored_rows(&doc).unwrap(),
        2,
        "two chunks, no snapshot"
    );
    let names: Vec<String> = store
        .with_doc(&doc, |d| {
            [&p.id, &q.id]
                .iter()
                .map(|id| schema::read_product(d, id).unwrap().0.name)
                .collect()
        })
        .unwrap();
    assert_eq!(names, ["Kursi jati", "Meja jati"]);
}

#[test]
fn a_panic_inside_a_change_leaves_the_document_as_stored_and_usable() {
    let store = Store::open_in_memory(None).unwrap();
    let doc = upt();
    let p = common::product("Kursi jati", 1, 1);
    store
        .change(&doc, |d| schema::insert_product(d, &p))
        .unwrap();
    let err = store
        .change(&doc, |d| -> Result<(), schema::SchemaError> {
            let q = common::product("Setengah jadi", 1, 1);
            schema::insert_product(d, &q)?;
            panic!("injected fault in the middle of a change")
        })
        .unwrap_err();
    assert!(
        matches!(err, karya_shared::StoreError::Panicked { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&doc.to_string()), "{err}");
    assert!(!store.is_loaded(&doc), "the half-changed copy was dropped");
    // The next write works on the stored document: the half-made product is not there.
    let r = common::product("Meja jati", 2, 2);
    store
        .change(&doc, |d| schema::insert_product(d, &r))
        .unwrap();
    let n = store
        .with_doc(&doc, |d| {
            schema::record_keys(d)
                .iter()
                .filter(|k| k.is(karya_shared::model::Product::KIND))
                .count()
        })
        .unwrap();
    assert_eq!(n, 2);
    let rows: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}

#[test]
fn two_processes_writing_one_document_at_once_lose_nothing() {
    // Two handles on one file stand for the service and a CLI command: each write is made
    // on the stored version or made again on top of the other's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    drop(Store::open(&path, None).unwrap());
    let doc = upt();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            let doc = doc.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path, None).unwrap();
                (0..40)
                    .map(|i| {
                        let p = common::product(&format!("Produk {w}-{i}"), 1, 1);
                        store
                            .change(&doc, |d| schema::insert_product(d, &p))
                            .unwrap();
                        p.id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<karya_shared::model::RecordId> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let store = Store::open(&path, None).unwrap();
    let missing: Vec<&karya_shared::model::RecordId> = store
        .with_doc(&doc, |d| {
            ids.iter()
                .filter(|id| schema::read_product(d, id).is_none())
                .collect()
        })
        .unwrap();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let rows: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 80);
}

/// A field added to a record's definition without its migration line would be written to a
/// column that does not exist: every field and key of every record kind has its column.
#[test]
fn every_field_of_every_record_kind_has_its_column() {
    use karya_shared::model::{CurationDecision, Participant, Product, Sale, Training, UptInfo};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("r.db"), None).unwrap();
    let conn = store.conn();
    for (table, keys, fields) in [
        ("products", Product::KEY_COLUMNS, Product::FIELDS),
        ("sales", Sale::KEY_COLUMNS, Sale::FIELDS),
        ("trainings", Training::KEY_COLUMNS, Training::FIELDS),
        (
            "participants",
            Participant::KEY_COLUMNS,
            Participant::FIELDS,
        ),
        (
            "curation",
            CurationDecision::KEY_COLUMNS,
            CurationDecision::FIELDS,
        ),
        ("upts", UptInfo::KEY_COLUMNS, UptInfo::FIELDS),
    ] {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!columns.is_empty(), "no table {table}");
        for field in keys.iter().chain(fields) {
            assert!(
                columns.iter().any(|c| c == field),
                "{table} has no column {field}: add a migration line for it"
            );
        }
    }
}

/// A sale taken back (entered by mistake) leaves the document and its row.
#[test]
fn a_deleted_sale_leaves_its_row() {
    let store = Store::open_in_memory(None).unwrap();
    let doc = upt();
    let p = common::product("Tas", 10, 2);
    let sale = karya_shared::model::Sale {
        id: "s1".into(),
        product_id: p.id.clone(),
        date: time::macros::date!(2026 - 11 - 15),
        quantity: 1,
        revenue_idr: 10,
        channel: karya_shared::model::SaleChannel::Toko,
        created_at: now_rfc3339(),
        stock_taken: Default::default(),
    };
    store
        .change(&doc, |d| {
            schema::insert_product(d, &p)?;
            schema::insert_sale(d, &sale)
        })
        .unwrap();
    let count = |store: &Store| -> i64 {
        store
            .conn()
            .query_row("SELECT COUNT(*) FROM sales", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&store), 1);
    store
        .change(&doc, |d| schema::delete_sale(d, "s1"))
        .unwrap();
    assert_eq!(count(&store), 0);
    assert!(
        store
            .with_doc(&doc, |d| schema::read_sale(d, "s1"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_words_search_follows_every_edit_and_deletion() {
    let store = Store::open_in_memory(None).unwrap();
    let doc = upt();
    let chair = common::product("Kursi Jati Ukir", 1_850_000, 2);
    let mat = common::product("Tikar pandan", 75_000, 5);
    store
        .change(&doc, |d| {
            schema::insert_product(d, &chair)?;
            schema::insert_product(d, &mat)
        })
        .unwrap();
    let found = |words: &str| -> Vec<String> {
        let filter = karya_shared::views::ProductFilter {
            text: Some(words.into()),
            ..Default::default()
        };
        karya_shared::views::products_page(
            &mut karya_shared::sql::Sql::Lite(&store.conn()),
            &filter,
            None,
            50,
        )
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.name.clone())
        .collect()
    };
    // Any part of a word, in any case; every word must be there; short words too.
    assert_eq!(found("jati"), ["Kursi Jati Ukir"]);
    assert_eq!(found("UKI kursi"), ["Kursi Jati Ukir"]);
    assert_eq!(found("ti"), ["Kursi Jati Ukir", "Tikar pandan"]);
    assert!(found("jati pandan").is_empty());
    assert!(
        found("\"jati").is_empty(),
        "a quote is a character, not syntax"
    );
    // Renamed: found by its new name only (the row is rewritten whole).
    let patch = ProductPatch {
        name: Some("Kursi Mahoni".into()),
        ..Default::default()
    };
    store
        .change(&doc, |d| {
            schema::edit_product(d, chair.id.as_str(), &patch, &now_rfc3339())
        })
        .unwrap();
    assert!(found("jati").is_empty());
    assert_eq!(found("mahoni"), ["Kursi Mahoni"]);
    // Deleted: gone from the search.
    store
        .change(&doc, |d| {
            schema::delete_product(d, mat.id.as_str(), &now_rfc3339())
        })
        .unwrap();
    assert!(found("pandan").is_empty());
    // The index holds what the rows hold, no stale words (SQLite's own check).
    store
        .conn()
        .execute(
            "INSERT INTO products_text (products_text, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the words index matches the products");
}

/// A product HQ approved is in the "changed after approval" queue exactly while its name,
/// price, description or photos differ from what the decision recorded (a stock change is
/// not a change of what was approved); the history lists the decision.
#[test]
fn a_product_changed_after_approval_is_queued_until_it_is_as_approved() {
    use karya_shared::model::{CurationDecision, CurationStatus, Photo};
    use karya_shared::views::{ProductFilter, Queue, QueueSort, queue_page};
    let store = Store::open_in_memory(None).unwrap();
    let doc = upt();
    let photo = |n: u8| Photo {
        hash: format!("{n:02x}").repeat(32),
        size: 1000,
        width: 800,
        height: 600,
        thumb: format!("{:02x}", n + 100).repeat(32),
        thumb_size: 100,
        caption: String::new(),
    };
    let mut chair = common::product("Kursi Jati Ukir", 1_850_000, 2);
    chair.photos = vec![photo(1)];
    store
        .change(&doc, |d| schema::insert_product(d, &chair))
        .unwrap();
    let decision = CurationDecision {
        product_id: chair.id.clone(),
        status: CurationStatus::Approved,
        decided_by: "Kurator Pusat".into(),
        decided_at: now_rfc3339(),
        approved_name: chair.name.clone(),
        approved_price_idr: chair.price_idr,
        approved_description: chair.description.clone(),
        approved_photos: chair.photo_hashes(),
        ..Default::default()
    };
    store
        .change(&DocId::Curation("LAPAS-KENDAL".into()), |d| {
            schema::put_decision(d, &decision)
        })
        .unwrap();
    let changed = || -> Vec<bool> {
        let f = ProductFilter {
            queue: Some(Queue::Changed),
            ..Default::default()
        };
        let mut sql = karya_shared::sql::Sql::Lite(&store.conn());
        let rows = queue_page(&mut sql, &f, QueueSort::Waiting, 0, 50).unwrap();
        let counts = karya_shared::views::queue_counts(&mut sql, None).unwrap();
        assert_eq!(rows.len() as i64, counts.changed);
        // What the queue holds is what the row itself says.
        rows.iter()
            .map(|w| w.row.curation.as_ref().unwrap().changed_since(&w.row))
            .collect()
    };
    let edit = |patch: ProductPatch| {
        store
            .change(&doc, |d| {
                schema::edit_product(d, &chair.id, &patch, &now_rfc3339())
            })
            .unwrap();
    };
    assert_eq!(changed(), Vec::<bool>::new(), "as approved");
    store
        .change(&doc, |d| {
            schema::add_stock(d, &chair.id, 5, &now_rfc3339()).map(|_| ())
        })
        .unwrap();
    assert_eq!(
        changed(),
        Vec::<bool>::new(),
        "stock is not what was approved"
    );
    edit(ProductPatch {
        photos: Some(vec![photo(1), photo(2)]),
        ..Default::default()
    });
    assert_eq!(changed(), [true], "a photo added");
    edit(ProductPatch {
        photos: Some(vec![photo(1)]),
        ..Default::default()
    });
    assert_eq!(changed(), Vec::<bool>::new(), "back as approved");
    edit(ProductPatch {
        price_idr: Some(2_100_000),
        ..Default::default()
    });
    assert_eq!(changed(), [true], "a new price");
    let steps = store
        .with_doc(&DocId::Curation("LAPAS-KENDAL".into()), |d| {
            schema::history(d, &chair.id)
        })
        .unwrap();
    assert_eq!(steps, [schema::Step::Hq(decision)]);
}
