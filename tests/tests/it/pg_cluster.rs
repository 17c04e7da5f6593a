//! Three hub processes on one PostgreSQL database (a server the test starts): agents spread
//! over them with every process in their list; one process is SIGKILLed before or during each of 20
//! storms of syncs. Every sync fails over and succeeds, nothing a hub acknowledged is lost,
//! the killed process comes back and serves, every record converges, the national view is the
//! same from each process, and the database checks out (every document loads, its products
//! are its rows).

use karya_agent::client::{HubClient, sync_once};
use karya_shared::DocId;
use karya_tests::memagent::{Agent, get_json};
use karya_tests::pg::PgServer;
use karya_tests::procs::{HubProcess, free_addr};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const UPTS: [&str; 6] = [
    "LAPAS-AMBON",
    "LAPAS-PATI",
    "RUTAN-MEDAN",
    "LPKA-BANDUNG",
    "LAPAS-KUPANG",
    "RUTAN-SORONG",
];

/// Products of `upt` in the hub's database, counted on a thread of its own (the synchronous
/// client may not run inside the test's async task).
fn stored_products(server: &PgServer, upt: &str) -> i64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            server
                .client("hub")
                .query_one(
                    "SELECT COUNT(*) FROM products WHERE upt = $1 AND deleted = 0",
                    &[&upt],
                )
                .unwrap()
                .get(0)
        })
        .join()
        .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hub_processes_on_one_database_converge_and_survive_sigkills() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    let db = Path::new(&url);
    let tmp = tempfile::tempdir().unwrap();
    let blobs = tmp.path().join("blobs").to_string_lossy().into_owned();
    let env = [("KARYA_BLOBS_DIR", blobs.as_str())];

    // The admin CLI on the PostgreSQL database: registers the UPTs, issues a viewer.
    let tokens: Vec<String> = UPTS
        .iter()
        .map(|code| HubProcess::add_upt(db, code, "lapas", "Maluku"))
        .collect();
    let viewer = HubProcess::issue(db, "viewer", "Analis");
    let addrs: Vec<_> = (0..3).map(|_| free_addr()).collect();
    let mut hubs: Vec<Option<HubProcess>> = addrs
        .iter()
        .map(|a| Some(HubProcess::start_with_env(db, *a, &env)))
        .collect();
    let urls: Vec<String> = addrs.iter().map(|a| format!("http://{a}")).collect();

    // Each agent starts at a different process and knows all three.
    let mut agents: Vec<Agent> = UPTS
        .iter()
        .zip(&tokens)
        .enumerate()
        .map(|(i, (code, token))| {
            let mut agent = Agent::new(code, &urls[i % 3], token);
            let mut order = urls.clone();
            order.rotate_left(i % 3);
            agent.client = HubClient::with_hubs(&order, token, Duration::from_secs(10), None);
            agent
        })
        .collect();

    let mut acknowledged: HashMap<String, i64> = HashMap::new();
    // Syncs that ended at another process than they started with (failovers).
    let mut moved = 0;
    for round in 0..20usize {
        for agent in agents.iter_mut() {
            agent.add_product(&format!("Produk {round}-a"));
            agent.add_product(&format!("Produk {round}-b"));
        }
        let before: Vec<String> = agents.iter().map(|a| a.client.current_hub()).collect();
        // Odd rounds kill the busiest process before the storm, so that failovers happen
        // whatever the machine's speed (at least 2 of 6 agents start there); even rounds
        // kill one in the middle of the syncs, wherever they are by then.
        let early = round % 2 == 1;
        let victim = if early {
            (0..3)
                .max_by_key(|i| before.iter().filter(|b| **b == urls[*i]).count())
                .unwrap()
        } else {
            round % 3
        };
        if early {
            drop(hubs[victim].take()); // SIGKILL
        }
        let shared: Vec<Arc<Agent>> = agents.drain(..).map(Arc::new).collect();
        let mut storm = tokio::task::JoinSet::new();
        for agent in &shared {
            let agent = agent.clone();
            storm.spawn(async move {
                let docs = agent.docs();
                let outcome = sync_once(&agent.store, &agent.client, &agent.peer, docs).await;
                (agent.upt.clone(), outcome)
            });
        }
        if !early {
            // One process dies in the middle of it.
            tokio::time::sleep(Duration::from_millis(5 + (round as u64 * 13) % 40)).await;
            drop(hubs[victim].take()); // SIGKILL
        }
        while let Some(done) = storm.join_next().await {
            let (upt, outcome) = done.unwrap();
            let outcome = outcome.unwrap_or_else(|e| {
                panic!("round {round}: {upt}'s sync failed instead of failing over: {e}")
            });
            assert!(outcome.refused.is_empty(), "{outcome:?}");
            // Everything it had is acknowledged by a hub: 2 products per round so far.
            acknowledged.insert(upt, 2 * (round as i64 + 1));
        }
        for (upt, n) in &acknowledged {
            assert!(
                stored_products(&server, upt) >= *n,
                "round {round}: products {upt} had acknowledged are not in the database"
            );
        }
        agents = shared
            .into_iter()
            .map(|a| Arc::into_inner(a).expect("the storm is over"))
            .collect();
        moved += agents
            .iter()
            .zip(&before)
            .filter(|(a, was)| a.client.current_hub() != **was)
            .count();
        // The killed process restarts on its address and serves.
        hubs[victim] = Some(HubProcess::start_with_env(db, addrs[victim], &env));
    }

    // 10 early kills move at least 2 agents each.
    assert!(moved >= 20, "too few failovers to prove anything: {moved}");

    // Everything converges; every process shows the same national view.
    for _ in 0..2 {
        for agent in agents.iter_mut() {
            assert!(agent.sync().await.refused.is_empty());
        }
    }
    let mut views = Vec::new();
    for hub in &urls {
        let (status, stats) = get_json(&format!("{hub}/api/v1/stats"), &viewer).await;
        assert_eq!(status, 200, "{hub}");
        views.push(stats["national"].clone());
    }
    assert_eq!(views[0]["products"], 240, "{}", views[0]);
    assert!(views.iter().all(|v| *v == views[0]), "{views:?}");

    // The database checks out: every document loads and equals the agent's, and its
    // products are exactly its rows.
    let store = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            karya_shared::store::AnyStore::open_any(&url, None, Some(karya_hub::db::PG_SCHEMA), 2)
                .unwrap()
        }
    })
    .await
    .unwrap();
    for agent in &agents {
        let doc = DocId::Upt(agent.upt.clone());
        let mut at_hub = store.heads(&doc).unwrap();
        let mut at_agent = agent.store.heads(&doc).unwrap();
        at_hub.sort();
        at_agent.sort();
        assert_eq!(at_hub, at_agent, "{} converged", agent.upt);
        let in_doc = store
            .with_doc(&doc, |d| {
                karya_shared::schema::record_keys(d)
                    .into_iter()
                    .filter(|k| k.is(karya_shared::model::Product::KIND))
                    .count()
            })
            .unwrap();
        assert_eq!(in_doc, 40);
        assert_eq!(stored_products(&server, &agent.upt), 40, "{}", agent.upt);
    }
    drop(hubs);
}
