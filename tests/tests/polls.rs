//! Idle polls: an agent with nothing new sends a digest of its heads; the hub answers 204
//! when it has the same, and what the agent lacks when it does not — one round trip either
//! way, a few hundred bytes on the wire when idle.

use karya_hub::auth::Role;
use karya_tests::TestHub;
use karya_tests::memagent::Agent;
use karya_tests::proxy::{Link, Proxy};
use std::time::Duration;

async fn decide(hub: &TestHub, curator: &str, id: &str, note: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/curation/{id}", hub.url()))
        .bearer_auth(curator)
        .json(&serde_json::json!({"status": "approved", "note": note}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_poll_is_small_and_a_decision_comes_down_in_one_round_trip() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, curator) = hub.issue(Role::Curator, "Subdit Kegiatan Kerja");
    let proxy = Proxy::start(
        hub.addr,
        Link {
            one_way_delay: Duration::ZERO,
            bytes_per_sec: 0,
        },
    )
    .await
    .unwrap();
    let mut agent = Agent::new("LAPAS-PATI", &proxy.url(), &token);
    let a = agent.add_product("Batik tulis");
    let b = agent.add_product("Kursi jati");
    agent.sync().await;

    // Nothing new anywhere: one round trip, at most 400 bytes with the HTTP headers.
    proxy.counters.reset();
    let idle = agent.sync().await;
    let wire = proxy.counters.total();
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert_eq!(idle.changes_received, 0);
    assert!(wire <= 400, "an idle poll took {wire} B on the wire");
    assert_eq!(idle.bytes_received, 0, "204: no body");

    // A decision at the hub: the next poll brings it, in one round trip.
    decide(&hub, &curator, &a, "Motif khas Pati").await;
    proxy.counters.reset();
    let down = agent.sync().await;
    let first_decision = proxy.counters.total();
    assert_eq!(down.round_trips, 1, "{down:?}");
    assert!(down.changes_received >= 1, "{down:?}");
    let status: String = agent
        .store
        .conn()
        .query_row(
            "SELECT status FROM curation WHERE product_id = ?1",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "approved");

    // Idle again (the hub now knows the agent has the decision), then a second decision:
    // it comes down alone, not with the first one again.
    let idle = agent.sync().await;
    assert_eq!((idle.round_trips, idle.bytes_received), (1, 0), "{idle:?}");
    decide(&hub, &curator, &b, "Motif khas Pati").await;
    proxy.counters.reset();
    let down = agent.sync().await;
    let second_decision = proxy.counters.total();
    assert_eq!(down.round_trips, 1, "{down:?}");
    assert!(
        (second_decision as f64) < first_decision as f64 * 1.4,
        "the second decision's poll re-sent the first: {second_decision} B against {first_decision} B"
    );
    let n: i64 = agent
        .store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM curation WHERE status = 'approved'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2);

    // An edit at the UPT is not a poll: it goes up in one round trip as before.
    agent.add_product("Meja ukir");
    let up = agent.sync().await;
    assert_eq!(up.round_trips, 1, "{up:?}");
    assert!(up.bytes_received > 0);
    let idle = agent.sync().await;
    assert_eq!((idle.round_trips, idle.bytes_received), (1, 0), "{idle:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_remembers_that_the_hub_takes_polls_and_a_changed_hub_is_still_synced() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("RUTAN-SOLO", "rutan", "Jawa Tengah");
    let mut agent = Agent::new("RUTAN-SOLO", &hub.url(), &token);
    agent.add_product("Sandal kulit");
    agent.sync().await;
    assert_eq!(
        agent
            .store
            .meta(karya_agent::client::HUB_POLLS_KEY)
            .unwrap()
            .as_deref(),
        Some("1")
    );
    // A change the agent does not know of, made under the hub's own actor (a new UPT in
    // `national`): the poll's digest differs and the reply carries it.
    hub.add_upt("LAPAS-NUSAKAMBANGAN", "lapas", "Jawa Tengah");
    let o = agent.sync().await;
    assert_eq!(o.round_trips, 1, "{o:?}");
    assert!(o.changes_received >= 1, "{o:?}");
    let upts: i64 = agent
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM upts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(upts, 2);
}
