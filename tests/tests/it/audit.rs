//! The audit as the hub admin uses it: a real hub process, agents syncing over HTTP, a
//! curator deciding, then `karya-hub audit` and `GET /api/v1/audit`; and a UPT failing on a
//! revoked token, shown in `karya-hub upt list` and the API.

use karya_shared::DocId;
use karya_tests::memagent::{Agent, get_json};
use karya_tests::procs::{HubProcess, free_addr};
use std::time::{Duration, Instant};

fn admin(db: &std::path::Path, args: &[&str]) -> String {
    HubProcess::admin(db, args).trim().to_string()
}

fn admin_json(db: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&HubProcess::admin(db, &all)).unwrap()
}

/// The hashes of every change in an agent's copy of a document.
fn hashes(agent: &Agent, doc: &DocId) -> Vec<String> {
    let mut h: Vec<String> = agent
        .store
        .with_doc(doc, |d| {
            d.get_changes(&[])
                .iter()
                .map(|c| c.hash().to_string())
                .collect()
        })
        .unwrap();
    h.sort();
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stored_change_is_in_the_audit_with_its_upt_token_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let pati = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let kutoarjo = HubProcess::add_upt(&db, "LPKA-KUTOARJO", "lpka", "Jawa Tengah");
    let admin_token = HubProcess::issue(&db, "admin", "Admin Pusat");
    let curator = HubProcess::issue(&db, "curator", "Subdit Kegiatan Kerja");
    let mut hub = HubProcess::start(&db, free_addr());
    let url = hub.url();

    let mut a = Agent::new("LAPAS-PATI", &url, &pati);
    let mut b = Agent::new("LPKA-KUTOARJO", &url, &kutoarjo);
    let batik = a.add_product("Batik tulis");
    a.add_product("Kursi jati");
    b.add_product("Roti manis");
    a.sync().await;
    b.sync().await;
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/curation/{batik}"))
        .bearer_auth(&curator)
        .json(&serde_json::json!({"status": "approved", "note": "rapi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    a.sync().await;

    // The admin's command: every change to LAPAS-PATI's documents, the agent's and the
    // curator's, and nothing of the other UPT.
    let today = time::OffsetDateTime::now_utc().date();
    let since = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let since_yesterday = {
        let d = today.previous_day().unwrap();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    let log = admin_json(
        &db,
        &["audit", "--upt", "LAPAS-PATI", "--since", &since_yesterday],
    );
    let items = log["items"].as_array().unwrap();
    let of = |doc: &str| -> Vec<&serde_json::Value> {
        items.iter().filter(|e| e["doc"] == doc).collect()
    };
    let mut agent_logged: Vec<String> = of("upt/LAPAS-PATI")
        .iter()
        .map(|e| e["hash"].as_str().unwrap().to_string())
        .collect();
    agent_logged.sort();
    assert_eq!(
        agent_logged,
        hashes(&a, &DocId::Upt("LAPAS-PATI".into())),
        "every change the agent sent is logged, once: {log}"
    );
    let pati_token_id = admin_json(&db, &["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["upt"] == "LAPAS-PATI")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for e in of("upt/LAPAS-PATI") {
        assert_eq!(e["upt"], "LAPAS-PATI");
        assert_eq!(e["token"], pati_token_id.as_str());
        assert_eq!(e["token_name"], "agent LAPAS-PATI");
        assert!(
            e["peer"].as_str().unwrap().starts_with("LAPAS-PATI/"),
            "{e}"
        );
        assert!(e["at"].as_str().unwrap().starts_with(&since[..4]), "{e}");
    }
    let decisions = of("curation/LAPAS-PATI");
    assert_eq!(decisions.len(), 1, "{log}");
    assert_eq!(decisions[0]["token_name"], "Subdit Kegiatan Kerja");
    assert_eq!(
        vec![decisions[0]["hash"].as_str().unwrap().to_string()],
        hashes(&a, &DocId::Curation("LAPAS-PATI".into())),
        "the decision the agent received is the one logged"
    );
    assert!(
        items.iter().all(|e| e["upt"] == "LAPAS-PATI"),
        "only LAPAS-PATI: {log}"
    );
    // The plain table names the token and shows local time.
    let table = admin(&db, &["audit", "--upt", "LAPAS-PATI"]);
    assert!(table.contains("Subdit Kegiatan Kerja"), "{table}");
    assert!(table.contains("agent LAPAS-PATI"), "{table}");
    assert!(table.contains("WIB"), "{table}");
    // A later start shows nothing; a date that is not one is named.
    let tomorrow = {
        let d = today.next_day().unwrap().next_day().unwrap();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    let later = admin_json(&db, &["audit", "--since", &tomorrow]);
    assert_eq!(later["items"].as_array().unwrap().len(), 0, "{later}");
    let out = HubProcess::hub_cmd(&db)
        .args(["audit", "--since", "kemarin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2026-11-01"), "{err}");

    // The API: for admins only, in pages.
    let (status, _) = get_json(&format!("{url}/api/v1/audit"), &curator).await;
    assert_eq!(status, 403);
    let mut seen = Vec::new();
    let mut next = String::new();
    loop {
        let (status, page) = get_json(
            &format!("{url}/api/v1/audit?upt=LAPAS-PATI&limit=2{next}"),
            &admin_token,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|e| e["hash"].as_str().unwrap().to_string()),
        );
        match page["next"].as_i64() {
            Some(n) => next = format!("&after={n}"),
            None => break,
        }
    }
    let all: Vec<String> = items
        .iter()
        .map(|e| e["hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, all, "the pages hold the same changes, in order");
    let (status, body) = get_json(&format!("{url}/api/v1/audit?since=besok"), &admin_token).await;
    assert_eq!(status, 400, "{body}");
    hub.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_upt_failing_on_a_revoked_token_is_shown_to_hq() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "RUTAN-SOLO", "rutan", "Jawa Tengah");
    HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let viewer = HubProcess::issue(&db, "viewer", "Analis");
    let mut hub = HubProcess::start(&db, free_addr());
    let url = hub.url();
    let mut agent = Agent::new("RUTAN-SOLO", &url, &token);
    agent.add_product("Sapu ijuk");
    agent.sync().await;

    let id = token.split('_').nth(1).unwrap().to_string();
    admin(&db, &["token", "revoke", &id]);
    // The agent keeps trying with the revoked token, and with a mangled copy of it.
    for t in [token.clone(), format!("{token}x")] {
        let client = karya_agent::client::HubClient::new(&url, &t, Duration::from_secs(10));
        let docs = agent.docs();
        let err = karya_agent::client::sync_once(&agent.store, &client, &agent.peer, docs)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }

    // Counted per UPT (the count is written beside the answer, so allow it a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    let solo = loop {
        let upts = admin_json(&db, &["upt", "list"]);
        let solo = upts
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "RUTAN-SOLO")
            .unwrap()
            .clone();
        if solo["token_failures"] == 2 || Instant::now() > deadline {
            let pati = upts
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["code"] == "LAPAS-PATI")
                .unwrap();
            assert_eq!(pati["token_failures"], 0);
            break solo;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(solo["token_failures"], 2, "{solo}");
    assert!(solo["last_token_failure_at"].is_string(), "{solo}");
    let table = admin(&db, &["upt", "list"]);
    let line = table.lines().find(|l| l.starts_with("RUTAN-SOLO")).unwrap();
    assert!(line.contains("2 (last "), "{table}");
    assert!(
        table.lines().next().unwrap().contains("TOKEN REFUSED"),
        "{table}"
    );
    let (status, upts) = get_json(&format!("{url}/api/v1/upts"), &viewer).await;
    assert_eq!(status, 200);
    let solo = upts
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "RUTAN-SOLO")
        .unwrap();
    assert_eq!(solo["token_failures"], 2, "{solo}");
    hub.stop();
}
