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

/// A client whose timeout (2 s) a 1.2 s one-way delay outlasts, sending all in one request.
fn slow_client(url: &str, token: &str) -> karya_agent::client::HubClient {
    let client = karya_agent::client::HubClient::new(url, token, Duration::from_secs(2));
    client.set_rate(10_000_000.0);
    client
}

/// A request the hub merged whose reply never came back (a timeout on a slow link): the next
/// session asks first with a poll of the agent's heads, and sends nothing again.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_whose_reply_was_lost_is_not_sent_again() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-KEDUNGPANE", "lapas", "Jawa Tengah");
    let mut agent = Agent::new("LAPAS-KEDUNGPANE", &hub.url(), &token);
    agent.add_product("Keset sabut");
    agent.sync().await;

    // A link whose round trip (2.4 s) outlasts the agent's timeout (2 s): the request
    // arrives and is merged, the reply is too late.
    let slow = Proxy::start(
        hub.addr,
        Link {
            one_way_delay: Duration::from_millis(1200),
            bytes_per_sec: 0,
        },
    )
    .await
    .unwrap();
    for i in 0..60 {
        agent.add_product(&format!("Tas anyaman {i}"));
    }
    let direct = std::mem::replace(&mut agent.client, slow_client(&slow.url(), &token));
    let lost =
        karya_agent::client::sync_once(&agent.store, &agent.client, &agent.peer, agent.docs())
            .await
            .expect_err("the reply comes after the timeout");
    assert!(
        matches!(lost, karya_agent::client::SyncError::Network { .. }),
        "{lost:?}"
    );
    let at_hub = || {
        hub.row("SELECT COUNT(*) FROM products", rusqlite::params![], |r| {
            r.get::<_, i64>(0)
        })
    };
    for _ in 0..50 {
        if at_hub() == 61 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        at_hub(),
        61,
        "the hub merged the request whose reply was lost"
    );
    let pending = karya_agent::status::pending_changes(&agent.store, "LAPAS-KEDUNGPANE").unwrap();
    assert!(pending > 0, "the agent cannot know yet");

    // Back on a good link: one poll, answered 204, and nothing pending.
    agent.client = direct;
    let o = agent.sync().await;
    assert_eq!((o.round_trips, o.bytes_received), (1, 0), "{o:?}");
    assert!(o.bytes_sent < 200, "the products were sent again: {o:?}");
    assert_eq!(
        karya_agent::status::pending_changes(&agent.store, "LAPAS-KEDUNGPANE").unwrap(),
        0
    );
    // And the next session is an ordinary idle poll.
    let idle = agent.sync().await;
    assert_eq!((idle.round_trips, idle.bytes_received), (1, 0), "{idle:?}");

    // Lost again, with a product added after: the probe learns what the hub has and only the
    // new product goes up.
    for i in 0..60 {
        agent.add_product(&format!("Sapu ijuk {i}"));
    }
    let direct = std::mem::replace(&mut agent.client, slow_client(&slow.url(), &token));
    let first = {
        slow.counters.reset();
        let _ =
            karya_agent::client::sync_once(&agent.store, &agent.client, &agent.peer, agent.docs())
                .await
                .expect_err("too late again");
        slow.counters.up.load(std::sync::atomic::Ordering::Relaxed)
    };
    for _ in 0..50 {
        if at_hub() == 121 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(at_hub(), 121);
    agent.add_product("Sapu lidi");
    agent.client = direct;
    let o = agent.sync().await;
    assert!(
        o.bytes_sent * 4 < first,
        "the probe should leave only the new product to send: {} B now, {first} B for 60 products",
        o.bytes_sent
    );
    assert_eq!(at_hub(), 122);
    assert_eq!(
        karya_agent::status::pending_changes(&agent.store, "LAPAS-KEDUNGPANE").unwrap(),
        0
    );
}
