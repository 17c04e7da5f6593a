//! `karya-hub migrate --from FILE --to postgres://…`: a SQLite hub that served real agents
//! moves to PostgreSQL; the agents' next sync is one round trip with nothing to send, their
//! tokens and the curators' still work, the national view is the same, and a second
//! migration into the now non-empty database is refused with nothing changed.

use karya_tests::memagent::{Agent, get_json};
use karya_tests::pg::PgServer;
use karya_tests::procs::{HubProcess, decide, free_addr};
use std::path::Path;

/// A curator's decision, posted from a blocking thread (the helper runs a runtime of its own).
async fn decide_now(url: &str, token: &str, product: &str, status: &str, note: &str) {
    let (url, token, product, status, note) = (
        url.to_string(),
        token.to_string(),
        product.to_string(),
        status.to_string(),
        note.to_string(),
    );
    tokio::task::spawn_blocking(move || decide(&url, &token, &product, &status, &note))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_hub_moves_to_postgres_and_its_agents_notice_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("karya-hub.db");
    let codes = ["LAPAS-PATI", "LPKA-BANDUNG", "RUTAN-SORONG"];
    let tokens: Vec<String> = codes
        .iter()
        .map(|c| HubProcess::add_upt(&file, c, "lapas", "Jawa Tengah"))
        .collect();
    let viewer = HubProcess::issue(&file, "viewer", "Analis");
    let curator = HubProcess::issue(&file, "curator", "Kurator");
    let addr = free_addr();
    let mut hub = HubProcess::start(&file, addr);
    let url = hub.url();
    let mut agents: Vec<Agent> = codes
        .iter()
        .zip(&tokens)
        .map(|(c, t)| Agent::new(c, &url, t))
        .collect();
    let mut first = String::new();
    for (i, agent) in agents.iter_mut().enumerate() {
        for k in 0..5 {
            let id = agent.add_product(&format!("Produk {i}-{k}"));
            if first.is_empty() {
                first = id;
            }
        }
        assert!(agent.sync().await.refused.is_empty());
    }
    decide_now(&url, &curator, &first, "approved", "Layak pameran").await;
    for agent in agents.iter_mut() {
        agent.sync().await;
    }
    let (_, before) = get_json(&format!("{url}/api/v1/stats"), &viewer).await;
    hub.stop();

    // Move it.
    let server = PgServer::start();
    let pg = server.create_database("hub");
    let out = HubProcess::admin(
        &file,
        &["migrate", "--from", &file.to_string_lossy(), "--to", &pg],
    );
    assert!(out.contains("products: 15"), "{out}");
    assert!(out.contains("sync_states:"), "{out}");

    // The same address, now on PostgreSQL.
    let blobs = tmp.path().join("karya-hub.blobs");
    let hub = HubProcess::start_with_env(
        Path::new(&pg),
        addr,
        &[("KARYA_BLOBS_DIR", &blobs.to_string_lossy())],
    );
    let (status, after) = get_json(&format!("{url}/api/v1/stats"), &viewer).await;
    assert_eq!(status, 200, "the viewer's token moved with the hub");
    assert_eq!(after["national"], before["national"]);
    assert_eq!(after["national"]["products"], 15);
    for agent in agents.iter_mut() {
        let outcome = agent.sync().await;
        assert_eq!(
            outcome.round_trips, 1,
            "{}: the hub knows what it has: {outcome:?}",
            agent.upt
        );
        assert!(outcome.refused.is_empty());
    }
    // New work flows as before, and decisions still come down.
    let id = agents[1].add_product("Sesudah pindah");
    assert!(agents[1].sync().await.refused.is_empty());
    decide_now(&url, &curator, &id, "approved", "Dipercepat untuk pameran").await;
    let outcome = agents[1].sync().await;
    assert!(outcome.round_trips <= 2, "{outcome:?}");
    let (_, now) = get_json(&format!("{url}/api/v1/stats"), &viewer).await;
    assert_eq!(now["national"]["products"], 16);
    drop(hub);

    // A second migration into the same database is refused and changes nothing.
    let refused = HubProcess::hub_cmd(&file)
        .args(["migrate", "--from", &file.to_string_lossy(), "--to", &pg])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("already holds a hub"), "{said}");
    let products: i64 = std::thread::spawn(move || {
        server
            .client("hub")
            .query_one("SELECT COUNT(*) FROM products", &[])
            .unwrap()
            .get(0)
    })
    .join()
    .unwrap();
    assert_eq!(products, 16);
}

/// `serve` without `--create` on a PostgreSQL database that holds no hub (a wrong address)
/// refuses to start, creates nothing, and says what to check; with `--create` it starts.
#[test]
fn serve_refuses_an_empty_postgres_database_without_create() {
    let server = PgServer::start();
    let url = server.create_database("kosong");
    let tmp = tempfile::tempdir().unwrap();
    let blobs = tmp.path().join("blobs");
    let out = HubProcess::hub_cmd(Path::new(&url))
        .args(["serve", "--listen", &free_addr().to_string()])
        .env("KARYA_BLOBS_DIR", &blobs)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("holds no karya hub") && said.contains("--create"),
        "{said}"
    );
    let tables: i64 = server
        .client("kosong")
        .query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "nothing was created");
    let mut hub = HubProcess::hub_cmd(Path::new(&url))
        .args(["serve", "--create", "--listen", &free_addr().to_string()])
        .env("KARYA_BLOBS_DIR", &blobs)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let created = loop {
        let n: i64 = server
            .client("kosong")
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'karya_schema'",
                &[],
            )
            .unwrap()
            .get(0);
        if n == 1 || std::time::Instant::now() > deadline {
            break n == 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = hub.kill();
    let _ = hub.wait();
    assert!(created, "serve --create made the hub's tables");
}
