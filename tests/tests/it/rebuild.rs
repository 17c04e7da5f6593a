//! "HQ lost", as a drill with real processes: two UPTs' agents with products, a photo, a
//! sale, a training and HQ's decision; HQ exports its key and keeps it offline; the hub's
//! folder (database, photos) is deleted; a new, empty hub is started in rebuild mode with the
//! exported key at the same address. The agents' services, left running, reconnect by
//! themselves: their tokens are refused, they sign with their own keys, and the registry
//! that lists those keys comes back from them, vouched by the lost hub's key. Everything
//! each agent held is at the new hub (records, the decision, the photo), the rebuild report
//! says so and names what cannot come back, and the agents carry on. A key the registry
//! does not list is refused once the rebuild is finished.

use karya_tests::procs::{AgentDir, HubProcess, decide, free_addr};
use std::time::{Duration, Instant};

/// The rebuild report (`karya-hub rebuild status --json`).
fn report(db: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&HubProcess::admin(db, &["--json", "rebuild", "status"])).unwrap()
}

#[test]
fn hq_lost_with_its_backups_is_rebuilt_from_the_upts_agents() {
    let tmp = tempfile::tempdir().unwrap();
    let lost = tmp.path().join("hub");
    std::fs::create_dir_all(&lost).unwrap();
    let db = lost.join("hub.db");
    let pati = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let bali = HubProcess::add_upt(&db, "LAPAS-KEROBOKAN", "lapas", "Bali");
    let curator = HubProcess::issue(&db, "curator", "Kurator");
    let addr = free_addr();
    let mut hub = HubProcess::start(&db, addr);
    let url = hub.url();

    let mut a = AgentDir::init(&tmp.path().join("pati"), "LAPAS-PATI", &url, &pati);
    let mut b = AgentDir::init(&tmp.path().join("bali"), "LAPAS-KEROBOKAN", &url, &bali);
    let chair = a
        .ok(&[
            "product",
            "add",
            "--name",
            "Kursi jati ukir",
            "--category",
            "furnitur",
            "--price",
            "1850000",
            "--stock",
            "3",
            "--nominate",
            "ya",
        ])
        .trim()
        .to_string();
    let photo = tmp.path().join("IMG_2041.jpg");
    std::fs::write(&photo, karya_tests::phone_photo(1200, 900)).unwrap();
    a.ok(&["product", "photo", "add", &chair, photo.to_str().unwrap()]);
    a.ok(&["sale", "add", &chair, "--qty", "1", "--revenue", "1850000"]);
    let training = a
        .ok(&[
            "training",
            "add",
            "--program",
            "Ukir kayu",
            "--category",
            "lainnya",
            "--start",
            "01/11/2026",
            "--end",
            "30/11/2026",
        ])
        .trim()
        .to_string();
    a.ok(&[
        "training",
        "enroll",
        &training,
        "--reg-no",
        "B.I 7/2026",
        "--name",
        "Andi",
    ]);
    b.add_product("Keripik tempe", "25000");
    // Two syncs each: the first offers the installation's key, the second brings the
    // registry that lists it back down.
    for _ in 0..2 {
        a.ok(&["sync"]);
        b.ok(&["sync"]);
    }
    let keys = HubProcess::admin(&db, &["upt", "keys", "LAPAS-PATI"]);
    assert_eq!(keys.lines().count(), 1, "{keys}");
    decide(&url, &curator, &chair, "featured", "Pameran nasional");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let held_a = a.json(&["product", "list"]);
    assert_eq!(held_a[0]["curation"]["status"], "featured", "{held_a}");
    let photo_hash = a.json(&["product", "show", &chair])["photos"][0]["hash"]
        .as_str()
        .unwrap()
        .to_string();

    // HQ keeps its key offline; then the hub, its database and its photos are lost.
    let kept = tmp.path().join("offline").join("hq-keys.json");
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    HubProcess::admin(&db, &["keys", "export", kept.to_str().unwrap()]);
    hub.stop();
    std::fs::remove_dir_all(&lost).unwrap();

    // A new, empty hub in rebuild mode at the same address; the agents' services run on.
    let rebuilt = tmp.path().join("hub-baru").join("hub.db");
    std::fs::create_dir_all(rebuilt.parent().unwrap()).unwrap();
    let out = HubProcess::hub_cmd(&rebuilt)
        .args(["rebuild", "start", "--keys", kept.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let _hub = HubProcess::start(&rebuilt, addr);
    // Pati's operator forces a sync: one sync brings back everything Pati held, its
    // decision included, nothing refused. (The rebuilt hub takes no poll; the agent took
    // that for an older hub and left out the vouches, so every UPT's decisions were refused
    // once, not_writer, and came back a sync later.)
    let first = a.json(&["sync"]);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(
        first["outcome"]["refused"],
        serde_json::json!([]),
        "the first sync with the rebuilt hub: {first}"
    );
    let r = report(&rebuilt);
    assert_eq!(r["upts_back"], 1, "{r}");
    assert_eq!(r["decisions"], 1, "Pati's decision came back at once: {r}");
    a.start_service();
    b.start_service();
    let deadline = Instant::now() + Duration::from_secs(20);
    let back = loop {
        let r = report(&rebuilt);
        if r["upts_back"] == 2
            && r["decisions"].as_i64() >= Some(1)
            && r["photos"] == 2
            && r["photos_back"] == 2
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "not everything came back: {r}\nPati's agent: {}\nKerobokan's: {}",
            a.status(),
            b.status()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(back["upts"], 2, "{back}");
    assert_eq!(back["products"], 2, "{back}");
    assert_eq!(back["sales"], 1, "{back}");
    assert_eq!(back["trainings"], 1, "{back}");
    assert_eq!(back["participants"], 1, "{back}");
    assert!(
        back["cannot_come_back"].to_string().contains("audit"),
        "the report names what cannot come back: {back}"
    );
    let said = HubProcess::admin(&rebuilt, &["rebuild", "status"]);
    assert!(said.contains("UPTs back: 2 of 2"), "{said}");

    // What HQ sees: a new curator token (people's tokens were lost) reads both UPTs'
    // products, the decision as it was, and the photo.
    let curator = HubProcess::issue(&rebuilt, "curator", "Kurator baru");
    let products = karya_tests::procs::get_json(
        &format!("http://{addr}/api/v1/products?upt=LAPAS-PATI"),
        &curator,
    );
    assert_eq!(
        products["items"][0]["name"], "Kursi jati ukir",
        "{products}"
    );
    assert_eq!(products["items"][0]["curation"]["status"], "featured");
    let blob = karya_tests::procs::get_bytes(
        &format!("http://{addr}/api/v1/blobs/{photo_hash}"),
        &curator,
    );
    assert!(blob.starts_with(&[0xff, 0xd8]), "the photo came back");
    let metrics = karya_tests::procs::get_text(&format!("http://{addr}/metrics"), &curator);
    assert!(
        metrics.contains("karya_rebuild{what=\"upts_back\"} 2"),
        "{metrics}"
    );

    // The rebuild ends; the agents carry on, by their keys.
    HubProcess::admin(&rebuilt, &["rebuild", "finish"]);
    a.add_product("Meja jati", "2500000");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let products = karya_tests::procs::get_json(
            &format!("http://{addr}/api/v1/products?upt=LAPAS-PATI"),
            &curator,
        );
        if products.to_string().contains("Meja jati") {
            break;
        }
        assert!(Instant::now() < deadline, "the new product did not arrive");
        std::thread::sleep(Duration::from_millis(300));
    }
    // A key the registry does not list, signing as Pati: refused now.
    let stranger = karya_shared::agentkey::from_seed(&karya_shared::agentkey::new_seed());
    let body = b"KRYA".to_vec();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (auth, hash) =
        karya_shared::agentkey::sign(&stranger, "LAPAS-PATI", "POST", "/api/v1/sync", now, &body);
    let refused = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/api/v1/sync"))
            .header("authorization", auth)
            .header(karya_shared::agentkey::BODY_HEADER, hash)
            .header("content-type", karya_shared::wire::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(refused, 401);
    // Revoking a UPT works at the rebuilt hub too: Kerobokan's keys cleared, its agent (whose
    // token the lost hub took with it) is refused and says so.
    HubProcess::admin(&rebuilt, &["upt", "keys", "LAPAS-KEROBOKAN", "--clear"]);
    b.wait_status("Kerobokan refused", Duration::from_secs(30), |s| {
        s["state"] == "token_refused"
    });
    assert!(a.stop_service() && b.stop_service());
}

/// HQ lost and its key with it: the new hub takes nothing until HQ adopts the registry the
/// agents of most UPTs hold, confirmed by its fingerprint (which each agent's status shows);
/// an installation holding one UPT's key and a registry of its own making cannot get it
/// adopted, nor its records in; after adoption each UPT's records come back at its sync,
/// and the decisions, which only the lost key vouched for, do not (the agents take the hub's
/// copy by themselves).
#[test]
fn hq_lost_without_its_key_takes_the_registry_most_upts_hold_once_hq_adopts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lost = tmp.path().join("hub");
    std::fs::create_dir_all(&lost).unwrap();
    let db = lost.join("hub.db");
    let codes = ["LAPAS-PATI", "LAPAS-KEROBOKAN", "LAPAS-AMBON"];
    let tokens: Vec<String> = codes
        .iter()
        .map(|c| HubProcess::add_upt(&db, c, "lapas", "Uji"))
        .collect();
    let curator = HubProcess::issue(&db, "curator", "Kurator");
    let addr = free_addr();
    let mut hub = HubProcess::start(&db, addr);
    let url = hub.url();
    let agents: Vec<AgentDir> = codes
        .iter()
        .zip(&tokens)
        .map(|(c, t)| AgentDir::init(&tmp.path().join(c), c, &url, t))
        .collect();
    let products: Vec<String> = agents
        .iter()
        .zip(codes)
        .map(|(a, c)| a.add_product(&format!("Produk {c}"), "150000"))
        .collect();
    // Keys offered, then the registry listing all three back at each.
    for _ in 0..2 {
        for a in &agents {
            a.ok(&["sync"]);
        }
    }
    decide(&url, &curator, &products[0], "featured", "Pameran nasional");
    for a in &agents {
        a.ok(&["sync"]);
    }
    assert_eq!(
        agents[0].json(&["product", "list"])[0]["curation"]["status"],
        "featured"
    );
    let print = agents[0].status()["registry_fingerprint"]
        .as_str()
        .expect("the status shows the registry's fingerprint")
        .to_string();
    for a in &agents[1..] {
        assert_eq!(a.status()["registry_fingerprint"], print.as_str());
    }
    let shown = agents[0].ok(&["status"]);
    assert!(
        shown.contains(&format!("Sidik registri:    {print}")),
        "{shown}"
    );
    // Just before the loss HQ changes the registry, and only Kerobokan syncs in time.
    HubProcess::admin(
        &db,
        &["upt", "contact", "LAPAS-PATI", "--phone", "0295 381234"],
    );
    agents[1].ok(&["sync"]);
    let newer = agents[1].status()["registry_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(newer, print);

    // Someone else's installation for Ambon, with a registry of its own making (its own
    // hub listed its own key for Ambon).
    let theirs = tmp.path().join("palsu").join("hub.db");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    let fake_token = HubProcess::add_upt(&theirs, "LAPAS-AMBON", "lapas", "Palsu");
    let fake_addr = free_addr();
    let mut fake_hub = HubProcess::start(&theirs, fake_addr);
    let forger = AgentDir::init(
        &tmp.path().join("forger"),
        "LAPAS-AMBON",
        &fake_hub.url(),
        &fake_token,
    );
    forger.add_product("Barang palsu", "1000");
    forger.ok(&["sync"]);
    forger.ok(&["sync"]);
    fake_hub.stop();
    let forged_print = forger.status()["registry_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(forged_print, print);

    // The hub and its backups are lost, and no key was kept.
    hub.stop();
    std::fs::remove_dir_all(&lost).unwrap();
    let rebuilt = tmp.path().join("hub-baru").join("hub.db");
    std::fs::create_dir_all(rebuilt.parent().unwrap()).unwrap();
    let out = HubProcess::hub_cmd(&rebuilt)
        .args(["rebuild", "start"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WITHOUT the lost hub's key"),
        "{out:?}"
    );
    let _hub = HubProcess::start(&rebuilt, addr);

    // Every agent's sync is refused for now; each offers the registry it holds.
    for a in &agents {
        assert!(!a.run(&["sync"]).status.success());
        let refused = a.status()["refused"].to_string();
        assert!(refused.contains("awaiting_adoption"), "{refused}");
    }
    let config = forger.dir.join("agent.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&fake_hub.url(), &url)).unwrap();
    assert!(!forger.run(&["sync"]).status.success());
    let r = report(&rebuilt);
    assert_eq!(r["products"], 0, "nothing is taken before adoption: {r}");
    let candidates = r["agreement"]["candidates"].as_array().unwrap().clone();
    assert_eq!(candidates.len(), 3, "{r}");
    assert_eq!(candidates[0]["fingerprint"], print.as_str(), "{r}");
    // Ambon's real installation still counts: the forger's offer stands beside it.
    assert_eq!(
        candidates[0]["upts"],
        serde_json::json!(["LAPAS-AMBON", "LAPAS-PATI"]),
        "{r}"
    );
    let others: Vec<&str> = candidates[1..]
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap())
        .collect();
    assert!(
        others.contains(&forged_print.as_str()) && others.contains(&newer.as_str()),
        "{r}"
    );
    let said = HubProcess::admin(&rebuilt, &["rebuild", "status"]);
    assert!(
        said.contains(&print) && said.contains("no registry adopted yet"),
        "{said}"
    );
    // HQ's Ringkasan says what waits for it.
    let admin = HubProcess::issue(&rebuilt, "curator", "Kurator baru");
    let page = karya_tests::procs::get_text(&format!("http://{addr}/"), &admin);
    assert!(
        page.contains("belum ada yang diterima sampai daftar UPT ditetapkan")
            && page.contains("3 UPT sudah menawarkan"),
        "{page}"
    );
    // As a curator sees it, in Chromium at 1,400 and 390 px (target/screenshots/layar/).
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let driver = karya_tests::browser::Driver::start();
        let c = karya_tests::browser::browser(&driver, &tmp.path().join("chromium")).await;
        let site = format!("http://localhost:{}", addr.port());
        c.goto(&format!("{site}/masuk")).await.unwrap();
        karya_tests::browser::fill(&c, "form", &[("token", &admin)]).await;
        karya_tests::browser::submit(&c, "form").await;
        karya_tests::browser::wait_for(&c, "Keluar").await;
        c.goto(&format!("{site}/")).await.unwrap();
        let banner = karya_tests::browser::text(&c, "#menunggu-registri").await;
        assert!(banner.contains("rebuild adopt SIDIK"), "{banner}");
        // Not also "0 of 0 UPTs back ... rebuild finish", which would mislead here.
        let page = karya_tests::browser::body(&c).await;
        assert!(!page.contains("rebuild finish"), "{page}");
        karya_tests::browser::look(
            &c,
            "layar",
            "hub-ringkasan-menunggu-registri",
            &["critical"],
        )
        .await;
        c.close().await.unwrap();
    });

    // The forged registry (one UPT of three) and a mistyped fingerprint are not adopted
    // (the forged one would be with --few: only the phone call tells them apart).
    let adopt = |fp: &str| {
        HubProcess::hub_cmd(&rebuilt)
            .args(["rebuild", "adopt", fp])
            .output()
            .unwrap()
    };
    let no = adopt(&forged_print);
    assert!(!no.status.success());
    assert!(
        String::from_utf8_lossy(&no.stderr).contains("held by 1 of the 3 UPTs"),
        "{no:?}"
    );
    assert!(
        !adopt(&newer).status.success(),
        "Kerobokan alone holds the newer one"
    );
    assert!(!adopt("0000-0000-0000-0000-0000").status.success());
    let yes = adopt(&print.to_lowercase());
    assert!(yes.status.success(), "{yes:?}");

    // Each UPT's next sync: the registry, its keys, its records; the decision cannot come
    // back, nor Kerobokan's newer registry: each agent takes the hub's copy by itself.
    for a in &agents {
        let done = a.json(&["sync"]);
        assert_eq!(done["outcome"]["refused"], serde_json::json!([]), "{done}");
    }
    let r = report(&rebuilt);
    assert_eq!(r["upts_back"], 3, "{r}");
    assert_eq!(r["products"], 3, "{r}");
    assert_eq!(r["decisions"], 0, "{r}");
    assert_eq!(r["agreement"]["adopted"], print.as_str(), "{r}");
    assert!(
        r["cannot_come_back"].to_string().contains("decisions"),
        "{r}"
    );
    assert!(agents[0].json(&["product", "list"])[0]["curation"].is_null());
    assert_eq!(agents[1].status()["registry_fingerprint"], print.as_str());
    // The agents carry on: a later sync has nothing refused.
    for a in &agents {
        a.ok(&["sync"]);
    }
    // The forger's key is in no registry, and its registry's history is not the hub's: its
    // sync fails, and Ambon's records are the real ones.
    assert!(!forger.run(&["sync"]).status.success());
    let listed = karya_tests::procs::get_json(
        &format!("http://{addr}/api/v1/products?upt=LAPAS-AMBON"),
        &admin,
    );
    let names = karya_tests::procs::field_of_each(&listed, "name");
    assert_eq!(names, vec!["Produk LAPAS-AMBON".to_string()], "{listed}");
    let page = karya_tests::procs::get_text(&format!("http://{addr}/"), &admin);
    assert!(!page.contains("menunggu-registri"), "adopted: {page}");
}
