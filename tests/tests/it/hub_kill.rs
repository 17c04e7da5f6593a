//! The hub killed (SIGKILL) again and again while agents sync: no write it acknowledged is
//! lost, its database checks clean, and everything converges once it stays up.

use karya_agent::client::sync_once;
use karya_tests::memagent::Agent;
use karya_tests::procs::{HubProcess, free_addr};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KILLS: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_of_the_hub_during_syncs_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let codes = ["LAPAS-PATI", "RUTAN-SOLO", "LPKA-BLITAR"];
    let tokens: Vec<String> = codes
        .iter()
        .map(|c| HubProcess::add_upt(&db, c, "lapas", "Jawa Tengah"))
        .collect();
    let addr = free_addr();
    let url = format!("http://{addr}");
    let mut hub = Some(HubProcess::start(&db, addr));

    // Each agent adds a product and syncs, over and over; the ids the hub acknowledged (a
    // sync that returned OK after the product was stored) are kept.
    let acknowledged: Arc<Mutex<BTreeSet<String>>> = Default::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for (code, token) in codes.iter().zip(&tokens) {
        let mut a = Agent::new(code, &url, token);
        a.client = karya_agent::client::HubClient::new(&url, token, Duration::from_secs(5));
        let acknowledged = acknowledged.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut pending = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                pending.push(a.add_product("Produk"));
                let docs = a.docs();
                if sync_once(&a.store, &a.client, &a.peer, docs).await.is_ok() {
                    acknowledged.lock().unwrap().extend(pending.drain(..));
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            a
        }));
    }

    for i in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(80 + (i as u64 * 37) % 150)).await;
        drop(hub.take()); // SIGKILL
        hub = Some(HubProcess::start(&db, addr));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut agents = Vec::new();
    for w in workers {
        agents.push(w.await.unwrap());
    }

    // Before anyone syncs again: every acknowledged product is in the restarted hub's
    // database, and the database checks clean.
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 10, "syncs got through between kills");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let at_hub: BTreeSet<String> = conn
            .prepare("SELECT id FROM products")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let lost: Vec<&String> = acknowledged.difference(&at_hub).collect();
        assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    }

    // With the hub up, everything converges.
    for a in agents.iter_mut() {
        let docs = a.docs();
        sync_once(&a.store, &a.client, &a.peer, docs).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    for a in &agents {
        let mine: i64 = a
            .store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM products WHERE upt = ?1",
                [&a.upt],
                |r| r.get(0),
            )
            .unwrap();
        let theirs: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM products WHERE upt = ?1",
                [&a.upt],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(mine, theirs, "{}", a.upt);
    }
    drop(hub);
}
