//! Running the hub at HQ: what the operations team reads (logs, readiness) behaves as they
//! expect, with the real binary where it matters.

use karya_hub::auth::Role;
use karya_tests::TestHub;
use karya_tests::memagent::Agent;
use karya_tests::procs::{HubProcess, SmallDisk, free_addr, get_status};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod hq_day;

#[test]
fn a_day_at_hq_loses_nothing_the_hub_acknowledged_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("karya-hub.db");
    hq_day::run(dir.path(), &db.to_string_lossy(), &[]);
}

#[test]
fn a_day_at_hq_loses_nothing_the_hub_acknowledged_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let server = karya_tests::pg::PgServer::start();
    let url = server.create_database("hq_day");
    let blobs = dir.path().join("foto");
    hq_day::run(
        dir.path(),
        &url,
        &[("KARYA_BLOBS_DIR", blobs.to_string_lossy().as_ref())],
    );
}

/// `/readyz` as a load balancer reads it: the status, or 0 when nothing answers.
fn ready_status(base: &str) -> u16 {
    get_status(&format!("{base}/readyz"), "").unwrap_or(0)
}

/// Waits up to `secs` for `/readyz` at `base` to answer `want`.
fn wait_ready(base: &str, want: u16, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if ready_status(base) == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn readyz_is_not_ready_while_postgres_is_down_and_a_hub_started_then_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = karya_tests::pg::PgServer::start();
    let url = server.create_database("siap");
    let blobs = dir.path().join("foto").to_string_lossy().into_owned();
    let env = [("KARYA_BLOBS_DIR", blobs.as_str())];
    let hub = HubProcess::start_new(Path::new(&url), free_addr(), &env);
    assert!(
        wait_ready(&hub.url(), 200, 10),
        "a hub on a running PostgreSQL is ready"
    );

    server.stop();
    assert!(
        wait_ready(&hub.url(), 503, 10),
        "/readyz still says ready with PostgreSQL down"
    );
    let body = karya_tests::procs::get_text(&format!("{}/readyz", hub.url()), "");
    assert!(body.contains("database"), "{body}");
    assert_ne!(
        get_status(&format!("{}/healthz", hub.url()), "").unwrap(),
        200
    );

    // A second hub process started now (the machine booted before the database) waits for
    // it instead of exiting, and serves once it answers.
    let addr = free_addr();
    let mut waiting = HubProcess::hub_cmd(Path::new(&url))
        .args(["serve", "--listen", &addr.to_string()])
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "the hub exited instead of waiting for its database"
    );
    server.restart();
    let second = format!("http://{addr}");
    assert!(
        wait_ready(&hub.url(), 200, 20),
        "ready again once PostgreSQL is back"
    );
    assert!(
        wait_ready(&second, 200, 30),
        "the waiting hub serves once PostgreSQL answers"
    );
    let _ = waiting.kill();
    let _ = waiting.wait();
}

/// Runs `karya-hub serve` with `env`, makes a few requests (one with a bad token, one bad
/// query, one good), stops it with SIGTERM and returns what it logged.
fn serve_and_log(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    HubProcess::admin(
        &db,
        &[
            "upt",
            "add",
            "LAPAS-PATI",
            "--name",
            "Lapas Pati",
            "--type",
            "lapas",
            "--kanwil",
            "Jawa Tengah",
        ],
    );
    let viewer = HubProcess::admin(&db, &["token", "issue", "--role", "viewer", "--name", "v"]);
    let log = dir.path().join("hub.log");
    let addr = free_addr();
    let mut cmd = Command::new(karya_tests::bin("karya-hub"));
    cmd.arg("--db")
        .arg(&db)
        .args(["serve", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let get = |path: &str, token: &str| {
        let mut r = get_status(&format!("{base}{path}"), token);
        while r.is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            r = get_status(&format!("{base}{path}"), token);
        }
        r.unwrap()
    };
    assert_eq!(get("/healthz", ""), 200);
    assert_eq!(get("/api/v1/stats", "karya_nope_nope"), 401);
    assert_eq!(get("/api/v1/products?limit=0", viewer.trim()), 400);
    assert_eq!(get("/api/v1/stats", viewer.trim()), 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    std::fs::read_to_string(log).unwrap()
}

#[test]
fn logs_are_plain_off_a_terminal_and_json_on_request_with_levels_that_mean_something() {
    let plain = serve_and_log(&[("KARYA_LOG", "info")]);
    assert!(
        !plain.contains('\u{1b}'),
        "no colour codes in a log file:\n{plain}"
    );
    assert!(plain.contains("karya-hub listening"), "{plain}");

    let json = serve_and_log(&[("KARYA_LOG", "info"), ("KARYA_LOG_FORMAT", "json")]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{json}");
    let with_status = |status: u64| {
        lines
            .iter()
            .find(|l| l["fields"]["status"] == status)
            .unwrap_or_else(|| panic!("no line for {status}:\n{json}"))
    };
    assert_eq!(
        with_status(401)["level"],
        "WARN",
        "a refused token is a warning"
    );
    assert_eq!(
        with_status(400)["level"],
        "INFO",
        "a client's bad query is not an error"
    );
    assert!(
        lines.iter().all(|l| l["level"] != "ERROR"),
        "nothing here needs the operator:\n{json}"
    );
}

async fn readyz(hub: &TestHub) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{}/readyz", hub.url())).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_unready_on_a_full_disk_and_ready_again() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_disk) = SmallDisk::mount(dir.path(), "24m") else {
        return;
    };
    let hub = TestHub::start_configured(karya_hub::Config {
        db: dir.path().join("hub.db"),
        min_free_bytes: 4 * 1024 * 1024,
        ..Default::default()
    })
    .await;
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "v");
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 200, "{body}");

    // Something else fills the disk.
    let free = karya_hub::disk_free(&dir.path().join("hub.db")).unwrap();
    let fill = dir.path().join("fill");
    std::fs::write(&fill, vec![0u8; (free - 1024 * 1024) as usize]).unwrap();
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["problems"][0].as_str().unwrap().contains("free"),
        "{body}"
    );
    // Health (the process) and reads stay up meanwhile; health says it is degraded, and why.
    let health = reqwest::get(format!("{}/healthz", hub.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["problems"][0].as_str().unwrap().contains("free"),
        "{health}"
    );
    let stats = reqwest::Client::new()
        .get(format!("{}/api/v1/stats", hub.url()))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);

    // Space comes back: ready again, and syncs work.
    std::fs::remove_file(&fill).unwrap();
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 200, "{body}");
    let (_, health) = karya_tests::memagent::get_json(&format!("{}/healthz", hub.url()), "").await;
    assert_eq!(health["status"], "ok", "{health}");
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
    a.add_product("Batik tulis");
    assert!(a.sync().await.refused.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_rules_and_the_dashboard_use_metrics_the_hub_exposes() {
    let hub = TestHub::start().await;
    // One UPT that synced (its last-sync age is a series of its own).
    let token = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    Agent::new("LAPAS-PATI", &hub.url(), &token).sync().await;
    let text = reqwest::get(format!("{}/metrics", hub.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let families: std::collections::HashSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(families.len() >= 10, "{families:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hub/dist");
    for file in ["karya-alerts.yml", "karya-grafana.json"] {
        let body = std::fs::read_to_string(root.join(file)).unwrap();
        if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&body).expect("the dashboard is JSON");
        }
        let mut used = 0;
        for word in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.starts_with("karya_") {
                continue;
            }
            let base = ["_bucket", "_count", "_sum", "_total"]
                .iter()
                .find_map(|s| word.strip_suffix(s))
                .unwrap_or(word);
            assert!(
                families.contains(base),
                "{file} uses {word}, which /metrics does not expose"
            );
            used += 1;
        }
        assert!(used >= 5, "{file} uses only {used} karya metrics");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_the_hub_serves_restores_to_a_working_hub() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let viewer = HubProcess::issue(&db, "viewer", "Analis");
    let mut hub = HubProcess::start(&db, free_addr());
    let mut agent = Agent::new("LAPAS-PATI", &hub.url(), &token);
    agent.add_product("Batik tulis");
    agent.add_product("Kursi jati");
    agent.sync().await;

    // Taken while the hub serves, with a sync running beside it.
    let backup = dir.path().join("hub-2026-12-01.db");
    let busy = {
        let mut a = Agent::new("LAPAS-PATI", &hub.url(), &token);
        tokio::spawn(async move {
            for i in 0..20 {
                a.add_product(&format!("Produk {i}"));
                a.sync().await;
            }
        })
    };
    let out = HubProcess::admin(&db, &["backup", backup.to_str().unwrap()]);
    assert!(out.contains("to restore it"), "{out}");
    busy.await.unwrap();
    // A backup never overwrites.
    let again = HubProcess::hub_cmd(&db)
        .args(["backup", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{again:?}"
    );
    hub.stop();

    // Restored in another place: a working hub with what was there at the backup.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("hub.db");
    std::fs::copy(&backup, &restored).unwrap();
    let check = HubProcess::admin(&restored, &["migrate", "--check"]);
    assert!(check.contains("current, nothing to do"), "{check}");
    let mut hub = HubProcess::start(&restored, free_addr());
    let (status, products) = karya_tests::memagent::get_json(
        &format!("{}/api/v1/products?upt=LAPAS-PATI&limit=1000", hub.url()),
        &viewer,
    )
    .await;
    assert_eq!(status, 200, "{products}");
    let names = karya_tests::procs::field_of_each(&products, "name");
    assert!(
        names.iter().any(|n| n == "Batik tulis") && names.iter().any(|n| n == "Kursi jati"),
        "{names:?}"
    );
    assert!(names.len() >= 2 && names.len() <= 22, "{names:?}");
    hub.stop();
}
