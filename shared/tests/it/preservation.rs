//! No acknowledged value is lost: whatever several replicas of one UPT write concurrently
//! (the office PC and a workshop laptop, both offline), after they sync in any order every
//! value each one wrote last is still visible (shown, or beside it as a conflict) on every
//! replica and at the hub. "All replicas equal" is not enough: two maps made under one key
//! converge too, with one side's fields hidden.

use crate::common;

use karya_shared::model::{Participant, ProductPatch, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::{Store, pseudonym};
use proptest::prelude::*;
use std::collections::BTreeMap;

const UPT: &str = "LAPAS-PATI";

fn doc() -> DocId {
    DocId::Upt(UPT.into())
}

fn sync(agent: &Store, hub: &Store, peer: &str) {
    let o = common::sync_with_hub(agent, hub, UPT, peer, None);
    assert!(o.refused.is_empty(), "{o:?}");
}

#[test]
fn two_pcs_enrolling_one_inmate_offline_keep_both_sides_data() {
    // Which side's map Automerge shows depends on the actor ids: the completion is made on
    // one PC, then on the other, so one run always has it on the hidden side.
    two_pcs_enrol(false);
    two_pcs_enrol(true);
}

fn two_pcs_enrol(swap: bool) {
    let hub = Store::open_in_memory(None).unwrap();
    let (mut a, mut b) = (
        Store::open_in_memory(None).unwrap(),
        Store::open_in_memory(None).unwrap(),
    );
    if swap {
        std::mem::swap(&mut a, &mut b);
    }
    let t = common::training("Menjahit dasar");
    a.change(&doc(), |d| schema::insert_training(d, &t))
        .unwrap();
    sync(&a, &hub, "a");
    sync(&b, &hub, "b");
    let who = pseudonym::pseudonym(b"secret", "BI.2024.001");
    let enrol = |status: &str, cert: &str, hours: i64| Participant {
        training_id: t.id.clone(),
        pseudonym: who.clone(),
        enrolled_at: now_rfc3339(),
        hours_attended: hours,
        status: status.parse().unwrap(),
        certificate: cert.into(),
    };
    // Both PCs enrol the inmate offline; the workshop laptop also records the completion.
    a.change(&doc(), |d| {
        schema::upsert_participant(d, &enrol("enrolled", "", 0))
    })
    .unwrap();
    b.change(&doc(), |d| {
        schema::upsert_participant(d, &enrol("enrolled", "", 0))
    })
    .unwrap();
    b.change(&doc(), |d| {
        schema::upsert_participant(d, &enrol("completed", "CERT-77", 40))
    })
    .unwrap();
    for (s, peer) in [(&a, "a"), (&b, "b"), (&a, "a")] {
        sync(s, &hub, peer);
    }
    for store in [&a, &b, &hub] {
        let p = store
            .with_doc(&doc(), |d| schema::read_participant(d, &t.id, &who))
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.status.as_str(), p.certificate.as_str(), p.hours_attended),
            ("completed", "CERT-77", 40)
        );
        let (status, cert): (String, String) = store
            .conn()
            .query_row(
                "SELECT status, certificate FROM participants WHERE training_id = ?1",
                [&t.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), cert.as_str()), ("completed", "CERT-77"));
    }
    // A later edit on one PC settles it everywhere.
    a.change(&doc(), |d| {
        schema::upsert_participant(d, &enrol("dropped", "", 40))
    })
    .unwrap();
    for (s, peer) in [(&a, "a"), (&b, "b")] {
        sync(s, &hub, peer);
    }
    let key = Participant::doc_key(&t.id, &who);
    let seen = b
        .with_doc(&doc(), |d| schema::visible_values(d, &key, "status"))
        .unwrap();
    assert_eq!(seen, [serde_json::json!("dropped")]);
}

/// One write of one replica, in the concurrent round.
#[derive(Debug, Clone)]
enum Write {
    /// A product field (0: price, 1: name, 2: nominated).
    Product {
        product: usize,
        field: u8,
        value: i64,
    },
    /// An enrolment of inmate `who` in the training, with a status and hours.
    Enrol { who: u8, status: u8, hours: i64 },
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (0usize..3, 0u8..3, 1i64..1000).prop_map(|(product, field, value)| Write::Product {
            product,
            field,
            value
        }),
        (0u8..3, 0u8..3, 0i64..50).prop_map(|(who, status, hours)| Write::Enrol {
            who,
            status,
            hours
        }),
    ]
}

/// The value a field shows at a replica now.
fn shown(store: &Store, key: &str, field: &str) -> Option<serde_json::Value> {
    store
        .with_doc(&doc(), |d| schema::visible_values(d, key, field))
        .unwrap()
        .into_iter()
        .next()
}

const STATUSES: [&str; 3] = ["enrolled", "completed", "dropped"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
    ))]
    /// Three PCs of one UPT start from the same records, write concurrently, then sync in a
    /// random order until settled. Each (record, field)'s last value from each PC is visible
    /// on every replica and at the hub.
    #[test]
    fn concurrent_writes_are_never_lost(
        writes in proptest::collection::vec((0usize..3, write()), 1..24),
        order in proptest::collection::vec(0usize..3, 3..12),
    ) {
        let hub = Store::open_in_memory(None).unwrap();
        let pcs: Vec<Store> = (0..3).map(|_| Store::open_in_memory(None).unwrap()).collect();
        let t = common::training("Las listrik");
        let products: Vec<_> = (0..3).map(|i| common::product(&format!("P{i}"), 1000, 1)).collect();
        pcs[0].change(&doc(), |d| {
            schema::insert_training(d, &t)?;
            for p in &products {
                schema::insert_product(d, p)?;
            }
            Ok(())
        }).unwrap();
        for (i, pc) in pcs.iter().enumerate() {
            sync(pc, &hub, &format!("pc{i}"));
        }
        sync(&pcs[0], &hub, "pc0");
        let now = now_rfc3339();
        // (record key, field) -> (pc -> the last value it wrote)
        let mut last: BTreeMap<(String, String), BTreeMap<usize, serde_json::Value>> = BTreeMap::new();
        for (pc, w) in &writes {
            let store = &pcs[*pc];
            match w {
                Write::Product { product, field, value } => {
                    let p = &products[*product];
                    let (name, patch, json) = match field {
                        0 => ("price_idr", ProductPatch { price_idr: Some(*value), ..Default::default() }, serde_json::json!(value)),
                        1 => ("name", ProductPatch { name: Some(format!("N{value}")), ..Default::default() }, serde_json::json!(format!("N{value}"))),
                        _ => ("nominated", ProductPatch { nominated: Some(value % 2 == 0), ..Default::default() }, serde_json::json!(value % 2 == 0)),
                    };
                    let key = karya_shared::model::Product::doc_key(&p.id);
                    // Writing the value a field already shows writes nothing: no intent to keep.
                    if shown(store, &key, name).as_ref() != Some(&json) {
                        last.entry((key, name.into())).or_default().insert(*pc, json);
                    }
                    store.change(&doc(), |d| schema::edit_product(d, &p.id, &patch, &now)).unwrap();
                }
                Write::Enrol { who, status, hours } => {
                    let pseudonym = format!("{who:064x}");
                    let p = Participant {
                        training_id: t.id.clone(),
                        pseudonym: pseudonym.clone(),
                        enrolled_at: now.clone(),
                        hours_attended: *hours,
                        status: STATUSES[*status as usize].parse().unwrap(),
                        certificate: String::new(),
                    };
                    let key = Participant::doc_key(&t.id, &pseudonym);
                    for (field, json) in [
                        ("status", serde_json::json!(STATUSES[*status as usize])),
                        ("hours_attended", serde_json::json!(hours)),
                    ] {
                        if shown(store, &key, field).as_ref() != Some(&json) {
                            last.entry((key.clone(), field.into())).or_default().insert(*pc, json);
                        }
                    }
                    store.change(&doc(), |d| schema::upsert_participant(d, &p)).unwrap();
                }
            }
        }
        // Sync in the given order, then everyone twice more: settled.
        for pc in order.iter().chain([0, 1, 2, 0, 1, 2].iter()) {
            sync(&pcs[*pc], &hub, &format!("pc{pc}"));
        }
        for ((key, field), by_pc) in &last {
            for store in pcs.iter().chain([&hub]) {
                let seen = store.with_doc(&doc(), |d| schema::visible_values(d, key, field)).unwrap();
                for (pc, value) in by_pc {
                    prop_assert!(
                        seen.contains(value),
                        "{key}.{field}: pc{pc} wrote {value}, visible: {seen:?}"
                    );
                }
            }
        }
    }
}
