//! Faults on the wire: agents of several UPTs (two PCs each) edit and sync through a proxy
//! that drops 20 % of connections and cuts another 20 % part-way (requests and replies);
//! every write stored at a UPT reaches the hub and everything converges.

use karya_agent::client::sync_once;
use karya_shared::DocId;
use karya_tests::TestHub;
use karya_tests::memagent::Agent;
use karya_tests::proxy::{Faults, Link, Proxy};

/// Syncs until a sync succeeds, as the service retries; returns the failed attempts.
async fn sync_until_ok(a: &mut Agent) -> u32 {
    let mut failed = 0;
    loop {
        let docs = a.docs();
        match sync_once(&a.store, &a.client, &a.peer, docs).await {
            Ok(o) => {
                assert!(o.refused.is_empty(), "{o:?}");
                return failed;
            }
            Err(e) => {
                failed += 1;
                assert!(failed < 200, "a sync never got through: {e}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_converge_through_dropped_and_truncated_connections() {
    let hub = TestHub::start().await;
    let faults = Faults {
        drop_per_mille: 200,
        truncate_per_mille: 200,
        ..Default::default()
    };
    let proxy = Proxy::start_faulty(hub.addr, Link::default(), faults)
        .await
        .unwrap();
    let mut agents = Vec::new();
    for (code, kind, kanwil) in [
        ("LAPAS-PATI", "lapas", "Jawa Tengah"),
        ("RUTAN-SOLO", "rutan", "Jawa Tengah"),
        ("LPKA-BLITAR", "lpka", "Jawa Timur"),
    ] {
        let token = hub.add_upt(code, kind, kanwil);
        for _ in 0..2 {
            agents.push(Agent::new(code, &proxy.url(), &token));
        }
    }
    let mut added = 0;
    let mut failed = 0;
    for round in 0..6 {
        for (i, a) in agents.iter_mut().enumerate() {
            a.add_product(&format!("Produk {round}-{i}"));
            added += 1;
            failed += sync_until_ok(a).await;
        }
    }
    // Everyone syncs again until nothing is left to exchange.
    for _ in 0..2 {
        for a in agents.iter_mut() {
            failed += sync_until_ok(a).await;
        }
    }
    assert!(failed > 0, "the proxy did inject faults");

    let hub_store = hub.admin_store();
    for a in &agents {
        let doc = DocId::Upt(a.upt.clone());
        let mut mine = a.store.heads(&doc).unwrap();
        let mut theirs = hub_store.heads(&doc).unwrap();
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs, "{} converged with the hub", a.upt);
    }
    let at_hub: i64 = hub.row("SELECT COUNT(*) FROM products", rusqlite::params![], |r| {
        r.get(0)
    });
    assert_eq!(at_hub, added, "every write stored at a UPT reached the hub");
}
