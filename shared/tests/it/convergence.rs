//! Convergence: several replicas of one UPT (the office PC, the workshop laptop, ...) and the
//! hub, random edits of every kind (the hub's curation decisions among them), random sync
//! order; at the end every replica has the same heads, the same materialized tables, and every
//! stock equals the sum of its increments. The hub's side is the hub's own server half
//! ([`karya_shared::server::serve`]) with the write authority of an agent of the UPT.

use crate::common;

use karya_shared::model::{
    CurationDecision, CurationStatus, Participant, ParticipantStatus, ProductPatch, Sale, new_id,
    now_rfc3339,
};
use karya_shared::schema::{self, DocId};
use karya_shared::{Store, pseudonym};
use proptest::prelude::*;
use std::collections::HashMap;

const REPLICAS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    AddProduct {
        r: usize,
        price: i64,
        stock: i64,
    },
    EditPrice {
        r: usize,
        pick: usize,
        price: i64,
    },
    Rename {
        r: usize,
        pick: usize,
        n: u8,
    },
    Delete {
        r: usize,
        pick: usize,
    },
    Stock {
        r: usize,
        pick: usize,
        delta: i64,
    },
    Sale {
        r: usize,
        pick: usize,
        qty: i64,
    },
    AddTraining {
        r: usize,
    },
    Enroll {
        r: usize,
        pick: usize,
        person: u8,
    },
    Complete {
        r: usize,
        pick: usize,
        person: u8,
    },
    /// An HQ curator decides on a product the hub has.
    Decide {
        pick: usize,
        approve: bool,
    },
    Sync {
        r: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    prop_oneof![
        (r.clone(), 0i64..1_000_000, 0i64..50).prop_map(|(r, price, stock)| Op::AddProduct {
            r,
            price,
            stock
        }),
        (r.clone(), any::<usize>(), 0i64..1_000_000).prop_map(|(r, pick, price)| Op::EditPrice {
            r,
            pick,
            price
        }),
        (r.clone(), any::<usize>(), any::<u8>()).prop_map(|(r, pick, n)| Op::Rename { r, pick, n }),
        (r.clone(), any::<usize>()).prop_map(|(r, pick)| Op::Delete { r, pick }),
        (r.clone(), any::<usize>(), -20i64..40).prop_map(|(r, pick, delta)| Op::Stock {
            r,
            pick,
            delta
        }),
        (r.clone(), any::<usize>(), 1i64..10).prop_map(|(r, pick, qty)| Op::Sale { r, pick, qty }),
        r.clone().prop_map(|r| Op::AddTraining { r }),
        (r.clone(), any::<usize>(), 0u8..6).prop_map(|(r, pick, person)| Op::Enroll {
            r,
            pick,
            person
        }),
        (r.clone(), any::<usize>(), 0u8..6).prop_map(|(r, pick, person)| Op::Complete {
            r,
            pick,
            person
        }),
        (any::<usize>(), any::<bool>()).prop_map(|(pick, approve)| Op::Decide { pick, approve }),
        r.prop_map(|r| Op::Sync { r }),
    ]
}

const UPT: &str = "LAPAS-PATI";

/// The hub's vouch key, one for the whole test run.
static HUB_KEY: std::sync::LazyLock<karya_shared::vouch::HeadsKey> =
    std::sync::LazyLock::new(karya_shared::vouch::HeadsKey::generate);

/// One agent sync of every document the UPT replicates, against the hub's server half
/// (polls and vouches included: a session with nothing new starts with one).
fn sync(agent: &Store, hub: &Store, peer: &str) {
    let o = common::sync_with_hub(agent, hub, UPT, peer, Some(&HUB_KEY));
    assert!(o.refused.is_empty());
}

fn pick(ids: &[String], n: usize) -> Option<String> {
    (!ids.is_empty()).then(|| ids[n % ids.len()].clone())
}

fn ids(
    store: &mut Store,
    doc: &DocId,
    prefix: fn(&schema::RecordKey) -> Option<String>,
) -> Vec<String> {
    let mut v: Vec<String> = store
        .with_doc(doc, |d| {
            schema::record_keys(d).iter().filter_map(prefix).collect()
        })
        .unwrap();
    v.sort();
    v
}

fn product_ids(store: &mut Store, doc: &DocId) -> Vec<String> {
    ids(store, doc, |k| {
        k.is(karya_shared::model::Product::KIND)
            .then(|| k.id.clone())
    })
}

fn training_ids(store: &mut Store, doc: &DocId) -> Vec<String> {
    ids(store, doc, |k| {
        k.is(karya_shared::model::Training::KIND)
            .then(|| k.id.clone())
    })
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let doc = DocId::Upt(UPT.into());
    let curation = DocId::Curation(UPT.into());
    let mut replicas: Vec<Store> = (0..REPLICAS)
        .map(|_| Store::open_in_memory(None).unwrap())
        .collect();
    let mut hub = Store::open_in_memory(None).unwrap();
    hub.set_change_log(true);
    let secret = b"upt-secret";
    // product id -> sum of every increment that was acknowledged, initial stock included.
    let mut expected_stock: HashMap<String, i64> = HashMap::new();
    let now = now_rfc3339();

    for op in ops {
        match op {
            Op::AddProduct { r, price, stock } => {
                let p = common::product("Produk", price, stock);
                replicas[r]
                    .change(&doc, |d| schema::insert_product(d, &p))
                    .unwrap();
                expected_stock.insert(p.id.to_string(), stock);
            }
            Op::EditPrice { r, pick: n, price } => {
                if let Some(id) = pick(&product_ids(&mut replicas[r], &doc), n) {
                    let patch = ProductPatch {
                        price_idr: Some(price),
                        ..Default::default()
                    };
                    replicas[r]
                        .change(&doc, |d| schema::edit_product(d, &id, &patch, &now))
                        .unwrap();
                }
            }
            Op::Rename {
                r,
                pick: n,
                n: name,
            } => {
                if let Some(id) = pick(&product_ids(&mut replicas[r], &doc), n) {
                    let patch = ProductPatch {
                        name: Some(format!("Produk {name}")),
                        ..Default::default()
                    };
                    replicas[r]
                        .change(&doc, |d| schema::edit_product(d, &id, &patch, &now))
                        .unwrap();
                }
            }
            Op::Delete { r, pick: n } => {
                if let Some(id) = pick(&product_ids(&mut replicas[r], &doc), n) {
                    replicas[r]
                        .change(&doc, |d| schema::delete_product(d, &id, &now))
                        .unwrap();
                }
            }
            Op::Stock { r, pick: n, delta } => {
                if let Some(id) = pick(&product_ids(&mut replicas[r], &doc), n) {
                    // Taking stock below zero is refused locally; only acknowledged
                    // increments count.
                    if replicas[r]
                        .change(&doc, |d| schema::add_stock(d, &id, delta, &now))
                        .is_ok()
                    {
                        *expected_stock.get_mut(&id).unwrap() += delta;
                    }
                }
            }
            Op::Sale { r, pick: n, qty } => {
                if let Some(id) = pick(&product_ids(&mut replicas[r], &doc), n) {
                    let s = Sale {
                        id: new_id().into(),
                        product_id: id.into(),
                        date: time::macros::date!(2026 - 05 - 01),
                        quantity: qty,
                        revenue_idr: qty * 1000,
                        channel: karya_shared::model::SaleChannel::Toko,
                        created_at: now.clone(),
                        stock_taken: Default::default(),
                    };
                    replicas[r]
                        .change(&doc, |d| schema::insert_sale(d, &s))
                        .unwrap();
                }
            }
            Op::AddTraining { r } => {
                let t = common::training("Menjahit");
                replicas[r]
                    .change(&doc, |d| schema::insert_training(d, &t))
                    .unwrap();
            }
            Op::Enroll { r, pick: n, person } | Op::Complete { r, pick: n, person } => {
                let completing = matches!(op, Op::Complete { .. });
                if let Some(tid) = pick(&training_ids(&mut replicas[r], &doc), n) {
                    let p = Participant {
                        training_id: tid.into(),
                        pseudonym: pseudonym::pseudonym(secret, &format!("REG {person}")),
                        enrolled_at: "2026-01-05".into(),
                        hours_attended: if completing { 40 } else { 0 },
                        status: if completing {
                            ParticipantStatus::Completed
                        } else {
                            ParticipantStatus::Enrolled
                        },
                        certificate: String::new(),
                    };
                    replicas[r]
                        .change(&doc, |d| schema::upsert_participant(d, &p))
                        .unwrap();
                }
            }
            Op::Decide { pick: n, approve } => {
                if let Some(id) = pick(&product_ids(&mut hub, &doc), n) {
                    let decision = CurationDecision {
                        product_id: id.into(),
                        status: if approve {
                            CurationStatus::Approved
                        } else {
                            CurationStatus::Rejected
                        },
                        note: String::new(),
                        decided_by: "kurator".into(),
                        decided_at: now.clone(),
                        ..Default::default()
                    };
                    hub.change(&curation, |d| schema::put_decision(d, &decision))
                        .unwrap();
                }
            }
            Op::Sync { r } => sync(&replicas[r], &hub, &format!("agent-{r}")),
        }
    }
    // Everyone syncs twice, in turn: after that every replica has seen every change.
    for _ in 0..2 {
        for (r, replica) in replicas.iter_mut().enumerate() {
            sync(replica, &hub, &format!("agent-{r}"));
        }
    }

    let hub_heads = {
        let mut h = hub.heads(&doc).unwrap();
        h.sort();
        h
    };
    let hub_tables = hub.backend().dump_materialized().unwrap();
    let mut hub_decisions = hub.heads(&curation).unwrap();
    hub_decisions.sort();
    for replica in replicas.iter_mut() {
        let mut heads = replica.heads(&doc).unwrap();
        heads.sort();
        prop_assert_eq!(&heads, &hub_heads);
        let mut decisions = replica.heads(&curation).unwrap();
        decisions.sort();
        prop_assert_eq!(
            &decisions,
            &hub_decisions,
            "the hub's decisions reached every replica"
        );
        prop_assert_eq!(&replica.backend().dump_materialized().unwrap(), &hub_tables);
    }
    let stock: HashMap<String, i64> = hub
        .conn()
        .prepare("SELECT id, stock FROM products")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    prop_assert_eq!(stock, expected_stock);

    // The hub's change log holds every change it has, once, with where it came from: the
    // agents' changes with the peer and token that first brought them, the curators' own.
    let logged: Vec<(String, String, String, String, String)> = hub
        .conn()
        .prepare("SELECT doc, upt, hash, peer, token FROM change_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for id in [&doc, &curation] {
        let mut stored: Vec<String> = hub
            .with_doc(id, |d| {
                d.get_changes(&[])
                    .iter()
                    .map(|c| c.hash().to_string())
                    .collect()
            })
            .unwrap();
        stored.sort();
        let mut in_log: Vec<String> = logged
            .iter()
            .filter(|l| l.0 == id.to_string())
            .map(|l| l.2.clone())
            .collect();
        in_log.sort();
        prop_assert_eq!(in_log, stored, "every change of {} logged once", id);
    }
    for (d, upt, _, peer, token) in &logged {
        prop_assert_eq!(upt, UPT);
        if *d == curation.to_string() {
            prop_assert_eq!((peer.as_str(), token.as_str()), ("local", ""));
        } else {
            prop_assert_eq!(peer, &format!("{UPT}/{token}"));
            prop_assert!(token.starts_with("agent-"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn replicas_converge(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
