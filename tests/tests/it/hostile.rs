//! Hostile input at the hub, as an insider with one UPT's agent token would send it: frames
//! built to amplify or bloat, deflate bombs, and records the agent's own checks would have
//! refused (a tampered agent writes straight into its replica). Each is refused with a clear
//! answer, nothing of it is stored, and the hub keeps serving.

use karya_hub::auth::Role;
use karya_shared::model::{Participant, Training, new_id, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::wire;
use karya_tests::memagent::{Agent, get_body, get_json, product, sample_sum, scrape};
use karya_tests::{TestHub, abuse};
use std::io::Write;

async fn post_frame(hub: &TestHub, token: &str, frame: Vec<u8>) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/sync", hub.url()))
        .bearer_auth(token)
        .header("content-type", wire::CONTENT_TYPE)
        .body(frame)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn frame(version: &str, docs: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    wire::Request {
        peer: "p1".into(),
        agent_version: version.into(),
        docs,
        vouches: None,
        takes_photo_gaps: false,
    }
    .encode()
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_built_to_amplify_or_bloat_are_refused_whole_and_at_once() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let other = "upt/RUTAN-KUDUS".to_string();

    // The same refused document named over and over: one 400, not a write per entry.
    let (status, body) = post_frame(
        &hub,
        &token,
        frame("0.1", (0..10).map(|_| (other.clone(), vec![])).collect()),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("twice"), "{body}");
    let (status, body) = post_frame(
        &hub,
        &token,
        frame(
            "0.1",
            (0..5000).map(|i| (format!("x{i}"), vec![])).collect(),
        ),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("number of documents"),
        "{body}"
    );
    let (status, body) = post_frame(
        &hub,
        &token,
        frame("0.1", vec![("nonsense".into(), vec![])]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not a karya document"),
        "{body}"
    );
    let refusals: i64 = hub.row(
        "SELECT COUNT(*) FROM refusal_counts",
        rusqlite::params![],
        |r| r.get(0),
    );
    assert_eq!(refusals, 0, "nothing was written for frames refused whole");

    // A 200 KB version string is never stored (nor served to every dashboard after it).
    let (status, body) = post_frame(
        &hub,
        &token,
        frame(
            &"v".repeat(200_000),
            vec![("upt/LAPAS-PATI".into(), vec![])],
        ),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("agent version"),
        "{body}"
    );

    // A deflate bomb: 1 MB on the wire that would inflate to hundreds of MB.
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..256 {
        enc.write_all(&zeros).unwrap();
    }
    let mut bomb = b"KRYA\x01\x01".to_vec();
    bomb.extend_from_slice(&enc.finish().unwrap());
    let (status, body) = post_frame(&hub, &token, bomb).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("inflated"),
        "{body}"
    );

    // Made-up but well-formed names of documents the agent may not sync, a few in each of
    // 50 frames: refused, and counted as one row whatever the names.
    for n in 0..50 {
        let docs = (0..4)
            .map(|i| (format!("upt/FAKE-{n}-{i}"), vec![]))
            .collect();
        let (status, body) = post_frame(&hub, &token, frame("0.1", docs)).await;
        assert_eq!(status, 200, "{body}");
    }
    let rows: i64 = hub.row(
        "SELECT COUNT(*) FROM refusal_counts",
        rusqlite::params![],
        |r| r.get(0),
    );
    assert_eq!(rows, 1, "one row for every made-up document");
    // A peer id with control characters (it reaches logs and pages): refused whole.
    let bad_peer = wire::Request {
        peer: "p\u{1b}[2J".into(),
        agent_version: "0.1".into(),
        docs: vec![("upt/LAPAS-PATI".into(), vec![])],
        vouches: None,
        takes_photo_gaps: false,
    }
    .encode();
    let (status, body) = post_frame(&hub, &token, bad_peer).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("peer id"),
        "{body}"
    );

    // The hub serves on, and the agent's real sync works.
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    a.add_product("Batik tulis");
    assert!(a.sync().await.refused.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn records_that_break_the_model_are_refused_whole_with_the_reason() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "v");
    let doc = DocId::Upt("LAPAS-PATI".into());
    type Spoil = Box<dyn Fn(&mut karya_shared::model::Product)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("price_idr", Box::new(|p| p.price_idr = -5)),
        ("price_idr", Box::new(|p| p.price_idr = i64::MAX)),
        ("category", Box::new(|p| p.category = "senjata".into())),
        ("name", Box::new(|p| p.name = "x".repeat(1_000_000))),
        ("stock", Box::new(|p| p.stock = i64::MAX / 2)),
        // An id that would bend a file name or a URL at the hub (catalogue export).
        (
            "id",
            Box::new(|p| p.id = "../../produk/x".to_string().into()),
        ),
        ("id", Box::new(|p| p.id = "a\u{1b}[2Jb".to_string().into())),
    ];
    for (field, spoil) in cases {
        // A tampered agent: writes straight into its replica, skipping the CLI's checks.
        let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
        let mut p = product("Produk rusak");
        spoil(&mut p);
        a.store
            .change(&doc, |d| schema::insert_product(d, &p))
            .unwrap();
        let outcome = a.sync().await;
        assert_eq!(outcome.refused.len(), 1, "{field}: {outcome:?}");
        let reason = &outcome.refused[0].reason;
        assert!(
            reason.contains(field) && reason.contains("nothing of it was merged"),
            "{field}: {reason}"
        );
    }
    // A "pseudonym" that is a plaintext name.
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    let now = now_rfc3339();
    let t = Training {
        id: new_id().into(),
        program: "Menjahit".into(),
        category: "menjahit".into(),
        partner: String::new(),
        start_date: time::macros::date!(2026 - 12 - 01),
        end_date: time::macros::date!(2026 - 12 - 02),
        hours: 10,
        instructor: String::new(),
        capacity: 10,
        scheme: String::new(),
        created_at: now.clone(),
        updated_at: now.clone(),
        deleted: false,
    };
    let leak = Participant {
        training_id: t.id.clone(),
        pseudonym: "Budi Santoso".into(),
        enrolled_at: now,
        hours_attended: 0,
        status: karya_shared::model::ParticipantStatus::Enrolled,
        certificate: String::new(),
    };
    a.store
        .change(&doc, |d| {
            schema::insert_training(d, &t)?;
            schema::upsert_participant(d, &leak)
        })
        .unwrap();
    let outcome = a.sync().await;
    assert_eq!(outcome.refused.len(), 1, "{outcome:?}");
    assert!(
        outcome.refused[0].reason.contains("pseudonym"),
        "{outcome:?}"
    );

    // Nothing of it reached HQ; the figures answer; the refusals are counted by reason.
    let (status, stats) = get_json(&format!("{}/api/v1/stats", hub.url()), &viewer).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["national"]["products"], 0);
    assert_eq!(stats["national"]["participants"], 0);
    let m = scrape(&hub.url()).await;
    assert_eq!(
        sample_sum(&m, "karya_refusals_total", &[("reason", "invalid_record")]),
        8.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_csv_export_neutralises_formulas() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "v");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    a.add_product("=HYPERLINK(\"http://evil.example\",\"klik\")");
    a.add_product("@SUM(A1:A9)");
    a.add_product("Batik -tulis");
    a.sync().await;
    let csv = get_body(
        &format!("{}/api/v1/products?format=csv", hub.url()),
        &viewer,
    )
    .await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[2].to_string())
        .collect();
    assert!(
        names.contains(&"'=HYPERLINK(\"http://evil.example\",\"klik\")".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"'@SUM(A1:A9)".to_string()), "{names:?}");
    assert!(
        names.contains(&"Batik -tulis".to_string()),
        "ordinary text is left alone: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_and_slow_connections_are_dropped_and_health_stays_reachable() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hub = TestHub::start_configured(karya_hub::Config {
        max_connections: 20,
        header_timeout_secs: 1,
        ..Default::default()
    })
    .await;
    // More idle connections than the hub takes, and one that sends half a request forever.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(tokio::net::TcpStream::connect(hub.addr).await.unwrap());
    }
    let mut slow = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let health = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{}/healthz", hub.url()))
        .send()
        .await
        .expect("health answers despite the idle connections");
    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    // The idle ones were closed by the hub (read sees the end, or a reset).
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), idle[0].read(&mut buf))
        .await
        .expect("the hub closed an idle connection");
    assert!(
        !matches!(closed, Ok(n) if n > 0),
        "an idle connection got data instead of being closed"
    );
    drop(idle);
    drop(slow);
}

/// Token guessing gets 429, counted per client: behind the trusted proxy the client is the
/// address the proxy names, and a revoked token still in use is counted under its own id. A
/// valid token is never refused for what others failed, from the same address or not.
#[tokio::test(flavor = "multi_thread")]
async fn token_guessing_gets_429_per_client_behind_the_proxy_and_pages_forbid_framing() {
    let hub = TestHub::start_configured(karya_hub::Config {
        trusted_proxies: vec!["127.0.0.1".into()],
        ..Default::default()
    })
    .await;
    let (_, viewer) = hub.issue(Role::Viewer, "v");
    let agent = hub.add_upt("LAPAS-CIPINANG", "lapas", "DKI Jakarta");
    let old = hub.add_upt("RUTAN-SALEMBA", "rutan", "DKI Jakarta");
    let old_id = old.split('_').nth(1).unwrap().to_string();
    hub.admin_db().revoke_token(&old_id).unwrap();
    let http = reqwest::Client::new();
    let stats = |token: &str, client: &str| {
        http.get(format!("{}/api/v1/stats", hub.url()))
            .bearer_auth(token)
            .header("x-forwarded-for", format!("{client}, 127.0.0.1"))
            .send()
    };
    let mut statuses = Vec::new();
    for i in 0..25 {
        let r = stats(&format!("karya_{i:012}_guess"), "203.0.113.9")
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[24], 429, "{statuses:?}");
    let r = stats("karya_000000000099_guess", "203.0.113.9")
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("wait"), "{body}");
    // Another client behind the same proxy is not throttled for it.
    let r = stats("karya_000000000100_guess", "198.51.100.7")
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The right token from the guessing address itself passes.
    assert_eq!(stats(&viewer, "203.0.113.9").await.unwrap().status(), 200);
    // A header from a client that is not a trusted proxy is not believed: the hub sees
    // 127.0.0.1 only because this test's proxy is the loopback; claiming to be someone else
    // in a header a trusted proxy appends after does not help (the rightmost untrusted wins).
    let r = stats("karya_000000000101_guess", "198.51.100.7, 203.0.113.9")
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "the guesser hiding behind a made-up address"
    );

    // A revoked agent token, still used by a forgotten PC: its own UPT gets 429 after the
    // limit, and another UPT's agent from the same address syncs on.
    let mut revoked = Vec::new();
    for _ in 0..22 {
        revoked.push(stats(&old, "192.0.2.44").await.unwrap().status().as_u16());
    }
    assert!(revoked[..20].iter().all(|s| *s == 401), "{revoked:?}");
    assert_eq!(revoked[21], 429, "{revoked:?}");
    let mut b = Agent::new("LAPAS-CIPINANG", &hub.url(), &agent);
    b.add_product("Kursi");
    let o = b.sync().await;
    assert!(o.refused.is_empty(), "{o:?}");

    let page = http.get(format!("{}/", hub.url())).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
}

/// One agent token trickling sync bodies and photo parts holds nothing another UPT needs:
/// its second sync and third upload are refused at once, the trickles are cut after the
/// grace period, and meanwhile another UPT syncs and `/healthz` answers quickly. A real hub
/// process, with few merge slots so that the old order (slot first, body after) would fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_trickling_syncs_and_uploads_costs_only_its_own_upt() {
    use karya_tests::procs::{HubProcess, free_addr};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    HubProcess::create_db(&db);
    let evil = HubProcess::add_upt(&db, "RUTAN-TRICKLE", "rutan", "Jawa Timur");
    let good = HubProcess::add_upt(&db, "LAPAS-MADIUN", "lapas", "Jawa Timur");
    let addr = free_addr();
    let hub = HubProcess::start_with_env(
        &db,
        addr,
        &[
            ("KARYA_MAX_CONCURRENT_SYNCS", "2"),
            ("KARYA_MAX_QUEUED_SYNCS", "2"),
            ("KARYA_MAX_UPLOADS_PER_UPT", "2"),
        ],
    );
    let url = hub.url();

    // The trickling UPT's products name five photos, so that its uploads are accepted.
    let mut a = Agent::new("RUTAN-TRICKLE", &url, &evil);
    let mut p = product("Kain tenun");
    let hashes: Vec<String> = (0..5)
        .map(|i| karya_agent::photos::hash_of(format!("photo {i}").as_bytes()))
        .collect();
    for h in &hashes {
        p.photos.push(karya_shared::model::Photo {
            hash: h.clone(),
            size: 100_000,
            width: 1600,
            height: 1200,
            thumb: h.clone(),
            thumb_size: 100_000,
            caption: String::new(),
        });
    }
    a.store
        .change(&DocId::Upt("RUTAN-TRICKLE".into()), |d| {
            schema::insert_product(d, &p)
        })
        .unwrap();
    a.sync().await;

    let every = Duration::from_secs(2);
    let give_up = Duration::from_secs(40);
    let sync_head = abuse::sync_head(&evil, 100_000);
    let mut attacks = Vec::new();
    for _ in 0..8 {
        attacks.push(tokio::spawn(abuse::trickle(
            addr,
            sync_head.clone(),
            every,
            give_up,
        )));
    }
    for h in &hashes {
        let head = abuse::upload_head(&evil, h, 100_000);
        attacks.push(tokio::spawn(abuse::trickle(addr, head, every, give_up)));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Meanwhile another UPT syncs, again and again, and health answers at once.
    let mut b = Agent::new("LAPAS-MADIUN", &url, &good);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for i in 0..6 {
        b.add_product(&format!("Meja {i}"));
        let o = b.sync().await;
        assert!(o.refused.is_empty(), "{o:?}");
        let started = std::time::Instant::now();
        let r = http.get(format!("{url}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/healthz took {:?} under the trickles",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let mut answers = Vec::new();
    for t in attacks {
        answers.push(t.await.unwrap());
    }
    let syncs = &answers[..8];
    let uploads = &answers[8..];
    let busy = syncs.iter().filter(|(l, _)| l.contains(" 503 ")).count();
    let cut = syncs.iter().filter(|(l, _)| l.contains(" 408 ")).count();
    assert_eq!((busy, cut), (7, 1), "{syncs:?}");
    for (line, at) in syncs.iter().filter(|(l, _)| l.contains(" 503 ")) {
        assert!(*at < Duration::from_secs(3), "{line} came after {at:?}");
    }
    let (_, cut_at) = syncs.iter().find(|(l, _)| l.contains(" 408 ")).unwrap();
    assert!(
        *cut_at < Duration::from_secs(25),
        "the trickle was cut after {cut_at:?}"
    );
    let refused = uploads.iter().filter(|(l, _)| l.contains(" 429 ")).count();
    let slow = uploads.iter().filter(|(l, _)| l.contains(" 408 ")).count();
    assert_eq!((refused, slow), (3, 2), "{uploads:?}");
    drop(hub);
}
