//! An agent that knows several hub processes of one national hub (one database): it syncs with
//! the first, fails over when that one is gone, remembers the one that answered, and does not
//! move on when its token is refused (every hub would refuse it alike).

use karya_tests::memagent::{sample_sum, scrape};
use karya_tests::procs::{AgentDir, HubProcess, free_addr, get_json};

async fn syncs_answered(hub: &str) -> f64 {
    sample_sum(&scrape(hub).await, "karya_sync_duration_seconds_count", &[])
}

async fn token_failures(hub: &str) -> f64 {
    sample_sum(&scrape(hub).await, "karya_token_failures_total", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_fails_over_between_hub_processes_and_remembers_the_one_that_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-AMBON", "lapas", "Maluku");
    let viewer = HubProcess::issue(&db, "viewer", "Analis");
    let a_addr = free_addr();
    let a = HubProcess::start(&db, a_addr);
    let b = HubProcess::start(&db, free_addr());
    let (a_url, b_url) = (a.url(), b.url());

    let agent = AgentDir::new(&tmp.path().join("agent"));
    agent.ok(&[
        "init",
        "--upt",
        "LAPAS-AMBON",
        "--hub",
        &a_url,
        "--hub",
        &b_url,
        "--token",
        token.trim(),
    ]);
    let toml: toml::Value =
        toml::from_str(&std::fs::read_to_string(agent.dir.join("agent.toml")).unwrap()).unwrap();
    assert_eq!(
        toml["hub"],
        toml::Value::Array(vec![a_url.clone().into(), b_url.clone().into()]),
        "both hubs kept, in order"
    );
    let first = agent.add_product("Meja kayu", "900000");
    agent.ok(&["sync"]);
    assert!(
        syncs_answered(&a_url).await > 0.0,
        "the first hub is tried first"
    );
    assert_eq!(syncs_answered(&b_url).await, 0.0);

    // The first hub process dies (SIGKILL): the next sync goes to the second, at once.
    drop(a);
    let second = agent.add_product("Kursi rotan", "450000");
    let said = agent.ok(&["sync"]);
    assert!(said.contains("sinkron berhasil"), "{said}");
    let at_b = syncs_answered(&b_url).await;
    assert!(at_b > 0.0);
    let status = agent.status();
    assert!(status["last_error"].is_null(), "{status}");
    assert_eq!(status["hub"], format!("{a_url}, {b_url}"), "{status}");
    let products = tokio::task::block_in_place(|| {
        get_json(
            &format!("{b_url}/api/v1/products?upt=LAPAS-AMBON"),
            viewer.trim(),
        )
    });
    let ids = karya_tests::procs::field_of_each(&products["items"], "id");
    assert!(
        ids.contains(&first) && ids.contains(&second),
        "both products at the hub: {products}"
    );

    // The first comes back; the agent stays with the one that answered last.
    let a = HubProcess::start(&db, a_addr);
    agent.add_product("Lemari jati", "3500000");
    agent.ok(&["sync"]);
    assert_eq!(syncs_answered(&a.url()).await, 0.0, "remembered: {a_url}");
    assert!(syncs_answered(&b_url).await > at_b);

    // A refused token is the same at every hub: the agent says so and does not move on.
    let token_id = token.trim().split('_').nth(1).unwrap();
    HubProcess::admin(&db, &["token", "revoke", token_id]);
    let out = agent.run(&["sync"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token"), "{err}");
    assert_eq!(
        token_failures(&b_url).await,
        1.0,
        "refused by the hub it asked"
    );
    assert_eq!(
        token_failures(&a.url()).await,
        0.0,
        "and not asked again elsewhere"
    );
}
