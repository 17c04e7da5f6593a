//! The hub as a real HTTP server on a port-0 listener, driven by the agent's own sync client.

use karya_agent::client::{HubClient, SyncError, sync_once};
use karya_hub::auth::Role;
use karya_shared::model::{ProductPatch, UptInfo, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_tests::TestHub;
use karya_tests::procs::field_of_each;
use karya_tests::proxy::{Link, Proxy};
use std::time::Duration;

use karya_tests::memagent::{Agent, get_body, get_json, product, sample_sum, scrape};

#[tokio::test(flavor = "multi_thread")]
async fn two_upts_sync_and_hq_sees_both() {
    let hub = TestHub::start().await;
    let ta = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let tb = hub.add_upt("LPKA-TANGERANG", "lpka", "Banten");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &ta);
    let mut b = Agent::new("LPKA-TANGERANG", &hub.url(), &tb);
    a.add_product("Batik tulis");
    a.add_product("Kursi jati");
    b.add_product("Roti manis");
    a.sync().await;
    b.sync().await;
    a.sync().await;

    // Each agent holds its own documents and `national`, nothing of the other UPT.
    for (agent, other) in [(&a, "LPKA-TANGERANG"), (&b, "LAPAS-PATI")] {
        let ids: Vec<String> = agent
            .store
            .doc_ids()
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert!(ids.contains(&"national".to_string()), "{ids:?}");
        assert!(
            ids.iter().all(|d| !d.contains(other)),
            "{} holds {other}'s documents: {ids:?}",
            agent.upt
        );
        let foreign: i64 = agent
            .store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM products WHERE upt = ?1",
                [other],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(foreign, 0);
    }
    // The national registry reached the agents.
    let registered: i64 = a
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM upts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(registered, 2);

    let (status, products) = get_json(&format!("{}/api/v1/products", hub.url()), &viewer).await;
    assert_eq!(status, 200);
    let names = field_of_each(&products, "name");
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().any(|n| n == "Batik tulis") && names.iter().any(|n| n == "Roti manis"));

    let (_, filtered) = get_json(
        &format!("{}/api/v1/products?upt=LPKA-TANGERANG", hub.url()),
        &viewer,
    )
    .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["total"], 1);
    assert!(filtered["next"].is_null(), "one page: {filtered}");

    let (_, stats) = get_json(&format!("{}/api/v1/stats", hub.url()), &viewer).await;
    assert_eq!(stats["national"]["products"], 3);
    assert_eq!(stats["national"]["stock"], 30);
    let kanwil: Vec<&str> = stats["per_kanwil"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kanwil"].as_str().unwrap())
        .collect();
    assert_eq!(kanwil, ["Banten", "Jawa Tengah"]);

    let (_, upts) = get_json(&format!("{}/api/v1/upts", hub.url()), &viewer).await;
    assert!(
        upts.as_array()
            .unwrap()
            .iter()
            .all(|u| u["last_sync_at"].is_string()),
        "{upts}"
    );

    let csv = get_body(
        &format!("{}/api/v1/products?format=csv", hub.url()),
        &viewer,
    )
    .await;
    assert!(csv.starts_with("upt,id,name"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_curation_decision_reaches_the_upt() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-KEROBOKAN", "lapas", "Bali");
    let (_, curator) = hub.issue(Role::Curator, "Subdit Kegiatan Kerja");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut agent = Agent::new("LAPAS-KEROBOKAN", &hub.url(), &token);
    let id = agent.add_product("Lukisan kanvas");
    agent.sync().await;

    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/curation/{id}", hub.url());
    // A viewer may not decide; a bad status is named.
    let r = http
        .post(&url)
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"status": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(&url)
        .bearer_auth(&curator)
        .json(&serde_json::json!({"status": "great"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("featured"));
    let r = http
        .post(&url)
        .bearer_auth(&curator)
        .json(&serde_json::json!({"status": "featured", "note": "Untuk pameran nasional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let outcome = agent.sync().await;
    assert!(outcome.changes_received >= 1);
    assert_eq!(
        outcome.round_trips, 1,
        "a decision comes down in one round trip: {outcome:?}"
    );
    let (status, note, by): (String, String, String) = agent
        .store
        .conn()
        .query_row(
            "SELECT status, note, decided_by FROM curation WHERE product_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), note.as_str(), by.as_str()),
        (
            "featured",
            "Untuk pameran nasional",
            "Subdit Kegiatan Kerja"
        )
    );
    let (_, p) = get_json(&format!("{}/api/v1/products/{id}", hub.url()), &viewer).await;
    assert_eq!(p["curation"]["status"], "featured");
    let (code, _) = get_json(&format!("{}/api/v1/products/nope", hub.url()), &viewer).await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_outside_a_peers_authority_are_refused_whole() {
    let hub = TestHub::start().await;
    let ta = hub.add_upt("LAPAS-MEDAN", "lapas", "Sumatera Utara");
    let tb = hub.add_upt("RUTAN-BATAM", "rutan", "Kepulauan Riau");
    let mut b = Agent::new("RUTAN-BATAM", &hub.url(), &tb);
    b.add_product("Produk Batam");
    b.sync().await;

    // Agent A writes into B's document, into national and into its own curation document,
    // and also makes a legitimate change to its own document: one batch.
    let mut a = Agent::new("LAPAS-MEDAN", &hub.url(), &ta);
    let own = a.add_product("Produk Medan");
    let forged = product("Palsu");
    a.store
        .change(&DocId::Upt("RUTAN-BATAM".into()), |d| {
            schema::insert_product(d, &forged)
        })
        .unwrap();
    a.store
        .change(&DocId::National, |d| {
            schema::put_upt(
                d,
                &UptInfo::new("FAKE", "x", karya_shared::model::UptType::Lapas, "x"),
            )
        })
        .unwrap();
    a.store
        .change(&DocId::Curation("LAPAS-MEDAN".into()), |d| {
            schema::put_decision(
                d,
                &karya_shared::model::CurationDecision {
                    product_id: own.clone().into(),
                    status: karya_shared::model::CurationStatus::Featured,
                    note: "self-approved".into(),
                    decided_by: "me".into(),
                    decided_at: now_rfc3339(),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    let mut docs = a.docs();
    docs.push(DocId::Upt("RUTAN-BATAM".into()));
    let outcome = sync_once(&a.store, &a.client, &a.peer, docs.clone())
        .await
        .unwrap();
    let mut refused: Vec<&str> = outcome.refused.iter().map(|r| r.doc.as_str()).collect();
    refused.sort();
    assert_eq!(
        refused,
        ["curation/LAPAS-MEDAN", "national", "upt/RUTAN-BATAM"],
        "{outcome:?}"
    );
    assert!(
        outcome
            .refused
            .iter()
            .all(|r| r.reason.contains("nothing of it was merged")),
        "{outcome:?}"
    );
    assert!(outcome.round_trips <= 3, "{outcome:?}");

    let (_, viewer) = hub.issue(Role::Viewer, "v");
    let (_, products) = get_json(&format!("{}/api/v1/products", hub.url()), &viewer).await;
    let names = field_of_each(&products, "name");
    assert!(
        names.iter().any(|n| n == "Produk Medan"),
        "the legitimate document synced: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "Palsu"),
        "nothing of the refused document merged: {names:?}"
    );
    let (_, p) = get_json(&format!("{}/api/v1/products/{own}", hub.url()), &viewer).await;
    assert!(
        p["curation"].is_null(),
        "the self-approval did not merge: {p}"
    );
    let fake: i64 = hub.row(
        "SELECT COUNT(*) FROM upts WHERE code = 'FAKE'",
        rusqlite::params![],
        |r| r.get(0),
    );
    assert_eq!(fake, 0);
    let (kept, logged): (i64, i64) = hub.row(
        "SELECT COUNT(*), SUM(count) FROM refusal_counts",
        rusqlite::params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    );
    assert_eq!((kept, logged), (3, 3));

    // The next syncs finish (no loop on the refused change) and keep refusing it.
    for _ in 0..2 {
        let again = sync_once(&a.store, &a.client, &a.peer, docs.clone())
            .await
            .unwrap();
        assert!(again.round_trips <= 3, "{again:?}");
        assert_eq!(again.refused.len(), 3);
    }
    // Three refused documents, three attempts each: three rows that count, not nine rows.
    let (kept, logged): (i64, i64) = hub.row(
        "SELECT COUNT(*), SUM(count) FROM refusal_counts",
        rusqlite::params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    );
    assert_eq!((kept, logged), (3, 9));
    let m = scrape(&hub.url()).await;
    assert_eq!(sample_sum(&m, "karya_refusals_total", &[]), 9.0);
    assert_eq!(
        sample_sum(&m, "karya_refusals_total", &[("reason", "not_writer")]),
        6.0,
        "curation/* and national written by an agent"
    );
    assert_eq!(
        sample_sum(&m, "karya_refusals_total", &[("reason", "not_visible")]),
        3.0,
        "another UPT's document"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_and_bad_bodies_get_4xx_and_the_hub_keeps_serving() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-KUPANG", "lapas", "Nusa Tenggara Timur");
    let mut agent = Agent::new("LAPAS-KUPANG", &hub.url(), &token);
    agent.add_product("Tenun ikat");
    agent.sync().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/sync", hub.url());
    let post = |token: &str, body: Vec<u8>, ct: &str| {
        http.post(&url)
            .bearer_auth(token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let ct = karya_shared::wire::CONTENT_TYPE;
    let good = karya_shared::wire::Request {
        peer: "p".into(),
        agent_version: "t".into(),
        docs: vec![],
        vouches: None,
        takes_photo_gaps: false,
    }
    .encode();

    let r = post("karya_0000_nonsense", good.clone(), ct).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&url)
        .header("content-type", ct)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Truncated, random, wrong version, wrong content type, oversized.
    let mut frame = karya_shared::session::SyncSession::new(&agent.store, "p", agent.docs())
        .unwrap()
        .next_request(&agent.store)
        .unwrap()
        .unwrap();
    let r = post(&token, frame[..frame.len() / 2].to_vec(), ct)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_frame");
    let random: Vec<u8> = (0..500).map(|_| rand::random::<u8>()).collect();
    assert_eq!(post(&token, random, ct).await.unwrap().status(), 400);
    frame[4] = 99;
    let r = post(&token, frame, ct).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("protocol version 99"));
    assert_eq!(
        post(&token, good.clone(), "text/plain")
            .await
            .unwrap()
            .status(),
        415
    );
    let huge = vec![0u8; 40 * 1024 * 1024];
    match post(&token, huge, ct).await {
        Ok(r) => assert_eq!(r.status(), 413),
        // The hub may answer 413 from the declared length and close the connection before
        // the 40 MB are sent (seen under load in CI): the body's write then fails. Anything
        // else (a timeout, a refused connection) is a failure.
        Err(e) => {
            let why = format!("{e:?}");
            assert!(
                why.contains("BodyWrite") || why.contains("BrokenPipe") || why.contains("reset"),
                "the oversized body was not refused: {why}"
            );
        }
    }

    // A valid sync right after works.
    agent.add_product("Kain songket");
    let outcome = agent.sync().await;
    assert!(outcome.refused.is_empty());

    // Revocation takes effect at the next request.
    let id: String = hub.row(
        "SELECT id FROM tokens WHERE upt = 'LAPAS-KUPANG'",
        rusqlite::params![],
        |r| r.get(0),
    );
    assert!(hub.admin_db().revoke_token(&id).unwrap());
    let docs = agent.docs();
    let err = sync_once(&agent.store, &agent.client, &agent.peer, docs)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Unauthorized { .. }), "{err}");
    assert!(err.is_permanent());
    assert!(err.to_string().contains("revoked"), "{err}");
    // HQ sees which UPT keeps failing on its token.
    let m = scrape(&hub.url()).await;
    assert_eq!(
        sample_sum(&m, "karya_token_failures_total", &[("upt", "LAPAS-KUPANG")]),
        1.0
    );
    assert!(sample_sum(&m, "karya_token_failures_total", &[("upt", "unknown")]) >= 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_sync_takes_one_round_trip() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-MALANG", "lapas", "Jawa Timur");
    let proxy = Proxy::start(hub.addr, Link::default()).await.unwrap();
    let mut agent = Agent::new("LAPAS-MALANG", &proxy.url(), &token);
    let doc = DocId::Upt("LAPAS-MALANG".into());
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(agent.add_product(&format!("Produk {i}")));
    }
    let first = agent.sync().await;
    let first_bytes = proxy.counters.total();

    let patch = ProductPatch {
        price_idr: Some(99_000),
        ..Default::default()
    };
    agent
        .store
        .change(&doc, |d| {
            schema::edit_product(d, &ids[7], &patch, &now_rfc3339())
        })
        .unwrap();
    proxy.counters.reset();
    let outcome = agent.sync().await;
    let bytes = proxy.counters.total();
    println!(
        "bootstrap of 200 products: {} round trips, {first_bytes} bytes; incremental sync of one edit: {} round trips, {bytes} bytes on the wire (HTTP headers included), {} + {} frame bytes",
        first.round_trips, outcome.round_trips, outcome.bytes_sent, outcome.bytes_received
    );
    // The target is at most two; starting from the persisted shared heads makes it one.
    assert_eq!(outcome.round_trips, 1, "{outcome:?}");
    assert!(bytes < 2_000, "one edited record cost {bytes} bytes");

    // The hub has the edit, and the stores agree on every materialized row of this UPT.
    let hub_store = hub.admin_store();
    assert_eq!(hub_store.heads(&doc).unwrap().len(), 1);
    assert_eq!(
        hub_store.heads(&doc).unwrap(),
        agent.store.heads(&doc).unwrap()
    );
    let price: i64 = hub.row(
        "SELECT price_idr FROM products WHERE id = ?1",
        [&ids[7]],
        |r| r.get(0),
    );
    assert_eq!(price, 99_000);
    // Every column of every product row, as the store holds it (either engine at the hub).
    let dump = |c: &mut karya_shared::sql::Sql<'_>| {
        c.query_map(
            "SELECT upt, id, name, category, description, price_idr, unit, stock, workshop,
               certifications, nominated, created_at, updated_at, deleted, conflicts, photos
             FROM products ORDER BY upt, id",
            rusqlite::params![],
            |r| {
                (0..16)
                    .map(|i| r.value(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            },
        )
    };
    let at_agent = dump(&mut karya_shared::sql::Sql::Lite(&agent.store.conn())).unwrap();
    assert_eq!(hub.sql(dump), at_agent);
    assert!(!at_agent.is_empty());

    // A sync with nothing new is one round trip.
    let idle = agent.sync().await;
    assert_eq!(idle.round_trips, 1, "{idle:?}");
}

/// The agent starts each sync assuming the hub still has what they last agreed on. A hub that
/// lost it (a fresh database, a restore from an old backup) must still end up with everything.
#[tokio::test(flavor = "multi_thread")]
async fn a_hub_that_lost_data_still_gets_everything() {
    let old_hub = TestHub::start().await;
    let token = old_hub.add_upt("LAPAS-BATU", "lapas", "Jawa Tengah");
    let mut agent = Agent::new("LAPAS-BATU", &old_hub.url(), &token);
    let doc = DocId::Upt("LAPAS-BATU".into());
    for i in 0..5 {
        agent.add_product(&format!("Produk lama {i}"));
    }
    sync_once(&agent.store, &agent.client, &agent.peer, vec![doc.clone()])
        .await
        .unwrap();
    old_hub.stop().await;

    let new_hub = TestHub::start().await;
    let token = new_hub.add_upt("LAPAS-BATU", "lapas", "Jawa Tengah");
    agent.client = HubClient::new(&new_hub.url(), &token, Duration::from_secs(10));
    agent.add_product("Produk baru");
    let outcome = sync_once(&agent.store, &agent.client, &agent.peer, vec![doc.clone()])
        .await
        .unwrap();
    assert!(
        outcome.round_trips >= 2,
        "the hub had to ask for what it lacked: {outcome:?}"
    );
    let hub_store = new_hub.admin_store();
    assert_eq!(
        hub_store.heads(&doc).unwrap(),
        agent.store.heads(&doc).unwrap()
    );
    let n: i64 = new_hub.row("SELECT COUNT(*) FROM products", rusqlite::params![], |r| {
        r.get(0)
    });
    assert_eq!(n, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_asks_for_a_token_then_shows_the_national_picture() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-POLEWALI", "lapas", "Sulawesi Barat");
    let (viewer_id, viewer) = hub.issue(Role::Viewer, "Analis Ditjenpas");
    let mut agent = Agent::new("LAPAS-POLEWALI", &hub.url(), &token);
    agent.add_product("Tikar <pandan> & rotan");
    let first = agent.sync().await;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // No page without signing in.
    let r = http.get(hub.url()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/masuk");
    let r = http
        .get(format!("{}/masuk", hub.url()))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Masukkan token"));
    // A sign-in posted without the form's token (from another page) is refused.
    let r = http
        .post(format!("{}/masuk", hub.url()))
        .form(&[("token", viewer.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{}/masuk", hub.url()))
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", viewer.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = karya_tests::post_sign_in(&http, &hub.url(), &token)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Token agen UPT tidak dapat membuka dasbor")
    );

    let r = karya_tests::post_sign_in(&http, &hub.url(), &viewer)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    // The cookie is a session id, never the token; HttpOnly and SameSite=Strict.
    assert!(!set_cookie.contains(viewer.as_str()), "{set_cookie}");
    assert!(
        set_cookie.starts_with("karya_sesi=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let page = get_with_cookie(&http, hub.url(), &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Ringkasan nasional") && page.contains("Analis Ditjenpas"),
        "{page}"
    );
    assert!(page.contains("LAPAS-POLEWALI") && page.contains("Sulawesi Barat"));
    let katalog = get_with_cookie(&http, format!("{}/katalog", hub.url()), &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        katalog.contains("Tikar &lt;pandan&gt; &amp; rotan"),
        "names are escaped: {katalog}"
    );
    assert!(
        katalog.contains("Rp75.000"),
        "prices read the Indonesian way"
    );
    assert!(katalog.contains("1–1 dari 1 produk"), "{katalog}");
    // Sessions live in the database: a second hub process on it (or this one restarted)
    // knows the session; the cookie holds nothing the database could be searched for.
    let second = TestHub::start_on(&hub.db).await;
    let r = get_with_cookie(&http, format!("{}/katalog", second.url()), &cookie).await;
    assert_eq!(r.status(), 200, "the other process knows the session");
    let session_id = cookie.trim_start_matches("karya_sesi=");
    let stored: Vec<String> = hub.sql(|c| {
        c.query_map(
            "SELECT id_hash || token_id || csrf FROM sessions",
            rusqlite::params![],
            |r| r.get(0),
        )
    });
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(session_id) && !stored[0].contains(viewer.as_str()),
        "neither the session id nor the token is stored"
    );
    // Signed out at one process, the session is over at the other too.
    let csrf = {
        let k = get_with_cookie(&http, format!("{}/katalog", second.url()), &cookie)
            .await
            .text()
            .await
            .unwrap();
        let field = "name=\"csrf\" value=\"";
        let at = k.find(field).expect("a csrf field") + field.len();
        k[at..at + 48].to_string()
    };
    let r = http
        .post(format!("{}/keluar", second.url()))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = get_with_cookie(&http, format!("{}/katalog", hub.url()), &cookie).await;
    assert_eq!(r.status(), 303, "signed out everywhere");
    let api: serde_json::Value =
        get_with_cookie(&http, format!("{}/api/v1/stats", hub.url()), &cookie)
            .await
            .json()
            .await
            .unwrap();
    assert!(
        api["detail"].as_str().unwrap().contains("sign in again"),
        "{api}"
    );
    // A new session for what follows.
    let cookie = sign_in(&http, &hub.url(), viewer.as_str()).await;
    // The session stands for the token: revoked, the session ends with it.
    assert!(hub.admin_db().revoke_token(&viewer_id).unwrap());
    let r = get_with_cookie(&http, format!("{}/katalog", hub.url()), &cookie).await;
    assert_eq!(r.status(), 303, "a revoked token's session is over");

    let (_, health) = karya_tests::memagent::get_json(&format!("{}/healthz", hub.url()), "").await;
    assert_eq!(health["status"], "ok");
    let m = scrape(&hub.url()).await;
    assert_eq!(
        sample_sum(
            &m,
            "karya_sync_duration_seconds_count",
            &[("outcome", "ok")]
        ),
        first.round_trips as f64
    );
    let age = sample_sum(
        &m,
        "karya_upt_last_sync_age_seconds",
        &[("upt", "LAPAS-POLEWALI")],
    );
    assert!((0.0..60.0).contains(&age), "last sync age {age}");
    assert!(sample_sum(&m, "karya_sync_request_bytes_sum", &[]) > 0.0);
    assert!(sample_sum(&m, "karya_database_bytes", &[]) > 0.0);
    assert!(sample_sum(&m, "karya_disk_free_bytes", &[]) > 0.0);
    assert_eq!(sample_sum(&m, "karya_upts_stale", &[]), 0.0);
    assert!(sample_sum(&m, "karya_documents_loaded_total", &[("from", "cache")]) > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn records_dated_in_the_future_by_a_wrong_clock_are_flagged_not_counted() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-NABIRE", "lapas", "Papua Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let mut agent = Agent::new("LAPAS-NABIRE", &hub.url(), &token);
    let doc = DocId::Upt("LAPAS-NABIRE".into());
    let now = time::OffsetDateTime::now_utc();
    // A PC whose clock ran ten days ahead stamped one product and one sale.
    let mut ahead = product("Tas anyaman");
    ahead.created_at = (now + time::Duration::days(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let id = ahead.id.clone();
    agent
        .store
        .change(&doc, |d| schema::insert_product(d, &ahead))
        .unwrap();
    let normal = agent.add_product("Sandal jepit");
    for (days, revenue) in [(0, 50_000), (10, 900_000)] {
        let sale = karya_shared::model::Sale {
            id: karya_shared::model::new_id().into(),
            product_id: normal.clone().into(),
            date: (now + time::Duration::days(days)).date(),
            quantity: 1,
            revenue_idr: revenue,
            channel: karya_shared::model::SaleChannel::Toko,
            created_at: now_rfc3339(),
            stock_taken: Default::default(),
        };
        agent
            .store
            .change(&doc, |d| schema::insert_sale(d, &sale))
            .unwrap();
    }
    assert!(agent.sync().await.refused.is_empty());

    let (_, stats) = get_json(&format!("{}/api/v1/stats", hub.url()), &viewer).await;
    assert_eq!(stats["national"]["sales"], 1, "{stats}");
    assert_eq!(stats["national"]["revenue_idr"], 50_000, "{stats}");
    assert_eq!(stats["national"]["future_dated_sales"], 1, "{stats}");
    let (_, p) = get_json(&format!("{}/api/v1/products/{id}", hub.url()), &viewer).await;
    assert_eq!(p["future_dated"], true, "{p}");
    let (_, p) = get_json(&format!("{}/api/v1/products/{normal}", hub.url()), &viewer).await;
    assert_eq!(p["future_dated"], false, "{p}");
    let page = get_body(&format!("{}/", hub.url()), &viewer).await;
    assert!(
        page.contains("1 penjualan bertanggal lebih dari sehari setelah hari ini"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_page_filters_and_pages_through_what_the_upts_sent() {
    let hub = TestHub::start().await;
    let pati = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let bali = hub.add_upt("LAPAS-KEROBOKAN", "lapas", "Bali");
    let (_, viewer) = hub.issue(Role::Viewer, "Analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &pati);
    for i in 0..120 {
        a.add_product(&format!("Tas anyaman {i:03}"));
    }
    let mut chips = karya_tests::memagent::product("Keripik tempe");
    chips.certifications = vec![karya_shared::model::Certification {
        kind: karya_shared::model::CertificationKind::Halal,
        number: "ID31110000123".into(),
        valid_until: None,
    }];
    a.store
        .change(&DocId::Upt("LAPAS-PATI".into()), |d| {
            karya_shared::schema::insert_product(d, &chips)
        })
        .unwrap();
    a.sync().await;
    let mut b = Agent::new("LAPAS-KEROBOKAN", &hub.url(), &bali);
    for i in 0..2 {
        b.add_product(&format!("Lukisan kaca {i}"));
    }
    // A name that a spreadsheet would run as a formula.
    b.add_product("=HYPERLINK(\"http://x\")");
    b.sync().await;

    let katalog = |query: String| {
        let url = format!("{}/katalog?{query}", hub.url());
        let viewer = viewer.clone();
        async move { karya_tests::memagent::get_body(&url, &viewer).await }
    };
    let next_of = |page: &str| -> Option<String> {
        let at = page.find("id=\"berikutnya\" href=\"/katalog?")?;
        let rest = &page[at + "id=\"berikutnya\" href=\"/katalog?".len()..];
        Some(rest[..rest.find('"')?].replace("&amp;", "&"))
    };

    // Keyset pages of 50, counted the Indonesian way, within the Kanwil's filter.
    let first = katalog("kanwil=Jawa%20Tengah".into()).await;
    assert!(first.contains("1–50 dari 121 produk"), "{first}");
    assert!(!first.contains("Lukisan kaca"), "another Kanwil's product");
    let second = katalog(next_of(&first).expect("a next page")).await;
    assert!(second.contains("51–100 dari 121 produk"), "{second}");
    let third = katalog(next_of(&second).expect("a third page")).await;
    assert!(third.contains("101–121 dari 121 produk"), "{third}");
    assert!(next_of(&third).is_none(), "the last page has no next link");
    assert!(third.contains("Halaman pertama"));

    // Words, certification and Kanwil filters.
    let found = katalog("q=tempe".into()).await;
    assert!(
        found.contains("1–1 dari 1 produk") && found.contains("Keripik tempe"),
        "{found}"
    );
    let halal = katalog("sertifikasi=halal".into()).await;
    assert!(
        halal.contains("1–1 dari 1 produk") && halal.contains("Keripik tempe"),
        "{halal}"
    );
    let bali_page = katalog("kanwil=Bali".into()).await;
    assert!(bali_page.contains("1–3 dari 3 produk"), "{bali_page}");
    assert!(
        bali_page.contains("=HYPERLINK(&quot;"),
        "escaped on the page"
    );
    let none = katalog("q=%3Cscript%3E".into()).await;
    assert!(
        none.contains("Tidak ada produk yang cocok") && !none.contains("<script>"),
        "{none}"
    );
    // A curator decides on a selection of the filtered list, from a signed-in session.
    let (_, curator) = hub.issue(Role::Curator, "Kurator");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = sign_in(&http, &hub.url(), curator.as_str()).await;
    let page = get_with_cookie(&http, format!("{}/katalog?kanwil=Bali", hub.url()), &cookie)
        .await
        .text()
        .await
        .unwrap();
    let csrf_at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = &page[csrf_at..csrf_at + 48];
    let (_, listed) = get_json(
        &format!("{}/api/v1/products?upt=LAPAS-KEROBOKAN", hub.url()),
        &viewer,
    )
    .await;
    let mut form: Vec<(&str, String)> = vec![
        ("csrf", csrf.to_string()),
        ("status", "approved".into()),
        ("catatan", "Pameran Bali".into()),
        ("kembali", "kanwil=Bali".into()),
    ];
    for p in listed["items"].as_array().unwrap() {
        form.push((
            "pilih",
            format!("LAPAS-KEROBOKAN/{}", p["id"].as_str().unwrap()),
        ));
    }
    let r = http
        .post(format!("{}/katalog/keputusan", hub.url()))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/katalog?kanwil=Bali&disimpan=3&gagal=0"
    );
    let (_, listed) = get_json(
        &format!("{}/api/v1/products?upt=LAPAS-KEROBOKAN", hub.url()),
        &viewer,
    )
    .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["curation"]["status"] == "approved"),
        "{listed}"
    );
    // Without the session's CSRF token: nothing.
    form[0].1 = "x".repeat(48);
    let r = http
        .post(format!("{}/katalog/keputusan", hub.url()))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The filtered list exported: CSV for Excel with Indonesian settings, XLSX with numbers.
    let csv = karya_tests::memagent::get_body(
        &format!(
            "{}/katalog/ekspor?kanwil=Bali&format=csv&pemisah=%3B",
            hub.url()
        ),
        &viewer,
    )
    .await;
    assert!(
        csv.starts_with("\u{feff}UPT;ID;Nama;Kategori;Harga (Rp)"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        4,
        "a header and Bali's three products: {csv}"
    );
    assert!(
        csv.contains("'=HYPERLINK") && csv.contains("disetujui;Pameran Bali"),
        "{csv}"
    );
    let xlsx = reqwest::Client::new()
        .get(format!(
            "{}/katalog/ekspor?kanwil=Jawa%20Tengah&format=xlsx",
            hub.url()
        ))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    let sheet = book.worksheet_range("Produk").unwrap();
    assert_eq!(
        sheet.height(),
        122,
        "a header and Jawa Tengah's 121 products"
    );
    assert_eq!(
        sheet.get((1, 4)),
        Some(&calamine::Data::Float(75_000.0)),
        "the price is a number"
    );

    // A page cursor the hub never gave out is refused, not trusted.
    let (status, _) =
        karya_tests::memagent::get_json(&format!("{}/katalog?after=zz", hub.url()), &viewer).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kanwil_token_sees_curates_and_exports_only_its_kanwil() {
    let hub = TestHub::start().await;
    let pati = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let bali = hub.add_upt("LAPAS-KEROBOKAN", "lapas", "Bali");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &pati);
    let jateng_product = a.add_product("Kursi jati Jepara");
    a.sync().await;
    let mut b = Agent::new("LAPAS-KEROBOKAN", &hub.url(), &bali);
    let bali_product = b.add_product("Lukisan kaca Bali");
    b.sync().await;
    let (_, token) = hub
        .admin_db()
        .issue_kanwil_token(&Role::Curator, "Kurator Kanwil Bali", "Bali")
        .unwrap();
    let url = |path: &str| format!("{}{path}", hub.url());

    // The API: lists, one product, UPTs and figures hold Bali only.
    let (_, list) = get_json(&url("/api/v1/products"), &token).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lukisan kaca Bali"]);
    let (status, _) = get_json(&url(&format!("/api/v1/products/{jateng_product}")), &token).await;
    assert_eq!(
        status, 404,
        "another Kanwil's product is not there for this token"
    );
    let (_, upts) = get_json(&url("/api/v1/upts"), &token).await;
    assert_eq!(field_of_each(&upts, "code"), ["LAPAS-KEROBOKAN"]);
    let (_, stats) = get_json(&url("/api/v1/stats"), &token).await;
    assert_eq!(stats["national"]["products"], 1, "{stats}");
    assert_eq!(
        field_of_each(&stats["per_upt"], "upt"),
        ["LAPAS-KEROBOKAN"],
        "{stats}"
    );

    // Curating: its own Kanwil's product yes, the other's no.
    let decide = |id: String, status: &'static str| {
        let (u, t) = (url(&format!("/api/v1/curation/{id}")), token.clone());
        async move {
            reqwest::Client::new()
                .post(u)
                .bearer_auth(t)
                .json(&serde_json::json!({"status": status, "note": "ok"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(decide(jateng_product.clone(), "verified").await, 404);
    // A Kanwil's curator verifies; HQ's decisions are not its to make.
    assert_eq!(decide(bali_product.clone(), "approved").await, 422);
    assert_eq!(decide(bali_product.clone(), "verified").await, 200);

    // The pages and the export: a Kanwil filter naming another Kanwil still shows Bali's.
    let page = get_body(&url("/katalog?kanwil=Jawa%20Tengah"), &token).await;
    assert!(
        page.contains("Lukisan kaca Bali") && !page.contains("Kursi jati Jepara"),
        "{page}"
    );
    let csv = get_body(&url("/katalog/ekspor?format=csv"), &token).await;
    assert!(
        csv.contains("Lukisan kaca Bali") && !csv.contains("Kursi jati Jepara"),
        "{csv}"
    );
    let r = reqwest::Client::new()
        .get(url(&format!("/produk/LAPAS-PATI/{jateng_product}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let home = get_body(&url("/"), &token).await;
    assert!(
        home.contains("Ringkasan Kanwil Bali") && !home.contains("LAPAS-PATI"),
        "{home}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upt_pages_show_staleness_refusals_and_a_revoked_token_still_in_use() {
    let hub = TestHub::start().await;
    let pati = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    hub.add_upt("RUTAN-SOLO", "rutan", "Jawa Tengah");
    hub.add_upt("LAPAS-KEROBOKAN", "lapas", "Bali");
    let (_, viewer) = hub.issue(Role::Viewer, "Analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &pati);
    a.add_product("Kursi jati");
    a.sync().await;
    let url = |path: &str| format!("{}{path}", hub.url());

    // The list, filtered and sorted; UPTs that never synced are stale.
    let list = get_body(&url("/upt?kanwil=Jawa%20Tengah&urut=sinkron"), &viewer).await;
    assert!(
        list.contains("2 UPT") && !list.contains("LAPAS-KEROBOKAN"),
        "{list}"
    );
    let solo = list.find("RUTAN-SOLO").unwrap();
    let pati_at = list.find("LAPAS-PATI").unwrap();
    assert!(
        solo < pati_at,
        "the one that never synced comes first: {list}"
    );
    let stale = get_body(&url("/upt?status=usang"), &viewer).await;
    assert!(
        stale.contains("2 UPT") && stale.contains("RUTAN-SOLO") && !stale.contains(">LAPAS-PATI<"),
        "{stale}"
    );

    // The agent's token is revoked, and the UPT goes on syncing with it: the UPT's page says so.
    let id = pati
        .strip_prefix("karya_")
        .unwrap()
        .split('_')
        .next()
        .unwrap();
    assert!(hub.admin_db().revoke_token(id).unwrap());
    let refused = sync_once(&a.store, &a.client, &a.peer, a.docs()).await;
    assert!(
        matches!(refused, Err(SyncError::Unauthorized { .. })),
        "{refused:?}"
    );
    let mut page = String::new();
    for _ in 0..50 {
        page = get_body(&url("/upt/LAPAS-PATI"), &viewer).await;
        if page.contains("percobaan sinkron dengan token yang ditolak") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("1 percobaan sinkron dengan token yang ditolak")
            && page.contains("karya-hub upt token LAPAS-PATI"),
        "{page}"
    );
    assert!(
        page.contains("Produk (1)") && page.contains("Kursi jati"),
        "{page}"
    );
    let (status, _) = get_json(&url("/upt/LAPAS-TIDAK-ADA"), &viewer).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_training_page_shows_completion_rates_per_kanwil_and_category_without_names() {
    use karya_shared::model::{Participant, ParticipantStatus, Training, new_id};
    let hub = TestHub::start().await;
    let pati = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "Analis");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &pati);
    let doc = DocId::Upt("LAPAS-PATI".into());
    let now = now_rfc3339();
    let t = Training {
        id: new_id().into(),
        program: "Menjahit dasar".into(),
        category: "menjahit".into(),
        partner: "BLK Pati".into(),
        start_date: time::macros::date!(2026 - 11 - 01),
        end_date: time::macros::date!(2026 - 11 - 20),
        hours: 60,
        instructor: "Bu Sri".into(),
        capacity: 20,
        scheme: String::new(),
        created_at: now.clone(),
        updated_at: now.clone(),
        deleted: false,
    };
    a.store
        .change(&doc, |d| schema::insert_training(d, &t))
        .unwrap();
    for i in 0..4 {
        let p = Participant {
            training_id: t.id.clone(),
            pseudonym: format!("{i:064x}"),
            enrolled_at: now.clone(),
            hours_attended: 60,
            status: if i < 3 {
                ParticipantStatus::Completed
            } else {
                ParticipantStatus::Enrolled
            },
            certificate: String::new(),
        };
        a.store
            .change(&doc, |d| schema::upsert_participant(d, &p))
            .unwrap();
    }
    a.sync().await;

    let page = get_body(&format!("{}/pelatihan", hub.url()), &viewer).await;
    assert!(
        page.contains("Menjahit dasar") && page.contains("BLK Pati"),
        "{page}"
    );
    assert!(
        page.contains("75,0%"),
        "3 of 4 completed, read the Indonesian way: {page}"
    );
    assert!(
        !page.contains(&format!("{:064x}", 0)),
        "no pseudonym on the page"
    );
}

/// Signs in to the dashboard with a token; the session's cookie (`karya_sesi=…`).
async fn sign_in(http: &reqwest::Client, hub: &str, token: &str) -> String {
    let r = karya_tests::post_sign_in(http, hub, token).await.unwrap();
    assert_eq!(r.status(), 303, "signed in");
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// GET with a dashboard session's cookie.
async fn get_with_cookie(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: &str,
) -> reqwest::Response {
    http.get(url).header("cookie", cookie).send().await.unwrap()
}

/// The curation queues, their counts and the recap, on whichever store the suite runs on
/// (the PostgreSQL pass reads them from PostgreSQL): a Kanwil verifies one product and sends
/// another back, HQ approves the verified one, the UPT raises its price and nominates the
/// other again.
#[tokio::test(flavor = "multi_thread")]
async fn the_queues_and_the_recap_follow_each_level_on_either_store() {
    let hub = TestHub::start().await;
    let pati = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    hub.add_upt("LAPAS-KUPANG", "lapas", "Nusa Tenggara Timur");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &pati);
    let chair = a.add_product("Kursi jati Jepara");
    let batik = a.add_product("Batik tulis Pati");
    let mat = a.add_product("Tikar pandan");
    a.sync().await;
    let admin = hub.admin_db();
    let (_, kanwil) = admin
        .issue_kanwil_token(&Role::Curator, "Verifikator Jateng", "Jawa Tengah")
        .unwrap();
    let (_, hq) = admin.issue_token(&Role::Curator, "Kurator Pusat").unwrap();
    let url = |path: &str| format!("{}{path}", hub.url());
    let decide = |id: &str, token: &str, status: &str, note: &str| {
        let (u, t) = (url(&format!("/api/v1/curation/{id}")), token.to_string());
        let body = serde_json::json!({"status": status, "note": note});
        async move {
            reqwest::Client::new()
                .post(u)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let counts = |token: String| {
        let u = url("/antrean");
        async move {
            let page = get_body(&u, &token).await;
            let at = page.find("id=\"hitungan\"").expect("the counts");
            let end = page[at..].find("</div>").unwrap();
            // The four cards' figures, in their order: Kanwil, HQ, changed, sent back.
            page[at..at + end]
                .split("<b>")
                .skip(1)
                .map(|s| s[..s.find('<').unwrap()].to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(counts(hq.clone()).await, ["3", "0", "0", "0"]);
    // The Kanwil: a send-back needs a note.
    assert_eq!(decide(&batik, &kanwil, "sent_back", "").await, 422);
    assert_eq!(decide(&chair, &kanwil, "verified", "").await, 200);
    assert_eq!(
        decide(&batik, &kanwil, "perlu perbaikan", "Foto kurang jelas").await,
        200
    );
    assert_eq!(counts(kanwil.clone()).await, ["1", "1", "0", "1"]);
    // HQ: a rejection needs a note; a decision on an unverified product needs a reason.
    assert_eq!(decide(&mat, &hq, "rejected", "").await, 422);
    assert_eq!(decide(&mat, &hq, "approved", "").await, 422);
    assert_eq!(decide(&chair, &hq, "approved", "").await, 200);
    let (_, product) = get_json(&url(&format!("/api/v1/products/{chair}")), &hq).await;
    assert_eq!(product["curation"]["unverified"], false, "{product}");
    assert_eq!(
        product["curation"]["approved_price_idr"], 75_000,
        "{product}"
    );
    assert_eq!(product["verification"]["status"], "verified", "{product}");
    assert_eq!(counts(hq.clone()).await, ["1", "0", "0", "1"]);

    // At the UPT: the chair's price goes up; the batik is nominated again.
    a.sync().await;
    let now = karya_shared::model::now_rfc3339();
    let doc = DocId::Upt("LAPAS-PATI".into());
    a.store
        .change(&doc, |d| {
            let patch = karya_shared::model::ProductPatch {
                price_idr: Some(95_000),
                ..Default::default()
            };
            schema::edit_product(d, &chair, &patch, &now)?;
            schema::renominate(d, &batik, &now)
        })
        .unwrap();
    a.sync().await;
    assert_eq!(counts(hq.clone()).await, ["2", "0", "1", "0"]);
    let changed = get_body(&url("/antrean?antrean=berubah"), &hq).await;
    assert!(changed.contains("Kursi jati Jepara"), "{changed}");
    let again = get_body(&url("/antrean?antrean=kanwil&urut=harga"), &kanwil).await;
    assert!(
        again.contains("Batik tulis Pati") && again.contains("diusulkan lagi"),
        "{again}"
    );
    // The recap: Pati's line, and Kupang (never synced) late for 14:00.
    let recap = get_body(&url("/rekap"), &hq).await;
    let line = &recap[recap.find("LAPAS-PATI</a>").expect("Pati's line")..];
    let cells: Vec<&str> = line
        .split("<td class=\"num\">")
        .skip(1)
        .take(5)
        .map(|c| &c[..c.find('<').unwrap()])
        .collect();
    assert_eq!(cells, ["3", "1", "1", "0", "1"], "{line}");
    let csv = get_body(&url("/rekap?format=csv"), &hq).await;
    assert!(
        csv.contains("LAPAS-KUPANG") && !csv.contains("LAPAS-PATI;"),
        "{csv}"
    );
}
