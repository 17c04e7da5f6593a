//! The hub's core under stress and faults, over real HTTP: a panic while merging one document,
//! a full hub shedding load, reads while the database is locked for writing, pages, and one
//! product per (UPT, id).

use karya_agent::client::{SyncError, sync_once};
use karya_hub::auth::Role;
use karya_shared::model::{CurationDecision, Training, new_id, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_tests::TestHub;
use karya_tests::memagent::{Agent, get_body, get_json, product};
use karya_tests::procs::field_of_each;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

async fn metrics(hub: &TestHub) -> String {
    reqwest::get(format!("{}/metrics", hub.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_while_merging_one_document_refuses_it_and_the_hub_serves_on() {
    let hub = TestHub::start().await;
    let ta = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let tb = hub.add_upt("RUTAN-KUDUS", "rutan", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &ta);
    let mut b = Agent::new("RUTAN-KUDUS", &hub.url(), &tb);

    // The test-only fault hook: merging LAPAS-PATI's document panics, as Automerge can on
    // some sync messages.
    let armed = Arc::new(AtomicBool::new(true));
    let poisoned = DocId::Upt("LAPAS-PATI".into());
    {
        let armed = armed.clone();
        let poisoned = poisoned.clone();
        hub.state
            .db
            .replica()
            .set_fault_hook(Some(Arc::new(move |doc: &DocId| {
                if armed.load(Ordering::SeqCst) && *doc == poisoned {
                    panic!("injected fault while merging {doc}");
                }
            })));
    }
    let batik = a.add_product("Batik tulis");
    let outcome = a.sync().await;
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    assert_eq!(outcome.refused[0].doc, "upt/LAPAS-PATI");
    assert!(
        outcome.refused[0].reason.contains("internal error"),
        "{outcome:?}"
    );
    // The other documents of the same batch were served: the national registry came down.
    let registered: i64 = a
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM upts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(registered, 2, "national synced in the same batch");
    // Nothing of the panicking document is at the hub, and its copy was dropped.
    assert!(!hub.state.db.replica().is_loaded(&poisoned));
    let (_, page) = get_json(
        &format!("{}/api/v1/products?upt=LAPAS-PATI", hub.url()),
        &viewer,
    )
    .await;
    assert_eq!(page["total"], 0, "{page}");
    let m = metrics(&hub).await;
    assert_eq!(metric(&m, "karya_merge_panics_total"), 1.0);

    // Every later request is served: another UPT syncs, health answers.
    b.add_product("Kursi jati");
    let other = b.sync().await;
    assert!(other.refused.is_empty(), "{other:?}");
    let health = reqwest::get(format!("{}/healthz", hub.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // With the fault gone, the same agent's next sync merges on the same hub process.
    armed.store(false, Ordering::SeqCst);
    let again = a.sync().await;
    assert!(again.refused.is_empty(), "{again:?}");
    let (_, p) = get_json(&format!("{}/api/v1/products/{batik}", hub.url()), &viewer).await;
    assert_eq!(p["name"], "Batik tulis", "{p}");
    let (_, page) = get_json(&format!("{}/api/v1/products", hub.url()), &viewer).await;
    assert_eq!(page["total"], 2, "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_at_its_bound_answers_503_with_retry_after_and_the_agent_waits_that_long() {
    let hub = TestHub::start_configured(karya_hub::Config {
        max_concurrent_syncs: 0,
        max_queued_syncs: 0,
        retry_after_secs: 42,
        ..Default::default()
    })
    .await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    a.add_product("Batik tulis");
    let docs = a.docs();
    let err = sync_once(&a.store, &a.client, &a.peer, docs)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Server { status: 503, .. }),
        "{err}"
    );
    assert!(!err.is_permanent(), "a busy hub is worth retrying");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(42)));
    assert_eq!(
        err.retry_delay(Duration::from_secs(5)),
        Duration::from_secs(42),
        "Retry-After is the floor of the next attempt"
    );
    assert!(err.to_string().contains("busy"), "{err}");
    // Shedding syncs does not touch health or reads.
    let health = reqwest::get(format!("{}/healthz", hub.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        metric(
            &metrics(&hub).await,
            "karya_sync_duration_seconds_count{outcome=\"busy\"}"
        ),
        1.0
    );
    // ... and the hub says it is shedding, so a balancer can send agents elsewhere.
    let ready = reqwest::get(format!("{}/readyz", hub.url())).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(
        body["problems"][0].as_str().unwrap().contains("shedding"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_answer_while_the_database_is_locked_for_writing() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    a.add_product("Batik tulis");
    a.sync().await;

    // Another process holds the database's write lock (a long write, an admin command).
    let writer = hub.hold_write_lock();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    for path in [
        "/healthz",
        "/api/v1/stats",
        "/api/v1/products",
        "/api/v1/upts",
        "/",
    ] {
        let r = client
            .get(format!("{}{path}", hub.url()))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} waited for the write lock: {e}"));
        assert_eq!(r.status(), 200, "{path}");
    }
    drop(writer);
    // Writes go on once the lock is gone.
    a.add_product("Kursi jati");
    assert!(a.sync().await.refused.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_come_in_keyset_pages_and_the_csv_streams_everything() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    let doc = DocId::Upt("LAPAS-PATI".into());
    // 1,050 products: more than one page of the CSV export's reads too.
    let products: Vec<_> = (0..1050)
        .map(|i| product(&format!("Produk {i:04}")))
        .collect();
    for chunk in products.chunks(150) {
        a.store
            .change(&doc, |d| {
                for p in chunk {
                    schema::insert_product(d, p)?;
                }
                Ok(())
            })
            .unwrap();
    }
    for i in 0..3 {
        let now = now_rfc3339();
        let t = Training {
            id: new_id().into(),
            program: format!("Menjahit {i}"),
            category: "menjahit".into(),
            partner: "BLK".into(),
            start_date: time::Date::from_calendar_date(2026, time::Month::December, i + 1).unwrap(),
            end_date: time::macros::date!(2026 - 12 - 20),
            hours: 60,
            instructor: "Bu Sri".into(),
            capacity: 20,
            scheme: String::new(),
            created_at: now.clone(),
            updated_at: now,
            deleted: false,
        };
        a.store
            .change(&doc, |d| schema::insert_training(d, &t))
            .unwrap();
    }
    a.sync().await;

    let base = format!("{}/api/v1/products?upt=LAPAS-PATI", hub.url());
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &next {
            Some(after) => format!("{base}&limit=400&after={after}"),
            None => format!("{base}&limit=400"),
        };
        let (status, page) = get_json(&url, &viewer).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 1050);
        pages += 1;
        seen.extend(field_of_each(&page, "name"));
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "every product once, in order");
    assert_eq!(seen.len(), 1050);

    let (_, first) = get_json(&format!("{}/api/v1/products", hub.url()), &viewer).await;
    assert_eq!(
        first["items"].as_array().unwrap().len(),
        100,
        "default page"
    );
    for bad in ["limit=0", "limit=1001", "after=zz", "after=00"] {
        let (status, body) =
            get_json(&format!("{}/api/v1/products?{bad}", hub.url()), &viewer).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let (_, t1) = get_json(&format!("{}/api/v1/trainings?limit=2", hub.url()), &viewer).await;
    assert_eq!(t1["total"], 3);
    let programs = field_of_each(&t1, "program");
    assert_eq!(programs, ["Menjahit 0", "Menjahit 1"]);
    let after = t1["next"].as_str().unwrap();
    let (_, t2) = get_json(
        &format!("{}/api/v1/trainings?limit=2&after={after}", hub.url()),
        &viewer,
    )
    .await;
    assert_eq!(field_of_each(&t2, "program"), ["Menjahit 2"]);
    assert!(t2["next"].is_null());

    let csv = get_body(
        &format!("{}/api/v1/products?format=csv", hub.url()),
        &viewer,
    )
    .await;
    assert!(csv.starts_with("upt,id,name"), "{}", &csv[..80]);
    assert_eq!(csv.lines().count(), 1051, "a header and every product");
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("upt,")).count(),
        1,
        "one header, not one per page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_product_is_addressed_by_upt_and_id_and_a_decision_lands_with_its_owner() {
    let hub = TestHub::start().await;
    let ta = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let tb = hub.add_upt("RUTAN-KUDUS", "rutan", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let (_, curator) = hub.issue(Role::Curator, "Subdit Kegiatan Kerja");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &ta);
    let mut b = Agent::new("RUTAN-KUDUS", &hub.url(), &tb);
    // B (by mistake or on purpose) uses A's product id for a product of its own.
    let mut pa = product("Batik tulis Pati");
    let mut pb = product("Kursi Kudus");
    pb.id = pa.id.clone();
    pa.price_idr = 100_000;
    a.store
        .change(&DocId::Upt("LAPAS-PATI".into()), |d| {
            schema::insert_product(d, &pa)
        })
        .unwrap();
    b.store
        .change(&DocId::Upt("RUTAN-KUDUS".into()), |d| {
            schema::insert_product(d, &pb)
        })
        .unwrap();
    a.sync().await;
    b.sync().await;
    let id = pa.id.clone();

    let (status, body) = get_json(&format!("{}/api/v1/products/{id}", hub.url()), &viewer).await;
    assert_eq!(status, 409, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("LAPAS-PATI") && detail.contains("RUTAN-KUDUS"),
        "{detail}"
    );
    let (status, p) = get_json(
        &format!("{}/api/v1/products/{id}?upt=RUTAN-KUDUS", hub.url()),
        &viewer,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(p["name"], "Kursi Kudus");

    let http = reqwest::Client::new();
    let decide = |url: String| {
        http.post(url)
            .bearer_auth(&curator)
            .json(&serde_json::json!({"status": "approved", "note": "bagus"}))
            .send()
    };
    let r = decide(format!("{}/api/v1/curation/{id}", hub.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "no decision on 'one of' two products");
    let r = decide(format!("{}/api/v1/curation/{id}?upt=LAPAS-PATI", hub.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recorded: serde_json::Value = r.json().await.unwrap();
    assert_eq!(recorded["upt"], "LAPAS-PATI");

    // The decision reaches the owner, and only the owner.
    a.sync().await;
    b.sync().await;
    let decision_of = |agent: &Agent| -> Option<CurationDecision> {
        agent
            .store
            .with_doc(&DocId::Curation(agent.upt.clone()), |d| {
                schema::read_decision(d, &id)
            })
            .unwrap()
    };
    assert_eq!(
        decision_of(&a).map(|d| d.status),
        Some(karya_shared::model::CurationStatus::Approved)
    );
    assert_eq!(decision_of(&b), None, "B never receives A's decision");
}
